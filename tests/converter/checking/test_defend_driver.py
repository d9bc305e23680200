"""Driver loads on Elastic Defend: library events of category ``driver`` (``dll.*`` fields),
told apart from DLL loads, which share the action ``load``."""

from __future__ import annotations

import pytest

from converter.checking.checker import Checker
from converter.conversion.convert import Converter
from converter.events.render import EventRenderer, SampleEvent
from converter.mapping.loader import load_table
from converter.rules.load import load_text

RULE = """
title: driver
id: 5b0c1d2e-0000-4000-8000-0000000000{n}
status: test
logsource: {{category: driver_load, product: windows}}
detection:
  sel:
    {detection}
  condition: sel
level: low
"""
SYSMON = "Microsoft-Windows-Sysmon/Operational"


@pytest.mark.parametrize("target", ["eql", "lucene"])
def test_driver_load_is_proven_on_defend(target: str) -> None:
    (loaded,) = load_text(RULE.format(n="01", detection="Hashes|contains: 'SHA256="
                                      + "A" * 64 + "'"), "drv.yml")
    events = [
        SampleEvent({"EventID": 6, "Channel": SYSMON, "ImageLoaded": "C:\\x\\evil.sys",
                     "Hashes": "SHA1=" + "B" * 40 + ",SHA256=" + "A" * 64}, True),
        SampleEvent({"EventID": 6, "Channel": SYSMON, "ImageLoaded": "C:\\x\\good.sys",
                     "Hashes": "SHA256=" + "C" * 64}, False),
        # A DLL load with the same digest is another logsource: never matched.
        SampleEvent({"EventID": 7, "Channel": SYSMON, "ImageLoaded": "C:\\x\\evil.dll",
                     "Hashes": "SHA256=" + "A" * 64}, False),
    ]
    result = Checker([target], data_source="defend").check(loaded, events).targets[target]
    assert result.equivalent is True, result.reason
    assert result.matched == [0]


def test_driver_events_render_as_defend_library_events() -> None:
    renderer = EventRenderer(load_table("ecs-windows"), "defend")
    event = renderer.render({"EventID": 6, "Channel": SYSMON, "ImageLoaded": "C:\\x\\evil.sys"})
    assert event is not None
    assert event["event.category"] == ["driver"] and event["event.action"] == "load"
    assert event["dll.path"] == "C:\\x\\evil.sys" and event["dll.name"] == "evil.sys"
    assert event["event.dataset"] == "endpoint.events.library"


def test_driver_signature_stays_refused_on_defend() -> None:
    (loaded,) = load_text(RULE.format(n="02", detection="Signature: 'Microsoft Windows'"),
                          "drv.yml")
    conversion = Converter("eql", options={"data_source": "defend"}).convert(loaded)
    assert conversion.status != "converted"
    assert "Signature" in (conversion.reason or "") and "defend" in (conversion.reason or "")
