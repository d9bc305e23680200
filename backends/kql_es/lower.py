"""Lowering of Elasticsearch KQL's lark tree to the shared query tree, consulting ``SEMANTICS``.

``Lowering`` decodes each token the way ``ParserUtils`` does (``unescapeUnquotedLiteral``,
``unescapeQuotedString``, ``hasWildcard``) and lowers each ``field:value`` the way
``KqlAstBuilder.visitFieldQuery`` translates it, per field type from the ``FieldModel`` and with the
query's ``case_insensitive`` parameter. The per-type leaves that Elasticsearch builds exactly as
Kibana does (query_string splitting, ranges, numbers) reuse the Kibana interpreter's helpers
(``backends/kql/lower.py``), never its emitter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lark import Token, Transformer

from ..kql.lower import _Literal as _KibanaLiteral
from ..kql.lower import _keyword_or_free_text, _lower_range, lower_non_keyword
from ..query.ast import (
    And,
    Const,
    Equals,
    Exists,
    Fold,
    Glob,
    GlobPart,
    Node,
    Not,
    Or,
    Span,
    Wildcard,
)
from ..query.errors import UnsupportedQueryError
from ..query.fields import number_coercion
from ..query.folding import simple_lower
from .semantics import JAVA_LINE_TERMINATORS, SEMANTICS

if TYPE_CHECKING:  # the field model is another module's; only its interface is used here
    from ..query.fields import FieldInfo, FieldModel

_MISSING = SEMANTICS.missing("missing_under_not")
_FOLD = SEMANTICS.typed("case_insensitive_folding", Fold)
_JOIN = str(SEMANTICS.get("value_tokens_joined"))
#: ParserUtils.UNESCAPED_WILDCARD_PATTERN ``[^\\]*[*].*`` under Java's matches().
_PATTERN_TOKEN = re.compile(r"[^\\]*[*][^" + JAVA_LINE_TERMINATORS + "]*", re.DOTALL)
_ESCAPED_CHARS = {"t": "\t", "n": "\n", "r": "\r", '"': '"', "\\": "\\"}
_PLAIN_ESCAPES = frozenset("():<>*{}")


def _unicode(raw: str, at: int) -> str:
    """The character of the ``\\uXXXX`` escape whose hex digits start at ``at``."""
    code = int(raw[at:at + 4], 16)
    if 0xD800 <= code <= 0xDFFF:
        raise UnsupportedQueryError(
            f"Elasticsearch rejects the KQL escape \\u{raw[at:at + 4]}: "
            f"{SEMANTICS.entries['unicode_escape_surrogate'].note}"
        )
    return chr(code)


def _escape(raw: str, at: int, plain: frozenset[str]) -> tuple[str, int]:
    """The escape whose character (after the backslash) is ``raw[at]``: its text and where the
    next character starts. ``plain`` escapes give their character; an unknown escape keeps its
    backslash (``\\ ``, ``\\T``, ``\\U`` in unquoted text; anything but t n r u \" \\ in quotes)."""
    char = raw[at]
    if char in _ESCAPED_CHARS:
        return _ESCAPED_CHARS[char], at + 1
    if char == "u":
        return _unicode(raw, at + 1), at + 5
    return (char if char in plain else "\\" + char), at + 1


def decode_unquoted(raw: str) -> str:
    """``ParserUtils.unescapeUnquotedLiteral``: escaped keywords first, then single escapes."""
    out: list[str] = []
    i = 0
    while i < len(raw):
        char = raw[i]
        i += 1
        if char != "\\" or i >= len(raw):
            out.append(char)
            continue
        rest = raw[i:].lower()
        if len(raw) - i >= 2 and rest.startswith(("and", "or", "not")):
            size = 2 if rest.startswith("or") else 3
            out.append(raw[i:i + size])
            i += size
            continue
        text, i = _escape(raw, i, _PLAIN_ESCAPES)
        out.append(text)
    return "".join(out)


def decode_quoted(raw: str) -> str:
    """``ParserUtils.unescapeQuotedString`` of a QUOTED token (quotes included)."""
    out: list[str] = []
    i = 1
    while i < len(raw) - 1:
        char = raw[i]
        i += 1
        if char == "\\" and i + 1 < len(raw):
            text, i = _escape(raw, i, frozenset())
            out.append(text)
        else:
            out.append(char)
    return "".join(out)


def is_pattern_token(token: Token) -> bool:
    """``ParserUtils.hasWildcard`` for one token (entry ``wildcard_detection``)."""
    if token.type == "WILDCARD":
        return True
    return token.type == "UNQUOTED" and _PATTERN_TOKEN.fullmatch(str(token)) is not None


def lucene_wildcard(text: str) -> tuple[GlobPart, ...]:
    """The glob of a Lucene wildcard pattern: ``*`` any, ``?`` one, ``\\`` escapes the next
    character (a trailing backslash is literal), as WildcardQuery reads it."""
    parts: list[GlobPart] = []
    i = 0

    def add(item: GlobPart) -> None:
        if isinstance(item, str) and parts and isinstance(parts[-1], str):
            parts[-1] += item
        else:
            parts.append(item)

    while i < len(text):
        char = text[i]
        if char == "*":
            add(Wildcard.ANY)
        elif char == "?":
            add(Wildcard.ONE)
        elif char == "\\" and i + 1 < len(text):
            i += 1
            add(text[i])
        else:
            add(char)
        i += 1
    return tuple(parts)


def _query_string_parts(text: str) -> tuple[GlobPart, ...]:
    """escapeLuceneQueryString(text, true): every ``*`` live, every other character literal."""
    parts: list[GlobPart] = []
    for index, piece in enumerate(text.split("*")):
        if index:
            parts.append(Wildcard.ANY)
        if piece:
            parts.append(piece)
    return tuple(parts)


@dataclass(frozen=True)
class Value:
    """A field query value: its text (extractText), whether it is a pattern and how written."""

    text: str
    pattern: bool
    quoted: bool
    span: Span
    lone_wildcard: bool = False


class Lowering(Transformer):  # type: ignore[type-arg]
    """Turn lark's tree into the shared tree for one query and its ``case_insensitive``."""

    def __init__(self, fields: FieldModel | None, case_insensitive: bool) -> None:
        super().__init__()
        self._fields = fields
        self._ci = case_insensitive

    def start(self, children: list[Any]) -> Node:
        return children[0] if children else Const(True)

    def bool_op(self, children: list[Token]) -> str:
        return str(children[0]).lower()

    def chain(self, children: list[Any]) -> Node:
        operands, ops = children[0::2], set(children[1::2])
        if len(ops) > 1:
            raise UnsupportedQueryError(
                "Elasticsearch KQL with `and` and `or` mixed without parentheses: "
                f"{SEMANTICS.entries['boolean_precedence'].note}"
            )
        return (And if ops == {"and"} else Or)(tuple(operands))

    def not_(self, children: list[Any]) -> Node:
        return Not(children[-1])

    def nested(self, children: list[Any]) -> Node:
        raise UnsupportedQueryError(
            f"KQL nested query: {SEMANTICS.entries['nested_query'].note}"
        )

    def field_group(self, children: list[Any]) -> Node:
        raise UnsupportedQueryError(
            f"KQL value group field:(...): {SEMANTICS.entries['field_value_group'].note}"
        )

    def literal(self, children: list[Token]) -> Token:
        return children[0]

    def words(self, children: list[Token]) -> Value:
        first, last = children[0], children[-1]
        span = Span(first.start_pos or 0, (last.end_pos or 0) - (first.start_pos or 0))
        text = _JOIN.join("*" if t.type == "WILDCARD" else decode_unquoted(str(t)) for t in children)
        pattern = any(is_pattern_token(t) for t in children)
        lone = len(children) == 1 and children[0].type == "WILDCARD"
        return Value(text, pattern, False, span, lone)

    def quoted(self, children: list[Token]) -> Value:
        token = children[0]
        return Value(decode_quoted(str(token)), False, True, Span(token.start_pos or 0, len(token)))

    def bare_value(self, children: list[Any]) -> Node:
        value: Value = children[0]
        if value.lone_wildcard:
            return Const(True, span=value.span)  # matchAllQuery
        parts = _query_string_parts(value.text) if value.pattern else (value.text,)
        literal = _KibanaLiteral(parts, value.quoted, None, value.span)
        return _keyword_or_free_text(literal)  # unbound_value

    def range(self, children: list[Any]) -> Node:
        name_token, op, value = children
        name = _field_name(name_token)
        field = _KibanaLiteral((name,), False, None, _span(name_token))
        literal = _KibanaLiteral((value.text,), value.quoted, None, value.span)
        return _lower_range(field, str(op), literal, self._fields)

    def field_value(self, children: list[Any]) -> Node:
        name_token, value = children
        span = Span(
            name_token.start_pos or 0,
            value.span.offset + value.span.length - (name_token.start_pos or 0),
        )
        if name_token.type == "WILDCARD":
            if value.lone_wildcard:
                return Const(True, span=span)  # `*:*`
            raise UnsupportedQueryError("KQL `*:value` searches every field; not evaluable")
        return _lower_field(_field_name(name_token), value, self._fields, self._ci, span)


def _span(token: Token) -> Span:
    return Span(token.start_pos or 0, len(token))


def _field_name(token: Token) -> str:
    """The field a name token names; field name patterns are refused."""
    name = decode_quoted(str(token)) if token.type == "QUOTED" else decode_unquoted(str(token))
    if "*" in name or token.type == "WILDCARD":
        raise UnsupportedQueryError(
            f"KQL field name pattern {name!r} queries several fields; sigport evaluates single "
            "fields only"
        )
    return name


def _unsupported(name: str, what: str) -> UnsupportedQueryError:
    return UnsupportedQueryError(f"Elasticsearch KQL {what} on field {name!r}")


def _lower_field(
    name: str, value: Value, fields: FieldModel | None, ci: bool, span: Span
) -> Node:
    """``KqlAstBuilder.visitFieldQuery`` for one field, by the field's mapped type."""
    info: FieldInfo | None = fields.lookup(name) if fields is not None else None
    es_type = info.type if info is not None else ""
    common: dict[str, Any] = {
        "field": info.source if info is not None else name, "missing": _MISSING, "span": span
    }
    if number_coercion(es_type):
        common["coerce"] = number_coercion(es_type)
    if info is not None and info.ignore_above is not None:
        common["max_length"] = info.ignore_above
        common["limited_by"] = info.name
    if value.lone_wildcard:
        return Exists(**common)  # existsQuery

    if es_type == "keyword":  # keyword_path
        normalizer = info.normalizer if info is not None else None
        if normalizer not in (None, "lowercase"):
            raise _unsupported(name, f"custom normalizer {normalizer!r}")
        lower = normalizer == "lowercase"
        # case_insensitive_scope / case_insensitive_folding; normalizer_lowercase first.
        case: dict[str, Any] = {"case_sensitive": not (lower or ci), "lowercase_value": lower}
        if ci:
            case["fold"] = _FOLD
        if value.pattern:  # keyword_pattern_syntax
            parts = lucene_wildcard(value.text)
            if lower:
                parts = tuple(simple_lower(p) if isinstance(p, str) else p for p in parts)
            return Glob(parts=parts, **case, **common)
        text = simple_lower(value.text) if lower else value.text
        return Equals(value=text, **case, **common)

    # Every other type as in Kibana; a pattern is a query_string (query_string_pattern).
    pattern = _query_string_parts(value.text) if value.pattern else None
    return lower_non_keyword(name, es_type, info, value.text, value.quoted, pattern, common, span)
