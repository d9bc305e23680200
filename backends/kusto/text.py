"""Kusto text the emitter writes: string literals, column names, RE2 literals and case classes.

Emitter-side only (the interpreter has its own reader of Kusto text and never imports this).
"""

from __future__ import annotations

import functools
import re

from backends.query.folding import text_folds_alike

from .semantics import CANDIDATE_READINGS

#: Plain identifiers; anything else (and a keyword) is written ['name'] (entity names page).
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEYWORDS = frozenset(
    {"and", "or", "not", "in", "has", "contains", "startswith", "endswith", "matches", "regex",
     "between", "true", "false", "null", "where", "let", "by", "on", "with", "of", "to"}
)
#: ``tostring(Column.key...)`` / ``tostring(parse_json(Column).key...)``: a scalar property
#: (https://learn.microsoft.com/kusto/query/tostring-function, .../scalar-data-types/dynamic).
_ACCESSOR = re.compile(
    r"tostring\((?:parse_json\([A-Za-z_]\w*\)|[A-Za-z_]\w*)(?:\.[A-Za-z_]\w*)+\)", re.ASCII
)
#: Escapes documented for quoted string literals (https://learn.microsoft.com/kusto/query/
#: scalar-data-types/string): the quote, tab, newline and the backslash itself. A carriage return
#: may stand raw inside quotes.
_STRING_ESCAPES = {"\\": "\\\\", '"': '\\"', "\t": "\\t", "\n": "\\n"}
#: Code points with a case mapping all lie below this (the last cased block ends at U+1E94B).
_CASED_LIMIT = 0x20000


def quote(text: str) -> str:
    """``text`` as a double-quoted Kusto string literal."""
    return '"' + "".join(_STRING_ESCAPES.get(ch, ch) for ch in text) + '"'


def quote_field(name: str) -> str:
    """A column reference: the bare name when it is a plain identifier, a property accessor
    (``tostring(DeviceDetail.deviceId)``, a mapping table's target for a scalar property of a
    dynamic or JSON text column) as it is, else ``['name']``."""
    if (_IDENTIFIER.fullmatch(name) and name not in _KEYWORDS) or _ACCESSOR.fullmatch(name):
        return name
    return "['" + name.replace("\\", "\\\\").replace("'", "\\'") + "']"


def lower1(char: str) -> str:
    """Sigma's reading of case-insensitive: the simple lowercase of one code point (Java's
    ``Character.toLowerCase``). Python's ``str.lower`` is the full mapping; only U+0130 differs
    in length, and its simple lowercase is ``i``."""
    if char == "\u0130":
        return "i"
    lowered = char.lower()
    return lowered if len(lowered) == 1 else char


@functools.lru_cache(maxsize=1)
def _classes() -> dict[str, str]:
    """Simple lowercase -> every code point with that lowercase (multi-member classes only)."""
    groups: dict[str, set[str]] = {}
    for code in range(_CASED_LIMIT):
        char = chr(code)
        low = lower1(char)
        if low != char:
            groups.setdefault(low, {low}).add(char)
    return {key: "".join(sorted(members, key=ord)) for key, members in groups.items()}


def case_class(char: str) -> str:
    """Every code point equal to ``char`` under Sigma's case-insensitive reading."""
    return _classes().get(lower1(char), char)


def fold_in_doubt(text: str) -> bool:
    """True when ``text`` has a character whose case partners differ between the candidate
    readings of Kusto's case-insensitive operators (ASCII only, per-code-point lowercase, Unicode
    simple folding): Microsoft does not document which one they use (semantics
    ``nonascii_case_folding``). That is every cased non-ASCII letter, and the ASCII letters with a
    non-ASCII partner under some reading (``i``: İ, ``k``: the Kelvin sign, ``s``: ſ), so such a
    value is matched with an explicit class regex instead, exact whatever Kusto's folding is."""
    return not text_folds_alike(text, CANDIDATE_READINGS)


def re2_literal(char: str) -> str:
    """One character as an RE2 literal: ASCII punctuation and spaces backslash-escaped."""
    if char.isascii() and not char.isalnum():
        if char in "\t\n\r\f\v" or ord(char) < 0x20 or char == "\x7f":
            return f"\\x{ord(char):02x}"
        return "\\" + char
    return char


def ci_class(char: str) -> str:
    """``char`` as an RE2 class of its Sigma case class (``[kK\u212a]``), or the literal."""
    members = case_class(char)
    if len(members) == 1:
        return re2_literal(char)
    return "[" + "".join(re2_literal(m) for m in members) + "]"
