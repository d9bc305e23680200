"""Interpreter for Elasticsearch Lucene ``query_string`` text: parse it into the shared query tree.

``parse(text, fields)`` tokenises with ``lucene.lark`` (Lucene classic QueryParser token rules),
rebuilds each group's flat clause list with the MUST/SHOULD/MUST_NOT flags that Lucene's
``QueryParserBase.addClause`` assigns, and lowers every clause to a leaf whose semantics come from
the field's mapping (``FieldModel``) and ``LUCENE_SEMANTICS``. This module never imports the
emitter: the proof that an emitted query means what the Sigma rule means must not reuse the
emitter's escaping.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lark import Lark, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ..query.ast import And, Const, Node, Not, Or, Span
from ..query.errors import QueryParseError, UnsupportedQueryError, too_deep
from .lower import FieldView, lower_phrase, lower_range, lower_regex, lower_term, resolve_field
from .semantics import LUCENE_SEMANTICS

if TYPE_CHECKING:
    from ..query.fields import FieldModel

LANGUAGE = "lucene"
_PARSER = Lark(
    (Path(__file__).with_name("lucene.lark")).read_text(encoding="utf-8"),
    parser="lalr",
    lexer="basic",
    propagate_positions=True,
    maybe_placeholders=False,
)

MUST, SHOULD, MUST_NOT = "must", "should", "must_not"
_HINTS = {
    "RPAR": "unbalanced ')'",
    "COLON": "a ':' must follow a field name; escape a literal colon as '\\:'",
    "$END": "the query ends too early",
}


@dataclass
class _Clause:
    occur: str
    node: Node


def _span(meta_or_token: Any) -> Span | None:
    start = getattr(meta_or_token, "start_pos", None)
    end = getattr(meta_or_token, "end_pos", None)
    if start is None or end is None:
        return None
    return Span(start, end - start)


class _Lowering:
    """Walks the lark tree of one query and builds the shared tree."""

    def __init__(self, source: str, fields: FieldModel | None) -> None:
        self.source = source
        self.fields = fields

    def error(self, message: str, token: Any) -> QueryParseError:
        start = getattr(token, "start_pos", 0) or 0
        end = getattr(token, "end_pos", start + 1) or start + 1
        return QueryParseError(message, self.source, start, end - start, LANGUAGE)

    # --- boolean structure: Lucene's flat clause lists --------------------------------------
    def items(self, items: list[Tree], field: FieldView | None) -> Node:
        """Turn one group's items into a node, following QueryParserBase.addClause."""
        clauses: list[_Clause] = []
        conjs: list[str] = []
        for index, item in enumerate(items):
            conj, mod, clause = self._split_item(item)
            if index == 0 and conj:
                raise self.error(f"a query cannot start with {conj}", item.children[0].children[0])
            if conj == "AND" and clauses and clauses[-1].occur != MUST_NOT:
                # "a AND b" makes the preceding clause required too (unless it is prohibited).
                clauses[-1].occur = MUST
            prohibited = mod in ("-", "NOT")
            required = mod == "+" or (conj == "AND" and not prohibited)
            occur = MUST_NOT if prohibited else MUST if required else SHOULD
            if index > 0:
                conjs.append(conj or ("" if mod else "implicit"))
            clauses.append(_Clause(occur, self.clause(clause, field)))
        if "AND" in conjs and ("OR" in conjs or "implicit" in conjs):
            first = items[0]
            raise UnsupportedQueryError(
                "ambiguous precedence: parenthesise "
                f"{self.source[first.meta.start_pos : items[-1].meta.end_pos]!r} "
                "(Lucene mixes AND with OR as flat MUST/SHOULD clauses, not as AND-before-OR)"
            )
        return self._combine(clauses, items)

    def _split_item(self, item: Tree) -> tuple[str, str, Tree]:
        conj = mod = ""
        clause = item.children[-1]
        for child in item.children[:-1]:
            token = child.children[0]
            text = "AND" if token.type == "AND" else "OR" if token.type == "OR" else str(token)
            if child.data == "conj":
                conj = text
            else:
                mod = "NOT" if token.type == "NOT" else text
        return conj, mod, clause

    def _combine(self, clauses: list[_Clause], items: list[Tree]) -> Node:
        span = Span(items[0].meta.start_pos, items[-1].meta.end_pos - items[0].meta.start_pos)
        must = [c.node for c in clauses if c.occur == MUST]
        should = [c.node for c in clauses if c.occur == SHOULD]
        must_not = [Not(c.node, span=c.node.span) for c in clauses if c.occur == MUST_NOT]
        if len(clauses) == 1 and clauses[0].occur != MUST_NOT:
            return clauses[0].node
        if must:
            # SHOULD clauses next to a MUST clause only influence scoring (bool query semantics).
            parts = must + must_not
        elif should:
            parts = [should[0] if len(should) == 1 else Or(tuple(should), span=span)] + must_not
        else:
            # Only prohibited clauses: ES adds match_all (fixNegativeQueryIfNeeded).
            parts = must_not
        return parts[0] if len(parts) == 1 else And(tuple(parts), span=span)

    # --- clauses -----------------------------------------------------------------------------
    def clause(self, clause: Tree, inherited: FieldView | None) -> Node:
        children = list(clause.children)
        field = inherited
        if isinstance(children[0], Tree) and children[0].data == "field_prefix":
            name_token = children[0].children[0]
            field = resolve_field(str(name_token), self.fields, self.error, name_token)
            children = children[1:]
        value = children[0]
        if value.data == "group":
            return self.items([c for c in value.children if isinstance(c, Tree)], field)
        token = value.children[0]
        if len(value.children) > 1:
            fuzzy = value.children[1]
            raise UnsupportedQueryError(
                f"fuzzy/proximity operator {str(fuzzy)!r} at offset {fuzzy.start_pos} "
                "matches by edit distance; sigport cannot evaluate it"
            )
        span = _span(token)
        if value.data == "term":
            return lower_term(str(token), field, span, self.error, token)
        if value.data == "phrase":
            return lower_phrase(str(token)[1:-1], field, span, self.error, token)
        if value.data == "regex":
            return lower_regex(str(token)[1:-1], field, span, self.error, token)
        return lower_range(str(token), field, span, self.error, token)


