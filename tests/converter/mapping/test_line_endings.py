"""Winlogbeat and the winlog input write every ``\\r\\n`` of an event-data value as ``\\n``.

``AddPairs`` stores ``sys.RemoveWindowsLineEndings(value)`` (elastic/beats
winlogbeat/sys/winevent/maputil.go). The ecs-windows tables rendered values unchanged, so a test
that tells ``a\\r\\nb`` from ``a\\nb`` was proven on events the data source can never hold. Now the
renderer rewrites the values (``sources.<data source>.line_endings: lf``) and the pipeline
declares such a test approximate (``LineEndingCheck``): "not proven", never "equivalent".
"""

from __future__ import annotations

import itertools

import pytest
from sigma.types import SigmaRegularExpression, SigmaString

from converter.checking.checker import Checker
from converter.conversion.convert import Converter
from converter.events.render import EventRenderer, SampleEvent
from converter.mapping.line_endings import crlf_invariant
from converter.mapping.loader import load_table
from converter.rules.load import load_text
from converter.reference.values import regex_flags, regex_source, compiled_regex


SYSMON = "Microsoft-Windows-Sysmon/Operational"


def _rule(test: str, value: str) -> str:
    return f"""
title: t
id: 0b8f7a3e-0000-4000-8000-00000000e101
logsource: {{product: windows, category: process_creation}}
detection:
  sel:
    CommandLine{test}: {value}
  condition: sel
"""


@pytest.mark.parametrize("source", ["windows", "winlogbeat"])
def test_the_renderer_writes_the_line_endings_as_the_shipper(source: str) -> None:
    renderer = EventRenderer(load_table("ecs-windows"), source)
    event = SampleEvent({"EventID": 1, "Channel": SYSMON, "Image": "C:\\a.exe",
                          "CommandLine": "a\r\nb\r\rc"})
    (rendered,) = renderer.render_sample_all(event)
    assert rendered["process.command_line"] == "a\nb\r\rc"
    assert rendered["process.executable"] == "C:\\a.exe"


def test_defend_keeps_the_line_endings() -> None:
    renderer = EventRenderer(load_table("ecs-windows"), "defend")
    event = SampleEvent({"EventID": 1, "Channel": SYSMON, "CommandLine": "a\r\nb"})
    (rendered,) = renderer.render_sample_all(event)
    assert rendered["process.command_line"] == "a\r\nb"


@pytest.mark.parametrize("target", ["eql", "lucene", "esql"])
def test_a_test_that_tells_crlf_apart_is_never_equivalent(target: str) -> None:
    # `a\sb` is true on "a\nb" and false on "a\r\nb"; the shipper writes both as "a\nb".
    (rule,) = load_text(_rule("|re", "'a\\sb'"), "r.yml")
    events = [SampleEvent({"EventID": 1, "Channel": SYSMON, "CommandLine": v}) for v in ("a\nb", "a\r\nb", "x")]
    outcome = Checker([target], data_source="windows").check(rule, events)
    result = outcome.targets[target]
    assert result.equivalent is not True, result.reason
    assert result.disagreements == [], result.reason
    assert "not proven" in result.reason and "\\r\\n" in result.reason


def test_the_warning_names_the_field_and_the_shipper() -> None:
    (rule,) = load_text(_rule("|contains", "'a?b'"), "r.yml")
    conversion = Converter("eql", options={"data_source": "winlogbeat"}).convert(rule)
    assert conversion.status == "converted", conversion.reason
    assert any(w.startswith("CommandLine: on data_source=winlogbeat the shipper writes every \\r\\n")
               for w in conversion.warnings), conversion.warnings


@pytest.mark.parametrize("source", ["defend", "windows"])
def test_an_invariant_test_keeps_its_proof(source: str) -> None:
    (rule,) = load_text(_rule("|contains", "'whoami'"), "r.yml")
    conversion = Converter("eql", options={"data_source": source}).convert(rule)
    assert not any("\\r\\n" in w for w in conversion.warnings), conversion.warnings


GLOBS = ["abc", "*abc*", "a*b", "*", "a?b", "a\r\nb", "a\nb*", "\r*"]
REGEXES = [r"a.*b", r"a.+", r"a.b", r"\s-O\s", r"abc$", r"^abc", r"[^x]y", r"x[^\r\n]", r"\bab\b",
           r"cmd.{0,5}(?:/c|/r).+p", r"(?m)^a", r"a.*?", r"(?s)a.*b", r"a(?=\r)", r"[a-z]{2}\.t",
           r"a\B", r"(a.)+b", r"\D\d", r"x\Z", r"\s-c\s", r"a\sb", r"a\s+b\s+", r"\s+", r"a\s*",
           r"\s", r"^\s-c", r"-c\s$", r"[^x]-", r"-[^x]", r"a.*\s", r"\s.*a", r"(?s).-",
           r"a\s{2,}", r"\s{0,2}a", r"(\s)-c", r"\s*-c\s*", r"a[\r\n]", r"[\r\n]a",
           r"a[\r\n]+c", r"\sx\s", r"[^a]+c", r"a[^x]+", r"a\s?b", r"\s\s", r"a|\s"]
TEXTS = ["", "a", "ab", "a\r\nb", "a\nb", "a\r\n", "a\n", "abc\r\n", "abc\n", "\r\nabc", "\nabc",
         "x\r\ny", "a\r\r\nb", "ab\r\n", "cmd /c\r\np", "cmd /cxp", "a.t\r\n", "-O\r\n-O\r\n", "x\r\n",
         "a\r\n-O ", " -O\r\n", "a\r\n7", "x", "\r\n-c", "a\r\n"]


@pytest.mark.parametrize("pattern", GLOBS)
def test_a_glob_said_invariant_is_invariant(pattern: str) -> None:
    from converter.mapping.functions.tree import glob_matches, to_tokens

    value = SigmaString(pattern.replace("\r\n", "\r\n"))
    if not crlf_invariant(value):
        return
    tokens = to_tokens(value)
    for text in TEXTS:
        assert glob_matches(tokens, text, False) == glob_matches(
            tokens, text.replace("\r\n", "\n"), False), (pattern, text)


#: Every text of up to four characters over an alphabet holding both breaks, with the lists above.
SMALL = TEXTS + ["".join(p) for n in range(5) for p in itertools.product("ab-c \r\nx", repeat=n)]


@pytest.mark.parametrize("pattern", REGEXES)
def test_a_regex_said_invariant_is_invariant(pattern: str) -> None:
    value = SigmaRegularExpression(pattern)
    search = compiled_regex(regex_source(value), regex_flags(value))
    verdicts = [(t, bool(search.search(t)), bool(search.search(t.replace("\r\n", "\n"))))
                for t in SMALL]
    if crlf_invariant(value):
        assert all(a == b for _, a, b in verdicts), (pattern, verdicts)


@pytest.mark.parametrize("pattern", [r"a.+", r"a\sb", r"abc$", r"a(?=\r)", r"a\D\d", r"^\s-c",
                                     r"a\s{2,}"])
def test_the_variant_regexes_are_found(pattern: str) -> None:
    assert not crlf_invariant(SigmaRegularExpression(pattern))
    assert any(
        bool(compiled_regex(pattern, 0).search(t))
        != bool(compiled_regex(pattern, 0).search(t.replace("\r\n", "\n"))) for t in TEXTS
    ), pattern
