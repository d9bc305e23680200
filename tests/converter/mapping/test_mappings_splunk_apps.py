"""Non-Windows logsources on the `splunk` target: the add-on tables beyond Sysmon, AWS and Entra ID.

* the tables (``splunk-kubernetes``, ``splunk-okta``, ``splunk-github``, ``splunk-o365``,
  ``splunk-macos``, ``splunk-zeek``, ``splunk-gcp``, ``splunk-stream``; the activity-log and risk-detection entries
  of ``splunk-azure``) join the pipeline and renderer of the `splunk` target, with a valid schema;
* every target name is in the field list the table cites: a security_content data source (checked
  in ``test_mappings_beyond.py``) or, where that data source lists no field, the record's keys
  captured from the vendor reference in ``tests/data/splunk_fields.yml``;
* proof: hand-written rules are proven on generated events, and every corpus rule of these
  logsources is proven, refused with its reason, or converted with the warning that says why it
  is not proven; never "differs".
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from converter.checking.checker import Checker
from converter.events.render import SampleEvent
from converter.generate.generator import generate_events
from converter.mapping.loader import companion_tables, load_table
from helpers import load_one, to_query
from test_mappings_beyond import _flat, raw
from test_mappings_cloud import M365_RULE
from test_mappings_corpus import documented_functions, schema_problems

ROOT = Path(__file__).resolve().parents[3]
CORPUS_RULES = ROOT.parent / "shared" / "corpus" / "sigmahq" / "rules"
SPLUNK_FIELDS = ROOT / "tests" / "data" / "splunk_fields.yml"
TABLES = (
    "splunk-kubernetes", "splunk-okta", "splunk-github", "splunk-o365", "splunk-macos",
    "splunk-zeek", "splunk-gcp", "splunk-stream",
)
#: corpus folder -> Sigma logsource of its rules on the `splunk` target
FOLDERS = (
    "application/kubernetes",
    "identity/okta",
    "application/github",
    "cloud/azure/activity_logs",
    "cloud/m365/audit",
    "macos/process_creation",
    "network/zeek",
    "cloud/gcp/audit",
    "cloud/azure/identity_protection",
    "web/proxy_generic",
    "web/webserver_generic",
)
needs_corpus = pytest.mark.skipif(not CORPUS_RULES.is_dir(), reason="../shared/corpus is absent")


def test_tables_extend_the_splunk_sysmon_pipeline() -> None:
    assert set(TABLES) <= set(companion_tables("splunk-sysmon"))
    for name in TABLES:
        assert load_table(name).extends == "splunk-sysmon"


@pytest.mark.parametrize("name", TABLES)
def test_table_schema_is_valid(name: str) -> None:
    assert schema_problems(raw(name), documented_functions()) == []


def captured_fields() -> dict[str, set[str]]:
    """Table name -> the record keys captured for it (``tests/data/splunk_fields.yml``)."""
    out: dict[str, set[str]] = {}
    for entry in yaml.safe_load(SPLUNK_FIELDS.read_text("utf-8")).values():
        for table in entry["tables"]:
            out.setdefault(table, set()).update(entry["fields"])
    return out


@pytest.mark.parametrize("name", ["splunk-okta", "splunk-github", "splunk-zeek", "splunk-gcp"])
def test_every_target_is_a_captured_key_of_the_record(name: str) -> None:
    known = captured_fields()[name]
    problems = [
        f"{entry['id']}: {target}"
        for entry in raw(name)["logsources"]
        for spec in (entry.get("fields") or {}).values()
        for target in _flat(spec)
        if target not in known
    ]
    assert problems == []


OKTA_RULE = """
title: okta policy rule changed outside the admin console
id: a1111111-2222-3333-4444-555555555555
logsource: {product: okta, service: okta}
detection:
    selection:
        eventType|startswith: 'policy.rule.'
        outcome.result: SUCCESS
    filter:
        actor.alternateId|endswith: '@example.com'
    condition: selection and not filter
"""

GITHUB_RULE = """
title: github repository destroyed
id: a2111111-2222-3333-4444-555555555555
logsource: {product: github, service: audit}
detection:
    selection:
        action: [repo.destroy, 'environment.delete']
    condition: selection
"""

KUBERNETES_RULE = """
title: kubernetes secrets listed and refused
id: a3111111-2222-3333-4444-555555555555
logsource: {product: kubernetes, category: application, service: audit}
detection:
    selection:
        verb: list
        objectRef.resource: secrets
        responseStatus.code: 403
    condition: selection
