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
