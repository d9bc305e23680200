"""Cloud, identity and Linux logsources on the ``kusto`` target: the tables that extend
kusto-windows.

* routing: ``kusto-cloud`` (Microsoft Sentinel tables), ``kusto-linux`` and ``kusto-macos`` join the pipeline and
  renderer of the ``kusto`` target with their own data source, whatever ``--data-source`` the
  Windows rules use;
* the tables: schema, every column a target, condition or rendered constant names is a column
  of the Sentinel table its entry queries (``tests/data/kusto_cloud_columns.yml``, copied from
  the Azure Monitor table reference with the URL of each table), coverage of every field of the
  corpus rules of each logsource;
* proof: ``check --generate`` proves the corpus rules of each logsource on kusto, or refuses them
  with a reason, or converts them with the warning that says why they are not proven.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from backends.kusto.backend import DEVICE_PLATFORMS
from converter.checking.checker import Checker
from converter.conversion.convert import Converter
from converter.generate.generator import generate_events
from converter.mapping.loader import companion_tables, load_table
from converter.reference.logsources import membership
from test_mappings_beyond import uncovered_corpus_fields
from test_mappings_cloud import CLOUDTRAIL_RULE as BASE_CLOUDTRAIL_RULE, load_rule_text, raw
from test_mappings_corpus import documented_functions, flat_targets, schema_problems

ROOT = Path(__file__).resolve().parents[3]
CORPUS_RULES = ROOT.parent / "shared" / "corpus" / "sigmahq" / "rules"
COLUMNS = ROOT / "tests" / "data" / "kusto_cloud_columns.yml"
DEFENDER_COLUMNS = ROOT / "tests" / "data" / "kusto_defender_columns.yml"
TABLES = ("kusto-cloud", "kusto-linux", "kusto-macos")
KUSTO_SOURCES = (None, "defender", "sentinel", "sentinel-asim")
#: corpus folder -> logsource match of kusto-cloud
LOGSOURCES = {
    "cloud/aws/cloudtrail": {"product": "aws", "service": "cloudtrail"},
    "cloud/azure/activity_logs": {"product": "azure", "service": "activitylogs"},
    "cloud/azure/audit_logs": {"product": "azure", "service": "auditlogs"},
    "cloud/azure/signin_logs": {"product": "azure", "service": "signinlogs"},
    "cloud/azure/identity_protection": {"product": "azure", "service": "riskdetection"},
    "cloud/gcp/audit": {"product": "gcp", "service": "gcp.audit"},
    "cloud/m365/audit": {"product": "m365", "service": "audit"},
    "identity/okta": {"product": "okta", "service": "okta"},
    "application/github": {"product": "github", "service": "audit"},
    "application/kubernetes/audit": {"product": "kubernetes", "service": "audit"},
    "web/webserver_generic": {"category": "webserver"},
}
ACCESSOR_JSON = re.compile(r"tostring\(parse_json\((\w+)\)(?:\.\w+)+\)")
ACCESSOR_DYNAMIC = re.compile(r"tostring\((\w+)(?:\.\w+)+\)")
needs_corpus = pytest.mark.skipif(not CORPUS_RULES.is_dir(), reason="../shared/corpus is absent")

#: A CloudTrail rule with a filter (the Elastic tests' rule plus `not filter`).
CLOUDTRAIL_RULE = BASE_CLOUDTRAIL_RULE.replace(
    "    condition: selection",
    "    filter:\n        userIdentity.type: AssumedRole\n    condition: selection and not filter",
)

SIGNIN_RULE = """
title: single factor sign-in from a tool
id: 91111111-2222-3333-4444-555555555555
logsource: {product: azure, service: signinlogs}
detection:
    selection:
        userAgent|contains: 'azurehound'
        ResultType:
            - 0
            - 50126
        AuthenticationRequirement: singleFactorAuthentication
    condition: selection
