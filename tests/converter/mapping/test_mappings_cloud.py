"""Cloud, identity and other integration logsources on Elastic (the Elastic Agent integration
tables that extend ecs-windows, ``ecs-auditd`` included).

* routing: ``ecs-aws``, ``ecs-azure``, ``ecs-okta``, ``ecs-github``, ``ecs-gcp`` join the pipeline
  and renderer of the Elastic targets with their own data source, and their tagged events belong
  to their own logsource only;
* the tables: schema, coverage of every field of the corpus rules of each logsource, every target
  in ECS or in the integration's field list that the table cites (``tests/data/
  integration_fields.yml``, copied from elastic/integrations);
* proof: ``check --generate`` proves the corpus rules of each logsource on eql and lucene, or
  refuses them with a reason; a query that is not proven carries the warning that says why.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import yaml

from converter.conversion.convert import Converter
from converter.checking.checker import Checker
from converter.generate.generator import generate_events
from converter.reference.logsources import membership
from converter.mapping.loader import companion_tables, load_table
from converter.outputs.index_template import propose, template_body
from converter.rules.load import LoadedRule, load_text
from helpers import proven_but_for_length_limits
from test_mappings_beyond import uncovered_corpus_fields
from test_mappings_corpus import ELASTIC_ETC, documented_functions, ecs_targets, schema_problems

ROOT = Path(__file__).resolve().parents[3]
CORPUS_RULES = ROOT.parent / "shared" / "corpus" / "sigmahq" / "rules"
TABLES = ("ecs-aws", "ecs-azure", "ecs-okta", "ecs-github", "ecs-gcp", "ecs-kubernetes", "ecs-bitbucket",
          "ecs-zeek", "ecs-cisco-duo", "ecs-auditd", "ecs-rpc-firewall", "ecs-proxy",
          "ecs-google-workspace", "ecs-o365", "ecs-opencanary")
INTEGRATION_FIELDS = ROOT / "tests" / "data" / "integration_fields.yml"
#: corpus folder -> (table, logsource match)
LOGSOURCES = {
    "cloud/aws/cloudtrail": ("ecs-aws", {"product": "aws", "service": "cloudtrail"}),
    "cloud/azure/activity_logs": ("ecs-azure", {"product": "azure", "service": "activitylogs"}),
    "cloud/azure/audit_logs": ("ecs-azure", {"product": "azure", "service": "auditlogs"}),
    "cloud/azure/signin_logs": ("ecs-azure", {"product": "azure", "service": "signinlogs"}),
    "cloud/azure/identity_protection": ("ecs-azure", {"product": "azure", "service": "riskdetection"}),
    "identity/okta": ("ecs-okta", {"product": "okta", "service": "okta"}),
    "application/github": ("ecs-github", {"product": "github", "service": "audit"}),
    "cloud/gcp/audit": ("ecs-gcp", {"product": "gcp", "service": "gcp.audit"}),
    "application/kubernetes/audit": ("ecs-kubernetes", {"product": "kubernetes", "service": "audit"}),
    "application/bitbucket/audit": ("ecs-bitbucket", {"product": "bitbucket", "service": "audit"}),
    "identity/cisco_duo": ("ecs-cisco-duo", {"product": "cisco", "service": "duo"}),
    "linux/auditd": ("ecs-auditd", {"product": "linux", "service": "auditd"}),
    "application/rpc_firewall": ("ecs-rpc-firewall", {"product": "rpc_firewall", "category": "application"}),
    "web/proxy_generic": ("ecs-proxy", {"category": "proxy"}),
    "cloud/gcp/gworkspace/admin": ("ecs-google-workspace", {"product": "gcp", "service": "google_workspace.admin"}),
    "cloud/gcp/gworkspace/login": ("ecs-google-workspace", {"product": "gcp", "service": "google_workspace.login"}),
    "cloud/m365/audit": ("ecs-o365", {"product": "m365", "service": "audit"}),
    "application/opencanary": ("ecs-opencanary", {"product": "opencanary", "category": "application"}),
}
needs_corpus = pytest.mark.skipif(not CORPUS_RULES.is_dir(), reason="../shared/corpus is absent")

CLOUDTRAIL_RULE = """
title: login profile updated
id: 41111111-2222-3333-4444-555555555555
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        eventSource: iam.amazonaws.com
        eventName: UpdateLoginProfile
        userAgent|contains: 'aws-cli'
    condition: selection
