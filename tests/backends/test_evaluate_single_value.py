"""The shared tree's ``multi_valued`` leaves (ES|QL's single-value operators) and the ``full``
lowercase reading (ES|QL's ``TO_LOWER``, Java ``String.toLowerCase``)."""

from __future__ import annotations

import pytest

from backends.query.ast import (
    Cidr,
    Compare,
    CompareOp,
    Equals,
    Exists,
    FieldEquals,
    Fold,
    Glob,
    Missing,
    MultiValued,
    Not,
    Or,
    Regex,
    RegexDialect,
    Wildcard,
)
from backends.query.errors import FoldingUndecided, VerdictUndecided
from backends.query.evaluate import evaluate
from backends.query.folding import FULL, fold_function

ANY = Wildcard.ANY


def _eq(multi: MultiValued, value: str = "a") -> Equals:
    return Equals(field="f", value=value, missing=Missing.NULL, multi_valued=multi)


def test_any_reading_matches_when_one_value_does() -> None:
    assert evaluate(_eq(MultiValued.ANY), {"f": ["a", "b"]}) is True


@pytest.mark.parametrize("multi", [MultiValued.NULL, MultiValued.NULL_DISTINCT, MultiValued.NULL_EVERY])
def test_several_distinct_values_make_the_test_null_also_under_not(multi: MultiValued) -> None:
    leaf = _eq(multi)
    assert evaluate(leaf, {"f": ["a", "b"]}) is None
    assert evaluate(Not(leaf), {"f": ["a", "b"]}) is None
    # One value, or a list of one, is a single value.
    assert evaluate(leaf, {"f": ["a"]}) is True
    assert evaluate(Not(leaf), {"f": "b"}) is True


def test_duplicates_are_one_value_only_where_the_reading_says_so() -> None:
    event = {"f": ["a", "a"]}
    assert evaluate(_eq(MultiValued.NULL_DISTINCT), event) is True
    assert evaluate(_eq(MultiValued.NULL_EVERY), event) is None
    with pytest.raises(VerdictUndecided):
        evaluate(_eq(MultiValued.NULL), event)


def test_values_over_the_length_limit_do_not_count() -> None:
    leaf = Equals(field="f", value="a", max_length=3, multi_valued=MultiValued.NULL_EVERY)
    assert evaluate(leaf, {"f": ["a", "toolong"]}) is True


def test_other_leaves_read_several_values_as_null() -> None:
    several = {"f": ["a", "b"], "g": "a", "n": [1, 2], "ip": ["10.0.0.1", "10.0.0.2"]}
    glob = Glob(field="f", parts=(ANY,), multi_valued=MultiValued.NULL_DISTINCT)
    compare = Compare(field="n", op=CompareOp.GT, value=0, multi_valued=MultiValued.NULL_EVERY)
    cidr = Cidr(field="ip", network="10.0.0.0/8", multi_valued=MultiValued.NULL_DISTINCT)
    fields = FieldEquals(field="f", other="g", multi_valued=MultiValued.NULL_DISTINCT)
    for leaf in (glob, compare, cidr, fields):
        assert evaluate(leaf, several) is None, leaf
    # IS NOT NULL is no single-value test: several values exist.
    assert evaluate(Exists(field="f", multi_valued=MultiValued.NULL_DISTINCT), several) is True


def test_an_or_of_globs_keeps_each_leafs_reading() -> None:
    # The evaluator merges OR-ed globs of one field; the readings must not be merged with them.
    node = Or((
        Glob(field="f", parts=("a",), multi_valued=MultiValued.NULL_DISTINCT),
        Glob(field="f", parts=("b",)),
    ))
    assert evaluate(node, {"f": ["a", "b"]}) is True
    assert evaluate(node.children[0], {"f": ["a", "b"]}) is None


def test_full_lowercase_is_javas_string_to_lower_case() -> None:
    lower = fold_function(FULL)
    assert lower("\u0130") == "i\u0307"  # two code points, not the simple mapping's "i"
    assert lower("ΟΔΟΣ") == "οδος"  # final sigma by context
    assert lower("KELVIN \u212a") == "kelvin k"


def test_full_reading_is_undecided_where_a_length_changes_a_one_character_wildcard() -> None:
    leaf = Glob(
        field="f", parts=(Wildcard.ONE, "x"), case_sensitive=False,
        fold=Fold.FULL_OR_ASCII_OR_UNICODE,
    )
    assert evaluate(leaf, {"f": "AX"}) is True
    with pytest.raises(FoldingUndecided):
        evaluate(leaf, {"f": "\u0130X"})  # full: 'i̇x' (3 code points); ascii/unicode: 2


def _lowered_regex(pattern: str) -> Regex:
    """``TO_LOWER(f) RLIKE pattern``: the value lowered (full) or the planner's caseless regex."""
    return Regex(
        field="f", pattern=pattern, dialect=RegexDialect.LUCENE, anchored=True,
        case_sensitive=False, fold=Fold.FULL_OR_ASCII_OR_UNICODE,
    )


def test_full_reading_of_a_lucene_regex_lowers_the_value_not_the_pattern() -> None:
    # Under ``full`` the value is lowered first (U+0130 -> 'i' + U+0307, two code points), so
    # 'a.b' no longer matches it, while a caseless regex (ascii/unicode) sees one character.
    leaf = _lowered_regex("a.b")
    assert evaluate(leaf, {"f": "AXB"}) is True
    with pytest.raises(FoldingUndecided):
        evaluate(leaf, {"f": "a\u0130b"})
    # The lowered value holds the combining dot; a caseless regex never does.
    dotted = _lowered_regex("i\u0307")
    with pytest.raises(FoldingUndecided):
        evaluate(dotted, {"f": "\u0130"})
    assert evaluate(_lowered_regex("ab"), {"f": "AB"}) is True
