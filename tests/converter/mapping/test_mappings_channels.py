"""Windows event log channels (``service:`` logsources) on Elastic: ``ecs-windows-channels``.

Every event log record reaches Elastic through the same code (Winlogbeat, Elastic Agent's winlog
input): channel, provider and event id in ``winlog.*`` / ``event.code``, each ``<Data Name='X'>``
as ``winlog.event_data.X``. The table says so once per entry (``event_data``), so a field no rule
of the corpus uses is still mapped, and names that cannot be event data are refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from converter.conversion.convert import Converter
from converter.checking.checker import Checker
from converter.events.render import EventRenderer, SampleEvent
from converter.generate.generator import generate_events
from converter.reference.logsources import WINDOWS_SERVICES
from converter.mapping.loader import companion_tables, load_table
from converter.rules.load import LoadedRule, load_text
from helpers import proven_but_for_length_limits
from test_mappings_corpus import documented_functions, schema_problems

ROOT = Path(__file__).resolve().parents[3]
CORPUS_WINDOWS = ROOT.parent / "shared" / "corpus" / "sigmahq" / "rules" / "windows"
needs_corpus = pytest.mark.skipif(not CORPUS_WINDOWS.is_dir(), reason="../shared/corpus is absent")

DEFENDER_RULE = """
title: defender real-time protection disabled, with a field no corpus rule uses
id: 61111111-2222-3333-4444-555555555555
logsource: {product: windows, service: windefend}
detection:
    selection:
        EventID: 5001
        Product_Version|startswith: '4.18'
    condition: selection
