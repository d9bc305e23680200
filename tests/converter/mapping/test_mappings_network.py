"""Network sensor logsources on Elastic: the Zeek integration table (``ecs-zeek``).

* membership: the tagged Zeek events (``zeek/dns``, ``zeek/http``, ...) belong to their own log's
  logsource only;
* coverage: every field of every SigmaHQ Zeek rule is mapped or explained by the entry of that
  rule's own log (the folder mixes the logs);
* renames that are not plain (``to_ip`` addresses, ``to_integer`` ports, a key the pipeline removes)
  are proven or refused as the functions document;
* proof: the schema, field-list and corpus checks of ``test_mappings_cloud.py`` run over
  ``ecs-zeek`` too (it is listed there); here hand-written rules are proven on generated events.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from converter.checking.checker import Checker
from converter.generate.generator import generate_events
from converter.reference.logsources import membership
from helpers import differs_only_by_number_coercion, load_one, proven_but_for_length_limits, to_query
from test_mappings_beyond import entry_of, raw
from test_mappings_corpus import coverage, rule_fields, sources_of

ROOT = Path(__file__).resolve().parents[3]
ZEEK_RULES = ROOT.parent / "shared" / "corpus" / "sigmahq" / "rules" / "network" / "zeek"
LOGS = ("dns", "http", "smb_files", "dce_rpc", "kerberos", "x509", "rdp")


def test_tagged_zeek_events_belong_to_their_own_log_only() -> None:
    for log in LOGS:
        event = {"Channel": f"zeek/{log}"}
        assert membership("zeek", None, log)(event)
        others = [other for other in LOGS if other != log]
        assert not any(membership("zeek", None, other)(event) for other in others)
        assert not membership("windows", None, None)(event)


@pytest.mark.skipif(not ZEEK_RULES.is_dir(), reason="../shared/corpus is absent")
def test_every_zeek_corpus_field_is_covered_by_its_logs_entry() -> None:
    table = raw("ecs-zeek")
    missing = []
    for path in sorted(ZEEK_RULES.rglob("*.yml")):
        rule = yaml.safe_load(path.read_text("utf-8"))
        (entry,) = entry_of(table, {"product": "zeek", "service": rule["logsource"]["service"]})
        for field in sorted(rule_fields(rule["detection"])):
            for source in sources_of(table):
                if coverage(entry, table, field, source) is None:
                    missing.append(f"{path.name}: {field} ({source})")
    assert missing == []


DCE_RPC_RULE = """
title: remote task scheduled over DCE/RPC
id: b1111111-2222-3333-4444-555555555555
logsource: {product: zeek, service: dce_rpc}
detection:
    selection:
        endpoint: ITaskSchedulerService
        operation|startswith: SchRpcRegister
    condition: selection
"""

DNS_RULE = """
title: mining pool lookup not to the local resolver port
id: b2111111-2222-3333-4444-555555555555
logsource: {product: zeek, service: dns}
detection:
    selection:
        query|endswith: '.minexmr.com'
    filter:
        id.resp_p: 53
    condition: selection and not filter
"""

HTTP_RULE = """
title: webdav put to a public address
id: b3111111-2222-3333-4444-555555555555
logsource: {product: zeek, service: http}
detection:
    selection:
        user_agent|contains: 'WebDAV'
        method: 'PUT'
        uri|endswith: '.exe'
    filter:
        id.resp_h|cidr: '10.0.0.0/8'
    condition: selection and not filter
"""


@pytest.mark.parametrize("text", [DCE_RPC_RULE, DNS_RULE, HTTP_RULE])
@pytest.mark.parametrize("target", ["eql", "lucene"])
def test_zeek_rule_is_proven_on_generated_events(text: str, target: str) -> None:
    rule = load_one(text)
    events = generate_events(rule.rule)
    assert events
    result = Checker([target]).check(rule, events).targets[target]
    # Proven, but for the 1,024-character limit of keyword fields where the query warns of it,
    # and the port: a long field, on which Elasticsearch reads '053' as 53 (declared).
    assert (
        proven_but_for_length_limits(result)
        or differs_only_by_number_coercion(result, events)
        or (result.equivalent is None and "coerces" in (result.reason or ""))
    ), result.reason


def test_zeek_renames_follow_the_pipeline() -> None:
    http = to_query("eql", HTTP_RULE)
    assert 'event.dataset == "zeek.http"' in http
    assert "url.original" in http and "user_agent.original" in http
    assert 'cidrMatch(destination.ip, "10.0.0.0/8")' in http
    dns = to_query("eql", DNS_RULE)
    assert "zeek.dns.query" in dns and "destination.port == 53" in dns


def test_key_the_pipeline_removes_is_evaluated_away() -> None:
    # default.yml removes zeek.dns.Z: a test on it is false on every indexed event.
    text = DNS_RULE.replace("id.resp_p: 53", "Z: 0")
    result = Checker(["eql"]).check(load_one(text), generate_events(load_one(text).rule))
    outcome = result.targets["eql"]
    # Proven but for the 1,024-character limit of zeek.dns.query, which the query declares.
    assert proven_but_for_length_limits(outcome), outcome.reason
    assert any("Z test always false" in warning for warning in outcome.warnings)


@pytest.mark.skipif(not ZEEK_RULES.is_dir(), reason="../shared/corpus is absent")
def test_zeek_corpus_rules_are_proven_or_refused_with_a_reason() -> None:
    """Every SigmaHQ Zeek rule is proven on eql and lucene, refused or not proven with its reason,
    and differs only where the query carries the warning that says why (a keyword search, a
    keyword field's 1,024-character limit)."""
    checker = Checker(["eql", "lucene"])
    proven = 0
    for path in sorted(ZEEK_RULES.rglob("*.yml")):
        loaded = load_one(path.read_text("utf-8"))
        result = checker.check(loaded, generate_events(loaded.rule))
        for target, outcome in result.targets.items():
            reason = outcome.reason or ""
            proven += bool(outcome.equivalent)
            # Not proven or refused: with the reason. Differs: only where the query declared
            # why (a keyword search, a field's length limit).
            assert outcome.equivalent or reason, path.name
            if outcome.equivalent is False:
                assert outcome.warnings, f"{path.name} {target}: {reason}"
    assert proven
