"""Elasticsearch's own KQL (target ``kql-es``): the emitter's text read back by the interpreter.

The emitter (``backends/kql_es/backend.py``) and the interpreter (``backends/kql_es/parser.py``)
are written separately from Elasticsearch's sources; these tests check that every value the
emitter writes means, to the interpreter, exactly the Sigma value, and that the refusals, the
``case_insensitive`` decision and the output forms hold.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sigma.types import SpecialChars

from backends.kql_es.backend import render_pattern, render_plain
from backends.kql_es.forms import parse
from backends.query import ast
from backends.query.errors import QueryParseError, UnsupportedQueryError
from backends.query.fields import FieldModel
from converter.conversion.convert import CONVERTED, Converter
from converter.outputs.elasticsearch_kql import render_es_dsl, render_esql
from converter.rules.load import load_text

MODEL = FieldModel.from_dict(
    {"k": {"type": "keyword"}, "w": {"type": "wildcard"}, "n": {"type": "long"}}
)
_ALPHABET = st.sampled_from(
    list('ab \\():<>"*{}?\t\n\r\u3000\u2028\u0085éİ') + ["and", "or", "not", "NOT", " or ", "\\not"]
)
_TEXT = st.lists(_ALPHABET, max_size=12).map("".join)
_MULTI, _ONE = SpecialChars.WILDCARD_MULTI, SpecialChars.WILDCARD_SINGLE


def _glob(parts: list[object]) -> tuple[object, ...]:
    """Sigma parts as the shared tree's glob parts (adjacent text merged)."""
    out: list[object] = []
    for part in parts:
        item = ast.Wildcard.ANY if part is _MULTI else ast.Wildcard.ONE if part is _ONE else part
        if isinstance(item, str) and out and isinstance(out[-1], str):
            out[-1] += item
        elif item != "":
            out.append(item)
    return tuple(out)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_TEXT)
def test_plain_values_read_back_exactly(text: str) -> None:
    for field in ("k", "w"):
        node = parse(f"{field}:{render_plain(text)}", MODEL)
        assert isinstance(node, ast.Equals) and node.value == text, (field, text, node)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.one_of(_ALPHABET, st.just(_MULTI), st.just(_ONE)), min_size=1, max_size=10))
def test_keyword_patterns_read_back_exactly(parts: list[object]) -> None:
    text = render_pattern(parts, keyword=True)
    if text is None:
        return  # not writable as a pattern (the emitter then widens or refuses)
    node = parse(f"k:{text}", MODEL)
    if text == "*":  # `field:*` is the exists query, as Sigma's lone '*' means
        assert isinstance(node, ast.Exists)
        return
    assert isinstance(node, ast.Glob) and node.parts == _glob(parts), (parts, text, node)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.one_of(_ALPHABET, st.just(_MULTI)), min_size=1, max_size=10))
def test_query_string_patterns_read_back_exactly(parts: list[object]) -> None:
    text = render_pattern(parts, keyword=False)
    if text is None:
        return
    node = parse(f"w:{text}", MODEL)
    expected = _glob(parts)
    if text == "*":
        assert isinstance(node, ast.Exists)
        return
    if ast.Wildcard.ANY in expected:
        assert isinstance(node, ast.Glob) and node.parts == expected, (parts, text, node)
    else:
        assert isinstance(node, ast.Equals) and (node.value,) == expected


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        pytest.param(["C:\\Windows\\", _MULTI], None, id="escape-before-star"),
        pytest.param([_MULTI, "\\cmd.exe"], "*\\\\\\\\cmd.exe", id="leading-star"),
        pytest.param(["a", _ONE, "c"], None, id="question-mark-without-star"),
        pytest.param([_MULTI, " -nop ", _MULTI], "* -nop *", id="spaces-split-tokens"),
        pytest.param([_MULTI, "a  b", _MULTI], "*a\\ \\ b*", id="double-space-escaped"),
    ],
)
def test_keyword_pattern_text(parts: list[object], expected: str | None) -> None:
    assert render_pattern(parts, keyword=True) == expected


