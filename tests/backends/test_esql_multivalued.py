"""ES|QL on fields with several values (semantics ``multi_valued``, ``any_value_form``).

ES|QL's LIKE / RLIKE / == / CIDR_MATCH are null on a field that holds several values, so a query
built from them misses an event Sigma matches whenever the tested field is an array (the bundled
Zoom rule's event 18: ``process.parent.name: ["explorer.exe", "Zoom.exe"]``). The emitter writes
every value test as ``QSTR()``, which any value can match; ``check`` proves it on events with
arrays, under ``NOT`` and on missing fields. A Sigma ``fieldref`` has no such form and is declared.
"""

from __future__ import annotations

from typing import Any

import pytest

from converter.checking.checker import Checker
from converter.events.render import SampleEvent
from converter.rules.load import load_text

RULE = """
title: several values
id: 5b6c9d2e-0000-4000-8000-0000000001{n:02d}
status: test
logsource: {{category: process_creation, product: windows}}
detection:
{detection}
level: low
"""
_SYSMON = {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational"}


def _check(n: int, detection: str, events: list[dict[str, Any]]) -> Any:
    (loaded,) = load_text(RULE.format(n=n, detection=detection), "mv.yml")
    samples = [SampleEvent({**_SYSMON, **e}) for e in events]
    return Checker(["esql"]).check(loaded, samples).targets["esql"]


ARRAYS = [{"ParentImage": ["C:\\Windows\\explorer.exe", "C:\\Zoom\\ZOOM.EXE"], "Image": "C:\\a.exe"},
          {"ParentImage": "C:\\Zoom\\zoom.exe", "Image": ["C:\\b.exe", "C:\\Windows\\CMD.exe"]},
          {"ParentImage": ["C:\\x.exe", "C:\\y.exe"], "Image": ["C:\\cmd.exe"]},
          {"Image": "C:\\cmd.exe"},
          {"ParentImage": "C:\\zoom.exe"},
          {"ParentImage": ["C:\\a.exe", "C:\\b.exe"], "Image": ["C:\\c.exe", "C:\\d.exe"]},
          {"Image": "C:\\e.exe"}]


@pytest.mark.parametrize("n, condition", [
    (1, "parent and child"),
    (2, "parent or child"),
    (3, "parent and not child"),
    (4, "not (parent or child)"),
    (5, "not parent and not child"),
], ids=lambda v: str(v))
def test_arrays_are_proven_under_and_or_not(n: int, condition: str) -> None:
    detection = (
        "  parent:\n    ParentImage|endswith: '\\zoom.exe'\n"
        "  child:\n    Image|endswith: ['\\cmd.exe', '\\powershell.exe']\n"
        f"  condition: {condition}"
    )
    esql = _check(n, detection, ARRAYS)
    assert "QSTR(" in esql.query and " like " not in esql.query.lower(), esql.query
    assert esql.equivalent is True, (esql.reason, esql.query)


def test_regex_and_numbers_on_arrays_are_proven() -> None:
    detection = (
        "  sel:\n    CommandLine|re: '(?i)-enc\\s'\n    LogonId: 999\n  condition: sel"
    )
    events = [
        {"CommandLine": ["a", "x -ENC y"], "LogonId": [999, 1000]},
        {"CommandLine": "x -enc y", "LogonId": 1000},
        {"CommandLine": ["x -enc y"], "LogonId": "999"},
        {"LogonId": 999},
    ]
    esql = _check(6, detection, events)
    assert 'QSTR("process.command_line:/' in esql.query, esql.query
    assert 'QSTR("process.Ext.authentication_id:999")' in esql.query, esql.query
    assert esql.equivalent is not False, (esql.reason, esql.query)


def test_fieldref_stays_single_value_and_is_declared() -> None:
    detection = "  sel:\n    Image|fieldref: ParentImage\n  condition: sel"
    esql = _check(7, detection, [{"Image": ["a", "b"], "ParentImage": "a"}, {"Image": "a",
                                                                          "ParentImage": "a"}])
    assert esql.equivalent is not True, (esql.reason, esql.query)
    assert any("several values" in w for w in esql.warnings), esql.warnings


def test_cidr_on_an_ip_array_is_proven() -> None:
    text = RULE.format(n=8, detection="  sel:\n    DestinationIp|cidr: 10.0.0.0/8\n  condition: sel")
    (loaded,) = load_text(text.replace("process_creation", "network_connection"), "mv.yml")
    sysmon = {"EventID": 3, "Channel": "Microsoft-Windows-Sysmon/Operational"}
    events = [{"DestinationIp": ["192.168.1.1", "10.1.2.3"]}, {"DestinationIp": "10.9.9.9"},
              {"DestinationIp": ["8.8.8.8", "1.1.1.1"]}, {"Image": "C:\\a.exe"}]
    samples = [SampleEvent({**sysmon, **e}) for e in events]
    esql = Checker(["esql"]).check(loaded, samples).targets["esql"]
    assert "cidr_match" not in esql.query.lower(), esql.query
    assert esql.equivalent is True, (esql.reason, esql.query)
