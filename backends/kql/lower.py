"""Lowering of the KQL lark tree to the shared query tree, consulting ``SEMANTICS``.

``Lowering`` decodes each literal (escapes, wildcards, JavaScript trimming) and lowers each
``field:value`` the way Kibana's ``functions/is.ts`` translates it to Elasticsearch, per field
type from the ``FieldModel`` (see ``parser.py`` for the summary). It never imports the KQL
emitter: the interpreter must stay independent of the escaping it checks.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from lark import Token, Transformer

from ..query.ast import (
    And,
    Cidr,
    Compare,
    CompareOp,
    Const,
    Equals,
    Exists,
    Glob,
    GlobPart,
    Keyword,
    Node,
    Not,
    Or,
    Span,
    Text,
    Wildcard,
)
from ..query.errors import UnsupportedQueryError
from ..query.fields import INTEGER_TYPES, NUMERIC_TYPES, TEXT_TYPES, number_coercion
from ..query.folding import simple_lower
from .semantics import JS_TRIM_WHITESPACE, SEMANTICS

if TYPE_CHECKING:  # the field model is another module's; only its interface is used here
    from ..query.fields import FieldInfo, FieldModel

#: Characters an unquoted value escapes with a backslash.
SPECIAL = str(SEMANTICS.get("unquoted_special_chars"))
_WHITESPACE_ESCAPES = {"t": "\t", "r": "\r", "n": "\n"}
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
_QS_WHITESPACE = str(SEMANTICS.get("query_string_splits_whitespace"))
_TYPED = dict.fromkeys(SEMANTICS.typed("unquoted_typed_literals", tuple))
_EXACT_NON_KEYWORD = {"wildcard", "constant_keyword"}
_WILD = Wildcard.ANY
_MISSING = SEMANTICS.missing("missing_under_not")


@dataclass(frozen=True)
class _Literal:
    """A decoded KQL literal: glob parts after escapes and trimming, plus how it was written."""

    parts: tuple[GlobPart, ...]
    quoted: bool
    typed: str | None  # "null" / "true" / "false" for unquoted typed literals
    span: Span

    @property
    def text(self) -> str:
        """The literal characters (wildcards dropped); meaningful when there is no wildcard."""
        return "".join(p for p in self.parts if isinstance(p, str))

    @property
    def has_wildcard(self) -> bool:
        """True when an unescaped, unquoted ``*`` is part of the value."""
        return _WILD in self.parts


def _merge(chars: list[str | Wildcard]) -> tuple[GlobPart, ...]:
    """Join adjacent characters into strings, keeping wildcard markers apart."""
    parts: list[GlobPart] = []
    for char in chars:
        if isinstance(char, str) and parts and isinstance(parts[-1], str):
            parts[-1] += char
        else:
            parts.append(char)
    return tuple(parts)


def _decode_unquoted(raw: str) -> list[str | Wildcard]:
    """Resolve an UNQUOTED token in UnquotedCharacter's order (whitespace escapes first)."""
    chars: list[str | Wildcard] = []
    i = 0
    while i < len(raw):
        char = raw[i]
        if char == "*":
            chars.append(_WILD)
            i += 1
        elif char != "\\":
            chars.append(char)
            i += 1
        else:
            nxt = raw[i + 1]
            if nxt in _WHITESPACE_ESCAPES:  # `\n` wins over `\not` (EscapedWhitespace first)
                chars.append(_WHITESPACE_ESCAPES[nxt])
                i += 2
            elif nxt in SPECIAL:
                chars.append(nxt)
                i += 2
            elif nxt == "u" and _HEX4.fullmatch(raw[i + 2 : i + 6]):
                chars.append(chr(int(raw[i + 2 : i + 6], 16)))
                i += 6
            else:  # EscapedKeyword keeps the word as written
                word = 2 if raw[i + 1 : i + 3].lower() == "or" else 3
                chars.append(raw[i + 1 : i + 1 + word])
                i += 1 + word
    return chars