"""


@pytest.mark.parametrize("name", TABLES)
def test_table_joins_the_kusto_target_and_is_valid(name: str) -> None:
    assert name in companion_tables("kusto-windows") and load_table(name).extends == "kusto-windows"
    assert schema_problems(raw(name), documented_functions()) == []


def test_m365_events_belong_to_their_logsource_only() -> None:
    audit = {"Channel": "m365/audit", "Operation": "x"}
    assert membership("m365", None, "audit")(audit)
    assert not membership("m365", None, "exchange")(audit)
    assert not membership("azure", None, "auditlogs")(audit)
    assert not membership("windows", None, None)(audit)


def test_every_target_is_a_string_column_of_the_cited_table() -> None:
    """Each target, condition and rendered constant is a string column of the Sentinel table
    that its entry queries, as the Azure Monitor table reference lists it; a `to_integer`
    target is one of its int / long columns (`integer` in the column lists), a `to_boolean` one
    of its bool columns (`boolean`)."""
    columns = yaml.safe_load(COLUMNS.read_text("utf-8"))
    problems = []
    for entry in raw("kusto-cloud")["logsources"]:
        table = entry["state"]["query_table"]
        assert entry["render"]["$table"] == table, entry["id"]
        url = columns[table]["url"] if table in columns else ""
        assert url.endswith(table.lower()) or "/Azure/Azure-Sentinel/" in url, table
        specs = list((entry.get("fields") or {}).values())
        def typed(spec: object) -> str | None:
            return spec.get("function") if isinstance(spec, dict) else None

        integers = set(flat_targets([s for s in specs if typed(s) == "to_integer"]))
        booleans = set(flat_targets([s for s in specs if typed(s) == "to_boolean"]))
        names = set(flat_targets([s for s in specs if typed(s) not in ("to_integer", "to_boolean")]))
        names |= set(entry.get("conditions") or {})
        names |= {key for key in entry.get("render") or {} if key != "$table"}
        problems += [f"{entry['id']}: {name} reads no integer column of {table}"
                     for name in sorted(integers) if name not in columns[table].get("integer", [])]
        problems += [f"{entry['id']}: {name} reads no bool column of {table}"
                     for name in sorted(booleans) if name not in columns[table].get("boolean", [])]
        for name in sorted(names):
            # tostring(parse_json(C).k) reads a JSON text (string) column, tostring(C.k) a
            # dynamic one (semantics dynamic_property_tostring); anything else is a string column.
            text, dynamic = ACCESSOR_JSON.fullmatch(name), ACCESSOR_DYNAMIC.fullmatch(name)
            column, kind = (text.group(1), "string") if text else (
                (dynamic.group(1), "other") if dynamic else (name, "string"))
            if column not in columns[table][kind]:
                problems.append(f"{entry['id']}: {name} reads no {kind} column of {table}")
    assert problems == []


@pytest.mark.parametrize("name", ["kusto-linux", "kusto-macos"])
def test_every_defender_target_is_a_column_of_the_cited_table(name: str) -> None:
    """Each target, condition and rendered constant of the Linux / macOS entries is a column of
    the Defender XDR table its entry queries (`to_integer` targets: an int / long column, others a
    string column), and the rendered DeviceInfo rows and the platform test use DeviceInfo's."""
    columns = yaml.safe_load(DEFENDER_COLUMNS.read_text("utf-8"))
    platforms = re.findall(r"(\w+) (?:==|startswith)", " ".join(DEVICE_PLATFORMS.values()))
    problems = [f"DEVICE_PLATFORMS: {c}" for c in platforms if c not in columns["DeviceInfo"]["string"]]
    for entry in raw(name)["logsources"]:
        table = entry["state"]["query_table"]
        assert entry["render"]["$table"] == table, entry["id"]
        specs = list((entry.get("fields") or {}).values())
        integer = [s for s in specs if isinstance(s, dict) and s.get("function") == "to_integer"]
        wanted = {(n, "integer") for n in flat_targets(integer)}
        wanted |= {(n, "string") for n in flat_targets([s for s in specs if s not in integer])}
        wanted |= {(n, "string") for n in entry.get("conditions") or {}}
        wanted |= {(n, "string") for n in entry.get("render") or {} if not n.startswith("$")}
        problems += [f"{entry['id']}: {n} is no {kind} column of {table}"
                     for n, kind in sorted(wanted) if n not in columns[table][kind]]
        problems += [f"{entry['id']}: $DeviceInfo.{key}"
                     for row in entry["render"].get("$DeviceInfo", []) for key in row
                     if key not in columns["DeviceInfo"]["string"]]
    assert problems == []


def rule_text(logsource: str, detection: str) -> str:
    """A one-rule YAML text with the given logsource and detection lines."""
    return (f"title: t\nid: 0f5b8f2e-3c1d-4e6a-9b7c-2d4e6f8a0b1c\nlogsource: {logsource}\n"
            f"detection:\n{detection}")


#: An outbound connection to a callback port, outside 10.0.0.0/8.
LINUX_NETWORK_RULE = rule_text(
    "{product: linux, category: network_connection}",
    "  s: {Initiated: 'true', DestinationPort: [4444, 8531]}\n"
    "  f: {DestinationIp|cidr: 10.0.0.0/8}\n  condition: s and not f\n",
)


