"""Linux auditd on Elastic: ``ecs-auditd`` (Elastic Agent's Auditd Logs integration, one document
per audit record), the ``auditd_record_type`` function, ``any_of``'s ``when`` guards, and the
lowercase spellings of "i".

The table's schema, its targets against the cited field lists and the corpus proof run with the
other integration tables in ``test_mappings_cloud.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from sigma.exceptions import SigmaTransformationError

from converter.checking.checker import Checker
from converter.conversion.convert import Converter
from converter.generate.generator import generate_events
from converter.mapping.functions.registry import QUERY_FUNCTIONS, RENDER_FUNCTIONS
from converter.mapping.pipeline import build_pipeline, TargetTraits
from converter.mapping.loader import load_table
from converter.mapping.table import FieldTarget
from converter.rules.load import LoadedRule, load_text
from test_functions import check_exact, evaluate, item_of, sigma_rule


def load_rule_text(text: str) -> LoadedRule:
    """The one rule of a YAML text."""
    return load_text(text, "rule.yml")[0]


ACTIONS = {"SERVICE_STOP": "stopped-service", "USER_CMD": "ran-command"}
TYPE = FieldTarget(
    "type", "auditd.log.record_type", "auditd_record_type",
    ("auditd.log.record_type", "event.action"), (("actions", ACTIONS),),
)
TYPES = ["SERVICE_STOP", "service_stop", "EXECVE", "execve", "ExecVe", "PATH", "USER_CMD", None]


def test_record_type_render_follows_the_pipeline_type_table() -> None:
    render = RENDER_FUNCTIONS["auditd_record_type"]
    # A type of the table: the rename onto event.action fails, the type stays as written.
    assert render("SERVICE_STOP", TYPE) == {
        "auditd.log.record_type": "SERVICE_STOP", "event.action": ["stopped-service"]
    }
    # Any other type (or another case: the lookup is exact): only event.action, lowercased.
    assert render("EXECVE", TYPE) == {"event.action": "execve"}
    assert render("Service_Stop", TYPE) == {"event.action": "service_stop"}


@pytest.mark.parametrize(
    ("key", "pattern"),
    [
        ("type", "EXECVE"),
        ("type", "execve"),
        ("type", "SERVICE_STOP"),
        ("type", ["PATH", "USER_CMD"]),
        ("type|startswith", "SERV"),
        ("type|contains", "e"),
        ("type|re|i", "^exec"),
        ("type|neq", "EXECVE"),
        ("type|neq", "SERVICE_STOP"),
        ("type", None),
        ("type|exists", True),
        ("type|exists", False),
    ],
)
def test_record_type_query_is_exact_on_both_shapes(key: str, pattern: Any) -> None:
    check_exact(TYPE, key, pattern, TYPES)


@pytest.mark.parametrize(("key", "pattern"), [("type|contains", "stop"), ("type", "ran-command")])
def test_record_type_action_of_the_table_is_never_read_as_a_type(key: str, pattern: str) -> None:
    """A kept type's action ('stopped-service', 'ran-command') is no lowercased type: where an
    action could match, the query reads event.action only where no record type is kept."""
    item = item_of(sigma_rule(key, pattern))
    query = QUERY_FUNCTIONS["auditd_record_type"](item, TYPE, "")
    kept = {"auditd.log.record_type": "USER_CMD", "event.action": ["ran-command", "stopped"]}
    assert not evaluate(query, kept)
    assert evaluate(query, {"event.action": pattern.lower().replace("stop", "service_stop")})


def test_whole_types_need_no_presence_test() -> None:
    """A whole type no action spells is compared without testing auditd.log.record_type's
    presence (which a value over its ignore_above limit would decide)."""
    item = item_of(sigma_rule("type", "EXECVE"))
    query = QUERY_FUNCTIONS["auditd_record_type"](item, TYPE, "")
    assert "SigmaExists" not in repr(query)


def test_record_type_refuses_what_lowercasing_loses() -> None:
    for key, pattern in (("type|cased", "ExecVe"), ("type|re", "^EXEC")):
        with pytest.raises(SigmaTransformationError, match="auditd_record_type"):
            QUERY_FUNCTIONS["auditd_record_type"](item_of(sigma_rule(key, pattern)), TYPE, "")


A0 = FieldTarget(
    "a0", "auditd.log.a0", "any_of", ("auditd.log.a0", "process.executable"),
    (("when", {"process.executable": {"event.action": "execve"}}),),
)


@pytest.mark.parametrize(
    ("key", "pattern"),
    [("a0", "whoami"), ("a0|contains", "who"), ("a0", None), ("a0|exists", True), ("a0|neq", "id")],
)
def test_guarded_target_is_read_only_under_its_guard(key: str, pattern: Any) -> None:
    """An EXECVE record's a0 is process.executable (event.action 'execve'); a SYSCALL record
    keeps auditd.log.a0, and its process.executable (from exe) is no argument."""
    item = item_of(sigma_rule(key, pattern))
    query = QUERY_FUNCTIONS["any_of"](item, A0, "")
    cases = [
        ({"a0": "whoami"}, {"event.action": "execve", "process.executable": "whoami"}),
        ({"a0": "whoami"}, {"event.action": "syscall", "auditd.log.a0": "whoami",
                            "process.executable": "/usr/bin/id"}),
        ({"a0": "3"}, {"event.action": "syscall", "auditd.log.a0": "3",
                       "process.executable": "/usr/bin/whoami"}),
        ({}, {"event.action": "syscall", "process.executable": "whoami"}),
        ({}, {"event.action": "execve"}),
    ]
    for sigma_event, target_event in cases:
        assert evaluate(query, target_event) == evaluate(item, sigma_event, sigma=True), (
            sigma_event, target_event, query
        )


def test_any_of_without_guards_is_unchanged() -> None:
    plain = FieldTarget("a0", "auditd.log.a0", "any_of", ("auditd.log.a0", "process.executable"))
    for chosen in plain.targets:
        check_exact(plain, "a0", "whoami", ["whoami", "id", None], chosen=chosen)


RULE = """
title: auditd record types and arguments
id: 61111111-2222-3333-4444-555555555555
logsource: {product: linux, service: auditd}
detection:
    execve:
        type: EXECVE
        a0: [whoami, id]
    stop:
        type: SERVICE_STOP
        unit: [firewalld, ufw]
    condition: execve or stop