def _wrap_lark_error(exc: UnexpectedInput, text: str) -> QueryParseError:
    if isinstance(exc, UnexpectedCharacters):
        char = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else ""
        message = f"unexpected character {char!r}"
        if char in "[]{}":
            message += " (a range needs the form [a TO b]; escape a literal bracket with '\\')"
        elif char == "\\":
            message += " (a backslash must escape a following character)"
        return QueryParseError(message, text, exc.pos_in_stream, 1, LANGUAGE)
    if isinstance(exc, UnexpectedEOF):
        return QueryParseError("the query ends too early", text, len(text), 1, LANGUAGE)
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        if token.type == "$END":
            return QueryParseError("the query ends too early", text, len(text), 1, LANGUAGE)
        hint = _HINTS.get(token.type, "")
        message = f"unexpected {str(token)!r}" + (f": {hint}" if hint else "")
        if token.type in ("AND", "OR", "NOT", "PLUS", "MINUS"):
            message += " (an operator needs a term after it; quote or escape a literal word)"
        return QueryParseError(message, text, token.start_pos, max(1, len(str(token))), LANGUAGE)
    return QueryParseError(str(exc), text, getattr(exc, "pos_in_stream", 0) or 0, 1, LANGUAGE)


def parse_tree(text: str) -> Tree:
    """Parse ``text`` into the raw lark tree (for tests and debugging)."""
    try:
        return _PARSER.parse(text)
    except UnexpectedInput as exc:
        raise _wrap_lark_error(exc, text) from None


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
        if LUCENE_SEMANTICS.get("empty_query") is False:
            return Const(False, span=Span(0, len(text)))
    tree = parse_tree(text)
    items = [c for c in tree.children if isinstance(c, Tree)]
    if not items:
        return Const(False, span=Span(0, len(text)))
    try:
        return _Lowering(text, fields).items(items, None)
    except RecursionError:  # the lowering recurses once per nesting level
        raise too_deep() from None


__all__ = ["parse", "parse_tree", "LANGUAGE"]
