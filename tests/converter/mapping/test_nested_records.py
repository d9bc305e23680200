"""Records given as nested JSON (as the vendors write them: Okta's ``securityContext: {isProxy:
true}``, CloudTrail's ``userIdentity: {type: Root}``) are rendered like their flat-key form: the
reference reads a dotted Sigma field as the exact key, then as the path into nested objects, and
the renderer writes the value found the same way. Before, only a flat dotted key was rendered,
so every target missed what the reference matched on a real record."""

from __future__ import annotations

import pytest

from converter.checking.checker import Checker
from converter.events.render import EventRenderer, SampleEvent
from converter.mapping.loader import load_table
from converter.rules.load import LoadedRule, load_text

OKTA_RULE = """
title: admin page through a proxy
id: 91111111-2222-3333-4444-555555555571
logsource: {product: okta, service: okta}
detection:
    selection:
        debugContext.debugData.requestUri|contains: admin
        outcome.result: SUCCESS
    condition: selection
"""

TRAIL_RULE = """
title: root console login
id: 91111111-2222-3333-4444-555555555572
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        eventName: ConsoleLogin
        userIdentity.type: Root
    condition: selection
"""


def load(text: str) -> LoadedRule:
    return load_text(text, "rule.yml")[0]


OKTA_EVENTS = [
    # nested, as the System Log API returns it: matches
    {"Channel": "okta/okta", "debugContext": {"debugData": {"requestUri": "/admin/users"}},
     "outcome": {"result": "SUCCESS"}},
    # nested, another outcome: no match
    {"Channel": "okta/okta", "debugContext": {"debugData": {"requestUri": "/admin/users"}},
     "outcome": {"result": "FAILURE"}},
    # flat dotted keys, as before
    {"Channel": "okta/okta", "debugContext.debugData.requestUri": "/admin/x", "outcome.result": "SUCCESS"},
    # the exact key wins over the path, as in the reference
    {"Channel": "okta/okta", "debugContext.debugData.requestUri": "/home",
     "debugContext": {"debugData": {"requestUri": "/admin"}}, "outcome": {"result": "SUCCESS"}},
    # a list where the table names an object (no `{}`): the reference reads its elements
    # ("object_lists"), the target field is not written (next test)
    {"Channel": "okta/okta", "debugContext": [{"debugData": {"requestUri": "/home"}}],
     "outcome": {"result": "SUCCESS"}},
]

TRAIL_EVENTS = [
    {"Channel": "aws/cloudtrail", "eventName": "ConsoleLogin", "userIdentity": {"type": "Root"}},
    {"Channel": "aws/cloudtrail", "eventName": "ConsoleLogin", "userIdentity": {"type": "IAMUser"}},
]


@pytest.mark.parametrize("target", ["eql", "lucene", "splunk", "kusto"])
@pytest.mark.parametrize(("rule", "events", "matched"), [
    (OKTA_RULE, OKTA_EVENTS, [0, 2]),
    (TRAIL_RULE, TRAIL_EVENTS, [0]),
])
def test_nested_record_is_checked_like_its_flat_form(
    target: str, rule: str, events: list[dict], matched: list[int]
) -> None:
    loaded = load(rule)
    result = Checker([target]).check(loaded, [SampleEvent(e) for e in events])
    assert result.reference_matched == matched
    outcome = result.targets[target]
    assert outcome.equivalent is not False, f"{target}: {outcome.reason} {outcome.disagreements}"
    if outcome.equivalent is None:  # declared limits (ignore_above) only, never a disagreement
        assert outcome.query and outcome.warnings, outcome.reason
    else:
        assert outcome.matched == matched


def test_renderer_reads_the_nested_value_under_the_mapped_name() -> None:
    renderer = EventRenderer.routed(load_table("ecs-windows"))
    rendered = renderer.render_sample(SampleEvent(OKTA_EVENTS[0]))
    assert rendered is not None
    assert rendered["okta.debug_context.debug_data.request_uri"] == "/admin/users"
    assert rendered["okta.outcome.result"] == "SUCCESS"


@pytest.mark.parametrize("target", ["eql", "lucene", "splunk"])
def test_a_list_where_the_table_names_an_object_is_no_field_of_the_target(target: str) -> None:
    # The query reads debugContext.debugData.requestUri; a record with a list there has no such
    # field in Splunk (it would be debugContext{}...) nor after the ingest pipeline's renames.
    event = {"Channel": "okta/okta", "debugContext": [{"debugData": {"requestUri": "/admin"}}],
             "outcome": {"result": "SUCCESS"}}
    result = Checker([target]).check(load(OKTA_RULE), [SampleEvent(event)])
    assert result.reference_matched == [0]
    outcome = result.targets[target]
    assert outcome.equivalent is False and outcome.matched == []


GCP_RULE = """
title: access policy deleted
id: 91111111-2222-3333-4444-555555555573
logsource: {product: gcp, service: gcp.audit}
detection:
    selection:
        data.protoPayload.authorizationInfo.permission: accesscontextmanager.accessPolicies.delete
        data.protoPayload.authorizationInfo.granted: 'true'
    condition: selection
"""

OKTA_TARGET_RULE = """
title: admin console
id: 91111111-2222-3333-4444-555555555574
logsource: {product: okta, service: okta}
detection:
    selection:
        target.displayName: Okta Admin Console
    filter:
        target.type: AppUser
    condition: selection and not filter
"""


def _gcp(*authz: object) -> dict:
    return {"Channel": "gcp/gcp.audit",
            "data": {"protoPayload": {"authorizationInfo": list(authz)}}}


