"""Security 4688's MandatoryLabel on raw Splunk: the SID or its resolved name, never guessed.

The record's ``<Data Name='MandatoryLabel'>`` holds the label SID (``S-1-16-12288``), while
security_content's 4688 samples show the name LookupAccountSid resolves (``Mandatory
Label\\System Mandatory Level``), and no Splunk page says which the Windows add-on's field holds.
A plain rename proved the query on the SID alone. The ``mandatory_label`` function decides a test
on the SID and queries both spellings; the renderer writes each, so check proves on both.
"""

from __future__ import annotations

import pytest

from converter.checking.checker import Checker
from converter.conversion.convert import Converter
from converter.events.render import EventRenderer, SampleEvent
from converter.mapping.loader import load_table
from converter.rules.load import load_text

RULE = """
title: t
id: 0b8f7a3e-0000-4000-8000-00000000e501
logsource: {product: windows, category: process_creation}
detection:
  sel:
    IntegrityLevel|contains:
      - High
      - S-1-16-12288
    Image|endswith: '\\\\cmd.exe'
  condition: sel
"""


def _event(level: str) -> SampleEvent:
    return SampleEvent({"EventID": 4688, "Channel": "Security", "Image": "C:\\x\\cmd.exe",
                        "IntegrityLevel": level})


def test_both_spellings_are_rendered_and_queried() -> None:
    renderer = EventRenderer(load_table("splunk-sysmon"))
    labels = [e["MandatoryLabel"] for e in renderer.render_sample_all(_event("S-1-16-12288"))]
    assert labels == ["S-1-16-12288", "Mandatory Label\\High Mandatory Level"]
    (rule,) = load_text(RULE, "r.yml")
    conversion = Converter("splunk").convert(rule)
    assert conversion.status == "converted", conversion.reason
    assert "High Mandatory Level" in conversion.output and "S-1-16-12288" in conversion.output


def test_check_proves_on_each_spelling() -> None:
    (rule,) = load_text(RULE, "r.yml")
    events = [_event(v) for v in ("S-1-16-12288", "S-1-16-8192", "s-1-16-12288")]
    result = Checker(["splunk"]).check(rule, events).targets["splunk"]
    assert result.equivalent is True, result.reason
    assert result.matched == [0, 2]


@pytest.mark.parametrize("level", ["High", "S-1-16-8449"])
def test_a_value_no_4688_record_holds_is_not_rendered(level: str) -> None:
    renderer = EventRenderer(load_table("splunk-sysmon"))
    with pytest.raises(ValueError):
        renderer.render_sample_all(_event(level))
