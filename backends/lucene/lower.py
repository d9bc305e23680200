"""Lowering of the query_string lark tree to the shared query tree, consulting ``SEMANTICS``.

``Lowering`` rebuilds each group's flat clause list with Lucene's MUST/SHOULD/MUST_NOT flags; the
functions before it lower single clauses (term, phrase, regex, range) to leaves.

What a clause means depends on the field's mapping: keyword-like fields compare whole values
(case-sensitively unless a lowercase normalizer lowercases both sides), analysed text fields match
tokens, numeric/ip/boolean fields parse the term. Each branch cites its ``SEMANTICS`` entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from lark import Token, Tree

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
    Regex,
    RegexDialect,
    Span,
    Text,
    Wildcard,
)
from ..query.errors import QueryParseError, UnsupportedQueryError
from ..query.folding import lower1, simple_lower
from .fields import (
    EXISTS_FIELD,
    ErrorFactory,
    FieldView,
    describe_field,
    resolve_field,
    unescape,
)
from .semantics import LANGUAGE, SEMANTICS

if TYPE_CHECKING:
    from ..query.fields import FieldModel

_RANGE_BODY = re.compile(
    r'^([\[{])[ \t\n\r\u3000]*("(?:[^"\\]|\\.)*"|[^ \t\n\r\u3000"]+)[ \t\n\r\u3000]+TO'
    r'[ \t\n\r\u3000]+("(?:[^"\\]|\\.)*"|[^ \t\n\r\u3000"]+)[ \t\n\r\u3000]*([\]}])$',
    re.S,
)
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _wildcard_parts(image: str, lowercase: bool) -> tuple[GlobPart, ...]:
    """Split a raw wildcard term into literal runs and wildcards.

    Under a lowercase normalizer unescaped text is lowercased but escaped characters are kept as
    written (SEMANTICS "normalizer_lowercase": StringFieldType.wildcardQuery).
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


def _exists(name: str, field: FieldView, span: Span | None) -> Node:
    """``_exists_:name`` (``name`` unescaped): an exists query on the field it names, which
    reads its source field's value and, on a keyword field, only values within its
    ``ignore_above`` (SEMANTICS "exists_field")."""
    named = describe_field(name, field.model)
    if named.kind == EXISTS_FIELD:
        raise UnsupportedQueryError(f"{EXISTS_FIELD}:{EXISTS_FIELD} names no field")
    return Exists(field=named.source, **named.limit, span=span)


def _scalar(text: str, field: FieldView, span: Span | None, token: Any) -> Node:
    """Whole-value equality of one unescaped term or phrase text."""
    kind = field.kind
    if kind == EXISTS_FIELD:
        return _exists(text, field, span)
    if kind == "numeric":
        return Equals(field=field.source, value=_number(text, field, token), **field.limit,
                      span=span)
    if kind == "boolean":
        if text not in ("true", "false"):
            raise UnsupportedQueryError(f"{text!r} is not a boolean for field {field.name}")
        return Equals(field=field.source, value=text == "true", span=span)
    if kind == "ip":
        # SEMANTICS "ip_cidr": 'a.b.c.d/n' is a network; a bare address is itself.
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
        return _exists(unescape(image), field, span)
    if image == "*":
        # SEMANTICS "exists_pure_wildcard".
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
        # SEMANTICS "range_prefix_lt_gt": escaping does not prevent this.
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
    """A ``/regex/`` term: Lucene RegExp over the whole value, never normalised; one longer than
    ``index.max_regex_length``'s default fails the request (``regex_max_length``)."""
    limit = SEMANTICS.typed("regex_max_length", int)
    if len(pattern) > limit:
        raise UnsupportedQueryError(
            f"a regular expression of {len(pattern):,} characters: Elasticsearch rejects one "
            f"longer than index.max_regex_length ({limit:,} by default, regex_max_length)")
    if field is None or field.kind != "keyword":
        where = "the default fields" if field is None else f"{field.kind} field {field.name}"
        raise UnsupportedQueryError(f"regular expression on {where}")
    return Regex(
        field=field.source,
        pattern=pattern,
        dialect=RegexDialect.LUCENE,
        anchored=bool(SEMANTICS.get("regex_anchored")),
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


# --- the walk over one query ------------------------------------------------------------------

MUST, SHOULD, MUST_NOT = "must", "should", "must_not"


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


class Lowering:
    """Walks the lark tree of one query and builds the shared tree, consulting ``SEMANTICS``."""

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
            token = cast(Token, child.children[0])
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
        must_not: list[Node] = [
            Not(c.node, span=c.node.span) for c in clauses if c.occur == MUST_NOT
        ]
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
            fuzzy = cast(Token, value.children[1])
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
