"""Property tests: each folding reading the interpreters use is the one its semantics entry
documents, and the case-partner classes the emitters consult agree with those foldings.

An emitter decides that a letter may stay a caseless literal when its class
(``folding.equivalents``) is the same under every reading the engine may use
(``folds_alike``); the interpreter then evaluates the query with the reading's fold function.
If a class table and a fold function disagreed, an emitter could keep a literal the interpreter
would then judge with another folding: a proof about an engine that does not exist. These
properties pair them on arbitrary code points, and pair each reading with its definition:

* ``simple``: each code point's simple lowercase, Java ``Character.toLowerCase`` (Lucene's
  ``LowerCaseFilter``), which is also the reference's Sigma folding (``string_case``);
* ``ascii``: only ``A``-``Z`` change;
* ``unicode``: Unicode simple case folding (CaseFolding.txt C and S);
* ``upper``: each code point's simple uppercase (.NET ``ToUpperInvariant``).
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from backends.query.folding import (
    ASCII,
    SIMPLE,
    UNICODE,
    UPPER,
    equivalents,
    fold_function,
    folds_alike,
    text_folds_alike,
)
from converter.reference.fields import fold as sigma_fold

READINGS = (SIMPLE, ASCII, UNICODE, UPPER)

#: Letters whose classes differ between readings, and their partners: most random code points
#: have no case at all, so these are drawn often.
TRICKY = ("iIİı kKK sSſ ßẞ σΣς μΜµ βΒϐ θΘϑϴ κΚϰ ρΡϱ πΠϖ φΦϕ ιΙͅι ǅǄǆ ǈǇǉ ẛṡṠ вВᲀ еЕ éÉ "
          "ａＡ ꭰᏠ ﬁ ŉ ΐ")
chars = st.sampled_from(TRICKY.replace(" ", "")) | st.characters(max_codepoint=0x1FFFF)
texts = st.text(alphabet=chars, max_size=12)


@settings(max_examples=400, deadline=None)
@given(chars, chars, st.sampled_from(READINGS))
def test_partner_classes_are_exactly_the_code_points_that_fold_alike(
    a: str, b: str, reading: str
) -> None:
    fold = fold_function(reading)
    assert (fold(a) == fold(b)) == (b in equivalents(a, reading)), (a, b, reading)
    assert a in equivalents(a, reading)


@settings(max_examples=300, deadline=None)
@given(chars, st.lists(st.sampled_from(READINGS), min_size=1, max_size=4, unique=True))
def test_folds_alike_means_one_class_under_every_reading(char: str, readings: list[str]) -> None:
    classes = {equivalents(char, r) for r in readings}
    assert folds_alike(char, tuple(readings)) == (len(classes) == 1)


@settings(max_examples=300, deadline=None)
@given(texts, texts, st.sampled_from(READINGS))
def test_every_reading_is_per_code_point_and_keeps_length(a: str, b: str, reading: str) -> None:
    # A '?' wildcard is one code point under every reading, and a prefix stays a prefix.
    fold = fold_function(reading)
    assert fold(a + b) == fold(a) + fold(b)
    assert len(fold(a)) == len(a)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_the_simple_reading_is_sigma_folding(text: str) -> None:
    # Interpreters fold a `lowercase` normalizer's terms with SIMPLE; the reference folds Sigma
    # values with its own function (no shared code): they must be the same mapping.
    assert fold_function(SIMPLE)(text) == sigma_fold(text)


@settings(max_examples=300, deadline=None)
@given(chars)
def test_each_reading_is_its_documented_mapping(char: str) -> None:
    lower, upper, folded = char.lower(), char.upper(), char.casefold()
    # simple: the simple lowercase, which is the full one but for U+0130 (SpecialCasing.txt).
    assert fold_function(SIMPLE)(char) == ("i" if char == "\u0130" else lower)
    # ascii: A-Z only.
    assert fold_function(ASCII)(char) == (lower if "A" <= char <= "Z" else char)
    # unicode: the C mapping; where the full folding is longer (status F) the S mapping, which
    # is the simple lowercase when there is one.
    expected = folded if len(folded) == 1 else (lower if len(lower) == 1 else char)
    assert fold_function(UNICODE)(char) == expected
    # upper: the simple uppercase, the full one when it is one code point, else the titlecase.
    title = char.title()
    expected_upper = upper if len(upper) == 1 else (title if len(title) == 1 else char)
    assert fold_function(UPPER)(char) == expected_upper


@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF,
                                      exclude_categories=()), max_size=40))
def test_ascii_lower_folds_a_to_z_only_and_utf16_length_counts_surrogate_pairs(text: str) -> None:
    """The C-speed forms (``str.translate``, the UTF-16 codec) agree with the definitions, also
    on lone surrogates (one UTF-16 unit, as in Java) and code points past U+FFFF (two)."""
    from backends.query.folding import ascii_lower
    from backends.query.indexed import utf16_length

    assert ascii_lower(text) == "".join(
        chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)
    assert utf16_length(text) == sum(2 if ord(c) > 0xFFFF else 1 for c in text)


@settings(max_examples=30)
@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF,
                                      exclude_categories=()), min_size=1, max_size=8),
       st.integers(min_value=40, max_value=400))
def test_long_values_fold_as_short_ones(piece: str, times: int) -> None:
    """A value long enough to be folded once and remembered folds as its pieces do, also when
    asked again (the remembered result)."""
    from backends.query.folding import FULL

    text = piece * times
    for reading in (ASCII, SIMPLE, UNICODE, UPPER, FULL):
        function = fold_function(reading)
        expected = "".join(function(c) for c in text) if reading != FULL else text.lower()
        assert function(text) == expected
        assert function(text) == expected


@settings(max_examples=400, deadline=None)
@given(st.text(st.sampled_from(TRICKY) | st.characters(max_codepoint=0x7F) | chars, max_size=12),
       st.lists(st.sampled_from(READINGS), min_size=1, max_size=4, unique=True))
def test_a_text_folds_alike_when_each_of_its_characters_does(text: str,
                                                             readings: list[str]) -> None:
    """``text_folds_alike`` (one set lookup for an ASCII text) is ``folds_alike`` per character."""
    chosen = tuple(readings)
    assert text_folds_alike(text, chosen) == all(folds_alike(c, chosen) for c in text)


def test_the_ascii_letters_that_fold_apart() -> None:
    """Under Sigma's reading and Unicode folding, the ASCII letters with a non-ASCII partner
    (``k``: the Kelvin sign, ``s``: ``ſ``) are the ones an ASCII text is refused for."""
    assert not text_folds_alike("desk", (SIMPLE, UNICODE))
    assert text_folds_alike("cmd.exe", (SIMPLE, UNICODE))
    assert [c for c in map(chr, range(128)) if not text_folds_alike(c, (SIMPLE, UNICODE))] \
        == [c for c in map(chr, range(128)) if not folds_alike(c, (SIMPLE, UNICODE))]
