"""``to_boolean``: a record's JSON boolean kept in an Elasticsearch ``boolean`` field (Okta's
``securityContext.isProxy`` -> ``okta.security_context.is_proxy``, Zeek dns.log's ``rejected``
-> ``zeek.dns.rejected``, Entra sign-in ``DeviceDetail.isCompliant`` ->
``azure.signinlogs.properties.device_detail.is_compliant``): the query tests the boolean
literal, the renderer writes the boolean, and a value no record holds is not rendered."""

from __future__ import annotations

import pytest
from sigma.exceptions import SigmaTransformationError
from sigma.rule import SigmaDetectionItem
from sigma.types import SigmaBool, SigmaExists, SigmaNull

from converter.checking.checker import Checker
from converter.events.render import SampleEvent
from converter.conversion.convert import Converter
from converter.generate.generator import generate_events
from converter.mapping.functions.boolean import query_to_boolean, render_to_boolean
from converter.mapping.table import FieldTarget
from converter.rules.load import LoadedRule, load_text

OKTA_RULE = """
title: okta session through a proxy
id: 91111111-2222-3333-4444-555555555561
logsource: {product: okta, service: okta}
detection:
    selection:
        eventType: user.session.start
        securityContext.isProxy: 'true'
    condition: selection
"""

ZEEK_RULE = """
title: answered dns query for a pool
id: 91111111-2222-3333-4444-555555555562
logsource: {product: zeek, service: dns}
detection:
    selection:
        query: pool.example.org
    exclude_rejected:
        rejected: 'true'
    condition: selection and not exclude_rejected
"""

COMPLIANT_RULE = """
title: sign-in from a non-compliant device
id: 91111111-2222-3333-4444-555555555563
logsource: {product: azure, service: signinlogs}
detection:
    selection:
        DeviceDetail.isCompliant: 'false'
    condition: selection
"""

SPEC = FieldTarget("rejected", "zeek.dns.rejected", "to_boolean", ("zeek.dns.rejected",))


def load(text: str) -> LoadedRule:
    return load_text(text, "rule.yml")[0]


def leaves(result: object) -> list[tuple[str, str]]:
    """(field, repr of the value) of every detection item in a query side's result (SigmaBool
    compares only with booleans)."""
    if isinstance(result, SigmaDetectionItem):
        return [(result.field, "null" if isinstance(v, SigmaNull) else repr(v)) for v in result.value]
    return [leaf for part in result.detection_items for leaf in leaves(part)]  # type: ignore[attr-defined]


def item(*values: object, cased: bool = False) -> SigmaDetectionItem:
    modifiers = ["cased"] if cased else []
    return SigmaDetectionItem.from_mapping(
        "rejected" + "".join(f"|{m}" for m in modifiers), list(values)
    )


@pytest.mark.parametrize("target", ["eql", "lucene"])
@pytest.mark.parametrize(("text", "field", "value"), [
    (OKTA_RULE, "okta.security_context.is_proxy", "true"),
    (ZEEK_RULE, "zeek.dns.rejected", "true"),
    (COMPLIANT_RULE, "azure.signinlogs.properties.device_detail.is_compliant", "false"),
])
def test_rule_on_a_boolean_field_is_proven(target: str, text: str, field: str, value: str) -> None:
    loaded = load(text)
    outcome = Checker([target]).check(loaded, generate_events(loaded.rule)).targets[target]
    assert outcome.equivalent, outcome.reason
    query = outcome.query or ""
    assert (f"{field} == {value}" if target == "eql" else f"{field}:{value}") in query


def test_query_tests_the_boolean_literal() -> None:
    assert leaves(query_to_boolean(item("true"), SPEC, "")) == [("zeek.dns.rejected", repr(SigmaBool(True)))]
    assert leaves(query_to_boolean(item("FALSE"), SPEC, "")) == [("zeek.dns.rejected", repr(SigmaBool(False)))]
    # a wildcard both texts match: the field exists (it holds nothing else)
    assert leaves(query_to_boolean(item("*e"), SPEC, "")) == [("zeek.dns.rejected", repr(SigmaExists(True)))]
    # a value neither text is: never true on a present field, so only a missing one could match
    assert ("zeek.dns.rejected", repr(SigmaBool(True))) not in leaves(query_to_boolean(item("yes"), SPEC, ""))
    assert leaves(query_to_boolean(item(None), SPEC, "")) == [("zeek.dns.rejected", "null")]


def test_case_sensitive_test_is_refused_with_the_reason() -> None:
    with pytest.raises(SigmaTransformationError, match="rejected is mapped by function to_boolean"):
        query_to_boolean(item("true", cased=True), SPEC, "")


def test_render_writes_the_boolean_and_refuses_any_other_value() -> None:
    assert render_to_boolean(True, SPEC) == {"zeek.dns.rejected": True}
    assert render_to_boolean("false", SPEC) == {"zeek.dns.rejected": False}
    assert render_to_boolean(None, SPEC) == {}
    for value in ("TRUE", "", "1", 1, ["true"]):
        with pytest.raises(ValueError, match="one JSON boolean"):
            render_to_boolean(value, SPEC)


def test_hand_made_records_agree_and_other_texts_are_not_rendered() -> None:
    """A JSON true is matched and a JSON false is not; a text Sigma folds to 'true' but no Okta
    record holds ('TRUE') is skipped, not compared."""
    loaded = load(OKTA_RULE)
    base = {"Channel": "okta/okta", "eventType": "user.session.start"}
    events = [dict(base, **{"securityContext.isProxy": v}) for v in (True, False, "TRUE")]
    result = Checker(["eql", "lucene"]).check(loaded, [SampleEvent(e) for e in events])
    for target, outcome in result.targets.items():
        assert outcome.equivalent, f"{target}: {outcome.reason}"
        assert outcome.matched == [0] and outcome.not_rendered == [2], f"{target}: {outcome}"


