"""An OR's operands compiled together (``compiler.Compiler._or_children``): nested ORs spliced
into their parent, and the leaves of one field with the same flags merged into one test (Globs,
string Equals, and Regexes of every dialect that are string tests, ``regex_leaf.regex_form``).

The merged predicate must give what the OR of the leaves gives, each evaluated on its own, in
three-valued logic: these tests build ORs of such leaves (nested, on two fields, with either
missing-field outcome, every regex dialect, patterns that are and are not string tests) and
compare on generated events (missing fields, several values, non-string values).
"""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from backends.query import ast
from backends.query.evaluate import compile_once, compile_query, evaluate
from backends.query.indexed import Event
from backends.query.regex_leaf import regex_form

_R = ast.RegexDialect
#: (dialect, pattern, anchored): case-class strings as the emitters write them, and patterns
#: that are no string test (a repeat, an alternation).
_PATTERNS = [
    (_R.LUCENE, ".*[aA][bB].*", True), (_R.LUCENE, "[aA][bB]", True), (_R.LUCENE, "ab.*", True),
    (_R.LUCENE, "a+b", True), (_R.LUCENE, ".*\u0130.*", True),
    (_R.PCRE, "(?s)^.*[aA](?:b|B)\\z", False), (_R.PCRE, "^ab", False), (_R.PCRE, "a|bc", False),
    (_R.PCRE, "(?s)^[aA][bB]\\z", True), (_R.PCRE, "b$", False),
    (_R.RE2, "(?s)^[Aa][Bb]$", False), (_R.RE2, "(?s)^.*[Bb]$", False), (_R.RE2, "ab", True),
    (_R.RE2, "[ab]+", False), (_R.RE2, "(?s)^.*[Aa\u0130].*$", False),
]
_VALUES = st.sampled_from(["ab", "AB", "aB\n", "xaby", "b", "a", "", "\u0130b", "ba", 7, None])


@st.composite
def _leaf(draw: st.DrawFn) -> ast.Node:
    field = draw(st.sampled_from(["f", "g"]))
    missing = draw(st.sampled_from([ast.Missing.FALSE, ast.Missing.NULL]))
    kind = draw(st.integers(0, 3))
    if kind == 0:
        dialect, pattern, anchored = draw(st.sampled_from(_PATTERNS))
        return ast.Regex(field=field, missing=missing, pattern=pattern, dialect=dialect,
                         anchored=anchored, lowercase_value=draw(st.booleans()))
    if kind == 1:
        parts = draw(st.sampled_from([("ab",), (ast.Wildcard.ANY, "b"), ("a", ast.Wildcard.ANY)]))
        return ast.Glob(field=field, missing=missing, parts=parts, case_sensitive=draw(st.booleans()))
    if kind == 2:
        return ast.Equals(field=field, missing=missing, value=draw(st.sampled_from(["ab", "b", 7])))
    return ast.Exists(field=field)


_TREES = st.recursive(_leaf(), lambda inner: st.lists(inner, min_size=1, max_size=5).map(
    lambda children: ast.Or(tuple(children))), max_leaves=12)


def _three_valued_or(verdicts: list[bool | None]) -> bool | None:
    if True in verdicts:
        return True
    return None if None in verdicts else False


def _leaves(node: ast.Node) -> list[ast.Node]:
    if isinstance(node, ast.Or):
        return [leaf for child in node.children for leaf in _leaves(child)]
    return [node]


@settings(max_examples=600, deadline=None)
@given(tree=_TREES, f=st.one_of(_VALUES, st.lists(_VALUES, max_size=3)),
       g=st.one_of(_VALUES, st.lists(_VALUES, max_size=3)))
def test_merged_or_equals_the_or_of_its_leaves(tree: ast.Node, f: object, g: object) -> None:
    event = {"f": f, "g": g}
    expected = _three_valued_or([evaluate(leaf, event) for leaf in _leaves(tree)])
    assert evaluate(tree, event) == expected
    assert compile_once(tree)(Event(event)) == expected
    assert compile_query(tree)(event) == expected


def test_regexes_that_merge() -> None:
    """Which regex leaves take the merged string test: case classes in each dialect."""
    merged = [ast.Regex(field="f", pattern=p, dialect=d, anchored=a) for d, p, a in _PATTERNS
              if p not in ("a+b", "a|bc", "b$", "[ab]+")]
    for leaf in merged:
        assert regex_form(leaf) is not None, leaf
    for dialect, pattern in ((_R.LUCENE, "a+b"), (_R.PCRE, "a|bc"), (_R.PCRE, "b$"),
                             (_R.RE2, "[ab]+"), (_R.RE2, "(?i)ab")):
        assert regex_form(ast.Regex(field="f", pattern=pattern, dialect=dialect)) is None
    # A caseless PCRE whose folding has several candidate readings can be undecided: no merge.
    caseless = ast.Regex(field="f", pattern="ab", dialect=_R.PCRE, case_sensitive=False,
                         fold=ast.Fold.ASCII_OR_SIMPLE_OR_UNICODE_OR_UPPER)
    assert regex_form(caseless) is None


def test_leaves_merge_only_with_the_same_missing_outcome() -> None:
    """A missing field makes a ``Missing.NULL`` leaf unknown and a ``Missing.FALSE`` one false:
    their OR is unknown, in either order (merging them would take one leaf's outcome)."""
    null, false = (ast.Regex(field="f", pattern="(?s)^[Aa]b$", dialect=_R.RE2, missing=m)
                   for m in (ast.Missing.NULL, ast.Missing.FALSE))
    for tree in (ast.Or((null, false)), ast.Or((false, ast.Or((null,))))):
        for event in ({}, {"g": "ab"}, {"f": None}):
            assert evaluate(tree, event) is None
            assert compile_once(tree)(Event(event)) is None
        assert evaluate(tree, {"f": "Ab"}) is True
        assert evaluate(tree, {"f": "ab\n"}) is False
