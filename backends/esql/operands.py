"""The operands of an ES|QL predicate before lowering: fields, ``TO_LOWER`` of a field, literals and
identifiers, each with the span it was written at, and the decoding of ES|QL's quoted strings.

Split from ``lower.py`` so the transformer there holds only the lowering itself. Nothing here
imports the emitter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from lark import Token

from ..query.ast import Span
from .semantics import SEMANTICS

#: The character after a backslash in a quoted string -> the character it stands for.
_STRING_ESCAPES = {v[1]: k for k, v in SEMANTICS.typed("string_escapes", dict).items()}


@dataclass(frozen=True)
class Name:
    """An identifier's text and where it was written."""

    text: str
    span: Span


@dataclass(frozen=True)
class Field:
    """A column: a field of the event."""

    name: str
    span: Span


@dataclass(frozen=True)
class Lowered:
    """``TO_LOWER(field)``."""

    field: Field
    span: Span


@dataclass(frozen=True)
class Literal:
    """A constant: string, number, boolean or null."""

    value: Union[str, int, float, bool, None]
    span: Span


Operand = Union[Field, Lowered, Literal]


def token_span(token: Token) -> Span:
    """Where a lark token was written."""
    return Span(token.start_pos or 0, len(token))


def join_spans(first: Span, last: Span) -> Span:
    """The span from the start of ``first`` to the end of ``last``."""
    return Span(first.offset, last.offset + last.length - first.offset)


def decode_string(raw: str) -> str:
    """A QUOTED_STRING (escapes ``\\t \\n \\r \\" \\\\``) or TRIPLE_STRING (raw) token's text."""
    if raw.startswith('"""'):
        return raw[3:-3]
    body = raw[1:-1]
    if "\\" not in body:
        return body
    # Each backslash and the character after it, left to right; the grammar admits only the
    # escapes of the table (and no lone backslash before the closing quote).
    return _ESCAPE.sub(lambda found: _STRING_ESCAPES[found.group(1)], body)


_ESCAPE = re.compile(r"\\(.)", re.S)
