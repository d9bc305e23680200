"""The Splunk emitter's table lookups give what its per-character rules give
(``backends/splunk/spl_text.py`` ``_pcre_text``, ``backends/splunk/xml_text.py``
``has_entity_hazard``'s early answer for values without wildcards)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from sigma.types import SigmaString, SpecialChars

from backends.splunk import spl_text, xml_text

#: ASCII (letters whose case folds alike or not, PCRE metacharacters, controls) and a few
#: characters with case partners outside ASCII (the Kelvin sign, dotted I, long s, sharp s).
_TEXT = st.text(st.one_of(st.characters(max_codepoint=127),
                          st.sampled_from("KİıſßẞΣςσé\u0130\u212a"),
                          st.characters()), max_size=40)


@settings(max_examples=400, deadline=None)
@given(_TEXT, st.booleans())
def test_pcre_text_is_each_character_written_alone(text: str, case_sensitive: bool) -> None:
    expected = "".join(spl_text._pcre_char(c, case_sensitive) for c in text)
    assert spl_text._pcre_text(text, case_sensitive) == expected


def test_every_ascii_character_is_translated_as_pcre_char_writes_it() -> None:
    for code in range(128):
        for case_sensitive in (False, True):
            char = chr(code)
            assert spl_text._pcre_text(char, case_sensitive) == spl_text._pcre_char(
                char, case_sensitive)
    assert spl_text._pcre_text("k.", False) == "(?:k|K|\u212a)\\."


@settings(max_examples=200, deadline=None)
@given(st.text(st.sampled_from("amp;ltgquo&x*?\\"), max_size=12))
def test_a_value_without_wildcards_has_no_entity_hazard(text: str) -> None:
    """Every hazard is a ``?`` or a part after a ``*``: without them the answer is False."""
    value = SigmaString(text)
    wildcards = {SpecialChars.WILDCARD_MULTI, SpecialChars.WILDCARD_SINGLE}
    if not any(part in wildcards for part in value.s):
        assert xml_text.has_entity_hazard(value) is False


def test_entity_hazard_of_values_with_and_without_wildcards() -> None:
    assert xml_text.has_entity_hazard(SigmaString("*amp;x")) is True
    assert xml_text.has_entity_hazard(SigmaString("a?b")) is True
    assert xml_text.has_entity_hazard(SigmaString("amp;x")) is False
    assert xml_text.has_entity_hazard(SigmaString("lt;*")) is False
    assert xml_text.has_entity_hazard(SigmaString("a*lt*")) is True
