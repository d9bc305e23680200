"""A deleted value on a channel's event data is the declared approximation, never "differs".

On the Windows integration the shipper deletes ``""``, ``"-"`` and the all-zero GUID, so
``UserName: ''`` has no exact query (``DroppedValueCheck``). On the channels that
``ecs-windows-channels`` reads as ``winlog.event_data.*`` the check ran after the event-data
prefix and declared the field as ``winlog.event_data.UserName``, a name no Sigma event has, so
``check`` could not recognise an event showing the declared difference and reported the SMB
client guest-logon rule as differing on eql and lucene.
"""

from __future__ import annotations

import pytest

from converter.checking.checker import Checker
from converter.conversion.convert import Converter
from converter.events.render import SampleEvent
from converter.rules.load import load_text

RULE = """
title: t
id: 0b8f7a3e-0000-4000-8000-00000000d201
logsource: {product: windows, service: smbclient-security}
detection:
  sel:
    EventID: 31017
    UserName: ''
  condition: sel
"""


@pytest.mark.parametrize("target", ["eql", "lucene", "kql"])
def test_the_declared_field_is_the_sigma_field(target: str) -> None:
    rule = load_text(RULE, "r.yml")[0]
    conversion = Converter(target, options={"data_source": "windows"}).convert(rule)
    assert conversion.status == "converted", conversion.reason
    assert list(conversion.dropped) == ["UserName"]


def test_an_event_showing_the_deleted_value_is_not_a_difference() -> None:
    (loaded,) = load_text(RULE, "r.yml")
    channel = "Microsoft-Windows-SmbClient/Security"
    events = [SampleEvent({"EventID": 31017, "Channel": channel, "UserName": value})
              for value in ("", "guest")]
    outcome = Checker(["eql", "lucene"], data_source="windows").check(loaded, events)
    for target, result in outcome.targets.items():
        assert result.disagreements == [], (target, result.reason)
        assert result.equivalent is None and "show that difference" in result.reason
