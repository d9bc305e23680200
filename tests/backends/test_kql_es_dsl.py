"""kql-es rules holding a regex that no wildcard value writes: a Query DSL bool tree of kql and
regexp queries (``backends/kql_es/backend_dsl.py``), read back by ``backends/kql_es/dsl.py``.

The emitter's trees are proven on generated events (positives and near misses) by the checker;
the reader is tested on hand-written trees for the bool and regexp semantics it claims.
"""

from __future__ import annotations

import json

import pytest

from backends.kql_es.forms import parse
from backends.query import ast
from backends.query.errors import UnsupportedQueryError
from backends.query.fields import FieldModel
from converter.checking.checker import Checker
from converter.conversion.convert import CONVERTED, UNSUPPORTED, Converter
from converter.generate import generate_events
from converter.outputs.elasticsearch_kql import render_es_dsl, unwritable
from converter.rules.load import load_text

RULE = """
title: t
id: 11111111-1111-1111-1111-111111111111
status: test
logsource: {{category: process_creation, product: windows}}
detection:
{detection}
level: low
"""

MODEL = FieldModel.from_dict({
    "k": {"type": "keyword", "ignore_above": 8},
    "w": {"type": "wildcard"},
    "t": {"type": "text"},
    "low": {"type": "keyword", "normalizer": "lowercase"},
})


def _loaded(detection: str) -> object:
    return load_text(RULE.format(detection=detection), "t.yml")[0]


def _proven(detection: str, data_source: str = "windows") -> dict[str, object]:
    """Check the rule's kql-es query on generated events; return the query object."""
    loaded = _loaded(detection)
    checker = Checker(["kql-es"], data_source=data_source)
    result = checker.check(loaded, generate_events(loaded.rule)).targets["kql-es"]
    assert result.query is not None, result.reason
    assert result.equivalent is True, (result.reason, result.warnings, result.query)
    return json.loads(result.query)


def _kinds(obj: object) -> set[str]:
    """The query types anywhere in a Query DSL object."""
    if isinstance(obj, list):
        return set().union(*(_kinds(o) for o in obj)) if obj else set()
    if not isinstance(obj, dict):
        return set()
    out = set()
    for key, value in obj.items():
        if key in ("kql", "regexp", "bool"):
            out.add(key)
        if key != "kql":
            out |= _kinds(value)
    return out


@pytest.mark.parametrize(
    "detection",
    [
        pytest.param(
            "  sel:\n    Image|endswith: '\\cmd.exe'\n    CommandLine|re: 'a[^b]c'\n"
            "  flt:\n    CommandLine|contains: '77'\n  condition: sel and not flt",
            id="negated-class-beside-kql",
        ),
        pytest.param(
            "  sel:\n    CommandLine|re|i: 'POWERSHELL.+-ENC'\n  condition: sel",
            id="case-insensitive-unbounded",
        ),
        pytest.param(
            "  a:\n    CommandLine|re: 'x.y'\n  b:\n    ParentImage|endswith: '\\explorer.exe'\n"
            "  condition: a or b",
            id="or-of-regexp-and-kql",
        ),
        pytest.param(
            "  a:\n    CommandLine|re: '^[0-9]+$'\n  condition: not a",
            id="negated-regexp",
        ),
    ],
)
def test_regex_without_wildcard_form_is_a_proven_bool_tree(detection: str) -> None:
    """Proven on Elastic Defend, which indexes values as the process reported them: on the
    winlog-input data sources a ``[^b]``, ``$`` or ``.`` may answer otherwise on a value whose
    ``\\r\\n`` the shipper wrote as ``\\n`` (``test_line_ending_rewriting_is_not_proven``)."""
    query = _proven(detection, "defend")
    assert "regexp" in _kinds(query) and "bool" in _kinds(query), query