@pytest.mark.parametrize(
    ("query", "error"),
    [
        pytest.param("k:a and k:b or k:c", UnsupportedQueryError, id="mixed-and-or"),
        pytest.param("k:(a or b)", UnsupportedQueryError, id="value-group"),
        pytest.param("k:{ x:y }", UnsupportedQueryError, id="nested"),
        pytest.param('{"kql": {"query": "a", "default_field": "k"}}', UnsupportedQueryError,
                     id="default-field"),
        pytest.param("k:\\ud800", UnsupportedQueryError, id="surrogate-escape"),
        pytest.param("k*:a", UnsupportedQueryError, id="field-pattern"),
        pytest.param('{"kql": {"query": 1}}', QueryParseError, id="query-not-a-string"),
        pytest.param('{"kql": {"query": "k:a", "case_insensitive": "yes"}}', QueryParseError,
                     id="flag-not-bool"),
        pytest.param('{"kql": {"query": "k:a", "fuzzy": true}}', QueryParseError,
                     id="unknown-parameter"),
        pytest.param('FROM x | WHERE KQL("k:a\\q")', QueryParseError, id="bad-esql-escape"),
        pytest.param("k:a\\b", QueryParseError, id="bad-kql-escape"),
    ],
)
def test_refused_and_invalid_queries(query: str, error: type[Exception]) -> None:
    """Valid queries sigport cannot evaluate are refused; invalid ones are parse errors."""
    with pytest.raises(error):
        parse(query, MODEL)


RULE = """
title: t
id: 11111111-1111-1111-1111-111111111111
status: test
logsource: {{category: process_creation, product: windows}}
detection:
  sel:
{selection}
  condition: sel
"""


def _convert(selection: str, mapping: str | None = None) -> object:
    options = {"data_source": "windows", **({"mapping": mapping} if mapping else {})}
    loaded = load_text(RULE.format(selection=selection), "t.yml")[0]
    conversion = Converter("kql-es", None, options).convert(loaded)
    assert conversion.status == CONVERTED, conversion.reason
    return conversion


def test_keyword_value_sets_case_insensitive() -> None:
    conversion = _convert("    Image|contains: '\\Temp\\'")
    kql = json.loads(conversion.queries[0])["kql"]
    assert kql["case_insensitive"] is True
    assert "process.executable:*\\\\\\\\Temp\\\\\\\\*" in kql["query"]
    # The logsource conditions (event.category:process ...) now match case-insensitively too:
    # the data source writes exactly those values, so those warnings are facts, not caveats.
    approximate = [w for w in conversion.warnings if w not in conversion.exact_warnings]
    assert not [w for w in approximate if "case" in w], approximate
    assert any("event.category:process" in w for w in conversion.exact_warnings)


def test_letters_folded_otherwise_are_a_case_class_regexp() -> None:
    # 's' also matches U+017F under Unicode case folding, where Sigma's lowercase does not: no
    # case_insensitive kql query is exact, a regexp with the letter's class is.
    conversion = _convert("    Image|endswith: '\\mshta.exe'")
    query = json.loads(conversion.queries[0])
    (regexp,) = [c["regexp"] for c in query["bool"]["filter"] if "regexp" in c]
    assert regexp["process.name"]["value"] == "[mM][sS][hH][tT][aA]\\.[eE][xX][eE]"
    assert not any("case_insensitive" in w for w in conversion.warnings), conversion.warnings


def test_too_long_for_a_regexp_stays_declared() -> None:
    # Past index.max_regex_length the kql query is kept, and its folding declared.
    conversion = _convert("    Image|endswith: '\\" + "s" * 300 + "'")
    kql = json.loads(conversion.queries[0])["kql"]
    assert kql["case_insensitive"] is True
    assert any("case_insensitive" in w and "'s'" in w for w in conversion.warnings)


