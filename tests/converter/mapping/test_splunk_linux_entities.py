"""Sysmon for Linux on Splunk: values whose verdict depends on XML entities.

Sysmon for Linux writes its events as XML with libxml2, which escapes ``&``, ``<``, ``>``, ``"``
and a carriage return as entities, and how the Splunk Add-on for Sysmon for Linux extracts
fields from that XML is not established (semantics entry
``sysmon_linux_values_entities_unknown``). A string test whose verdict could differ on the
encoded text is written as a regex on ``_raw``'s ``<Data Name="X">`` element, which holds the
record as written whatever the extraction does; a regex with no such form keeps an emitter
warning, so that ``check`` never calls its query equivalent. Tests that read the same either
way stay field tests.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from converter.checking.checker import Checker
from converter.events.render import SampleEvent
from helpers import convert, load_one, rule_text

LINUX_1 = {"EventID": 1, "Channel": "Linux-Sysmon/Operational"}


def _rule(selection: str, category: str | None = "process_creation", product: str = "linux",
          service: str | None = None) -> str:
    text = rule_text(f"selection:\n    {selection}\ncondition: selection", category, product)
    return text.replace("{product: linux}", f"{{product: linux, service: {service}}}") \
        if service else text


def _warnings(selection: str, **logsource: str | None) -> list[str]:
    text = _rule(selection, **logsource)  # type: ignore[arg-type]
    conversion = convert("splunk", text)
    assert conversion.status == "converted", conversion.reason
    return [w for w in conversion.warnings if "entities" in w]


@pytest.mark.parametrize("selection", [
    "CommandLine|contains: ' && '",
    "CommandLine|contains: '>/dev/null'",
    "CommandLine: 'echo \"x\"'",
    "CommandLine|contains: \"a\\rb\"",
    "CommandLine: 'a?b'",  # '?' is one character; an entity is several
    "CommandLine|contains: 'amp'",  # inside '&amp;' of a value holding '&'
    "CommandLine|contains: '#1'",  # inside '&#13;'
    "CommandLine|endswith: ';ls'",  # begins at the ';' that ends an entity
    "CommandLine|contains: 'p;x'",  # 'p;' ends '&amp;': the literal can begin inside it
    "CommandLine|contains|all: ['curl', 'QUOT']",  # search folds case: inside '&quot;'
    "Image|endswith: ['/curl', '/a&b']",
])
def test_a_string_that_reads_otherwise_on_entity_text_is_tested_on_raw(selection: str) -> None:
    text = _rule(selection)
    conversion = convert("splunk", text)
    assert conversion.status == "converted", conversion.reason
    assert not [w for w in conversion.warnings if "entities" in w]
    field = selection.split("|")[0].split(":")[0]
    assert f'<Data Name=\\"{field}\\">' in conversion.queries[0], conversion.queries[0]


@pytest.mark.parametrize("selection", [
    "CommandLine|re|i: 'a.b'",  # regex flags: no element form here
    "CommandLine|re: '(?i)-D'",  # inline flags
    "CommandLine|re|m: '^-D'",
    "CommandLine|re: '-D\\b'",  # \b can hold at an entity's letters: a letter escape
    "CommandLine|re: '(?=a)b.'",  # a lookahead
    "Computer|contains: 'a&b'",  # a System element: no <Data Name> element holds it
])
def test_a_test_with_no_raw_form_that_reads_otherwise_is_flagged(selection: str) -> None:
    (warning,) = _warnings(selection)
    assert "data_source=splunk_ta_sysmon_linux" in warning and "not established" in warning


@pytest.mark.parametrize("selection", [
    "Image|endswith: '/curl'",
    "CommandLine|contains: 'base64 -d'",
    "CommandLine|startswith: 'amp'",  # anchored: cannot begin inside an entity
    "CommandLine|endswith: 'amp'",  # the text ends with a character or an entity's ';'
    "CommandLine: 'a;b'",
    "CommandLine|contains|all: ['wget', ' -O']",
    "ProcessId: 42",
])
def test_a_test_that_reads_alike_on_both_texts_is_not_flagged(selection: str) -> None:
    assert _warnings(selection) == []


def test_auditd_records_are_no_xml_and_are_not_flagged() -> None:
    assert _warnings("type: 'a&b'", category=None, service="auditd") == []


def test_windows_sysmon_keeps_its_encoded_values_and_no_such_warning() -> None:
    text = _rule("CommandLine|contains: ' && '", product="windows")
    conversion = convert("splunk", text)
    assert conversion.status == "converted"
    assert 'CommandLine="* &amp;&amp; *"' in conversion.queries[0]
    assert not any("not established" in w for w in conversion.warnings)


def test_check_calls_a_flagged_query_not_proven_even_when_every_event_agrees() -> None:
    text = _rule("CommandLine|re|i: 'a.b'")
    events = [SampleEvent({**LINUX_1, "CommandLine": v}, expect=want)
              for v, want in [("axb", True), ("a & b", False), ("ab", False)]]
    result = Checker(["splunk"]).check(load_one(text), events).targets["splunk"]
    assert result.equivalent is not True
    assert "not proven" in result.reason and "not established" in result.reason


@pytest.mark.parametrize(("selection", "cases"), [
    ("CommandLine|contains: ' && '",
     [("a && b", True), ("a & b", False), ("a &amp;&amp; b", False), ("ab", False)]),
    ("CommandLine|contains: 'echo 1 >'",
     [("sh -c echo 1 > /x", True), ("ECHO 1 >", True), ("echo 1 &gt; x", False),
      ("echo 1 >>", True), ("echo 1", False)]),
    ("CommandLine|endswith: ';ls'",
     [("a;ls", True), ("a&ls", False), ("&amp;ls", True), ("a&;ls", True), ("ls", False)]),
    ("CommandLine: 'a?\"'",
     [('a""', True), ("a&\"", True), ('a&amp;"', False), ("a\r\"", True), ('a"', False)]),
    ("CommandLine|contains: \"x\\ry\"",
     [("1 x\ry 2", True), ("x&#13;y", False), ("x\ny", False)]),
])
def test_a_query_on_raw_agrees_with_sigma_on_entity_values(selection: str, cases: list) -> None:
    """The record's _raw holds each value as libxml2 writes it; the query reads the element."""
    text = _rule(selection)
    events = [SampleEvent({**LINUX_1, "CommandLine": v}, expect=want) for v, want in cases]
    result = Checker(["splunk"]).check(load_one(text), events).targets["splunk"]
    assert result.equivalent is True, result.reason
    assert "_raw" in (result.query or ""), result.query


