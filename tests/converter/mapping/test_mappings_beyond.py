"""Non-Windows logsources: tables that extend a target's table, their routing and their proof.

* membership: Sysmon for Linux records and the sigport logsource tags (``macos/...``) belong to
  their own logsources and never to a ``product: windows`` one;
* routing: a table with ``extends: ecs-windows`` joins the pipeline and the renderer of every
  target whose table is ecs-windows, with its own data source (a ``--data-source`` value it does
  not offer leaves it at its default);
* the tables: schema, coverage of every field of the corpus rules of each logsource, every ECS
  target in ECS (``ecs_flat``);
* proof: ``check --generate`` proves corpus rules of each new logsource on the Elastic targets.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import yaml

from converter.conversion.convert import Converter
from converter.checking.checker import Checker
from converter.events.render import EventRenderer, SampleEvent
from converter.generate.generator import generate_events
from converter.reference.logsources import membership
from converter.mapping.loader import companion_tables, load_table

from test_mappings_corpus import (
    ELASTIC_ETC,
    coverage,
    documented_functions,
    ecs_targets,
    rule_fields,
    schema_problems,
    sources_of,
)
from helpers import (
    load_one,
    proven_but_for_length_limits,
    to_query,
)

ROOT = Path(__file__).resolve().parents[3]
CORPUS_RULES = ROOT.parent / "shared" / "corpus" / "sigmahq" / "rules"
NEW_TABLES = ("ecs-linux", "ecs-macos")
#: corpus folder -> (table, logsource match)
LOGSOURCES = {
    "linux/process_creation": ("ecs-linux", {"product": "linux", "category": "process_creation"}),
    "linux/file_event": ("ecs-linux", {"product": "linux", "category": "file_event"}),
    "linux/network_connection": ("ecs-linux", {"product": "linux", "category": "network_connection"}),
    "macos/process_creation": ("ecs-macos", {"product": "macos", "category": "process_creation"}),
    "macos/file_event": ("ecs-macos", {"product": "macos", "category": "file_event"}),
}
needs_corpus = pytest.mark.skipif(not CORPUS_RULES.is_dir(), reason="../shared/corpus is absent")

LINUX_RULE = """
title: at from a shell
id: 11111111-2222-3333-4444-555555555555
logsource: {product: linux, category: process_creation}
detection:
    selection:
        Image|endswith: '/at'
        CommandLine|contains: 'now'
    filter:
        LogonId: 0
    condition: selection and not filter
"""


def raw(name: str) -> dict:
    """A mapping table as plain YAML."""
    return yaml.safe_load((ROOT / "converter" / "mapping" / "tables" / f"{name}.yml").read_text("utf-8"))


def entry_of(table: dict, match: dict) -> list[dict]:
    """The table's entries for one logsource (one per data source at most)."""
    return [e for e in table["logsources"] if e["match"] == match]


def test_linux_sysmon_and_tagged_events_belong_to_their_logsource_only() -> None:
    linux = {"Channel": "Linux-Sysmon/Operational", "EventID": 1}
    mac = {"Channel": "macos/process_creation"}
    assert membership("linux", "process_creation", None)(linux)
    assert not membership("linux", "network_connection", None)(linux)
    assert not membership("linux", "process_creation", None)({"EventID": 1})
    assert membership("macos", "process_creation", None)(mac)
    assert not membership("macos", "process_creation", None)(linux)
    # A Windows product-only rule must not take Linux Sysmon records (same event ids).
    assert not membership("windows", None, None)(linux)
    assert not membership("windows", "process_creation", None)(linux)
    assert membership("windows", None, None)({"Channel": "Security", "EventID": 4624})


def test_new_tables_extend_the_ecs_windows_pipeline() -> None:
    assert set(NEW_TABLES) <= set(companion_tables("ecs-windows"))
    # Only the CIM tables join splunk-cim (the ECS tables never do).
    assert companion_tables("splunk-cim") == ("splunk-cim-linux", "splunk-cim-uncovered", "splunk-cim-web")
    for name in NEW_TABLES:
        assert load_table(name).extends == "ecs-windows"


