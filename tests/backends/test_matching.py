"""Unit tests for the primitive matchers in ``backends.query.matching``."""

from __future__ import annotations

import pickle
import re
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from backends.query.ast import Wildcard
from backends.query.errors import UnsupportedQueryError
from backends.query.matching import (
    PatternSyntaxError,
    analyze,
    cidr_match,
    decimal_interval,
    es_double,
    glob_to_regex,
    globs_predicate,
    iter_strings,
    lookup,
    lucene_regex,
    pcre_regex,
    scalar_text,
    to_number,
)

# --- lookup ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "field", "expected"),
    [
        ({"process.name": "a"}, "process.name", ["a"]),
        ({"process": {"name": "a"}}, "process.name", ["a"]),
        ({"process": {"parent.name": "p"}}, "process.parent.name", ["p"]),
        ({"process.name": "flat", "process": {"name": "nested"}}, "process.name", ["flat"]),
        ({"process": {"name": None}}, "process.name", None),
        ({"a": [None, "x", None]}, "a", ["x"]),
        ({"a": [None, None]}, "a", None),
        ({"a": []}, "a", None),
        ({"a": [["x", ["y"]], "z"]}, "a", ["x", "y", "z"]),
        ({"a": [{"b": 1}, {"b": 2}, {"c": 3}]}, "a.b", [1, 2]),
        ({"a": {"b": 1}}, "a", None),  # an object is not a value
        ({"Process": {"Name": "a"}}, "process.name", None),  # names are case-sensitive
        ({"a": ""}, "a", [""]),
        ({"a": 0}, "a", [0]),
        ({"a": False}, "a", [False]),
        ({}, "a", None),
    ],
)
def test_lookup(event: dict, field: str, expected: list | None) -> None:
    assert lookup(event, field) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("4688", 4688), ("-3", -3), ("1.5", 1.5), ("1e3", 1000.0), (7, 7), (2.5, 2.5),
     ("abc", None), ("1_000", None), (" 12", None), ("", None), (True, None), (None, None),
     # Other scripts' digits are no number (before: Python's \\d read '\u0669' as 9).
     ("\u0669", None), ("\uff11\uff12", None)],
)
def test_to_number(value: object, expected: object) -> None:
    result = to_number(value)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(" 12 ", 12.0), ("\t12\n", 12.0), ("12d", 12.0), ("1.5F", 1.5), ("1e3", 1000.0),
     ("0x1p3", 8.0), (".5", 0.5), ("+3", 3.0), (7, 7.0),
     ("\u0661\u0662", None), ("1_000", None), ("NaN", None), ("Infinity", None), ("inf", None),
     ("0x10", None), ("12 x", None), ("\u00a012", None), (True, None), (float("inf"), None)],
)
def test_es_double_reads_strings_as_java_does(value: object, expected: float | None) -> None:
    """A float field coerces with Double.parseDouble: before, its leaves read ' 12 ' as no
    number (Elasticsearch indexes 12) and '\u0661\u0662' as 12 (Elasticsearch rejects it)."""
    assert es_double(value) == expected


def test_scalar_text_and_iter_strings() -> None:
    assert [scalar_text(v) for v in (True, False, 3, "x")] == ["true", "false", "3", "x"]
    event = {"a": {"b": ["x", None, 4]}, "c": True, "d": "y"}
    assert sorted(iter_strings(event)) == ["4", "x", "y"]


# --- glob --------------------------------------------------------------------------------------


def test_glob_wildcards_and_escaping() -> None:
    rx = glob_to_regex(("C:\\win(", Wildcard.ANY, ".exe", Wildcard.ONE), True)
    assert rx.fullmatch("C:\\win(dows\\cmd.exeX")
    assert not rx.fullmatch("C:\\win(cmd.exe")  # ? needs exactly one character
    assert not rx.fullmatch("c:\\win(a.exeX")
    assert glob_to_regex((Wildcard.ANY,), True).fullmatch("multi\nline")
    assert glob_to_regex(("a*b",), True).fullmatch("a*b")  # a literal star is literal
    assert not glob_to_regex(("a*b",), True).fullmatch("axxb")
    assert glob_to_regex(("ABC",), False).fullmatch("abc")
    assert glob_to_regex(("x",), True) is glob_to_regex(("x",), True)  # cached


@given(st.text(), st.text(), st.text())
def test_glob_literal_property(s: str, before: str, after: str) -> None:
    exact = glob_to_regex((s,), True)
    assert exact.fullmatch(s)
    if before or after:
        assert not exact.fullmatch(before + s + after)
    around = glob_to_regex((Wildcard.ANY, s, Wildcard.ANY), True)
    assert around.fullmatch(before + s + after)


