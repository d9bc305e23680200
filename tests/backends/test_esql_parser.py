"""The ES|QL interpreter: grammar and lowering (``backends/esql/parser.py``, ``lower.py``),
hostile query text, and one test per semantics entry that fails if the entry is read the other
way."""

from __future__ import annotations

from typing import Any

import pytest

from backends.esql.parser import parse
from backends.query import ast
from backends.query.ast import (
    And,
    Const,
    Equals,
    Exists,
    Fold,
    Glob,
    Missing,
    MultiValued,
    Not,
    Or,
    Regex,
    RegexDialect,
    Wildcard,
)
from backends.query.errors import (
    FoldingUndecided,
    QueryParseError,
    UnsupportedQueryError,
    VerdictUndecided,
)
from backends.query.evaluate import evaluate, matches
from backends.query.fields import FieldModel

ANY, ONE = Wildcard.ANY, Wildcard.ONE
DEFEND = FieldModel.builtin("defend")
HEAD = "from * metadata _id, _index, _version | where "


def _where(condition: str, fields: FieldModel | None = None) -> ast.Node:
    return parse("FROM logs-* | WHERE " + condition, fields)


def _glob(field: str, *parts: Any, **kw: Any) -> Glob:
    base: dict[str, Any] = {"missing": Missing.NULL, "multi_valued": MultiValued.NULL}
    return Glob(field=field, parts=parts, **{**base, **kw})


# --- grammar and lowering ------------------------------------------------------------------------


def test_the_emitters_shape_lowers_to_the_shared_tree() -> None:
    node = parse(
        HEAD + 'event.category like "process" and (TO_LOWER(process.name) like "7z.exe" or '
        'TO_LOWER(process.command_line) like "*.dmp*")'
    )
    lowered = {"case_sensitive": False, "fold": Fold.FULL_OR_ASCII_OR_UNICODE}
    assert node == And((
        _glob("event.category", "process"),
        Or((
            _glob("process.name", "7z.exe", **lowered),
            _glob("process.command_line", ANY, ".dmp", ANY, **lowered),
        )),
    ))


def test_keywords_are_case_insensitive_and_not_binds_tighter_than_and_than_or() -> None:
    node = parse('From x | Where NOT a LIKE "1" And b LIKE "2" oR c LIKE "3"')
    assert node == Or((And((Not(_glob("a", "1")), _glob("b", "2"))), _glob("c", "3")))


def test_several_where_commands_are_and_ed_and_metadata_is_ignored() -> None:
    node = parse('FROM a, "b-*" METADATA _id | WHERE x LIKE "1" | WHERE y LIKE "2"')
    assert node == And((_glob("x", "1"), _glob("y", "2")))
    assert parse("FROM logs-*") == Const(True)


def test_back_quoted_names_and_string_escapes() -> None:
    node = _where('`we``ird.name` like "q\\"\\n\\t" and `a`.b like """x\\*"y"""')
    assert node == And((_glob("we`ird.name", 'q"\n\t'), _glob("a.b", 'x*"y')))


def test_like_wildcards_and_escapes() -> None:
    # `a\*b?` in the pattern: a literal star, a one-character wildcard.
    assert _where('f like "a\\\\*b?*"') == _glob("f", "a*b", ONE, ANY)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ('f is null', Not(Exists(field="f"))),
        ('f IS NOT NULL', Exists(field="f")),
        ('f not like "a"', Not(_glob("f", "a"))),
        ('f in ("a", "b")', Or((
            Equals(field="f", value="a", missing=Missing.NULL, multi_valued=MultiValued.NULL),
            Equals(field="f", value="b", missing=Missing.NULL, multi_valued=MultiValued.NULL),
        ))),
        ('f != "a"', Not(Equals(field="f", value="a", missing=Missing.NULL,
                                multi_valued=MultiValued.NULL))),
        ('f rlike "a.*"', Regex(field="f", pattern="a.*", dialect=RegexDialect.LUCENE,
                                anchored=True, missing=Missing.NULL,
                                multi_valued=MultiValued.NULL)),
        ('starts_with(f, "ab")', _glob("f", "ab", ANY, lowercase_value=False)),
        ('ENDS_WITH(f, "ab")', _glob("f", ANY, "ab", lowercase_value=False)),
        ("true", Const(True)),
    ],
)
def test_predicates(condition: str, expected: ast.Node) -> None:
    assert _where(condition) == expected


