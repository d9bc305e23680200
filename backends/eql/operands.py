"""EQL operand values and literal decoding, used by the EQL lowering (``lower.py``).

While lowering, an operand is a field reference, a literal or a function call before it becomes
a shared-tree leaf; string literals are decoded with the escapes of EQL_SEMANTICS
(``string_escapes``, ``unicode_escape_digits``) and ``:``/``like`` patterns split into literal
text and live wildcards (``wildcards``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lark import Token

from ..query.ast import GlobPart, Span
from ..query.errors import QueryParseError
from .semantics import LANGUAGE, SEMANTICS


@dataclass(frozen=True)
class Field:
    """A field reference (``process.name``, ``?f``, ```a b```), joined into its dotted name."""

    name: str
    span: Span


@dataclass(frozen=True)
class Literal:
    """A literal value: a decoded string, a number, a boolean or ``None`` for ``null``."""

    value: Any  # str, int, float, bool or None (null)
    span: Span


@dataclass(frozen=True)
class Call:
    """A function call before it is lowered (its name may end in ``~``)."""

    name: str
    args: tuple[Any, ...]
    span: Span



def span_of(meta: Any) -> Span:
    """The source span of a lark tree node (its ``meta``)."""
    return Span(meta.start_pos, meta.end_pos - meta.start_pos)


def tok_span(tok: Token) -> Span:
    """The source span of a lark token."""
    return Span(tok.start_pos or 0, len(tok.value))


def error(message: str, source: str, span: Span) -> QueryParseError:
    """A parse error pointing at ``span`` of ``source``."""
    return QueryParseError(message, source, span.offset, span.length, LANGUAGE)


def decode_string(tok: Token, source: str) -> str:
    """Decode a STRING or RAW_STRING token into its value, checking each escape sequence."""
    text = tok.value
    if tok.type == "RAW_STRING":
        # A raw string is taken verbatim; up to two extra closing quotes belong to the value.
        return text[3:-3]
    escapes = SEMANTICS.get("string_escapes")
    assert isinstance(escapes, dict)
    low, high = SEMANTICS.typed("unicode_escape_digits", tuple)
    out: list[str] = []
    i, end = 1, len(text) - 1
    while i < end:
        ch = text[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        offset = (tok.start_pos or 0) + i
        if nxt in escapes:
            out.append(escapes[nxt])
            i += 2
            continue
        if nxt == "u":
            m = re.match(r"\{([0-9A-Fa-f]*)\}", text[i + 2 : end])
            if m and low <= len(m.group(1)) <= high and int(m.group(1), 16) <= 0x10FFFF:
                out.append(chr(int(m.group(1), 16)))
                i += 2 + m.end()
                continue
            raise QueryParseError(
                f"bad unicode escape: write \\u{{XXXX}} with {low} to {high} hex digits",
                source, offset, 2, LANGUAGE,
            )
        raise QueryParseError(
            f"invalid escape sequence \\{nxt}: a backslash must be doubled in EQL strings (\\\\), "
            'or use a raw string """..."""',
            source, offset, 2, LANGUAGE,
        )
    return "".join(out)


def glob_parts(pattern: str) -> tuple[GlobPart, ...]:
    """Split a `:`/`like` pattern into literal text and live wildcards (no escape exists)."""
    wildcards = SEMANTICS.get("wildcards")
    assert isinstance(wildcards, dict)
    parts: list[GlobPart] = []
    buf: list[str] = []
    for ch in pattern:
        if ch in wildcards:
            if buf:
                parts.append("".join(buf))
                buf = []
            parts.append(wildcards[ch])
        else:
            buf.append(ch)
    if buf:
        parts.append("".join(buf))
    return tuple(parts)