_GLOB = st.lists(st.one_of(st.text(alphabet="ab*\n", min_size=1, max_size=3),
                           st.sampled_from([Wildcard.ANY, Wildcard.ONE])),
                 max_size=4).map(tuple)


@settings(max_examples=300)
@given(st.lists(_GLOB, min_size=1, max_size=5), st.text(alphabet="ab*\n", max_size=6))
@example([(Wildcard.ANY, "a")], "ba")
@example([("a", Wildcard.ANY)], "ab")
@example([(Wildcard.ANY, "b", Wildcard.ANY), ("a",)], "abb")
@example([(Wildcard.ANY,), (Wildcard.ONE,)], "")
@example([("a", Wildcard.ONE), ()], "")
def test_globs_predicate_is_the_or_of_fullmatches(globs: list[Any], value: str) -> None:
    # String operations for the plain shapes (x, x*, *x, *x*, *), a regex for the rest: the
    # verdict is still "some glob fullmatches the value".
    expected = any(glob_to_regex(parts, True).fullmatch(value) for parts in globs)
    assert globs_predicate(tuple(globs))(value) == expected


_STAR_GLOB = st.lists(st.one_of(st.text(alphabet="ab", min_size=1, max_size=3),
                                st.just(Wildcard.ANY)), min_size=1, max_size=7).map(tuple)


@settings(max_examples=500)
@given(st.lists(_STAR_GLOB, min_size=1, max_size=3), st.text(alphabet="ab\n", max_size=10))
@example([("ab", Wildcard.ANY, "ba")], "aba")  # first and last may not overlap
@example([(Wildcard.ANY, "aa", Wildcard.ANY, "a")], "aaa")
@example([(Wildcard.ANY, "ab", Wildcard.ANY, "b")], "ab")  # a middle run may not eat the last
@example([("a", Wildcard.ANY, "b", "a", Wildcard.ANY, Wildcard.ANY)], "aba")
def test_star_globs_without_regex(globs: list[Any], value: str) -> None:
    # Globs of text and '*' only are decided by ordered string search (_runs_match), no regex:
    # long run lists and overlapping runs against the glob's own regex.
    expected = any(glob_to_regex(parts, True).fullmatch(value) for parts in globs)
    assert globs_predicate(tuple(globs))(value) == expected


# --- Lucene RegExp -----------------------------------------------------------------------------

LUCENE_CASES = [
    ("ab.*", "abcde", True),
    ("abcd", "abcde", False),  # always anchored to the whole value
    ("^a$", "^a$", True),  # ^ and $ are literal characters
    ("a$", "a", False),
    ("a@", "a anything", True),  # @ = any string
    ("#", "", False),  # # = empty language
    ("a|#", "a", True),
    ("", "", True),
    ('"a.b"', "a.b", True),  # quoted literal
    ('"a.b"', "axb", False),
    ('john"@smith.com"', "john@smith.com", True),
    ("a\\.b", "a.b", True),
    ("a\\@", "a@", True),
    ("\\\\", "\\", True),
    ("\\d+", "123", True),  # Lucene 9 predefined classes
    ("\\d", "\u0663", False),  # ASCII digits only
    ("\\w+", "a_Z9", True),
    ("\\s", "\f", False),  # \s is [ \t\n\r] only
    ("\\S\\D\\W", "xx-", True),
    ("[^a-c]", "d", True),
    ("[^a-c]", "b", False),
    ("[-a]+", "-a", True),
    ("[a\\-c]", "-", True),
    ("[a\\-c]", "b", False),
    ("[]a]", "]", True),  # the first class item is read as a plain character
    ("[\\d.]+", "1.2", True),
    ("[^\\d]", "5", False),
    ("[a\\D]", "z", True),
    ("[a\\D]", "5", False),
    ("[^a\\D]", "5", True),
    ("[^a\\D]", "a", False),
    ("a{2}", "aa", True),
    ("a{2}", "aaa", False),
    ("a{2,}", "aaaa", True),
    ("a{2,3}", "aaaa", False),
    ("a{3,2}", "aa", False),  # min > max is the empty language
    ("(ab)+", "ababab", True),
    ("abc?", "ab", True),
    ("a**", "aaa", True),  # stacked repeats
    ("a+*", "", True),
    ("(?i)", "?i", True),  # Python syntax means nothing special: ( ? i ) are group + literals
    ("*a", "*a", True),  # a leading * is a literal character
    ("a.c", "a\nc", True),  # . matches any character, newline included
    ("foo|bar", "bar", True),
    ("a()b", "ab", True),
    ("~(foo.*)", "bar", True),  # complement at top level is exact
    ("~(foo.*)", "foox", False),
    ("@&~(foo.*)", "bar", True),
    (".*foo&.*bar.*", "xbarfoo", True),  # intersection at top level
    (".*foo&.*bar.*", "xfoo", False),
    ("x|~a", "b", True),
    ("<1-10>", "7", True),
    ("<1-10>", "10", True),
    ("<1-10>", "11", False),
    ("<1-10>", "010", True),  # different widths: leading zeros accepted
    ("<1-10>", "0", False),
    ("<01-10>", "07", True),  # same width: exactly that width
    ("<01-10>", "7", False),
    ("<01-10>", "007", False),
    ("<10-1>", "5", True),  # bounds are swapped
    ("id<0-255>x", "id200x", True),
    ("id<0-255>x", "id256x", False),
]


