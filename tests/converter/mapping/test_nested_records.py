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
    # a list on the way is no object: the field is missing for the reference and the renderer
    {"Channel": "okta/okta", "debugContext": [{"debugData": {"requestUri": "/admin"}}],
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
