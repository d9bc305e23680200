"""Interpreter for Kibana Query Language text: parse it and lower it to the shared query tree.

``parse(text, fields)`` follows Kibana's grammar (``grammar.peggy``, transcribed in ``grammar.lark``)
and then lowers each ``field:value`` the way Kibana's ``functions/is.ts`` translates it to
Elasticsearch, per field type from the ``FieldModel``:

* ``keyword`` (the one type Kibana treats specially): ``term`` (Equals) or ``wildcard`` (Glob),
  case-sensitive unless the field has a ``lowercase`` normalizer (Elastic Defend ``.caseless``);
* ``wildcard``/``constant_keyword``/unknown fields: ``match`` (Equals) or ``query_string`` for
  wildcard values, which splits the value on whitespace into OR-ed terms;
* ``text``/``match_only_text``: analysed token (``match``) or phrase (``match_phrase``) search;
* numeric, boolean and ``ip`` fields: typed equality, CIDR on ``ip``.

Every such decision reads ``SEMANTICS`` (``semantics.py``); the lowering is in ``lower.py``.
Neither module imports the KQL emitter: the interpreter must stay independent of the escaping it checks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from ..query.ast import Node
from ..query.syntax import Grammar, SyntaxMessages, run_lowering
from .lower import SPECIAL, Lowering
from .semantics import LANGUAGE

if TYPE_CHECKING:  # the field model is another module's; only its interface is used here
    from ..query.fields import FieldModel


class _Messages(SyntaxMessages):
    """KQL's syntax-error wording: escapes, quotes and operator words get a hint."""

    def character(self, text: str, offset: int, exc: UnexpectedCharacters) -> tuple[str, int]:
        char = text[offset]
        if char == "\\":
            return (
                f"invalid escape {text[offset:offset + 2]!r}: unquoted KQL values only escape "
                f"{SPECIAL}, \\t \\r \\n, \\uXXXX and the words or/and/not; quote the value or "
                "double the backslash"
            ), 2
        if char == '"':
            return "unterminated quoted string (inside quotes \\\" is an escaped quote)", 1
        hint = "; escape it with a backslash" if char in SPECIAL else ""
        return f"unexpected character {char!r}{hint}", 1

    def end(self, text: str, exc: UnexpectedInput) -> tuple[str, int]:
        return "unexpected end of query (unclosed parenthesis or missing value?)", len(text)

    def token(self, text: str, exc: UnexpectedToken) -> tuple[str, int]:
        token = exc.token
        expected = ", ".join(sorted(str(e) for e in exc.expected))
        hint = ""
        if token.type in ("NOT", "OR", "AND"):
            hint = (
                "; an operator word inside a value must be escaped (\\or, \\and, \\Not or "
                "\\u006eot), and `not` cannot follow `field:` (write `not field:value`)"
            )
        message = f"unexpected {str(token).strip() or token.type!r}; expected one of: {expected}{hint}"
        return message, max(1, len(str(token)))


# No position propagation: the lowering reads positions from tokens only (no rule's meta),
# and propagating them through every rule was a third of lark's time on this grammar.
GRAMMAR = Grammar(__file__, _Messages(LANGUAGE), parser="lalr", lexer="contextual")


def parse_tree(text: str) -> Tree[Token]:
    """Parse KQL text into lark's concrete tree (for tests and debugging)."""
    return GRAMMAR.parse(text)


def parse(text: str, fields: FieldModel | None = None) -> Node:
    """Parse Kibana Query Language text and lower it to the shared query tree.

    Args:
        text: the KQL query.
        fields: the target's field model; without it every field is an unknown field, which
            Kibana sends down its non-keyword path (``match`` / ``query_string``).

    Returns:
        The tree; leaves carry field-type semantics and ``Missing.FALSE`` (``not`` is must_not).

    Raises:
        QueryParseError: the text is not valid KQL (line, column and caret in the message).
        UnsupportedQueryError: valid KQL that sigport cannot evaluate faithfully.
    """
    tree = parse_tree(text)
    node = run_lowering(lambda: Lowering(fields).transform(tree), text, LANGUAGE)
    assert isinstance(node, Node)
    return node