"""


def load_rule_text(text: str) -> LoadedRule:
    """The one rule of a YAML text."""
    return load_text(text, "rule.yml")[0]


def raw() -> dict:
    """The table as plain YAML."""
    path = ROOT / "converter" / "mapping" / "tables" / "ecs-windows-channels.yml"
    return yaml.safe_load(path.read_text("utf-8"))


def test_table_extends_ecs_windows_and_is_valid() -> None:
    assert "ecs-windows-channels" in companion_tables("ecs-windows")
    assert schema_problems(raw(), documented_functions()) == []


def test_every_taxonomy_service_has_an_entry_or_is_mapped_elsewhere() -> None:
    table = load_table("ecs-windows-channels")
    windows = load_table("ecs-windows")
    for service in WINDOWS_SERVICES:
        routed = [
            t for t in (table, windows)
            if t.for_logsource("windows", None, service, "windows") is not None
        ]
        assert routed or service == "powershell", service


def test_unlisted_field_is_the_records_event_data() -> None:
    result = Converter("eql", options={"data_source": "windows"}).convert(load_rule_text(DEFENDER_RULE))
    assert result.status == "converted", result.reason
    query = "\n".join(result.queries)
    assert 'winlog.channel == "Microsoft-Windows-Windows Defender/Operational"' in query
    assert "winlog.event_data.Product_Version" in query and 'event.code : "5001"' in query


def test_names_that_cannot_be_event_data_and_unnamed_data_are_refused() -> None:
    for field, reason in (("a.b", "not an event-data name"), ("Data", "param1..N")):
        text = DEFENDER_RULE.replace("Product_Version|startswith", f"{field}|startswith")
        result = Converter("eql", options={"data_source": "windows"}).convert(load_rule_text(text))
        assert result.status != "converted" and reason in result.reason, result.reason


def test_defend_refuses_with_the_reason() -> None:
    result = Converter("eql", options={"data_source": "defend"}).convert(load_rule_text(DEFENDER_RULE))
    assert result.status != "converted" and "ships no Windows event log records" in result.reason


def test_renderer_writes_unlisted_fields_as_event_data() -> None:
    renderer = EventRenderer.routed(load_table("ecs-windows"), "winlogbeat")
    event = {"Channel": "Microsoft-Windows-Windows Defender/Operational", "EventID": 5001,
             "Product_Version": "4.18.1", "Data": "x", "Empty": "-"}
    out = renderer.render_sample(SampleEvent(event))
    assert out["winlog.channel"] == "Microsoft-Windows-Windows Defender/Operational"
    assert out["event.code"] == "5001"
    assert out["winlog.event_data.Product_Version"] == "4.18.1"
    # unnamed data has no target; a value Winlogbeat deletes is not written
    assert "winlog.event_data.Data" not in out and "winlog.event_data.Empty" not in out


@pytest.mark.parametrize("target", ["eql", "lucene"])
def test_rule_with_an_unlisted_field_is_proven(target: str) -> None:
    rule = load_rule_text(DEFENDER_RULE)
    result = Checker([target], data_source="windows").check(rule, generate_events(rule.rule))
    # Proven, but for the 1,024-character limit of the keyword winlog.event_data.* fields where
    # the rule tests a substring (both interpreters lower with the data source's field model).
    assert proven_but_for_length_limits(result.targets[target]), result.targets[target].reason


@needs_corpus
@pytest.mark.parametrize("folder", ["builtin/windefend", "builtin/bits_client", "builtin/taskscheduler"])
def test_corpus_channel_rules_are_proven(folder: str) -> None:
    checker = Checker(["eql"], data_source="windows")
    paths = sorted((CORPUS_WINDOWS / folder).rglob("*.yml"))
    for path in paths:
        loaded = load_rule_text(path.read_text("utf-8"))
        result = checker.check(loaded, generate_events(loaded.rule)).targets["eql"]
        # winlog.event_data.* is keyword with ignore_above 1024: a generated longer value that
        # the rule matches is not indexed, and that is the only difference allowed.
        assert proven_but_for_length_limits(result), f"{path.name}: {result.reason}"
    assert paths


SPLUNK_DATA_SOURCES = ROOT.parent / "shared" / "corpus" / "splunk-security-content" / "data_sources"


def test_splunk_reads_unlisted_fields_under_their_own_name_and_proves_the_rule() -> None:
    rule = load_rule_text(DEFENDER_RULE)
    result = Checker(["splunk"]).check(rule, generate_events(rule.rule)).targets["splunk"]
    assert result.equivalent, result.reason
    assert 'source="XmlWinEventLog:Microsoft-Windows-Windows Defender/Operational"' in result.query
    assert 'Product_Version="4.18*"' in result.query and 'EventCode="5001"' in result.query


@pytest.mark.skipif(not SPLUNK_DATA_SOURCES.is_dir(), reason="no security_content data sources")
def test_splunk_named_fields_are_in_the_cited_data_source() -> None:
    """Channel, EventCode and the XmlWinEventLog source are what the add-on writes for a
    channel's records (windows_event_log_application_2282.yml)."""
    data = yaml.safe_load((SPLUNK_DATA_SOURCES / "windows_event_log_application_2282.yml").read_text("utf-8"))
    assert data["source"] == "XmlWinEventLog:Application"
    table = load_table("splunk-windows-channels")
    for entry in table.logsources:
        targets = {t.target for t in entry.field_targets("splunk_ta_windows").values()}
        assert targets <= set(data["fields"]), entry.id
        sources = entry.conditions["source"]
        assert all(s.startswith("XmlWinEventLog:") for s in ([sources] if isinstance(sources, str) else sources))


SMB_RULE = """
title: smb share without signing
id: 61111111-2222-3333-4444-555555555557
logsource: {product: windows, service: smbserver-connectivity}
detection:
    selection:
        EventID: 4000
        ShareName|contains: 'ADMIN$'
        SigningUsed: 'false'
    condition: selection
"""


@pytest.mark.parametrize(("service", "channel"), [
    ("smbserver-connectivity", "Microsoft-Windows-SMBServer/Connectivity"),
    ("microsoft-servicebus-client", "Microsoft-ServiceBus-Client/Operational"),
])
def test_services_of_sigmahq_rules_have_their_channel(service: str, channel: str) -> None:
    """Both services had no channel: their SigmaHQ rules got no event, so no target was proven
    (servicebus-client's rule spells it microsoft-servicebus-client, taxonomy appendix v2.2.0)."""
    assert channel in WINDOWS_SERVICES[service]
    rule = SMB_RULE.replace("smbserver-connectivity", service)
    events = generate_events(load_rule_text(rule).rule)
    assert any(e.expect and e.fields["Channel"] in WINDOWS_SERVICES[service] for e in events)
    for target, source in (("eql", "windows"), ("splunk", None), ("kusto", "sentinel")):
        result = Checker([target], data_source=source).check(load_rule_text(rule), events)
        outcome = result.targets[target]
        assert proven_but_for_length_limits(outcome), (target, outcome.reason)
