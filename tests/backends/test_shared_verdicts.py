"""A leaf's verdict shared between queries evaluated on one ``indexed.Event`` view
(``evaluate._shared``): the backtest evaluates every target of a schema on one view, and the
languages often lower a Sigma test to the same leaf. Sharing must never hand one leaf the verdict
of another that differs in semantics, however alike the two look."""

from __future__ import annotations

from typing import Any

import pytest

from backends.query import ast
from backends.query.evaluate import compile_query
from backends.query.indexed import Event

ANY, ONE = ast.Wildcard.ANY, ast.Wildcard.ONE
KELVIN = "\u212aelvin"  # KELVIN SIGN: "k" under Unicode simple case folding, not under ASCII

#: (name, leaf a, leaf b, event): a and b differ in one thing that changes the verdict on event.
PAIRS: list[tuple[str, ast.Node, ast.Node, dict[str, Any]]] = [
    ("folding", ast.Equals("f", value="kelvin", case_sensitive=False, fold=ast.Fold.ASCII),
     ast.Equals("f", value="kelvin", case_sensitive=False, fold=ast.Fold.UNICODE), {"f": KELVIN}),
    ("case", ast.Equals("f", value="kelvin", case_sensitive=True),
     ast.Equals("f", value="kelvin", case_sensitive=False), {"f": "KELVIN"}),
    ("lowercase normalizer", ast.Glob("f", parts=("abc", ANY), case_sensitive=True),
     ast.Glob("f", parts=("abc", ANY), case_sensitive=True, lowercase_value=True),
     {"f": "ABCd"}),
    ("multi-valued reading", ast.Equals("f", value="a"),
     ast.Equals("f", value="a", multi_valued=ast.MultiValued.NULL_EVERY), {"f": ["a", "b"]}),
    ("length limit", ast.Equals("f", value="x" * 10),
     ast.Equals("f", value="x" * 10, max_length=5), {"f": "x" * 10}),
    ("whole value or substring", ast.Glob("f", parts=("abc",)),
     ast.Glob("f", parts=(ANY, "abc", ANY)), {"f": "xabcx"}),
    ("one character or any", ast.Glob("f", parts=("a", ONE, "c")),
     ast.Glob("f", parts=("a", ANY, "c")), {"f": "abbc"}),
    ("missing reading", ast.Not(ast.Equals("g", value="a")),
     ast.Not(ast.Equals("g", value="a", missing=ast.Missing.NULL)), {"f": "a"}),
    ("True is not 1", ast.Equals("f", value=True), ast.Equals("f", value=1), {"f": 1}),
    ("regex anchoring", ast.Regex("f", pattern="b", dialect=ast.RegexDialect.PCRE),
     ast.Regex("f", pattern="b", dialect=ast.RegexDialect.PCRE, anchored=True), {"f": "abc"}),
    ("field", ast.Equals("f", value="a"), ast.Equals("g", value="a"), {"f": "a", "g": "b"}),
]


def _alone(node: ast.Node, event: dict[str, Any]) -> Any:
    """The verdict of ``node`` on a view of ``event`` of its own (nothing shared)."""
    return compile_query(node)(Event(event))


@pytest.mark.parametrize("name, a, b, event", PAIRS, ids=[p[0] for p in PAIRS])
def test_leaves_that_differ_never_share_a_verdict(name: str, a: ast.Node, b: ast.Node,
                                                  event: dict[str, Any]) -> None:
    alone_a, alone_b = _alone(a, event), _alone(b, event)
    assert alone_a != alone_b, f"{name}: the pair should decide the event differently"
    for first, second in ((a, b), (b, a)):
        view = Event(event)
        compile_query(first)(view)
        assert compile_query(second)(view) == _alone(second, event)
        assert compile_query(first)(view) == _alone(first, event)
    # Both in one query, evaluated on one view after each alone on it.
    view = Event(event)
    compile_query(a)(view)
    compile_query(b)(view)
    both = compile_query(ast.And((a, ast.Not(b))))(view)
    assert both == compile_query(ast.And((a, ast.Not(b))))(Event(event))


def test_an_identical_leaf_is_evaluated_once_per_view() -> None:
    # Equal leaves built apart, as two languages' parsers build them.
    first = ast.Glob("process.name", parts=(ANY, "whoami.exe"), case_sensitive=False)
    again = ast.Glob("process.name", parts=(ANY, "whoami.exe"), case_sensitive=False)
    other = ast.Equals("process.name", value="cmd.exe")
    view = Event({"process": {"name": "WHOAMI.EXE"}})
    assert compile_query(first)(view) is True
    assert len(view.verdicts) == 1
    assert compile_query(ast.Or((other, again)))(view) is True
    assert len(view.verdicts) == 2  # `again` found first's verdict; only `other` was added
    # A plain mapping shares nothing and gives the same verdicts.
    assert compile_query(ast.Or((again, other)))({"process": {"name": "WHOAMI.EXE"}}) is True
