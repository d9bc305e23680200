"""Generated events in the shape of records with arrays of objects (``converter.generate.arrays``):
the fields of Okta's target[], GCP's authorizationInfo[], Entra's targetResources[] and
CloudTrail's containerDefinitions[] are written into their arrays, one element per field, and the
targets are checked on those events too."""

from __future__ import annotations

import pytest

from converter.checking.checker import Checker
from converter.generate.arrays import RECORD_ARRAYS, array_variant
from converter.generate.generator import generate_events
from converter.rules.load import load_text

AZURE = RECORD_ARRAYS[("azure", "auditlogs")]


def test_each_field_goes_into_an_element_of_its_own_with_nested_arrays() -> None:
    event = {"Channel": "azure/auditlogs", "OperationName": "Update user",
             "TargetResources.ModifiedProperties.DisplayName": "StrongAuthenticationRequirement",
             "TargetResources.ModifiedProperties.NewValue": "State:0"}
    assert array_variant(event, AZURE) == {
        "Channel": "azure/auditlogs", "OperationName": "Update user",
        "TargetResources": [
            {"ModifiedProperties": [{"DisplayName": "StrongAuthenticationRequirement"}]},
            {"ModifiedProperties": [{"NewValue": "State:0"}]},
        ],
    }


def test_a_dotted_array_path_is_nested_and_a_leaf_array_keeps_its_items() -> None:
    gcp = array_variant({"data.protoPayload.authorizationInfo.permission": "p",
                         "data.protoPayload.serviceName": "s"},
                        RECORD_ARRAYS[("gcp", "gcp.audit")])
    assert gcp == {"data.protoPayload.serviceName": "s",
                   "data": {"protoPayload": {"authorizationInfo": [{"permission": "p"}]}}}
    trail = array_variant({"requestParameters.containerDefinitions.command": ["a", "b"]},
                          RECORD_ARRAYS[("aws", "cloudtrail")])
    assert trail == {"requestParameters": {"containerDefinitions": [{"command": ["a", "b"]}]}}


@pytest.mark.parametrize("event", [
    {"eventType": "x"},  # no field under an array
    {"target.displayName": None},  # a null inside an array: extraction undocumented
    {"target.displayName": "a", "target": "spelled twice"},
])
def test_no_variant(event: dict) -> None:
    assert array_variant(event, RECORD_ARRAYS[("okta", "okta")]) is None


RULE = """
title: admin console for someone else
id: 91111111-2222-3333-4444-555555555577
logsource: {product: okta, service: okta}
detection:
    selection:
        eventType: policy.evaluate_sign_on
        target.displayName|contains: Admin Console
        target.type: AppInstance
    filter:
        target.alternateId|endswith: '@example.com'
    condition: selection and not filter
"""


def test_generated_array_events_are_checked_on_splunk() -> None:
    (loaded,) = load_text(RULE, "rule.yml")
    events = generate_events(loaded.rule)
    shaped = [e for e in events if isinstance(e.fields.get("target"), list)]
    assert shaped and any(e.expect for e in shaped) and not all(e.expect for e in shaped)
    result = Checker(["splunk"]).check(loaded, events)
    outcome = result.targets["splunk"]
    assert outcome.equivalent is True, f"{outcome.reason} {outcome.disagreements}"
    positions = {id(e): i for i, e in enumerate(events)}
    assert {positions[id(e)] for e in shaped if e.expect} <= set(outcome.matched)