@pytest.mark.parametrize(
    "detection",
    [
        "  sel:\n    CommandLine|re: 'a[^b]c'\n  condition: sel",
        "  a:\n    CommandLine|re: '^[0-9]+$'\n  condition: not a",
        "  sel:\n    CommandLine|contains: '>?%APPDATA%\\'\n  condition: sel",
    ],
)
def test_line_ending_rewriting_is_not_proven(detection: str) -> None:
    """On data source windows the same queries are declared approximate (Winlogbeat's AddPairs
    writes ``\\r\\n`` as ``\\n``): 'not proven' with that reason, and no generated event
    disagrees."""
    loaded = _loaded(detection)
    result = Checker(["kql-es"], data_source="windows").check(
        loaded, generate_events(loaded.rule)).targets["kql-es"]
    assert result.query is not None and result.equivalent is None, result.reason
    assert "RemoveWindowsLineEndings" in str(result.reason) and not result.disagreements


def test_regex_with_a_wildcard_form_stays_kql() -> None:
    query = _proven("  sel:\n    CommandLine|re: 'ab(c|d)'\n  condition: sel")
    assert set(query) == {"kql"}, query


def test_es_dsl_wraps_the_tree_and_reads_back_the_same() -> None:
    conversion = Converter("kql-es", None, {"data_source": "windows"}).convert(
        _loaded("  sel:\n    CommandLine|re: 'a[^b]c'\n  condition: sel"))
    assert conversion.status == CONVERTED, conversion.reason
    model = FieldModel.builtin("windows")
    body = render_es_dsl([conversion]).strip()
    assert json.loads(body)["query"]["bool"]["filter"] == [json.loads(conversion.queries[0])]
    assert parse(body, model) == parse(conversion.queries[0], model)


ESQL_CASES = [
    # a regexp query beside kql (a regex no wildcard value writes)
    ("  sel:\n    Image|endswith: '\\cmd.exe'\n    CommandLine|re: 'a[^b]c'\n  condition: sel",
     [{"process.name": "CMD.exe", "process.command_line": ["x", "zaxcz"]},
      {"process.name": "cmd.exe", "process.command_line": "abc"},
      {"process.name": ["a.exe", "cmd.EXE"], "process.command_line": "axc"}]),
    # case_insensitive true and false in one rule, under NOT (case_insensitive_per_query)
    ("  sel:\n    Image|endswith: '\\cmd.exe'\n"
     "  filter:\n    OriginalFileName|cased: 'Cmd.exe'\n  condition: sel and not filter",
     [{"process.name": "CMD.EXE", "process.pe.original_file_name": "cmd.exe"},
      {"process.name": "cmd.exe", "process.pe.original_file_name": "Cmd.exe"},
      {"process.name": ["cmd.exe", "x"], "process.pe.original_file_name": ["Cmd.exe", "y"]},
      {"process.name": "cmd.exe"}]),
    # a case-class regexp on the wildcard process.command_line, OR-ed
    ("  sel:\n    CommandLine|contains: 'whoami'\n  other:\n    Image|endswith: '\\x.exe'\n"
     "  condition: sel or other",
     [{"process.command_line": ["a", "WhoAmI /all"]}, {"process.name": "X.EXE"},
      {"process.command_line": "who ami"}]),
]


@pytest.mark.parametrize("detection, events", ESQL_CASES, ids=["regexp", "both-settings", "or"])
def test_esql_forms_write_the_tree_as_full_text_functions(
    detection: str, events: list[dict[str, object]]
) -> None:
    """The ES|QL forms write the tree (esql_tree_form): KQL() per setting, QSTR() per regexp,
    AND / OR / NOT; read back by the ES|QL interpreter, they select the events the Query DSL
    tree selects, also on fields with several values."""
    from backends.query.evaluate import matches
    from converter.outputs.elasticsearch_kql import render_esql

    conversion = Converter("kql-es", None, {"data_source": "windows"}).convert(_loaded(detection))
    assert conversion.status == CONVERTED, conversion.reason
    assert "bool" in json.loads(conversion.queries[0])
    for form in ("esql", "kibana-ndjson"):
        assert unwritable(conversion, form) is conversion
    text = render_esql([conversion], data_source="windows").strip()
    assert "| WHERE " in text and ("QSTR(" in text or text.count("KQL(") > 1), text
    model = FieldModel.builtin("windows")
    esql, dsl = parse(text, model), parse(conversion.queries[0], model)
    # The windows data source's logsource conditions, as its events hold them.
    base = {"event.category": ["process"], "event.type": ["start"], "host.os.type": "windows"}
    events = [{**base, **e} for e in events]
    picked = [matches(esql, e) for e in events]
    assert picked == [matches(dsl, e) for e in events], text
    assert True in picked and False in picked, (text, picked)