@pytest.mark.parametrize("name", NEW_TABLES)
def test_new_table_schema_is_valid(name: str) -> None:
    assert schema_problems(raw(name), documented_functions()) == []


def test_linux_rule_uses_the_linux_table_for_any_windows_data_source() -> None:
    # defend (both tables' default) and windows (not offered by ecs-linux: it stays on defend).
    for source in (None, "defend", "windows"):
        query = to_query("eql", LINUX_RULE, source)
        assert 'host.os.type == "linux"' in query and 'event.action == "exec"' in query
        assert 'process.name : "at"' in query and "LogonId" not in query


def test_sysmon_linux_data_source_picks_its_own_entry() -> None:
    query = to_query("eql", LINUX_RULE, "sysmon_linux")
    assert 'host.os.type == "linux"' in query and "event.action" not in query
    # The Windows table does not offer sysmon_linux: its rules stay on its default (defend).
    windows = to_query(
        "eql",
        LINUX_RULE.replace("product: linux", "product: windows").replace("'/at'", "'\\at.exe'"),
        "sysmon_linux",
    )
    assert 'host.os.type == "windows"' in windows


def test_unrecorded_logon_id_is_evaluated_away_with_a_warning() -> None:
    converter = Converter("eql")
    result = converter.convert(load_one(LINUX_RULE))
    assert any("LogonId" in w for w in result.exact_warnings)


def test_uncovered_non_windows_logsource_is_refused_with_the_covered_list() -> None:
    # A logsource no table names (ecs-uncovered gives its own reason for service: syslog).
    text = LINUX_RULE.replace("category: process_creation", "service: kernel")
    result = Converter("eql").convert(load_one(text))
    assert result.status != "converted"
    # 9441263: the refusal names the rule's logsource and where the covered ones are listed.
    assert "product: linux, service: kernel" in result.reason
    assert "sigport list pipelines" in result.reason


def test_routed_renderer_renders_linux_events_with_the_linux_table() -> None:
    renderer = EventRenderer.routed(load_table("ecs-windows"), "windows")
    event = {"Channel": "Linux-Sysmon/Operational", "EventID": 1, "Image": "/usr/bin/at",
             "CommandLine": "at now", "LogonId": "0"}
    out = renderer.render_sample(SampleEvent(event))
    assert out["host.os.type"] == "linux" and out["event.action"] == "exec"
    assert out["process.executable"] == "/usr/bin/at" and "LogonId" not in json.dumps(out)
    routed = renderer.route("linux", "process_creation", None)
    assert routed is not None and routed[0].table.name == "ecs-linux"
    assert routed[0].data_source == "defend"


@pytest.mark.parametrize("target", ["eql", "lucene", "kql"])
def test_linux_rule_is_proven_on_generated_events(target: str) -> None:
    rule = load_one(LINUX_RULE)
    events = generate_events(rule.rule)
    assert events
    result = Checker([target]).check(rule, events)
    # Proven, but for Defend's .caseless length limit (ignore_above) where no generated value
    # is longer (issue 11).
    assert proven_but_for_length_limits(result.targets[target]), result.targets[target].reason