"""


def load_rule_text(text: str) -> LoadedRule:
    """The one rule of a YAML text."""
    return load_text(text, "rule.yml")[0]


def raw(name: str) -> dict:
    """A mapping table as plain YAML."""
    return yaml.safe_load((ROOT / "converter" / "mapping" / "tables" / f"{name}.yml").read_text("utf-8"))


def test_tables_extend_the_ecs_windows_pipeline() -> None:
    assert set(TABLES) <= set(companion_tables("ecs-windows"))
    for name in TABLES:
        assert load_table(name).extends == "ecs-windows"


@pytest.mark.parametrize("name", TABLES)
def test_table_schema_is_valid(name: str) -> None:
    assert schema_problems(raw(name), documented_functions()) == []


def test_tagged_events_belong_to_their_logsource_only() -> None:
    trail = {"Channel": "aws/cloudtrail", "eventName": "x"}
    signin = {"Channel": "azure/signinlogs"}
    assert membership("aws", None, "cloudtrail")(trail)
    assert not membership("azure", None, "signinlogs")(trail)
    assert membership("azure", None, "signinlogs")(signin)
    assert not membership("azure", None, "auditlogs")(signin)
    assert not membership("windows", None, None)(signin)


def test_cloudtrail_rule_converts_on_the_aws_data_stream_for_every_windows_data_source() -> None:
    for source in (None, "defend", "windows"):
        options = {"data_source": source} if source else None
        result = Converter("eql", options=options).convert(load_rule_text(CLOUDTRAIL_RULE))
        assert result.status == "converted", result.reason
        query = "\n".join(result.queries)
        assert 'event.dataset == "aws.cloudtrail"' in query
        assert "event.provider" in query and "event.action" in query
        assert "user_agent.original" in query and "host.os.type" not in query


def test_user_name_is_refused_with_the_reason() -> None:
    text = CLOUDTRAIL_RULE.replace("userAgent|contains: 'aws-cli'", "userIdentity.userName: bob")
    result = Converter("eql").convert(load_rule_text(text))
    assert result.status != "converted" and "sessionIssuer.userName" in result.reason


def test_field_the_integration_drops_is_evaluated_away() -> None:
    text = """
title: okta legacy event type
id: 51111111-2222-3333-4444-555555555555
logsource: {product: okta, service: okta}
detection:
    selection:
        eventType: user.session.start
    filter:
        legacyEventType: core.user_auth.login_success
    condition: selection and not filter
"""
    result = Converter("eql").convert(load_rule_text(text))
    assert result.status == "converted", result.reason
    assert any("legacyEventType" in w for w in result.exact_warnings)
    assert "legacyEventType" not in "\n".join(result.queries)


@pytest.mark.parametrize("target", ["eql", "lucene"])
def test_cloudtrail_rule_is_proven_on_generated_events(target: str, tmp_path: Path) -> None:
    """Proven but for user_agent.original's declared 1,024-character limit (an ECS keyword), and
    proven outright with `sigport mapping`'s template (the caseless copy has no limit)."""
    rule = load_rule_text(CLOUDTRAIL_RULE)
    events = generate_events(rule.rule)
    assert any(e.fields.get("Channel") == "aws/cloudtrail" for e in events)
    outcome = Checker([target]).check(rule, events).targets[target]
    assert proven_but_for_length_limits(outcome), outcome.reason
    assert any("user_agent.original indexes values of at most 1024" in w for w in outcome.warnings)
    path = tmp_path / "t.json"
    path.write_text(json.dumps(template_body(propose([rule], "windows"))), encoding="utf-8")
    outcome = Checker([target], data_source="windows", mapping=path).check(rule, events).targets[target]
    assert outcome.equivalent, outcome.reason


@needs_corpus
@pytest.mark.parametrize("folder", sorted(LOGSOURCES))
def test_every_corpus_field_is_covered(folder: str) -> None:
    assert uncovered_corpus_fields(folder, *LOGSOURCES[folder]) == []


def listed(target: str, fields: list[str]) -> bool:
    """A field list names the target itself, or an object whose every key is a field of the list's
    type (``winlog.event_data.*``: ``type: object, object_type: keyword``)."""
    return target in fields or any(
        name.endswith(".*") and target.startswith(name[:-1]) and "." not in target[len(name) - 1:]
        for name in fields
    )


def test_an_object_entry_lists_its_direct_keys_only() -> None:
    fields = ["winlog.channel", "winlog.event_data.*"]
    assert listed("winlog.channel", fields) and listed("winlog.event_data.param7", fields)
    assert not listed("winlog.event_data", fields)
    assert not listed("winlog.event_data.a.b", fields) and not listed("winlog.provider_name", fields)