def test_esql_forms_refuse_a_regexp_field_query_string_cannot_name() -> None:
    from dataclasses import replace as copy

    conversion = Converter("kql-es", None, {"data_source": "windows"}).convert(
        _loaded("  sel:\n    CommandLine|re: 'a[^b]c'\n  condition: sel"))
    starred = copy(conversion, queries=[conversion.queries[0].replace(
        '"process.command_line"', '"process.command*"')])
    for form in ("esql", "kibana-ndjson"):
        refused = unwritable(starred, form)
        assert refused.status == UNSUPPORTED and not refused.queries
        assert "-f es-dsl" in (refused.reason or "") and "pattern" in (refused.reason or "")
    assert unwritable(starred, "es-dsl") is starred


def test_case_sensitive_regex_on_a_lowercase_field_is_refused() -> None:
    from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
    from sigma.types import SigmaRegularExpression

    from backends.kql_es.backend_dsl import regexp_query

    info = MODEL.lookup("low")
    with pytest.raises(SigmaFeatureNotSupportedByBackendError):
        regexp_query("low", SigmaRegularExpression("a[^b]c"), info)
    with pytest.raises(SigmaFeatureNotSupportedByBackendError):
        regexp_query("t", SigmaRegularExpression("a[^b]c"), MODEL.lookup("t"))


def _kql_settings(obj: object) -> list[tuple[str, bool]]:
    """Every kql query of a Query DSL object: (its text, its case_insensitive)."""
    if isinstance(obj, list):
        return [pair for o in obj for pair in _kql_settings(o)]
    if not isinstance(obj, dict):
        return []
    if "kql" in obj:
        return [(obj["kql"]["query"], obj["kql"]["case_insensitive"])]
    return [pair for value in obj.values() for pair in _kql_settings(value)]


def test_tests_needing_both_settings_get_a_kql_query_each() -> None:
    """A case-insensitive value on a plain keyword field needs case_insensitive true, a |cased
    one false (case_insensitive_per_query): one kql query per setting, proven on events."""
    query = _proven(
        "  sel:\n    Image|endswith: '\\cmd.exe'\n"
        "  filter:\n    OriginalFileName|cased: 'Cmd.exe'\n  condition: sel and not filter"
    )
    settings = _kql_settings(query)
    assert {ci for _, ci in settings} == {True, False}, settings
    (cased,) = [text for text, ci in settings if "original_file_name" in text]
    assert dict(settings)[cased] is False


def test_one_setting_stays_one_kql_query() -> None:
    query = _proven("  sel:\n    Image|endswith: '\\cmd.exe'\n    OriginalFileName: 'Cmd.exe'\n"
                    "  condition: sel")
    assert set(query) == {"kql"} and query["kql"]["case_insensitive"] is True, query


def test_caseless_values_need_no_case_insensitive_on_defend() -> None:
    """On Defend's own mapping a .caseless value holding 's' is exact only without
    case_insensitive (Unicode folding pairs 's' with U+017F); beside a plain keyword value
    that needs it, each gets its own kql query."""
    query = _proven(
        "  sel:\n    ParentImage|endswith: '\\services.exe'\n    OriginalFileName: 'cmd.exe'\n"
        "  condition: sel",
        data_source="defend",
    )
    settings = dict(_kql_settings(query))
    assert any("caseless" in t and ci is False for t, ci in settings.items()), settings
    assert any("original_file_name" in t and ci is True for t, ci in settings.items()), settings


