"""Splunk's ``| eval <stem>Condition`` fields (regex and field-reference tests in OR/NOT
contexts) are unique per field: the stock stem is the last dotted part, so two fields ending
alike (``userIdentity.type``, ``userIdentity.sessionContext.sessionIssuer.type``) shared one
eval field, the second eval overwrote the first and the search read one test for both."""

from __future__ import annotations

import re

import pytest

from backends.splunk.backend_deferred import all_condition_fields, condition_stems
from converter.checking.checker import Checker
from converter.generate.generator import generate_events
from helpers import load_one, to_query

RULE = """
title: two regex tests whose fields end alike
id: 0b6f3a52-3f0e-4a57-9a53-6b1b0e1f0a11
logsource: {product: aws, service: cloudtrail}
detection:
    a:
        userIdentity.type|re: '^Root$'
    b:
        userIdentity.sessionContext.sessionIssuer.type|re: '^Role$'
    sel:
        eventName: 'RunInstances'
    condition: sel and (not a or b)
"""


def test_fields_ending_alike_get_their_own_condition_field() -> None:
    query = to_query("splunk", RULE)
    written = re.findall(r"eval (\w+)=", query)
    assert len(written) == 2 and len(set(written)) == 2, query
    for name in written:
        assert f'{name}="true"' in query


@pytest.mark.parametrize(
    "condition",
    ["sel and (not a or b)", "sel and (not a or sel) and not b"],  # the second: a conjunct
)
def test_the_rule_is_proven_on_generated_events(condition: str) -> None:
    """Also where the search keeps a conjunct on the second condition field, which must not be
    moved before the eval that writes it (the hoisting reads the same unique names)."""
    rule = load_one(RULE.replace("sel and (not a or b)", condition))
    outcome = Checker(["splunk"]).check(rule, generate_events(rule.rule)).targets["splunk"]
    assert outcome.equivalent is True, (outcome.reason, outcome.query)


def test_stems_are_unique_and_stable() -> None:
    fields = ["a.x", "b.x", "x", "t{}.x", "x_2", "y"]
    stems = condition_stems(fields)
    assert len(set(stems.values())) == len(fields)
    assert stems["a.x"] == "x" and stems["y"] == "y"
    # a field's stem depends only on the fields before it
    for cut in range(1, len(fields)):
        assert condition_stems(fields[:cut]) == {f: stems[f] for f in fields[:cut]}
    names = all_condition_fields({"a.x": 2, "b.x": 1})
    assert names == {"xCondition", "xCondition2", "x_2Condition"}
