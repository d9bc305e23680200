"""Field length limits in the equivalence check: which leaves a field's ``ignore_above`` can
decide, and which events show it.

Elasticsearch does not index a keyword value longer than the field's ``ignore_above``: such a
value reads as a missing field. A target whose query tests a limited field is called equivalent
only when some event holds a value over the limit that decides the leaf and the target still
agrees on it; these helpers find those leaves and those events for ``checker.Checker``.
"""

from __future__ import annotations

import re
from typing import Any


def length_limits(tree: Any) -> list[Any]:
    """The leaves whose verdict a field's ``ignore_above`` can change: every leaf on a limited
    keyword field (a base ECS field or a multi-field such as Defend's ``.caseless``) that could
    be true on a value longer than the limit (``limit_matters``).

    Values over such a limit are not indexed, so ``check`` calls the target equivalent only when
    some event has such a value that decides the leaf (``limit_decides``) and the target still
    agrees on it.
    """
    from backends.query.ast import And, Leaf, Not, Or

    found: dict[Any, None] = {}
    todo: list[tuple[Any, bool]] = [(tree, False)]
    while todo:
        node, negated = todo.pop()
        if isinstance(node, (And, Or)):
            todo.extend((child, negated) for child in node.children)
        elif isinstance(node, Not):
            todo.append((node.child, True))
        elif (
            isinstance(node, Leaf) and node.max_length is not None
            and limit_matters(node, negated)
        ):
            found[node] = None
    return list(found)


def limit_matters(leaf: Any, negated: bool = True) -> bool:
    """True when a value longer than ``leaf.max_length`` could change the leaf's verdict.

    A not-indexed value reads as a missing field: that changes an ``exists`` test, a leaf whose
    missing-field outcome is not plain false, and any test a long value can pass (a pattern with
    ``*``, a regex, a range); an exact value no longer than the limit is false either way.

    ``negated``: the leaf may sit under a ``Not``. Where it does not (only ``And`` / ``Or``
    above it), a null leaf decides the query as a false one would (a monotone three-valued
    formula is true with the leaf null exactly when it is true with the leaf false), so a
    null-on-missing leaf then matters only as a plain-false one does.
    """
    from backends.query.ast import Equals, Glob, Missing, Regex, Wildcard
    from backends.query.indexed import utf16_length

    if leaf.max_length is None:
        return False
    if leaf.missing is not Missing.FALSE and negated:
        return True
    if isinstance(leaf, Equals):
        return isinstance(leaf.value, str) and utf16_length(leaf.value) > leaf.max_length
    if isinstance(leaf, Glob):
        fixed = sum(1 if p is Wildcard.ONE else utf16_length(p) for p in leaf.parts
                    if p is not Wildcard.ANY)
        return Wildcard.ANY in leaf.parts or fixed > leaf.max_length
    if isinstance(leaf, Regex):
        return not leaf.anchored or _regex_bound(leaf.pattern) > leaf.max_length
    return True


#: What lets a regex match a string longer than its own text: repetition (``* + {n,}``), Lucene's
#: complement ``~``, any-string ``@`` and intervals ``<1-99>``, PCRE's grapheme cluster ``\\X``
#: and back-references (``\\1``, ``\\g``, ``\\k``).
_UNBOUNDED = re.compile(r"[*+{~@<]|\\[1-9Xgk]")


def _regex_bound(pattern: str) -> float:
    """An upper bound of the length of what an anchored ``pattern`` matches, in UTF-16 units.

    Without the operators of ``_UNBOUNDED`` each atom (a character, an escape, a class, ``.``)
    matches at most once and at most one character (two UTF-16 units) and takes at least one
    character of the pattern, so twice the pattern's length bounds the match.
    """
    return float("inf") if _UNBOUNDED.search(pattern) else 2 * len(pattern)


def limit_decides(leaf: Any, event: Any) -> bool:
    """True when ``event`` has a value of the leaf's field over its limit and indexing it would
    change the leaf's verdict: the event shows what the limit does to the target."""
    from dataclasses import replace

    from backends.query.errors import QueryError
    from backends.query.evaluate import evaluate

    if not exceeds(event, leaf.field, leaf.max_length):
        return False
    try:
        return evaluate(replace(leaf, max_length=None), event) != evaluate(leaf, event)
    except QueryError:
        # The indexed verdict is not known (e.g. FoldingUndecided: the engine's readings fold a
        # case partner in the long value differently), so this event does not show what the
        # limit does; claiming it would let the leaf count as exercised without evidence.
        return False


def exceeds(event: Any, field_name: str, size: int) -> bool:
    """True when a string value of ``field_name`` in ``event`` is longer than ``size`` (UTF-16
    code units, as ignore_above counts)."""
    from backends.query.indexed import utf16_length
    from backends.query.matching import lookup

    return any(isinstance(v, str) and utf16_length(v) > size for v in lookup(event, field_name) or ())
