"""``lucene_plain``: the string test for literal Lucene regexps equals the regex it replaces.

A case-sensitive Lucene regex leaf whose pattern is a literal, optionally opened by ``.*`` on
either side, is decided with ``in`` / ``startswith`` / ``endswith`` / ``==`` instead of the
translated backtracking regex. These tests compare the two on generated patterns (reserved
characters, astral code points, newlines, empty sides) and values, and check that a leaf's
verdict through the evaluator is the regex's.
"""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from backends.query import ast
from backends.query.evaluate import evaluate
from backends.query.lucene_regex import lucene_plain, lucene_regex
from backends.query.patterns import PatternSyntaxError

#: Letters, Lucene operators, a backslash, a newline, an astral emoji and a combining mark.
_ALPHABET = st.sampled_from(list("aAb.*?+|{}[]()\"\\#@&<>~ /-^$\n") + ["\U0001F250", "\u0301"])
_TEXT = st.text(_ALPHABET, max_size=8)


def _regex_verdict(pattern: str, value: str) -> bool | None:
    """The translated regex's verdict, or None when Lucene rejects the pattern."""
    try:
        return lucene_regex(pattern).fullmatch(value) is not None
    except PatternSyntaxError:
        return None


@settings(max_examples=600, deadline=None)
@given(open_start=st.booleans(), body=_TEXT, open_end=st.booleans(), value=_TEXT,
       around=st.tuples(_TEXT, _TEXT))
def test_plain_test_equals_the_regex(open_start: bool, body: str, open_end: bool, value: str,
                                     around: tuple[str, str]) -> None:
    pattern = (".*" if open_start else "") + body + (".*" if open_end else "")
    plain = lucene_plain(pattern)
    # The value with the body inside it, so that matches are common, and as generated.
    for text in (value, around[0] + body + around[1], body):
        if plain is not None:
            assert plain(text) == _regex_verdict(pattern, text), (pattern, text)


def test_plain_shapes_are_recognised_and_operators_are_not() -> None:
    assert lucene_plain(".*\U0001F250.*") is not None
    assert lucene_plain(".*cmd /c.*") is not None
    assert lucene_plain("cmd /c.*") is not None
    assert lucene_plain(".*/c") is not None
    assert lucene_plain("whoami") is not None
    for pattern in ("", ".*", ".*.*", ".*a.b.*", ".*a\\.b.*", ".*a+.*", "a|b", ".*a@.*",
                    ".*<1-2>.*", ".*~a.*", ".*a&b.*", ".*\"a\".*", ".*[a].*", ".*a{2}.*",
                    ".*(a).*", ".*a#.*", ".*a?.*", "a*"):
        assert lucene_plain(pattern) is None, pattern


def test_plain_shapes_decide_as_before() -> None:
    # Including the code point boundary: an astral character is one `.` for both.
    cases = [(".*\U0001F250.*", "x\U0001F250y", True), (".*\U0001F250.*", "\U0001F251", False),
             (".*ab.*", "a\nb", False), (".*a\nb.*", "xa\nby", True), ("ab.*", "abc", True),
             ("ab.*", "cab", False), (".*ab", "cab", True), (".*ab", "abc", False),
             ("ab", "ab", True), ("ab", "Ab", False), (".*ab.*", "AB", False)]
    for pattern, value, expected in cases:
        plain = lucene_plain(pattern)
        assert plain is not None
        assert plain(value) is expected is _regex_verdict(pattern, value), (pattern, value)


def test_evaluator_verdicts_on_plain_leaves_are_the_regex_verdicts() -> None:
    """Through ``evaluate`` (multi-valued field, lowercase normalizer, missing field), a plain
    leaf gives what a leaf of the same pattern routed through the regex gives."""
    events = [{"f": "X-cmd /c-Y"}, {"f": ["zz", "cmd /c"]}, {"f": "CMD /C"}, {}, {"f": 5},
              {"f": "cmd\n/c"}]
    for pattern in (".*cmd /c.*", "cmd /c.*", ".*/c", "cmd /c"):
        for lowercase in (False, True):
            leaf = ast.Regex(field="f", pattern=pattern, dialect=ast.RegexDialect.LUCENE,
                             anchored=True, lowercase_value=lowercase)
            # `(/c)` parses to the same literal but is no plain shape: the regex decides it.
            grouped = ast.Regex(field="f", pattern=pattern.replace("/c", "(/c)"),
                                dialect=ast.RegexDialect.LUCENE, anchored=True,
                                lowercase_value=lowercase)
            assert lucene_plain(grouped.pattern) is None
            for event in events:
                assert evaluate(leaf, event) == evaluate(grouped, event), (pattern, event)
