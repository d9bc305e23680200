"""Cross-check the EQL interpreter with the ``eql`` package's PythonEngine.

The ``eql`` package (endgameinc/eql) parses Elasticsearch syntax under
``eql.parser.elasticsearch_syntax`` but evaluates with Endgame semantics (SEMANTICS.md section 6):
everything is case-insensitive (global ``eql.utils.CASE_INSENSITIVE``), ``?`` is a literal in
wildcards, regexes are Python ``re.match`` (anchored at the start only), a missing field is null
and null propagates through ``not``/``!=``, and a list value never equals a string.

So the first test generates queries and events inside the domain where both agree (lower-case
values, wildcards ``*`` only, every field present, no arrays, regexes ending in ``.*``) and asserts
identical verdicts; the second lists each known difference as a case asserting that the two
engines disagree in the documented way.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.eql.parser import parse

eql = pytest.importorskip("eql")  # the `test` extra; skip cleanly when it is not installed
from eql.parser import (  # noqa: E402
    elasticsearch_syntax,
    ignore_missing_functions,
    parse_query,
    skip_optimizations,
)
from eql.utils import is_insensitive  # noqa: E402

from backends.query.evaluate import matches  # noqa: E402

FIELDS = ("f", "g", "p.name")  # p.name: a nested object in the event, dotted in the query
LETTERS = "abc"


@pytest.fixture(autouse=True)
def endgame_case_mode() -> Iterator[None]:
    """Pin the eql package's global case switch to its default (insensitive) and restore it."""
    saved = eql.utils.CASE_INSENSITIVE
    eql.utils.CASE_INSENSITIVE = True
    try:
        yield
    finally:
        eql.utils.CASE_INSENSITIVE = saved


def engine_verdict(query: str, event: dict[str, Any]) -> bool:
    """Run one query on one event with the eql package's PythonEngine.

    The package's parse-time optimizer is skipped: it folds ``f in ("", "aa") or f != ""`` into
    ``f in ("", "aa")``, dropping the ``!=`` branch (eql 1.0.1), which is the package's own bug,
    not a semantic difference to compare against.
    """
    with elasticsearch_syntax, ignore_missing_functions, skip_optimizations:
        parsed = parse_query(query)
    results: list[Any] = []
    engine = eql.PythonEngine()
    engine.add_query(parsed)
    engine.add_output_hook(results.append)
    engine.stream_events([event])
    return bool(results)


def to_engine_event(event: dict[str, Any]) -> dict[str, Any]:
    """The eql engine reads the event type from ``event_type``; ECS keeps it in event.category."""
    out = dict(event)
    category = event.get("event", {}).get("category")
    if isinstance(category, str):
        out["event_type"] = category
    return out


# --- generated agreement ------------------------------------------------------------------------

words = st.text(alphabet=LETTERS, min_size=0, max_size=3)
nonempty = st.text(alphabet=LETTERS, min_size=1, max_size=3)


def q(s: str) -> str:
    """A double-quoted EQL string (the alphabet needs no escapes)."""
    return f'"{s}"'


@st.composite
def star_patterns(draw: st.DrawFn) -> str:
    # Only `*`: the eql package treats `?` as a literal (a documented difference, below).
    chunks = draw(st.lists(st.one_of(words, st.just("*")), min_size=1, max_size=4))
    return "".join(chunks)


@st.composite
def regexes(draw: st.DrawFn) -> str:
    # Ending in `.*` makes start-anchored Python re.match equal whole-value Lucene matching.
    head = draw(st.lists(st.one_of(nonempty, st.just("."), st.just("[ab]")), max_size=3))
    return "".join(head) + ".*"


@st.composite
def predicates(draw: st.DrawFn) -> str:
    field = draw(st.sampled_from(FIELDS))
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return f"{field} == {q(draw(words))}"
    if kind == 1:
        return f"{field} != {q(draw(words))}"
    if kind == 2:
        op = draw(st.sampled_from([":", "like~", "like"]))  # values are lower case: like agrees
        return f"{field} {op} {q(draw(star_patterns()))}"
    if kind == 3:
        pats = draw(st.lists(star_patterns(), min_size=1, max_size=3))
        return f"{field} : ({', '.join(map(q, pats))})"
    if kind == 4:
        op = draw(st.sampled_from(["in", "in~", "not in", "not in~"]))
        vals = draw(st.lists(words, min_size=1, max_size=3))
        return f"{field} {op} ({', '.join(map(q, vals))})"
    if kind == 5:
        op = draw(st.sampled_from(["regex", "regex~"]))
        return f"{field} {op} {q(draw(regexes()))}"
    if kind == 6:
        fn = draw(st.sampled_from(["startsWith", "endsWith", "stringContains"]))
        tilde = draw(st.sampled_from(["", "~"]))
        return f"{fn}{tilde}({field}, {q(draw(words))})"
    if kind == 7:
        return f"{field} {draw(st.sampled_from(['<', '<=', '>', '>=']))} {q(draw(words))}"
    if kind == 8:
        return f"{field} {draw(st.sampled_from(['==', '!=']))} null"
    return draw(st.sampled_from(["true", "false"]))


