"""Field length limits in the equivalence check: which leaves a field's ``ignore_above`` can
decide, and which events show it.

Elasticsearch does not index a keyword value longer than the field's ``ignore_above``: such a
value reads as a missing field. A target whose query tests a limited field is called equivalent
only when some event holds a value over the limit that changes the whole query's verdict and the
target still agrees on it; these helpers find those leaves and those events for
``checker.Checker``.
"""

from __future__ import annotations

import re
from typing import Any


def length_limits(tree: Any) -> list[Any]:
    """The leaves whose verdict a field's ``ignore_above`` can change: every leaf on a limited
    keyword field (a base ECS field or a multi-field such as Defend's ``.caseless``) that could
    be true on a value longer than the limit (``limit_matters``).

    Values over such a limit are not indexed, so ``check`` calls the target equivalent only when
    some event has such a value that changes the query's verdict (``limit_shows``) and the target
    still agrees on it.
    """
    from backends.query.ast import And, Leaf, Not, Or

    found: dict[Any, None] = {}
    todo: list[tuple[Any, bool]] = [(tree, False)]
    while todo:
        node, negated = todo.pop()
        if isinstance(node, (And, Or)):
            paired = _paired_with_copy(node)
            todo.extend((child, negated) for child in node.children if child not in paired)
        elif isinstance(node, Not):
            todo.append((node.child, True))
        elif (
            isinstance(node, Leaf) and node.max_length is not None
            and limit_matters(node, negated)
        ):
            found[node] = None
    return list(found)


def _paired_with_copy(node: Any) -> set[Any]:
    """The children of ``node`` that test a limited field's presence together with its copy.

    With ``sigport mapping``'s template, ``|exists`` is ``exists(F) or exists(copy of F)`` and
    null is ``not exists(F) and not exists(copy of F)``, the copy (``sigport.caseless.F``, no
    ``ignore_above``) being written by the template's ingest pipeline for every string value of
    F: a value too long for F's index is still present in the copy, so F's limit cannot change
    the pair's verdict. Only these two shapes count, so a query that combines them otherwise (an
    ``and`` of the two tests) is still held to its limit.
    """
    from backends.query.ast import And, Exists, Not, Or
    from backends.query.ingest import COPY_PREFIX

    def presence(child: Any) -> Any:
        inner = child.child if isinstance(node, And) and isinstance(child, Not) else child
        return inner if isinstance(node, (And, Or)) and isinstance(inner, Exists) else None

    if isinstance(node, And) and not all(
        isinstance(c, Not) for c in node.children if presence(c) is not None
    ):
        return set()
    tests = {c: presence(c) for c in node.children if presence(c) is not None}
    if isinstance(node, Or):
        tests = {c: t for c, t in tests.items() if not isinstance(c, Not)}
    unlimited = {t.field for t in tests.values() if t.max_length is None}
    return {c for c, t in tests.items()
            if t.max_length is not None and COPY_PREFIX + t.field in unlimited}


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
#: and back-references (``\\1``, ``\\g``, ``\\k``). An escaped operator (``\\*``) is a literal
#: character: the scan takes each escape as one token.
_UNBOUNDED = re.compile(r"\\[1-9Xgk]|\\.|([*+{~@<])", re.DOTALL)


def _regex_bound(pattern: str) -> float:
    """An upper bound of the length of what an anchored ``pattern`` matches, in UTF-16 units.

    Without the operators of ``_UNBOUNDED`` each atom (a character, an escape, a class, ``.``)
    matches at most once and at most one character (two UTF-16 units) and takes at least one
    character of the pattern, so twice the pattern's length bounds the match.
    """
    for token in _UNBOUNDED.finditer(pattern):
        if token.group(1) or token.group(0)[1:2] in set("123456789Xgk"):
            return float("inf")
    return 2 * len(pattern)


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


def limit_shows(tree: Any, leaf: Any, event: Any, verdict: bool | None = None) -> bool:
    """True when ``event`` shows what ``leaf``'s length limit does to the whole query: the leaf's
    field has a value over the limit that decides the leaf (``limit_decides``), and lifting the
    limit changes the query's verdict on the event (``verdict``: ``matches(tree, event)``, when
    the caller has it: a query of many leaves is then not evaluated again for each).

    The leaf alone is not enough: with ``contains|all`` (``f:*a* and f:*b*``) a long value holding
    only ``b`` flips the second leaf while the first keeps the query false, so agreeing on that
    event says nothing of a long value holding both, which the query misses and Sigma matches.
    """
    from dataclasses import replace

    from backends.query.errors import QueryError
    from backends.query.evaluate import matches

    if not limit_decides(leaf, event):
        return False
    lifted = _substitute(tree, leaf, replace(leaf, max_length=None))
    try:
        return matches(lifted, event) != (matches(tree, event) if verdict is None else verdict)
    except QueryError:
        # The verdict without the limit is not known: the event shows nothing (see limit_decides).
        return False


def _substitute(node: Any, old: Any, new: Any) -> Any:
    """``node`` with every leaf equal to ``old`` replaced by ``new`` (And / Or / Not rebuilt)."""
    from dataclasses import replace

    from backends.query.ast import And, Not, Or

    if node == old:
        return new
    if isinstance(node, (And, Or)):
        return replace(node, children=tuple(_substitute(c, old, new) for c in node.children))
    if isinstance(node, Not):
        return replace(node, child=_substitute(node.child, old, new))
    return node