def test_the_rendered_raw_escapes_as_libxml2_does() -> None:
    from converter.events.render import raw_xml

    raw = raw_xml({**LINUX_1, "CommandLine": 'a&b<c>d"e\rf'}, libxml2=True)
    assert '<Data Name="CommandLine">a&amp;b&lt;c&gt;d&quot;e&#13;f</Data>' in raw
    assert '"e\rf' in raw_xml({**LINUX_1, "CommandLine": '"e\rf'})  # Windows: text unescaped


def test_check_still_proves_a_query_that_reads_alike() -> None:
    text = _rule("CommandLine|contains: 'base64 -d'")
    events = [SampleEvent({**LINUX_1, "CommandLine": v}, expect=want)
              for v, want in [("echo x | base64 -d", True), ("a & b", False)]]
    result = Checker(["splunk"]).check(load_one(text), events).targets["splunk"]
    assert result.equivalent is True, result.reason


@pytest.mark.parametrize("selection", [
    "CommandLine|re: '\\s-O\\s'",  # \s matches a carriage return, written &#13;
    "CommandLine|re: '[0-9]{2}'",  # the 1 and 3 of &#13;
    "CommandLine|re: '-o'",  # 'o' is inside &quot;
    "CommandLine|re: 'a.b'",
])
def test_a_regex_that_could_meet_an_entity_is_tested_on_raw(selection: str) -> None:
    conversion = convert("splunk", _rule(selection))
    assert conversion.status == "converted", conversion.reason
    assert not [w for w in conversion.warnings if "entities" in w]
    assert '<Data Name=\\"CommandLine\\">' in conversion.queries[0], conversion.queries[0]


