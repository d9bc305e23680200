"""Lowering of ES|QL's lark tree (``grammar.lark``) to the shared query tree, consulting
``SEMANTICS``.

Operands lower to small values first (a field, ``TO_LOWER`` of a field, a literal); each
predicate then builds its leaf from the field's mapping in the ``FieldModel``: the source field,
``ignore_above``, a ``lowercase`` normalizer, number coercion, and what several values make of
the test (``multi_valued``, ``multi_valued_duplicates``). Every leaf is null on a missing field
(``null_operand``). What the interpreter does not model (text fields, a string test on a
numeric field, functions beyond the ones below, other processing commands) raises
``UnsupportedQueryError`` with the reason; a test ES|QL's verifier rejects raises
``QueryParseError`` at the operand. ``KQL()`` hands its string to the kql-es interpreter, ``QSTR()`` to the lucene one.
Nothing here imports the emitter.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable

from lark import Token, Transformer

from ..kql_es.parser import parse as parse_kql
from ..lucene.parser import parse as parse_lucene
from ..query.ast import (
    And,
    Cidr,
    Compare,
    CompareOp,
    MIRROR,
    Const,
    Equals,
    Exists,
    FieldEquals,
    Fold,
    Glob,
    GlobPart,
    MultiValued,
    Node,
    Not,
    Or,
    Regex,
    RegexDialect,
    Span,
    Wildcard,
)
from ..query.errors import QueryParseError, UnsupportedQueryError
from ..query.fields import NUMERIC_TYPES, number_coercion
from .operands import Field, Literal, Lowered, Name, decode_string, join_spans, token_span
from .semantics import LANGUAGE, SEMANTICS

if TYPE_CHECKING:  # the field model is another module's; only its interface is used here
    from ..query.fields import FieldInfo, FieldModel

_MISSING = SEMANTICS.missing("null_operand")
_DUPLICATES: dict[str, MultiValued] = SEMANTICS.typed("multi_valued_duplicates", dict)
_WILDCARDS: dict[str, Wildcard] = SEMANTICS.typed("like_wildcards", dict)
_ESCAPE = str(SEMANTICS.get("like_escape"))
_TO_LOWER = SEMANTICS.typed("to_lower_readings", Fold)
_DIALECT = SEMANTICS.typed("rlike_dialect", RegexDialect)
_STRING_TYPES = frozenset(SEMANTICS.typed("field_types", tuple))
_OPS = {op.value: op for op in CompareOp}


class Lowering(Transformer):  # type: ignore[type-arg]
    """Turn lark's tree of one ES|QL query into the shared tree."""

    def __init__(self, text: str, fields: FieldModel | None) -> None:
        super().__init__()
        self._text = text
        self._fields = fields

    # --- tokens --------------------------------------------------------------------------------

    def QUOTED_STRING(self, token: Token) -> Literal:  # noqa: N802 - lark terminal callback
        return Literal(decode_string(str(token)), token_span(token))

    def TRIPLE_STRING(self, token: Token) -> Literal:  # noqa: N802
        return Literal(decode_string(str(token)), token_span(token))

    def UNQUOTED_IDENTIFIER(self, token: Token) -> Name:  # noqa: N802
        return Name(str(token), token_span(token))

    def QUOTED_IDENTIFIER(self, token: Token) -> Name:  # noqa: N802
        return Name(str(token)[1:-1].replace("``", "`"), token_span(token))

    # --- commands ------------------------------------------------------------------------------

    def start(self, children: list[Any]) -> Node:
        conditions = [c for c in children[1:] if isinstance(c, Node)]
        if not conditions:
            return Const(True)
        return conditions[0] if len(conditions) == 1 else And(tuple(conditions))

    def from_command(self, children: list[Any]) -> None:
        return None  # which indices: the events checked are the data source's

    def metadata(self, children: list[Any]) -> None:
        return None  # METADATA only makes metadata fields readable

    def where(self, children: list[Any]) -> Node:
        return self._condition(children[-1])

    def other_command(self, children: list[Any]) -> Node:
        raise UnsupportedQueryError(
            f"the ES|QL {str(children[0]).upper()} command: sigport evaluates FROM and WHERE only"
        )

    # --- boolean structure ---------------------------------------------------------------------

    def or_(self, children: list[Any]) -> Node:
        return Or(tuple(self._condition(c) for c in children if not isinstance(c, Token)))

    def and_(self, children: list[Any]) -> Node:
        return And(tuple(self._condition(c) for c in children if not isinstance(c, Token)))

    def not_(self, children: list[Any]) -> Node:
        return Not(self._condition(children[-1]))

    def _condition(self, value: Any) -> Node:
        """A WHERE operand as a condition: a predicate, or the constant true / false."""
        if isinstance(value, Node):
            return value
        if isinstance(value, Literal) and isinstance(value.value, bool):
            return Const(value.value, span=value.span)
        if isinstance(value, Literal) and value.value is None:
            raise UnsupportedQueryError("an ES|QL condition that is the constant null")
        if isinstance(value, Field):
            raise UnsupportedQueryError(f"a field as a condition ({value.name}: a boolean field?)")
        raise self._error("not a condition (a boolean expression)", value)

    # --- operands ------------------------------------------------------------------------------

    def field(self, children: list[Name]) -> Field:
        span = join_spans(children[0].span, children[-1].span)
        return Field(".".join(n.text for n in children), span)

    def integer(self, children: list[Token]) -> Literal:
        return Literal(int(children[0]), token_span(children[0]))

    def decimal(self, children: list[Token]) -> Literal:
        return Literal(float(children[0]), token_span(children[0]))

    def true(self, children: list[Token]) -> Literal:
        return Literal(True, token_span(children[0]))

    def false(self, children: list[Token]) -> Literal:
        return Literal(False, token_span(children[0]))

    def null(self, children: list[Token]) -> Literal:
        return Literal(None, token_span(children[0]))

    def negate(self, children: list[Any]) -> Literal:
        value = children[0]
        if isinstance(value, Literal) and type(value.value) in (int, float):
            return Literal(-value.value, value.span)  # type: ignore[operator]
        raise UnsupportedQueryError("ES|QL arithmetic (unary minus on a non-number)")

    def comparison_op(self, children: list[Token]) -> str:
        return str(children[0])

    def pattern_arg(self, children: list[Literal]) -> list[Literal]:
        return children

    def map_entry(self, children: list[Any]) -> tuple[str, Any]:
        return str(children[0].value), children[1].value

    def map_literal(self, children: list[Any]) -> dict[str, Any]:
        return dict(c for c in children if c is not None)

    # --- predicates ----------------------------------------------------------------------------

    def like(self, children: list[Any]) -> Node:
        subject, patterns = children[0], children[-1]
        field, lowered = self._subject(subject, "LIKE")
        leaves = [self._like(field, lowered, p) for p in patterns]
        return _negated(children, _one_or(leaves))

    def rlike(self, children: list[Any]) -> Node:
        subject, patterns = children[0], children[-1]
        field, lowered = self._subject(subject, "RLIKE")
        if lowered:
            raise UnsupportedQueryError(
                "TO_LOWER(...) RLIKE: a Lucene regex under ES|QL's candidate case foldings"
            )
        common = self._common(field, "RLIKE", string=True)
        leaves: list[Node] = [
            Regex(pattern=str(p.value), dialect=_DIALECT, anchored=True, **common) for p in patterns
        ]
        return _negated(children, _one_or(leaves))

    def in_(self, children: list[Any]) -> Node:
        subject = children[0]
        items = [c for c in children[1:] if not isinstance(c, Token)]
        for item in items:
            if not isinstance(item, Literal) or item.value is None:
                raise UnsupportedQueryError("ES|QL IN with a list item that is not a literal")
        leaves = [self._equals(subject, item) for item in items]
        return _negated(children, _one_or(leaves))

    def is_null(self, children: list[Any]) -> Node:
        subject = children[0]
        if not isinstance(subject, Field):
            raise UnsupportedQueryError("ES|QL IS NULL on an expression other than a field")
        common = self._common(subject, "IS NULL", string=False)
        keys = ("field", "max_length", "limited_by", "span")
        exists = Exists(**{k: common[k] for k in keys if k in common})
        negated = any(isinstance(c, Token) and c.type == "NOT" for c in children)
        return exists if negated else Not(exists)

    def comparison(self, children: list[Any]) -> Node:
        left, op, right = children
        if isinstance(left, Literal) and not isinstance(right, Literal):
            left, right, op = right, left, MIRROR[op]
        if isinstance(right, Field) and isinstance(left, Field) and op in ("==", "!="):
            node: Node = self._field_equals(left, right)
            return Not(node) if op == "!=" else node
        if not isinstance(right, Literal) or right.value is None:
            raise UnsupportedQueryError(f"ES|QL comparison {op} of two expressions")
        if op == "==":
            return self._equals(left, right)
        if op == "!=":
            return Not(self._equals(left, right))
        field, lowered = self._subject(left, op)
        if lowered or isinstance(right.value, bool):
            raise UnsupportedQueryError(f"ES|QL {op} on TO_LOWER() or a boolean")
        numeric = not isinstance(right.value, str)
        common = self._common(field, op, string=not numeric, number=numeric)
        return Compare(op=_OPS[op], value=right.value, **common)

    def function_call(self, children: list[Any]) -> Any:
        name, args = children[0].text.upper(), [a for a in children[1:] if a is not None]
        handler = _FUNCTIONS.get(name)
        if handler is None:
            raise UnsupportedQueryError(f"the ES|QL function {name}(): not evaluated by sigport")
        return handler(self, name, args, children[0].span)

    # --- functions -----------------------------------------------------------------------------

    def _to_lower(self, name: str, args: list[Any], span: Span) -> Lowered:
        if len(args) != 1 or not isinstance(args[0], Field):
            raise UnsupportedQueryError(f"{name}() of anything but one field")
        return Lowered(args[0], join_spans(span, args[0].span))

    def _to_upper(self, name: str, args: list[Any], span: Span) -> Lowered:
        raise UnsupportedQueryError(
            "TO_UPPER(): Java's String.toUpperCase (full mapping, 'ß' to 'SS') is not a reading "
            "sigport evaluates"
        )

    def _affix(self, name: str, args: list[Any], span: Span) -> Node:
        if len(args) != 2 or not isinstance(args[1], Literal) or not isinstance(args[1].value, str):
            raise UnsupportedQueryError(f"{name}() without a string literal as its second argument")
        field, lowered = self._subject(args[0], name)
        text = args[1].value
        if lowered:
            self._lowercase_only(text, args[1])
        parts: tuple[GlobPart, ...] = (text, Wildcard.ANY) if name == "STARTS_WITH" else (
            Wildcard.ANY, text
        )
        parts = tuple(p for p in parts if p != "")
        return Glob(parts=parts or (Wildcard.ANY,), **self._string_case(field, lowered, name))

    def _cidr_match(self, name: str, args: list[Any], span: Span) -> Node:
        if len(args) < 2 or not isinstance(args[0], Field):
            raise UnsupportedQueryError("CIDR_MATCH() takes a field and one or more blocks")
        common = self._common(args[0], name, string=False)
        if self._type(args[0]) not in ("ip", ""):
            raise self._error(f"CIDR_MATCH() takes an ip field, not a {self._type(args[0])}", args[0])
        leaves: list[Node] = []
        for block in args[1:]:
            if not isinstance(block, Literal) or not isinstance(block.value, str):
                raise UnsupportedQueryError("CIDR_MATCH() with a block that is not a string literal")
            leaves.append(Cidr(network=block.value, **common))
        return _one_or(leaves)

    def _kql(self, name: str, args: list[Any], span: Span) -> Node:
        if not args or not isinstance(args[0], Literal) or not isinstance(args[0].value, str):
            raise UnsupportedQueryError("KQL() without a string literal query")
        if len(args) > 2 or (len(args) == 2 and not isinstance(args[1], dict)):
            raise self._error("KQL() takes a query string and an options map", args[0])
        options = args[1] if len(args) == 2 else {}
        return parse_kql(json.dumps({"kql": {"query": args[0].value, **options}}), self._fields)

    def _qstr(self, name: str, args: list[Any], span: Span) -> Node:
        """QSTR(query): the query_string query, read by the lucene interpreter (``qstr_function``);
        like every full-text function it matches when any value of a field does
        (``full_text_multi_valued``)."""
        if len(args) != 1 or not isinstance(args[0], Literal) or not isinstance(args[0].value, str):
            raise UnsupportedQueryError(
                "QSTR() other than with one string literal (its options map is not evaluated: "
                f"{SEMANTICS.entries['qstr_function'].note})"
            )
        return parse_lucene(args[0].value, self._fields)

    # --- leaves --------------------------------------------------------------------------------

    def _subject(self, operand: Any, what: str) -> tuple[Field, bool]:
        """The field a test reads and whether it is read through TO_LOWER."""
        if isinstance(operand, Lowered):
            return operand.field, True
        if isinstance(operand, Field):
            return operand, False
        raise UnsupportedQueryError(f"ES|QL {what} on an operand that is not a field")

    def _info(self, field: Field) -> FieldInfo | None:
        if self._fields is None:
            return None
        info = self._fields.lookup(field.name)
        if info is None:
            raise UnsupportedQueryError(
                f"ES|QL field {field.name!r} is not in the {self._fields.name} field model: how "
                "ES|QL reads it depends on how the index maps it"
            )
        return info

    def _type(self, field: Field) -> str:
        info = self._info(field)
        return info.type if info is not None else ""

    def _common(
        self, field: Field, what: str, string: bool, number: bool = False
    ) -> dict[str, Any]:
        """The leaf attributes every test of ``field`` shares (mapping, nulls, several values)."""
        info = self._info(field)
        es_type = info.type if info is not None else ""
        if string and es_type and es_type not in _STRING_TYPES:
            if es_type in ("text", "match_only_text"):
                raise UnsupportedQueryError(
                    f"ES|QL {what} on text field {field.name!r}: "
                    f"{SEMANTICS.entries['field_types'].note}"
                )
            raise self._error(f"{what} takes a string; {field.name} is a {es_type} field", field)
        if number and es_type in _STRING_TYPES:
            raise self._error(
                f"{what} compares a number with {field.name}, a {es_type} field "
                f"({SEMANTICS.entries['equals_types'].doc}: a verification error)", field
            )
        if number and es_type not in NUMERIC_TYPES:
            raise UnsupportedQueryError(
                f"ES|QL {what} with a number on {field.name!r} ({es_type or 'unmapped'})"
            )
        common: dict[str, Any] = {
            "field": info.source if info is not None else field.name,
            "missing": _MISSING,
            "multi_valued": _DUPLICATES.get(es_type, MultiValued.NULL),
            "span": field.span,
        }
        if number_coercion(es_type):
            common["coerce"] = number_coercion(es_type)
        if info is not None and info.ignore_above is not None:
            common["max_length"] = info.ignore_above
            common["limited_by"] = info.name
        return common

    def _string_case(self, field: Field, lowered: bool, what: str) -> dict[str, Any]:
        """``_common`` of a string test, with its case rule (TO_LOWER, a lowercase normalizer)."""
        common = self._common(field, what, string=True)
        info = self._info(field)
        normalizer = info.normalizer if info is not None else None
        if normalizer not in (None, "lowercase"):
            raise UnsupportedQueryError(f"ES|QL {what} on a field with normalizer {normalizer!r}")
        common["lowercase_value"] = normalizer == "lowercase"
        common["case_sensitive"] = not lowered
        if lowered:
            common["fold"] = _TO_LOWER
        return common

    def _lowercase_only(self, text: str, where: Literal) -> None:
        """TO_LOWER(...) compared with text holding an upper-case letter (``to_lower_readings``)."""
        if text.lower() != text:
            raise UnsupportedQueryError(
                f"TO_LOWER(...) compared with {text[:40]!r}, which is not lower case: "
                f"{SEMANTICS.entries['to_lower_readings'].note}"
            )

    def _like(self, field: Field, lowered: bool, pattern: Literal) -> Node:
        parts = self._wildcard(str(pattern.value), pattern)
        if lowered:
            for part in parts:
                if isinstance(part, str):
                    self._lowercase_only(part, pattern)
        return Glob(parts=parts, **self._string_case(field, lowered, "LIKE"))

    def _wildcard(self, text: str, where: Literal) -> tuple[GlobPart, ...]:
        """A LIKE pattern's glob (``like_wildcards``, ``like_escape``)."""
        parts: list[GlobPart] = []
        i = 0
        while i < len(text):
            char = text[i]
            if char == _ESCAPE:
                following = text[i + 1:i + 2]
                if following not in ("*", "?", _ESCAPE):
                    raise UnsupportedQueryError(
                        f"LIKE pattern {text[:60]!r}: a backslash before {following or 'the end'!r}:"
                        f" {SEMANTICS.entries['like_escape'].note}"
                    )
                item: GlobPart = following
                i += 2
            else:
                item = _WILDCARDS.get(char, char)
                i += 1
            if isinstance(item, str) and parts and isinstance(parts[-1], str):
                parts[-1] += item
            else:
                parts.append(item)
        return tuple(parts)

    def _equals(self, subject: Any, value: Literal) -> Node:
        field, lowered = self._subject(subject, "==")
        if value.value is None:
            raise UnsupportedQueryError("ES|QL == null (always null)")
        if isinstance(value.value, str):
            if lowered:
                self._lowercase_only(value.value, value)
            return Equals(value=value.value, **self._string_case(field, lowered, "=="))
        if lowered:
            raise self._error("TO_LOWER() compared with a non-string", value)
        if isinstance(value.value, bool):
            common = self._common(field, "==", string=False)
            if self._type(field) not in ("boolean", ""):
                raise UnsupportedQueryError(f"ES|QL == a boolean on {field.name!r}")
            return Equals(value=value.value, **common)
        return Equals(value=value.value, **self._common(field, "==", string=False, number=True))

    def _field_equals(self, left: Field, right: Field) -> Node:
        types = {self._type(left), self._type(right)}
        if not types <= _STRING_TYPES | {""}:
            raise UnsupportedQueryError(f"ES|QL == of two fields of types {sorted(types)}")
        common = self._common(left, "==", string=True)
        other = self._info(right)
        if common.get("max_length") != (other.ignore_above if other is not None else None):
            # The evaluator applies one limit to both sides.
            raise UnsupportedQueryError(
                "ES|QL == of two fields with different length limits (ignore_above)"
            )
        multi = {common["multi_valued"], _DUPLICATES.get(self._type(right), MultiValued.NULL)}
        common["multi_valued"] = multi.pop() if len(multi) == 1 else MultiValued.NULL
        return FieldEquals(other=other.source if other is not None else right.name, **common)

    def _error(self, message: str, operand: Any) -> QueryParseError:
        span = getattr(operand, "span", None) or Span(0, 1)
        return QueryParseError(message, self._text, span.offset, span.length, LANGUAGE)


_FUNCTIONS: dict[str, Callable[[Lowering, str, list[Any], Span], Any]] = {
    "TO_LOWER": Lowering._to_lower,
    "TO_UPPER": Lowering._to_upper,
    "STARTS_WITH": Lowering._affix,
    "ENDS_WITH": Lowering._affix,
    "CIDR_MATCH": Lowering._cidr_match,
    "KQL": Lowering._kql,
    "QSTR": Lowering._qstr,
}


def _one_or(nodes: list[Node]) -> Node:
    return nodes[0] if len(nodes) == 1 else Or(tuple(nodes))


def _negated(children: list[Any], node: Node) -> Node:
    """``node``, under NOT when the predicate was written ``NOT LIKE`` / ``NOT IN``."""
    if any(isinstance(c, Token) and c.type == "NOT" for c in children):
        return Not(node)
    return node
