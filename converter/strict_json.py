"""Strict JSON: Python's decoder, refusing what Elasticsearch refuses.

Every JSON sigport reads as data for a store (events, an index mapping) goes through
``STRICT_JSON``, so that a document proven on here means one thing in every store: a key twice
in one object, the constants ``NaN`` / ``Infinity`` and a number past a double's range are
errors, not silently resolved.
"""

from __future__ import annotations

import json
import math
from typing import Any


class StrictJSONError(ValueError):
    """JSON that Python's decoder reads but no Elastic index accepts: a key twice in one object,
    or the constants ``NaN`` / ``Infinity`` / ``-Infinity``; or a number every reader reads
    differently (``hint`` then says what to do, else the event is one Elasticsearch refuses)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def json_problem(exc: json.JSONDecodeError) -> str:
    """The decoder's message, readable on its own: the C scanner says "Invalid control character
    at" (its position goes to line and column) for a raw control character inside a string,
    which JSON must write as an escape (RFC 8259 section 7)."""
    if exc.msg.startswith("Invalid control character"):
        return "a control character (a raw tab, newline, ...) inside a string; write it as an " \
            "escape (\\t, \\n, \\u0001)"
    return exc.msg


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object's pairs as a dict, refusing a key that appears twice.

    Python keeps the last of duplicate keys; Elasticsearch refuses the whole document ("Duplicate
    Keys in JSON", https://www.elastic.co/guide/en/elasticsearch/reference/6.0/
    breaking_60_rest_changes.html) and RFC 8259 leaves their meaning to each reader
    (https://www.rfc-editor.org/rfc/rfc8259#section-4): an event sigport proves a query on must
    mean one thing in every store.
    """
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise StrictJSONError(f"the key {key!r} appears twice in one object")
            seen.add(key)
    return obj


def _no_constant(name: str) -> Any:
    """Refuse ``NaN``, ``Infinity`` and ``-Infinity``, which Python's decoder accepts: JSON has
    no such numbers (https://www.rfc-editor.org/rfc/rfc8259#section-6) and Elasticsearch refuses
    a document holding one."""
    raise StrictJSONError(f"{name} is not a JSON value (JSON numbers are finite)")


class WrittenFloat(float):
    """A JSON number whose text is not the one Python writes for its double (``1E5``, ``1.50``,
    ``2e-7``): the double, spelled as the event wrote it.

    A number's text is what a rule's string test reads (reference semantics "numbers"), and the
    stores that keep text keep the event's spelling (a keyword field, Splunk's ``_raw`` and the
    fields extracted from it): ``str`` gives that spelling, not Python's ``100000.0``.
    """

    __slots__ = ("text",)
    text: str

    def __new__(cls, text: str) -> "WrittenFloat":
        number = super().__new__(cls, text)
        number.text = text
        return number

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__

    def __reduce__(self) -> tuple[type, tuple[str]]:
        return (WrittenFloat, (self.text,))


def _finite(text: str) -> float:
    """A JSON number with a fraction or exponent as a double (a ``WrittenFloat`` when Python
    would spell it otherwise), refusing one past its range.

    Python's decoder reads ``1e400`` as infinity, whose text ("inf") a rule could test while a
    keyword field or Splunk's ``_raw`` keeps "1e400" and a double field refuses the document
    (RFC 8259 section 6 leaves the range to each reader): no store reads what the reference would.
    """
    value = float(text)
    if math.isinf(value):
        raise StrictJSONError(f"the number {text} is past a double's range (decoders read "
                              "infinity, text fields keep the digits)",
                              hint="quote long numbers as strings")
    return value if repr(value) == text else WrittenFloat(text)


#: The decoder of every events input: Python's, refusing what Elasticsearch refuses.
STRICT_JSON = json.JSONDecoder(object_pairs_hook=_unique_keys, parse_constant=_no_constant,
                               parse_float=_finite)
