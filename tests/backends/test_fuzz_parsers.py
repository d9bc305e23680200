"""Fuzzing the query interpreters: any text either parses or fails with one of our two errors.

Each language's ``parse`` gets hypothesis-generated text, both random strings and "token soups"
drawn from the language's own keywords, operators and quoting characters (which reach far deeper
into the grammars than random bytes do). The only exceptions allowed out are
``QueryParseError`` (with a line and column inside the text) and ``UnsupportedQueryError``; a
lark exception, a ``RecursionError``, an ``IndexError`` or anything else is a bug.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends import TARGETS
from backends.query.errors import QueryParseError, UnsupportedQueryError
from backends.query.fields import FieldModel

LANGUAGES = ["eql", "kql", "lucene", "splunk", "kusto"]

#: Tokens per language: keywords, operators, field names, quoting and escaping characters.
TOKENS: dict[str, list[str]] = {
    "eql": [
        "any", "process", "where", "and", "or", "not", "true", "false", "null", ":", "==", "!=",
        "<", "<=", ">", ">=", "like", "like~", "regex", "regex~", "in", "in~", "(", ")", "[", "]",
        ",", "\"", "\"\"\"", "'", "\\", "?", "*", "`", "|", "head", "sequence", "by", "with",
        "process.name", "?process.name", "`a b`", "cidrMatch(", "startsWith~(", "endsWith(",
        "stringContains(", "wildcard(", "\"a*b\"", "\"x\\\"y\"", "1", "1.5", "-2", "0x1", "\n",
    ],
    "kql": [
        "and", "or", "not", "AND", "OR", "NOT", ":", "<", "<=", ">", ">=", "(", ")", "{", "}",
        "\"", "\\", "*", "?", "process.name", "process.name.caseless", "host.os.type", "x",
        "\"a b\"", "\"a\\\"b\"", "\\*", "\\:", "\\(", "1", "10.0.0.0/8", "null", "true", "\n",
        " ", "@", "~", "/", "!",
    ],
    "lucene": [
        "AND", "OR", "NOT", "&&", "||", "!", "+", "-", ":", "(", ")", "[", "]", "{", "}", "TO",
        "\"", "\\", "*", "?", "/", "/a.*b/", "~", "~2", "^2", "process.name", "_exists_",
        "process.name.caseless", "\"a b\"", "\\:", "\\/", "1", "*", "\n", " ", "<", ">=", "@",
    ],
    "splunk": [
        "search", "|", "regex", "where", "rex", "eval", "tstats", "from", "datamodel=Endpoint",
        "Processes", "by", "AND", "OR", "NOT", "IN", "=", "!=", "<", ">=", "(", ")", ",", "\"",
        "'", "\\", "*", "Image", "CommandLine", "\"a b\"", "\"x\\\"y\"", "match(", "like(",
        "lower(", "isnull(", "isnotnull(", "case(", "\"^a.*\"", "source=\"x\"", "1", "\n", " ",
        "`", "[", "]", "summariesonly=true", "count", "Processes.process",
    ],
    "kusto": [
        "DeviceProcessEvents", "|", "where", "and", "or", "not(", "(", ")", "==", "!=", "=~",
        "!~", "contains", "!contains_cs", "startswith", "endswith_cs", "has", "!has", "has_any",
        "has_all", "in", "in~", "!in~", "matches regex", "isempty(", "isnotempty(", "isnull(",
        "ipv4_is_in_range(", "ipv6_is_match(",
        ",", "\"", "'", "@\"a\\b\"", "\\", "\"a\\\"b\"", "['a b']",
        "FileName", "ProcessCommandLine", "\"(?i)x\"", "\"(?=x)\"", "1", "-2", "1.5", "true",
        "\n", " ", "//", "[", "]", "~",
    ],
}

def _parser(language: str) -> Callable[..., Any]:
    parse = TARGETS[language].parse_function()
    assert parse is not None
    return parse


def _fields(language: str) -> FieldModel | None:
    return FieldModel.builtin("defend") if TARGETS[language].field_model else None


def _check(language: str, text: str) -> None:
    try:
        _parser(language)(text, fields=_fields(language))
    except QueryParseError as exc:
        lines = text.split("\n")
        assert 1 <= exc.line <= len(lines), (text, exc.line)
        assert 1 <= exc.column <= len(lines[exc.line - 1]) + 1, (text, exc.column)
        assert str(exc)  # renders
    except UnsupportedQueryError as exc:
        assert str(exc)


def _soup(language: str) -> st.SearchStrategy[str]:
    token = st.sampled_from(TOKENS[language]) | st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=3
    )
    return st.lists(token, max_size=14).map(
        lambda parts: " ".join(parts) if parts and parts[0] != "|" else "".join(parts)
    ) | st.lists(token, max_size=14).map("".join)


SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@pytest.mark.parametrize("language", LANGUAGES)
@SETTINGS
@given(text=st.text(max_size=60))
def test_random_text_raises_only_query_errors(language: str, text: str) -> None:
    _check(language, text)


@pytest.mark.parametrize("language", LANGUAGES)
@SETTINGS
@given(data=st.data())
def test_token_soup_raises_only_query_errors(language: str, data: st.DataObject) -> None:
    _check(language, data.draw(_soup(language)))


@pytest.mark.parametrize("language", LANGUAGES)
def test_deep_nesting_is_an_error_not_a_crash(language: str) -> None:
    # A parser that recurses per level must turn a stack overflow into one of our errors (each
    # of the four let a RecursionError, or lark's VisitError wrapping one, out before).
    inner = {
        "eql": "process.name : \"a\"",
        "kql": "process.name:a",
        "lucene": "process.name:a",
        "splunk": "Image=a",
        "kusto": "FileName =~ \"a\"",
    }[language]
    prefix = "any where " if language == "eql" else ""
    conj, neg = (" AND ", "NOT ") if language in ("lucene", "splunk") else (" and ", "not ")
    if language == "kusto":  # negation is the function not(...)
        neg = "not"
    for depth in (50, 3000):
        _check(language, prefix + "(" * depth + inner + ")" * depth)
        _check(language, prefix + neg * depth + inner)
        _check(language, prefix + f"({inner}{conj}" * depth + inner + ")" * depth)
        _check(language, prefix + f"{neg}(" * depth + inner + ")" * depth)
