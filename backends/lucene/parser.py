"""Interpreter for Elasticsearch Lucene ``query_string`` text: parse it into the shared query tree.

``parse(text, fields)`` tokenises with ``grammar.lark`` (Lucene classic QueryParser token rules),
rebuilds each group's flat clause list with the MUST/SHOULD/MUST_NOT flags that Lucene's
``QueryParserBase.addClause`` assigns, and lowers every clause to a leaf whose semantics come from
the field's mapping (``FieldModel``) and ``SEMANTICS`` (the walk is ``Lowering`` in ``lower.py``).
Neither module imports the emitter: the proof that an emitted query means what the Sigma rule means must not reuse the
emitter's escaping.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from ..query.ast import Const, Node, Span
from ..query.syntax import Grammar, SyntaxMessages, run_lowering
from .lower import Lowering
from .semantics import LANGUAGE, SEMANTICS

if TYPE_CHECKING:
    from ..query.fields import FieldModel

_HINTS = {
    "RPAR": "unbalanced ')'",
    "COLON": "a ':' must follow a field name; escape a literal colon as '\\:'",
    "$END": "the query ends too early",
}


class _Messages(SyntaxMessages):
    """query_string's syntax-error wording: brackets, backslashes and operators get a hint."""

    def character(self, text: str, offset: int, exc: UnexpectedCharacters) -> tuple[str, int]:
        char = text[offset] if offset < len(text) else ""
        message = f"unexpected character {char!r}"
        if char in "[]{}":
            message += " (a range needs the form [a TO b]; escape a literal bracket with '\\')"
        elif char == "\\":
            message += " (a backslash must escape a following character)"
        return message, 1

    def end(self, text: str, exc: UnexpectedInput) -> tuple[str, int]:
        return "the query ends too early", len(text)

    def token(self, text: str, exc: UnexpectedToken) -> tuple[str, int]:
        token = exc.token
        hint = _HINTS.get(token.type, "")
        message = f"unexpected {str(token)!r}" + (f": {hint}" if hint else "")
        if token.type in ("AND", "OR", "NOT", "PLUS", "MINUS"):
            message += " (an operator needs a term after it; quote or escape a literal word)"
        return message, max(1, len(str(token)))


GRAMMAR = Grammar(
    __file__,
    _Messages(LANGUAGE),
    parser="lalr",
    lexer="basic",
    propagate_positions=True,
    maybe_placeholders=False,
)


def parse_tree(text: str) -> Tree[Token]:
    """Parse ``text`` into the raw lark tree (for tests and debugging)."""
    return GRAMMAR.parse(text)


def parse(text: str, fields: FieldModel | None = None) -> Node:
    """Parse a Lucene query_string query into the shared query tree.

    Args:
        text: the query as written (not JSON-escaped).
        fields: the index mapping; without it every field is an exact, case-sensitive keyword.

    Returns:
        The tree; an empty query is ``Const(False)`` (query_string matches nothing).

    Raises:
        QueryParseError: the text is not valid query_string syntax (line, column, caret).
        UnsupportedQueryError: valid syntax sigport cannot evaluate faithfully (fuzzy, proximity,
            AND mixed with OR without parentheses, dates, ...).
    """
    if not text.strip():
        if SEMANTICS.get("empty_query") is False:
            return Const(False, span=Span(0, len(text)))
    tree = parse_tree(text)
    items = [c for c in tree.children if isinstance(c, Tree)]
    if not items:
        return Const(False, span=Span(0, len(text)))
    # The lowering recurses once per nesting level (run_lowering turns that into too_deep()).
    return run_lowering(lambda: Lowering(text, fields).items(items, None), text, LANGUAGE)


__all__ = ["parse", "parse_tree", "LANGUAGE"]