def test_a_lossy_caseless_field_is_left_for_a_regexp_on_its_source() -> None:
    """Defend's process.command_line.caseless stops at 1,024 characters, process.command_line
    (a wildcard field) does not: the value is a case-class regexp there, proven with the
    generator's long command lines."""
    query = _proven("  sel:\n    CommandLine|contains: '/../x'\n  condition: sel",
                    data_source="defend")
    regexps = [f for f in _find(query, "regexp")]
    assert regexps == [{"process.command_line": {
        "value": ".*/\\.\\./[xX].*", "flags": "ALL", "case_insensitive": False}}], query
    assert "caseless" not in json.dumps(query)


def _find(obj: object, kind: str) -> list[object]:
    if isinstance(obj, list):
        return [x for o in obj for x in _find(o, kind)]
    if not isinstance(obj, dict):
        return []
    if kind in obj:
        return [obj[kind]]
    return [x for value in obj.values() for x in _find(value, kind)]


# --- the reader ----------------------------------------------------------------------------


def _regexp(field: str, value: str, **extra: object) -> dict[str, object]:
    return {"regexp": {field: {"value": value, **extra}}}


def _kql(query: str) -> dict[str, object]:
    return {"kql": {"query": query, "case_insensitive": False}}


def test_regexp_reads_as_the_lucene_regex_with_the_field_limit() -> None:
    node = parse(json.dumps(_regexp("k", "a.*")), MODEL)
    assert isinstance(node, ast.Regex)
    assert (node.pattern, node.dialect, node.anchored) == ("a.*", ast.RegexDialect.LUCENE, True)
    assert node.max_length == 8  # a value above ignore_above is not indexed
    assert parse(json.dumps({"regexp": {"k": "a.*"}}), MODEL) == node  # the short form


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"bool": {"should": [_kql("k:a"), _kql("k:b")]}}, id="should-alone-one"),
        pytest.param(
            {"bool": {"should": [_kql("k:a"), _kql("k:b")], "minimum_should_match": 1}},
            id="explicit-one",
        ),
    ],
)
def test_should_alone_needs_one(body: dict[str, object]) -> None:
    node = parse(json.dumps(body), MODEL)
    assert isinstance(node, ast.Or) and len(node.children) == 2


def test_should_beside_filter_is_optional() -> None:
    """minimum_should_match defaults to 0 when the bool has a filter or must clause."""
    body = {"bool": {"filter": [_kql("k:a")], "should": [_kql("k:b")]}}
    assert parse(json.dumps(body), MODEL) == parse(json.dumps(_kql("k:a")), MODEL)
    body["bool"]["minimum_should_match"] = 1
    node = parse(json.dumps(body), MODEL)
    assert isinstance(node, ast.And) and len(node.children) == 2


def test_must_not_and_empty_bools() -> None:
    node = parse(json.dumps({"bool": {"must_not": [_kql("k:a"), _regexp("w", "b")]}}), MODEL)
    assert isinstance(node, ast.And) and all(isinstance(c, ast.Not) for c in node.children)
    assert parse('{"bool": {}}', MODEL) == ast.Const(True)
    assert parse('{"match_none": {}}', MODEL) == ast.Const(False)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(_regexp("k", "a", flags="INTERSECTION"), id="other-flags"),
        pytest.param(_regexp("k", "a", case_insensitive=True), id="case-insensitive"),
        pytest.param(_regexp("k", "a", fuzzy=1), id="unknown-parameter"),
        pytest.param(_regexp("k", "a" * 1001), id="over-max-regex-length"),
        pytest.param(_regexp("t", "a"), id="text-field"),
        pytest.param({"bool": {"should": [_kql("k:a")] * 3, "minimum_should_match": 2}},
                     id="two-of-three"),
        pytest.param({"bool": {"should": [_kql("k:a")], "minimum_should_match": "50%"}},
                     id="percentage"),
        pytest.param({"bool": {"should": [_kql("k:a")], "minimum_should_match": 2}},
                     id="more-than-clauses"),
        pytest.param({"term": {"k": "a"}}, id="other-query"),
        pytest.param({"bool": {"filter": []}, "kql": {}}, id="two-query-types"),
    ],
)
def test_reader_refuses_what_it_does_not_evaluate(body: dict[str, object]) -> None:
    with pytest.raises(UnsupportedQueryError):
        parse(json.dumps(body), MODEL)


