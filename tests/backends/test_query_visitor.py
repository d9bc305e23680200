"""The one walk over the shared query tree (``backends.query.ast.Visitor``, ``walk``)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from backends.query.ast import (
    And,
    Const,
    Equals,
    Exists,
    Leaf,
    Node,
    Not,
    Or,
    Visitor,
    children,
    describe,
    walk,
)


class _Kinds(Visitor[str]):
    def visit_and(self, node: And) -> str:
        return "and[" + ",".join(self.visit(c) for c in node.children) + "]"

    def visit_leaf(self, node: Leaf) -> str:
        return f"leaf:{node.field}"

    def visit_equals(self, node: Equals) -> str:
        return f"eq:{node.field}"


def test_dispatch_follows_the_node_class_mro() -> None:
    @dataclass(frozen=True)
    class CasedEquals(Equals):
        pass

    tree = And((Equals(field="a", value="x"), CasedEquals(field="b", value="y"), Exists(field="c")))
    # CasedEquals reuses visit_equals; Exists has no method of its own and gets visit_leaf.
    assert _Kinds().visit(tree) == "and[eq:a,eq:b,leaf:c]"


def test_a_node_without_a_method_is_an_error() -> None:
    with pytest.raises(TypeError, match="_Kinds has no method for Const"):
        _Kinds().visit(Const(True))


def test_walk_is_preorder_and_iterative() -> None:
    a, b, c = Exists(field="a"), Exists(field="b"), Exists(field="c")
    tree = Or((And((a, Not(b))), c))
    assert list(walk(tree)) == [tree, tree.children[0], a, Not(b), b, c]
    assert children(a) == ()
    deep: Node = a
    for _ in range(5000):  # deeper than Python's recursion limit
        deep = Not(deep)
    assert sum(1 for _ in walk(deep)) == 5001


def test_describe_is_a_visitor_over_every_node_kind() -> None:
    tree = Not(Or((Equals(field="f", value="v", case_sensitive=True), Exists(field="g"), Const(False))))
    assert describe(tree) == "not or(f == 'v' (case-sensitive), g exists, false)"
