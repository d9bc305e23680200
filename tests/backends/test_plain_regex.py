"""``plain_regex``: a translated regex that is a string of character sets, decided with string
operations, gives the regex engine's verdicts.

The case classes emitters write for case-insensitive values (``[cC]``, ``[iIİ]``,
``(?:k|K|\u212a)``, ``[вВ]``) are decided on a folded value instead of by the ``regex``
engine. These tests compare ``BoundedPattern.tester`` with the engine's ``fullmatch`` / ``search`` on
generated patterns (case classes, overlapping classes, non-ASCII and astral letters, anchors,
``$``, flags) and values, through the Lucene and PCRE translators too, and check which shapes
take the string test.
"""

from __future__ import annotations

import re

import regex
from hypothesis import given, settings, strategies as st

from backends.query.lucene_regex import lucene_regex
from backends.query.patterns import BoundedPattern
from backends.query.pcre import pcre_regex

#: Letters with case partners inside and outside ASCII (İ ı K ſ ß ẞ σ ς Σ, Cyrillic),
#: an astral letter pair, digits, punctuation and a newline.
_CHARS = list("aAiIkKsSbB0-.\\ \n") + ["\u0130", "\u0131", "\u212a", "\u017f", "\u00df",
                                         "\u1e9e", "\u03c3", "\u03c2", "\u03a3", "\u0432",
                                         "\u0412", "\U00010428", "\U00010400"]
_CHAR = st.sampled_from(_CHARS)


def _engine(source: str, flags: int, full: bool, value: str) -> bool:
    """The verdict of the ``regex`` engine on the pattern as ``BoundedPattern`` runs it."""
    pattern = BoundedPattern.compile(source, flags, source)
    return (pattern.fullmatch(value) if full else pattern.search(value)) is not None


def _element(chars: list[str], kind: int) -> str:
    """One position: a literal, a class ``[...]`` or an alternation ``(?:a|b)`` of ``chars``."""
    if kind == 0 or len(chars) == 1:
        return re.escape(chars[0])
    if kind == 1:
        return "[" + "".join(re.escape(c) for c in chars) + "]"
    return "(?:" + "|".join(re.escape(c) for c in chars) + ")"


_ELEMENTS = st.lists(
    st.tuples(st.lists(_CHAR, min_size=1, max_size=3, unique=True), st.integers(0, 2)),
    min_size=1, max_size=5,
)
_OPENINGS = st.sampled_from(["", "^", "\\A", ".*", "^.*", ".*?", "(?:.)*", "$"])
_CLOSINGS = st.sampled_from(["", "\\Z", ".*", ".*\\Z", ".*?", "(?:.)*", "$", "(?:x|yz)"])
_FLAGS = st.sampled_from([re.DOTALL, 0, re.DOTALL | re.MULTILINE, re.DOTALL | re.IGNORECASE,
                          re.DOTALL | re.ASCII])


@settings(max_examples=1500, deadline=None)
@given(opening=_OPENINGS, elements=_ELEMENTS, closing=_CLOSINGS, flags=_FLAGS,
       values=st.lists(st.text(st.sampled_from(_CHARS), max_size=6), min_size=3, max_size=3),
       pick=st.lists(st.integers(0, 2), min_size=5, max_size=5))
def test_string_test_equals_the_regex(opening: str, elements: list[tuple[list[str], int]],
                                      closing: str, flags: int, values: list[str],
                                      pick: list[int]) -> None:
    source = opening + "".join(_element(chars, kind) for chars, kind in elements) + closing
    pattern = BoundedPattern.compile(source, flags, source)
    # A value holding one window of the pattern, so that matches are common.
    window = "".join(chars[p % len(chars)] for (chars, _), p in zip(elements, pick))
    for value in (*values, window, values[0] + window + values[1], window + "\n"):
        for full in (True, False):
            assert pattern.tester(full)(value) == _engine(source, flags, full, value), (
                source, flags, full, value)


def test_shapes_that_take_the_string_test() -> None:
    taken = [
        ("(?s)^.*[cC][oO][nN](?:i|I|İ)[dD].*\\z", "", False),  # Splunk mvfind, |contains
        ("(?s)^.*\\.[dD][oO][cC]\\.[lL][nN](?:k|K|\u212a)\\z", "", False),  # |endswith
        ("(?s)^s-1-16-16384\\z", "", False),
    ]
    for pcre, flags, anchored in taken:
        assert pcre_regex(pcre, flags, True, anchored)._plain is not None, pcre
    for lucene in (".*[вВ].*", ".*[cC][mM][dD]\\.[eE][xX][eE].*", "[sS][hH][iIİ][eE]",
                   ".*\\.[xX][lL][sS]\\.[jJ][sS]"):
        assert lucene_regex(lucene)._plain is not None, lucene
    not_taken = ["a$", "a.b", "(?i)ab", ".*(?i:a).*", "[a-z]x", "[^a]", "a|bc", "a+", "(?m)^a",
                 "(?<!x)a", "a\\b", "\\d"]
    for source in not_taken:
        assert BoundedPattern.compile(source, re.DOTALL, source)._plain is None, source
    # Classes that overlap without being equal: no single folding decides them.
    assert BoundedPattern.compile("[aA][aB]", 0, "")._plain is None
    assert BoundedPattern.compile("[iI][iIİ]", 0, "")._plain is None


def test_decisions_on_case_partners() -> None:
    """The folding used is exactly each class: a class without the Kelvin sign or U+0130 does
    not match them, ı and ſ match no ASCII class, a one-character literal stays cased."""
    cases = [
        ("(?s)^.*[wW](?:i|I|İ)[nN].*\\Z", "xWİNy", True),
        ("(?s)^.*[wW](?:i|I|İ)[nN].*\\Z", "xwınx", False),
        ("(?s)^.*[wW][iI][nN].*\\Z", "WİN", False),
        ("(?s)^.*[wW][iI][nN].*\\Z", "wIn", True),
        ("(?s)^.*[kK]ey.*\\Z", "\u212aey", False),
        ("(?s)^.*[kK]ey.*\\Z", "kEy", False),
        ("(?s)^.*[kK]ey.*\\Z", "Key", True),
        ("(?s)^.*(?:k|K|\u212a)ey.*\\Z", "\u212aey", True),
        ("(?s)^.*[sS]et.*\\Z", "ſet", False),
        ("(?s)^.*[вВ]\\Z", "aВ", True),
        ("(?s)^[вВ]x.*\\Z", "вX", False),
    ]
    for source, value, expected in cases:
        pattern = BoundedPattern.compile(source, 0, source)
        assert pattern._plain is not None, source
        assert pattern.tester(False)(value) is expected, (source, value)
        assert (regex.compile(source).search(value) is not None) is expected, (source, value)


def test_pickled_pattern_keeps_its_string_test() -> None:
    import pickle

    pattern = BoundedPattern.compile("(?s)^.*[cC][mM][dD].*\\Z", 0, "shown")
    restored = pickle.loads(pickle.dumps(pattern))
    assert restored._plain == pattern._plain
    assert restored.tester(False)("x CmD y") and not restored.tester(False)("c m d")