conditions = st.recursive(
    predicates(),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        inner.map(lambda c: f"not {c}"),
    ),
    max_leaves=6,
)


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    # Every field present and single-valued: null/missing and arrays are documented differences.
    return {
        "event": {"category": draw(st.sampled_from(["process", "file"]))},
        "f": draw(words),
        "g": draw(words),
        "p": {"name": draw(words)},
    }


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    category=st.sampled_from(["any", "process", "file"]),
    condition=conditions,
    event=events(),
)
def test_agrees_with_eql_engine_on_the_common_domain(
    category: str, condition: str, event: dict[str, Any]
) -> None:
    assert is_insensitive()  # the fixture pinned the engine's default mode
    query = f"{category} where {condition}"
    ours = matches(parse(query), event)
    theirs = engine_verdict(query, to_engine_event(event))
    assert ours == theirs, query


# --- documented differences ----------------------------------------------------------------------

# Each row: query, event, Elasticsearch verdict (ours), eql-package verdict, why (SEMANTICS.md §6).
DIFFERENCES = [
    pytest.param(
        'any where f == "CMD.EXE"', {"f": "cmd.exe"}, False, True,
        id="eq_case",  # ES == is case-sensitive; PythonEngine lowercases both sides (§6 Case)
    ),
    pytest.param(
        'any where f like "DOC*"', {"f": "docs"}, False, True,
        id="like_case",  # ES like is case-sensitive; the engine drops the case marker (§6)
    ),
    pytest.param(
        'any where f in ("A")', {"f": "a"}, False, True,
        id="in_case",  # ES in is case-sensitive; the engine's in folds case (§6 Case)
    ),
    pytest.param(
        'any where f : "d?c"', {"f": "doc"}, True, False,
        id="question_mark_wildcard",  # ES: ? is one character; engine: literal ? (§6 Wildcards)
    ),
    pytest.param(
        'any where f != "x"', {"g": "y"}, True, False,
        id="missing_under_neq",  # ES: must_not, missing matches; engine: null, no match (§6 Nulls)
    ),
    pytest.param(
        'any where not f : "x"', {"g": "y"}, True, False,
        id="missing_under_not",  # ES: must_not; engine: not(null) stays null (§6 Nulls)
    ),
    pytest.param(
        'any where f == "b"', {"f": ["a", "b"]}, True, False,
        id="array_any_element",  # ES: any element matches; engine: list != string (§6 Arrays)
    ),
    pytest.param(
        'any where f != "b"', {"f": ["a", "c"]}, True, False,
        id="array_none_equals",  # ES: no element equals b; engine: list comparison is null
    ),
    pytest.param(
        'any where f regex "ab"', {"f": "abc"}, False, True,
        id="regex_end_anchor",  # ES Lucene: whole value; engine: re.match, start only (§6 Regex)
    ),
]


@pytest.mark.parametrize(("query", "event", "elasticsearch", "engine"), DIFFERENCES)
def test_documented_differences(
    query: str, event: dict[str, Any], elasticsearch: bool, engine: bool
) -> None:
    assert elasticsearch != engine  # a row that does not differ belongs in the agreement test
    assert matches(parse(query), event) is elasticsearch
    assert engine_verdict(query, event) is engine


def test_case_switch_makes_everything_sensitive_in_the_engine() -> None:
    # With CASE_INSENSITIVE = False the engine turns `:` case-sensitive too, so no global mode
    # gives Elasticsearch's per-operator mix (SEMANTICS.md §6 Case).
    eql.utils.CASE_INSENSITIVE = False
    query, event = 'any where f : "CMD.EXE"', {"f": "cmd.exe"}
    assert engine_verdict(query, event) is False
    assert matches(parse(query), event) is True
