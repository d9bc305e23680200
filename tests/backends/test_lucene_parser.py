"""Tests of the Lucene query_string interpreter: trees, errors with positions, field-model lowering,
and the gold conformance table ``tests/data/conformance/lucene.yml``."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.lucene.parser import parse
from backends.query.ast import (
    And,
    Cidr,
    Compare,
    CompareOp,
    Const,
    Equals,
    Exists,
    Glob,
    Keyword,
    Not,
    Or,
    Regex,
    RegexDialect,
    Text,
    Wildcard,
)
from backends.query.errors import QueryParseError, UnsupportedQueryError
from backends.query.fields import FieldModel

TABLE = Path(__file__).resolve().parents[1] / "data" / "conformance" / "lucene.yml"
FIELDS = FieldModel.from_dict(
    {
        "process.name": {
            "type": "keyword",
            "ignore_above": 1024,
            "fields": {
                "caseless": {"type": "keyword", "normalizer": "lowercase", "ignore_above": 1024},
                "text": {"type": "match_only_text"},
            },
        },
        "n": {"type": "long"},
        "ip": {"type": "ip"},
        "ok": {"type": "boolean"},
        "ts": {"type": "date"},
    }
)


def eq(field: str, value: object) -> Equals:
    return Equals(field=field, value=value)


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        ("a:b", eq("a", "b")),
        ("a:b AND c:d", And((eq("a", "b"), eq("c", "d")))),
        ("a:b && c:d", And((eq("a", "b"), eq("c", "d")))),
        ("a:b OR c:d", Or((eq("a", "b"), eq("c", "d")))),
        ("a:b c:d", Or((eq("a", "b"), eq("c", "d")))),
        ("a:b OR NOT c:d", And((eq("a", "b"), Not(eq("c", "d"))))),
        ("a:b OR (NOT c:d)", Or((eq("a", "b"), Not(eq("c", "d"))))),
        ("+a:b c:d", eq("a", "b")),
        ("-a:b", Not(eq("a", "b"))),
        ("!a:b", Not(eq("a", "b"))),
        ("a:(x OR y*)", Or((eq("a", "x"), Glob(field="a", parts=("y", Wildcard.ANY))))),
        ("a:(+x -y)", And((eq("a", "x"), Not(eq("a", "y"))))),
        ("_exists_:a", Exists(field="a")),
        ("a:*", Exists(field="a")),
        ('a:"x y*"', eq("a", "x y*")),
        ("a:x\\ y", eq("a", "x y")),
        ("a:\\u0041", eq("a", "A")),
        ("a:a-b+c", eq("a", "a-b+c")),
        ("ANDROID:ORACLE", eq("ANDROID", "ORACLE")),
        ("a:\\*x", eq("a", "*x")),
        ("a:x\\*?", Glob(field="a", parts=("x*", Wildcard.ONE))),
        ("a:>=5", Compare(field="a", op=CompareOp.GTE, value=5)),
        ("a:\\>x", Compare(field="a", op=CompareOp.GT, value="x")),
        ('a:">x"', eq("a", ">x")),
        ("a:[1 TO 5}", And((Compare(field="a", op=CompareOp.GTE, value=1),
                            Compare(field="a", op=CompareOp.LT, value=5)))),
        ("a:{* TO b]", Compare(field="a", op=CompareOp.LTE, value="b")),
        ("a:/x\\/y.*/", Regex(field="a", pattern="x\\/y.*", dialect=RegexDialect.LUCENE,
                              anchored=True)),
        ("a:x^2", eq("a", "x")),
        ("foo*", Keyword(parts=("foo", Wildcard.ANY), case_sensitive=True)),
        ("", Const(False)),
        ("  ", Const(False)),
    ],
)
def test_parse_tree(query: str, tree: object) -> None:
    assert parse(query) == tree


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        ("process.name:CMD.exe", Equals(field="process.name", value="CMD.exe", max_length=1024)),
        (
            "process.name.caseless:CMD.exe",
            Equals(field="process.name", value="cmd.exe", lowercase_value=True, max_length=1024),
        ),
        (
            "process.name.caseless:CMD*",
            Glob(field="process.name", parts=("cmd", Wildcard.ANY), lowercase_value=True,
                 max_length=1024),
        ),
        ("process.name.caseless:*\\X?", Const(False)),
        (
            "process.name.caseless:\\X*",
            Glob(field="process.name", parts=("x", Wildcard.ANY), lowercase_value=True,
                 max_length=1024),
        ),
        (
            "process.name.caseless:/C.*/",
            Regex(field="process.name", pattern="C.*", dialect=RegexDialect.LUCENE, anchored=True,
                  lowercase_value=True, max_length=1024),
        ),
        ('process.name.text:"a b"', Text(field="process.name", parts=("a b",), phrase=True)),
        ("process.name.text:ab*", Text(field="process.name", parts=("ab", Wildcard.ANY))),
        ("n:5", Equals(field="n", coerce="integer", value=5)),
        ("n:[1 TO *]", Compare(field="n", coerce="integer", op=CompareOp.GTE, value=1)),
        ("ip:10.0.0.0\\/8", Cidr(field="ip", network="10.0.0.0/8")),
        ("ip:10.0.0.1", Cidr(field="ip", network="10.0.0.1/32")),
        ("ok:true", Equals(field="ok", value=True)),
        # The exists query reads the named field's source value within its ignore_above.
        ("_exists_:process.name.caseless", Exists(field="process.name", max_length=1024)),
        ("_exists_:n", Exists(field="n", coerce="integer")),
    ],
)
def test_field_model_lowering(query: str, tree: object) -> None:
    assert parse(query, FIELDS) == tree


@pytest.mark.parametrize(
    ("query", "line", "column", "fragment"),
    [
        ("a:(b", 1, 5, "ends too early"),
        ("a:b)", 1, 4, "unbalanced ')'"),
        ("AND a:b", 1, 1, "cannot start with AND"),
        ("a:AND", 1, 3, "operator needs a term"),
        ("NOT NOT a:b", 1, 5, "operator needs a term"),
        ('a:"open', 1, 3, "unexpected character '\"'"),
        ("a:[1 TO", 1, 3, "range needs the form"),
        ("a:b\nc:d e:", 2, 7, "ends too early"),
        ("a:x/y", 1, 4, "unexpected character '/'"),
        ("a:[1 2]", 1, 3, "malformed range"),
        ("a:b\\", 1, 4, "backslash"),
    ],
)
def test_parse_errors(query: str, line: int, column: int, fragment: str) -> None:
    with pytest.raises(QueryParseError) as info:
        parse(query)
    assert (info.value.line, info.value.column) == (line, column)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("a:b AND c:d OR e:f", "ambiguous precedence"),
        ("a:b c:d AND e:f", "ambiguous precedence"),
        ("a:x~2", "fuzzy"),
        ('a:"x y"~2', "fuzzy"),
        ("a\\*:x", "field-name pattern"),
        ("n:abc", "not a number"),
        ("ts:2020", "type date"),
        ("process.name.text:/a/", "regular expression"),
        ("/a/", "regular expression"),
    ],
)
def test_unsupported(query: str, fragment: str) -> None:
    with pytest.raises(UnsupportedQueryError, match=fragment):
        parse(query, FIELDS)


def test_spans_point_into_source() -> None:
    tree = parse("a:b AND c:d")
    assert isinstance(tree, And)
    second = tree.children[1]
    assert second.span is not None and (second.span.offset, second.span.length) == (10, 1)


def test_repr_round_trip() -> None:
    from backends.query import ast

    tree = parse("a:(x OR y*) AND NOT b:/c/ AND n:[1 TO 2]")
    assert eval(repr(tree), vars(ast)) == tree


def test_parser_does_not_import_emitter() -> None:
    source = (Path(__file__).resolve().parents[2] / "backends" / "lucene" / "parser.py").read_text()
    lower = (Path(__file__).resolve().parents[2] / "backends" / "lucene" / "lower.py").read_text()
    for text in (source, lower):
        assert "backend" not in text.replace("backends", "") and "sigma." not in text
