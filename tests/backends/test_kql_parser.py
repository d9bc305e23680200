"""Tests of the KQL interpreter: grammar, lowering per field type, errors, and emitter round trips.

The round-trip tests import the emitter only to produce query text; the interpreter itself never
imports it, so a shared escaping bug would show up here as a mismatch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.processing.pipeline import ProcessingPipeline
from sigma.types import SpecialChars

from backends.kql.backend import SigportKqlBackend, kql_literal
from backends.kql.parser import parse
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
    Missing,
    Node,
    Not,
    Or,
    Text,
    Wildcard,
)
from backends.query.errors import QueryParseError, UnsupportedQueryError
from backends.query.fields import FieldModel

CONFORMANCE = Path(__file__).resolve().parents[1] / "data" / "conformance" / "kql.yml"
TABLE = yaml.safe_load(CONFORMANCE.read_text(encoding="utf-8"))
MODEL = FieldModel.from_dict(TABLE["field_model"]["fields"])
ANY = Wildcard.ANY


# --- lowering -----------------------------------------------------------------------------------


def kw(value: str, field: str = "process.name", **extra: Any) -> Equals:
    """The Equals leaf a keyword field of MODEL lowers a plain value to."""
    return Equals(field=field, value=value, max_length=1024, **extra)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("process.name:a", kw("a")),
        ("process.name:A*", Glob(field="process.name", parts=("A", ANY), max_length=1024)),
        (
            "process.name.caseless:A*",
            Glob(
                field="process.name",
                parts=("a", ANY),
                case_sensitive=False,
                lowercase_value=True,
                max_length=1024,
            ),
        ),
        (
            "process.name.caseless:ABC",
            kw("abc", case_sensitive=False, lowercase_value=True),
        ),
        ("process.name:*", Exists(field="process.name", max_length=1024)),
        ("process.name:**", Glob(field="process.name", parts=(ANY, ANY), max_length=1024)),
        ("process.name.text:Quick", Text(field="process.name", parts=("Quick",))),
        ('message:"a b"', Text(field="message", parts=("a b",), phrase=True)),
        ("process.pid:7", Equals(field="process.pid", coerce="integer", value=7)),
        ("process.pid > 7",
         Compare(field="process.pid", coerce="integer", op=CompareOp.GT, value=7)),
        ("source.ip:10.0.0.1", Cidr(field="source.ip", network="10.0.0.1/32")),
        ("process.command_line:x y", Equals(field="process.command_line", value="x y")),
        (
            "process.command_line:*a b*",
            Or(
                (
                    Glob(field="process.command_line", parts=(ANY, "a")),
                    Glob(field="process.command_line", parts=("b", ANY)),
                )
            ),
        ),
        (
            "process.command_line:*a b c*",
            Or(
                (
                    Glob(field="process.command_line", parts=(ANY, "a")),
                    Equals(field="process.command_line", value="b"),
                    Glob(field="process.command_line", parts=("c", ANY)),
                )
            ),
        ),
        ("not process.name:a", Not(kw("a"))),
        ("process.name:(a or b)", Or((kw("a"), kw("b")))),
        ("process.name:(a and not b)", And((kw("a"), Not(kw("b"))))),
        ("process.name:((a))", kw("a")),
        ("x:a or y:b and z:c", Or((Equals(field="x", value="a"), And((
            Equals(field="y", value="b"), Equals(field="z", value="c")))))),
        ("(x:a or y:b) and z:c", And((Or((Equals(field="x", value="a"),
            Equals(field="y", value="b"))), Equals(field="z", value="c")))),
        ("x:a AnD y:b", And((Equals(field="x", value="a"), Equals(field="y", value="b")))),
        ("NOT x:a", Not(Equals(field="x", value="a"))),
        ('"x":a', Equals(field="x", value="a")),
        ("mimikatz", Keyword(("mimikatz",))),
        ("*mimi*", Keyword((ANY, "mimi", ANY))),
        ('"two words"', Keyword((ANY, "two words", ANY))),
        ("*:*", Const(True)),
        ("   ", Const(True)),
        ("x:a\\*b", Equals(field="x", value="a*b")),
        ("x:a?b", Equals(field="x", value="a?b")),
        ("x:\\\\", Equals(field="x", value="\\")),
        ('x:"\\u0041\\\\\\"\\q"', Equals(field="x", value='A\\"\\q')),
        ("x:\\u0041", Equals(field="x", value="A")),
        ("x:\\Not", Equals(field="x", value="Not")),
        ("x:\\not", Equals(field="x", value="ot")),  # \n is a newline, then trimmed
        ("x:a \\and b", Equals(field="x", value="a and b")),
        ("x:order", Equals(field="x", value="order")),
        ("x:a or", Equals(field="x", value="a or")),
        ("x:not", Equals(field="x", value="not")),
        ("x:a and and y:b", And((Equals(field="x", value="a"), Equals(field="and y", value="b")))),
        ("x:\u00a0a", Equals(field="x", value="a")),
    ],
)
def test_lowering(query: str, expected: Node) -> None:
    # Queries on MODEL's fields use it; the others test grammar facts on unknown fields.
    fields = MODEL if any(f in query for f in ("process.", "message", "source.")) else None
    assert parse(query, fields) == expected


def test_leaves_are_two_valued() -> None:
    tree = parse("not process.name:a", MODEL)
    assert isinstance(tree, Not) and isinstance(tree.child, Equals)
    assert tree.child.missing is Missing.FALSE


def test_spans_point_into_the_text() -> None:
    query = "x:a or  y:bc"
    tree = parse(query)
    assert isinstance(tree, Or)
    second = tree.children[1]
    assert second.span is not None
    assert query[second.span.offset : second.span.offset + second.span.length] == "y:bc"


@pytest.mark.parametrize(
    ("query", "construct"),
    [
        ("x:{ y:a }", "nested"),
        ("x*:a", "field name pattern"),
        ("*:a", "every field"),
        ("x:null", "null"),
        ("process.pid:abc", "long"),
        ("process.pid:4*", "numeric"),
        ("source.ip:nope", "non-IP"),
        ("source.ip:10.*", "wildcard on an ip"),
        ("process.command_line:*a \\AND b*", "operator"),
        ("message > b", "range on a field of type"),
    ],
)
def test_unsupported(query: str, construct: str) -> None:
    with pytest.raises(UnsupportedQueryError, match=construct):
        parse(query, MODEL)


# --- invalid input: exact line / column ---------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "line", "column", "needle"),
    [
        ("x:a\\.b", 1, 4, "invalid escape"),
        ("x:\\ a", 1, 3, "invalid escape"),
        ("x:(a or b", 1, 10, "unexpected end"),
        ("x:not a", 1, 3, "operator word"),
        ("x:cannot b", 1, 6, "operator word"),
        ("x:a y:b", 1, 6, "unexpected ':'"),
        ('x:"abc', 1, 3, "unterminated"),
        ("not(x:a)", 1, 4, "unexpected '('"),
        ("x:a and\n  y:(b", 2, 7, "unexpected end"),
        ("x:a and\ny:)", 2, 3, "unexpected ')'"),
        ("x:a and )", 1, 9, "unexpected ')'"),
        ("x:", 1, 3, "unexpected end"),
    ],
)
def test_invalid(query: str, line: int, column: int, needle: str) -> None:
    with pytest.raises(QueryParseError) as info:
        parse(query)
    err = info.value
    assert (err.line, err.column) == (line, column), str(err)
    assert needle in err.reason
    assert "^" in str(err) and err.language == "KQL"


# --- round trips on the emitter's output ---------------------------------------------------------

RULE = """
title: t
logsource: {{category: process_creation, product: windows}}
detection:
{detection}
"""


def emit(detection: str) -> str:
    """Convert an inline rule with the KQL emitter (empty pipeline)."""
    backend = SigportKqlBackend(ProcessingPipeline())
    [query] = backend.convert(SigmaCollection.from_yaml(RULE.format(detection=detection)))
    return query


@pytest.mark.parametrize(
    ("detection", "expected"),
    [
        (
            "  a1: {process.name|endswith: '\\cmd.exe'}\n  b1: {process.pid: 4}\n"
            "  c1: {process.name: [x, 'y or z']}\n  condition: a1 or (b1 and not c1)",
            Or((
                Glob(field="process.name", parts=(ANY, "\\cmd.exe"), max_length=1024),
                And((Equals(field="process.pid", coerce="integer", value=4), Not(Or((kw("x"), kw("y or z")))))),
            )),
        ),
        (
            "  s: {process.name|contains|all: ['a not b', '(x)']}\n  condition: s",
            And((
                Glob(field="process.name", parts=(ANY, "a not b", ANY), max_length=1024),
                Glob(field="process.name", parts=(ANY, "(x)", ANY), max_length=1024),
            )),
        ),
        (
            "  s: {process.name: null, source.ip|cidr: '10.0.0.0/8'}\n  condition: not s",
            Not(And((Not(Exists(field="process.name", max_length=1024)),
                     Cidr(field="source.ip", network="10.0.0.0/8")))),
        ),
        ("  s: {process.name: ' x'}\n  condition: s", kw(" x")),
        ("  s: {process.name: 'true'}\n  condition: s", kw("true")),
        ("  s: {process.pid|gte: 10}\n  condition: s",
         Compare(field="process.pid", coerce="integer", op=CompareOp.GTE, value=10)),
    ],
)
def test_emitter_round_trip(detection: str, expected: Node) -> None:
    assert parse(emit(detection), MODEL) == expected


_ALPHABET = list("ab nortdNOTANDR\\():<>\"*{}?\t\r\n\u00a0'x")
_PART = st.one_of(
    st.text(alphabet=_ALPHABET, min_size=1, max_size=8),
    st.sampled_from([SpecialChars.WILDCARD_MULTI, SpecialChars.WILDCARD_SINGLE]),
    st.sampled_from([" or ", " and ", " not ", "not ", " OR", "cannot", "NOT "]),
)


def _expected_leaf(parts: list[Any]) -> Node:
    """What a keyword field with these Sigma parts should lower to (``?`` widened to ``*``)."""
    merged: list[Any] = []
    for part in parts:
        if isinstance(part, SpecialChars):
            merged.append(ANY)
        elif merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    if merged == [ANY]:
        return Exists(field="f")
    if ANY in merged:
        return Glob(field="f", parts=tuple(merged))
    return Equals(field="f", value="".join(merged))


@settings(max_examples=400, deadline=None)
@given(st.lists(_PART, max_size=5))
def test_literal_round_trip(parts: list[Any]) -> None:
    """Any Sigma value the emitter accepts parses back to exactly that value on a keyword field."""
    model = FieldModel.from_dict({"f": {"type": "keyword"}})
    try:
        text, _ = kql_literal(parts)
    except SigmaFeatureNotSupportedByBackendError:
        flat = "".join(p if isinstance(p, str) else "*" for p in parts)
        assert flat != flat.strip() or flat[:1] in "\u00a0" or flat[-1:] in "\u00a0"
        return
    for query in (f"f:{text}", f"f:({text} or zz)", f"f:{text} and f:zz", f"not f:{text}"):
        tree = parse(query, model)
        leaf: Any = tree
        while not isinstance(leaf, (Equals, Glob, Exists)):
            leaf = leaf.child if isinstance(leaf, Not) else leaf.children[0]
        assert leaf == _expected_leaf(parts), (parts, query)