@pytest.mark.parametrize(("pattern", "value", "expected"), LUCENE_CASES)
def test_lucene_regex(pattern: str, value: str, expected: bool) -> None:
    assert bool(lucene_regex(pattern, True).fullmatch(value)) is expected


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("abc", "ABC", True),
        ('"CmD"', "cmd", True),
        ("[abc]", "B", True),  # single characters fold
        ("[a-c]", "B", False),  # ranges do not (Lucene RegExp CHAR_RANGE)
        ("[^a]", "A", False),
        ("\u00e9", "\u00c9", False),  # only ASCII letters fold
    ],
)
def test_lucene_regex_case_insensitive(pattern: str, value: str, expected: bool) -> None:
    assert bool(lucene_regex(pattern, False).fullmatch(value)) is expected


@pytest.mark.parametrize("pattern", ["a~b", "(a&b)c", "(~a)*", "x(~a)"])
def test_lucene_regex_unsupported(pattern: str) -> None:
    with pytest.raises(UnsupportedQueryError):
        lucene_regex(pattern)


@pytest.mark.parametrize(
    "pattern", ["(ab", "[ab", "a{", "a{x}", "<foo>", "<1-2-3>", "\\n", "ab)", "[b-a]", "a\\"]
)
def test_lucene_regex_syntax_errors(pattern: str) -> None:
    with pytest.raises(PatternSyntaxError):
        lucene_regex(pattern)


@pytest.mark.parametrize(
    ("low", "high", "digits"),
    [(0, 9, 1), (1, 10, 0), (0, 255, 0), (7, 123, 0), (5, 95, 2), (0, 999, 3), (99, 101, 3),
     (20, 20, 2), (0, 0, 1), (3, 1200, 0)],
)
def test_decimal_interval_exhaustive(low: int, high: int, digits: int) -> None:
    rx = re.compile(decimal_interval(low, high, digits))
    for number in range(0, 1400):
        for pad in range(0, 5):
            text = str(number).zfill(len(str(number)) + pad)
            if digits:
                expected = len(text) == digits and low <= number <= high
            else:
                expected = low <= number <= high
            assert bool(rx.fullmatch(text)) is expected, (text, low, high, digits)


# --- PCRE --------------------------------------------------------------------------------------


def test_pcre_search_and_flags() -> None:
    assert pcre_regex("cmd").search("C:\\cmd.exe")
    assert not pcre_regex("CMD").search("cmd")
    assert pcre_regex("(?i)CMD").search("cmd")
    assert pcre_regex("CMD", case_sensitive=False).search("cmd")
    assert pcre_regex("CMD", flags="i").search("cmd")
    assert pcre_regex("^b", flags="m").search("a\nb")
    assert not pcre_regex("^b").search("a\nb")
    assert pcre_regex("a.b", flags="s").search("a\nb")
    assert not pcre_regex("a.b").search("a\nb")
    assert pcre_regex("(?im)^B").search("a\nb")


def test_pcre_translations() -> None:
    assert pcre_regex("(?<ext>exe)$").search("a.exe").group("ext") == "exe"
    assert pcre_regex("(?'ext'exe)").search("a.exe").group("ext") == "exe"
    assert pcre_regex("(?<w>a)\\k<w>").search("aa")
    assert pcre_regex("(?<=a)b").search("ab")  # look-behind is not a named group
    assert pcre_regex("a\\z").search("a") and not pcre_regex("a\\z").search("a\n")
    assert pcre_regex("a\\Z").search("a\n")
    assert pcre_regex("\\Q1+1\\E").search("x1+1") and not pcre_regex("\\Q1+1\\E").search("11")
    assert pcre_regex("\\x{41}").search("A")
    assert pcre_regex("[[a]+").fullmatch("[a[")
    assert not pcre_regex("\\d").search("\u0663")  # PCRE without UCP: ASCII digits
    assert pcre_regex("^(?i:ab)c$").search("ABc") and not pcre_regex("^(?i:ab)c$").search("ABC")


