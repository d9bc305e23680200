"""RPC Firewall audit events (``product: rpc_firewall, category: application``) on Elastic.

RPC Firewall reports its values as unnamed ReportEvent insertion strings of the ``RPCFW`` event
log; Winlogbeat and Elastic Agent's winlog input index unnamed ``<Data>`` by position as
``winlog.event_data.param<N>`` (``ecs-rpc-firewall``). The rules name the event log in the field
``EventLog``, so the logsource is told by the provider (event source ``RPCFW``).
"""

from __future__ import annotations

import pytest

from converter.checking.checker import Checker
from converter.conversion.convert import Converter
from converter.events.render import EventRenderer, SampleEvent
from converter.generate.generator import generate_events
from converter.mapping.loader import load_table
from converter.reference.logsources import membership
from converter.rules.load import LoadedRule, load_text

RULE = """
title: remote registry over RPC
id: 71111111-2222-3333-4444-555555555555
logsource: {product: rpc_firewall, category: application}
detection:
    selection:
        EventLog: RPCFW
        EventID: 3
        InterfaceUuid: 338cd001-2244-31f1-aaaa-900038001003
    filter:
        OpNum:
            - 0
            - 12
    condition: selection and not filter
"""
#: A hostile variant without EventLog: every RPCFW event, whatever the log it is read from.
NO_LOG_RULE = RULE.replace("        EventLog: RPCFW\n", "")


def rule(text: str) -> LoadedRule:
    """The one rule of a YAML text."""
    return load_text(text, "rule.yml")[0]


def test_tagged_event_belongs_to_rpc_firewall_only() -> None:
    event = {"Channel": "rpc_firewall/application", "EventLog": "RPCFW", "EventID": 3}
    assert membership("rpc_firewall", "application", None)(event)
    assert not membership("windows", None, None)(event)
    assert not membership("windows", None, "application")(event)
    assert not membership("rpc_firewall", "application", None)({"Channel": "RPCFW", "EventID": 3})


def test_query_reads_the_unnamed_data_by_position_and_the_provider() -> None:
    result = Converter("eql").convert(rule(RULE))
    assert result.status == "converted", result.reason
    query = "\n".join(result.queries)
    assert 'winlog.provider_name == "RPCFW"' in query
    assert "winlog.event_data.param7" in query and "winlog.event_data.param8" in query
    assert "winlog.channel" in query and "event.code" in query


def test_renderer_writes_positions_and_the_log_name() -> None:
    renderer = EventRenderer.routed(load_table("ecs-windows"), "winlogbeat")
    event = {"Channel": "rpc_firewall/application", "EventLog": "RPCFW", "EventID": 3,
             "InterfaceUuid": "338cd001-2244-31f1-aaaa-900038001003", "OpNum": "0"}
    out = renderer.render_sample(SampleEvent(event))
    assert out["winlog.provider_name"] == "RPCFW" and out["winlog.channel"] == "RPCFW"
    assert out["winlog.event_data.param7"] == "338cd001-2244-31f1-aaaa-900038001003"
    assert out["winlog.event_data.param8"] == "0" and out["event.code"] == "3"
    # the sigport tag is no field of the record
    assert "rpc_firewall/application" not in out.values()


@pytest.mark.parametrize("text", [RULE, NO_LOG_RULE], ids=["with EventLog", "without EventLog"])
@pytest.mark.parametrize("source", ["windows", "winlogbeat"])
def test_rule_is_proven_on_generated_events(text: str, source: str) -> None:
    loaded = rule(text)
    events = generate_events(loaded.rule)
    assert any(e.fields.get("Channel") == "rpc_firewall/application" for e in events)
    result = Checker(["eql", "lucene"], data_source=source).check(loaded, events)
    for target, outcome in result.targets.items():
        assert outcome.equivalent, f"{target}: {outcome.reason}"


@pytest.mark.parametrize("text", [RULE, NO_LOG_RULE], ids=["with EventLog", "without EventLog"])
def test_splunk_reads_the_unnamed_data_off_raw(text: str) -> None:
    # splunk-rpc-firewall: the add-on names no unnamed <Data>; the query tests _raw
    # (test_mappings_splunk_rpc_firewall.py has the details).
    result = Converter("splunk").convert(rule(text))
    assert result.status == "converted" and "<EventData>" in "".join(result.queries), result.reason
    loaded = rule(text)
    outcome = Checker(["splunk"]).check(loaded, generate_events(loaded.rule)).targets["splunk"]
    assert outcome.equivalent, outcome.reason
