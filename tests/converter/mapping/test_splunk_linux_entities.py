"""Sysmon for Linux on Splunk: values whose verdict depends on XML entities are "not proven".

Sysmon for Linux writes its events as XML with libxml2, which escapes ``&``, ``<``, ``>``, ``"``
and a carriage return as entities, and how the Splunk Add-on for Sysmon for Linux extracts
fields from that XML is not established (semantics entry
``sysmon_linux_values_entities_unknown``). ``splunk-linux`` renders values decoded; each test
whose verdict could differ on the encoded text must carry an emitter warning, so that ``check``
never calls such a query equivalent. Tests that read the same either way stay proven.
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
    "CommandLine|contains|all: ['curl', 'QUOT']",  # search folds case: inside '&quot;'
    "CommandLine|re: 'a.b'",
    "Image|endswith: ['/curl', '/a&b']",
])
def test_a_test_that_reads_otherwise_on_entity_text_is_flagged(selection: str) -> None:
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
    text = _rule("CommandLine|contains: ' && '")
    events = [SampleEvent({**LINUX_1, "CommandLine": v}, expect=want)
              for v, want in [("a && b", True), ("a & b", False), ("ab", False)]]
    result = Checker(["splunk"]).check(load_one(text), events).targets["splunk"]
    assert result.equivalent is not True
    assert "not proven" in result.reason and "not established" in result.reason


def test_check_still_proves_a_query_that_reads_alike() -> None:
    text = _rule("CommandLine|contains: 'base64 -d'")
    events = [SampleEvent({**LINUX_1, "CommandLine": v}, expect=want)
              for v, want in [("echo x | base64 -d", True), ("a & b", False)]]
    result = Checker(["splunk"]).check(load_one(text), events).targets["splunk"]
    assert result.equivalent is True, result.reason


@pytest.mark.parametrize("selection", [
    "CommandLine|contains: 'p;x'",  # 'p;' ends '&amp;': the literal can begin inside it
    "CommandLine|re: '\\s-O\\s'",  # \s matches a carriage return, written &#13;
    "CommandLine|re: '[0-9]{2}'",  # the 1 and 3 of &#13;
    "CommandLine|re: '-o'",  # 'o' is inside &quot;
    "CommandLine|re: '(?i)-D'",  # inline flags are not analysed
    "CommandLine|re|m: '^-D'",  # a line start depends on the engine's newline characters
    "CommandLine|re: '-D\\b'",  # \b can hold at an entity's letters
])
def test_a_regex_or_literal_that_could_meet_an_entity_is_flagged(selection: str) -> None:
    (warning,) = _warnings(selection)
    assert "not established" in warning


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