def _decode_quoted(raw: str) -> str:
    """Resolve a QUOTED token's body; a backslash before anything else stays literal."""
    body, out, i = raw[1:-1], [], 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in _WHITESPACE_ESCAPES:
                out.append(_WHITESPACE_ESCAPES[nxt])
                i += 2
                continue
            if nxt == "u" and _HEX4.fullmatch(body[i + 2 : i + 6]):
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
                continue
            if nxt in '\\"':
                out.append(nxt)
                i += 2
                continue
        out.append(char)
        i += 1
    return "".join(out)


def _trim(chars: list[str | Wildcard]) -> list[str | Wildcard]:
    """JavaScript ``trim()`` of the joined literal (the grammar trims after resolving escapes)."""
    start, end = 0, len(chars)
    while start < end and isinstance(chars[start], str) and chars[start] in JS_TRIM_WHITESPACE:
        start += 1
    while end > start and isinstance(chars[end - 1], str) and chars[end - 1] in JS_TRIM_WHITESPACE:
        end -= 1
    return chars[start:end]


class Lowering(Transformer):  # type: ignore[type-arg]
    """Turn lark's KQL tree into the shared tree, consulting ``SEMANTICS``.

    Value lists are built as partials (callables ``field -> Node``), like Kibana's grammar does,
    so the field of ``field:(a or not b)`` is distributed over every value.
    """

    def __init__(self, fields: FieldModel | None) -> None:
        super().__init__()
        self._fields = fields

    def _apply(self, item: Any, field: _Literal | None) -> Node:
        """Resolve a partial (or a bare literal inside a value list) against ``field``."""
        if isinstance(item, _Literal):
            return _lower_is(field, item, self._fields)
        return item(field)

    def literal(self, children: list[Token]) -> _Literal:
        token = children[0]
        span = Span(token.start_pos or 0, len(token))
        if token.type == "QUOTED":
            text = _decode_quoted(str(token))
            return _Literal((text,) if text else (), True, None, span)
        parts = _merge(_trim(_decode_unquoted(str(token))))
        typed = parts[0] if len(parts) == 1 and parts[0] in _TYPED else None
        return _Literal(parts, False, typed if isinstance(typed, str) else None, span)

    def or_(self, children: list[Any]) -> Callable[[Any], Node]:
        items = [c for c in children if not isinstance(c, Token)]
        return lambda field: Or(tuple(self._apply(i, field) for i in items))

    def and_(self, children: list[Any]) -> Callable[[Any], Node]:
        items = [c for c in children if not isinstance(c, Token)]
        return lambda field: And(tuple(self._apply(i, field) for i in items))

    def not_(self, children: list[Any]) -> Callable[[Any], Node]:
        item = children[-1]
        return lambda field: Not(self._apply(item, field))

    def field_value(self, children: list[Any]) -> Callable[[Any], Node]:
        field, values = children
        node = self._apply(values, field)
        return lambda _field: node

    def bare_value(self, children: list[Any]) -> Callable[[Any], Node]:
        node = _lower_is(None, children[0], self._fields)
        return lambda _field: node

    def range(self, children: list[Any]) -> Callable[[Any], Node]:
        field, op, value = children
        node = _lower_range(field, str(op), value, self._fields)
        return lambda _field: node

    def nested(self, children: list[Any]) -> Callable[[Any], Node]:
        raise UnsupportedQueryError(
            f"KQL nested query {children[0].text}:{{...}} is not supported: "
            f"{SEMANTICS.entries['nested_query'].note}"
        )

    def start(self, children: list[Any]) -> Node:
        if not children:
            return Const(True)  # an empty query is match_all (grammar `start`)
        return self._apply(children[0], None)


def _field_name(field: _Literal) -> str:
    """The queried field name; wildcard or typed field names are refused."""
    if field.has_wildcard or field.typed is not None:
        pattern = "".join("*" if p is _WILD else str(p) for p in field.parts)
        raise UnsupportedQueryError(
            f"KQL field name pattern {pattern!r} queries several fields; "
            "sigport evaluates single fields only"
        )
    return field.text


