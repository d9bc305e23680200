"""Regexes longer than ``index.max_regex_length`` (1,000 characters by default): Elasticsearch
fails the request for a query_string regex term (lucene, ES|QL's QSTR) and for EQL's ``regex``
(a regexp query), so the emitters declare such a query and the interpreters refuse it; before,
only kql-es did, and ``check`` proved the others equivalent on queries Elasticsearch rejects."""

from __future__ import annotations


import pytest

from backends.eql.parser import parse as parse_eql
from backends.lucene.parser import parse as parse_lucene
from backends.query.errors import UnsupportedQueryError
from converter.conversion.convert import Converter
from converter.rules.load import load_text

#: A value whose case-insensitive form is a regex of per-letter classes past 1,000 characters.
_RULE = """title: long value
id: 11111111-1111-1111-1111-111111111114
status: test
logsource: {product: windows, category: process_creation}
detection:
  sel:
    CommandLine|contains: '%s'
  condition: sel
level: high
""" % ("abcdefghij" * 30)


@pytest.mark.parametrize("target", ["lucene", "esql", "eql"])
def test_a_regex_past_the_limit_is_declared(target: str) -> None:
    (loaded,) = load_text(_RULE, "long.yml")
    result = Converter(target).convert(loaded)
    assert result.queries
    assert any("index.max_regex_length" in w for w in result.warnings), result.warnings


def test_the_interpreters_refuse_a_regex_past_the_limit() -> None:
    short, long = "a" * 1000, "a" * 1001
    parse_lucene(f"process.command_line:/{short}/")
    with pytest.raises(UnsupportedQueryError, match="max_regex_length"):
        parse_lucene(f"process.command_line:/{long}/")
    parse_eql(f'process where process.command_line regex "{short}"')
    with pytest.raises(UnsupportedQueryError, match="max_regex_length"):
        parse_eql(f'process where process.command_line regex "{long}"')
