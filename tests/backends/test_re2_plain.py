"""``re2_plain_shape``: a Kusto ``matches regex`` pattern made of literal characters and classes
of them is decided with string operations, and the verdicts are RE2's own.

Kusto's emitter writes a case-insensitive value as an RE2 pattern of case classes
(``(?s)^[Aa][KkK][Aa][Gg][Iiİ]\\.[Ee][Xx][Ee]$``); the evaluator decides such a pattern with
``==`` / ``startswith`` / ``endswith`` / ``in`` on a folded value instead of running RE2. These
tests compare that string test with the ``google-re2`` library (what the evaluator runs
otherwise) on generated patterns and values: ``^``/``$`` (RE2's ``$`` is the very end, never
before a final newline), ``.*`` with and without ``(?s)``, escaped punctuation, classes with
non-ASCII and astral members, newlines.
"""

from __future__ import annotations

import re

import re2
from hypothesis import given, settings, strategies as st

from backends.query import ast
from backends.query.evaluate import compile_once, evaluate
from backends.query.indexed import Event
from backends.query.plain_regex import plain_test
from backends.query.re2 import re2_plain_shape

#: Letters with case partners inside and outside ASCII, an astral pair, punctuation RE2 and
#: Python both read as a literal after a backslash, a space and a newline.
_CHARS = list("aAiIkKsS0_-.\\ \n$^*#") + ["\u0130", "\u0131", "\u212a", "\u017f", "\u00df",
                                           "\u03c3", "\u03c2", "\u0432", "\U00010428"]
_ESCAPABLE = frozenset("_-.\\$^*#")


def _re2(pattern: str, full: bool, value: str) -> bool:
    compiled = re2.compile(pattern)
    return (compiled.fullmatch(value) if full else compiled.search(value)) is not None


def _element(chars: list[str], kind: int) -> str:
    """One position: a literal (escaped where it must be, and where it may be for ``kind`` 2)
    or a class of literals (``kind`` 1)."""
    if kind != 1 or len(chars) == 1:
        char = chars[0]
        must = char in "\\$^*."
        return "\\" + char if must or (kind == 2 and char in _ESCAPABLE) else char
    members = [c for c in chars if c not in "\\^-]["]
    return "[" + "".join(members) + "]" if members else "a"


_ELEMENTS = st.lists(
    st.tuples(st.lists(st.sampled_from(_CHARS), min_size=1, max_size=3, unique=True),
              st.integers(0, 2)),
    min_size=1, max_size=5,
)
_FLAGS = st.sampled_from(["(?s)", "", "(?s)(?s)"])
_OPENINGS = st.sampled_from(["", "^", ".*", "^.*", ".*.*"])
_CLOSINGS = st.sampled_from(["", "$", ".*", ".*$", "$$"])


@settings(max_examples=1500, deadline=None)
@given(flags=_FLAGS, opening=_OPENINGS, elements=_ELEMENTS, closing=_CLOSINGS,
       values=st.lists(st.text(st.sampled_from(_CHARS), max_size=6), min_size=2, max_size=2),
       pick=st.lists(st.integers(0, 2), min_size=5, max_size=5))
def test_string_test_equals_re2(flags: str, opening: str, elements: list[tuple[list[str], int]],
                                closing: str, values: list[str], pick: list[int]) -> None:
    pattern = flags + opening + "".join(_element(c, k) for c, k in elements) + closing
    shape = re2_plain_shape(pattern)
    if shape is None:
        return
    window = "".join(chars[p % len(chars)] for (chars, _), p in zip(elements, pick))
    for value in (*values, window, values[0] + window + values[1], window + "\n",
                  "\n" + window):
        for full in (True, False):
            assert plain_test(shape, full)(value) == _re2(pattern, full, value), (
                pattern, full, value)


def test_which_patterns_are_read() -> None:
    read = ["(?s)^[Aa][KkK][Aa][Gg][Iiİ]\\.[Ee][Xx][Ee]$",  # Kusto's =~ as a regex
            "(?s)^.*\\\\[Jj][Uu][Ss][Tt]\\_[Dd][Cc][Ee]\\_.*$",  # contains
            "whoami", "^cmd", "(?s).*x"]
    for pattern in read:
        assert re2_plain_shape(pattern) is not None, pattern
    refused = ["(?i)abc",  # RE2's caseless folding: not a string test here
               "(?m)^abc$",  # multi-line anchors
               "(?s:abc)", "(?)abc", "a|b", "a+", "a?", "a{2}", "(abc)", "[a-z]", "[^a]",
               "[[:alpha:]]", "\\d", "\\x41", "\\pL", "\\Qa\\E", "a*", ".+", "[\\]]", "[a&&b]",
               "\\z", "\\Z", "[]"]
    for pattern in refused:
        assert re2_plain_shape(pattern) is None, pattern
    # The flags argument adds to the pattern's own.
    assert re2_plain_shape("abc", "s") is not None
    assert re2_plain_shape("abc", "i") is None
    assert re2_plain_shape("abc", "m") is None


def test_dollar_is_the_very_end() -> None:
    """RE2's ``$`` (no ``m``) is the end of the text: a value ending in a newline after the
    body does not match, although Python's ``$`` would accept it."""
    shape = re2_plain_shape("(?s)^[Aa]bc$")
    assert shape is not None
    test = plain_test(shape, False)
    assert test("abc") and test("Abc")
    assert not test("abc\n")
    assert not _re2("(?s)^[Aa]bc$", False, "abc\n")
    assert re.search("^[Aa]bc$", "abc\n")  # what reading it as Python's $ would say


def test_kusto_leaf_verdicts_are_unchanged() -> None:
    """The evaluator's verdict on a Kusto regex leaf that takes the string test is RE2's, alone
    and OR-ed with others on the same field (one merged test)."""
    patterns = ["(?s)^[Aa][KkK][Aa][Gg][Iiİ]\\.[Ee][Xx][Ee]$",
                "(?s)^.*\\\\[Ss][Aa][Mm][Rr][Dd][Uu][Mm][Pp].*$",
                "(?s)^[Tt]ool\\_[Xx]$", "(?s)^.*[Pp]otato$", "[0-9]+x"]
    leaves = [ast.Regex(field="f", pattern=p, dialect=ast.RegexDialect.RE2) for p in patterns]
    values = ["akagi.exe", "AKAGİ.EXE", "akagi.exe\n", "c:\\samrdump\\x", "C:\\SAMRDUMP",
              "tool_x", "Tool_X", "toolx", "juicypotato", "Potato\n", "12x", "x", "ａkagi.exe",
              "\u212aarma", "akaGi.exe"]
    either = ast.Or(tuple(leaves))
    nested = ast.Or((leaves[0], ast.Or(tuple(leaves[1:3])), leaves[3], leaves[4]))
    for value in values:
        expected = [_re2(p, False, value) for p in patterns]
        assert [evaluate(leaf, {"f": value}) for leaf in leaves] == expected, value
        assert evaluate(either, {"f": value}) is any(expected), value
        assert evaluate(nested, {"f": value}) is any(expected), value
        assert compile_once(nested)(Event({"f": value})) is any(expected), value