def test_a_literal_on_the_left_of_a_comparison_is_flipped() -> None:
    node = _where("8080 < destination.port", DEFEND)
    assert isinstance(node, ast.Compare) and node.op is ast.CompareOp.GT and node.value == 8080


def test_cidr_match_is_an_or_of_networks_on_an_ip_field() -> None:
    node = _where('cidr_match(destination.ip, "10.0.0.0/8", "::1/128")', DEFEND)
    assert isinstance(node, Or) and [c.network for c in node.children] == ["10.0.0.0/8", "::1/128"]
    with pytest.raises(QueryParseError, match="ip field"):
        _where('cidr_match(process.name, "10.0.0.0/8")', DEFEND)


def test_kql_is_read_by_the_kql_es_interpreter() -> None:
    node = _where('KQL("process.name:cmd.exe", {"case_insensitive": true})', DEFEND)
    assert matches(node, {"process": {"name": "CMD.exe"}})
    assert not matches(_where('KQL("process.name:cmd.exe")', DEFEND), {"process": {"name": "CMD.exe"}})


# --- errors: a parse error names line and column; unsupported queries say why ------------------


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("FROM x | WHERE f like 'a'", 1, 23),
        ('FROM x\n| WHERE f like "a" and', 2, 23),
        ('FROM x | WHERE f like "a\nb"', 1, 23),
        ("FROM x | WHERE f ==", 1, 20),
        ("WHERE f == 1", 1, 1),
        ('FROM x | WHERE f like "\\q"', 1, 23),
    ],
)
def test_syntax_errors_name_line_and_column(text: str, line: int, column: int) -> None:
    with pytest.raises(QueryParseError) as info:
        parse(text)
    assert (info.value.line, info.value.column) == (line, column), str(info.value)


@pytest.mark.parametrize(
    "condition",
    [
        'f like "a" | limit 10',
        'length(f) > 3',
        'TO_UPPER(f) like "A"',
        'TO_LOWER(f) like "A*"',
        'TO_LOWER(f) rlike "a.*"',
        'f like "a\\\\b"',
        'f like "a\\\\"',
        "null",
        "f",
        'f == null',
    ],
)
def test_what_is_not_evaluated_is_refused(condition: str) -> None:
    with pytest.raises(UnsupportedQueryError):
        _where(condition)


def test_field_types_from_the_model() -> None:
    with pytest.raises(QueryParseError, match="long field"):
        _where('destination.port like "443"', DEFEND)
    with pytest.raises(UnsupportedQueryError, match="text field"):
        _where('message like "*x*"', DEFEND)
    with pytest.raises(UnsupportedQueryError, match="field model"):
        _where('no.such.field like "x"', DEFEND)


@pytest.mark.parametrize(
    "text",
    [
        'FROM x | WHERE f like "a" or true',  # a condition, not an injection: parsed as written
        'FROM x | WHERE f like "| where true"',
        'FROM x | WHERE f like """a"b"""',
    ],
)
def test_hostile_text_is_read_as_written(text: str) -> None:
    node = parse(text)
    assert matches(node, {"f": "a"}) is text.endswith("true")


def test_a_long_chain_of_or_is_one_flat_node() -> None:
    # A rule's list of 5,000 values: one OR of 5,000 operands, not 5,000 nested ones.
    text = "FROM x | WHERE " + " or ".join(f'f like "v{i}"' for i in range(5000))
    node = parse(text)
    assert isinstance(node, Or) and len(node.children) == 5000
    assert matches(node, {"f": "v4999"})


def test_deep_nesting_is_refused_not_crashed() -> None:
    assert matches(parse("FROM x | WHERE " + "(" * 3000 + 'f like "a"' + ")" * 3000), {"f": "a"})
    with pytest.raises(UnsupportedQueryError, match="nests too deeply"):
        parse("FROM x | WHERE " + "not " * 5000 + 'f like "a"')


# --- semantics: each fails if its entry is read the other way ------------------------------------


def test_like_is_case_sensitive() -> None:
    assert not matches(_where('f like "abc"'), {"f": "ABC"})


def test_like_matches_the_whole_value() -> None:
    assert not matches(_where('f like "b"'), {"f": "abc"})


def test_rlike_is_a_lucene_regex_over_the_whole_value() -> None:
    assert not matches(_where('f rlike "b"'), {"f": "abc"})
    assert matches(_where('f rlike "a.c"'), {"f": "abc"})
    # `$` is no anchor in Lucene RegExp: `c$` wants a literal dollar sign.
    assert not matches(_where('f rlike ".*c$"'), {"f": "abc"})