"""


@pytest.mark.parametrize("target", ["eql", "lucene"])
def test_auditd_rule_is_proven_on_generated_events(target: str) -> None:
    """Generated events include case partners ('SERVİCE_STOP': Sigma's "I" matches "İ", which
    the pipeline lowercases to "i" + U+0307) and EXECVE records whose a0 becomes
    process.executable."""
    rule = load_rule_text(RULE)
    events = generate_events(rule.rule)
    assert any(e.fields.get("type") == "EXECVE" for e in events)
    assert any("İ" in str(e.fields.get("type")) for e in events)
    result = Checker([target]).check(rule, events)
    assert result.targets[target].equivalent, result.targets[target].reason


LINUX_RULE = """
title: linux process
id: 71111111-2222-3333-4444-555555555555
logsource: {product: linux, category: process_creation}
detection:
    selection:
        Image: /usr/bin/whoami
    condition: selection
"""


def test_lucene_reads_no_caseless_field_the_integration_does_not_map() -> None:
    """process.executable.caseless is Elastic Defend's multi-field; the Auditd Logs index has
    none, so the query stays on the base field (a case-folding regex); Defend's Linux events
    keep it."""
    query = "\n".join(Converter("lucene").convert(load_rule_text(RULE)).queries)
    assert "process.executable:/" in query and ".caseless" not in query
    defend = "\n".join(Converter("lucene").convert(load_rule_text(LINUX_RULE)).queries)
    assert "process.executable.caseless" in defend


@pytest.mark.parametrize(
    ("selection", "words"),
    [
        ("a1: '-c'", "process.args"),
        ("exe|endswith: '/nmap'", "possibleHexKeys"),
        ("name: /etc/shadow", "possibleHexKeys"),
        ("key: susp", "ENRICHED"),
        ("euid: 0", "record type"),
    ],
)
def test_fields_without_an_exact_target_are_refused_with_the_reason(selection: str, words: str) -> None:
    text = RULE.replace("a0: [whoami, id]", selection)
    result = Converter("eql").convert(load_rule_text(text))
    assert result.status != "converted" and words in result.reason, result.reason


def test_the_pipeline_covers_auditd_by_default() -> None:
    assert load_table("ecs-auditd").option_default("data_source") == "auditd"
    pipeline = build_pipeline("ecs-windows", TargetTraits())
    assert any("ecs-auditd-linux-auditd" in str(item.identifier) for item in pipeline.items)


def test_lowercased_i_has_two_spellings_and_a_bound() -> None:
    """Sigma's case-insensitive "I" matches "İ", whose lowercase is "i" + U+0307: each "i" is
    tested in both spellings, up to 16 spellings per value."""
    item = item_of(sigma_rule("type", "USER_LOGIN"))
    query = QUERY_FUNCTIONS["auditd_record_type"](item, TYPE, "")
    assert evaluate(query, {"event.action": "user_logi\u0307n"})
    assert evaluate(query, {"event.action": "user_login"})
    with pytest.raises(SigmaTransformationError, match="too many letters i"):
        QUERY_FUNCTIONS["auditd_record_type"](item_of(sigma_rule("type", "IIIII")), TYPE, "")


def test_kql_advice_does_not_send_an_auditd_rule_to_the_pipeline_it_uses() -> None:
    """The Auditd Logs index has no process.executable.caseless: KQL's caveat names the
    missing multi-field instead of recommending the ecs-windows pipeline the rule already uses."""
    result = Converter("kql").convert(load_rule_text(RULE))
    advice = [w for w in result.warnings if "process.executable" in w]
    assert advice and all("use the ecs-windows pipeline" not in w for w in advice)
    assert any("multi-field of process.executable" in w for w in advice)