# --- string values KQL cannot write exactly ----------------------------------------------------


@pytest.mark.parametrize(
    "selection",
    [
        pytest.param("CommandLine|contains: '>?%APPDATA%\\'", id="question-mark-on-wildcard-field"),
        pytest.param("CommandLine|contains|cased: ' -sT '", id="cased-whitespace-pattern"),
        pytest.param("CommandLine|contains: 'a\\*b'", id="literal-star-in-pattern"),
        pytest.param("CommandLine|windash|contains: '-a?k '", id="expansion-with-question-mark"),
    ],
)
def test_string_kql_cannot_write_is_a_proven_regexp(selection: str) -> None:
    """Widened or refused before (declared '?' and '*' widenings, query_string splitting,
    wildcard_detection): a regexp query of the glob is exact, case-insensitive letters as
    classes of their case variants. On Defend: a ``?`` may meet the ``\\n`` a winlog-input
    shipper writes for ``\\r\\n``."""
    query = _proven(f"  sel:\n    {selection}\n  condition: sel", "defend")
    assert "regexp" in _kinds(query), query


def test_question_mark_on_a_caseless_copy_is_a_regexp(tmp_path: object) -> None:
    """With the template of sigport mapping the value is on the lowercased copy: the regexp
    there is case-sensitive (the copy and the value were lowercased alike)."""
    from pathlib import Path

    from converter.outputs.index_template import propose, template_body

    loaded = _loaded("  sel:\n    CommandLine|contains: '>?%APPDATA%\\'\n  condition: sel")
    path = Path(str(tmp_path)) / "t.json"
    path.write_text(json.dumps(template_body(propose([loaded], "windows"))), encoding="utf-8")
    checker = Checker(["kql-es"], data_source="windows", mapping=path)
    result = checker.check(loaded, generate_events(loaded.rule)).targets["kql-es"]
    # '?' may meet the '\\n' Winlogbeat writes for '\\r\\n': declared, and no event differs.
    assert result.equivalent is None and not result.disagreements, (result.reason, result.query)
    assert "RemoveWindowsLineEndings" in str(result.reason)
    assert '"sigport.caseless.process.command_line": {"value": ".*\\\\>.%appdata%' in str(
        result.query)


def test_keyword_regexp_differs_only_above_ignore_above() -> None:
    """A pattern Elasticsearch would read as text, on a keyword field: the regexp is exact up
    to the field's declared ignore_above (1,024), and only longer values disagree."""
    loaded = _loaded("  sel:\n    Image|startswith: 'C:\\Windows\\Temp\\'\n  condition: sel")
    result = Checker(["kql-es"], data_source="windows").check(
        loaded, generate_events(loaded.rule)).targets["kql-es"]
    assert '"regexp"' in str(result.query)
    assert any("ignore_above" in w for w in result.warnings)
    assert result.disagreements and all(
        "longer than 1024 characters" in d.why for d in result.disagreements)


def test_a_regexp_elasticsearch_rejects_by_default_is_declared() -> None:
    conversion = Converter("kql-es", None, {"data_source": "windows"}).convert(
        _loaded("  sel:\n    CommandLine|re: 'a[^b]" + "x" * 1000 + "'\n  condition: sel"))
    assert conversion.status == CONVERTED, conversion.reason
    assert any("index.max_regex_length" in w for w in conversion.warnings)
