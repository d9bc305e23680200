"""Sentinel analytics rules (``-t kusto -f sentinel-yaml``) against the format's documented schema.

The constraints are the ones the Azure-Sentinel repository validates every detection with
(.script/tests/detectionTemplateSchemaValidation/Models: AnalyticsTemplateInternalModelBase.cs,
ScheduledTemplateInternalModel.cs, ScheduledTemplateTimeSpanConverter.cs,
ScheduledTemplateTriggerOperatorConverter.cs, AttackTactic.cs, EntityMappingIdentifiers.cs).
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from converter.cli import main

ROOT = Path(__file__).resolve().parents[2]
ZOOM = ROOT / "sigma_rules/windows/process_creation/proc_creation_win_zoom_suspicious_child_process.yml"

REQUIRED = (
    "id", "kind", "name", "description", "severity", "requiredDataConnectors", "queryFrequency",
    "queryPeriod", "triggerOperator", "triggerThreshold", "query",
)
SEVERITIES = {"Informational", "Low", "Medium", "High"}
TRIGGER_OPERATORS = {"GreaterThan", "LessThan", "Equal", "NotEqual", "gt", "lt", "eq", "ne"}
TACTICS = {
    "InitialAccess", "Execution", "Persistence", "PrivilegeEscalation", "DefenseEvasion",
    "CredentialAccess", "Discovery", "LateralMovement", "Collection", "Exfiltration",
    "CommandAndControl", "Impact", "Reconnaissance", "ResourceDevelopment",
    "ImpairProcessControl", "InhibitResponseFunction",
}
#: EntityMappingIdentifiers.cs: the identifiers each entity type accepts (those used here).
IDENTIFIERS = {
    "Account": {"Name", "FullName", "NTDomain", "DnsDomain", "UPNSuffix", "Sid", "AadTenantId",
                "AadUserId", "PUID", "IsDomainJoined", "DisplayName", "ObjectGuid"},
    "Host": {"DnsDomain", "NTDomain", "HostName", "FullName", "NetBiosName", "AzureID",
             "OMSAgentID", "OSFamily", "OSVersion", "IsDomainJoined"},
    "Process": {"ProcessId", "CommandLine", "ElevationToken", "CreationTimeUtc"},
}
_MINUTES = {"m": 1, "h": 60, "d": 1440}


def _minutes(value: str) -> int:
    match = re.fullmatch(r"(\d+)([mhd])", value)
    assert match, f"{value!r} is not <number><m|h|d>"
    return int(match.group(1)) * _MINUTES[match.group(2)]


def schema_problems(rule: dict) -> list[str]:
    """Every way ``rule`` breaks the Azure-Sentinel scheduled-template schema."""
    problems = [f"missing {key}" for key in REQUIRED if key not in rule]
    if problems:
        return problems
    try:
        uuid.UUID(rule["id"])
    except ValueError:
        problems.append("id is not a GUID")
    if rule["kind"] != "Scheduled":
        problems.append("kind")
    if not 0 < len(rule["name"]) <= 256 or len(rule["description"]) > 5000:
        problems.append("name/description length")
    if rule["severity"] not in SEVERITIES:
        problems.append("severity")
    for connector in rule["requiredDataConnectors"]:
        if not connector.get("connectorId") or not connector.get("dataTypes"):
            problems.append("connector")
    frequency, period = _minutes(rule["queryFrequency"]), _minutes(rule["queryPeriod"])
    if not (5 <= frequency <= 20160 and 5 <= period <= 20160 and period >= frequency):
        problems.append("frequency/period")
    if rule["triggerOperator"] not in TRIGGER_OPERATORS:
        problems.append("triggerOperator")
    if not 0 <= int(rule["triggerThreshold"]) <= 10000:
        problems.append("triggerThreshold")
    if not 1 <= len(rule["query"]) <= 10000:
        problems.append("query length")
    if set(rule.get("tactics") or []) - TACTICS:
        problems.append("tactics")
    if any(not re.fullmatch(r"T\d{4}(\.\d{3})?", t) for t in rule.get("relevantTechniques") or []):
        problems.append("relevantTechniques")
    entities = rule.get("entityMappings")
    if entities is not None:
        if not 1 <= len(entities) <= 5:
            problems.append("entityMappings count")
        for entity in entities:
            fields = entity["fieldMappings"]
            if not 1 <= len(fields) <= 3:
                problems.append("fieldMappings count")
            allowed = IDENTIFIERS.get(entity["entityType"], set())
            if any(f["identifier"] not in allowed or not f["columnName"] for f in fields):
                problems.append(f"identifiers of {entity['entityType']}")
    return problems


@pytest.mark.parametrize("source", ["defender", "sentinel", "sentinel-asim"])
def test_zoom_rule_file_matches_the_schema(source: str) -> None:
    result = CliRunner().invoke(
        main, ["convert", str(ZOOM), "-t", "kusto", "-f", "sentinel-yaml", "--data-source", source]
    )
    assert result.exit_code == 0, result.output
    (rule,) = list(yaml.safe_load_all(result.stdout))
    assert schema_problems(rule) == []
    assert rule["id"] == "97aba1ef-6034-4bd3-8c1a-1e0996b27afa"
    table = {"defender": "DeviceProcessEvents", "sentinel": "SecurityEvent"}.get(source, "imProcessCreate")
    assert rule["query"].startswith(table + "\n| where ")
    if source != "sentinel-asim":
        # A Defender XDR query also reads DeviceInfo (its platform restriction).
        joined = ["DeviceInfo"] if source == "defender" else []
        assert rule["requiredDataConnectors"][0]["dataTypes"] == [table, *joined]
        assert {e["entityType"] for e in rule["entityMappings"]} == {"Host", "Account", "Process"}


def test_windows_event_rule_names_the_forwarded_events_connector() -> None:
    """A rule on Sentinel's WindowsEvent table (``--data-source sentinel-wef``) requires the
    connector that writes that table: Windows Forwarded Events, id ``WindowsForwardedEvents``
    (Azure-Sentinel, Solutions/Windows Forwarded Events/Data Connectors/WindowsForwardedEvents.JSON).
    It was written with no connector at all (``requiredDataConnectors: []``)."""
    rule = _sentinel_rule("sentinel-wef")
    assert schema_problems(rule) == []
    assert rule["query"].startswith("WindowsEvent\n| where ")
    assert rule["requiredDataConnectors"] == [
        {"connectorId": "WindowsForwardedEvents", "dataTypes": ["WindowsEvent"]}]
    # Computer is a column of WindowsEvent; the process fields are inside EventData (dynamic).
    assert rule["entityMappings"] == [
        {"entityType": "Host", "fieldMappings": [{"identifier": "FullName", "columnName": "Computer"}]}]


def test_schema_check_catches_broken_rules() -> None:
    """The checker itself must fail on a rule that breaks the schema."""
    result = CliRunner().invoke(main, ["convert", str(ZOOM), "-t", "kusto", "-f", "sentinel-yaml"])
    (rule,) = list(yaml.safe_load_all(result.stdout))
    broken = dict(rule, severity="Critical", queryPeriod="1m", tactics=["Execution Stuff"])
    del broken["query"]
    assert schema_problems(broken) == ["missing query"]
    broken["query"] = "x"
    assert set(schema_problems(broken)) == {"severity", "frequency/period", "tactics"}


def test_query_longer_than_sentinel_accepts_is_left_out_with_a_comment(tmp_path: Path) -> None:
    values = "\n".join(f"      - 'value{i:05d}-{'x' * 40}'" for i in range(300))
    rule = tmp_path / "long.yml"
    rule.write_text(
        "title: Long\nid: 7c1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f\nstatus: test\n"
        "logsource: {product: windows, category: process_creation}\n"
        f"detection:\n  s:\n    CommandLine|contains:\n{values}\n  condition: s\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        main, ["convert", str(rule), str(ZOOM), "-t", "kusto", "-f", "sentinel-yaml"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# sigport: left out 7c1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f")
    (only,) = list(yaml.safe_load_all(result.stdout))
    assert only["name"] == "Suspicious Zoom Child Process"
    assert schema_problems(only) == []


# --- scheduling: ingestion delay, and the DeviceInfo side of a Defender XDR query ------------

#: Azure Monitor Logs replaces a TimeGenerated more than two days before the received time
#: (https://learn.microsoft.com/azure/azure-monitor/logs/data-ingestion-time): a row may be
#: received up to 2 days after its TimeGenerated, which the period must cover.
TWO_DAYS = 2 * 24 * 60
SOURCES = ["defender", "sentinel", "sentinel-asim", "sentinel-wef"]


def _sentinel_rule(source: str, path: Path = ZOOM) -> dict:
    result = CliRunner().invoke(
        main, ["convert", str(path), "-t", "kusto", "-f", "sentinel-yaml", "--data-source", source]
    )
    assert result.exit_code == 0, result.output
    (rule,) = list(yaml.safe_load_all(result.stdout))
    return rule


@pytest.mark.parametrize("source", SOURCES)
def test_every_rule_reads_late_rows_once(source: str) -> None:
    """Microsoft's ingestion-delay pattern on every query: a period longer than the frequency by
    the delay (a row received up to 2 days after its TimeGenerated is still inside it), the event
    side restricted to the rows ingested since the previous run (no alert repeated by the
    overlapping periods). A 5-minute lookback missed any row ingested after the run whose window
    held its TimeGenerated."""
    rule = _sentinel_rule(source)
    assert schema_problems(rule) == []
    frequency, period = _minutes(rule["queryFrequency"]), _minutes(rule["queryPeriod"])
    assert period >= TWO_DAYS + frequency
    lines = rule["query"].split("\n")
    assert lines[1] == f"| where ingestion_time() > ago({rule['queryFrequency']})"
    assert rule["query"].count("ingestion_time()") == 1


def test_cloud_rules_read_late_rows_once(tmp_path: Path) -> None:
    """The cloud tables too (the Azure activity log arrives 3 to 20 minutes late)."""
    path = tmp_path / "cloud.yml"
    path.write_text(
        "title: Cloud\nid: 2f1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f\nstatus: test\n"
        "logsource: {product: azure, service: activitylogs}\n"
        "detection:\n  s:\n    operationName: MICROSOFT.COMPUTE/VIRTUALMACHINES/DELETE\n"
        "  condition: s\n",
        encoding="utf-8",
    )
    rule = _sentinel_rule("sentinel", path)
    assert rule["query"].split("\n")[:2] == [
        "AzureActivity", f"| where ingestion_time() > ago({rule['queryFrequency']})"]
    assert _minutes(rule["queryPeriod"]) >= TWO_DAYS + _minutes(rule["queryFrequency"])


def test_defender_rule_looks_back_over_a_day_and_reads_each_event_once() -> None:
    """Defender XDR writes a device's consolidated DeviceInfo row every 24 hours (and a row every
    15 minutes only when something changed): a 5-minute period left the join without the rows of
    most devices, dropping their events. The period must exceed a day; the event side keeps only
    the rows ingested since the previous run, so that overlapping periods repeat no alert."""
    rule = _sentinel_rule("defender")
    assert _minutes(rule["queryPeriod"]) > 24 * 60
    lines = rule["query"].split("\n")
    assert lines[0] == "DeviceProcessEvents"
    # The DeviceInfo side is not restricted: it reads the whole period.
    join = lines[-1]
    assert join.startswith("| join kind=leftsemi (DeviceInfo | where OSPlatform")
    assert "ingestion_time" not in join


@pytest.mark.parametrize("source", SOURCES)
def test_the_scheduled_query_is_interpreted_like_the_converted_one(source: str) -> None:
    """The interpreter reads the rule's query (semantics ingestion_window): on the Zoom rule's
    generated events, rendered for the data source, it matches what the converted query
    matches; a row ingested before the run's window is not matched again."""
    from backends.kusto.parser import parse
    from backends.query.evaluate import matches
    from converter.conversion.convert import Converter
    from converter.events.render import EventRenderer
    from converter.generate.generator import generate_events
    from converter.mapping.loader import load_table
    from converter.rules.load import load_rules

    (loaded,) = load_rules([ZOOM])
    converted = Converter("kusto", options={"data_source": source}).convert(loaded)
    plain = parse(converted.queries[0])
    scheduled = parse(_sentinel_rule(source)["query"])
    renderer = EventRenderer.routed(load_table("kusto-windows"), source)
    rows = [r for r in map(renderer.render_sample, generate_events(loaded.rule)) if r is not None]
    verdicts = [matches(plain, row) for row in rows]
    assert any(verdicts) and not all(verdicts)
    assert [matches(scheduled, row) for row in rows] == verdicts
    for row in (r for r, hit in zip(rows, verdicts) if hit):
        assert matches(scheduled, {**row, "$ingestion_age": 299})
        assert not matches(scheduled, {**row, "$ingestion_age": 300})
