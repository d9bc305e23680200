"""Interpreter for Elasticsearch EQL: parse query text and lower it to the shared query tree.

Only single-event queries (``<category> where <condition>``, ``any where ...``) are evaluated;
sequences, samples, joins and pipes raise ``UnsupportedQueryError``. Every semantic choice made
while lowering (case per operator, wildcard characters, regex dialect and anchoring, missing-field
outcome, the event-category field) is read from ``backends.eql.semantics.SEMANTICS``.

This module holds the entry points, the lark parser and syntax-error messages; the lowering is in
``lowering.py`` and operand decoding in ``operands.py``. None of them imports an emitter
(``backends/eql/backend.py``): the interpreter must judge the emitted text independently, or the
equivalence proof would be circular.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING

from lark import Lark
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError
from lark.lexer import PatternStr

from ..query.ast import Node
from ..query.errors import QueryError, QueryParseError, UnsupportedQueryError, too_deep
from .lowering import Lowering
from .operands import LANGUAGE, MIRROR, as_condition

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


@functools.lru_cache(maxsize=1)
def _parser() -> Lark:
    """Build the LALR parser once (lazily, so importing this module does no work)."""
    grammar = Path(__file__).with_name("eql.lark").read_text(encoding="utf-8")
    return Lark(
        grammar,
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=True,
        start=["start", "expression"],
    )


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
    try:
        tree = _parser().parse(text, start=start)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text) from None
    try:
        result = Lowering(text, fields).transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, QueryError):
            raise exc.orig_exc from None
        if not isinstance(exc.orig_exc, RecursionError):
            raise
        raise too_deep() from None
    except RecursionError:  # lark's Transformer recurses once per nesting level
        raise too_deep() from None
    return as_condition(result, text)


# --- syntax errors ---------------------------------------------------------------------------------


def _describe_expected(expected: set[str]) -> str:
    names: set[str] = set()
    for name in expected:
        if name == "$END":
            names.add("end of query")
            continue
        try:
            pattern = _parser().get_terminal(name).pattern
        except KeyError:
            continue
        if isinstance(pattern, PatternStr):
            names.add(f"`{pattern.value}`")
        else:
            names.add(_TERMINAL_NAMES.get(name, name.lower()))
    return ", ".join(sorted(names))


def _syntax_error(exc: UnexpectedInput, text: str) -> QueryParseError:
    """Turn a lark exception into a QueryParseError with a position and, when known, a hint."""
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream
        ch = text[pos] if pos < len(text) else ""
        if ch == '"':
            msg = (
                'unterminated string: close it with " on the same line (inside a string, \\" is '
                "an escaped quote and a backslash must be doubled)"
            )
        elif ch == "'":
            msg = "single quotes are not supported in Elasticsearch EQL: use double quotes"
        elif ch == "`":
            msg = "unterminated `quoted` field name"
        else:
            msg = f"unexpected character {ch!r}"
        return QueryParseError(msg, text, pos, 1, LANGUAGE)
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        expected = _describe_expected(set(exc.accepts or exc.expected))
        if tok.type == "$END":
            return QueryParseError(
                f"unexpected end of query; expected {expected}", text, len(text), 1, LANGUAGE
            )
        msg = f"unexpected `{tok.value}`; expected {expected}"
        if tok.type == "NAME" and tok.value.lower() in _KEYWORDS and tok.value != tok.value.lower():
            msg = (
                f"unexpected `{tok.value}`: EQL keywords are lower case and case-sensitive, "
                f"write `{tok.value.lower()}`"
            )
        elif tok.value in MIRROR:
            msg += " (comparisons cannot be chained: join them with `and`)"
        return QueryParseError(msg, text, tok.start_pos or 0, len(tok.value) or 1, LANGUAGE)
    pos = getattr(exc, "pos_in_stream", 0) or 0
    return QueryParseError(str(exc).splitlines()[0], text, pos, 1, LANGUAGE)


__all__ = ["LANGUAGE", "parse", "parse_expression"]