SPLUNK_LOGSOURCES = {
    "linux/process_creation": ("splunk-linux", {"product": "linux", "category": "process_creation"}),
    "linux/file_event": ("splunk-linux", {"product": "linux", "category": "file_event"}),
    "linux/auditd": ("splunk-linux", {"product": "linux", "service": "auditd"}),
    "linux/network_connection": ("splunk-linux", {"product": "linux", "category": "network_connection"}),
    "cloud/aws/cloudtrail": ("splunk-cloud", {"product": "aws", "service": "cloudtrail"}),
    "cloud/azure/signin_logs": ("splunk-azure", {"product": "azure", "service": "signinlogs"}),
    "cloud/azure/audit_logs": ("splunk-azure", {"product": "azure", "service": "auditlogs"}),
    "cloud/azure/activity_logs": ("splunk-azure", {"product": "azure", "service": "activitylogs"}),
    "application/kubernetes": ("splunk-kubernetes", {"product": "kubernetes", "service": "audit"}),
    "identity/okta": ("splunk-okta", {"product": "okta", "service": "okta"}),
    "application/github": ("splunk-github", {"product": "github", "service": "audit"}),
    "cloud/m365/audit": ("splunk-o365", {"product": "m365", "service": "audit"}),
    "macos/process_creation": ("splunk-macos", {"product": "macos", "category": "process_creation"}),
    "cloud/gcp/audit": ("splunk-gcp", {"product": "gcp", "service": "gcp.audit"}),
    "web/proxy_generic": ("splunk-stream", {"category": "proxy"}),
    "web/webserver_generic": ("splunk-stream", {"category": "webserver"}),
    "cloud/azure/identity_protection": ("splunk-azure", {"product": "azure", "service": "riskdetection"}),
}


@needs_corpus
@pytest.mark.parametrize(
    "folder,name,match",
    [(f, *LOGSOURCES[f]) for f in LOGSOURCES] + [(f, *SPLUNK_LOGSOURCES[f]) for f in SPLUNK_LOGSOURCES],
)
def test_every_corpus_field_is_covered(folder: str, name: str, match: dict) -> None:
    assert uncovered_corpus_fields(folder, name, match) == []


def uncovered_corpus_fields(folder: str, name: str, match: dict) -> list[str]:
    """Fields of the corpus rules under ``folder`` that table ``name``'s entries for ``match``
    neither map nor explain, as ``field (data source)``."""
    table = raw(name)
    entries = entry_of(table, match)
    assert entries, f"{name} has no entry for {match}"
    missing = set()
    for path in sorted((CORPUS_RULES / folder).rglob("*.yml")):
        fields = rule_fields(yaml.safe_load(path.read_text("utf-8"))["detection"])
        for entry in entries:
            for source in entry.get("sources") or sources_of(table):
                missing |= {f"{f} ({source})" for f in fields if coverage(entry, table, f, source) is None}
    return sorted(missing)


@pytest.mark.skipif(not (ELASTIC_ETC / "ecs_flat.json.gz").is_file(), reason="no ecs_flat")
@pytest.mark.parametrize("name", NEW_TABLES)
def test_every_target_is_an_ecs_field(name: str) -> None:
    with gzip.open(ELASTIC_ETC / "ecs_flat.json.gz", "rt", encoding="utf-8") as handle:
        ecs = set(json.load(handle))
    problems = [
        f"{entry['id']}: {target}"
        for entry in raw(name)["logsources"]
        for target in sorted(ecs_targets(entry))
        if target not in ecs and target not in (entry.get("non_ecs_fields") or {})
    ]
    assert problems == []


@needs_corpus
@pytest.mark.parametrize("folder", ["linux/file_event", "macos/file_event", "linux/network_connection"])
def test_corpus_rules_are_proven_on_eql(folder: str) -> None:
    checker = Checker(["eql"])
    proven = refused = 0
    for path in sorted((CORPUS_RULES / folder).rglob("*.yml")):
        loaded = load_one(path.read_text("utf-8"))
        events = generate_events(loaded.rule)
        result = checker.check(loaded, events).targets["eql"]
        # Never "differs": a rule is proven, or refused with a reason, but for the declared
        # ignore_above of keyword fields (a generated path over 1,024 characters is not
        # indexed). The ports are canonical decimal on this source (ecs-linux): no generated
        # '0888' port is rendered, and no coercion is declared.
        assert (
            result.equivalent
            or (result.reason or "").startswith("not converted")
            or proven_but_for_length_limits(result)
        ), result.reason
        ok = bool(result.equivalent) or proven_but_for_length_limits(result)
        proven += ok
        refused += not ok
    assert proven and proven + refused == len(list((CORPUS_RULES / folder).rglob("*.yml")))


