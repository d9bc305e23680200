"""Tests of the SPL interpreter: lowering, error positions, and the conformance table."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.query.ast import (
    And,
    Cidr,
    Compare,
    CompareOp,
    Const,
    Equals,
    Exists,
    FieldEquals,
    Glob,
    Keyword,
    Fold,
    Missing,
    MultiValued,
    Not,
    Or,
    Regex,
    Wildcard,
)
from backends.query.errors import QueryParseError, UnsupportedQueryError
from backends.splunk.parser import parse, split_pipes

CONFORMANCE = Path(__file__).parents[1] / "data" / "conformance" / "splunk.yml"


SEARCH = Fold.ASCII_OR_SIMPLE  # semantics search_folding / eval_lower_folding
PCRE = Fold.ASCII_OR_UNICODE  # semantics regex_caseless_folding
REGEX_MV = MultiValued.UNDECIDED  # semantics regex_multivalue


def eq(field: str, value: str, cs: bool = False) -> Equals:
    return Equals(field=field, value=value, case_sensitive=cs, fold=Fold.SIMPLE if cs else SEARCH)


def glob(field: str, *parts: object) -> Glob:
    return Glob(field=field, parts=parts, case_sensitive=False, fold=SEARCH)  # type: ignore[arg-type]


LOWERING = [
    ("A=1", eq("A", "1")),
    ("search A=1", eq("A", "1")),
    ("A=1 B=2 OR C=3", And((eq("A", "1"), Or((eq("B", "2"), eq("C", "3")))))),
    ("A=1 AND B=2 OR C=3", And((eq("A", "1"), Or((eq("B", "2"), eq("C", "3")))))),
    ("(A=1 B=2) OR C=3", Or((And((eq("A", "1"), eq("B", "2"))), eq("C", "3")))),
    ("NOT A=1 OR B=2", Or((Not(eq("A", "1")), eq("B", "2")))),
    ("A!=x", And((Exists(field="A"), Not(eq("A", "x"))))),
    ("A=*", Exists(field="A")),
    ("A=CASE(xY)", eq("A", "xY", cs=True)),
    ('A="C:\\\\Win\\\\*"', glob("A", "C:\\Win\\", Wildcard.ANY)),
    ('A="a?b"', eq("A", "a?b")),
    ('A="x\\"y"', eq("A", 'x"y')),
    ("F IN (a, b*)", Or((eq("F", "a"), glob("F", "b", Wildcard.ANY)))),
    ("N>=5", Compare(field="N", op=CompareOp.GTE, value=5, coerce="lexical")),
    ("ip=192.168.0.0/16", Cidr(field="ip", network="192.168.0.0/16", ipv4_mapped=None)),
    ("*", Const(True)),
    ("*evil*", Keyword(parts=(Wildcard.ANY, "evil", Wildcard.ANY), fields=("_raw",), fold=SEARCH)),
    ('* | regex A="x\\\\d"', Regex(field="A", pattern="x\\d", fold=PCRE, multi_valued=REGEX_MV)),
    ('* | regex A!="x"', Not(Regex(field="A", pattern="x", fold=PCRE, multi_valued=REGEX_MV))),
    (
        "* | where lower('A')=lower('B')",
        FieldEquals(field="A", other="B", case_sensitive=False, missing=Missing.NULL, fold=SEARCH),
    ),
    ("* | where A=B", FieldEquals(field="A", other="B", missing=Missing.NULL)),
    ('* | where A!="x"', Not(Equals(field="A", value="x", missing=Missing.NULL))),
    ("* | where isnotnull(A)", Exists(field="A")),
    ("A=1 | table A, B", eq("A", "1")),
    (
        '* | eval C=if(isnotnull(mvfind(\'A\', "x\\\\d")), "true", "false") | search C="true"',
        Regex(field="A", pattern="x\\d", missing=Missing.FALSE, fold=PCRE),
    ),
    (
        '* | eval C=if(isnotnull(mvfind(\'A\', "x")), "true", "false") | search NOT C="true"',
        Not(Regex(field="A", pattern="x", missing=Missing.FALSE, fold=PCRE)),
    ),
    ('* | where isnull(mvfind(A, "x"))', Not(Regex(field="A", pattern="x", missing=Missing.FALSE, fold=PCRE))),
]


@pytest.mark.parametrize("query, expected", LOWERING, ids=[q for q, _ in LOWERING])
def test_lowering(query: str, expected: object) -> None:
    assert parse(query) == expected


def test_repr_round_trip() -> None:
    from backends.query import ast

    tree = parse('A=1 B!=2 OR NOT C=x* | regex D="y" | where lower(E)="z"')
    assert eval(repr(tree), vars(ast)) == tree


def test_tstats_strips_dataset_prefix_and_fills_null() -> None:
    tree = parse(
        '| tstats fillnull_value="null" count from datamodel=Endpoint.Processes '
        'where Processes.process_name=cmd.exe by Processes.process_name Processes.process '
        '| regex Processes.process!="x" | `drop_dm_object_name(Processes)`'
    )
    assert tree == And(
        (
            eq("process_name", "cmd.exe"),
            Not(And((Exists(field="process"),
                     Regex(field="process", pattern="x", fold=PCRE, multi_valued=REGEX_MV)))),
        )
    )


def test_tstats_field_not_in_by_list() -> None:
    with pytest.raises(UnsupportedQueryError, match="not one of its BY fields"):
        parse('| tstats fillnull_value="null" count from datamodel=A.B by B.x | regex B.y="z"')


def test_split_pipes_respects_quotes_and_macros() -> None:
    assert split_pipes('a="x|y" | `m(a|b)` | c') == [(0, 'a="x|y" '), (9, " `m(a|b)` "), (20, " c")]


INVALID = [
    ("A=(", 1, 3, "unexpected '('"),
    ('A="x', 1, 3, "unterminated string"),
    ("A=1 OR", 1, 7, "unexpected end"),
    ("A=1\n| where (B=", 2, 12, "unexpected end"),
    ("A=1 | ", 1, 7, "empty command"),
    ('* | regex A=x', 1, 10, "expected regex"),
]


@pytest.mark.parametrize("query, line, column, message", INVALID)
def test_invalid(query: str, line: int, column: int, message: str) -> None:
    with pytest.raises(QueryParseError) as info:
        parse(query)
    assert (info.value.line, info.value.column) == (line, column)
    assert message in info.value.reason


UNSUPPORTED = [
    ("A=1 | stats count", "'stats'"),
    ("evil", "bare search term"),
    ('A="x\\*"', "cannot escape"),
    ("A=TERM(x)", "TERM"),
    ("* | where len(A)>3", "len"),
    ("* | rex field=A \"x\"", "rex"),
    ('* | where mvfind(A, "x")>=0', "mvfind"),
    ('* | where isnotnull(mvfind(lower(A), "x"))', "mvfind"),
]


@pytest.mark.parametrize("query, message", UNSUPPORTED)
def test_unsupported(query: str, message: str) -> None:
    with pytest.raises(UnsupportedQueryError, match=message):
        parse(query)


def test_dollar_also_matches_before_a_final_newline_and_the_end_of_subject_does_not() -> None:
    # Issue 11 (4d): SPL regexes are PCRE; '$' also matches before a final newline
    # (semantics regex_dollar_before_newline), '\z' only at the end (regex_end_of_subject), which
    # is the anchor the emitters write.
    from backends.query.evaluate import matches
    from backends.splunk.parser import parse as parse_spl
    from backends.splunk.semantics import SEMANTICS as SPL

    assert SPL.get("regex_dollar_before_newline") is True
    end = SPL.typed("regex_end_of_subject", str)
    dollar = parse_spl('| regex Image="(?s)^.*\\\\\\\\cm.\\\\.exe$"')
    anchored = parse_spl('| regex Image="(?s)^.*\\\\\\\\cm.\\\\.exe' + end.replace("\\", "\\\\") + '"')
    for value, by_dollar, by_end in (("C:\\cmd.exe", True, True), ("C:\\cmd.exe\n", True, False),
                                     ("C:\\cmd.exe\r\n", False, False)):
        assert matches(dollar, {"Image": value}) is by_dollar, value
        assert matches(anchored, {"Image": value}) is by_end, value


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1001, True), ("1001", True), ("999", False), ("1000.5", True), ("-5", False),
     # Not numbers: compared as text with '1000' (before: false, as Sigma's gt says).
     ("abc", True), ("null", True), ("", False), ("+", False),
     # Number-like text whose two readings agree.
     ("\u0661\u0660\u0660\u0661", True), ("inf", True), ("2e3", True), ("1_001", True),
     # ... and disagree: not decided.
     (" 1001", None), ("1_000", None), ("0x3e9", None), ("nan", None), ("+1001", None)],
)
def test_ordering_comparisons_compare_other_values_as_text(value: object,
                                                          expected: bool | None) -> None:
    """Splunk's search compares two numbers numerically and other values lexicographically
    (semantics search_numeric_comparison): ProcessId>1000 holds on 'abc'. Before, the
    interpreter read such values as no number (false) and the Arabic-Indic digits as 1001."""
    from backends.query.errors import VerdictUndecided
    from backends.query.evaluate import matches

    query = parse("ProcessId>1000")
    if expected is None:
        with pytest.raises(VerdictUndecided):
            matches(query, {"ProcessId": value})
    else:
        assert matches(query, {"ProcessId": value}) is expected


def test_a_number_in_a_comparison_must_be_canonical() -> None:
    """Other values compare with the number's text: '01000' would be another comparand."""
    with pytest.raises(UnsupportedQueryError, match="canonical"):
        parse("ProcessId>01000")