"""

KUBERNETES_EXEC_RULE = """
title: kubernetes exec into a named pod
id: a3211111-2222-3333-4444-555555555555
logsource: {product: kubernetes, service: audit}
detection:
    selection:
        verb: create
        objectRef.resource: pods
        objectRef.subresource: exec
    filter:
        objectRef.name|startswith: 'debug-'
    condition: selection and not filter
"""

ACTIVITY_RULE = """
title: azure key vault modified
id: a4111111-2222-3333-4444-555555555555
logsource: {product: azure, service: activitylogs}
detection:
    selection:
        operationName|startswith: 'MICROSOFT.KEYVAULT/VAULTS/'
        operationName|endswith: '/WRITE'
    condition: selection
"""


O365_RULE = """
title: strong authentication disabled
id: a5111111-2222-3333-4444-555555555555
logsource: {product: m365, service: audit}
detection:
    selection:
        Operation|contains: 'Disable Strong Authentication.'
        ResultStatus: Success
    condition: selection
"""

MACOS_RULE = """
title: osascript asking for a password
id: a6111111-2222-3333-4444-555555555555
logsource: {product: macos, category: process_creation}
detection:
    selection:
        Image|endswith: '/osascript'
        CommandLine|contains|all: ['display dialog', 'password']
    filter:
        OriginalFileName: 'osascript'
    condition: selection and not filter
"""


@pytest.mark.parametrize(
    "text,selector",
    [
        (O365_RULE, 'sourcetype="o365:management:activity"'),
        (MACOS_RULE, 'event_platform="Mac"'),
        (OKTA_RULE, 'sourcetype="OktaIM2:log"'),
        (GITHUB_RULE, 'sourcetype="github:cloud:audit"'),
        (KUBERNETES_RULE, 'source="kubernetes"'),
        # objectRef keys the Event reference lists (captured in tests/data/splunk_fields.yml)
        (KUBERNETES_EXEC_RULE, 'objectRef.subresource="exec"'),
        (ACTIVITY_RULE, 'sourcetype="mscs:azure:audit"'),
    ],
)
def test_rule_is_proven_on_splunk(text: str, selector: str) -> None:
    rule = load_one(text)
    events = generate_events(rule.rule)
    assert events
    result = Checker(["splunk"]).check(rule, events).targets["splunk"]
    assert result.equivalent, result.reason
    assert selector in (result.query or "")


ZEEK_DNS_RULE = """
title: mining pool lookup answered by a sinkhole
id: a7111111-2222-3333-4444-555555555555
logsource: {product: zeek, service: dns}
detection:
    selection:
        query|endswith: '.minexmr.com'
        answers: '0.0.0.0'
    filter:
        id.resp_p: 5353
    condition: selection and not filter
"""

ZEEK_SMB_RULE = """
title: file written to an admin share
id: a7211111-2222-3333-4444-555555555555
logsource: {product: zeek, service: smb_files}
detection:
    selection:
        path|endswith: '\\ADMIN$'
        name|endswith: '.exe'
    condition: selection
"""

GCP_RULE = """
title: gcp service account key created
id: a8111111-2222-3333-4444-555555555555
logsource: {product: gcp, service: gcp.audit}
detection:
    selection:
        gcp.audit.method_name|endswith: '.CreateServiceAccountKey'
    condition: selection
"""

RISK_RULE = """
title: entra id password spray detection
id: a9111111-2222-3333-4444-555555555555
logsource: {product: azure, service: riskdetection}
detection:
    selection:
        riskEventType: passwordSpray
    condition: selection
"""


PROXY_RULE = """
title: powershell user agent fetching a script from a dynamic dns host
id: aa111111-2222-3333-4444-555555555555
logsource: {category: proxy}
detection:
    selection:
        c-useragent|contains: ' WindowsPowerShell/'
        cs-host|endswith: '.duckdns.org'
        cs-method: GET
        c-uri|endswith: '.ps1'
    filter:
        dst_ip|cidr: '10.0.0.0/8'
    condition: selection and not filter
"""

WEBSERVER_RULE = """
title: 500 answer to a request for a webshell path
id: ab111111-2222-3333-4444-555555555555
logsource: {category: webserver}
detection:
    selection:
        cs-uri-stem|endswith: '/cmd.aspx'
        cs-method: POST
        sc-status: 500
    condition: selection