def test_linux_connection_direction_is_the_action_type_and_ports_are_canonical() -> None:
    """Initiated is DeviceNetworkEvents' ActionType (as for Windows); Sysmon for Linux writes
    ports as canonical decimal text, so a generated "04444" is no record of the table."""
    rule = load_rule_text(LINUX_NETWORK_RULE)
    events = generate_events(rule.rule)
    assert any(str(e.fields.get("DestinationPort", "")).startswith("0") for e in events)
    outcome = Checker(["kusto"]).check(rule, events).targets["kusto"]
    assert outcome.query.startswith(
        'DeviceNetworkEvents\n| where ((ActionType in ("ConnectionSuccess", "ConnectionRequest", '
        '"ConnectionFailed"))'), outcome.query
    assert 'OSPlatform == "Linux"' in outcome.query
    assert outcome.equivalent, (outcome.reason, outcome.disagreements)


def test_linux_connection_address_test_without_direction_is_refused() -> None:
    """RemoteIP is Sysmon's destination on outbound rows only: a rule whose verdict on an
    inbound row depends on DestinationIp is refused with the reason."""
    text = LINUX_NETWORK_RULE.replace("Initiated: 'true', ", "")
    result = Converter("kusto").convert(load_rule_text(text))
    assert result.status != "converted"
    assert "outbound rows (Initiated true) only" in (result.reason or ""), result.reason


@pytest.mark.parametrize("source", KUSTO_SOURCES)
def test_cloudtrail_rule_is_proven_on_sentinel_whatever_the_windows_data_source(
        source: str | None) -> None:
    rule = load_rule_text(CLOUDTRAIL_RULE)
    events = generate_events(rule.rule)
    assert any(e.fields.get("Channel") == "aws/cloudtrail" for e in events)
    result = Checker(["kusto"], data_source=source).check(rule, events)
    outcome = result.targets["kusto"]
    assert outcome.query.startswith("AWSCloudTrail\n| where "), outcome.query
    for column in ("EventSource", "EventName", "UserAgent", "UserIdentityType"):
        assert column in outcome.query
    assert outcome.equivalent, (outcome.reason, outcome.disagreements)


def test_signin_result_type_numbers_are_compared_as_the_column_text() -> None:
    """ResultType is a string column: Sigma's numbers 0 and 50126 become string literals."""
    rule = load_rule_text(SIGNIN_RULE)
    result = Checker(["kusto"]).check(rule, generate_events(rule.rule))
    outcome = result.targets["kusto"]
    assert outcome.query.startswith("SigninLogs\n| where "), outcome.query
    assert '"0"' in outcome.query and '"50126"' in outcome.query
    assert "ResultType == 0" not in outcome.query
    assert outcome.equivalent, (outcome.reason, outcome.disagreements)


@pytest.mark.parametrize("logsource, detection, query", [
    ("{product: okta, service: okta}",
     "  s: {eventType: user.mfa.factor.deactivate}\n  f: {outcome.result: FAILURE}\n"
     "  condition: s and not f\n",
     "OktaV2_CL\n| where EventOriginalType"),
    ("{product: github, service: audit}",
     "  s: {action: [org.remove_member, 'repo.*']}\n  condition: s\n",
     "GitHubAuditLogsV2_CL\n| where Action"),
    ("{category: webserver}",
     "  s: {cs-method: POST, cs-uri-query|contains: 'cmd=', sc-status: [200, 301]}\n"
     "  f: {cs-user-agent|startswith: curl}\n  condition: s and not f\n",
     "W3CIISLog\n| where (csMethod"),
])
def test_connector_table_rule_is_proven(logsource: str, detection: str, query: str) -> None:
    """The solutions' connector tables (OktaV2_CL, GitHubAuditLogsV2_CL) on generated events."""
    rule = load_rule_text(rule_text(logsource, detection))
    outcome = Checker(["kusto"]).check(rule, generate_events(rule.rule)).targets["kusto"]
    assert outcome.query.startswith(query), outcome.query
    assert outcome.equivalent, (outcome.reason, outcome.disagreements)


