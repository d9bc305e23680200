"""Tests of the Elasticsearch EQL interpreter: lowering, errors, semantics table, conformance.

The conformance part loads ``tests/data/conformance/eql.yml`` (gold verdicts with doc links) and
runs every case through ``parse`` and the shared evaluator, independently of the lead's runner.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from backends.eql.parser import parse, parse_expression
from backends.eql.semantics import SEMANTICS
from backends.query import ast as ast_module
from backends.query.ast import (
    And,
    Cidr,
    Compare,
    CompareOp,
    Const,
    Equals,
    Exists,
    Fold,
    Glob,
    Missing,
    Node,
    Not,
    Or,
    Regex,
    RegexDialect,
    Wildcard,
)
from backends.query.errors import QueryParseError, UnsupportedQueryError

TABLE = Path(__file__).resolve().parents[1] / "data" / "conformance" / "eql.yml"
ANY, ONE = Wildcard.ANY, Wildcard.ONE
ES = Fold.ASCII_OR_UNICODE  # EQL case_insensitive folding (semantics case_insensitive_folding)


def cond(text: str) -> Node:
    """Parse ``any where <text>`` (no category leaf) for compact expectations."""
    return parse(f"any where {text}")


# --- lowering ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('f == "a*"', Equals(field="f", value="a*", case_sensitive=True)),
        ('f != "x"', Not(Equals(field="f", value="x", case_sensitive=True))),
        ('"x" == f', Equals(field="f", value="x", case_sensitive=True)),
        ("3 < n", Compare(field="n", op=CompareOp.GT, value=3)),
        ("n <= -1.5", Compare(field="n", op=CompareOp.LTE, value=-1.5)),
        ("f == null", Not(Exists(field="f"))),
        ("f != null", Exists(field="f")),
        ("b == true", Equals(field="b", value=True)),
        ('f : "d?c*"', Glob(field="f", parts=("d", ONE, "c", ANY), case_sensitive=False, fold=ES)),
        ('f like "A*"', Glob(field="f", parts=("A", ANY), case_sensitive=True)),
        ('f like~ "A*"', Glob(field="f", parts=("A", ANY), case_sensitive=False, fold=ES)),
        ('f : ""', Glob(field="f", parts=(), case_sensitive=False, fold=ES)),
        (
            'f : ("a", "b*")',
            Or(
                (
                    Glob(field="f", parts=("a",), case_sensitive=False, fold=ES),
                    Glob(field="f", parts=("b", ANY), case_sensitive=False, fold=ES),
                )
            ),
        ),
        (
            'f regex~ "a.c"',
            Regex(
                field="f",
                pattern="a.c",
                dialect=RegexDialect.LUCENE,
                anchored=True,
                case_sensitive=False,
                fold=ES,
            ),
        ),
        (
            'f in ("A", 2)',
            Or((Equals(field="f", value="A"), Equals(field="f", value=2))),
        ),
        ('f in~ ("A")', Equals(field="f", value="A", case_sensitive=False, fold=ES)),
        ('f not in ("A")', Not(Equals(field="f", value="A"))),
        ('f not in~ ("A")', Not(Equals(field="f", value="A", case_sensitive=False, fold=ES))),
        ('?`my-f``x`.y == "v"', Equals(field="my-f`x.y", value="v")),
        ('`6field` : "v"', Glob(field="6field", parts=("v",), case_sensitive=False, fold=ES)),
        ("true", Const(True)),
        ('cidrMatch(ip, "10.0.0.0/8")', Cidr(field="ip", network="10.0.0.0/8")),
        (
            'startsWith(f, "a*")',
            Glob(field="f", parts=("a*", ANY), case_sensitive=True),
        ),
        ('endsWith~(f, ".EXE")', Glob(field="f", parts=(ANY, ".EXE"), case_sensitive=False, fold=ES)),
        (
            'stringContains(f, "x")',
            Glob(field="f", parts=(ANY, "x", ANY), case_sensitive=True),
        ),
    ],
)
def test_lowering(text: str, expected: Node) -> None:
    assert cond(text) == expected


def test_category_lowering_uses_the_table() -> None:
    node = parse('process where f == "x"')
    assert node == And(
        (
            Equals(field="event.category", value="process", case_sensitive=True),
            Equals(field="f", value="x"),
        )
    )
    assert SEMANTICS.get("category_field") == "event.category"


def test_quoted_categories() -> None:
    expected = Equals(field="event.category", value="my cat", case_sensitive=True)
    assert parse('"my cat" where true').children[0] == expected  # type: ignore[attr-defined]
    assert parse('"""my cat""" where true').children[0] == expected  # type: ignore[attr-defined]


def test_precedence_and_flattening() -> None:
    a, b, c, d = (Equals(field=x, value=1) for x in "abcd")
    assert cond("a == 1 or b == 1 and c == 1") == Or((a, And((b, c))))
    assert cond("not a == 1 and b == 1") == And((Not(a), b))
    assert cond("a == 1 and b == 1 and c == 1 or d == 1") == Or((And((a, b, c)), d))
    assert cond("(a == 1 or b == 1) and c == 1") == And((Or((a, b)), c))


def test_missing_outcomes_come_from_the_table() -> None:
    neq = cond('f != "x"')
    assert isinstance(neq, Not) and neq.child.missing is SEMANTICS.missing("neq_missing")
    assert cond('f : "x"').missing is SEMANTICS.missing("not_missing")  # type: ignore[attr-defined]
    fn = cond('endsWith(f, "x")')
    assert fn.missing is SEMANTICS.missing("function_missing")  # type: ignore[attr-defined]
    assert SEMANTICS.missing("neq_missing") is Missing.FALSE


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (r'"C:\\Windows\\*"', "C:\\Windows\\*"),
        ('"""C:\\Windows\\*"""', "C:\\Windows\\*"),
        (r'"a\"b\tc\nd\re"', 'a"b\tc\nd\re'),
        (r'"\u{200F}\u{0000004a}"', "\u200fJ"),
        ('"""say "hi\\" """', 'say "hi\\" '),
        ('"""ends with quote""""', 'ends with quote"'),
    ],
)
def test_string_literals(text: str, value: str) -> None:
    assert cond(f"f == {text}") == Equals(field="f", value=value)


def test_comments_and_whitespace() -> None:
    assert cond('f : "a" /* block */ // line') == cond('f : "a"')
    assert parse('process\n  where\n  f == "x"') == parse('process where f == "x"')


def test_eval_repr_round_trip() -> None:
    node = parse(
        'process where not (f : ("a*", "b?") or g regex~ "x.*") and h != null and '
        'cidrMatch(ip, "10.0.0.0/8", "::1") and n >= 3 and k not in~ ("Z")'
    )
    namespace = {name: getattr(ast_module, name) for name in dir(ast_module)}
    assert eval(repr(node), namespace) == node  # noqa: S307 - repr of our own frozen nodes


def test_spans_point_into_the_source() -> None:
    text = 'any where f == "x" and g : "y"'
    node = parse(text)
    assert isinstance(node, And)
    first = node.children[0]
    assert first.span is not None
    assert text[first.span.offset : first.span.offset + first.span.length] == 'f == "x"'


def test_parse_expression_fragment() -> None:
    assert parse_expression('f : "x"') == cond('f : "x"')


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"),
    [
        (r'any where f == "C:\Windows"', 1, 19, "backslash must be doubled"),
        ('any where f = "x"', 1, 13, "use `==`"),
        ("any where f == 'x'", 1, 16, "double quotes"),
        ("any where f == 'x", 1, 16, "double quotes"),
        ('any where f == ?"x"', 1, 16, "double quotes"),
        ('any where f == "abc', 1, 16, "unterminated string"),
        ('any where\n  f == "a\n"', 2, 8, "unterminated string"),
        ('process WHERE f == "x"', 1, 9, "write `where`"),
        ('any where f == "x" AND g == "y"', 1, 20, "write `and`"),
        ("any where a < 1 < 2", 1, 17, "cannot be chained"),
        ("any where", 1, 10, "end of query"),
        ('any where f : ("a" "b")', 1, 20, "expected `)`, `,`"),
        ("any where f : 5", 1, 15, "strings only"),
        ("any where f == g", 1, 11, "field with another field"),
        ("any where f < null", 1, 11, "null"),
        (r'any where f == "\u{1}"', 1, 17, "hex digits"),
        ('any where cidrMatch(ip, "10.0.0.300/8")', 1, 25, "not an IP"),
        ("any where `unterminated == 1", 1, 11, "quoted"),
    ],
)
def test_parse_errors(text: str, line: int, column: int, fragment: str) -> None:
    with pytest.raises(QueryParseError) as info:
        parse(text)
    err = info.value
    assert (err.line, err.column) == (line, column), str(err)
    assert fragment in str(err)
    assert "^" in str(err).splitlines()[-1]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('sequence [process where true] [file where true]', "sequence"),
        ("  // c\n sample by host.name [any where true] [any where true]", "sample"),
        ('join [process where true] [file where true]', "join"),
        ('any where f == "x" | head 10', "head"),
        ("any where length(f) > 2", "length(f) > 2"),
        ("any where between(f, \"a\", \"b\") == \"x\"", "between"),
        ('any where match(f, "a")', "match()"),
        ("any where f", "alone"),
        ('any where f[0] == "x"', "array indexes"),
        ('any where startsWith("abc", f)', "startsWith"),
    ],
)
def test_unsupported(text: str, fragment: str) -> None:
    with pytest.raises(UnsupportedQueryError) as info:
        parse(text)
    assert fragment in str(info.value)


# --- the semantics table -----------------------------------------------------------------------


def test_every_semantics_entry_has_a_vendor_doc() -> None:
    for key, rule in SEMANTICS.entries.items():
        assert rule.doc.startswith(("https://www.elastic.co/", "https://github.com/elastic/")), key
        assert rule.note, key


def test_table_values_match_the_documented_operators() -> None:
    assert SEMANTICS.get("eq_case_sensitive") is True
    assert SEMANTICS.get("seq_case_sensitive") is False
    assert SEMANTICS.get("like_case_sensitive") is True
    assert SEMANTICS.get("like_insensitive_case_sensitive") is False
    assert SEMANTICS.get("regex_dialect") is RegexDialect.LUCENE
    assert SEMANTICS.get("regex_anchored") is True


# --- field model -------------------------------------------------------------------------------


class _Info:
    def __init__(self, source: str, type_: str, **extra: Any) -> None:
        self.source = source
        self.type = type_
        self.normalizer = extra.get("normalizer")
        self.ignore_above = extra.get("ignore_above")


class _Model:
    """A stand-in with FieldModel's lookup(name) contract (backends/query/fields.py)."""

    def __init__(self, infos: dict[str, _Info]) -> None:
        self.infos = infos

    def lookup(self, name: str) -> _Info | None:
        return self.infos.get(name)


