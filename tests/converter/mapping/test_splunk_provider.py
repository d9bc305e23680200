"""Splunk raw: the provider of a Windows event log record (Sigma ``Provider_Name``).

The Splunk Add-on for Microsoft Windows (and for Sysmon) extracts the attributes of the record's
``<System>`` element (``System_Props_Xml``) as fields: the provider's ``Name`` and ``Guid``, the
``ProcessID`` / ``ThreadID`` of ``<Execution>``, ``UserID`` of ``<Security>``. The security_content
data sources list ``Name`` and ``Guid`` for every record type whose example carries a
``<Provider Name=...>``, also where no ``<Data Name='Name'>`` exists (Sysmon 1, System 7045), so
``Provider_Name`` is the field ``Name``. A record with its own ``<Data Name='Name'>`` adds a second
value to that field: the Sigma field ``Name`` is refused where ``Provider_Name`` is ``Name``, and
the renderer writes both values, so ``check`` shows what such a record does to a query.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from converter.checking.checker import Checker
from converter.conversion.convert import Converter
from converter.events.render import EventRenderer, SampleEvent
from converter.generate.generator import generate_events
from converter.mapping.loader import load_table
from converter.rules.load import LoadedRule, load_text

ROOT = Path(__file__).resolve().parents[3]
SPLUNK_DATA_SOURCES = ROOT.parent / "shared" / "corpus" / "splunk-security-content" / "data_sources"

SYSTEM_RULE = """
title: service installed with powershell in its image path
id: 71111111-2222-3333-4444-555555555555
logsource: {product: windows, service: system}
detection:
    selection:
        Provider_Name: 'Service Control Manager'
        EventID: 7045
        ImagePath|contains: 'powershell'
    condition: selection
"""

APPLICATION_RULE = """
title: application error from one provider, not another
id: 71111111-2222-3333-4444-666666666666
logsource: {product: windows, service: application}
detection:
    selection:
        Provider_Name|startswith: 'Microsoft-Windows-'
        EventID: 1000
    filter:
        Provider_Name: 'Microsoft-Windows-Winlogon'
    condition: selection and not filter
"""

NAME_RULE = """
title: a record's own data named Name
id: 71111111-2222-3333-4444-777777777777
logsource: {product: windows, service: application}
detection:
    selection:
        Name: 'x'
    condition: selection
"""


def rule(text: str) -> LoadedRule:
    """The one rule of a YAML text."""
    return load_text(text, "rule.yml")[0]


@pytest.mark.parametrize("text", [SYSTEM_RULE, APPLICATION_RULE])
def test_provider_name_is_the_name_field_and_the_rule_is_proven(text: str) -> None:
    loaded = rule(text)
    result = Checker(["splunk"]).check(loaded, generate_events(loaded.rule)).targets["splunk"]
    assert result.equivalent, result.reason
    assert "Name=" in result.query and "Provider_Name" not in result.query


def test_the_sigma_field_name_is_refused_where_the_provider_is_name() -> None:
    result = Converter("splunk").convert(rule(NAME_RULE))
    assert result.status != "converted"
    assert "Name" in result.reason and "provider" in result.reason


def test_a_record_with_its_own_name_data_renders_both_values() -> None:
    renderer = EventRenderer.routed(load_table("splunk-sysmon"))
    out = renderer.render_sample(SampleEvent(
        {"Channel": "Application", "EventID": 1000, "Provider_Name": "Application Error", "Name": "x"}))
    assert out["Name"] == ["Application Error", "x"]
    system = renderer.render_sample(SampleEvent(
        {"Channel": "System", "EventID": 7045, "Provider_Name": "Service Control Manager"}))
    assert system["Name"] == "Service Control Manager"


@pytest.mark.skipif(not SPLUNK_DATA_SOURCES.is_dir(), reason="../shared/corpus/splunk-security-content is absent")
def test_every_windows_data_source_with_a_provider_lists_name_and_guid() -> None:
    """The evidence the tables cite: each XmlWinEventLog data source whose example record has a
    <Provider Name=...> lists the extracted fields Name and Guid (the System attributes)."""
    checked = 0
    for path in sorted(SPLUNK_DATA_SOURCES.glob("*.yml")):
        data = yaml.safe_load(path.read_text("utf-8"))
        example = str(data.get("example_log") or "")
        if not str(data.get("source", "")).startswith("XmlWinEventLog:") or "<Provider Name=" not in example:
            continue
        assert {"Name", "Guid"} <= set(data["fields"]), path.name
        checked += 1
    assert checked >= 40