@pytest.mark.skipif(not (ELASTIC_ETC / "ecs_flat.json.gz").is_file(), reason="no ecs_flat")
@pytest.mark.parametrize("name", TABLES)
def test_every_target_is_in_ecs_or_in_the_cited_integration_field_list(name: str) -> None:
    with gzip.open(ELASTIC_ETC / "ecs_flat.json.gz", "rt", encoding="utf-8") as handle:
        ecs = set(json.load(handle))
    lists = yaml.safe_load(INTEGRATION_FIELDS.read_text("utf-8"))
    problems = []
    for entry in raw(name)["logsources"]:
        documented = entry.get("non_ecs_fields") or {}
        targets = ecs_targets(entry) | set(entry.get("conditions") or {})
        for target in sorted(targets):
            if target in ecs:
                continue
            source = (documented.get(target) or {}).get("source")
            if source is None:
                problems.append(f"{entry['id']}: {target} is neither ECS nor documented")
            elif not listed(target, (lists.get(source) or {}).get("fields", [])):
                problems.append(f"{entry['id']}: {target} is not in {source}")
    assert problems == []


@needs_corpus
@pytest.mark.parametrize("folder", sorted(LOGSOURCES))
def test_corpus_rules_are_proven_or_refused_with_a_reason(folder: str) -> None:
    """Every rule is proven on eql and lucene, refused with its reason, or (keyword searches,
    values the integration deletes) converted with the warning that says why it is not proven."""
    checker = Checker(["eql", "lucene"])
    proven = 0
    paths = sorted((CORPUS_RULES / folder).rglob("*.yml"))
    for path in paths:
        loaded = load_rule_text(path.read_text("utf-8"))
        result = checker.check(loaded, generate_events(loaded.rule))
        for target, outcome in result.targets.items():
            reason = outcome.reason or ""
            if outcome.equivalent:
                proven += 1
            elif not reason.startswith("not converted"):
                assert outcome.warnings, f"{path.name} {target}: {reason}"
    assert proven


SIGNIN_RULE = """
title: sign-in from azurehound
id: 91111111-2222-3333-4444-555555555555
logsource: {product: azure, service: signinlogs}
detection:
    selection:
        userAgent|contains: 'azurehound'
        ResultType: 0
    condition: selection
"""


def test_signin_rule_is_proven_on_splunk_and_on_elastic_but_for_the_user_agent_limit() -> None:
    """The sign-in pipeline renames properties.userAgent (snake case: user_agent) to
    user_agent.original, an ECS keyword with a declared 1,024-character limit."""
    rule = load_rule_text(SIGNIN_RULE)
    result = Checker(["splunk", "eql"]).check(rule, generate_events(rule.rule))
    splunk = result.targets["splunk"]
    assert splunk.equivalent, splunk.reason
    assert 'sourcetype="azure:monitor:aad"' in splunk.query and "properties.userAgent" in splunk.query
    eql = result.targets["eql"]
    assert proven_but_for_length_limits(eql), eql.reason
    assert "user_agent.original" in (eql.query or "")


@pytest.mark.parametrize("name", TABLES)
def test_every_integration_target_is_in_the_bundled_field_model(name: str) -> None:
    """The interpreters and Kibana's required_fields read the type of each integration field
    (its fields.yml's: keyword unless the copied list's `types` says otherwise) from the bundled
    model, not from a guess."""
    from backends.query.fields import FieldModel

    model = FieldModel.builtin("windows")
    lists = yaml.safe_load(INTEGRATION_FIELDS.read_text("utf-8"))
    missing = []
    for entry in raw(name)["logsources"]:
        for target, documented in (entry.get("non_ecs_fields") or {}).items():
            types = (lists.get(documented["source"]) or {}).get("types") or {}
            info = model.lookup(target)
            if info is None or info.type != types.get(target, "keyword"):
                missing.append(f"{target}: {info.type if info else None}")
    assert missing == []


K8S_STATUS_RULE = """
title: forbidden kubernetes request
id: 91111111-2222-3333-4444-555555555556
logsource: {product: kubernetes, service: audit}
detection:
    selection:
        responseStatus.code:
            - 401
            - 403
    filter:
        verb: get
    condition: selection and not filter
"""


