"""``line_break_regex.regex_problem``: a regex it accepts answers alike on a text and on the text
with every ``\\r\\n`` written as ``\\n`` (the winlog input's rewrite), checked exhaustively on
short texts for generated patterns."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from converter.mapping.line_break_regex import regex_problem
from converter.reference.values import ascii_shorthands

ATOMS = ["a", "b", ".", r"\s", r"\S", "[^a]", r"[^a\n]", r"\r", r"\n", " ", r"\w", r"\W",
         "[ab]", r"\d", "^", "$", r"\b", "(?!a)", "(?=b)"]
QUANTIFIERS = ["", "*", "+", "?", "{2}", "{0,2}", "+?", "*?"]
ZERO_WIDTH = {"^", "$", r"\b", "(?!a)", "(?=b)"}
TEXTS = ["".join(p) for n in range(6) for p in itertools.product("ab\r\n ", repeat=n)]


@st.composite
def patterns(draw: st.DrawFn, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        if depth < 2 and draw(st.booleans()) and draw(st.booleans()):
            wrap = draw(st.sampled_from(["(%s)", "(?:%s|b)", "(?s:%s)"]))
            atom = wrap % draw(patterns(depth + 1))
        else:
            atom = draw(st.sampled_from(ATOMS))
        if atom not in ZERO_WIDTH:
            atom += draw(st.sampled_from(QUANTIFIERS))
        parts.append(atom)
    return "".join(parts)


@settings(max_examples=300, deadline=None)
@given(patterns(), st.sampled_from([0, re.S, re.M]), st.booleans())
def test_an_accepted_regex_answers_alike_after_the_rewrite(
    pattern: str, flags: int, shorthands: bool
) -> None:
    if shorthands:  # as line_endings.crlf_invariant reads it: the reference's ASCII shorthands
        pattern = ascii_shorthands(pattern)
    try:
        compiled = re.compile(pattern, flags)
    except re.error:
        return
    if regex_problem(pattern, flags) is not None:
        return
    for text in TEXTS:
        assert bool(compiled.search(text)) == bool(compiled.search(text.replace("\r\n", "\n"))), text


@pytest.mark.parametrize("pattern", [
    r"HostId=[a-zA-Z0-9-]{36}\s+EngineVersion=",  # SigmaHQ's classic PowerShell filter
    r"(?i)&&set.*(\{\d\}){2,}\\\"\s+?-f.*&&.*cmd.*/c",
    r"\$PSHome\[\s*\d{1,3}\s*\]",
    r"cmd.{0,5}(?:/c|/r).+powershell",
    r"\bfoo\b",
    r"(?s)a.*b",
])
def test_accepted(pattern: str) -> None:
    assert regex_problem(pattern) is None


@pytest.mark.parametrize(("pattern", "why"), [
    ("abc.", "end with"),  # '.' takes the '\r' of 'abc\r\n', which the shipper removes
    (r"a.\s+b", "whitespace run"),
    (r"a\s{2,}b", "character class"),
    (r"a\s+\s+b", "whitespace run"),
    ("abc$", "end anchor"),
    (r"a\sb", "character class"),
    (r"x\s*", "whitespace run"),
    ("a[^x]b", "negated"),
    (r"a\r\nb", "literal"),
])
def test_refused(pattern: str, why: str) -> None:
    problem = regex_problem(pattern)
    assert problem is not None and why in problem