def test_letters_with_partners_are_written_with_them() -> None:
    # 'i' misses U+0130 and 'k' the Kelvin sign under ASCII folding; Sigma's lowercase takes
    # both: the value is written once per partner, and then proven on the hostile events.
    from converter.checking.checker import Checker
    from converter.generate import generate_events

    loaded = load_text(RULE.format(selection="    Image|endswith: '\\kill.exe'"), "t.yml")[0]
    checker = Checker(["kql-es"], data_source="windows")
    result = checker.check(loaded, generate_events(loaded.rule)).targets["kql-es"]
    query = json.loads(result.query)["kql"]["query"]
    assert "\u0130" in query and "\u212a" in query, query
    assert result.equivalent is True, (result.reason, result.warnings)


def test_wildcard_field_value_is_a_case_class_regexp() -> None:
    # case_insensitive never reaches a wildcard field (case_insensitive_scope); a regexp query
    # on it reads the whole value, with no length limit.
    conversion = _convert("    CommandLine|contains: '-enc'")
    query = json.loads(conversion.queries[0])
    (regexp,) = [c["regexp"] for c in query["bool"]["filter"] if "regexp" in c]
    assert regexp["process.command_line"]["value"] == ".*-[eE][nN][cC].*"
    assert not any("case-sensitively" in w for w in conversion.warnings)
    # Past index.max_regex_length: the kql query, declared case-sensitive.
    conversion = _convert("    CommandLine|contains: '" + "e" * 300 + "'")
    kql = json.loads(conversion.queries[0])["kql"]
    assert kql["case_insensitive"] is False
    assert any("case-sensitively" in w for w in conversion.warnings)


def test_unreadable_pattern_is_a_regexp_query() -> None:
    """Every token of `C\\:\\\\Windows\\\\Temp\\\\*` has a backslash before its `*`,
    so Elasticsearch would read it as plain text (wildcard_detection): it is a regexp query
    beside the kql query (backends/kql_es/backend_dsl.py), no longer a widened pattern."""
    conversion = _convert("    Image|startswith: 'C:\\Windows\\Temp\\'")
    query = json.loads(conversion.queries[0])
    (regexp,) = [c["regexp"] for c in query["bool"]["filter"] if "regexp" in c]
    assert regexp["process.executable"]["value"].startswith("[cC]:\\\\[wW]")
    assert not any("leading '*'" in w for w in conversion.warnings)


def test_formats_wrap_the_same_query() -> None:
    conversion = _convert("    Image|contains: '\\Temp\\'")
    default = parse(conversion.queries[0], FieldModel.builtin("windows"))
    dsl = render_es_dsl([conversion]).strip()
    esql = render_esql([conversion], data_source="windows").strip()
    assert json.loads(dsl)["query"]["bool"]["filter"][0]["kql"] == json.loads(
        conversion.queries[0]
    )["kql"]
    assert esql.startswith("FROM logs-")
    assert '{"case_insensitive": true}' in esql
    for text in (dsl, esql):
        assert parse(text, FieldModel.builtin("windows")) == default


def test_kibana_rule_is_an_esql_rule_with_the_same_query() -> None:
    """-f kibana-ndjson: an Elastic Security ES|QL rule (the rule type whose query carries
    case_insensitive), FROM the data source's indices with the METADATA alert deduplication
    needs, read by the interpreter as the default form; approximations go into note and tags."""
    from converter.outputs.formats import render_kibana_ndjson

    # Too long for a case-class regexp (regexp_max_length): one kql query, declared.
    conversion = _convert("    CommandLine|contains: '" + "whoami" * 60 + "'")
    (line,) = render_kibana_ndjson([conversion], data_source="windows").splitlines()
    rule = json.loads(line)
    assert (rule["type"], rule["language"]) == ("esql", "esql")
    assert "index" not in rule  # the indices are in FROM
    assert rule["query"].startswith("FROM logs-windows.sysmon_operational-*")
    assert " METADATA _id, _index, _version | WHERE KQL(" in rule["query"]
    model = FieldModel.builtin("windows")
    assert parse(rule["query"], model) == parse(conversion.queries[0], model)
    assert "sigport: approximate" in rule["tags"] and "case-sensitively" in rule["note"]
    # Another target's rule keeps its own query.
    kql = Converter("kql", None, {"data_source": "windows"}).convert(
        load_text(RULE.format(selection="    CommandLine|contains: 'whoami'"), "t.yml")[0])
    (line,) = render_kibana_ndjson([kql], data_source="windows").splitlines()
    assert json.loads(line)["query"] == kql.queries[0]