def test_a_null_operand_drops_the_row_also_under_not() -> None:
    node = _where('not f like "x"')
    assert evaluate(node, {"g": 1}) is None and not matches(node, {"g": 1})
    assert not matches(_where('f != "x"'), {"g": 1})


def test_several_values_make_a_test_null_also_under_not() -> None:
    event = {"event": {"category": ["process", "network"]}}
    assert not matches(_where('event.category like "process"', DEFEND), event)
    assert not matches(_where('not event.category like "file"', DEFEND), event)
    assert matches(_where("event.category is not null", DEFEND), event)


def test_keyword_duplicates_are_one_value_long_duplicates_are_not() -> None:
    assert matches(_where('event.category like "process"', DEFEND),
                   {"event": {"category": ["process", "process"]}})
    assert not matches(_where("destination.port == 443", DEFEND),
                       {"destination": {"port": [443, 443]}})
    with pytest.raises(VerdictUndecided):  # wildcard: not documented
        evaluate(_where('process.command_line like "a"', DEFEND),
                 {"process": {"command_line": ["a", "a"]}})


def test_a_value_over_ignore_above_reads_as_null() -> None:
    long = "x" * 1025
    event = {"process": {"name": long}}
    assert not matches(_where('process.name like "*"', DEFEND), event)
    assert matches(_where("process.name is null", DEFEND), event)
    assert not matches(_where('not process.name like "y"', DEFEND), event)


def test_to_lower_readings_leave_a_non_ascii_case_partner_undecided() -> None:
    node = _where('TO_LOWER(f) like "é"')
    assert matches(node, {"f": "É".lower()})
    with pytest.raises(FoldingUndecided):  # full and unicode: match; ascii: no match
        evaluate(node, {"f": "É"})
    assert matches(_where('TO_LOWER(f) like "abc"'), {"f": "ABC"})


def test_numbers_compare_as_the_field_coerced_them() -> None:
    assert matches(_where("destination.port == 888", DEFEND), {"destination": {"port": "0888"}})
    assert matches(_where("destination.port > 887", DEFEND), {"destination": {"port": "888.7"}})


def test_in_is_an_or_of_equalities() -> None:
    node = _where('f in ("a", "b")')
    assert matches(node, {"f": "b"}) and not matches(node, {"f": "c"})
    assert not matches(Not(node), {"f": ["a", "c"]})


# --- what the interpreter found in the emitter -----------------------------------------------


def _emitted(detection: str, condition: str = "sel") -> ast.Node:
    from helpers import rule_text, to_query

    text = to_query("esql", rule_text(f"sel:\n    {detection}\nfilter:\n    CommandLine: 'x'\n"
                                      f"condition: {condition}"))
    return parse(text, DEFEND)


def _ecs(**fields: Any) -> dict[str, Any]:
    base = {"event": {"category": ["process"], "type": ["start", "process_started"]},
            "host": {"os": {"type": "windows"}}}
    return {**base, **fields}


def test_a_test_under_not_is_true_on_a_missing_field_as_in_sigma() -> None:
    node = _emitted("Image|endswith: '\\cmd.exe'", "sel and not filter")
    # No command line: the filter is false in Sigma, so its negation is true.
    assert matches(node, _ecs(process={"name": "cmd.exe"}))


def test_a_sigma_regex_is_unanchored_under_rlike() -> None:
    node = _emitted("CommandLine|re: 'a[0-9]b'")
    assert matches(node, _ecs(process={"command_line": "xx a1b yy"}))


def test_ecs_array_fields_match_any_value() -> None:
    # event.type ['start', 'process_started']: LIKE would be null; the emitter uses KQL().
    assert matches(_emitted("Image: 'C:\\a.exe'"), _ecs(process={"executable": "C:\\A.EXE"}))


def test_letters_to_lower_folds_unlike_sigma_are_exact_classes() -> None:
    node = _emitted("Image|endswith: '\\kit.exe'")
    assert matches(node, _ecs(process={"name": "\u212a\u0130T.exe"}))  # Kelvin sign, U+0130
    assert not matches(node, _ecs(process={"name": "\u017fit.exe"}))  # long s: no k


def test_a_sigma_number_on_a_keyword_field_is_its_text() -> None:
    with pytest.raises(QueryParseError, match="verification error"):
        _where("process.name == 4", DEFEND)
    node = _emitted("CommandLine: 5")
    assert matches(node, _ecs(process={"command_line": "5"}))
