"""The Sigma-regex to Lucene RegExp translation is exact: property tests against regex oracles.

``backends/lucene/regex.py`` claims that for every supported Sigma regex, the Lucene RegExp it
emits matches a whole value exactly when the Sigma regex matches somewhere in it. Three proofs:

* ``test_case_table_matches_the_reference_engine``: the case-variant table the translation folds
  with equals the ``regex`` package's own case table (the reference evaluator's engine) for every
  code point the translation does not refuse.
* ``test_translation_matches_search``: random patterns from the supported subset (literals,
  classes with ranges and shorthands, groups, alternation, greedy and lazy quantifiers, anchors,
  leading and scoped inline flags) and random strings: ``regex.search`` on the pattern equals
  sigport's Lucene interpreter (``backends.query.matching.lucene_regex``, whole-value match) on
  the translation, for the case-sensitive form and for the EQL ``regex~`` form. The oracle spells
  ``\\d \\w \\s`` as their ASCII classes: that is the translation's declared meaning (PCRE's; see
  SEMANTICS "sigma_regex_shorthand" for the gap with the reference's Unicode classes). Patterns
  the reference refuses are skipped: those ``re`` rejects, and those ``regex`` misreads (a scoped
  ``(?i:...)`` inside an alternative, ``converter/reference/engine_gaps.py``), whose ``regex``
  answer is not the reference's meaning.
* ``test_end_to_end_through_the_checker``: the same patterns as Sigma rules, converted by the real
  EQL and Lucene emitters, parsed by their interpreters and compared with the reference evaluator
  on events (the proof ``sigport check`` runs).

``re``/``regex`` appear only here, as oracles; the translation never uses them.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import pytest
import regex
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from regex import _regex  # the package's own case table, the oracle for the folding table

from backends.lucene.charset import FoldError, regex_case_variants
from backends.lucene.regex import translate_pcre
from backends.query.matching import lucene_regex
from converter.checking.checker import Checker
from converter.events.render import SampleEvent
from converter.reference.engine_gaps import scoped_case_in_alternation
from converter.rules.load import load_text

SYSMON = "Microsoft-Windows-Sysmon/Operational"

#: Literal characters patterns are built from: letters with special case variants, ASCII
#: punctuation (Lucene and PCRE operators among them), caseless non-ASCII characters.
PATTERN_CHARS = (
    "aAbBiIkKsSzZ09_-./:\\\"' *?+()[]{}|$^#@&<>~%,=`\t\n\u212a\u017f\u0130\u0131\u20ac\u65e5"
)
#: Characters subject strings are built from: the above plus non-ASCII letters with case, Unicode
#: spaces and digits, and the characters that fold onto ASCII letters.
SUBJECT_CHARS = PATTERN_CHARS + "\r\x0b\x0c\u00e9\u00c9\u00a0\u2028\u0663\x85\x1c\u00b5"
ASCII_PATTERN = "".join(c for c in PATTERN_CHARS if c.isascii())
ASCII_SUBJECT = "".join(c for c in SUBJECT_CHARS if c.isascii())
PCRE_SPECIAL = set("\\.^$*+?()[]{}|")
CLASS_SPECIAL = set("\\]^-[")
#: Shorthand escapes with the ASCII class the oracle spells them as.
SHORTHAND = {"d": "0-9", "w": "a-zA-Z0-9_", "s": " \\t\\n\\x0b\\x0c\\r"}


# --- the case table ------------------------------------------------------------------------------


def test_case_table_matches_the_reference_engine() -> None:
    flags = regex.IGNORECASE | regex.V0
    refused = 0
    for code in range(0x110000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        try:
            ours = regex_case_variants(chr(code))
        except FoldError:
            refused += unicodedata.category(chr(code)) != "Cn"
            continue
        theirs = {chr(c) for c in _regex.get_all_cases(flags, code)}
        assert set(ours) == theirs, (hex(code), ours, theirs)
    # Non-ASCII letters with case (and unassigned code points) are refused; nothing else is.
    assert 2000 < refused < 5000, refused


def test_case_table_is_symmetric_on_ascii() -> None:
    # CharSet.fold relies on it: x matches a folded class iff a variant of x is a member.
    for code in range(0x80):
        for other in regex_case_variants(chr(code)):
            assert chr(code) in regex_case_variants(other), (chr(code), other)


# --- pattern generation --------------------------------------------------------------------------


def _lit(char: str) -> tuple[str, str]:
    text = "\\" + char if char in PCRE_SPECIAL else char
    return text, text


def _class_char(char: str) -> str:
    return "\\" + char if char in CLASS_SPECIAL else char


@st.composite
def char_class(draw: st.DrawFn) -> tuple[str, str]:
    items_p, items_o = [], []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["char", "range", "shorthand"]))
        if kind == "shorthand":
            letter = draw(st.sampled_from("dws"))
            items_p.append("\\" + letter)
            items_o.append(SHORTHAND[letter])
            continue
        low = draw(st.sampled_from(PATTERN_CHARS))
        if kind == "range":
            # ASCII end points: a range over non-ASCII letters is refused when case-insensitive.
            low = draw(st.sampled_from(ASCII_PATTERN))
            high = draw(st.sampled_from(ASCII_PATTERN))
            low, high = sorted((low, high))
            text = _class_char(low) + "-" + _class_char(high)
        else:
            text = _class_char(low)
        items_p.append(text)
        items_o.append(text)
    neg = "^" if draw(st.booleans()) else ""
    return f"[{neg}{''.join(items_p)}]", f"[{neg}{''.join(items_o)}]"


@st.composite
def shorthand(draw: st.DrawFn) -> tuple[str, str]:
    letter = draw(st.sampled_from("dwsDWS"))
    neg = "^" if letter.isupper() else ""
    return "\\" + letter, f"[{neg}{SHORTHAND[letter.lower()]}]"


ESCAPES = st.sampled_from(
    [("\\x41", "\\x41"), ("\\t", "\\t"), ("\\n", "\\n"), ("\\0", "\\0"), ("\\x2e", "\\x2e"),
     ("\\u212a", "\\u212a"), ("\\101", "\\101")]
)
LEAVES = st.one_of(
    st.sampled_from(PATTERN_CHARS).map(_lit),
    st.just((".", ".")),
    char_class(),
    shorthand(),
    ESCAPES,
)
QUANTIFIERS = st.sampled_from(["*", "+", "?", "{2}", "{1,}", "{0,2}", "{,2}", "{,}", "{1,3}"])
GROUP_OPENERS = st.sampled_from(["(", "(?:", "(?i:", "(?-i:", "(?s:", "(?is:", "(?i-s:"])


def _join(parts: list[tuple[str, str]]) -> tuple[str, str]:
    return "".join(p for p, _ in parts), "".join(o for _, o in parts)


def sequences(atom: st.SearchStrategy[tuple[str, str]]) -> st.SearchStrategy[tuple[str, str]]:
    quantified = st.tuples(atom, st.one_of(st.just(""), QUANTIFIERS), st.sampled_from(["", "?"]))
    item = quantified.map(lambda t: (t[0][0] + t[1] + (t[2] if t[1] else ""),
                                     t[0][1] + t[1] + (t[2] if t[1] else "")))
    return st.lists(item, max_size=4).map(_join)


def _group(opener: str, branches: list[tuple[str, str]]) -> tuple[str, str]:
    return (opener + "|".join(p for p, _ in branches) + ")",
            opener + "|".join(o for _, o in branches) + ")")


ATOMS = st.recursive(
    LEAVES,
    lambda inner: st.builds(_group, GROUP_OPENERS, st.lists(sequences(inner), min_size=1,
                                                             max_size=3)),
    max_leaves=6,
)


@st.composite
def patterns(draw: st.DrawFn) -> tuple[str, str, str]:
    """(pcre, oracle, sigma flags): the pattern, its ASCII-shorthand spelling, |i|s|m letters."""
    flags = "".join(f for f in "ism" if draw(st.booleans()))
    branches = []
    for _ in range(draw(st.integers(1, 2))):
        body = draw(sequences(ATOMS))
        start = draw(st.sampled_from(["", "\\A"] + ([] if "m" in flags else ["^"])))
        end = draw(st.sampled_from(["", "\\Z"] + ([] if "m" in flags else ["$"])))
        branches.append((start + body[0] + end, start + body[1] + end))
    lead = draw(st.sampled_from(["", "", "(?i)", "(?s)", "(?a)", "(?ai)", "(?i)(?s)"]))
    pcre, oracle = _join(branches[:1])
    for p, o in branches[1:]:
        pcre, oracle = pcre + "|" + p, oracle + "|" + o
    return lead + pcre, lead + oracle, flags


def _oracle_flags(flags: str) -> int:
    bits = regex.V0
    for letter, bit in (("i", regex.IGNORECASE), ("s", regex.DOTALL), ("m", regex.MULTILINE)):
        if letter in flags:
            bits |= bit
    return bits


@lru_cache(maxsize=4096)
def _oracle(oracle: str, flags: str) -> regex.Pattern[str] | None:
    try:
        compiled = re.compile(oracle)  # the reference validates with re before running regex
    except re.error:
        return None
    if scoped_case_in_alternation(compiled):
        return None  # regex misreads it, so the reference refuses it (engine_gaps.py)
    return regex.compile(oracle, _oracle_flags(flags))


def _subjects(draw: st.DrawFn, pattern: str, alphabet: str) -> list[str]:
    # Strings built from the pattern's own characters hit its matches far more often.
    chars = "".join(sorted(set(pattern) & set(alphabet))) or alphabet
    own = st.text(alphabet=chars, max_size=8)
    anything = st.text(alphabet=alphabet, max_size=8)
    return draw(st.lists(st.one_of(own, anything), min_size=4, max_size=8))


# --- the direct proof ----------------------------------------------------------------------------


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=patterns(), data=st.data())
def test_translation_matches_search(case: tuple[str, str, str], data: st.DataObject) -> None:
    pcre, oracle_text, flags = case
    oracle = _oracle(oracle_text, flags)
    assume(oracle is not None)  # Python rejects it (e.g. min > max) or regex misreads it: refused
    translation = translate_pcre(pcre, "i" in flags, "m" in flags, "s" in flags)
    sensitive = lucene_regex(translation.pattern, case_sensitive=True)
    insensitive = (
        lucene_regex(translation.insensitive, case_sensitive=False)
        if translation.insensitive is not None else None
    )
    for subject in _subjects(data.draw, pcre, SUBJECT_CHARS) + ["", "K\u212a\u017f\u0130"]:
        expected = oracle.search(subject) is not None
        assert (sensitive.fullmatch(subject) is not None) == expected, (pcre, translation.pattern, subject)
        if insensitive is not None:
            assert (insensitive.fullmatch(subject) is not None) == expected, (
                pcre, translation.insensitive, subject)


#: The characters a cased copy swaps (``backends.query.ingest.COPY_SWAP``) and their symbols.
SWAPPED_CHARS = " \t\n\r\u3000*\u2420\u2409\u240a\u240d\u2423\u2217"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=patterns(), data=st.data())
def test_translation_through_a_copy_swap_matches_the_swapped_value(
    case: tuple[str, str, str], data: st.DataObject
) -> None:
    """On a cased copy (``sigport.cased.<field>``) each value is held with whitespace and ``*``
    swapped with visible symbols (``cased_encode``): the pattern translated through the swap
    matches the swapped value exactly where the Sigma regex finds a match in the value, in both
    forms (the characters and their symbols in the subjects on purpose)."""
    from backends.query.ingest import SWAP_BOTH, cased_encode

    pcre, oracle_text, flags = case
    oracle = _oracle(oracle_text, flags)
    assume(oracle is not None)
    translation = translate_pcre(pcre, "i" in flags, "m" in flags, "s" in flags, swap=SWAP_BOTH)
    forms = [lucene_regex(translation.pattern, case_sensitive=True)]
    if translation.insensitive is not None:
        forms.append(lucene_regex(translation.insensitive, case_sensitive=False))
    for subject in _subjects(data.draw, pcre, SUBJECT_CHARS + SWAPPED_CHARS) + [" *\n", "\u2420"]:
        expected = oracle.search(subject) is not None
        for form in forms:
            assert (form.fullmatch(cased_encode(subject)) is not None) == expected, (
                pcre, translation, subject)


def test_a_copy_swap_maps_every_character_set() -> None:
    from backends.query.ingest import SWAP_BOTH

    assert translate_pcre(r"a b\*c$", swap=SWAP_BOTH).pattern == ".*a\u2420b\u2217c(\u240a)?"
    assert translate_pcre("[^ ]x.", swap=SWAP_BOTH).pattern == ".*[^\u2420]x[^\u240a].*"


def test_generator_reaches_the_engine_form() -> None:
    # Guard against a vacuous pass: the regex~ form exists for ordinary case-insensitive input.
    assert translate_pcre("(?i)ab[c-e]+").insensitive == ".*ab[C-Ec-e]+.*"
    assert translate_pcre("(?i)a[^b]").insensitive is None  # negated class with letters
    assert translate_pcre("ab").insensitive is None  # nothing to fold


@pytest.mark.parametrize(
    ("pattern", "flags", "yes", "no"),
    [
        ("(?i)k", "", ["k", "K", "\u212a"], ["x"]),
        ("(?i)[^k]", "", ["x"], ["k", "K", "\u212a"]),
        ("(?ai)k", "", ["k", "K"], ["\u212a"]),
        ("(?i)\\W", "", ["-"], ["a", "\u212a", "\u0131"]),
        ("a+?b", "", ["aab"], ["b"]),
        ("^a$", "", ["a", "a\n"], ["a\n\n", "ba"]),
        ("\\Aa\\Z", "", ["a"], ["a\n"]),
        ("x{,2}y", "", ["y"], [""]),
        ("x(|a)y", "", ["xy", "xay"], ["xby"]),
        ("a.b", "s", ["a\nb"], ["ab"]),
        ("(?i)\\s(-u|--user)\\s*:", "", [" -u:", "x --USER :", " --u\u017fer\t:"], [" -u", "-u:"]),
        # A range starting at the backslash ([\\-z] in Lucene is three characters, not a range).
        ("[^0-?A-\\[\\d]", "", ["x", "\\", "\u017f"], ["5", "B", "["]),
        ("[\\\\-z]", "", ["x", "\\", "]"], ["-", "A"]),
    ],
)
def test_known_cases(pattern: str, flags: str, yes: list[str], no: list[str]) -> None:
    translation = translate_pcre(pattern, "i" in flags, "m" in flags, "s" in flags)
    compiled = lucene_regex(translation.pattern)
    oracle = _oracle(pattern, flags)
    assert oracle is not None
    for subject in yes + no:
        assert (compiled.fullmatch(subject) is not None) == (subject in yes), (subject, translation)
        assert (oracle.search(subject) is not None) == (subject in yes), subject


# --- the end-to-end proof ------------------------------------------------------------------------


@lru_cache(maxsize=1)
def checker() -> Checker:
    return Checker(["eql", "lucene"])


def _rule(pattern: str, flags: str) -> str:
    key = "CommandLine|re" + "".join("|" + f for f in flags)
    selection = yaml.safe_dump({key: pattern}, allow_unicode=True, width=2**31)
    body = "".join("    " + line + "\n" for line in selection.splitlines())
    return (
        "title: Regex probe\nid: 5f0c3c7e-2222-4a1a-9a9a-000000000042\n"
        "logsource:\n  category: process_creation\n  product: windows\n"
        f"detection:\n  sel:\n{body}  condition: sel\n"
    )


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(case=patterns(), data=st.data())
def test_end_to_end_through_the_checker(case: tuple[str, str, str], data: st.DataObject) -> None:
    pcre, oracle_text, flags = case
    assume(_oracle(oracle_text, flags) is not None)
    text = _rule(pcre, flags)
    sel = yaml.safe_load(text)["detection"]["sel"]
    assume(list(sel.values()) == [pcre])  # YAML normalises some line breaks
    # The reference runs Unicode \d \w \s (the documented gap): compare on ASCII values there.
    alphabet = ASCII_SUBJECT if re.search(r"\\[dwsDWS]", pcre) else SUBJECT_CHARS
    values = _subjects(data.draw, pcre, alphabet)
    loaded = load_text(text, "probe.yml")[0]
    assume(loaded.error is None)
    events = [
        SampleEvent({"EventID": 1, "Channel": SYSMON, "Image": "C:\\x.exe", "CommandLine": v},
                    None, None, f"re:{i}", None)
        for i, v in enumerate(values)
    ]
    result = checker().check(loaded, events)
    assume(result.reference_unsupported is None)
    for name, target in result.targets.items():
        assert target.query is not None, (name, pcre, target.reason)
        # Subjects none of which the pattern matches prove nothing (and show no disagreement).
        proven = target.equivalent is True or (
            not result.reference_matched
            and target.reason == "not proven: no event here is one the rule matches")
        assert proven and not target.disagreements, (
            name, pcre, target.query, [d.to_json() for d in target.disagreements])