def _unsupported(name: str, what: str) -> UnsupportedQueryError:
    return UnsupportedQueryError(f"KQL {what} on field {name!r}")


def _keyword_or_free_text(value: _Literal) -> Node:
    """A value without a field: Kibana's default-field search, modelled as a Keyword glob."""
    parts = value.parts if not value.quoted else (_WILD, value.text, _WILD)
    if value.typed == "null":
        raise UnsupportedQueryError("KQL free-text `null` is not evaluable")
    return Keyword(parts, case_sensitive=False, span=value.span)


def _split_query_string(parts: tuple[GlobPart, ...]) -> list[tuple[GlobPart, ...]]:
    """Split a wildcard value the way query_string splits its (unescaped) whitespace."""
    pieces: list[list[str | Wildcard]] = [[]]
    for part in parts:
        if isinstance(part, Wildcard):
            pieces[-1].append(part)
            continue
        for char in part:
            if char in _QS_WHITESPACE:
                pieces.append([])
            else:
                pieces[-1].append(char)
    result = [_merge(p) for p in pieces if p]
    for piece in result:
        if piece in (("AND",), ("OR",), ("NOT",)):
            raise UnsupportedQueryError(
                f"KQL wildcard value becomes a query_string where the word {piece[0]} is an "
                "operator; not evaluable"
            )
    return result


def _one_or_many(nodes: list[Node], span: Span) -> Node:
    return nodes[0] if len(nodes) == 1 else Or(tuple(nodes), span=span)


def _lower_is(field: _Literal | None, value: _Literal, fields: FieldModel | None) -> Node:
    """Lower one ``field:value`` (Kibana ``is`` function) for the field's mapped type."""
    span = value.span if field is None else Span(
        field.span.offset, value.span.offset + value.span.length - field.span.offset
    )
    if field is None:
        return _keyword_or_free_text(value)
    if not field.quoted and field.parts == (_WILD,):
        if not value.quoted and value.parts == (_WILD,):
            return Const(True, span=span)  # `*:*` is match_all
        raise UnsupportedQueryError("KQL `*:value` searches every field; not evaluable")
    name = _field_name(field)
    info: FieldInfo | None = fields.lookup(name) if fields is not None else None
    source = info.source if info is not None else name
    es_type = info.type if info is not None else ""
    common: dict[str, Any] = {"field": source, "missing": _MISSING, "span": span}
    if number_coercion(es_type):
        common["coerce"] = number_coercion(es_type)
    if info is not None and info.ignore_above is not None:
        common["max_length"] = info.ignore_above
        common["limited_by"] = getattr(info, "name", name)

    if not value.quoted and value.parts == (_WILD,):
        return Exists(**common)  # `field:*` (exists_value)
    if value.typed == "null":
        raise _unsupported(name, "`null` literal (a term query with a null value)")

    if es_type == "keyword":  # keyword_path: term / wildcard queries
        normalizer = info.normalizer if info is not None else None
        if normalizer not in (None, "lowercase"):
            raise _unsupported(name, f"custom normalizer {normalizer!r}")
        lower = normalizer == "lowercase"  # normalizer_lowercase
        if value.has_wildcard:
            # The normalizer lowercases query text per code point too (normalizer_folding).
            parts = tuple(simple_lower(p) if lower and isinstance(p, str) else p for p in value.parts)
            return Glob(parts=parts, case_sensitive=not lower, lowercase_value=lower, **common)
        text = simple_lower(value.text) if lower else value.text
        return Equals(value=text, case_sensitive=not lower, lowercase_value=lower, **common)

    pattern = value.parts if value.has_wildcard else None
    return lower_non_keyword(name, es_type, info, value.text, value.quoted, pattern, common, span)



