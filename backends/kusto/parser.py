"""The Kusto interpreter: parse Kusto query text into the shared query tree.

A query is ``Table | where <predicate> [| where <predicate> ...]`` or a bare predicate. The
grammar (``grammar.lark``, loaded on first use) reads the text; ``Lowering`` (``lower.py``) turns
lark's tree into
``backends.query.ast`` nodes, consulting ``SEMANTICS`` (``semantics.py``) for every decision:

* the table becomes a case-sensitive test of the pseudo-column ``$table`` (``tabular_source``);
* a string test on a missing column is evaluated on ``""`` (``string_never_null``), so the leaf is
  OR-ed with "the column is missing" exactly when the test is true on the empty string;
* ``==`` between a missing (null) number and a literal is false and ``!=`` true
  (``null_equality``); the ordering comparisons are null there and stay null under ``not``
  (``null_comparisons``); ``coalesce(<predicate>, false)`` reads null as false (``coalesce``);
* ``Column == true`` / ``== false`` on a bool column is false on a missing one, as for numbers
  (``bool_equality``); a bool literal has no ordering;
* ``has`` is a whole-term match, lowered to an RE2 pattern with term boundaries (``has_term``);
* ``matches regex`` runs with RE2 itself (``regex_dialect``);
* case-insensitive operators are evaluated under every candidate folding, an event on which the
  readings disagree being undecided, and a case-insensitive literal with a non-ASCII cased letter
  is refused (``nonascii_case_folding``).

The interpreter never imports the emitter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lark import Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from ..query.ast import Node
from ..query.syntax import Grammar, SyntaxMessages, run_lowering
from .lower import Lowering
from .semantics import LANGUAGE

if TYPE_CHECKING:
    from ..query.fields import FieldModel


class _Messages(SyntaxMessages):
    """Kusto's syntax errors: "unexpected input" with what the grammar expected there."""

    @staticmethod
    def _message(exc: UnexpectedInput) -> str:
        expected = sorted(getattr(exc, "expected", None) or getattr(exc, "allowed", None) or [])
        hint = f" (expected one of: {', '.join(expected[:8])})" if expected else ""
        return f"unexpected input{hint}"

    def character(self, text: str, offset: int, exc: UnexpectedCharacters) -> tuple[str, int]:
        return self._message(exc), 1

    def end(self, text: str, exc: UnexpectedInput) -> tuple[str, int]:
        token = getattr(exc, "token", None)
        start = getattr(token, "start_pos", None)
        return self._message(exc), start if start is not None else exc.pos_in_stream or 0

    def token(self, text: str, exc: UnexpectedToken) -> tuple[str, int]:
        return self._message(exc), 1


GRAMMAR = Grammar(__file__, _Messages(LANGUAGE), parser="lalr", propagate_positions=True)


def parse_tree(text: str) -> Tree[Token]:
    """Parse Kusto text into lark's concrete tree (for tests and debugging)."""
    return GRAMMAR.parse(text)


def parse(text: str, fields: FieldModel | None = None) -> Node:
    """Parse Kusto query text and lower it to the shared query tree.

    Args:
        text: ``Table | where <predicate>`` or a bare predicate.
        fields: unused (Kusto columns carry their own types); accepted for the common interface.

    Raises:
        QueryParseError: the text is not valid in the Kusto subset (line, column, caret).
        UnsupportedQueryError: valid Kusto that sigport cannot evaluate faithfully.
    """
    del fields
    tree = parse_tree(text)
    node = run_lowering(lambda: Lowering(text).transform(tree), text, LANGUAGE)
    assert isinstance(node, Node)
    return node
