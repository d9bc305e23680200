"""Kusto's rewrite of caseless Sigma regexes (``backends/kusto/regex.py``) against the reference's
own engine, on the characters engines fold differently (İ, ı, the Kelvin sign, ſ)."""

from __future__ import annotations

import re

import pytest
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError

from backends.kusto.regex import sigma_regex_to_re2
from backends.query.re2 import re2_regex
from converter.reference.values import compiled_regex

#: Subjects: ASCII letters with non-ASCII case partners, the partners, and bystanders.
_CHARS = "iIkKsSaAzZ\u0130\u0131\u212a\u017f\u00e9\u00c9_0.-"
_PATTERNS = [
    "i", "I", "k", "s", "\u0130", "\u0131", "[a-z]", "[A-Z]", "[^a-z]", "[h-j]", "[H-J]", "[^ik]",
    "[\\w.]", "\\w", "\\W", "[\u0130-\u0131]", "[0-9_]", "x?[st]", "(?i)k", ".",
]


@pytest.mark.parametrize("pattern", _PATTERNS)
def test_caseless_regex_matches_where_the_reference_does(pattern: str) -> None:
    """Before: letters became ASCII pairs ([iI], [kK]), so 'İ', the Kelvin sign and 'ſ' matched
    in the reference (the regex package's caseless matching) and not in Kusto."""
    rewritten = sigma_regex_to_re2(pattern, "i")
    engine = re2_regex(rewritten)
    reference = compiled_regex(pattern, re.IGNORECASE)
    wrong = [c for c in _CHARS if bool(engine.search(c)) != bool(reference.search(c))]
    assert not wrong, (rewritten, wrong)


@pytest.mark.parametrize("pattern", ["caf\u00e9", "[\u00e0-\u00ff]", "\u03c3"])
def test_caseless_regex_with_a_non_ascii_cased_letter_is_refused(pattern: str) -> None:
    """Their variants depend on the Unicode version: no exact class can be written."""
    with pytest.raises(SigmaFeatureNotSupportedByBackendError):
        sigma_regex_to_re2(pattern, "i")


@pytest.mark.parametrize("full", [False, True], ids=["search", "fullmatch"])
def test_a_lone_surrogate_value_is_an_undecided_verdict_not_a_crash(full: bool) -> None:
    """RE2 reads UTF-8 and a JSON value can hold a lone surrogate, which has none: the binding
    raised UnicodeEncodeError, which check and backtest did not catch."""
    from backends.query.errors import VerdictUndecided

    engine = re2_regex("a\\d+b")
    with pytest.raises(VerdictUndecided, match="lone surrogate"):
        (engine.fullmatch if full else engine.search)("a1\ud800b")
    assert engine.search("xa12b") is not None