NOT_PROXY_RULE = """
title: okta session not through a proxy
id: 91111111-2222-3333-4444-555555555564
logsource: {product: okta, service: okta}
detection:
    selection:
        eventType: user.session.start
    proxy:
        securityContext.isProxy: 'true'
    condition: selection and not proxy
"""


@pytest.mark.parametrize("text", [OKTA_RULE, NOT_PROXY_RULE])
def test_kusto_tests_the_bool_column_with_the_literal(text: str) -> None:
    """OktaV2_CL's SecurityContextIsProxy is a bool column: `== true`, false on a null column,
    so the negated test keeps the rows without the flag (semantics bool_equality)."""
    loaded = load(text)
    events = [SampleEvent({"Channel": "okta/okta", "eventType": "user.session.start", **extra})
              for extra in ({"securityContext.isProxy": True}, {"securityContext.isProxy": False}, {})]
    outcome = Checker(["kusto"]).check(loaded, events).targets["kusto"]
    assert outcome.equivalent, outcome.reason
    assert "SecurityContextIsProxy == true" in (outcome.query or "")
    assert outcome.matched == ([0] if text == OKTA_RULE else [1, 2])
    generated = Checker(["kusto"]).check(loaded, generate_events(loaded.rule)).targets["kusto"]
    assert generated.equivalent, generated.reason


def test_kusto_refuses_a_boolean_on_a_column_that_is_not_bool() -> None:
    """A Sigma boolean on a string column compares as its text; `== true` would not."""
    text = OKTA_RULE.replace("securityContext.isProxy: 'true'", "eventType: true").replace(
        "        eventType: user.session.start\n", "", 1)
    result = Converter("kusto").convert(load(text))
    assert result.status != "converted" and "boolean" in (result.reason or "")


PUBLIC_DB_RULE = """
title: rds instance restored publicly accessible
id: 91111111-2222-3333-4444-555555555565
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        eventName: RestoreDBInstanceFromDBSnapshot
        responseElements.publiclyAccessible: 'true'
    condition: selection
"""

GUARDDUTY_RULE = """
title: guardduty detector disabled
id: 91111111-2222-3333-4444-555555555567
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        eventSource: guardduty.amazonaws.com
        eventName: UpdateDetector
        requestParameters.enable: 'false'
    condition: selection
"""


@pytest.mark.parametrize(("text", "field"), [
    (OKTA_RULE, "securityContext.isProxy"),
    (GUARDDUTY_RULE, "requestParameters.enable"),
    (NOT_PROXY_RULE, "securityContext.isProxy"),
    (ZEEK_RULE, "rejected"),
    (PUBLIC_DB_RULE, "responseElements.publiclyAccessible"),
    (COMPLIANT_RULE, "properties.deviceDetail.isCompliant"),
])
def test_splunk_compares_a_json_boolean_as_its_text(text: str, field: str) -> None:
    """One rule on every Splunk table (semantics json_boolean_text): the JSON boolean is the
    extracted text true / false, so the key is a plain rename, proven on generated events."""
    from backends.splunk.semantics import SEMANTICS

    assert SEMANTICS.get("json_boolean_text") is True
    loaded = load(text)
    outcome = Checker(["splunk"]).check(loaded, generate_events(loaded.rule)).targets["splunk"]
    assert outcome.equivalent, outcome.reason
    assert f"{field}=" in (outcome.query or ""), outcome.query


def test_splunk_agrees_on_hand_made_okta_records() -> None:
    """JSON true matches, JSON false does not; a text 'TRUE' (no Okta record holds it) is the
    same text to Splunk's case-insensitive search and to the reference: matched by both."""
    loaded = load(OKTA_RULE)
    base = {"Channel": "okta/okta", "eventType": "user.session.start"}
    events = [dict(base, **{"securityContext.isProxy": v}) for v in (True, False, "TRUE")]
    outcome = Checker(["splunk"]).check(loaded, [SampleEvent(e) for e in events]).targets["splunk"]
    assert outcome.equivalent, outcome.reason
    assert outcome.matched == [0, 2], outcome


SIGNED_RULE = """
title: unsigned image loaded
id: 91111111-2222-3333-4444-555555555566
logsource: {product: windows, category: image_load}
detection:
    selection:
        ImageLoaded|endswith: '\\\\vcruntime140.dll'
    signed:
        Signed: true
    condition: selection and not signed
"""


def test_kusto_compares_a_boolean_on_a_windowsevent_property_as_its_text() -> None:
    """Sysmon's EventData on Sentinel's WindowsEvent table is text read with tostring(): a Sigma
    boolean is written `=~ "true"` (semantics bool_as_text), case-insensitive like Sigma's text
    comparison, and agrees with the reference on each spelling, a JSON boolean and no value."""
    loaded = load(SIGNED_RULE)
    checker = Checker(["kusto"], data_source="sentinel")
    base = {"EventID": 7, "Channel": "Microsoft-Windows-Sysmon/Operational",
            "ImageLoaded": "C:\\app\\vcruntime140.dll"}
    values: list[object] = ["true", "True", "TRUE", "false", "", " true", True, False]
    events = [SampleEvent(dict(base, Signed=v)) for v in values] + [SampleEvent(dict(base))]
    outcome = checker.check(loaded, events).targets["kusto"]
    assert outcome.equivalent, outcome.reason
    assert 'tostring(EventData.Signed) =~ "true"' in (outcome.query or ""), outcome.query
    generated = checker.check(loaded, generate_events(loaded.rule)).targets["kusto"]
    assert generated.equivalent, generated.reason
