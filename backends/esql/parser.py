"""Interpreter for Elasticsearch ES|QL: parse query text and lower it to the shared query tree.

``parse(text, fields)`` reads ``FROM <indices> [METADATA ...] | WHERE <condition>`` (more
``WHERE`` commands are AND-ed) with ``grammar.lark`` and lowers the conditions with ``lower.py``;
every other processing command is refused by name, as is anything the grammar does not know
(a ``QueryParseError`` naming the line and column). Neither module imports the emitter
(``backend.py``): the interpreter must judge the emitted text independently, or the proof would
be circular.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lark import Token, Tree

from ..query.ast import Node
from ..query.syntax import Grammar, SyntaxMessages, run_lowering
from .lower import Lowering
from .semantics import LANGUAGE

if TYPE_CHECKING:  # the field model is another module's; only its interface is used here
    from ..query.fields import FieldModel

#: Friendly names of terminals for "unexpected ..." messages.
_TERMINAL_NAMES = {
    "UNQUOTED_IDENTIFIER": "a name",
    "QUOTED_IDENTIFIER": "a `quoted` name",
    "QUOTED_STRING": "a string",
    "TRIPLE_STRING": 'a """string"""',
    "INTEGER": "a number",
    "DECIMAL": "a number",
    "INDEX_PATTERN": "an index pattern",
}


class _Messages(SyntaxMessages):
    """Syntax errors, with a hint for single-quoted strings (ES|QL quotes strings with ")."""

    def character(self, text: str, offset: int, exc: Any) -> tuple[str, int]:
        char = text[offset] if offset < len(text) else ""
        if char == "'":
            return "unexpected \"'\": ES|QL strings are double-quoted", 1
        if char in "\r\n" and text[:offset].count('"') % 2:
            return "a raw line break inside a string (write \\n or \\r)", 1
        return f"unexpected character {char!r}", 1

    def token(self, text: str, exc: Any) -> tuple[str, int]:
        token = exc.token
        name = _TERMINAL_NAMES.get(token.type)
        shown = f"{name} {str(token)!r}" if name else repr(str(token))
        return f"unexpected {shown}", max(1, len(str(token)))


# No position propagation: the lowering reads positions from tokens only (no rule's meta),
# and propagating them through every rule was a third of lark's time on this grammar.
GRAMMAR = Grammar(__file__, _Messages(LANGUAGE), parser="lalr")


def parse_tree(text: str) -> Tree[Token]:
    """Parse an ES|QL query into lark's concrete tree (for tests and debugging)."""
    return GRAMMAR.parse(text)


def parse(text: str, fields: FieldModel | None = None) -> Node:
    """Parse an ES|QL query and lower it to the shared tree.

    Args:
        text: the query, e.g. ``FROM logs-* | WHERE TO_LOWER(process.name) LIKE "cmd.exe"``.
        fields: the target's field model (types, ``ignore_above``, normalizers); without it every
            field is read as a keyword field without a length limit.

    Raises:
        QueryParseError: the text is not valid ES|QL, or a test ES|QL's verifier rejects
            (line, column and caret in the message).
        UnsupportedQueryError: valid, but sigport cannot evaluate it faithfully.
    """
    tree = GRAMMAR.parse(text)
    node = run_lowering(lambda: Lowering(text, fields).transform(tree), text, LANGUAGE)
    assert isinstance(node, Node)
    return node
