"""Lowering of the EQL lark tree to the shared query tree, consulting EQL_SEMANTICS.

``Lowering`` is a lark ``Transformer``: bottom-up, every operator becomes shared-tree leaves whose
semantics (case per operator, wildcards, regex dialect and anchoring, missing-field outcome, the
field model's normalizer and ``ignore_above``) come from ``backends.eql.semantics.SEMANTICS``.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING, Any

from lark import Token, Transformer, v_args

from ..query.ast import (
    And,
    Cidr,
    Compare,
    CompareOp,
    Const,
    Equals,
    Exists,
    Fold,
    Glob,
    GlobPart,
    MIRROR,
    Node,
    Not,
    Or,
    Regex,
    RegexDialect,
    Span,
)
from ..query.errors import UnsupportedQueryError
from ..query.fields import TEXT_TYPES, number_coercion
from .operands import (
    Call,
    Field,
    Literal,
    decode_string,
    error,
    glob_parts,
    span_of,
    tok_span,
)
from .semantics import SEMANTICS

if TYPE_CHECKING:  # the field model is optional and only duck-typed here
    from ..query.fields import FieldModel

#: How `:`, `like~`, `in~`, `regex~` and `~` functions fold case (semantics entry).
_FOLD = SEMANTICS.get("case_insensitive_folding")


def _fold(case_sensitive: bool) -> Any:
    """The fold of a leaf: the table's case-insensitive folding, or the default when the
    operator is case-sensitive (then no folding applies)."""
    return Fold.SIMPLE if case_sensitive else _FOLD


class Lowering(Transformer):
    """Bottom-up lowering of the lark tree to shared-tree nodes, consulting SEMANTICS."""

    def __init__(self, source: str, fields: FieldModel | None) -> None:
        super().__init__(visit_tokens=True)
        self.source = source
        self.fields = fields

    def condition(self, value: Any) -> Node:
        """Turn an operand used where a condition is expected into a node (or refuse it)."""
        if isinstance(value, Node):
            return value
        if isinstance(value, Call):
            return self.lower_call(value)
        if isinstance(value, Literal) and isinstance(value.value, bool):
            return Const(value.value, span=value.span)
        if isinstance(value, Field):
            raise UnsupportedQueryError(
                f"field {value.name!r} used alone as a condition; compare it with a value"
            )
        raise error("this value is not a condition", self.source, value.span)

    # --- terminals ---------------------------------------------------------------------------

    def STRING(self, tok: Token) -> Literal:  # noqa: N802 - lark names callbacks by terminal
        return Literal(decode_string(tok, self.source), tok_span(tok))

    def RAW_STRING(self, tok: Token) -> Literal:  # noqa: N802
        return Literal(decode_string(tok, self.source), tok_span(tok))

    # --- query structure ---------------------------------------------------------------------

    @v_args(meta=True)
    def start(self, meta: Any, children: list[Any]) -> Node:
        return children[0]

    @v_args(meta=True)
    def expression(self, meta: Any, children: list[Any]) -> Node:
        return self.condition(children[0])

    @v_args(meta=True)
    def pipe(self, meta: Any, children: list[Any]) -> Node:
        raise UnsupportedQueryError(
            f"the `| {children[0]}` pipe post-processes a result set; sigport evaluates only "
            "single-event conditions"
        )

    @v_args(meta=True)
    def event_query(self, meta: Any, children: list[Any]) -> Node:
        category, condition = children
        condition = self.condition(condition)
        if category is None:  # `any where`: no category test at all
            return condition
        value, span = category
        leaf = Equals(
            value=value,
            case_sensitive=bool(SEMANTICS.get("category_case_sensitive")),
            span=span,
            **self._leaf(str(SEMANTICS.get("category_field")), "not_missing", span),
        )
        return And((leaf, condition), span=span_of(meta))

    def any_category(self, children: list[Any]) -> None:
        return None

    def named_category(self, children: list[Any]) -> tuple[str, Span]:
        return str(children[0]), tok_span(children[0])

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
        return Not(self.condition(children[0]), span=span_of(meta))

    def _flat(self, kind: type, children: list[Any], meta: Any) -> Node:
        out: list[Node] = []
        for child in children:
            node = self.condition(child)
            # `a and b and c` arrives as And(And(a, b), c); one n-ary node is easier to read.
            out.extend(node.children if isinstance(node, kind) else (node,))  # type: ignore
        return kind(tuple(out), span=span_of(meta))

    # --- operands ----------------------------------------------------------------------------

    @v_args(meta=True)
    def field(self, meta: Any, children: list[Any]) -> Field:
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
        return Field(".".join(parts), span_of(meta))

    def index(self, children: list[Any]) -> str:
        return "index"

    @v_args(meta=True)
    def number(self, meta: Any, children: list[Any]) -> Literal:
        text = "".join(str(c) for c in children if c is not None)
        value: int | float = float(text) if re.search(r"[.eE]", text) else int(text)
        return Literal(value, span_of(meta))

    def true(self, children: list[Any]) -> Literal:
        return Literal(True, tok_span(children[0]))

    def false(self, children: list[Any]) -> Literal:
        return Literal(False, tok_span(children[0]))

    def null(self, children: list[Any]) -> Literal:
        return Literal(None, tok_span(children[0]))

    def bad_string(self, children: list[Any]) -> Literal:
        tok = children[0]
        what = "Endgame raw strings (?\"...\")" if tok.value.startswith("?") else "single quotes"
        raise error(
            f'{what} are not supported in Elasticsearch EQL: use double quotes "..." '
            '(or a raw string """...""" to keep backslashes)',
            self.source,
            tok_span(tok),
        )

    @v_args(meta=True)
    def function_call(self, meta: Any, children: list[Any]) -> Call:
        name, *args = children
        return Call(str(name), tuple(a for a in args if a is not None), span_of(meta))

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
            raise error(
                "`=` is not an EQL operator: use `==` (case-sensitive) or `:` (case-insensitive)",
                self.source,
                tok_span(op_tok),
            )
        if isinstance(left, Literal) and isinstance(right, Field):
            left, right, op = right, left, MIRROR[op]  # `"x" == f` means `f == "x"`
        if isinstance(left, Field) and isinstance(right, Field):
            raise error(
                "Elasticsearch EQL cannot compare a field with another field",
                self.source,
                span_of(meta),
            )
        if not isinstance(left, Field) or not isinstance(right, Literal):
            raise UnsupportedQueryError(
                f"comparison `{self.source[meta.start_pos:meta.end_pos]}`: only field-vs-literal "
                "comparisons are evaluated"
            )
        span = span_of(meta)
        if right.value is None:
            if op not in ("==", "!="):
                raise error("`null` can only be compared with == or !=", self.source, span)
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
            raise error(f"booleans cannot be ordered with `{op}`", self.source, span)
        return Compare(
            op=CompareOp(op),
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
                raise error(f"`{op}` compares strings only", self.source, lit.span)
            kwargs = self._leaf(field.name, "not_missing", lit.span)
            lower = self._lowercased(field.name)
            if op.startswith("regex"):
                limit = SEMANTICS.typed("regex_max_length", int)
                if len(lit.value) > limit:
                    raise UnsupportedQueryError(
                        f"a regular expression of {len(lit.value):,} characters: Elasticsearch "
                        f"rejects one longer than index.max_regex_length ({limit:,} by default, "
                        "regex_max_length)")
                nodes.append(
                    Regex(
                        pattern=lit.value,
                        dialect=SEMANTICS.typed("regex_dialect", RegexDialect),
                        anchored=bool(SEMANTICS.get("regex_anchored")),
                        case_sensitive=sensitive,
                        lowercase_value=lower,
                        fold=_fold(sensitive),
                        span=lit.span,
                        **kwargs,
                    )
                )
            else:
                nodes.append(
                    Glob(
                        parts=glob_parts(lit.value),
                        case_sensitive=sensitive,
                        lowercase_value=lower,
                        fold=_fold(sensitive),
                        span=lit.span,
                        **kwargs,
                    )
                )
        return nodes[0] if len(nodes) == 1 else Or(tuple(nodes), span=span_of(meta))

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
                    fold=_fold(bool(SEMANTICS.get(key))),
                    span=lit.span,
                    **self._leaf(field.name, "not_missing", lit.span),
                )
            )
        return nodes[0] if len(nodes) == 1 else Or(tuple(nodes), span=span_of(meta))

    @v_args(meta=True)
    def not_lookup(self, meta: Any, children: list[Any]) -> Node:
        # `f not in (...)` is must_not{terms}: true when f is missing (table: not_missing).
        return Not(self.lookup(meta, children), span=span_of(meta))

    def _field_operand(self, operand: Any, op: str, meta: Any) -> Field:
        if isinstance(operand, Field):
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
        if info.type in TEXT_TYPES and not SEMANTICS.get("text_fields_supported"):
            raise UnsupportedQueryError(
                f"field {name!r} is a {info.type} field, which Elasticsearch EQL cannot search"
            )
        if info.normalizer not in (None, "lowercase"):
            # What a custom normalizer indexes (and does to a term query's text) is the user's
            # analysis chain, which sigport does not evaluate.
            raise UnsupportedQueryError(f"field {name} uses normalizer {info.normalizer!r}")
        return {
            "field": info.source,
            "missing": SEMANTICS.missing(missing_key),
            "max_length": info.ignore_above,
            "limited_by": getattr(info, "name", name) if info.ignore_above is not None else "",
            "coerce": number_coercion(info.type),
        }

    def _lowercased(self, name: str) -> bool:
        info = self._info(name)
        return bool(info is not None and info.normalizer == "lowercase")

    # --- functions ---------------------------------------------------------------------------

    def lower_call(self, call: Call) -> Node:
        """Lower a function call used as a condition (startsWith, endsWith, cidrMatch, ...)."""
        name = call.name.rstrip("~")
        tilde = call.name.endswith("~")
        key = name.lower()
        substring = SEMANTICS.get("substring_functions")
        assert isinstance(substring, dict)
        if key == str(SEMANTICS.get("cidr_function")).lower() and not tilde:
            return self._cidr(call)
        if key in substring:
            if len(call.args) != 2:
                raise error(f"{call.name}() takes 2 arguments", self.source, call.span)
            field, lit = call.args
            if not isinstance(field, Field) or not isinstance(lit, Literal):
                raise UnsupportedQueryError(
                    f"{call.name}() is evaluated only as {call.name}(<field>, \"<text>\")"
                )
            if not isinstance(lit.value, str):
                raise error(f"{call.name}() searches for a string", self.source, lit.span)
            before, after = substring[key]
            parts: list[GlobPart] = [*glob_parts(before)]
            if lit.value:
                parts.append(lit.value)  # the searched text is literal: no wildcards
            parts.extend(glob_parts(after))
            sensitive = bool(SEMANTICS.get("functions_case_sensitive")) and not tilde
            return Glob(
                parts=tuple(parts),
                case_sensitive=sensitive,
                lowercase_value=self._lowercased(field.name),
                fold=_fold(sensitive),
                span=call.span,
                **self._leaf(field.name, "function_missing", call.span),
            )
        raise UnsupportedQueryError(
            f"EQL function {call.name}() is not supported by sigport's interpreter"
        )

    def _cidr(self, call: Call) -> Node:
        if len(call.args) < 2 or not isinstance(call.args[0], Field):
            raise UnsupportedQueryError(
                f"{call.name}() is evaluated only as {call.name}(<field>, \"<cidr>\", ...)"
            )
        field = call.args[0]
        info = self._info(field.name)
        if info is not None and info.type not in SEMANTICS.typed("cidr_field_types", tuple):
            raise UnsupportedQueryError(
                f"{call.name}() on {field.name}, a {info.type} field: Elasticsearch rejects the "
                "query (semantics cidr_field_types)"
            )
        nodes: list[Node] = []
        for lit in call.args[1:]:
            if not isinstance(lit, Literal) or not isinstance(lit.value, str):
                raise UnsupportedQueryError(f"{call.name}() networks must be string literals")
            try:
                ipaddress.ip_network(lit.value, strict=False)
            except ValueError:
                raise error(
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