def test_kubernetes_response_code_is_an_integer_field_and_proven() -> None:
    """responseStatus.code is `integer` in the audit_logs fields.yml and the pipeline keeps the
    Event's JSON number (canonical decimal): a numeric test on kubernetes.audit.responseStatus.code."""
    loaded = load_rule_text(K8S_STATUS_RULE)
    result = Checker(["eql", "lucene"]).check(loaded, generate_events(loaded.rule))
    for target, outcome in result.targets.items():
        # canonical: a generated "0403" is no record of the API server (not rendered), and no
        # coercion is declared on the field
        assert outcome.equivalent, f"{target}: {outcome.reason}"
        assert "kubernetes.audit.responseStatus.code" in (outcome.query or "")
    text = K8S_STATUS_RULE.replace("- 401\n", "- 'ALLOW'\n")
    refused = Converter("eql").convert(load_rule_text(text))
    assert refused.status != "converted"


WORKSPACE_RULE = """
title: workspace role deleted
id: 91111111-2222-3333-4444-555555555557
logsource: {product: gcp, service: google_workspace.admin}
detection:
    selection:
        eventService: admin.googleapis.com
        eventName: [DELETE_ROLE, RENAME_ROLE]
    condition: selection
"""


@pytest.mark.parametrize("target", ["eql", "lucene", "kql-es", "esql"])
def test_workspace_admin_rule_is_proven_on_the_reports_api_data_stream(target: str) -> None:
    """eventService (Cloud Logging's service name) is the Reports API application the data stream
    reads (event.provider admin, a vocabulary of one), eventName the event's name (event.action).
    The generated positives include a case partner of the service name (admİn.googleapis.com),
    which Sigma matches: the render side writes event.provider for it as the query side decides."""
    rule = load_rule_text(WORKSPACE_RULE)
    events = generate_events(rule.rule)
    assert any("\u0130" in str(e.fields.get("eventService", "")) for e in events)
    outcome = Checker([target]).check(rule, events).targets[target]
    assert outcome.equivalent, outcome.reason
    assert "google_workspace.admin" in (outcome.query or "") and "event.provider" in (outcome.query or "")


def test_workspace_parameters_renamed_together_are_refused() -> None:
    text = WORKSPACE_RULE.replace("eventName: [DELETE_ROLE, RENAME_ROLE]", "new_value: 'false'")
    result = Converter("eql").convert(load_rule_text(text))
    assert result.status != "converted" and "DEVICE_NEW_STATE" in (result.reason or "")


M365_RULE = """
title: threat intelligence mail delivered
id: 91111111-2222-3333-4444-555555555558
logsource: {product: m365, service: audit}
detection:
    selection:
        Workload: ThreatIntelligence
        Operation: TIMailData
        Directionality: Inbound
    filter:
        DeliveryAction: Blocked
    condition: selection and not filter
"""


@pytest.mark.parametrize("target", ["eql", "lucene", "kql-es"])
def test_m365_audit_rule_is_proven_on_the_o365_data_stream(target: str) -> None:
    rule = load_rule_text(M365_RULE)
    outcome = Checker([target]).check(rule, generate_events(rule.rule)).targets[target]
    assert outcome.equivalent, outcome.reason
    assert all(f in (outcome.query or "") for f in ("o365.audit", "event.provider", "event.action"))


def test_m365_operation_the_pipeline_may_replace_is_refused() -> None:
    """'Add user.' is indexed as added-user-account on Entra ID records: no test on event.action
    tells the record's Operation from the replacement."""
    text = M365_RULE.replace("Operation: TIMailData", "Operation: 'Add user.'")
    result = Converter("eql").convert(load_rule_text(text))
    assert result.status != "converted" and "added-user-account" in (result.reason or "")


AUDIT_RESULT_RULE = """
title: strong authentication disabled
id: 91111111-2222-3333-4444-555555555559
logsource: {product: azure, service: auditlogs}
detection:
    selection:
        operationName: 'Disable Strong Authentication'
        properties.result: 'success'
    condition: selection
"""


@pytest.mark.parametrize("target", ["eql", "lucene", "kql-es", "esql"])
def test_audit_result_is_read_from_both_fields_the_pipeline_writes(target: str) -> None:
    """properties.result is event.outcome (lowercased) when it is success / failure, and stays in
    azure.auditlogs.properties.result otherwise: the query tests both shapes."""
    rule = load_rule_text(AUDIT_RESULT_RULE)
    outcome = Checker([target]).check(rule, generate_events(rule.rule)).targets[target]
    assert outcome.equivalent, outcome.reason
    assert "event.outcome" in (outcome.query or "")
    assert "azure.auditlogs.properties.result" in (outcome.query or "")