@pytest.mark.parametrize("selection", [
    "CommandLine|re: '-D'",  # neither '-' nor 'D' (in any case) occurs in an entity
    "CommandLine|re: '^(?:-D|-R)'",
    "CommandLine|re: '\\\\-[DR]+'",
    "CommandLine|contains: 'ProxyCommand=;'",  # no entity ends with '=;'
    "CommandLine|contains: 'a;b'",  # no entity ends with 'a;'
])
def test_a_regex_or_literal_that_never_meets_an_entity_is_not_flagged(selection: str) -> None:
    assert _warnings(selection) == []


_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;"}
_PATTERNS = ["-D", "^-D", "^(?:-D|-R)", "[DRx]+-", "x{2}", "-[D-F]", "D;", ";D", "=;", "\\-D",
             "\\s-D", "[0-9]", "a", "-.", "o", "D\\b", "[^x]"]


def _encode(text: str) -> str:
    return "".join(_ESCAPES.get(c, c) for c in text)


@given(st.text(alphabet="&<>\"\r\n-DdRxX =;amplgtquo#13", max_size=12),
       st.sampled_from(_PATTERNS))
def test_a_regex_judged_alike_has_one_verdict_on_both_texts(text: str, pattern: str) -> None:
    from converter.mapping.entities import _regex_reads_alike

    if _regex_reads_alike(pattern):
        assert bool(re.search(pattern, text)) == bool(re.search(pattern, _encode(text)))


_LITERALS = ["*=;*", "*a;b*", "*;d*", "*p;*", "*mp*", "*-d*", "x*", "*x", "*t;", "*d;x*",
             "*o=*", "*q*"]


@given(st.text(alphabet="&<>\"\r-DdxX =;amplgtquo#13", max_size=12),
       st.sampled_from(_LITERALS))
def test_a_literal_judged_alike_has_one_verdict_on_both_texts(text: str, value: str) -> None:
    from sigma.types import SigmaString

    from converter.mapping.entities import _entity_dependence

    if _entity_dependence(SigmaString(value)) is None:
        glob = "".join(".*" if c == "*" else re.escape(c) for c in value)
        verdict = [bool(re.fullmatch(glob, t, re.I | re.S)) for t in (text, _encode(text))]
        assert verdict[0] == verdict[1]


_ELEMENT_REGEXES = ["-D", "\\s-O\\s", "a.b", "[0-9]{2}", "^a", "b$", "[^x]+;", "(?:a|&)b*",
                    "[<-@]", "\\W\\w", "(.){3,}", "\"q", "x\\S?y", ".\\d"]


@given(st.text(alphabet="&<>\"\r\n-DOab13xq;# ", max_size=10), st.sampled_from(_ELEMENT_REGEXES))
def test_a_regex_on_the_element_has_the_verdict_of_the_regex_on_the_value(
    text: str, pattern: str
) -> None:
    """On the record libxml2 writes, the element regex finds a match exactly where the Sigma
    regex (ASCII classes, as the reference reads it) finds one in the decoded value."""
    from sigma.types import SigmaRegularExpression

    from converter.events.render import raw_xml
    from converter.mapping.raw_element import element_pattern

    element = element_pattern("CommandLine", SigmaRegularExpression(pattern))
    raw = raw_xml({**LINUX_1, "Image": "/bin/x<y", "CommandLine": text, "User": "a"}, libxml2=True)
    want = bool(re.search(pattern, text, re.ASCII))
    assert bool(re.search(element, raw)) == want, (element, raw)
