"""Partial evaluation of a pySigma condition tree before SPL is emitted, and the base-search filter.

``simplify``: the mapping pipelines decide a test on a field that a kind of source event never
carries as a constant, written as ``X exists and X not exists`` (false) or ``X exists or X not
exists`` (true) (``converter/mapping/transformations.py``). Emitted as is, every such constant costs a
``(X=* NOT X=*)`` term. Here constants fold away: a false OR operand and a true AND operand are
dropped, a false AND operand makes the AND false, a true OR operand makes the OR true, and NOT
flips a constant. The same contradiction or tautology written by a rule folds the same way (it is
one: an event either has a field or not). Only constants are removed, so the meaning is kept on
every event.

``base_filter``: a condition implied by the whole tree that uses only plain search terms
(``field=value`` without a regex, a field reference or an exact-match test), so that it can run
as the base search before any ``| eval`` / ``| regex``: an AND keeps the filters of its
operands, an OR is the OR of its operands' filters (true if one has none), and a NOT or an
other test contributes nothing (true). The full condition is still evaluated after the pipes,
so the filter only narrows which events reach them.

``where_split``: for ``tstats``, the conjuncts of the whole condition (NOT pushed through OR by
De Morgan) that are made of plain search terms, null, exists and comparison tests only, apart
from the rest. Those run in the tstats WHERE clause, on the data model's own fields, where a
missing field is still missing; only the rest runs after tstats, where it reads as the
``fillnull_value`` string. The two parts AND-ed together mean the original condition.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
)
from sigma.types import (
    SigmaCasedString,
    SigmaCompareExpression,
    SigmaExists,
    SigmaNull,
    SigmaNumber,
    SigmaString,
)

#: OR nesting below which a base filter stops (true): keeps the base search short.
MAX_FILTER_OR_DEPTH = 2


def _exists_test(node: Any) -> tuple[str, bool] | None:
    if isinstance(node, ConditionFieldEqualsValueExpression) and isinstance(node.value, SigmaExists):
        return node.field, node.value.exists
    return None


def _replace(node: ConditionItem, args: list[Any]) -> Any:
    """``node`` with ``args`` (in place); one argument stands for the node itself."""
    if len(args) == 1:
        args[0].parent = node.parent
        return args[0]
    node.args = args
    for arg in args:
        arg.parent = node
    return node


def simplify(node: Any) -> Any:
    """The tree with its constants folded: a node, or ``True`` / ``False`` for a constant."""
    if isinstance(node, ConditionNOT):
        inner = simplify(node.args[0])
        if isinstance(inner, bool):
            return not inner
        node.args = [inner]
        inner.parent = node
        return node
    if not isinstance(node, (ConditionAND, ConditionOR)):
        return node
    is_and = isinstance(node, ConditionAND)
    absorbing = not is_and  # False absorbs an AND, True an OR
    args: list[Any] = []
    for arg in node.args:
        value = simplify(arg)
        if isinstance(value, bool):
            if value == absorbing:
                return absorbing
            continue  # the neutral constant
        args.append(value)
    if not args:
        return is_and  # an AND of nothing is true, an OR of nothing false
    # `X exists` with `X not exists`: false under AND, true under OR.
    seen: dict[str, set[bool]] = {}
    for arg in args:
        test = _exists_test(arg)
        if test is not None:
            seen.setdefault(test[0], set()).add(test[1])
    if any(len(polarities) == 2 for polarities in seen.values()):
        return absorbing
    return _replace(node, args)


def plain_term(node: Any, exact: Callable[[SigmaString], bool]) -> bool:
    """A leaf the search command evaluates as Sigma does, with no pipe: ``field=value``.

    ``exact(value)`` says whether a string needs the exact (regex) treatment.
    """
    if not isinstance(node, ConditionFieldEqualsValueExpression) or not node.field:
        return False
    value = node.value
    if isinstance(value, SigmaNumber):
        return True
    if isinstance(value, SigmaExists):
        return value.exists
    return (
        type(value) is SigmaString
        and not isinstance(value, SigmaCasedString)
        and not value.contains_placeholder()
        and not exact(value)
    )


def base_filter(node: Any, exact: Callable[[SigmaString], bool], depth: int = 0) -> Any:
    """A new tree implied by ``node`` made of copies of its plain terms, or None (true)."""
    if isinstance(node, ConditionAND):
        parts = [p for p in (base_filter(a, exact, depth) for a in node.args) if p is not None]
        return _build(ConditionAND, parts)
    if isinstance(node, ConditionOR):
        if depth >= MAX_FILTER_OR_DEPTH:
            return None
        parts = [base_filter(a, exact, depth + 1) for a in node.args]
        if any(p is None for p in parts):
            return None
        return _build(ConditionOR, parts)
    if plain_term(node, exact):
        leaf = copy.copy(node)  # the original keeps its parent in the converted tree
        leaf.parent = None
        return leaf
    return None


def _build(kind: type, parts: list[Any]) -> Any:
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    out = kind(args=parts)
    for part in parts:
        part.parent = out
    return out


def _conjuncts(node: Any) -> list[Any]:
    """``node`` as a list of AND operands: ANDs flattened, ``not not x`` is ``x``, and
    ``not (a or b)`` is ``not a`` and ``not b``. New NOT nodes are made; no node is changed."""
    if isinstance(node, ConditionAND):
        return [part for arg in node.args for part in _conjuncts(arg)]
    if isinstance(node, ConditionNOT):
        inner = node.args[0]
        if isinstance(inner, ConditionNOT):
            return _conjuncts(inner.args[0])
        if isinstance(inner, ConditionOR):
            return [part for arg in inner.args for part in _conjuncts(ConditionNOT(args=[arg]))]
        test = _exists_test(inner)
        if test is None and isinstance(inner, ConditionFieldEqualsValueExpression):
            test = (inner.field, False) if isinstance(inner.value, SigmaNull) else None
        if test is not None:  # not (x is null) is x exists: `x=*`, not `NOT NOT x=*`
            assert isinstance(inner, ConditionFieldEqualsValueExpression)  # as both tests say
            flipped = copy.copy(inner)
            flipped.value = SigmaExists(not test[1])
            return [flipped]
    return [node]


def where_term(node: Any, exact: Callable[[SigmaString], bool]) -> bool:
    """A leaf the search command (and so tstats WHERE) evaluates as Sigma does, a missing
    field included: a plain term, or a null, exists or numeric comparison test."""
    if plain_term(node, exact):
        return True
    return (
        isinstance(node, ConditionFieldEqualsValueExpression)
        and bool(node.field)
        and isinstance(node.value, (SigmaNull, SigmaExists, SigmaCompareExpression))
    )


def _where_only(node: Any, exact: Callable[[SigmaString], bool]) -> bool:
    if isinstance(node, (ConditionAND, ConditionOR, ConditionNOT)):
        return all(_where_only(arg, exact) for arg in node.args)
    return where_term(node, exact)


def _reparent(node: Any, parent: Any) -> Any:
    """Set the parent links of a tree built from new and reused nodes."""
    node.parent = parent
    if isinstance(node, (ConditionAND, ConditionOR, ConditionNOT)):
        for arg in node.args:
            _reparent(arg, node)
    return node


def where_split(node: Any, exact: Callable[[SigmaString], bool]) -> tuple[Any, Any]:
    """(WHERE part, rest) of ``node``, either None when it has no conjunct of that kind.

    The WHERE part holds every conjunct made only of ``where_term`` leaves; the rest the others.
    When both exist they are new trees; otherwise the one part is ``node`` itself, unchanged.
    """
    parts = _conjuncts(node)
    where = [p for p in parts if _where_only(p, exact)]
    rest = [p for p in parts if not _where_only(p, exact)]
    if not rest:
        return node, None
    if not where:
        return None, node
    parent = getattr(node, "parent", None)
    return (
        _reparent(_build_new(ConditionAND, where), parent),
        _reparent(_build_new(ConditionAND, rest), parent),
    )


def _build_new(kind: type, parts: list[Any]) -> Any:
    return parts[0] if len(parts) == 1 else kind(args=parts)
