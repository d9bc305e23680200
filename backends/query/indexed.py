"""What a leaf of the shared tree reads from an event: the values of a field that were indexed
(looked up once per event and field), read as numbers the way the field coerces them, and the
verdict of a leaf whose field is missing or holds several values."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from . import ast
from .errors import VerdictUndecided
from .matching import es_long, lookup, scalar_text, to_number


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units: ``ignore_above`` compares Java ``String.length()``."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


class Event(dict):  # type: ignore[type-arg]
    """The event being evaluated, with each field's values looked up once.

    A query tests the same field in many leaves (a rule's list of 100 command-line fragments);
    walking nested objects again for each leaf was most of the evaluation time. ``verdicts``
    holds the leaf verdicts already computed on this event, by compiled leaf predicate
    (``evaluate.compile_query``): queries of several languages evaluated on one view share each
    identical leaf's verdict.
    """

    __slots__ = ("_memo", "verdicts")

    def __init__(self, event: Mapping[str, Any]) -> None:
        super().__init__(event)
        self._memo: dict[str, list[Any] | None] = {}
        self.verdicts: dict[Any, bool | None] = {}

    def values_of(self, field: str) -> list[Any] | None:
        """``matching.lookup`` of ``field``, memoised for this event."""
        try:
            return self._memo[field]
        except KeyError:
            values = self._memo[field] = lookup(self, field)
            return values


def event_values(event: Mapping[str, Any], field: str) -> list[Any] | None:
    """``matching.lookup`` of ``field``, memoised when ``event`` is an ``Event``."""
    if isinstance(event, Event):
        return event.values_of(field)
    return lookup(event, field)


def indexed_values(
    event: Mapping[str, Any], field: str, max_length: int | None
) -> list[Any] | None:
    """Values of ``field`` that were indexed: strings longer than ``max_length`` are dropped
    (keyword ``ignore_above``: kept in ``_source`` but not indexed, so no query sees them,
    https://www.elastic.co/guide/en/elasticsearch/reference/current/ignore-above.html)."""
    values = event_values(event, field)
    if values is None or max_length is None:
        return values
    kept = [v for v in values if not (isinstance(v, str) and utf16_length(v) > max_length)]
    return kept or None


def number_reader(leaf: ast.Leaf) -> Callable[[Any], int | float | None]:
    """How the leaf's field reads an event value as a number: a whole-number ES field coerces
    and truncates (``es_long``), any other reads the value's own number (``to_number``)."""
    return es_long if leaf.coerce == "integer" else to_number


def missing_result(leaf: ast.Leaf) -> bool | None:
    """What a leaf yields when its field is missing."""
    return None if leaf.missing is ast.Missing.NULL else False


def is_several(leaf: ast.Leaf, values: list[Any]) -> bool:
    """True when ``values`` (two or more indexed values) are several values for the leaf's
    ``multi_valued`` reading, which then makes the leaf null.

    Raises:
        VerdictUndecided: the reading does not say whether duplicates of one value are one value
            (``MultiValued.NULL``) and the values are such duplicates.
    """
    policy = leaf.multi_valued
    if policy is ast.MultiValued.NULL_EVERY:
        return True
    if len({scalar_text(v) for v in values}) > 1:
        return True
    if policy is ast.MultiValued.NULL_DISTINCT:
        return False
    raise VerdictUndecided(
        f"{ast.describe(leaf)} on {len(values)} copies of {scalar_text(values[0])[:80]!r}: "
        "whether the field keeps duplicate values (and the test is then null) is not documented "
        "for its type"
    )
