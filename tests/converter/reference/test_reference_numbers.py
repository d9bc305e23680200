"""The reference's number reading and the audit's debatable verdicts (issue 11): a string is a
number only when it is an ASCII decimal ("number_text"); CIDR blocks compare in IPv6 space,
``exists`` holds on an explicit null, base64 values stay case-insensitive, ``|re|i`` is the
regex flavour's caseless matching."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from test_reference import hits

from converter.reference.fields import number_of
from converter.reference.semantics import SIGMA_SEMANTICS

# --- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["1_001", "\u0661\u0660\u0660\u0661", "\uff11\uff10\uff10\uff11", "inf", "Infinity", "nan",
     " 1001", "1001 ", "1001\n", "0x3e9", "0o1751", "+inf", "1,001", "", "1e999"],
)
def test_strings_that_are_not_numbers(text: str) -> None:
    """Python's int()/float() read these (Arabic-Indic digits, underscores, inf, surrounding
    whitespace); Sigma's numbers are ASCII decimals, so a comparison never holds on them."""
    assert number_of(text) is None
    for modifier in ("gt", "gte", "lt", "lte"):
        det = f"sel:\n  ProcessId|{modifier}: 1000\ncondition: sel"
        assert hits(det, {"ProcessId": text}) == [False], (modifier, text)


@pytest.mark.parametrize(
    ("text", "number"),
    [("1001", 1001), ("04242", 4242), ("4242.0", 4242.0), ("-5", -5), ("+7", 7), ("1e3", 1000.0),
     (".5", 0.5), ("5.", 5.0), ("4242.9", 4242.9)],
)
def test_ascii_decimals_are_numbers(text: str, number: float) -> None:
    assert number_of(text) == number


def test_json_numbers_and_non_finite_floats() -> None:
    assert number_of(4242) == 4242 and number_of(4242.5) == 4242.5
    assert number_of(float("inf")) is None and number_of(float("nan")) is None
    assert number_of(True) is None
    det = "sel:\n  ProcessId|gt: 1000\ncondition: sel"
    assert hits(det, {"ProcessId": 1001}, {"ProcessId": "1001"}, {"ProcessId": "01001"},
                {"ProcessId": float("inf")}, {"ProcessId": "١٠٠١"}) == [True, True, True, False, False]


def test_plain_number_equality_is_textual_for_strings() -> None:
    """``Code: 4242`` is the text '4242' or a JSON number equal to it ("numbers"): '04242' and
    '4242.0' are other texts (Elasticsearch's coercion on a long field reads both as 4242)."""
    det = "sel:\n  Code: 4242\ncondition: sel"
    assert hits(det, {"Code": "04242"}, {"Code": "4242.0"}, {"Code": 4242.0},
                {"Code": "٤٢٤٢"}) == [False, False, True, False]


def test_number_text_entry_exists() -> None:
    fact = SIGMA_SEMANTICS["number_text"]
    assert "ASCII" in str(fact.value)
    assert "yaml.org" in fact.note


def test_no_unicode_digit_is_an_ascii_digit() -> None:
    """The decimal reading is ASCII: every other Nd digit is refused."""
    digits = [chr(c) for c in range(sys.maxunicode + 1)
              if unicodedata.category(chr(c)) == "Nd" and not chr(c).isascii()]
    assert len(digits) > 600
    assert all(number_of(d * 3) is None for d in digits)


# --- the debatable verdicts of the audit, decided ------------------------------------------------


def test_cidr_ipv4_mapped_ipv6_is_the_ipv4_address() -> None:
    """RFC 4291 2.5.5.2 and Elasticsearch's ip field: ::ffff:a.b.c.d is a.b.c.d ("cidr")."""
    v4 = "sel:\n  DestinationIp|cidr: '10.0.0.0/8'\ncondition: sel"
    assert hits(v4, {"DestinationIp": "::ffff:10.1.2.3"}, {"DestinationIp": "::FFFF:a01:203"},
                {"DestinationIp": "::ffff:11.1.2.3"}) == [True, True, False]
    mapped = "sel:\n  DestinationIp|cidr: '::ffff:10.0.0.0/104'\ncondition: sel"
    assert hits(mapped, {"DestinationIp": "10.9.9.9"}, {"DestinationIp": "11.0.0.1"}) == [
        True, False]
    assert "RFC 4291" in SIGMA_SEMANTICS["cidr"].note


def test_cidr_zone_index_is_ignored() -> None:
    det = "sel:\n  DestinationIp|cidr: 'fe80::/10'\ncondition: sel"
    assert hits(det, {"DestinationIp": "fe80::1%12"}, {"DestinationIp": "fe80::1%eth0"},
                {"DestinationIp": "2001:db8::1%12"}) == [True, True, False]
    assert "RFC 4007" in SIGMA_SEMANTICS["cidr"].note


def test_exists_holds_on_an_explicit_json_null() -> None:
    """The modifiers appendix: 'exists' checks presence, 'be it empty or null'."""
    present = "sel:\n  Field|exists: true\ncondition: sel"
    assert hits(present, {"Field": None}, {"Field": [None]}, {}) == [True, True, False]
    assert "be it empty or null" in SIGMA_SEMANTICS["exists"].note


def test_base64_values_match_case_insensitively() -> None:
    """Base64 text is case-significant, yet the encoded value is an ordinary Sigma string,
    matched case-insensitively like every target's query does ("encodings"); |cased is exact."""
    det = "sel:\n  CommandLine|base64offset|contains: 'whoami'\ncondition: sel"
    cased = "sel:\n  CommandLine|base64offset|cased|contains: 'whoami'\ncondition: sel"
    events = ({"CommandLine": "x d2hvYW1p x"}, {"CommandLine": "x D2HVYW1P x"})
    assert hits(det, *events) == [True, True]
    assert hits(cased, *events) == [True, False]
    assert "case-significant" in SIGMA_SEMANTICS["encodings"].note


def test_regex_i_folds_as_pcre_caseless() -> None:
    """|re|i is the regex flavour's caseless matching ("regex_case"), not string_case."""
    det = "sel:\n  CommandLine|re|i: '^desk$'\ncondition: sel"
    assert hits(det, {"CommandLine": "DES\u212a"}, {"CommandLine": "de\u017fk"},
                {"CommandLine": "DESK"}) == [True, True, True]
    greek = "sel:\n  CommandLine|re|i: '^οδοσ$'\ncondition: sel"
    assert hits(greek, {"CommandLine": "ΟΔΟΣ"}, {"CommandLine": "οδος"}) == [True, True]
    assert "pcre2unicode" in SIGMA_SEMANTICS["regex_case"].note
