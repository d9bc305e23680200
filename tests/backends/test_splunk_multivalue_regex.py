"""Splunk's ``| regex`` and ``rex`` on a multivalue field: which values they read is not
documented (semantics ``regex_multivalue``, ``rex_multivalue``), so the interpreter decides an
event with several values only when every value gives the same verdict, and the emitter tests a
field a mapping entry declares multivalue (Zeek's ``answers``) with ``mvfind()``."""

from __future__ import annotations

import pytest

from backends.query.errors import VerdictUndecided
from backends.query.evaluate import evaluate
from backends.splunk.parser import parse
from converter.conversion.convert import Converter
from converter.rules.load import load_text

QUERY = 'sourcetype="bro:dns:json"\n| regex answers="^10\\\\.0\\\\.0\\\\.1$"'


def test_regex_on_one_value_or_agreeing_values_is_decided() -> None:
    tree = parse(QUERY)
    base = {"sourcetype": "bro:dns:json"}
    assert evaluate(tree, {**base, "answers": "10.0.0.1"}) is True
    assert evaluate(tree, {**base, "answers": ["10.0.0.1", "10.0.0.1"]}) is True
    assert evaluate(tree, {**base, "answers": ["10.0.0.2", "10.9.0.1"]}) is False


def test_regex_on_values_judged_differently_is_undecided() -> None:
    # Any-of would say True, first-only True, last-only False: the reading is not documented.
    with pytest.raises(VerdictUndecided, match="not documented"):
        evaluate(parse(QUERY), {"sourcetype": "bro:dns:json", "answers": ["10.0.0.1", "8.8.8.8"]})


def test_a_declared_multivalue_field_is_tested_with_mvfind() -> None:
    rule = load_text(
        "title: t\nid: 81111111-2222-3333-4444-bbbbbbbbbbbb\n"
        "logsource: {product: zeek, service: dns}\n"
        "detection:\n  sel:\n    query|endswith: '.example'\n"
        "    answers|re: '^10\\.0\\.[0-9]+\\.1$'\n  condition: sel\n", "r.yml")[0]
    query = "\n".join(Converter("splunk").convert(rule).queries)
    assert "mvfind('answers'" in query
    assert "| regex answers" not in query



def test_a_verdict_reached_past_an_undecided_part_is_explained() -> None:
    # The or is true whatever the regex reads; the disagreement report explains it without
    # re-raising the regex's VerdictUndecided (which made `check` report an "internal error"
    # and drop the rule: splunk-cim, category proxy, `c-useragent|windash: qu?m` and a `not`).
    from backends.query.ast import Equals, MultiValued, Not, Or, Regex
    from backends.query.explain import explain

    regex = Regex(field="answers", pattern="^10\\.0\\.0\\.1$", multi_valued=MultiValued.UNDECIDED)
    event = {"uid": "C1", "answers": ["10.0.0.1", "8.8.8.8"]}
    with pytest.raises(VerdictUndecided):
        evaluate(regex, event)
    tree = Or((regex, Equals(field="uid", value="C1")))
    assert evaluate(tree, event) is True
    assert explain(tree, event) == "uid == 'C1' (case-sensitive) was true: uid is 'C1'"
    assert explain(Not(tree), event).startswith("not(...) was false because uid == 'C1'")
    # alone, the undecided part says so, with the reason
    assert explain(regex, event).startswith("answers regex ")
    assert "was undecided: " in explain(regex, event) and "not documented" in explain(regex, event)