SPLUNK_DATA_SOURCES = ROOT.parent / "shared" / "corpus" / "splunk-security-content" / "data_sources"
#: Splunk table -> the security_content data sources its docs and comments cite.
SPLUNK_CITED = {
    "splunk-linux": (
        "sysmon_for_linux_eventid_1.yml", "sysmon_for_linux_eventid_11.yml",
        "linux_auditd_execve.yml", "linux_auditd_syscall.yml", "linux_auditd_path.yml",
    ),
    "splunk-cloud": tuple(
        sorted(p.name for p in SPLUNK_DATA_SOURCES.glob("aws_cloudtrail*.yml"))
    ),
    "splunk-azure": tuple(
        sorted(p.name for p in SPLUNK_DATA_SOURCES.glob("azure_active_directory*.yml"))
    ),
    "splunk-kubernetes": ("kubernetes_audit.yml",),
    "splunk-o365": tuple(sorted(p.name for p in SPLUNK_DATA_SOURCES.glob("o365_*.yml"))),
    "splunk-macos": ("crowdstrike_processrollup2.yml",),
    "splunk-stream": ("splunk_stream_http.yml",),
    "splunk-google-workspace": ("google_workspace_login_failure.yml", "google_workspace_login_success.yml"),
    # Text lines: only sourcetype and _raw, Splunk's default fields (test_mappings_splunk_lines.py
    # checks the sourcetype against the data source).
    "splunk-lines": ("linux_secure.yml",),
}
#: Table entries read by another input of the add-on: the data sources that entry cites instead.
SPLUNK_CITED_BY_ENTRY = {
    # Sysmon for Linux event 3: the add-on's generic <Data Name='X'> extraction, with event 3's
    # Data names as the Sysmon data source lists them.
    "linux-network-connection": ("sysmon_for_linux_eventid_1.yml", "sysmon_eventid_3.yml"),
    "azure-activitylogs": tuple(sorted(p.name for p in SPLUNK_DATA_SOURCES.glob("azure_audit_*.yml"))),
}
#: Splunk's default fields of every event (not in the data source field lists).
SPLUNK_DEFAULT_FIELDS = {"source", "sourcetype", "_raw"}
#: Record keys captured from a vendor reference (tests/data/splunk_fields.yml) for table entries
#: that no security_content data source documents.
SPLUNK_FIELDS = ROOT / "tests" / "data" / "splunk_fields.yml"


def captured_entry_fields() -> dict[str, set[str]]:
    """Table entry id -> the record keys captured for it in ``tests/data/splunk_fields.yml``."""
    out: dict[str, set[str]] = {}
    for item in yaml.safe_load(SPLUNK_FIELDS.read_text("utf-8")).values():
        for entry_id in item.get("entries") or ():
            out.setdefault(entry_id, set()).update(item["fields"])
    return out


def splunk_known_fields(files: tuple[str, ...]) -> set[str]:
    """The fields the data sources list, plus the keys their example events carry (the add-ons
    extract every <Data Name='X'> / key=value of the record as field X)."""
    import re

    out: set[str] = set()
    for name in files:
        data = yaml.safe_load((SPLUNK_DATA_SOURCES / name).read_text("utf-8"))
        out.update(data.get("fields") or [])
        log = str(data.get("example_log") or "")
        out.update(re.findall(r'<Data Name="(\w+)"', log))
        out.update(re.findall(r"(?:^|\s)(\w+)=", log))
    return out