def test_field_model_applies_source_limit_and_normalizer() -> None:
    model = _Model(
        {
            "process.name.caseless": _Info(
                "process.name", "keyword", normalizer="lowercase", ignore_above=1024
            ),
            "message": _Info("message", "match_only_text"),
        }
    )
    node = parse('any where process.name.caseless == "cmd.exe"', model)  # type: ignore[arg-type]
    assert node == Equals(
        field="process.name", value="cmd.exe", lowercase_value=True, max_length=1024
    )
    with pytest.raises(UnsupportedQueryError, match="match_only_text"):
        parse('any where message : "x"', model)  # type: ignore[arg-type]


@pytest.mark.parametrize("query", [
    'any where process.command_line : "a"', 'any where process.command_line == "a"',
    'any where startsWith~(process.command_line, "a")', 'any where process.command_line != "a"',
])
def test_a_custom_normalizer_is_refused(query: str) -> None:
    # A normalizer other than lowercase (asciifolding, a char filter ...) changes what the field
    # indexes and what a term query compares; the leaf ignored it, so `check --mapping` called
    # EQL equivalent on a field whose normalizer it knew nothing of (the other Elastic
    # interpreters refused it).
    model = _Model({"process.command_line": _Info("process.command_line", "keyword",
                                                  normalizer="my_folding")})
    with pytest.raises(UnsupportedQueryError, match="my_folding"):
        parse(query, model)  # type: ignore[arg-type]
