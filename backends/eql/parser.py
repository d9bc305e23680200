"""Interpreter for Elasticsearch EQL: parse query text and lower it to the shared query tree.

Only single-event queries (``<category> where <condition>``, ``any where ...``) are evaluated;
sequences, samples, joins and pipes raise ``UnsupportedQueryError``. Every semantic choice made
while lowering (case per operator, wildcard characters, regex dialect and anchoring, missing-field
outcome, the event-category field) is read from ``backends.eql.semantics.SEMANTICS``.

This module never imports an emitter (``backends/eql/backend.py``): the interpreter must judge the
emitted text independently, or the equivalence proof would be circular.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError
from lark.lexer import PatternStr

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
    Node,
    Not,
    Or,
    Regex,
    Span,
)
from ..query.errors import QueryError, QueryParseError, UnsupportedQueryError, too_deep
from .semantics import SEMANTICS

if TYPE_CHECKING:  # the field model is optional and only duck-typed here
    from ..query.fields import FieldModel

LANGUAGE = "EQL"

_KEYWORDS = frozenset(
    "and or not where any in like regex true false null sequence sample join by with until".split()
)
_TEXT_TYPES = frozenset({"text", "match_only_text"})
_MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_COMPARE_OPS = {"<": CompareOp.LT, "<=": CompareOp.LTE, ">": CompareOp.GT, ">=": CompareOp.GTE}
# Query kinds that correlate several events; detected before parsing so the message names them.
_MULTI_EVENT = re.compile(r"(?:\s+|//[^\n]*|/\*.*?\*/)*(sequence|sample|join)\b", re.S)
# Friendly names of regex terminals for "expected ..." messages.
_TERMINAL_NAMES = {
    "NAME": "a field or category name",
    "TILDE_NAME": "a function name",
    "QUOTED_NAME": "a `quoted` field name",
    "STRING": "a string",
    "RAW_STRING": 'a raw """string"""',
    "INT": "a number",
    "DECIMAL": "a number",
    "BAD_STRING": "a string",
}


@functools.lru_cache(maxsize=1)
def _parser() -> Lark:
    """Build the LALR parser once (lazily, so importing this module does no work)."""
    grammar = Path(__file__).with_name("eql.lark").read_text(encoding="utf-8")
    return Lark(
        grammar,
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=True,
        start=["start", "expression"],
    )


def parse(text: str, fields: FieldModel | None = None) -> Node:
    """Parse an EQL query and lower it to the shared tree.

    Args:
        text: the query, e.g. ``process where process.name : "cmd.exe"``.
        fields: optional field model; a field it knows gets its indexed source field, its
            ``ignore_above`` limit and its lowercase normalizer applied to the leaf.

    Returns:
        The condition tree, with the event-category test folded in as a leaf.

    Raises:
        QueryParseError: the text is not valid Elasticsearch EQL (line, column and a hint).
        UnsupportedQueryError: valid EQL that cannot be evaluated on one event (sequence,
            sample, pipes, most functions).
    """
    match = _MULTI_EVENT.match(text)
    if match:
        kind = match.group(1)
        raise UnsupportedQueryError(
            f"{kind} queries correlate several events over time; sigport evaluates only "
            "single-event EQL queries (`<category> where <condition>`)"
        )
    return _run(text, "start", fields)


def parse_expression(text: str, fields: FieldModel | None = None) -> Node:
    """Parse a bare EQL condition (no ``<category> where``) and lower it to the shared tree."""
    return _run(text, "expression", fields)


def _run(text: str, start: str, fields: FieldModel | None) -> Node:
    try:
        tree = _parser().parse(text, start=start)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text) from None
    try:
        result = _Lowering(text, fields).transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, QueryError):
            raise exc.orig_exc from None
        if not isinstance(exc.orig_exc, RecursionError):
            raise
        raise too_deep() from None
    except RecursionError:  # lark's Transformer recurses once per nesting level
        raise too_deep() from None
    return _as_condition(result, text)


# --- intermediate operand values ---------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    name: str
    span: Span


@dataclass(frozen=True)
class _Literal:
    value: Any  # str, int, float, bool or None (null)
    span: Span


@dataclass(frozen=True)
class _Call:
    name: str
    args: tuple[Any, ...]
    span: Span


_Operand = Union[_Field, _Literal, _Call, Node]


def _span(meta: Any) -> Span:
    return Span(meta.start_pos, meta.end_pos - meta.start_pos)


def _tok_span(tok: Token) -> Span:
    return Span(tok.start_pos or 0, len(tok.value))


def _error(message: str, source: str, span: Span) -> QueryParseError:
    return QueryParseError(message, source, span.offset, span.length, LANGUAGE)


def _as_condition(value: Any, source: str, lowering: _Lowering | None = None) -> Node:
    """Turn an operand used where a condition is expected into a node (or refuse it)."""
    if isinstance(value, Node):
        return value
    if isinstance(value, _Call) and lowering is not None:
        return lowering._lower_call(value)
    if isinstance(value, _Literal) and isinstance(value.value, bool):
        return Const(value.value, span=value.span)
    if isinstance(value, _Field):
        raise UnsupportedQueryError(
            f"field {value.name!r} used alone as a condition; compare it with a value"
        )
    raise _error("this value is not a condition", source, value.span)


def _decode_string(tok: Token, source: str) -> str:
    """Decode a STRING or RAW_STRING token into its value, checking each escape sequence."""
    text = tok.value
    if tok.type == "RAW_STRING":
        # A raw string is taken verbatim; up to two extra closing quotes belong to the value.
        return text[3:-3]
    escapes = SEMANTICS.get("string_escapes")
    assert isinstance(escapes, dict)
    low, high = SEMANTICS.get("unicode_escape_digits")  # type: ignore[misc]
    out: list[str] = []
    i, end = 1, len(text) - 1
    while i < end:
        ch = text[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        offset = (tok.start_pos or 0) + i
        if nxt in escapes:
            out.append(escapes[nxt])
            i += 2
            continue
        if nxt == "u":
            m = re.match(r"\{([0-9A-Fa-f]*)\}", text[i + 2 : end])
            if m and low <= len(m.group(1)) <= high and int(m.group(1), 16) <= 0x10FFFF:
                out.append(chr(int(m.group(1), 16)))
                i += 2 + m.end()
                continue
            raise QueryParseError(
                f"bad unicode escape: write \\u{{XXXX}} with {low} to {high} hex digits",
                source, offset, 2, LANGUAGE,
            )
        raise QueryParseError(
            f"invalid escape sequence \\{nxt}: a backslash must be doubled in EQL strings (\\\\), "
            'or use a raw string """..."""',
            source, offset, 2, LANGUAGE,
        )
    return "".join(out)


def _glob_parts(pattern: str) -> tuple[GlobPart, ...]:
    """Split a `:`/`like` pattern into literal text and live wildcards (no escape exists)."""
    wildcards = SEMANTICS.get("wildcards")
    assert isinstance(wildcards, dict)
    parts: list[GlobPart] = []
    buf: list[str] = []
    for ch in pattern:
        if ch in wildcards:
            if buf:
                parts.append("".join(buf))
                buf = []
            parts.append(wildcards[ch])
        else:
            buf.append(ch)
    if buf:
        parts.append("".join(buf))
    return tuple(parts)


class _Lowering(Transformer):
    """Bottom-up lowering of the lark tree to shared-tree nodes, consulting SEMANTICS."""

    def __init__(self, source: str, fields: FieldModel | None) -> None:
        super().__init__(visit_tokens=True)
        self.source = source
        self.fields = fields

    # --- terminals ---------------------------------------------------------------------------

    def STRING(self, tok: Token) -> _Literal:  # noqa: N802 - lark names callbacks by terminal
        return _Literal(_decode_string(tok, self.source), _tok_span(tok))

    def RAW_STRING(self, tok: Token) -> _Literal:  # noqa: N802
        return _Literal(_decode_string(tok, self.source), _tok_span(tok))

    # --- query structure ---------------------------------------------------------------------

    @v_args(meta=True)
    def start(self, meta: Any, children: list[Any]) -> Node:
        return children[0]

    @v_args(meta=True)
    def expression(self, meta: Any, children: list[Any]) -> Node:
        return _as_condition(children[0], self.source, self)

    @v_args(meta=True)
    def pipe(self, meta: Any, children: list[Any]) -> Node:
        raise UnsupportedQueryError(
            f"the `| {children[0]}` pipe post-processes a result set; sigport evaluates only "
            "single-event conditions"
        )

    @v_args(meta=True)
    def event_query(self, meta: Any, children: list[Any]) -> Node:
        category, condition = children
        condition = _as_condition(condition, self.source, self)
        if category is None:  # `any where`: no category test at all
            return condition
        value, span = category
        leaf = Equals(
            value=value,
            case_sensitive=bool(SEMANTICS.get("category_case_sensitive")),
            span=span,
            **self._leaf(str(SEMANTICS.get("category_field")), "not_missing", span),
        )
        return And((leaf, condition), span=_span(meta))

    def any_category(self, children: list[Any]) -> None:
        return None

    def named_category(self, children: list[Any]) -> tuple[str, Span]:
        return str(children[0]), _tok_span(children[0])

    def quoted_category(self, children: list[Any]) -> tuple[str, Span]:
        return children[0].value, children[0].span

    # --- boolean structure -------------------------------------------------------------------

    @v_args(meta=True)
    def or_(self, meta: Any, children: list[Any]) -> Node:
        return self._flat(Or, children, meta)

    @v_args(meta=True)
    def and_(self, meta: Any, children: list[Any]) -> Node:
        return self._flat(And, children, meta)

    @v_args(meta=True)
    def not_(self, meta: Any, children: list[Any]) -> Node:
        return Not(_as_condition(children[0], self.source, self), span=_span(meta))

    def _flat(self, kind: type, children: list[Any], meta: Any) -> Node:
        out: list[Node] = []
        for child in children:
            node = _as_condition(child, self.source, self)
            # `a and b and c` arrives as And(And(a, b), c); one n-ary node is easier to read.
            out.extend(node.children if isinstance(node, kind) else (node,))  # type: ignore
        return kind(tuple(out), span=_span(meta))

    # --- operands ----------------------------------------------------------------------------

    @v_args(meta=True)
    def field(self, meta: Any, children: list[Any]) -> _Field:
        parts: list[str] = []
        for child in children:
            if isinstance(child, Token) and child.type == "OPTIONAL":
                continue  # `?f` only silences the unmapped-field error (semantics table)
            if isinstance(child, Token) and child.type == "QUOTED_NAME":
                parts.append(child.value[1:-1].replace("``", "`"))
            elif isinstance(child, Token):
                parts.append(child.value)
            else:
                raise UnsupportedQueryError(
                    "array indexes (`field[0]`) are not supported by Elasticsearch EQL"
                )
        return _Field(".".join(parts), _span(meta))

    def index(self, children: list[Any]) -> str:
        return "index"

    @v_args(meta=True)
    def number(self, meta: Any, children: list[Any]) -> _Literal:
        text = "".join(str(c) for c in children if c is not None)
        value: int | float = float(text) if re.search(r"[.eE]", text) else int(text)
        return _Literal(value, _span(meta))

    def true(self, children: list[Any]) -> _Literal:
        return _Literal(True, _tok_span(children[0]))

    def false(self, children: list[Any]) -> _Literal:
        return _Literal(False, _tok_span(children[0]))

    def null(self, children: list[Any]) -> _Literal:
        return _Literal(None, _tok_span(children[0]))

    def bad_string(self, children: list[Any]) -> _Literal:
        tok = children[0]
        what = "Endgame raw strings (?\"...\")" if tok.value.startswith("?") else "single quotes"
        raise _error(
            f'{what} are not supported in Elasticsearch EQL: use double quotes "..." '
            '(or a raw string """...""" to keep backslashes)',
            self.source,
            _tok_span(tok),
        )

    @v_args(meta=True)
    def function_call(self, meta: Any, children: list[Any]) -> _Call:
        name, *args = children
        return _Call(str(name), tuple(a for a in args if a is not None), _span(meta))

    def comp_op(self, children: list[Any]) -> Token:
        return children[0]

    def pattern_op(self, children: list[Any]) -> Token:
        return children[0]

    def lookup_op(self, children: list[Any]) -> Token:
        return children[0]

    def pattern_arg(self, children: list[Any]) -> list[Any]:
        return list(children)

    def lookup_list(self, children: list[Any]) -> list[Any]:
        return list(children)

    # --- predicates --------------------------------------------------------------------------

    @v_args(meta=True)
    def comparison(self, meta: Any, children: list[Any]) -> Node:
        left, op_tok, right = children
        op = op_tok.value
        if op_tok.type == "ASSIGN":
            raise _error(
                "`=` is not an EQL operator: use `==` (case-sensitive) or `:` (case-insensitive)",
                self.source,
                _tok_span(op_tok),
            )
        if isinstance(left, _Literal) and isinstance(right, _Field):
            left, right, op = right, left, _MIRROR[op]  # `"x" == f` means `f == "x"`
        if isinstance(left, _Field) and isinstance(right, _Field):
            raise _error(
                "Elasticsearch EQL cannot compare a field with another field",
                self.source,
                _span(meta),
            )
        if not isinstance(left, _Field) or not isinstance(right, _Literal):
            raise UnsupportedQueryError(
                f"comparison `{self.source[meta.start_pos:meta.end_pos]}`: only field-vs-literal "
                "comparisons are evaluated"
            )
        span = _span(meta)
        if right.value is None:
            if op not in ("==", "!="):
                raise _error("`null` can only be compared with == or !=", self.source, span)
            exists = Exists(span=span, **self._leaf(left.name, "not_missing", span))
            return Not(exists, span=span) if op == "==" else exists
        if op in ("==", "!="):
            key = "not_missing" if op == "==" else "neq_missing"
            leaf = Equals(
                value=right.value,
                case_sensitive=bool(SEMANTICS.get("eq_case_sensitive")),
                lowercase_value=self._lowercased(left.name),
                span=span,
                **self._leaf(left.name, key, span),
            )
            return leaf if op == "==" else Not(leaf, span=span)
        if isinstance(right.value, bool):
            raise _error(f"booleans cannot be ordered with `{op}`", self.source, span)
        return Compare(
            op=_COMPARE_OPS[op],
            value=right.value,
            span=span,
            **self._leaf(left.name, "not_missing", span),
        )

    @v_args(meta=True)
    def pattern(self, meta: Any, children: list[Any]) -> Node:
        operand, op_tok, values = children
        field = self._field_operand(operand, op_tok.value, meta)
        op = op_tok.value
        case_key = {
            ":": "seq_case_sensitive",
            "like": "like_case_sensitive",
            "like~": "like_insensitive_case_sensitive",
            "regex": "regex_case_sensitive",
            "regex~": "regex_insensitive_case_sensitive",
        }[op]
        sensitive = bool(SEMANTICS.get(case_key))
        nodes: list[Node] = []
        for lit in values:
            if not isinstance(lit.value, str):
                raise _error(f"`{op}` compares strings only", self.source, lit.span)
            kwargs = self._leaf(field.name, "not_missing", lit.span)
            lower = self._lowercased(field.name)
            if op.startswith("regex"):
                nodes.append(
                    Regex(
                        pattern=lit.value,
                        dialect=SEMANTICS.get("regex_dialect"),  # type: ignore[arg-type]
                        anchored=bool(SEMANTICS.get("regex_anchored")),
                        case_sensitive=sensitive,
                        lowercase_value=lower,
                        span=lit.span,
                        **kwargs,
                    )
                )
            else:
                nodes.append(
                    Glob(
                        parts=_glob_parts(lit.value),
                        case_sensitive=sensitive,
                        lowercase_value=lower,
                        span=lit.span,
                        **kwargs,
                    )
                )
        return nodes[0] if len(nodes) == 1 else Or(tuple(nodes), span=_span(meta))

    @v_args(meta=True)
    def lookup(self, meta: Any, children: list[Any]) -> Node:
        operand, op_tok, values = children
        field = self._field_operand(operand, op_tok.value, meta)
        key = "in_case_sensitive" if op_tok.value == "in" else "in_insensitive_case_sensitive"
        nodes: list[Node] = []
        for lit in values:
            if lit.value is None:
                raise UnsupportedQueryError("`null` inside an `in` list is not evaluated")
            nodes.append(
                Equals(
                    value=lit.value,
                    case_sensitive=bool(SEMANTICS.get(key)),
                    lowercase_value=self._lowercased(field.name),
                    span=lit.span,
                    **self._leaf(field.name, "not_missing", lit.span),
                )
            )
        return nodes[0] if len(nodes) == 1 else Or(tuple(nodes), span=_span(meta))

    @v_args(meta=True)
    def not_lookup(self, meta: Any, children: list[Any]) -> Node:
        # `f not in (...)` is must_not{terms}: true when f is missing (table: not_missing).
        return Not(self.lookup(meta, children), span=_span(meta))

    def _field_operand(self, operand: Any, op: str, meta: Any) -> _Field:
        if isinstance(operand, _Field):
            return operand
        raise UnsupportedQueryError(
            f"`{self.source[meta.start_pos:meta.end_pos]}`: only a field may stand left of `{op}`"
        )

    # --- field model -------------------------------------------------------------------------

    def _info(self, name: str) -> Any:
        return self.fields.lookup(name) if self.fields is not None else None

    def _leaf(self, name: str, missing_key: str, span: Span) -> dict[str, Any]:
        """Common leaf arguments: event field, missing-field outcome, ignore_above limit."""
        info = self._info(name)
        if info is None:
            return {"field": name, "missing": SEMANTICS.missing(missing_key)}
        if info.type in _TEXT_TYPES and not SEMANTICS.get("text_fields_supported"):
            raise UnsupportedQueryError(
                f"field {name!r} is a {info.type} field, which Elasticsearch EQL cannot search"
            )
        return {
            "field": info.source,
            "missing": SEMANTICS.missing(missing_key),
            "max_length": info.ignore_above,
        }

    def _lowercased(self, name: str) -> bool:
        info = self._info(name)
        return bool(info is not None and info.normalizer == "lowercase")

    # --- functions ---------------------------------------------------------------------------

    def _lower_call(self, call: _Call) -> Node:
        name = call.name.rstrip("~")
        tilde = call.name.endswith("~")
        key = name.lower()
        substring = SEMANTICS.get("substring_functions")
        assert isinstance(substring, dict)
        if key == str(SEMANTICS.get("cidr_function")).lower() and not tilde:
            return self._cidr(call)
        if key in substring:
            if len(call.args) != 2:
                raise _error(f"{call.name}() takes 2 arguments", self.source, call.span)
            field, lit = call.args
            if not isinstance(field, _Field) or not isinstance(lit, _Literal):
                raise UnsupportedQueryError(
                    f"{call.name}() is evaluated only as {call.name}(<field>, \"<text>\")"
                )
            if not isinstance(lit.value, str):
                raise _error(f"{call.name}() searches for a string", self.source, lit.span)
            before, after = substring[key]
            parts: list[GlobPart] = [*_glob_parts(before)]
            if lit.value:
                parts.append(lit.value)  # the searched text is literal: no wildcards
            parts.extend(_glob_parts(after))
            sensitive = bool(SEMANTICS.get("functions_case_sensitive")) and not tilde
            return Glob(
                parts=tuple(parts),
                case_sensitive=sensitive,
                lowercase_value=self._lowercased(field.name),
                span=call.span,
                **self._leaf(field.name, "function_missing", call.span),
            )
        raise UnsupportedQueryError(
            f"EQL function {call.name}() is not supported by sigport's interpreter"
        )

    def _cidr(self, call: _Call) -> Node:
        if len(call.args) < 2 or not isinstance(call.args[0], _Field):
            raise UnsupportedQueryError(
                f"{call.name}() is evaluated only as {call.name}(<field>, \"<cidr>\", ...)"
            )
        field = call.args[0]
        nodes: list[Node] = []
        for lit in call.args[1:]:
            if not isinstance(lit, _Literal) or not isinstance(lit.value, str):
                raise UnsupportedQueryError(f"{call.name}() networks must be string literals")
            try:
                ipaddress.ip_network(lit.value, strict=False)
            except ValueError:
                raise _error(
                    f"{lit.value!r} is not an IP address or CIDR network", self.source, lit.span
                ) from None
            nodes.append(
                Cidr(
                    network=lit.value,
                    span=lit.span,
                    **self._leaf(field.name, "function_missing", lit.span),
                )
            )
        return nodes[0] if len(nodes) == 1 else Or(tuple(nodes), span=call.span)

    def __default__(self, data: Any, children: list[Any], meta: Any) -> Any:
        raise UnsupportedQueryError(f"EQL construct {data!r} is not supported")


# --- syntax errors -----------------------------------------------------------------------------


def _describe_expected(expected: set[str]) -> str:
    names: set[str] = set()
    for name in expected:
        if name == "$END":
            names.add("end of query")
            continue
        try:
            pattern = _parser().get_terminal(name).pattern
        except KeyError:
            continue
        if isinstance(pattern, PatternStr):
            names.add(f"`{pattern.value}`")
        else:
            names.add(_TERMINAL_NAMES.get(name, name.lower()))
    return ", ".join(sorted(names))


def _syntax_error(exc: UnexpectedInput, text: str) -> QueryParseError:
    """Turn a lark exception into a QueryParseError with a position and, when known, a hint."""
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream
        ch = text[pos] if pos < len(text) else ""
        if ch == '"':
            msg = (
                'unterminated string: close it with " on the same line (inside a string, \\" is '
                "an escaped quote and a backslash must be doubled)"
            )
        elif ch == "'":
            msg = "single quotes are not supported in Elasticsearch EQL: use double quotes"
        elif ch == "`":
            msg = "unterminated `quoted` field name"
        else:
            msg = f"unexpected character {ch!r}"
        return QueryParseError(msg, text, pos, 1, LANGUAGE)
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        expected = _describe_expected(set(exc.accepts or exc.expected))
        if tok.type == "$END":
            return QueryParseError(
                f"unexpected end of query; expected {expected}", text, len(text), 1, LANGUAGE
            )
        msg = f"unexpected `{tok.value}`; expected {expected}"
        if tok.type == "NAME" and tok.value.lower() in _KEYWORDS and tok.value != tok.value.lower():
            msg = (
                f"unexpected `{tok.value}`: EQL keywords are lower case and case-sensitive, "
                f"write `{tok.value.lower()}`"
            )
        elif tok.value in _MIRROR:
            msg += " (comparisons cannot be chained: join them with `and`)"
        return QueryParseError(msg, text, tok.start_pos or 0, len(tok.value) or 1, LANGUAGE)
    pos = getattr(exc, "pos_in_stream", 0) or 0
    return QueryParseError(str(exc).splitlines()[0], text, pos, 1, LANGUAGE)
