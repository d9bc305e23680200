"""What a leaf of the shared tree reads from an event: the values of a field that were indexed
(looked up once per event and field), read as numbers the way the field coerces them, and the
verdict of a leaf whose field is missing or holds several values."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from . import ast
from .errors import VerdictUndecided
from .matching import es_double, es_long, lookup, scalar_text, to_number


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units: ``ignore_above`` compares Java ``String.length()``."""
    if text.isascii():
        return len(text)
    # Each code point past U+FFFF is a surrogate pair (2 units); the codec counts them in C
    # (a Python loop over the characters cost most of a check of long generated values). A
    # lone surrogate in the text is one unit, as in Java: "surrogatepass" writes it as is.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


#: ``Event.values_of``'s memo has no entry for the field yet (None is a missing field's entry).
_UNSEEN: Any = object()


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
        # Most fields are asked first here, once per event: ``get`` spares raising KeyError.
        values = self._memo.get(field, _UNSEEN)
        if values is _UNSEEN:
            values = self._memo[field] = lookup(self, field)
        return values  # type: ignore[return-value]


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
    and truncates (``es_long``), a floating-point one parses as Java does (``es_double``), any
    other reads the value's own number (``to_number``)."""
    if leaf.coerce == "integer":
        return es_long
    return es_double if leaf.coerce == "float" else to_number


#: Text every number reading takes for the number it spells: ASCII digits, a minus, a fraction.
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
#: Text some number parser reads as a number and another does not: spaces around it, a plus,
#: an exponent, '_' between digits, a bare or trailing point, other scripts' digits (Python's
#: float() reads '١٠٠١'), hexadecimal, inf / infinity / nan.
_NUMBER_LIKE = re.compile(
    r"\s*[-+]?(?:0[xX][0-9a-fA-F]+|inf(?:inity)?|nan|(?=[_.]*\d)[\d_]*\.?[\d_]*"
    r"(?:[eE][-+]?\d+)?)\s*", re.IGNORECASE)


def _number_like(text: str) -> int | float | None:
    """The number a lenient parser reads in number-like ``text``, or None."""
    body = text.strip()
    try:
        return int(body, 16) if body.lower().lstrip("+-").startswith("0x") and not body.startswith(
            ("+", "-")) else float(body)
    except ValueError:
        return None


def lexical_compare(value: Any, target: int | float, order: Callable[[Any, Any], Any]) -> bool:
    """``value <op> target`` where numbers compare numerically and other values
    lexicographically with the number's text (Splunk search, semantics
    ``search_numeric_comparison``).

    A JSON number, or text that is a plain decimal (``-12``, ``4.5``), is a number; text that no
    parser reads as a number is text. Text that is a number only to some parsers (``' 12'``,
    ``'1e3'``, ``'1_000'``, ``'٩'``, ``'0x10'``, ``'inf'``) is either, as the engine does not say
    which: the verdict stands where both readings agree.

    Raises:
        VerdictUndecided: the two readings of number-like text disagree.
    """
    comparand = str(target)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return not (isinstance(value, float) and math.isnan(value)) and bool(order(value, target))
    text = scalar_text(value)
    if _PLAIN_NUMBER.fullmatch(text):
        return bool(order(float(text) if "." in text else int(text), target))
    lexical = bool(order(text, comparand))
    if not _NUMBER_LIKE.fullmatch(text):
        return lexical
    number = _number_like(text)
    numeric = number is not None and not (isinstance(number, float) and math.isnan(number)) \
        and bool(order(number, target))
    if number is not None and numeric == lexical:
        return lexical
    raise VerdictUndecided(
        f"{text[:80]!r} compared with {comparand}: whether the engine reads it as a number "
        f"({number!r}) or as text is not documented, and the two readings differ")


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
    if policy is ast.MultiValued.UNDECIDED:
        raise undecided_values(leaf, values)
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


def undecided_values(leaf: ast.Leaf, values: list[Any]) -> VerdictUndecided:
    """The error for a leaf whose engine documents no reading of several values
    (``MultiValued.UNDECIDED``) on an event where the values' verdicts differ."""
    return VerdictUndecided(
        f"{ast.describe(leaf)} on {len(values)} values that it does not judge alike: which of "
        "several values the engine reads here is not documented"
    )
