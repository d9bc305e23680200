"""Plain-text log lines on Elastic (``ecs-lines``): the Custom Logs (Filestream) integration keeps
each line whole in ``message``, so a keyword of SigmaHQ's sshd, syslog, application, device and
web server error-log rules is the test "``message`` contains it" (``KeywordTextField``), exact only
on the caseless copy ``sigport mapping`` adds (``message`` is ``match_only_text``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sigma.exceptions import SigmaTransformationError
from sigma.types import SigmaBool, SigmaCasedString, SigmaNumber, SigmaRegularExpression, SigmaString

from converter.checking.checker import Checker
from converter.conversion.convert import Converter
from converter.events.render import EventRenderer, SampleEvent
from converter.events.text_lines import FILESTREAM_MAX_BYTES
from converter.generate.generator import generate_events
from converter.mapping.loader import load_table
from converter.mapping.text_fields import _contained
from converter.outputs.index_template import propose, template_body
from converter.rules.load import LoadedRule, load_text

SSHD_RULE = """
title: sshd keywords
id: 91111111-2222-3333-4444-555555555551
logsource: {product: linux, service: sshd}
detection:
    keywords:
        - 'unexpected internal error'
        - 'Bad pro*col'
    condition: keywords
"""

CISCO_RULE = """
title: device keywords with a filter
id: 91111111-2222-3333-4444-555555555552
logsource: {product: cisco, service: aaa}
detection:
    keywords:
        - 'show ip route'
        - 4444
    filter:
        - 'Show IP interface brief'
    condition: keywords and not filter
"""

CASED_RULE = """
title: a cased keyword
id: 91111111-2222-3333-4444-555555555553
logsource: {service: apache}
detection:
    keywords:
        '|cased':
            - 'Segmentation Fault'
    condition: keywords
"""


def rule(text: str) -> LoadedRule:
    """The one rule of a YAML text."""
    return load_text(text, "rule.yml")[0]


def template(loaded: LoadedRule, tmp_path: Path) -> Path:
    """The template ``sigport mapping`` writes for one rule (default data source)."""
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template_body(propose([loaded], "defend"))), encoding="utf-8")
    return path


@pytest.mark.parametrize("text", [SSHD_RULE, CISCO_RULE], ids=["sshd", "cisco-aaa"])
def test_keyword_rule_is_proven_on_the_caseless_copy_of_message(text: str, tmp_path: Path) -> None:
    loaded = rule(text)
    events = generate_events(loaded.rule)
    result = Checker(["eql", "lucene", "kql-es", "esql"], mapping=template(loaded, tmp_path)).check(loaded, events)
    for target, outcome in result.targets.items():
        assert outcome.equivalent, f"{target}: {outcome.reason}"
        assert "sigport.caseless.message" in (outcome.query or ""), target


def test_keyword_becomes_a_contains_test_of_message(tmp_path: Path) -> None:
    loaded = rule(SSHD_RULE)
    result = Converter("eql", options={"mapping": str(template(loaded, tmp_path))}).convert(loaded)
    assert result.status == "converted", result.reason
    query = "\n".join(result.queries)
    # Lowercased and wrapped in '*' as the copy holds it; the keyword's own wildcard is kept.
    assert '"*unexpected␠internal␠error*"' in query and '"*bad␠pro*col*"' in query
    assert query.startswith("any where")


def test_without_the_template_the_keyword_is_refused_naming_the_text_field() -> None:
    # message is match_only_text: a term or wildcard query tests its analysed words.
    for target in ("eql", "lucene"):
        result = Converter(target).convert(rule(SSHD_RULE))
        assert result.status != "converted"
        assert "field message" in (result.reason or "") and "match_only_text" in (result.reason or "")
        assert "sigport mapping" in (result.reason or "")


def test_a_cased_keyword_stays_on_message_and_is_refused(tmp_path: Path) -> None:
    # The caseless copy is lowercased: a case-sensitive substring has no exact test there.
    loaded = rule(CASED_RULE)
    result = Converter("lucene", options={"mapping": str(template(loaded, tmp_path))}).convert(loaded)
    assert result.status != "converted" and "field message" in (result.reason or "")


def test_a_field_of_a_line_logsource_is_refused_as_unmapped() -> None:
    text = SSHD_RULE.replace("    condition: keywords", "    sel: {user: root}\n    condition: keywords and sel")
    result = Converter("eql").convert(rule(text))
    assert result.status != "converted" and "'user' is not mapped" in (result.reason or "")


def test_contained_values_keep_case_wildcards_and_number_text() -> None:
    cased = _contained(SigmaCasedString.from_sigma_string(SigmaString("a*b")))
    assert isinstance(cased, SigmaCasedString) and cased == SigmaCasedString.from_sigma_string(SigmaString("*a*b*"))
    assert _contained(SigmaString("*x")) == SigmaString("*x*")
    assert _contained(SigmaString("")) == SigmaString("*")
    assert _contained(SigmaNumber(4444)) == SigmaString("*4444*")
    regex = SigmaRegularExpression("a.c")
    assert _contained(regex) is regex
    with pytest.raises(SigmaTransformationError, match="SigmaBool"):
        _contained(SigmaBool(True))


def test_renderer_writes_the_line_as_message_and_nothing_else_of_the_event() -> None:
    renderer = EventRenderer.routed(load_table("ecs-windows"))
    out = renderer.render_sample(SampleEvent({"Channel": "linux/sshd", "line": "sshd[1]: Bad protocol version"}))
    assert out is not None
    assert out["message"] == "sshd[1]: Bad protocol version"
    assert out["data_stream.dataset"] == "filestream.generic" and "Channel" not in out


@pytest.mark.parametrize("line", ["two\nlines", "cr\rinside", "x" * (FILESTREAM_MAX_BYTES + 1), "lone \ud800"],
                         ids=["lf", "cr", "too long", "surrogate"])
def test_no_record_holds_a_line_the_input_splits_cuts_or_cannot_read(line: str) -> None:
    renderer = EventRenderer.routed(load_table("ecs-windows"))
    with pytest.raises(ValueError):
        renderer.render_sample(SampleEvent({"Channel": "linux/sshd", "line": line}))
