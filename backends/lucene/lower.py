"""Lowering of single query_string clauses (term, phrase, regex, range) to shared-tree leaves.

What a clause means depends on the field's mapping: keyword-like fields compare whole values
(case-sensitively unless a lowercase normalizer lowercases both sides), analysed text fields match
tokens, numeric/ip/boolean fields parse the term. Each branch cites its ``LUCENE_SEMANTICS`` entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

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
    Regex,
    RegexDialect,
    Span,
    Text,
    Wildcard,
)
from ..query.errors import QueryParseError, UnsupportedQueryError
from ..query.folding import lower1, simple_lower
from .semantics import LUCENE_SEMANTICS

if TYPE_CHECKING:
    from ..query.fields import FieldModel

ErrorFactory = Callable[[str, Any], QueryParseError]

EXISTS_FIELD = "_exists_"
KEYWORD_TYPES = frozenset({"keyword", "constant_keyword", "wildcard"})
TEXT_TYPES = frozenset({"text", "match_only_text"})
NUMERIC_TYPES = frozenset(
    {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float",
     "unsigned_long"}
)
_RANGE_BODY = re.compile(
    r'^([\[{])[ \t\n\r\u3000]*("(?:[^"\\]|\\.)*"|[^ \t\n\r\u3000"]+)[ \t\n\r\u3000]+TO'
    r'[ \t\n\r\u3000]+("(?:[^"\\]|\\.)*"|[^ \t\n\r\u3000"]+)[ \t\n\r\u3000]*([\]}])$',
    re.S,
)
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True)
class FieldView:
    """What the interpreter needs to know about a queried field.

    Attributes:
        name: the field as written in the query (``process.name.caseless``).
        source: the event field whose value is indexed (``process.name``).
        kind: ``keyword``, ``text``, ``numeric``, ``boolean``, ``ip``, ``date`` or the raw ES type.
        lowercase: the field has a ``lowercase`` normalizer.
        max_length: keyword ``ignore_above``.
        analyzer: analyzer of a text field.
        known: False when the field model does not know the field (treated as keyword).
    """

    name: str
    source: str
    kind: str
    lowercase: bool = False
    max_length: int | None = None
    analyzer: str = "standard"
    known: bool = True

    @property
    def limit(self) -> dict[str, Any]:
        """Leaf arguments for the length limit: ``max_length`` and the field it belongs to."""
        if self.max_length is None:
            return {}
        return {"max_length": self.max_length, "limited_by": self.name}


def resolve_field(
    name: str, fields: FieldModel | None, error: ErrorFactory, token: Any
) -> FieldView:
    """Describe the field ``name`` (already unescaped) using the field model."""
    name = unescape(name)
    if "*" in name or "?" in name:
        raise UnsupportedQueryError(f"field-name pattern {name!r} expands over the mapping")
    if name == EXISTS_FIELD:
        return FieldView(name, name, EXISTS_FIELD)
    info = fields.lookup(name) if fields is not None else None
    if info is None:
        # LUCENE_SEMANTICS "unknown_field": exact, case-sensitive keyword.
        return FieldView(name, name, "keyword", known=False)
    es_type = str(info.type)
    normalizer = getattr(info, "normalizer", None)
    if normalizer not in (None, "lowercase"):
        raise UnsupportedQueryError(f"field {name} uses normalizer {normalizer!r}")
    if es_type in KEYWORD_TYPES:
        kind = "keyword"
    elif es_type in TEXT_TYPES:
        kind = "text"
    elif es_type in NUMERIC_TYPES:
        kind = "numeric"
    elif es_type in ("date", "date_nanos"):
        kind = "date"
    else:
        kind = es_type
    return FieldView(
        name,
        str(info.source or name),
        kind,
        lowercase=normalizer == "lowercase",
        max_length=getattr(info, "ignore_above", None) if kind == "keyword" else None,
        analyzer=getattr(info, "analyzer", None) or "standard",
    )


def unescape(text: str) -> str:
    """Lucene ``discardEscapeChar``: ``\\x`` is the literal x, ``\\uXXXX`` a code point."""
    out = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "u" and re.match(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6]):
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append(nxt)
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _wildcard_parts(image: str, lowercase: bool) -> tuple[GlobPart, ...]:
    """Split a raw wildcard term into literal runs and wildcards.

    Under a lowercase normalizer unescaped text is lowercased but escaped characters are kept as
    written (LUCENE_SEMANTICS "normalizer_lowercase": StringFieldType.wildcardQuery).
    """
    parts: list[GlobPart] = []
    buf: list[str] = []
    i = 0
    while i < len(image):
        char = image[i]
        if char == "\\" and i + 1 < len(image):
            buf.append(image[i + 1])
            i += 2
            continue
        if char in "*?":
            if buf:
                parts.append("".join(buf))
                buf = []
            parts.append(Wildcard.ANY if char == "*" else Wildcard.ONE)
        else:
            buf.append(lower1(char) if lowercase else char)
        i += 1
    if buf:
        parts.append("".join(buf))
    return tuple(parts)


def _has_wildcard(image: str) -> bool:
    i = 0
    while i < len(image):
        if image[i] == "\\":
            i += 2
            continue
        if image[i] in "*?":
            return True
        i += 1
    return False


def _escaped_upper(image: str) -> bool:
    """True when an escaped character would differ from its lowercase form."""
    i = 0
    while i < len(image) - 1:
        if image[i] == "\\":
            if lower1(image[i + 1]) != image[i + 1]:
                return True
            i += 2
            continue
        i += 1
    return False


def _is_prefix(image: str) -> bool:
    """Lucene PREFIXTERM: one trailing unescaped '*' and no other wildcard."""
    return image.endswith("*") and len(image) > 1 and not _has_wildcard(image[:-1]) and (
        (len(image) - 1 - len(image[:-1].rstrip("\\"))) % 2 == 0
    )


def _number(text: str, field: FieldView, token: Any) -> int | float:
    if not _NUMBER.match(text):
        raise UnsupportedQueryError(
            f"{text!r} is not a number, so ES rejects it for numeric field {field.name}"
        )
    value = float(text)
    return int(value) if value.is_integer() and re.match(r"^[+-]?\d+$", text) else value


def _scalar(text: str, field: FieldView, span: Span | None, token: Any) -> Node:
    """Whole-value equality of one unescaped term or phrase text."""
    kind = field.kind
    if kind == EXISTS_FIELD:
        return Exists(field=text, span=span)
    if kind == "numeric":
        return Equals(field=field.source, value=_number(text, field, token), span=span)
    if kind == "boolean":
        if text not in ("true", "false"):
            raise UnsupportedQueryError(f"{text!r} is not a boolean for field {field.name}")
        return Equals(field=field.source, value=text == "true", span=span)
    if kind == "ip":
        # LUCENE_SEMANTICS "ip_cidr": 'a.b.c.d/n' is a network; a bare address is itself.
        network = text if "/" in text else text + ("/128" if ":" in text else "/32")
        return Cidr(field=field.source, network=network, span=span)
    if kind == "keyword":
        return Equals(
            field=field.source,
            value=simple_lower(text) if field.lowercase else text,
            case_sensitive=True,
            lowercase_value=field.lowercase,
            **field.limit,
            span=span,
        )
    raise UnsupportedQueryError(f"field {field.name} of type {kind} is not supported")


def _range_value(text: str, field: FieldView, token: Any) -> str | int | float | None:
    if text == "*":
        return None
    if field.kind == "numeric" or (not field.known and _NUMBER.match(text)):
        return _number(text, field, token)
    if field.kind == "keyword" and not field.lowercase:
        return text
    raise UnsupportedQueryError(f"range on field {field.name} of type {field.kind}")


def _compare(
    field: FieldView, op: CompareOp, text: str, span: Span | None, token: Any
) -> Node:
    value = _range_value(text, field, token)
    if value is None:
        return Exists(field=field.source, **field.limit, span=span)
    return Compare(field=field.source, op=op, value=value, **field.limit, span=span)


def lower_term(
    image: str, field: FieldView | None, span: Span | None, error: ErrorFactory, token: Any
) -> Node:
    """An unquoted term: exact value, prefix, wildcard, one-sided range or exists."""
    if field is None:
        # A bare term searches the default fields (index.query.default_field, '*' by default).
        return Keyword(parts=_wildcard_parts(image, False), case_sensitive=True, span=span)
    if field.kind == EXISTS_FIELD:
        return Exists(field=unescape(image), span=span)
    if image == "*":
        # LUCENE_SEMANTICS "exists_pure_wildcard".
        return Exists(field=field.source, **field.limit, span=span)
    if _has_wildcard(image):
        if field.kind == "text":
            return Text(field=field.source, parts=_wildcard_parts(image, False),
                        analyzer=field.analyzer, span=span)
        if field.kind != "keyword":
            raise UnsupportedQueryError(f"wildcard on field {field.name} of type {field.kind}")
        if field.lowercase and not _is_prefix(image) and _escaped_upper(image):
            # In a wildcard (not prefix) term an escaped letter stays unnormalised, so it can
            # never match a lowercased value.
            return Const(False, span=span)
        if _is_prefix(image):
            # PREFIXTERM: unescaped as a whole, then normalised as a whole.
            prefix = unescape(image[:-1])
            parts: tuple[GlobPart, ...] = (simple_lower(prefix) if field.lowercase else prefix,
                                           Wildcard.ANY)
        else:
            parts = _wildcard_parts(image, field.lowercase)
        return Glob(field=field.source, parts=parts, case_sensitive=True,
                    lowercase_value=field.lowercase, **field.limit, span=span)
    text = unescape(image)
    if len(text) > 1 and text[0] in "<>":
        # LUCENE_SEMANTICS "range_prefix_lt_gt": escaping does not prevent this.
        if text[0] == ">":
            op, rest = (CompareOp.GTE, text[2:]) if len(text) > 2 and text[1] == "=" else (
                CompareOp.GT, text[1:])
        else:
            op, rest = (CompareOp.LTE, text[2:]) if len(text) > 2 and text[1] == "=" else (
                CompareOp.LT, text[1:])
        return _compare(field, op, rest, span, token)
    if field.kind == "text":
        return Text(field=field.source, parts=(text,), analyzer=field.analyzer, span=span)
    return _scalar(text, field, span, token)


def lower_phrase(
    inner: str, field: FieldView | None, span: Span | None, error: ErrorFactory, token: Any
) -> Node:
    """A quoted phrase: no wildcards; exact whole value on keyword, adjacent tokens on text."""
    text = unescape(inner)
    if field is None:
        return Keyword(parts=(text,) if text else (), case_sensitive=True, span=span)
    if field.kind == "text":
        return Text(field=field.source, parts=(text,), phrase=True, analyzer=field.analyzer,
                    span=span)
    return _scalar(text, field, span, token)


def lower_regex(
    pattern: str, field: FieldView | None, span: Span | None, error: ErrorFactory, token: Any
) -> Node:
    """A ``/regex/`` term: Lucene RegExp over the whole value, never normalised."""
    if field is None or field.kind != "keyword":
        where = "the default fields" if field is None else f"{field.kind} field {field.name}"
        raise UnsupportedQueryError(f"regular expression on {where}")
    return Regex(
        field=field.source,
        pattern=pattern,
        dialect=RegexDialect.LUCENE,
        anchored=bool(LUCENE_SEMANTICS.get("regex_anchored")),
        case_sensitive=True,
        lowercase_value=field.lowercase,
        **field.limit,
        span=span,
    )


def lower_range(
    body: str, field: FieldView | None, span: Span | None, error: ErrorFactory, token: Any
) -> Node:
    """``[a TO b]`` / ``{a TO b}`` (mixed brackets allowed) as one or two comparisons."""
    match = _RANGE_BODY.match(body)
    if not match:
        raise error("malformed range: expected [low TO high] or {low TO high}", token)
    if field is None or field.kind == EXISTS_FIELD:
        raise UnsupportedQueryError("range without a field")
    opener, low, high, closer = match.groups()
    low = unescape(low[1:-1]) if low.startswith('"') else unescape(low)
    high = unescape(high[1:-1]) if high.startswith('"') else unescape(high)
    nodes = []
    for text, op in ((low, CompareOp.GTE if opener == "[" else CompareOp.GT),
                     (high, CompareOp.LTE if closer == "]" else CompareOp.LT)):
        nodes.append(_compare(field, op, text, span, token))
    bounded = [n for n in nodes if isinstance(n, Compare)]
    if not bounded:
        return nodes[0]
    return bounded[0] if len(bounded) == 1 else And(tuple(bounded), span=span)