def lower_non_keyword(
    name: str,
    es_type: str,
    info: FieldInfo | None,
    text: str,
    quoted: bool,
    pattern: tuple[GlobPart, ...] | None,
    common: dict[str, Any],
    span: Span,
) -> Node:
    """The leaf for a field that is not ``keyword``: match / match_phrase, or for a ``pattern``
    (its glob parts, every ``*`` live) a query_string split on whitespace. Kibana's is.ts and
    Elasticsearch's KqlAstBuilder translate these alike, so both KQL interpreters use it.
    """
    if es_type in TEXT_TYPES:
        analyzer = (info.analyzer if info is not None else None) or "standard"
        if pattern is not None:  # text_wildcard: query_string terms against tokens
            pieces = _split_query_string(pattern)
            return _one_or_many(
                [Text(parts=p, phrase=False, analyzer=analyzer, **common) for p in pieces], span
            )
        return Text(parts=(text,), phrase=quoted, analyzer=analyzer, **common)

    if es_type in NUMERIC_TYPES:
        if pattern is not None:
            raise _unsupported(name, "wildcard on a numeric field (an Elasticsearch error)")
        return Equals(value=_number(name, text, es_type), **common)

    if es_type == "boolean":
        if text not in ("true", "false") or pattern is not None:
            raise _unsupported(name, f"value {text!r} on a boolean field")
        return Equals(value=text == "true", **common)

    if es_type == "ip":
        if pattern is not None:
            raise _unsupported(name, "wildcard on an ip field (an Elasticsearch error)")
        try:  # ip_cidr: a single address is the /32 (/128) network, which normalises IPv6
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise _unsupported(name, f"non-IP value {text!r} on an ip field") from None
        return Cidr(network=str(network), **common)

    if es_type in _EXACT_NON_KEYWORD or info is None:
        # Non-keyword path (unknown_field, wildcard_field_plain): match / match_phrase compare the
        # whole value; a wildcard value goes to query_string, split on whitespace.
        if pattern is None:
            return Equals(value=text, case_sensitive=True, **common)
        pieces = _split_query_string(pattern)
        nodes: list[Node] = [
            Glob(parts=p, case_sensitive=True, **common)
            if _WILD in p
            else Equals(value="".join(str(x) for x in p), case_sensitive=True, **common)
            for p in pieces
        ]
        return _one_or_many(nodes, span)

    raise _unsupported(name, f"match on a field of type {es_type!r}")


def _number(name: str, text: str, es_type: str) -> int | float:
    """Parse a numeric query value the way the numeric field type accepts it."""
    try:
        if es_type in INTEGER_TYPES:
            return int(text)
        return float(text)
    except ValueError:
        raise _unsupported(name, f"value {text!r} on a {es_type} field") from None


def _lower_range(field: _Literal, op: str, value: _Literal, fields: FieldModel | None) -> Node:
    """Lower ``field < value`` (Kibana ``range``) for numeric and keyword-like fields."""
    name = _field_name(field)
    if value.has_wildcard or value.typed == "null":
        raise _unsupported(name, f"range with value {value.text!r}")
    info = fields.lookup(name) if fields is not None else None
    es_type = info.type if info is not None else ""
    span = Span(field.span.offset, value.span.offset + value.span.length - field.span.offset)
    common: dict[str, Any] = {
        "field": info.source if info is not None else name,
        "missing": _MISSING,
        "op": CompareOp(op),
        "span": span,
    }
    if number_coercion(es_type):
        common["coerce"] = number_coercion(es_type)
    if es_type in NUMERIC_TYPES:
        return Compare(value=_number(name, value.text, es_type), **common)
    if es_type in ("keyword", "wildcard") and (info is None or info.normalizer is None):
        return Compare(value=value.text, **common)  # lexicographic (range)
    if info is None:
        # Unknown mapping: a numeric-looking bound is taken as a number, anything else as text.
        try:
            return Compare(value=_number(name, value.text, "long"), **common)
        except UnsupportedQueryError:
            return Compare(value=value.text, **common)
    raise _unsupported(name, f"range on a field of type {es_type!r}")
