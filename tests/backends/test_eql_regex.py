"""Sigma regexes in the EQL emitter: which operator (``regex`` or ``regex~``) and what pattern.

Each rule is converted, the query is parsed by the independent EQL interpreter and run on events
whose expected verdicts come from the engine the reference evaluator runs Sigma regexes with (the
``regex`` package's search; note that its folding differs from ``re``'s for the dotless i), so a
wrong operator or a wrong fold would show as a wrong match, not only as a different string.
"""

from __future__ import annotations

import pytest
import regex
from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.processing.pipeline import ProcessingPipeline

from backends.eql.backend import SigportEqlBackend
from backends.eql.parser import parse
from backends.query.evaluate import matches


def convert(key: str, pattern: str) -> str:
    rule = SigmaCollection.from_yaml(
        "title: t\nstatus: test\nlogsource: {category: process_creation, product: windows}\n"
        f"detection:\n  sel:\n    {key}: '{pattern}'\n  condition: sel\n"
    ).rules[0]
    (query,) = SigportEqlBackend(ProcessingPipeline()).convert_rule(rule)
    assert query.startswith("any where "), query
    return query


CASES = [
    # (key, pattern, operator, values): SigmaHQ process_creation patterns among them.
    ("F|re", "(?i)\\s(-u|--user)\\s*:", "regex~", [" --USER:", "x\t-u :", " --u\u017fer:", " -user:"]),
    ("F|re", "(?i)echo.*clip.*&&.*(?:Clipboard|i`?n`?v`?o`?k`?e`?)", "regex~",
     ["ECHO x|clip && INVOKE", "echo clip && \u0130n`vo\u212ae", "echo clip && \u0131nvoke"]),
    ("F|re", "(?i)\\$\\{`?e`?n`?v`?:`?p`?a`?t`?h`?\\}", "regex~", ["${ENV:PATH}", "${e`nv:pa`th}"]),
    ("F|re", "[Rr][Uu][Nn][Dd][Ll][Ll]32(?:\\.[Ee][Xx][Ee])? \\S+?\\w:\\S+?:", "regex",
     ["rundll32.exe a.dll:ads:x", "RUNDLL32 c:x:", "rundll32 a:b"]),
    ("F|re|i", "[a-z]+\\.exe", "regex~", ["CMD.EXE", "1.exe", "\u212a.exe"]),
    ("F|re|i", "ab+c$", "regex~", ["xABBC", "abc\n", "ac"]),
    ("F|re", "(?i)a[^b]", "regex", ["aX", "AB", "ab", "a"]),  # negated class with letters
    ("F|re", "(?i)caf\u00e9", None, []),  # non-ASCII letter: refused below
]


@pytest.mark.parametrize(("key", "pattern", "operator", "values"),
                         [c for c in CASES if c[2] is not None], ids=lambda v: str(v)[:30])
def test_regex_operator_and_meaning(key: str, pattern: str, operator: str, values: list[str]) -> None:
    query = convert(key, pattern)
    assert f"F {operator} " in query, query
    tree = parse(query)
    flags = regex.IGNORECASE if key.endswith("|i") else 0
    for value in values:
        expected = regex.search(pattern, value, flags) is not None
        assert matches(tree, {"F": value}) == expected, (query, value)


def test_case_sensitive_regex_keeps_regex() -> None:
    assert convert("F|re", "a+?b") == 'any where F regex ".*a+b.*"'


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [("(?i)caf\u00e9", "Unicode version"), ("a\\b", "word-boundary"), ("a(?=b)", "look-around")],
)
def test_untranslatable_regex_is_refused(pattern: str, reason: str) -> None:
    with pytest.raises(SigmaFeatureNotSupportedByBackendError, match=reason):
        convert("F|re", pattern)
