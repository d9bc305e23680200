"""Interpreter for Elasticsearch EQL: parse query text and lower it to the shared query tree.

Only single-event queries (``<category> where <condition>``, ``any where ...``) are evaluated;
sequences, samples, joins and pipes raise ``UnsupportedQueryError``. Every semantic choice made
while lowering (case per operator, wildcard characters, regex dialect and anchoring, missing-field
outcome, the event-category field) is read from ``backends.eql.semantics.SEMANTICS``.

This module holds the entry points and the syntax-error messages; the lowering is in ``lower.py``
and operand decoding in ``operands.py``. None of them imports an emitter
(``backends/eql/backend.py``): the interpreter must judge the emitted text independently, or the
equivalence proof would be circular.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.lexer import PatternStr

from ..query.ast import Node
from ..query.errors import UnsupportedQueryError
from ..query.syntax import Grammar, SyntaxMessages, run_lowering
from .lower import Lowering
from ..query.ast import MIRROR
from .semantics import LANGUAGE

if TYPE_CHECKING:  # the field model is optional and only duck-typed here
    from ..query.fields import FieldModel

_KEYWORDS = frozenset(
    "and or not where any in like regex true false null sequence sample join by with until".split()
)
# Query kinds that correlate several events; detected before parsing so the message names them.
_MULTI_EVENT = re.compile(r"(?:\s+|//[^\n]*|/\*.*?\*/)*(sequence|sample|join)\b", re.S)
# Friendly names of regex terminals for "expected ..." messages.
_TERMINAL_NAMES = {
    "NAME": "a field or category name",
    "TILDE_NAME": "a function name",
    "QUOTED_NAME": "a `quoted` field name",
    "STRING": "a string",
    "RAW_STRING": 'a raw """string"""',
    "INT": "a number",
    "DECIMAL": "a number",
    "BAD_STRING": "a string",
}


def parse(text: str, fields: FieldModel | None = None) -> Node:
    """Parse an EQL query and lower it to the shared tree.

    Args:
        text: the query, e.g. ``process where process.name : "cmd.exe"``.
        fields: optional field model; a field it knows gets its indexed source field, its
            ``ignore_above`` limit and its lowercase normalizer applied to the leaf.

    Returns:
        The condition tree, with the event-category test folded in as a leaf.

    Raises:
        QueryParseError: the text is not valid Elasticsearch EQL (line, column and a hint).
        UnsupportedQueryError: valid EQL that cannot be evaluated on one event (sequence,
            sample, pipes, most functions).
    """
    match = _MULTI_EVENT.match(text)
    if match:
        kind = match.group(1)
        raise UnsupportedQueryError(
            f"{kind} queries correlate several events over time; sigport evaluates only "
            "single-event EQL queries (`<category> where <condition>`)"
        )
    return _run(text, "start", fields)


def parse_expression(text: str, fields: FieldModel | None = None) -> Node:
    """Parse a bare EQL condition (no ``<category> where``) and lower it to the shared tree."""
    return _run(text, "expression", fields)


def _run(text: str, start: str, fields: FieldModel | None) -> Node:
    tree = GRAMMAR.parse(text, start=start)
    lowering = Lowering(text, fields)
    return run_lowering(lambda: lowering.condition(lowering.transform(tree)), text, LANGUAGE)


# --- syntax errors ---------------------------------------------------------------------------------


class _Messages(SyntaxMessages):
    """EQL's syntax-error wording: quotes, keyword case and chained comparisons get a hint."""

    def character(self, text: str, offset: int, exc: UnexpectedCharacters) -> tuple[str, int]:
        ch = text[offset] if offset < len(text) else ""
        if ch == '"':
            return (
                'unterminated string: close it with " on the same line (inside a string, \\" is '
                "an escaped quote and a backslash must be doubled)"
            ), 1
        if ch == "'":
            return "single quotes are not supported in Elasticsearch EQL: use double quotes", 1
        if ch == "`":
            return "unterminated `quoted` field name", 1
        return f"unexpected character {ch!r}", 1

    def end(self, text: str, exc: UnexpectedInput) -> tuple[str, int]:
        return f"unexpected end of query; expected {_expected(exc)}", len(text)

    def token(self, text: str, exc: UnexpectedToken) -> tuple[str, int]:
        tok = exc.token
        msg = f"unexpected `{tok.value}`; expected {_expected(exc)}"
        if tok.type == "NAME" and tok.value.lower() in _KEYWORDS and tok.value != tok.value.lower():
            msg = (
                f"unexpected `{tok.value}`: EQL keywords are lower case and case-sensitive, "
                f"write `{tok.value.lower()}`"
            )
        elif tok.value in MIRROR:
            msg += " (comparisons cannot be chained: join them with `and`)"
        return msg, len(tok.value) or 1


def _expected(exc: UnexpectedInput) -> str:
    """The terminals lark would have accepted, in words."""
    expected = set(getattr(exc, "accepts", None) or getattr(exc, "expected", None) or ())
    names: set[str] = set()
    for name in expected:
        if name == "$END":
            names.add("end of query")
            continue
        try:
            pattern = GRAMMAR.lark().get_terminal(name).pattern
        except KeyError:
            continue
        if isinstance(pattern, PatternStr):
            names.add(f"`{pattern.value}`")
        else:
            names.add(_TERMINAL_NAMES.get(name, name.lower()))
    return ", ".join(sorted(names))


GRAMMAR = Grammar(
    __file__,
    _Messages(LANGUAGE),
    parser="lalr",
    propagate_positions=True,
    maybe_placeholders=True,
    start=["start", "expression"],
)


__all__ = ["LANGUAGE", "parse", "parse_expression"]
