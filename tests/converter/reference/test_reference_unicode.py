"""The reference's case folding beyond ASCII (issue 11): Sigma's case-insensitivity is each code
point's Unicode simple lowercase ("string_case"), so ``?`` stays one character."""

from __future__ import annotations

import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from test_reference import hits

from converter.reference.fields import fold
from converter.reference.semantics import SIGMA_SEMANTICS


def simple_lower(char: str) -> str:
    """One code point's Unicode simple lowercase (UnicodeData.txt field 13), as Java's
    ``Character.toLowerCase(int)`` returns it: U+0130 is the only code point whose Python
    ``str.lower`` is not a single character (checked below)."""
    return "i" if char == "\u0130" else char.lower()


def test_only_capital_i_with_dot_lowers_to_two_characters() -> None:
    longer = [hex(c) for c in range(sys.maxunicode + 1) if len(chr(c).lower()) != 1]
    assert longer == ["0x130"]


def test_fold_is_the_simple_lowercase_of_every_code_point() -> None:
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        assert fold(char) == simple_lower(char), hex(code)


@settings(max_examples=400)
@given(st.text(alphabet=st.sampled_from("aAΣσςİIiı KkK\u212aẞß é É Ａａ ſs.") | st.characters(),
               max_size=12))
def test_fold_maps_code_points_one_by_one(text: str) -> None:
    """No context: a final capital sigma folds to σ as any other (Python's ``str.lower`` gives
    ς there), and the length never changes."""
    assert fold(text) == "".join(map(simple_lower, text))
    assert len(fold(text)) == len(text)


def test_question_mark_after_capital_i_with_dot() -> None:
    """Python's 'İ'.lower() is two characters; '?' is one character under Sigma's folding."""
    det = "sel:\n  CommandLine: 'ab?d'\ncondition: sel"
    assert hits(det, {"CommandLine": "abİd"}, {"CommandLine": "ABİD"}) == [True, True]
    assert hits("sel:\n  CommandLine: 'Fİ?E'\ncondition: sel", {"CommandLine": "fiXe"}) == [True]


@pytest.mark.parametrize(
    ("value", "event", "expected"),
    [
        ("İ", "i", True), ("i", "İ", True), ("I", "İ", True),  # İ's simple lowercase is i
        ("i", "ı", False), ("I", "ı", False),  # dotless ı is its own lowercase
        ("k", "\u212a", True),  # Kelvin sign K lowers to k
        ("ß", "ẞ", True), ("ẞ", "ß", True),
        ("σ", "Σ", True), ("Σ", "σ", True), ("ΟΔΟΣ", "οδοσ", True),  # no final-sigma rule
        ("ς", "σ", False), ("ΟΔΟΣ", "οδος", False),
        ("s", "ſ", False), ("S", "ſ", False),  # long s lowers to itself
        ("É", "é", True), ("café", "CAFÉ", True),
        ("Ａ", "ａ", True), ("a", "Ａ", False), ("A", "ａ", False),  # fullwidth stays fullwidth
    ],
)
def test_case_partners(value: str, event: str, expected: bool) -> None:
    for modifier, wrap in (("", "{}"), ("|contains", "x{}x"), ("|startswith", "{}x"),
                           ("|endswith", "x{}")):
        det = f"sel:\n  CommandLine{modifier}: '{value}'\ncondition: sel"
        assert hits(det, {"CommandLine": wrap.format(event)}) == [expected], (modifier, value)
    # A wildcard pattern, a value list, windash and a keyword fold the same way.
    assert hits(f"sel:\n  CommandLine: '*{value}?'\ncondition: sel",
                {"CommandLine": f"-{event}!"}) == [expected]
    assert hits(f"sel:\n  CommandLine:\n    - 'zz'\n    - '{value}'\ncondition: sel",
                {"CommandLine": event}) == [expected]
    assert hits(f"sel:\n  CommandLine|windash|contains: '-{value}'\ncondition: sel",
                {"CommandLine": f"/{event}"}) == [expected]
    assert hits(f"keywords:\n  - '<{value}>'\ncondition: keywords", {"Message": f"x <{event}> x"},
                logsource="product: windows") == [expected]


def test_fieldref_folds_the_same_way() -> None:
    det = "sel:\n  Image|fieldref: ParentImage\ncondition: sel"
    assert hits(det, {"Image": "FİLE", "ParentImage": "file"},
                {"Image": "ΟΔΟΣ", "ParentImage": "οδοσ"},
                {"Image": "ſ", "ParentImage": "s"}) == [True, True, False]


def test_string_case_entry_names_the_folding() -> None:
    fact = SIGMA_SEMANTICS["string_case"]
    assert "simple lowercase" in str(fact.value)
    assert "Character.html#toLowerCase(int)" in fact.note
    assert "UnicodeData" in fact.note


DOTTED_RULE = """
title: dotted capital I
id: 4e5f6a7b-0000-4000-8000-0000000000{n:02d}
logsource: {{category: process_creation, product: windows}}
detection:
  sel:
    {detection}
  condition: sel
"""


@pytest.mark.parametrize("detection", [
    "CommandLine|contains: '\u0130stanbul'",
    "Image|endswith: '\\\\F\u0130LE.EXE'",
    "CommandLine: 'ab?d'",
])
def test_values_with_dotted_capital_i_convert_and_prove_on_generated_events(detection: str) -> None:
    # The interim refusal of U+0130 is gone: the reference folds it to 'i' per code point, and
    # the generated near misses (İ, ı, the Kelvin sign, fullwidth letters, İ filling a '?')
    # show every target's letter classes right, or the target's declared differences.
    from backends.common import is_limit_warning
    from helpers import proven_but_for_length_limits

    from converter.checking.checker import Checker
    from converter.generate.generator import generate_events
    from converter.rules.load import load_text

    (loaded,) = load_text(DOTTED_RULE.format(n=len(detection), detection=detection), "i.yml")
    events = generate_events(loaded.rule, seed=0)
    assert any("\u0130" in str(e.fields) for e in events)
    targets = ["eql", "kql", "lucene", "splunk", "splunk-cim", "kusto"]
    result = Checker(targets).check(loaded, events)
    for name, outcome in result.targets.items():
        if name in ("eql", "lucene", "splunk"):
            assert outcome.query is not None, (name, outcome.reason)
        # Never a silent mismatch: proven, refused with the reason, differing only on a value
        # past a field's length limit, or differing where its emitter declared it (KQL's '?').
        declared = [w for w in outcome.warnings if not is_limit_warning(w)]
        assert outcome.equivalent is not False or proven_but_for_length_limits(outcome) or (
            declared and "?" in detection), (
            name, outcome.reason, [d.why[:200] for d in outcome.disagreements])
