"""Lowering of SPL eval expressions (``| where`` and ``| eval C=if(...)``) to the shared tree.

Eval semantics differ from the search language (``semantics.py``): comparisons are
case-sensitive, ``AND`` binds tighter than ``OR``, a string literal needs double quotes (an unquoted
or single-quoted name is a field), and a comparison with a missing field is null, which ``where``
drops (leaves get ``Missing.NULL``).

Supported: ``NOT``/``AND``/``OR``, ``=``/``==``/``!=``/``<``/``<=``/``>``/``>=`` between fields,
strings and numbers, ``lower(field)``, ``isnull()``, ``isnotnull()``, ``like()``, ``match()`` and
``isnull(mvfind(field, "pcre"))`` / ``isnotnull(mvfind(...))`` (true exactly when some value of
the field matches, a missing field included as "no value matches"). Anything else raises
``UnsupportedQueryError``.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Protocol

from lark import Token, Tree

from backends.query.ast import (
    Fold,
    And,
    Compare,
    CompareOp,
    Const,
    Equals,
    Exists,
    FieldEquals,
    Glob,
    GlobPart,
    Leaf,
    Missing,
    Node,
    Not,
    Or,
    Regex,
    RegexDialect,
    Wildcard,
)
from backends.query.errors import UnsupportedQueryError

from .semantics import SEMANTICS

#: How lower() folds (semantics eval_lower_folding).
_LOWER_FOLD = SEMANTICS.typed("eval_lower_folding", Fold)


class PipelineState(Protocol):
    """What an eval expression needs from the command lowering around it (``lower.Lowering``):
    named as a protocol so that this module does not import the one that imports it."""

    groups: dict[str, Node]
    conditions: dict[str, Node]

    def field_name(self, name: str) -> str:
        """The event field that a query field name reads."""
        ...

    def fill_leaf(self, leaf: Node) -> Node:
        """``leaf`` rewritten for what a missing field holds after ``tstats``."""
        ...


def unescape(body: str) -> str:
    """The one level of unescaping an SPL string literal gets (``eval_string_unescape``):
    ``\\\\`` -> ``\\``, ``\\"`` -> ``"``, any other backslash stays (so ``"err\\d+"`` reaches
    PCRE as ``err\\d+``, as the Splunk examples write it). Search strings get the same layer."""
    # Left to right, a backslash before \\ or " taking that character: one regex substitution.
    return _UNESCAPE.sub(r"\1", body) if "\\" in body else body


_UNESCAPE = re.compile(r'\\([\\"])')


class WhereLowering:
    """Lowers one parsed eval expression; ``pipeline`` resolves field names and tstats fill."""

    def __init__(self, pipeline: PipelineState, base: int) -> None:
        self.pipeline = pipeline
        self.base = base
        self.missing = SEMANTICS.missing("where_missing")
        self.case_sensitive = bool(SEMANTICS.get("where_case_sensitive"))

    # --- boolean structure -------------------------------------------------------------------

    def lower(self, tree: Tree | Token) -> Node:
        """Lower a boolean eval expression."""
        if not isinstance(tree, Tree):  # a bare token (a name, a literal) is no condition
            raise UnsupportedQueryError(f"eval expression {tree.type!r} used as a condition")
        kind = tree.data
        if kind == "e_or":
            return Or(tuple(self.lower(c) for c in tree.children))
        if kind == "e_and":
            return And(tuple(self.lower(c) for c in tree.children))
        if kind == "e_neg":
            return Not(self.lower(tree.children[0]))
        if kind == "e_compare":
            left, op, right = tree.children
            return self._compare(self._operand(left), str(op), self._operand(right))
        if kind == "e_call":
            return self._predicate(tree)
        raise UnsupportedQueryError(f"eval expression {kind!r} used as a condition")

    @staticmethod
    def definitely(node: Node, want: bool) -> Node:
        """A two-valued node true exactly when ``node`` evaluates to ``want`` (not null).

        ``eval C=if(X, "true", "false")`` stores "true" only when X is true, so a later search on
        ``C`` (including under NOT) must see null as "false".
        """
        if isinstance(node, And):
            parts = tuple(WhereLowering.definitely(c, want) for c in node.children)
            return And(parts) if want else Or(parts)
        if isinstance(node, Or):
            parts = tuple(WhereLowering.definitely(c, want) for c in node.children)
            return Or(parts) if want else And(parts)
        if isinstance(node, Not):
            return WhereLowering.definitely(node.child, not want)
        if isinstance(node, Const):
            return Const(node.value == want)
        if isinstance(node, Exists):
            return node if want else Not(node)
        if isinstance(node, Leaf) and node.missing is Missing.FALSE:
            # Already two-valued (an isnotnull() test, a rex group): never null, so "false" is
            # its plain negation, true on an event lacking the field.
            return node if want else Not(node)
        if isinstance(node, Leaf):
            two_valued = dataclasses.replace(node, missing=Missing.FALSE)
            if want:
                return two_valued
            present: list[Node] = [Exists(field=node.field)]
            if isinstance(node, FieldEquals):
                present.append(Exists(field=node.other))
            return And((*present, Not(two_valued)))
        raise UnsupportedQueryError(f"cannot decide truth of {type(node).__name__}")

    # --- operands ----------------------------------------------------------------------------

    def _operand(self, tree: Tree | Token) -> tuple[str, Any]:
        """Classify an operand: ("field", name), ("lower", name), ("str", s), ("num", n),
        ("group", rex group) or ("mvfind", (field, pattern))."""
        if not isinstance(tree, Tree):  # every operand is a rule of the grammar, never a token
            raise UnsupportedQueryError(f"eval operand {tree.type!r}")
        kind = tree.data
        if kind in ("e_field", "e_qfield"):
            raw = str(tree.children[0])
            name = raw[1:-1] if kind == "e_qfield" else raw
            if name in self.pipeline.groups:
                return "group", name
            if name in self.pipeline.conditions:
                raise UnsupportedQueryError(f"eval/where on the computed field {name!r}")
            return "field", self.pipeline.field_name(name)
        if kind == "e_str":
            assert SEMANTICS.get("eval_string_unescape")
            return "str", unescape(str(tree.children[0])[1:-1])
        if kind == "e_num":
            text = str(tree.children[0])
            return "num", float(text) if "." in text else int(text)
        if kind == "e_call":
            name, args = self._call(tree)
            if name == "lower" and len(args) == 1 and args[0][0] == "field":
                return "lower", args[0][1]
            if name == "mvfind" and len(args) == 2 and args[0][0] == "field" and args[1][0] == "str":
                return "mvfind", (args[0][1], args[1][1])
            raise UnsupportedQueryError(f"eval function {name}() as a value")
        raise UnsupportedQueryError(f"eval operand {kind!r}")

    def _call(self, tree: Tree) -> tuple[str, list[tuple[str, Any]]]:
        name = str(tree.children[0]).lower()
        args = [self._operand(c) for c in tree.children[1:] if c is not None]
        return name, args

    # --- comparisons and predicates ----------------------------------------------------------

    def _leaf(self, leaf: Node) -> Node:
        return self.pipeline.fill_leaf(leaf)

    def _compare(self, left: tuple[str, Any], op: str, right: tuple[str, Any]) -> Node:
        if left[0] in ("str", "num") and right[0] in ("field", "lower"):
            flipped = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(op, op)
            return self._compare(right, flipped, left)
        if left[0] == "mvfind" or right[0] == "mvfind":
            # mvfind() is an index or NULL; only its null test is evaluated.
            raise UnsupportedQueryError("mvfind() compared with a value (use isnotnull(mvfind()))")
        if left[0] not in ("field", "lower"):
            raise UnsupportedQueryError("an eval comparison without a field")
        lowered, name = left[0] == "lower", left[1]
        negate = op == "!="
        if op in ("=", "==", "!="):
            if right[0] in ("field", "lower"):
                if lowered != (right[0] == "lower"):
                    raise UnsupportedQueryError("lower() on only one side of a field comparison")
                node = self._leaf(
                    FieldEquals(
                        field=name,
                        other=right[1],
                        case_sensitive=self.case_sensitive and not lowered,
                        fold=_LOWER_FOLD if lowered else Fold.SIMPLE,
                        missing=self.missing,
                    )
                )
            elif right[0] == "num":
                if lowered:
                    raise UnsupportedQueryError("lower() compared with a number")
                node = self._leaf(
                    Compare(field=name, op=CompareOp.EQ, value=right[1], missing=self.missing)
                )
            else:
                node = self._leaf(
                    Equals(
                        field=name,
                        value=right[1],
                        case_sensitive=self.case_sensitive,
                        lowercase_value=lowered,
                        missing=self.missing,
                    )
                )
            return Not(node) if negate else node
        if lowered or right[0] not in ("str", "num"):
            raise UnsupportedQueryError(f"eval ordering comparison {op} of this form")
        return self._leaf(Compare(field=name, op=CompareOp(op), value=right[1], missing=self.missing))

    def _predicate(self, tree: Tree) -> Node:
        name, args = self._call(tree)
        if name in ("isnull", "isnotnull") and len(args) == 1 and args[0][0] == "group":
            # A rex named group is non-null exactly when its pattern matched.
            matched = self.pipeline.groups[args[0][1]]
            return Not(matched) if name == "isnull" else matched
        if name in ("isnull", "isnotnull") and len(args) == 1 and args[0][0] == "mvfind":
            matched = self._mvfind(*args[0][1])
            return Not(matched) if name == "isnull" else matched
        if name in ("isnull", "isnotnull") and len(args) == 1 and args[0][0] == "field":
            exists = self._leaf(Exists(field=args[0][1]))
            return Not(exists) if name == "isnull" else exists
        if name in ("match", "like") and len(args) == 2 and args[1][0] == "str":
            kind, field = args[0]
            if kind not in ("field", "lower"):
                raise UnsupportedQueryError(f"{name}() on a non-field value")
            lowered = kind == "lower"
            if name == "match":
                return self._leaf(
                    Regex(
                        field=field,
                        pattern=args[1][1],
                        dialect=RegexDialect.PCRE,
                        anchored=bool(SEMANTICS.get("regex_anchored")),
                        case_sensitive=bool(SEMANTICS.get("regex_case_sensitive")),
                        fold=SEMANTICS.typed("regex_caseless_folding", Fold),
                        lowercase_value=lowered,
                        missing=self.missing,
                    )
                )
            return self._leaf(
                Glob(
                    field=field,
                    parts=_like_parts(args[1][1]),
                    case_sensitive=self.case_sensitive,
                    lowercase_value=lowered,
                    missing=self.missing,
                )
            )
        raise UnsupportedQueryError(f"eval function {name}() as a condition")


    def _mvfind(self, field: str, pattern: str) -> Node:
        """``isnotnull(mvfind(field, pattern))``: some value of the field matches the PCRE.

        mvfind returns the index of the first matching value and NULL when none matches
        (``eval_mvfind_any_value``), so the test is two-valued (``eval_isnull_two_valued``): an
        any-value, unanchored regex leaf whose missing-field outcome is plain false.
        """
        assert SEMANTICS.get("eval_mvfind_any_value") and SEMANTICS.get("eval_isnull_two_valued")
        return self._leaf(
            Regex(
                field=field,
                pattern=pattern,
                dialect=RegexDialect.PCRE,
                anchored=bool(SEMANTICS.get("regex_anchored")),
                case_sensitive=bool(SEMANTICS.get("regex_case_sensitive")),
                fold=SEMANTICS.typed("regex_caseless_folding", Fold),
                missing=Missing.FALSE,
            )
        )


#: like()'s two wildcards, any run and one character (semantics where_like_wildcards).
_LIKE_WILDCARDS = SEMANTICS.typed("where_like_wildcards", tuple)


def _like_parts(pattern: str) -> tuple[GlobPart, ...]:
    """A like() pattern as a glob: ``%`` any run, ``_`` one character, no escape documented."""
    many, one = _LIKE_WILDCARDS
    parts: list[GlobPart] = []
    literal: list[str] = []
    for ch in pattern:
        if ch in (many, one):
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(Wildcard.ANY if ch == many else Wildcard.ONE)
        else:
            literal.append(ch)
    if literal:
        parts.append("".join(literal))
    return tuple(parts)