@pytest.mark.parametrize(
    "pattern", ["a++", "a*+", "a{2}+", "(?>a)", "a(?i)b", "\\h", "\\R", "(*UCP)a", "[[:alpha:]]",
                "(?|a)", "(?(1)a|b)", "\\p{L}"],
)
def test_pcre_unsupported(pattern: str) -> None:
    with pytest.raises(UnsupportedQueryError):
        pcre_regex(pattern)


def test_pcre_syntax_error_and_literal_plus() -> None:
    with pytest.raises(PatternSyntaxError):
        pcre_regex("(a")
    assert pcre_regex("c\\++").search("c++")  # an escaped + followed by a quantifier
    assert pcre_regex("a{x}+").search("a{x}}")  # "{x}" is no quantifier, so "+" is not possessive


# --- CIDR --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "network", "expected"),
    [
        ("10.1.2.3", "10.0.0.0/8", True),
        ("11.1.2.3", "10.0.0.0/8", False),
        ("192.168.1.1", "192.168.1.1/32", True),
        ("10.0.0.5", "10.0.0.1/24", True),  # host bits allowed in the network
        ("fe80::1", "fe80::/10", True),
        ("2001:db8::1", "fe80::/10", False),
        ("::ffff:10.0.0.1", "10.0.0.0/8", True),
        ("10.0.0.1", "::ffff:10.0.0.0/104", True),
        ("fe80::1", "10.0.0.0/8", False),
        ("not an ip", "10.0.0.0/8", False),
        (167772161, "10.0.0.0/8", False),
    ],
)
def test_cidr(value: object, network: str, expected: bool) -> None:
    assert cidr_match(value, network) is expected


def test_cidr_bad_network() -> None:
    with pytest.raises(PatternSyntaxError):
        cidr_match("10.0.0.1", "10.0.0.0/33")


# --- standard analyzer -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("C:\\Windows\\System32\\cmd.exe /c whoami", ["c", "windows", "system32", "cmd.exe", "c",
                                                      "whoami"]),
        ("The QUICK brown-fox", ["the", "quick", "brown", "fox"]),
        ("o'neil foo_bar x:y", ["o'neil", "foo_bar", "x:y"]),
        ("10.0.0.1 1,000 3.5", ["10.0.0.1", "1,000", "3.5"]),
        ("a.1 1.a end.", ["a", "1", "1", "a", "end"]),
        ("--- ___ ...", []),
        ("caf\u00e9 na\u0308ive", ["caf\u00e9", "na\u0308ive"]),
        ("\u4e2d\u6587abc", ["\u4e2d", "\u6587", "abc"]),
        ("", []),
    ],
)
def test_analyze(text: str, tokens: list[str]) -> None:
    assert analyze(text) == tokens


def test_analyze_splits_long_tokens() -> None:
    assert [len(t) for t in analyze("a" * 300)] == [255, 45]



@pytest.mark.parametrize("make,method,value,hit", [
    (lambda: pcre_regex("(?i)who(am)?i\\.exe$"), "search", "C:\\WHOAMI.EXE", True),
    (lambda: pcre_regex("^x+$", "", False), "search", "XX", True),
    (lambda: pcre_regex("^x+$"), "search", "XX", False),
    (lambda: lucene_regex("[wW]ho.*", False, "unicode"), "fullmatch", "WHO\u212a", True),
    (lambda: glob_to_regex((Wildcard.ANY, "cmd"), False), "fullmatch", "c:\\CMD", True),
    (lambda: glob_to_regex(("cmd",), True), "fullmatch", "CMD", False),
])
def test_a_pickled_pattern_matches_as_the_original(make: Any, method: str, value: str,
                                                   hit: bool) -> None:
    """A prepared query read back from the backtest's cache holds its patterns as text and flags
    (compiled on first use): it must decide every value as the pattern it was made from."""
    original = make()
    copy = pickle.loads(pickle.dumps(original))
    assert copy is not original and copy.pattern == original.pattern
    assert copy.caseless == original.caseless
    assert (getattr(copy, method)(value) is not None) == hit
    assert (getattr(original, method)(value) is not None) == hit


def test_float_field_leaves_read_values_as_elasticsearch_coerces_them() -> None:
    """coerce="float" (an ES float/double field): ' 12 ' indexes as 12, '\u0661\u0662' not at all."""
    from backends.query.ast import Compare, CompareOp
    from backends.query.evaluate import matches

    leaf = Compare(field="f", op=CompareOp.GT, value=10, coerce="float")
    assert matches(leaf, {"f": " 12 "}) is True
    assert matches(leaf, {"f": "\u0661\u0662"}) is False