@pytest.mark.skipif(not SPLUNK_DATA_SOURCES.is_dir(), reason="no security_content data sources")
@pytest.mark.parametrize("name", list(SPLUNK_CITED))
def test_every_splunk_field_is_in_a_cited_data_source(name: str) -> None:
    import re

    problems = []
    captured = captured_entry_fields()
    for entry in raw(name)["logsources"]:
        # Keys captured from a vendor reference complete the cited data sources' lists.
        cited = SPLUNK_CITED_BY_ENTRY.get(entry["id"], SPLUNK_CITED[name])
        known = captured.get(entry["id"], set()) | splunk_known_fields(cited) | SPLUNK_DEFAULT_FIELDS
        targets = {t for spec in (entry.get("fields") or {}).values() for t in _flat(spec)}
        targets |= set(entry.get("conditions") or {}) | set(entry.get("render") or {})
        for target in sorted(targets):
            # EXECVE records carry a0 .. a<argc-1> (linux_auditd_execve.yml: argc=3 a0 a1 a2).
            if target in known or (entry["id"] == "linux-auditd" and re.fullmatch(r"a\d", target)):
                continue
            problems.append(f"{entry['id']}: {target}")
    assert problems == []


def _flat(spec: object) -> list[str]:
    if isinstance(spec, str):
        return [spec]
    if isinstance(spec, dict) and "to" in spec:
        to = spec["to"]
        return list(to) if isinstance(to, list) else [to]
    return []


def test_splunk_target_routes_linux_rules_to_the_sysmon_for_linux_add_on() -> None:
    query = to_query("splunk", LINUX_RULE, None)
    assert 'source="Syslog:Linux-Sysmon/Operational"' in query and "EventID=1" in query


AUDITD_RULE = """
title: auditd execve of base64 -d
id: 21111111-2222-3333-4444-555555555555
logsource: {product: linux, service: auditd}
detection:
    selection:
        type: EXECVE
        a0: base64
        a1|contains: '-d'
    condition: selection
"""


def test_auditd_is_proven_on_splunk_and_refused_with_the_reason_on_elastic() -> None:
    """Elastic's Auditd Logs integration keeps one document per record (ecs-auditd), but an
    argument after a0 is an element of the array process.args there, without its position."""
    rule = load_one(AUDITD_RULE)
    events = generate_events(rule.rule)
    assert events
    result = Checker(["splunk", "eql"]).check(rule, events)
    assert result.targets["splunk"].equivalent, result.targets["splunk"].reason
    reason = result.targets["eql"].reason or ""
    assert "not converted" in reason and "a1" in reason and "process.args" in reason


def test_sysmon_linux_queries_no_caseless_field_its_index_lacks() -> None:
    """.caseless multi-fields are Elastic Defend's; the Sysmon for Linux integration maps plain
    ECS fields, so Lucene keeps Sigma's case-insensitive tests on the base field there."""
    text = LINUX_RULE.replace("LogonId: 0", "Image: '/usr/bin/whoami'")
    assert ".caseless" in to_query("lucene", text, "defend")
    assert ".caseless" not in to_query("lucene", text, "sysmon_linux")


def test_not_covered_reason_applies_only_where_no_entry_maps_the_logsource() -> None:
    text = LINUX_RULE.replace("category: process_creation", "category: file_event").replace(
        "LogonId: 0", "Image: '/bin/x'"
    ).replace("CommandLine|contains: 'now'", "TargetFilename|contains: 'now'")
    assert "file.path" in to_query("eql", text, "defend")
    result = Converter("eql", options={"data_source": "sysmon_linux"}).convert(load_one(text))
    assert result.status != "converted" and "sysmon_linux" in result.reason


CLOUDTRAIL_RULE = """
title: login profile updated for another user
id: 31111111-2222-3333-4444-555555555555
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        eventSource: iam.amazonaws.com
        eventName: UpdateLoginProfile
    filter:
        userIdentity.arn|fieldref: requestParameters.userName
    condition: selection and not filter
"""


def test_cloudtrail_rule_with_fieldref_is_proven_on_splunk() -> None:
    rule = load_one(CLOUDTRAIL_RULE)
    events = generate_events(rule.rule)
    assert events and any(e.fields.get("Channel") == "aws/cloudtrail" for e in events)
    result = Checker(["splunk"]).check(rule, events)
    assert result.targets["splunk"].equivalent, result.targets["splunk"].reason
    assert 'sourcetype="aws:cloudtrail"' in result.targets["splunk"].query
