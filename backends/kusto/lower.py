"""Lowering of the Kusto lark tree to the shared query tree, consulting ``SEMANTICS``.

``Lowering`` has one method per grammar rule; ``parser.py`` summarises the decisions it reads
from ``semantics.py``. The interpreter never imports the emitter.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from typing import Any

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
    Leaf,
    Missing,
    Node,
    Not,
    Or,
    Regex,
    RegexDialect,
    SemiJoin,
    Span,
    Wildcard,
    walk,
)
from ..query.errors import QueryError, UnsupportedQueryError
from .semantics import SEMANTICS, TERM_CHARS

#: The candidate foldings of the case-insensitive operators (semantics nonascii_case_folding).
_FOLD = SEMANTICS.typed("nonascii_case_folding", Fold)
TABLE_COLUMN = str(SEMANTICS.get("tabular_source"))

#: Seconds in each unit of a timespan literal (semantics ``ingestion_window``).
_TIMESPAN_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}

#: Escapes documented for quoted literals (semantics ``string_literals``).
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "t": "\t", "n": "\n"}


def _fold_in_doubt(text: str) -> bool:
    """A non-ASCII character with any case mapping (its folding is undocumented)."""
    return any(not ch.isascii() and (ch.lower() != ch or ch.upper() != ch) for ch in text)


def unquote(token: Token, source: str) -> str:
    """The value of a string literal token (quoted with documented escapes, or verbatim)."""
    raw = str(token)
    if raw.startswith("@"):
        quote = raw[1]
        return raw[2:-1].replace(quote * 2, quote)
    body = raw[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    for escape in _ESCAPE.finditer(body):  # left to right, the text between kept as it is
        nxt = escape.group(1)
        if nxt not in _ESCAPES:
            raise UnsupportedQueryError(
                f"the escape \\{nxt} at offset {(token.start_pos or 0) + 1 + escape.start()} is "
                "not documented for Kusto string literals"
            )
        out += (body[i:escape.start()], _ESCAPES[nxt])
        i = escape.end()
    out.append(body[i:])
    return "".join(out)


#: A backslash and the character it escapes.
_ESCAPE = re.compile(r"\\(.)", re.S)


def _span(meta_or_token: Any) -> Span | None:
    start = getattr(meta_or_token, "start_pos", None)
    end = getattr(meta_or_token, "end_pos", None)
    if start is None or end is None:
        return None
    return Span(start, end - start)


def _re2_escape(text: str) -> str:
    """``text`` as an RE2 literal (ASCII punctuation escaped, control characters as \\xHH)."""
    out = []
    for ch in text:
        if ch.isascii() and not ch.isalnum():
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x21 or ch == "\x7f" else "\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def _refuse_number_on_property(column: str, kind: str) -> None:
    """tostring() gives a string: comparing it with a number is not the property's number test
    (semantics dynamic_property_tostring)."""
    if kind == "number" and column.startswith("tostring("):
        raise UnsupportedQueryError(
            f"a number compared with {column}, a string (semantics dynamic_property_tostring)"
        )


def _has_ipv4_range(node: Node) -> bool:
    """Whether ``node`` contains an ``ipv4_is_in_range`` test (a Cidr leaf that is not the
    three-valued ``ipv6_is_match``)."""
    return any(isinstance(n, Cidr) and not n.prefix_match for n in walk(node))


def _null_as_false(node: Node) -> Node:
    """``node`` with every leaf false (not null) on a missing field, and an ``ipv6_is_match``
    false on a value that is no address; and/or rebuilt around them."""
    if isinstance(node, (And, Or)):
        return type(node)(tuple(_null_as_false(c) for c in node.children), span=node.span)
    if isinstance(node, Cidr) and node.invalid is Missing.NULL:
        node = dataclasses.replace(node, invalid=Missing.FALSE)
    if isinstance(node, Leaf) and node.missing is Missing.NULL:
        return dataclasses.replace(node, missing=Missing.FALSE)
    return node


class Lowering(Transformer):  # type: ignore[type-arg]
    """lark tree -> shared query tree, one method per grammar rule."""

    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source

    # --- structure -------------------------------------------------------------------------

    @v_args(meta=True)
    def semi_join(self, meta: Any, children: list[Any]) -> Node:
        """``| join kind=leftsemi (R | where P | distinct K) on K`` (semantics ``semi_join``)."""
        kind, table, predicate, distinct, on = children
        flavor = str(kind).split("=", 1)[1].strip()
        if flavor != "leftsemi":
            raise UnsupportedQueryError(f"join kind={flavor}: only kind=leftsemi is evaluated "
                                        "(semantics semi_join)")
        if str(distinct) != str(on):
            raise UnsupportedQueryError(
                f"join on {on} of the distinct {distinct} values: the interpreter evaluates a "
                "semi join on the column the right side keeps (semantics semi_join)")
        rows = str(SEMANTICS.get("semi_join")).replace("<Table>", str(table))
        return SemiJoin(field=str(on), rows=rows, key=str(on), where=predicate,
                        missing_key=str(SEMANTICS.get("string_never_null")), span=_span(meta))

    @v_args(meta=True)
    def query(self, meta: Any, children: list[Any]) -> Node:
        nodes: list[Node] = []
        for child in children:
            if isinstance(child, Token) and child.type == "TABLE":
                nodes.append(Equals(field=TABLE_COLUMN, value=str(child), case_sensitive=True))
            else:
                nodes.append(child)
        return nodes[0] if len(nodes) == 1 else And(tuple(nodes), span=_span(meta))

    @v_args(meta=True)
    def or_expr(self, meta: Any, children: list[Node]) -> Node:
        return Or(tuple(children), span=_span(meta))

    @v_args(meta=True)
    def and_expr(self, meta: Any, children: list[Node]) -> Node:
        return And(tuple(children), span=_span(meta))

    @v_args(meta=True)
    def negation(self, meta: Any, children: list[Node]) -> Node:
        if _has_ipv4_range(children[0]):
            raise UnsupportedQueryError(
                "ipv4_is_in_range under not(): it is null on a value that is not an IPv4 address "
                "and not(null) drops the row, which the shared tree does not model "
                "(semantics ipv4_is_in_range)"
            )
        return Not(children[0], span=_span(meta))

    @v_args(meta=True)
    def coalesce(self, meta: Any, children: list[Any]) -> Node:
        """``coalesce(<predicate>, false)``: the predicate with null read as false (semantics
        ``coalesce``). For an and/or of leaves (no not()), making each leaf false where it would
        be null gives exactly that: the tree is monotone, so a null result becomes false and a
        true or false one is unchanged."""
        predicate, default = children
        if str(default) != "false":
            raise UnsupportedQueryError("coalesce() with a default other than false")
        if any(isinstance(n, Not) for n in walk(predicate)):
            raise UnsupportedQueryError("coalesce() around a predicate with not()")
        return _null_as_false(predicate)

    @v_args(meta=True)
    def ingestion_window(self, meta: Any, children: list[Token]) -> Node:
        """``ingestion_time() > ago(T)`` (semantics ``ingestion_window``): the row's age at the
        run, ``$ingestion_age``, is under T seconds; a row without one is read by the run."""
        _, op, span = children
        if str(op) != ">":
            raise UnsupportedQueryError(
                f"ingestion_time() {op} ago(...): only > is evaluated (semantics ingestion_window)")
        text = str(span)
        seconds = int(text[:-1]) * _TIMESPAN_SECONDS[text[-1]]
        age = str(SEMANTICS.get("ingestion_window"))
        return Or((Compare(field=age, op=CompareOp.LT, value=seconds),
                   Not(Exists(field=age))), span=_span(meta))

    def bool_const(self, children: list[Token]) -> Node:
        return Const(str(children[0]) == "true")

    # --- operands --------------------------------------------------------------------------

    def plain_column(self, children: list[Token]) -> str:
        return str(children[0])

    def quoted_column(self, children: list[Token]) -> str:
        return unquote(children[0], self.source)

    def property_column(self, children: list[Token]) -> str:
        # The accessor text names one string pseudo-column of the rendered row (semantics
        # dynamic_property_tostring).
        return str(children[0])

    def string(self, children: list[Token]) -> tuple[str, str]:
        return ("string", unquote(children[0], self.source))

    verbatim = string

    def boolean(self, children: list[Token]) -> tuple[str, bool]:
        return ("boolean", str(children[0]) == "true")

    def number(self, children: list[Token]) -> tuple[str, int | float]:
        text = str(children[0])
        return ("number", float(text) if "." in text else int(text))

    # --- leaves ----------------------------------------------------------------------------

    def _text(self, value: tuple[str, Any], op: str) -> str:
        kind, literal = value
        if kind != "string":
            raise UnsupportedQueryError(f"`{op}` with a number operand (a string operator)")
        return str(literal)

    def _string_leaf(self, leaf: Node, column: str) -> Node:
        """A string test; the column reads as "" when missing (semantics string_never_null)."""
        from backends.query.evaluate import evaluate  # lazy: the evaluator is not needed to parse

        assert SEMANTICS.get("string_never_null") == ""
        if evaluate(leaf, {column: ""}) is True:
            return Or((Not(Exists(field=column)), leaf))
        return leaf

    def _insensitive(self, literal: str, op: str) -> None:
        if _fold_in_doubt(literal):
            raise UnsupportedQueryError(
                f"case-insensitive `{op}` on {literal!r}: how Kusto folds its non-ASCII letters "
                "is not documented (semantics nonascii_case_folding)"
            )

    def _string_test(self, column: str, op: str, literal: str) -> Node:
        """``column op literal`` for one positive string operator (no ``!``)."""
        sensitive = op in ("==",) or op.endswith("_cs")
        if not sensitive:
            self._insensitive(literal, op)
        base = op.removesuffix("_cs")
        # Case-insensitive leaves are evaluated under every candidate folding (the events on
        # which they disagree are undecided); a case-sensitive one compares code points.
        fold = Fold.SIMPLE if sensitive else _FOLD
        leaf: Node
        if base in ("==", "=~"):
            leaf = Equals(field=column, value=literal, case_sensitive=sensitive, fold=fold)
        elif base in ("contains", "startswith", "endswith"):
            head = () if base == "startswith" or not literal else (Wildcard.ANY,)
            tail = () if base == "endswith" or not literal else (Wildcard.ANY,)
            parts = (*head, literal, *tail) if literal else (Wildcard.ANY,)
            leaf = Glob(field=column, parts=parts, case_sensitive=sensitive, fold=fold)
        elif base == "has":
            leaf = self._has(column, literal, sensitive)
        else:  # pragma: no cover - the grammar admits no other operator
            raise UnsupportedQueryError(f"string operator {op}")
        return self._string_leaf(leaf, column)

    def _has(self, column: str, term: str, sensitive: bool) -> Node:
        """``has``: RHS occurs with no term character just outside its term-character ends."""
        if not term.isascii():
            raise UnsupportedQueryError(
                f"`has` with {term!r}: which non-ASCII characters are term characters is not "
                "documented (semantics has_term)"
            )
        if not term:
            raise UnsupportedQueryError("`has` with an empty term")
        left = "(?:^|[^0-9A-Za-z])" if term[0] in TERM_CHARS else ""
        right = "(?:$|[^0-9A-Za-z])" if term[-1] in TERM_CHARS else ""
        pattern = f"(?s){left}{_re2_escape(term)}{right}"
        return Regex(field=column, pattern=pattern, dialect=RegexDialect.RE2,
                     case_sensitive=sensitive, fold=Fold.SIMPLE if sensitive else _FOLD)

    @v_args(meta=True)
    def str_op(self, meta: Any, children: list[Any]) -> Node:
        column, op_token, value = children
        op = str(op_token)
        literal = self._text(value, op)
        if op == "!~":
            return Not(self._string_test(column, "=~", literal), span=_span(meta))
        if op.startswith("!"):
            return Not(self._string_test(column, op[1:], literal), span=_span(meta))
        return self._string_test(column, op, literal)

    @v_args(meta=True)
    def cmp_op(self, meta: Any, children: list[Any]) -> Node:
        column, op_token, (kind, literal) = children
        op = str(op_token)
        _refuse_number_on_property(column, kind)
        if kind == "string":
            if op == "==":
                return self._string_test(column, "==", literal)
            if op == "!=":
                return Not(self._string_test(column, "==", literal), span=_span(meta))
            raise UnsupportedQueryError(f"ordering comparison `{op}` with a string")
        if kind == "boolean":
            # `Column == true` (bool_equality): false on a null column, as for numbers
            # (null_equality), so not() of it is true there.
            if op not in ("==", "!="):
                raise UnsupportedQueryError(f"ordering comparison `{op}` with a boolean")
            test = Equals(field=column, value=literal,
                          missing=SEMANTICS.missing("bool_equality"), span=_span(meta))
            return test if op == "==" else Not(test, span=_span(meta))
        # Numbers: `==` with a null is false and `!=` true (null_equality); the ordering
        # comparisons are null on a missing column and stay null under not() (null_comparisons).
        equality = SEMANTICS.missing("null_equality")
        if op == "==":
            return Equals(field=column, value=literal, missing=equality, span=_span(meta))
        if op == "!=":
            return Not(Equals(field=column, value=literal, missing=equality), span=_span(meta))
        return Compare(field=column, op=CompareOp(op), value=literal,
                       missing=SEMANTICS.missing("null_comparisons"), span=_span(meta))

    @v_args(meta=True)
    def list_op(self, meta: Any, children: list[Any]) -> Node:
        column, op_token, *values = children
        op = str(op_token)
        if op in ("has_any", "has_all"):
            tests = tuple(self._string_test(column, "has", self._text(v, op)) for v in values)
            return (Or if op == "has_any" else And)(tests, span=_span(meta))
        negated = op.startswith("!")
        insensitive = op.endswith("~")
        tests_list: list[Node] = []
        for kind, literal in values:
            _refuse_number_on_property(column, kind)
            if kind == "number":
                if insensitive:
                    raise UnsupportedQueryError("`in~` with a number")
                # `in` is an OR of `==` (null_equality).
                tests_list.append(Equals(field=column, value=literal,
                                         missing=SEMANTICS.missing("null_equality")))
            else:
                tests_list.append(self._string_test(column, "=~" if insensitive else "==", literal))
        node: Node = Or(tuple(tests_list), span=_span(meta))
        return Not(node, span=_span(meta)) if negated else node

    @v_args(meta=True)
    def regex_op(self, meta: Any, children: list[Any]) -> Node:
        column, value = children
        pattern = self._text(value, "matches regex")
        leaf = Regex(field=column, pattern=pattern, dialect=RegexDialect.RE2,
                     case_sensitive=True, span=_span(meta))
        from backends.query.matching import re2_regex

        re2_regex(pattern)  # an invalid pattern is an error now, not at evaluation time
        return self._string_leaf(leaf, column)

    @v_args(meta=True)
    def call(self, meta: Any, children: list[Any]) -> Node:
        name, column, *args = children
        func = str(name)
        if func in ("isempty", "isnotempty") and not args:
            empty = Or((Not(Exists(field=column)), Equals(field=column, value="")))
            return empty if func == "isempty" else Not(empty, span=_span(meta))
        if func == "ipv4_is_in_range" and len(args) == 1:
            text = self._text(args[0], func)
            try:
                network = ipaddress.ip_network(text, strict=False)
            except ValueError:
                raise UnsupportedQueryError(f"ipv4_is_in_range with {text!r}") from None
            if network.version != 4:
                raise UnsupportedQueryError(f"ipv4_is_in_range with the IPv6 network {text!r}")
            # Only IPv4 text converts: '::ffff:10.1.2.3' is null, not 10.1.2.3 (ipv4_is_in_range).
            return Cidr(
                field=column,
                network=str(network),
                ipv4_mapped=bool(SEMANTICS.get("ipv4_range_reads_mapped_ipv6")),
                span=_span(meta),
            )
        if func == "ipv6_is_match" and len(args) == 1:
            return self._ipv6_is_match(column, self._text(args[0], func), meta)
        raise UnsupportedQueryError(
            f"{func}() is not evaluated: its meaning depends on the column type "
            "(semantics isnull, string_never_null)"
        )

    @staticmethod
    def _ipv6_is_match(column: str, text: str, meta: Any) -> Node:
        """``ipv6_is_match(column, "net/n")`` (semantics ``ipv6_is_match``): three-valued, null
        on a value that is no address, "" (a missing string) included; only the two-argument
        form with an IP-prefix literal is evaluated."""
        from backends.query.matching import ip_prefix_match

        null = SEMANTICS.missing("ipv6_is_match")
        try:
            ip_prefix_match("", text, None)
        except QueryError:
            raise UnsupportedQueryError(
                f"ipv6_is_match with {text!r}, which is no IPv4 or IPv6 address in IP-prefix "
                "notation") from None
        return Cidr(field=column, network=text, prefix_match=True, invalid=null, missing=null,
                    span=_span(meta))