GCP_EVENTS = [
    _gcp({"permission": "accesscontextmanager.accessPolicies.delete", "granted": True}),
    _gcp({"permission": "x.get", "granted": True},
         {"permission": "accesscontextmanager.accessPolicies.delete", "granted": False}),
    _gcp({"permission": "x.get", "granted": False}),
    _gcp({"permission": "x.get"}, {"granted": True, "resource": "r"}, "not an object"),
    _gcp(),
]

OKTA_TARGET_EVENTS = [
    {"Channel": "okta/okta", "target": [{"type": "AppInstance", "displayName": "Okta Admin Console"},
                                        {"type": "User", "alternateId": "ann"}]},
    {"Channel": "okta/okta", "target": [{"type": "AppInstance", "displayName": "Okta Admin Console"},
                                        {"type": "AppUser"}]},
    {"Channel": "okta/okta", "target": [{"type": "User", "displayName": "Ann"}]},
    {"Channel": "okta/okta", "target": []},
]


@pytest.mark.parametrize(("rule", "events", "matched"), [
    # Sigma ties no two tests to one element: a granted get and a refused delete match, as
    # Splunk's multivalue fields (which keep no element) do.
    (GCP_RULE, GCP_EVENTS, [0, 1]),
    (OKTA_TARGET_RULE, OKTA_TARGET_EVENTS, [0]),
])
def test_lists_of_objects_are_proven_on_splunk(rule: str, events: list[dict],
                                               matched: list[int]) -> None:
    result = Checker(["splunk"]).check(load(rule), [SampleEvent(e) for e in events])
    assert result.reference_matched == matched
    outcome = result.targets["splunk"]
    assert outcome.equivalent is True, f"{outcome.reason} {outcome.disagreements}"
    assert outcome.matched == matched


def test_splunk_renders_an_array_leaf_as_one_multivalue_field() -> None:
    renderer = EventRenderer.routed(load_table("splunk-sysmon"))
    rendered = renderer.render_sample(SampleEvent(OKTA_TARGET_EVENTS[1]))
    assert rendered is not None
    assert rendered["target{}.type"] == ["AppInstance", "AppUser"]
    assert rendered["target{}.displayName"] == "Okta Admin Console"


@pytest.mark.parametrize("leaf", [None, {"k": 1}])
def test_an_array_leaf_of_undocumented_extraction_is_not_rendered(leaf: object) -> None:
    renderer = EventRenderer.routed(load_table("splunk-sysmon"))
    event = {"Channel": "okta/okta", "target": [{"type": "User"}, {"type": leaf}]}
    with pytest.raises(ValueError, match="target.type"):
        renderer.render_sample(SampleEvent(event))


@pytest.mark.parametrize(("target", "sigma_matched"), [
    ({"type": "User"}, [0]),                 # an object: Splunk names it target.type
    ([[{"type": "User"}]], [0]),             # a list in the list: target{}{}.type
    ([{"type": ["User"]}], [0]),             # an array leaf: target{}.type{}
    ([{"type": []}], []),
    ("User", []),
])
def test_a_value_off_the_array_depth_the_name_gives_is_no_value_of_it(
        target: object, sigma_matched: list[int]) -> None:
    # target{}.type holds the values of `type` keys of the objects that are elements of the
    # array `target` (json_array_fields); other shapes are other Splunk fields, so the query
    # on target{}.type does not see them, though Sigma's path reads them (object_lists).
    renderer = EventRenderer.routed(load_table("splunk-sysmon"))
    rendered = renderer.render_sample(SampleEvent({"Channel": "okta/okta", "target": target}))
    assert rendered is not None and "target{}.type" not in rendered
    event = {"Channel": "okta/okta", "target": target}
    rule = OKTA_TARGET_RULE.replace("target.displayName: Okta Admin Console", "target.type: User")
    result = Checker(["splunk"]).check(load(rule), [SampleEvent(event)])
    assert result.reference_matched == sigma_matched
    assert result.targets["splunk"].matched == []


def test_only_the_elements_at_the_named_depth_are_values() -> None:
    renderer = EventRenderer.routed(load_table("splunk-sysmon"))
    event = {"Channel": "okta/okta",
             "target": [{"type": "User"}, [{"type": "Group"}], "x", None, {"type": ["App"]}]}
    rendered = renderer.render_sample(SampleEvent(event))
    assert rendered is not None and rendered["target{}.type"] == "User"
    # two array levels (requestParameters.containerDefinitions{}.command{}): the leaf list's
    # elements are the values, a scalar command is requestParameters.containerDefinitions{}.command
    trail = load_table("splunk-cloud")
    cloud = EventRenderer.routed(trail)
    definitions = [{"command": ["sh", "-c"]}, {"command": "curl"}]
    rendered = cloud.render_sample(SampleEvent({
        "Channel": "aws/cloudtrail", "eventSource": "ecs.amazonaws.com",
        "requestParameters": {"containerDefinitions": definitions}}))
    assert rendered is not None
    assert rendered["requestParameters.containerDefinitions{}.command{}"] == ["sh", "-c"]


def test_a_regex_on_an_array_field_reads_every_value() -> None:
    # `| regex` on a multivalue field reads values in a way no Splunk page states; mvfind reads
    # each (eval_mvfind_any_value), and the condition field is a plain name.
    from converter.conversion.convert import Converter

    result = Converter("splunk").convert(load(OKTA_TARGET_RULE))
    assert result.status == "converted", result.reason
    query = "\n".join(map(str, result.queries))
    assert "mvfind('target{}.displayName'" in query
    assert "| regex target{}" not in query and "{}Condition" not in query


def test_a_field_reference_on_an_array_field_is_refused() -> None:
    from converter.conversion.convert import Converter

    rule = OKTA_TARGET_RULE.replace("target.type: AppUser", "target.type|fieldref: eventType")
    result = Converter("splunk").convert(load(rule))
    assert result.status != "converted" and "json_array_fields" in (result.reason or "")
