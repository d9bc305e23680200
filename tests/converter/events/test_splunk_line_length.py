"""Lines Splunk indexes as ``_raw`` are cut at props.conf ``TRUNCATE`` (10,000 bytes by default):
a line longer than that is no whole ``_raw`` a search reads, so the renderer does not render it
(the checker then does not ask the query about the event). Before, a keyword past the cut was
"found" by the Splunk interpreter on the whole line: a proof on an event Splunk never holds whole.
Filestream (``ecs-lines``) keeps 10 MiB and is unaffected."""

from __future__ import annotations

import pytest

from converter.checking.checker import Checker
from converter.events.auditd_line import auditd_line
from converter.events.json_line import json_line
from converter.events.render import EventRenderer, SampleEvent
from converter.events.text_lines import SPLUNK_TRUNCATE_BYTES
from converter.mapping.loader import load_table
from helpers import load_one

SSHD_RULE = """
title: sshd keyword past the cut
id: b1111111-2222-3333-4444-5555555555f1
logsource: {product: linux, service: sshd}
detection:
    keywords: ['Accepted publickey']
    condition: keywords
"""

PAST_THE_CUT = "sshd[1]: " + "x" * SPLUNK_TRUNCATE_BYTES + " Accepted publickey"


def sshd(line: str) -> SampleEvent:
    return SampleEvent({"Channel": "linux/sshd", "line": line})


def test_a_keyword_past_splunks_cut_is_not_proven_on_the_whole_line() -> None:
    events = [sshd(PAST_THE_CUT), sshd("sshd[1]: Accepted publickey for ann")]
    result = Checker(["splunk"]).check(load_one(SSHD_RULE), events)
    assert result.reference_matched == [0, 1]
    outcome = result.targets["splunk"]
    assert outcome.matched == [1]
    assert outcome.not_rendered == [0]


@pytest.mark.parametrize(("extra", "rendered"), [
    (0, True),
    (1, False),
])
def test_the_cut_counts_utf8_bytes(extra: int, rendered: bool) -> None:
    # 'é' is two bytes: a line of SPLUNK_TRUNCATE_BYTES characters is longer in bytes.
    renderer = EventRenderer.routed(load_table("splunk-sysmon"))
    line = "é" * (SPLUNK_TRUNCATE_BYTES // 2) + "a" * extra
    if rendered:
        assert renderer.render_sample(sshd(line))["_raw"] == line
    else:
        with pytest.raises(ValueError, match="TRUNCATE"):
            renderer.render_sample(sshd(line))


def test_audit_and_json_lines_past_the_cut_are_not_rendered() -> None:
    long = "a" * SPLUNK_TRUNCATE_BYTES
    with pytest.raises(ValueError, match="TRUNCATE"):
        auditd_line({"type": "EXECVE", "a0": long}, {"linux/auditd"})
    with pytest.raises(ValueError, match="TRUNCATE"):
        json_line({"query": long}, set())
    assert auditd_line({"type": "EXECVE", "a0": "x"}, {"linux/auditd"}).startswith("type=EXECVE")


def test_filestream_keeps_lines_splunk_cuts() -> None:
    renderer = EventRenderer.routed(load_table("ecs-windows"), data_source="filestream")
    rendered = renderer.render_sample(sshd(PAST_THE_CUT))
    assert rendered is not None and rendered["message"] == PAST_THE_CUT

