"""Splunk's rewrite of caseless Sigma regexes (``backends/splunk/regex_case.py``) against the
reference's own engine, on the characters engines fold differently (İ, ı, the Kelvin sign, ſ).

Before it, ``(?i)environment`` went to Splunk as written: the reference matches ``envİronment``
and PCRE's caseless matching does not in any mode, so check reported 'differs'
(posh_pm_invoke_obfuscation_via_stdin on a generated case partner)."""

from __future__ import annotations

import itertools
import re

import pytest
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError

from backends.query.pcre import pcre_regex
from backends.splunk.regex_case import splunk_caseless
from converter.checking.checker import Checker
from converter.events.render import SampleEvent
from converter.reference.logsources import SYSMON
from converter.reference.values import compiled_regex
from converter.rules.load import load_text

#: Subjects: ASCII letters with non-ASCII case partners, the partners, and bystanders.
_CHARS = "iIkKsSaAzZ\u0130\u0131\u212a\u017f\u00e9_0.-"
_PATTERNS = [
    "i", "I", "k", "s", "[a-z]", "[A-Z]", "[h-j]", "[H-J]", "[^a-c]", "[\\w.]", "\\w", "\\W",
    "[0-9_]", "x?[st]", "(?i)k", "(?is)s.", ".", "a|k", "(?:ki)+", "(?=s)\\w",
]


@pytest.mark.parametrize("pattern", _PATTERNS)
def test_caseless_regex_matches_where_the_reference_does(pattern: str) -> None:
    """The rewritten pattern, run case-sensitively by the SPL interpreter's PCRE model, matches
    every one- and two-character subject exactly where the reference's caseless regex does."""
    rewritten = splunk_caseless(pattern, True)
    assert "(?i" not in rewritten
    engine = pcre_regex(rewritten)
    reference = compiled_regex(pattern, re.IGNORECASE)
    subjects = list(_CHARS) + ["".join(p) for p in itertools.product(_CHARS, repeat=2)]
    wrong = [s for s in subjects
             if bool(engine.search(s)) != bool(reference.search(s))]
    assert not wrong, (rewritten, wrong[:10])


@pytest.mark.parametrize(
    "pattern",
    ["[^a-z]", "[^ik]", "a(?i)b", "(?i:x)", "(a)\\1", "\\x41", "\\Qab\\E", "caf\u00e9",
     "[[:alpha:]]", "[\u00e0-\u00ff]"],
)
def test_what_has_no_case_sensitive_spelling_is_refused(pattern: str) -> None:
    """A negated class holding i/k/s excludes their non-ASCII partners only in Sigma; an inline i
    option, a back-reference, a letter named by its code, a non-ASCII cased letter: refused."""
    with pytest.raises(SigmaFeatureNotSupportedByBackendError):
        splunk_caseless(pattern, True)


def test_a_pattern_that_is_not_caseless_is_unchanged() -> None:
    for pattern in ["Ab[^a-z]\\1", "(?s)a.b", "\\x41", "[[:alpha:]]"]:
        assert splunk_caseless(pattern, False) == pattern


def test_an_i_option_inside_a_case_sensitive_pattern_is_refused() -> None:
    with pytest.raises(SigmaFeatureNotSupportedByBackendError):
        splunk_caseless("abc(?i)def", False)


_RULE = """title: caseless regex
id: 5f0c3c7e-2222-4a1a-9a9a-0000000000c1
logsource:
  category: process_creation
  product: windows
detection:
  sel:
    CommandLine|re: '(?i)invoke.*set'
  condition: sel
"""


def test_splunk_is_proven_on_the_case_partners() -> None:
    """End to end: the partners the reference pairs with i, k and s are matched by the query;
    before, the İ and ı events disagreed and the target was 'differs'."""
    loaded = load_text(_RULE, "r.yml")[0]
    values = ["invoke x set", "\u0130nvoke set", "INVO\u212aE SET", "invoke \u017fet",
              "\u0131nvoke set", "invoke", "revoke set"]
    events = [SampleEvent({"EventID": 1, "Channel": SYSMON, "CommandLine": v}, None, None,
                          f"v{i}", None) for i, v in enumerate(values)]
    result = Checker(["splunk"]).check(loaded, events).targets["splunk"]
    assert "(?i" not in str(result.query), result.query
    assert result.equivalent is True, (result.reason, result.disagreements)