@pytest.mark.parametrize("field, value, accessor", [
    ("requestParameters.enable", "'false'", "tostring(parse_json(RequestParameters).enable)"),
    ("responseElements.pendingModifiedValues.masterUserPassword", "'?*'",
     "tostring(parse_json(ResponseElements).pendingModifiedValues.masterUserPassword)"),
    ("requestParameters.userName", "7", "tostring(parse_json(RequestParameters).userName)"),
])
def test_scalar_key_of_a_json_text_column_is_proven(field: str, value: str, accessor: str) -> None:
    """CloudTrail's request / response keys are read with parse_json + tostring; a number is
    compared as its text (tostring gives a string)."""
    text = CLOUDTRAIL_RULE.replace("userAgent|contains: 'aws-cli'", f"{field}: {value}")
    rule = load_rule_text(text)
    outcome = Checker(["kusto"]).check(rule, generate_events(rule.rule)).targets["kusto"]
    assert accessor in outcome.query, outcome.query
    assert f"{accessor} == 7" not in outcome.query
    assert outcome.equivalent, (outcome.reason, outcome.disagreements)


def test_array_key_of_a_json_text_column_is_refused_with_the_reason() -> None:
    text = CLOUDTRAIL_RULE.replace("userAgent|contains: 'aws-cli'", "requestParameters.layers|contains: x")
    result = Converter("kusto").convert(load_rule_text(text))
    assert result.status != "converted"
    assert "requestParameters.layers" in result.reason and "array" in result.reason


def test_errorcode_null_carries_the_empty_string_warning() -> None:
    """Kusto reads a missing string as "": `errorCode: null` cannot tell a record without an
    error code from one whose code is "", so the query is converted with the warning."""
    text = CLOUDTRAIL_RULE.replace("userIdentity.type: AssumedRole", "errorCode: null")
    result = Converter("kusto").convert(load_rule_text(text))
    assert result.status == "converted", result.reason
    assert "isempty(ErrorCode)" in "\n".join(result.queries)
    assert any("errorCode" in w for w in result.warnings)


@pytest.mark.parametrize("logsource, reason", [
    ("{product: linux, service: auditd}", "auditd"),
    ("{product: azure, service: pim}", "PIM alerts"),
    ("{product: m365, service: threat_management}", "OfficeActivity"),
])
def test_uncovered_logsources_are_refused_with_the_reason(logsource: str, reason: str) -> None:
    result = Converter("kusto").convert(load_rule_text(rule_text(logsource, "  s: {X: y}\n  condition: s\n")))
    assert result.status != "converted"
    assert reason in result.reason, result.reason


@needs_corpus
@pytest.mark.parametrize("folder", sorted(LOGSOURCES))
def test_every_corpus_field_is_covered(folder: str) -> None:
    assert uncovered_corpus_fields(folder, "kusto-cloud", LOGSOURCES[folder]) == []


@needs_corpus
@pytest.mark.parametrize("folder", sorted(LOGSOURCES))
def test_corpus_rules_are_proven_or_refused_with_a_reason(folder: str) -> None:
    """Every rule is proven on kusto, refused with its reason, or (values Kusto reads as "")
    converted with the warning that says why it is not proven."""
    checker = Checker(["kusto"])
    proven = 0
    for path in sorted((CORPUS_RULES / folder).rglob("*.yml")):
        loaded = load_rule_text(path.read_text("utf-8"))
        outcome = checker.check(loaded, generate_events(loaded.rule)).targets["kusto"]
        reason = outcome.reason or ""
        if outcome.equivalent:
            proven += 1
        elif not reason.startswith("not converted"):
            assert outcome.warnings, f"{path.name}: {reason}"
    assert proven


#: EntityMappingIdentifiers.cs (Azure-Sentinel detection validation): identifiers per entity.
ENTITY_IDENTIFIERS = {"Account": {"Name", "FullName"}, "IP": {"Address"}, "AzureResource": {"ResourceId"}}


def test_sentinel_rules_of_cloud_tables_name_their_table_and_its_columns() -> None:
    """`-f sentinel-yaml`: the data connector names the rule's table, and every entity column
    is a column of that table."""
    from converter.outputs.sentinel import TABLES as SENTINEL_TABLES, sentinel_rule

    columns = yaml.safe_load(COLUMNS.read_text("utf-8"))
    conv = Converter("kusto").convert(load_rule_text(CLOUDTRAIL_RULE))
    rule = sentinel_rule(conv)
    assert rule["requiredDataConnectors"] == [{"connectorId": "AWS", "dataTypes": ["AWSCloudTrail"]}]
    assert {e["entityType"] for e in rule["entityMappings"]} == {"Account", "IP"}
    for entry in raw("kusto-cloud")["logsources"]:
        table = entry["state"]["query_table"]
        _, entities = SENTINEL_TABLES[table]
        known = set(columns[table]["string"]) | set(columns[table]["other"])
        for entity in entities:
            for field in entity["fieldMappings"]:
                assert field["identifier"] in ENTITY_IDENTIFIERS[entity["entityType"]], table
                assert field["columnName"] in known, (table, field)
