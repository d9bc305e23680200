"""One-line explanations of a query's verdict on an event, naming the leaf that decided it
(``explain``), for the checker's and the backtest's disagreement reports.

A part of the query may have no verdict of its own (``VerdictUndecided``: the engine's readings
of the event disagree) where the whole has one (an ``or`` with a true operand): it is explained
as "undecided", never re-raised, since the report is about a verdict the query did reach."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Union

from . import ast
from .errors import VerdictUndecided
from .evaluate import evaluate
from .indexed import event_values, indexed_values
from .matching import lookup


class _Undecided:
    """A part's outcome when the engine's readings of the event disagree (``VerdictUndecided``)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


Outcome = Union[bool, None, _Undecided]


def _outcome(node: ast.Node, event: Mapping[str, Any]) -> Outcome:
    """``evaluate``, with an undecided part's reason kept instead of raised."""
    try:
        return evaluate(node, event)
    except VerdictUndecided as exc:
        return _Undecided(" ".join(str(exc).split()))


def _word(result: Outcome) -> str:
    if isinstance(result, _Undecided):
        return "undecided"
    return "unknown" if result is None else str(result).lower()


def _show(values: list[Any]) -> str:
    text = repr(values[0]) if len(values) == 1 else repr(values)
    return text if len(text) <= 120 else text[:117] + "..."


def _field_detail(event: Mapping[str, Any], field: str, max_length: int | None) -> str:
    """How a field looks on this event: its indexed values, or why it counts as missing."""
    raw = lookup(event, field)
    if raw is None:
        return f"{field} missing"
    kept = indexed_values(event, field, max_length)
    if kept is None:
        return f"{field} is {_show(raw)}, longer than {max_length} characters (not indexed)"
    return f"{field} is {_show(kept)}"


def _relevance(node: ast.Node, event: Mapping[str, Any]) -> int:
    """How telling a child is when none decided alone: a test on a field the event has (it
    nearly matched) beats one on a missing field, a case-sensitive test beats an insensitive
    one (case is the classic cross-language difference), and a test on a value the index drops
    (over the field's ``ignore_above``) beats them all: it is what a target's verdict turns on
    where the value decides the query from under a NOT."""
    if isinstance(node, (ast.And, ast.Or)):
        return max((_relevance(c, event) for c in node.children), default=0)
    if isinstance(node, ast.Not):
        return _relevance(node.child, event)
    if isinstance(node, ast.Leaf):
        if event_values(event, node.field) is None:
            return 0
        if node.max_length is not None and indexed_values(event, node.field,
                                                          node.max_length) is None:
            return 3
        return 2 if getattr(node, "case_sensitive", False) else 1
    return 0


def explain(node: ast.Node, event: Mapping[str, Any]) -> str:
    """A one-line reason for ``node``'s verdict on ``event``, naming the deciding leaf.

    Example: ``process.name == 'cmd.exe' (case-sensitive) was false: process.name is 'CMD.EXE'``.
    """
    result = _outcome(node, event)
    if isinstance(node, (ast.And, ast.Or)):
        kind = "and" if isinstance(node, ast.And) else "or"
        decisive = False if kind == "and" else True
        results = [(c, _outcome(c, event)) for c in node.children]
        if result is decisive:  # any one such child decides alone
            return explain(next(c for c, r in results if r is decisive), event)
        if isinstance(result, _Undecided):  # no child decides, an undecided one keeps it open
            return explain(next(c for c, r in results if isinstance(r, _Undecided)), event)
        if result is None:
            # Every unknown child keeps the verdict unknown; the telling one is on a field the
            # event has (one on a missing field hides why a target reading that field differs).
            unknown = [c for c, r in results if r is None]
            return explain(max(unknown, key=lambda c: _relevance(c, event)), event)
        if not results:
            return f"empty {kind} was {_word(result)}"
        quantifier = "every condition" if kind == "and" else "no alternative"
        closest = max((c for c, _ in results), key=lambda c: _relevance(c, event))
        return (
            f"{kind} of {len(results)} was {_word(result)}: {quantifier} was true; "
            f"closest: {explain(closest, event)}"
        )
    if isinstance(node, ast.Not):
        return f"not(...) was {_word(result)} because {explain(node.child, event)}"
    if isinstance(node, ast.Const):
        return f"constant {_word(result)}"
    head = f"{ast.describe(node)} was {_word(result)}"
    if isinstance(result, _Undecided):
        return f"{head}: {result.reason}"
    if isinstance(node, ast.Keyword):
        scope = ", ".join(node.fields) if node.fields else "any field"
        return f"{head}: searched {scope}"
    if isinstance(node, ast.SemiJoin):
        related = event.get(node.rows)
        count = len(related) if isinstance(related, list) else int(isinstance(related, Mapping))
        shown = _show(related) if isinstance(related, list) and related else "none"
        return f"{head}: {_field_detail(event, node.field, None)}; {count} {node.rows} rows: {shown}"
    if isinstance(node, ast.FieldEquals):
        left = _field_detail(event, node.field, node.max_length)
        right = _field_detail(event, node.other, node.max_length)
        return f"{head}: {left}; {right}"
    if isinstance(node, ast.Leaf):
        return f"{head}: {_field_detail(event, node.field, node.max_length)}"
    return head
