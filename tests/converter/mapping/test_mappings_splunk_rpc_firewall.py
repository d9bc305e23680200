"""RPC Firewall's audit events on the `splunk` target (``splunk-rpc-firewall``, function
``xml_unnamed_data``).

RPC Firewall writes its values as unnamed ``<Data>`` insertion strings, which the Splunk Add-on for
Microsoft Windows does not name; ``InterfaceUuid`` (the 7th) and ``OpNum`` (the 8th) are tested on
``_raw``, the XML record.

* the table joins the `splunk` pipeline with a valid schema; its targets are the add-on's fields;
* the query side: a plain value is a PCRE of ``_raw`` that skips the elements before the position
  and holds the value's letters with their case partners; wildcards, XML-special characters, the
  empty value and other tests are refused with the reason;
* the render side: ``_raw`` holds each value (its XML text) at its position, empty elements
  elsewhere; a value that is no insertion string is not rendered;
* proof: hand-written rules (case partners, numbers, negation, cased values) and every corpus rule
  are proven on generated events; never "differs".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from converter.checking.checker import Checker
from converter.events.render import SampleEvent
from converter.events.unnamed_data import unnamed_data_raw
from converter.generate.generator import generate_events
from converter.mapping.loader import companion_tables, load_table
from helpers import load_one, to_query
from test_mappings_beyond import _flat, raw
from test_mappings_corpus import documented_functions, schema_problems
from test_mappings_splunk_apps import captured_fields

ROOT = Path(__file__).resolve().parents[3]
CORPUS_RULES = ROOT.parent / "shared" / "corpus" / "sigmahq" / "rules"
SKIP = "(?:<Data>[^<]*</Data>)"

RULE = """
title: task scheduler rpc calls but not the enumeration
id: af111111-2222-3333-4444-555555555555
logsource: {product: rpc_firewall, category: application}
detection:
    selection:
        EventLog: RPCFW
        EventID: 3
        InterfaceUuid: ['1ff70682-0a51-30e8-076d-740be8cee98b', '86D35949-83C9-4044-B424-DB363231FD0C']
    filter:
        OpNum: [2, 3]
    cased:
        InterfaceUuid|cased: 'ABCDEF00-0000-0000-0000-00000000000K'
    condition: (selection and not filter) or cased
"""


def test_table_joins_the_splunk_pipeline_with_a_valid_schema() -> None:
    assert "splunk-rpc-firewall" in companion_tables("splunk-sysmon")
    assert load_table("splunk-rpc-firewall").extends == "splunk-sysmon"
    assert schema_problems(raw("splunk-rpc-firewall"), documented_functions()) == []


def test_every_target_is_a_field_of_the_add_on() -> None:
    known = captured_fields()["splunk-rpc-firewall"]
    entry, = raw("splunk-rpc-firewall")["logsources"]
    targets = {t for spec in entry["fields"].values() for t in _flat(spec)}
    assert targets and targets <= known, sorted(targets - known)


def test_a_plain_value_is_a_regex_of_raw_at_its_position() -> None:
    query = to_query("splunk", RULE, None)
    assert query.startswith('source="XmlWinEventLog:RPCFW"'), query
    assert 'Channel="RPCFW"' in query and 'EventCode="3"' in query
    assert "<EventData>" + SKIP * 6 + "<Data>1[fF][fF]70682-0[aA]51-" in query
    assert "<EventData>" + SKIP * 7 + "<Data>2</Data>" in query
    # a cased value keeps its letters as written
    assert "<Data>ABCDEF00-0000-0000-0000-00000000000K</Data>" in query
    assert "(?i)" not in query and "InterfaceUuid" not in query and "OpNum" not in query


@pytest.mark.parametrize("test,why", [
    ("OpNum: '2*'", "wildcard"),
    ("InterfaceUuid|contains: '0a51'", "wildcard"),
    ("InterfaceUuid: 'a&b'", "entity"),
    ("InterfaceUuid: ''", "empty value"),
    ("OpNum|re: '^[23]$'", "not a plain value"),
    ("OpNum|gt: 2", "not a plain value"),
    ("OpNum: null", "not a plain value"),
])
def test_other_tests_are_refused_with_the_reason(test: str, why: str) -> None:
    text = RULE.replace("OpNum: [2, 3]", test)
    reason = Checker(["splunk"]).check(load_one(text), []).targets["splunk"].reason or ""
    assert reason.startswith("not converted") and why in reason, reason


def test_raw_holds_each_value_at_its_position() -> None:
    slots = {7: "InterfaceUuid", 8: "OpNum"}
    raw_text = unnamed_data_raw({"InterfaceUuid": "a<b&c", "OpNum": 3}, slots, {})
    assert raw_text == ("<Event><System></System><EventData>" + "<Data></Data>" * 6
                        + "<Data>a&lt;b&amp;c</Data><Data>3</Data></EventData></Event>")
    for bad in (1.5, True, ["1", "2"], None):
        with pytest.raises(ValueError, match="insertion string"):
            unnamed_data_raw({"OpNum": bad}, slots, {})


def test_rule_is_proven_on_generated_and_hostile_events() -> None:
    rule = load_one(RULE)
    events = generate_events(rule.rule)
    base = {"Channel": "rpc_firewall/application", "EventLog": "RPCFW", "EventID": 3}
    uuid = "1ff70682-0a51-30e8-076d-740be8cee98b"
    events += [
        SampleEvent({**base, "InterfaceUuid": uuid.upper(), "OpNum": "5"}, expect=True),
        SampleEvent({**base, "InterfaceUuid": uuid, "OpNum": 2}, expect=False),
        SampleEvent({**base, "InterfaceUuid": uuid, "OpNum": "02"}, expect=True),
        SampleEvent({**base, "InterfaceUuid": uuid.replace("e", "\u0130")}, expect=False),
        SampleEvent({**base, "InterfaceUuid": "abcdef00-0000-0000-0000-00000000000k"}, expect=False),
        SampleEvent({**base, "InterfaceUuid": "ABCDEF00-0000-0000-0000-00000000000\u212a"}, expect=False),
        SampleEvent({**base, "InterfaceUuid": f"<{uuid}>", "OpNum": "9"}, expect=False),
    ]
    result = Checker(["splunk"]).check(rule, events).targets["splunk"]
    assert result.equivalent, (result.reason, result.disagreements[:2])


@pytest.mark.skipif(not CORPUS_RULES.is_dir(), reason="../shared/corpus is absent")
def test_every_corpus_rule_is_proven() -> None:
    paths = sorted((CORPUS_RULES / "application" / "rpc_firewall").glob("*.yml"))
    assert paths
    checker = Checker(["splunk"])
    for path in paths:
        loaded = load_one(path.read_text("utf-8"), path.name)
        result = checker.check(loaded, generate_events(loaded.rule)).targets["splunk"]
        assert result.equivalent, (path.name, result.reason)