def test_a_quoted_string_ends_at_its_own_quote() -> None:
    # `""` then a later `\"`: the empty string must not run on to the escaped quote.
    node = parse('w:"" or w:*x\\"*', MODEL)
    assert isinstance(node, ast.Or) and isinstance(node.children[1], ast.Glob)


def test_copy_patterns_get_a_term_no_copy_matches() -> None:
    # On a caseless copy a pattern whose first `*` follows an escape is still written exactly:
    # an OR-ed 'İ*' term (never in a lowercased copy) makes Elasticsearch read it as a pattern.
    text = render_pattern(["c:\\windows\\", _MULTI], keyword=False, never="\u0130*")
    assert text == "c\\:\\\\windows\\\\* \u0130*"
    node = parse(f"w:{text}", MODEL)
    assert isinstance(node, ast.Or)
    assert node.children[0].parts == ("c:\\windows\\", ast.Wildcard.ANY)
    assert node.children[1].parts == ("\u0130", ast.Wildcard.ANY)
    assert render_pattern(["c:\\windows\\", _MULTI], keyword=True, never="\u0130*") is None


def test_literal_star_on_a_copy_is_a_plain_symbol(tmp_path: Path) -> None:
    """A query_string keeps every `*` live (query_string_pattern), so the copy holds a literal
    `*` as U+2217 (backends.query.ingest.COPY_SWAP): written plainly, exact, proven on events."""
    from converter.checking.checker import Checker
    from converter.generate.generator import generate_events
    from converter.outputs.index_template import propose, template_body

    mapping = Path(__file__).parents[1] / "data" / "kql_es_copy_template.json"
    conversion = _convert("    CommandLine|contains: ':\\*'", mapping=str(mapping))
    kql = json.loads(conversion.queries[0])["kql"]
    assert "sigport.caseless.process.command_line:*\\:\u2217*" in kql["query"]
    assert not any("literal '*'" in w for w in conversion.warnings)
    loaded = load_text(RULE.format(selection="    CommandLine|contains: ':\\*'"), "t.yml")[0]
    path = tmp_path / "t.json"
    path.write_text(json.dumps(template_body(propose([loaded], "windows"))), encoding="utf-8")
    events = generate_events(loaded.rule, seed=0)
    outcome = Checker(["kql-es", "kql"], data_source="windows", mapping=path).check(loaded, events)
    for name, target in outcome.targets.items():
        assert target.equivalent is True, (name, target.reason, target.disagreements)


def test_copy_pattern_after_an_escape_is_exact() -> None:
    mapping = Path(__file__).parents[1] / "data" / "kql_es_copy_template.json"
    conversion = _convert("    Image|startswith: 'C:\\Windows\\Temp\\'", mapping=str(mapping))
    kql = json.loads(conversion.queries[0])["kql"]
    assert "sigport.caseless.process.executable:c\\:\\\\windows\\\\temp\\\\* \u0130*" in kql["query"]
    assert not [w for w in conversion.warnings if w not in conversion.exact_warnings]


@pytest.mark.parametrize("name", ["a b", "and", "x:y", " lead", "tab\there"])
def test_field_names_read_back_exactly(name: str) -> None:
    from backends.kql_es.backend import SigportKqlEsBackend

    text = SigportKqlEsBackend().escape_and_quote_field(name)
    node = parse(f"{text}:v", MODEL)
    assert isinstance(node, ast.Equals) and node.field == name, (text, node)


def test_deeply_nested_json_is_a_query_error() -> None:
    from backends.query.errors import QueryError

    with pytest.raises(QueryError):
        parse("{" + '"a":{' * 5000 + "}" * 5000 + "}", MODEL)