"""


@pytest.mark.parametrize(
    "text,selector",
    [
        (M365_RULE, 'Directionality="*nbound"'),
        (PROXY_RULE, 'sourcetype="stream:http"'),
        (WEBSERVER_RULE, 'sourcetype="stream:http"'),
        (ZEEK_DNS_RULE, 'sourcetype="bro:dns:json"'),
        (ZEEK_SMB_RULE, 'sourcetype="bro:smb_files:json"'),
        (GCP_RULE, 'sourcetype="google:gcp:pubsub:message"'),
        (RISK_RULE, 'category="UserRiskEvents"'),
    ],
)
def test_new_add_on_rule_is_proven_on_splunk(text: str, selector: str) -> None:
    rule = load_one(text)
    events = generate_events(rule.rule)
    assert events
    result = Checker(["splunk"]).check(rule, events).targets["splunk"]
    assert result.equivalent, result.reason
    assert selector in (result.query or "")


def test_proxy_fields_are_the_stream_http_names() -> None:
    query = to_query("splunk", PROXY_RULE, None)
    for name in ("http_user_agent=", "site=", "http_method=", "uri=", "dest_ip="):
        assert name in query
    assert "c-uri" not in query and "cs-host" not in query


def test_proxy_query_string_is_refused_with_the_reason() -> None:
    text = PROXY_RULE.replace("cs-method: GET", "c-uri-query|contains: 'id='")
    reason = Checker(["splunk"]).check(load_one(text), []).targets["splunk"].reason or ""
    assert "not converted" in reason and "c-uri-query" in reason and "field list" in reason


def test_gcp_method_name_is_the_pubsub_payload_path() -> None:
    query = to_query("splunk", GCP_RULE, None)
    assert "data.protoPayload.methodName=" in query and "gcp.audit.method_name" not in query


def test_risk_detection_reads_the_entra_id_record_properties() -> None:
    query = to_query("splunk", RISK_RULE, None)
    assert 'sourcetype="azure:monitor:aad"' in query and "properties.riskEventType=" in query


def test_zeek_array_is_a_multivalue_field_any_value_matches() -> None:
    # dns.log answers is a JSON array: the add-on aliases answers{} to answers, a multivalue field.
    # The reference (any element of a list) and the Splunk search agree on every event.
    rule = load_one(ZEEK_DNS_RULE)
    base = {"Channel": "zeek/dns", "query": "x.minexmr.com", "id.resp_p": 53}
    events = [
        SampleEvent({**base, "answers": ["10.1.1.1", "0.0.0.0"]}, expect=True),
        SampleEvent({**base, "answers": ["10.1.1.1", "10.2.2.2"]}, expect=False),
        SampleEvent({**base, "answers": ["0.0.0.0"], "id.resp_p": 5353}, expect=False),
        SampleEvent({**base}, expect=False),
    ]
    result = Checker(["splunk"]).check(rule, events)
    assert result.reference_matched == [0]
    assert result.targets["splunk"].equivalent, result.targets["splunk"].reason


def test_zeek_host_header_is_refused_for_the_splunk_default_field() -> None:
    text = ZEEK_DNS_RULE.replace("service: dns", "service: http").replace(
        "query|endswith: '.minexmr.com'", "host|endswith: '.ru'"
    ).replace("answers: '0.0.0.0'", "method: GET").replace("id.resp_p: 5353", "uri: '/'")
    reason = Checker(["splunk"]).check(load_one(text), []).targets["splunk"].reason or ""
    assert "not converted" in reason and "default field host" in reason


def test_activity_log_operation_name_is_the_rest_schema_value() -> None:
    query = to_query("splunk", ACTIVITY_RULE, None)
    assert "operationName.value=" in query and "operationName=" not in query


def test_macos_rule_reads_the_crowdstrike_process_event() -> None:
    query = to_query("splunk", MACOS_RULE, None)
    assert 'event_simpleName="ProcessRollup2"' in query and "ImageFileName=" in query
    # Mach-O binaries have no PE original file name: the filter is evaluated away.
    assert "OriginalFileName" not in query


def test_macos_events_without_a_parent_test_are_crowdstrike_records() -> None:
    # The generator's neutral parent of a macOS process is an absolute path (/sbin/launchd): a
    # Windows one is no path ProcessRollup2 names (not rendered), and no event would reach Splunk.
    rule = load_one(MACOS_RULE)
    result = Checker(["splunk"]).check(rule, generate_events(rule.rule)).targets["splunk"]
    assert result.equivalent, result.reason


@pytest.mark.parametrize(
    "test,expected",
    [
        # ProcessRollup2 records the parent's base name only: `endswith '/bash'` is exactly
        # ParentBaseFileName=bash, negated too.
        ("ParentImage|endswith: '/bash'", 'ParentBaseFileName="bash"'),
        # The sensor names macOS executables by absolute paths (`absolute`): a suffix without
        # '/' lies inside the base name (SigmaHQ's osascript rules filter on `'opencode'`).
        ("ParentImage|endswith: 'opencode'", 'ParentBaseFileName="*opencode"'),
    ],
)
def test_macos_parent_base_name_decides_endswith(test: str, expected: str) -> None:
    # Both are proven on generated events.
    text = MACOS_RULE.replace("OriginalFileName: 'osascript'", test)
    query = to_query("splunk", text, None)
    assert expected in query and "ParentImage" not in query
    rule = load_one(text)
    result = Checker(["splunk"]).check(rule, generate_events(rule.rule)).targets["splunk"]
    assert result.equivalent, result.reason


@pytest.mark.parametrize(
    "test",
    [
        "ParentImage|endswith: 'b*sh'",  # a wildcard could stand for a separator
        "ParentImage|endswith: 'bin/bash'",  # a separator inside the suffix needs the directory
        "ParentImage|contains: '/Microsoft Edge'",  # needs the directory
        "ParentImage: '/bin/bash'",  # a whole path
        "ParentImage|endswith: '/b*sh'",  # a wildcard inside the name
        "ParentImage|endswith: '/Applications/Safari'",  # a separator inside the name
        "ParentImage|re: '/bash$'",
    ],
)
def test_macos_parent_path_tests_needing_the_directory_are_refused(test: str) -> None:
    text = MACOS_RULE.replace("OriginalFileName: 'osascript'", test)
    result = Checker(["splunk"]).check(load_one(text), [])
    reason = result.targets["splunk"].reason or ""
    assert "not converted" in reason and "ParentBaseFileName" in reason, reason


def test_path_basename_renders_the_part_after_the_last_separator() -> None:
    from converter.mapping.functions.path import render_path_basename
    from converter.mapping.table import FieldTarget

    spec = FieldTarget("ParentImage", "ParentBaseFileName", "path_basename", ("ParentBaseFileName",))
    assert render_path_basename("/usr/bin/bash", spec) == {"ParentBaseFileName": "bash"}
    assert render_path_basename("bash", spec) == {}
    assert render_path_basename("/usr/bin/", spec) == {}
    assert render_path_basename(None, spec) == {}
    windows = FieldTarget("X", "Y", "path_basename", ("Y",), (("separator", "\\"),))
    assert render_path_basename("C:\\a\\b.exe", windows) == {"Y": "b.exe"}


def test_path_basename_absolute_renders_no_record_for_a_path_without_separator() -> None:
    # With `absolute`, "opencode" (no '/') would end with 'opencode' while its base name is
    # nothing: no record of the source names such a path, so it is not rendered.
    from converter.mapping.functions.path import render_path_basename
    from converter.mapping.table import FieldTarget

    spec = FieldTarget("ParentImage", "ParentBaseFileName", "path_basename",
                       ("ParentBaseFileName",), (("separator", "/"), ("absolute", True)))
    assert render_path_basename("/usr/bin/opencode", spec) == {"ParentBaseFileName": "opencode"}
    with pytest.raises(ValueError, match="no absolute path"):
        render_path_basename("opencode", spec)


def test_okta_target_field_is_the_multivalue_field_of_the_array() -> None:
    # LogEvent.target is an array of objects: Splunk's field is target{}.displayName
    # (json_array_fields), read by Sigma's path as any element (object_lists).
    text = OKTA_RULE.replace("outcome.result: SUCCESS", "target.displayName: Okta Admin")
    result = Checker(["splunk"]).check(load_one(text), [])
    assert "target{}.displayName" in (result.targets["splunk"].query or ""), result.targets["splunk"].reason


@needs_corpus
@pytest.mark.parametrize("folder", FOLDERS)
def test_corpus_rules_are_proven_or_refused_with_a_reason(folder: str) -> None:
    checker = Checker(["splunk"])
    proven = 0
    for path in sorted((CORPUS_RULES / folder).rglob("*.yml")):
        loaded = load_one(path.read_text("utf-8"))
        outcome = checker.check(loaded, generate_events(loaded.rule)).targets["splunk"]
        reason = outcome.reason or ""
        if outcome.equivalent:
            proven += 1
        else:
            # Refused with a reason, or not checked (a bare search term on _raw): never differs.
            assert reason.startswith(("not converted", "not checked")), f"{path.name}: {reason}"
    assert proven
