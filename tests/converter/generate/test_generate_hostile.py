"""Tests of converter/generate_hostile.py: the generated near misses that find issue 11's bugs
by themselves (case partners beyond ASCII, values past every field limit, trailing newlines,
number-like text), each labelled with the reference verdict; and a corpus sample in which every
class appears (skips without ../shared/corpus)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from test_generate import assert_reference_verdicts, rule_of

from backends.query.fields import FieldModel
from converter.generate.generator import generate_events
from converter.generate.hostile import hostile_mutations, long_value_length
from converter.generate.plan import MULTI, Glob, Lit
from converter.rules.load import load_rules

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT.parent / "shared" / "corpus" / "sigmahq" / "rules" / "windows"

#: The note prefix of each class (``converter.generate`` puts the mutation's description there).
CLASSES = {
    "case partner": "partner ",
    "long value": "long value past every field limit",
    "trailing \\n": "trailing \\n",
    "trailing \\r\\n": "trailing \\r\\n",
}


def mutations(parts: tuple, cased: bool = False) -> dict[str, bool]:
    lit = Lit("CommandLine", Glob(parts, cased), True)
    return {what: keep for _, keep, what in hostile_mutations(lit, 9, random.Random(0))}


def test_question_mark_is_filled_with_capital_i_with_dot() -> None:
    """The generated event that finds the reference's old '?' bug: 'ab?d' on 'abİd'."""
    rule = rule_of("  sel:\n    CommandLine: 'ab?d'\n  condition: sel\n")
    events = generate_events(rule, count=200)
    filled = [e for e in events if "fills '?'" in e.note]
    assert filled and {e.fields["CommandLine"] for e in filled} == {"abİd"}
    assert all(e.expect is True for e in filled)
    assert_reference_verdicts(rule, events)


def test_partners_of_i_k_s_and_fullwidth() -> None:
    found = mutations((MULTI, "whoami", MULTI))
    assert found["partner İ (capital I with dot) for 'i'"] is True
    assert found["partner ı (dotless i) for 'i'"] is False
    assert found["partner Ｗ (fullwidth) for 'w'"] is False
    assert mutations(("desk",))["partner K (Kelvin sign) for 'k'"] is True
    assert mutations(("desk",))["partner ſ (long s) for 's'"] is False
    # Under |cased no partner is the same character.
    cased = mutations((MULTI, "Ik", MULTI), cased=True)
    assert not any(keep for what, keep in cased.items() if what.startswith("partner"))


def test_partners_of_non_ascii_letters() -> None:
    found = mutations(("café", MULTI))
    assert found["partner É (other case of é) for 'é'"] is True
    greek = mutations(("οδος",))
    assert greek["partner σ (sigma) for 'ς'"] is False
    assert greek["partner Σ (capital sigma) for 'ς'"] is False
    assert mutations(("σ",))["partner Σ (capital sigma) for 'σ'"] is True
    assert mutations(("ß",))["partner ẞ (capital sharp s) for 'ß'"] is True


@pytest.mark.parametrize(("literal", "partner", "same"), [
    ("μs", "\u00b5", False),  # micro sign: Greek mu under case folding and uppercase only
    ("βeta", "\u03d0", False),  # beta symbol: beta under case folding and uppercase only
    ("θ", "\u03f4", True),  # capital theta symbol: lowercases to theta, as Sigma folds
    ("\u00b5", "\u03bc", False),  # and back: mu for a rule's micro sign
])
def test_partners_under_every_modelled_folding(literal: str, partner: str, same: bool) -> None:
    # An emitter that kept such a letter as a caseless literal on an engine that may fold it
    # otherwise (Kusto's candidates, Elasticsearch's case_insensitive) is shown by this event.
    found = {what: keep for what, keep in mutations((MULTI, literal, MULTI)).items()
             if what.startswith(f"partner {partner} ")}
    assert list(found.values()) == [same], mutations((MULTI, literal, MULTI))


def test_long_values_pass_every_known_limit() -> None:
    assert long_value_length() > 1024  # Defend's .caseless sub-fields stop at 1,024
    user = FieldModel.from_dict({"CommandLine": {"type": "keyword", "ignore_above": 50000}})
    assert long_value_length(user) == 50001
    rule = rule_of("  sel:\n    CommandLine|contains: 'whoami'\n  condition: sel\n")
    events = generate_events(rule, count=200, field_model=user)
    long = [e for e in events if "long value" in e.note]
    assert long and all(len(e.fields["CommandLine"]) > 50000 for e in long)
    assert any(e.expect for e in long)  # inside the wildcards: still a match
    exact = rule_of("  sel:\n    Image: 'C:\\x.exe'\n  condition: sel\n")
    assert {e.expect for e in generate_events(exact, count=200) if "long value" in e.note} == {
        False}


def test_a_long_registry_path_still_starts_with_a_hive() -> None:
    """A long TargetObject made from a leading ``*`` starts with a hive, as every value Sysmon
    writes does: a data source that spells the hives differently (Defend) can render it."""
    lit = Lit("TargetObject", Glob((MULTI, "\\Run\\x"), False), True)
    (long,) = [(value, keep) for value, keep, what in hostile_mutations(lit, 30, random.Random(0))
               if what.startswith("long value")]
    text = long[0].value
    assert long[1] is True and text.startswith("HKLM\\") and text.endswith("\\Run\\x")
    assert len(text) > 30
    # Other fields keep the plain padding.
    other = Lit("CommandLine", Glob((MULTI, "x"), False), True)
    assert all(v.value.startswith("xxx") for v, _, what in
               hostile_mutations(other, 30, random.Random(0)) if what.startswith("long value"))


def test_trailing_newlines_after_an_anchored_end_are_near_misses() -> None:
    rule = rule_of("  sel:\n    Image|endswith: '\\cm?.exe'\n  condition: sel\n")
    events = generate_events(rule, count=200)
    trailing = {e.note.split(": ")[-1]: e for e in events if "trailing" in e.note}
    assert trailing["trailing \\n"].fields["Image"].endswith(".exe\n")
    assert trailing["trailing \\n"].expect is False
    assert trailing["trailing \\r\\n"].expect is False
    assert_reference_verdicts(rule, events)
    regex = rule_of("  sel:\n    CommandLine|re: 'who.mi$'\n  condition: sel\n")
    notes = [e.note for e in generate_events(regex, count=200)]
    assert any("trailing \\n after the regex example" in n for n in notes)


def test_caseless_regex_examples_get_case_partners() -> None:
    """A |i regex is proven on the partners engines fold differently, not on ASCII alone:
    before, Kusto's '[kK]' passed check --generate on 'mimikatz' where Sigma matches 'mimiKatz'
    (Kelvin sign). The reference labels each event; a cased regex gets none."""
    rule = rule_of("  sel:\n    CommandLine|re|i: 'mimikatz'\n  condition: sel\n")
    events = generate_events(rule, count=200)
    partners = {e.fields["CommandLine"]: e.expect for e in events
                if "in the regex example" in e.note and e.note.split(": ")[-1].startswith("partner")}
    values = "".join(partners)
    assert "\u0130" in values and "\u212a" in values, partners
    assert all(expect is True for value, expect in partners.items() if "\u212a" in value)
    assert_reference_verdicts(rule, events)
    cased = rule_of("  sel:\n    CommandLine|re: 'mimikatz'\n  condition: sel\n")
    assert not any("in the regex example" in e.note and "partner" in e.note
                   for e in generate_events(cased, count=200))


@pytest.mark.parametrize(
    ("detection", "texts"),
    [
        ("ProcessId|gt: 1000", {"1_001": False, "١٠٠١": False, "inf": False, "nan": False,
                                 "0x3e9": False, " 1001": False, "01001": True, "1001.0": True,
                                 "1000.5": True}),
        ("ProcessId|lt: 1000", {"-inf": False, "0999": True, "9_99": False}),
        ("ProcessId: 4242", {"04242": False, "4242.0": False, "٤٢٤٢": False, "4_242": False,
                             "0x1092": False, " 4242": False}),
    ],
)
def test_number_like_text(detection: str, texts: dict[str, bool]) -> None:
    rule = rule_of(f"  sel:\n    {detection}\n  condition: sel\n")
    events = generate_events(rule, count=200)
    got = {e.fields["ProcessId"]: e.expect for e in events if "numeric-text" in e.note}
    assert {t: got.get(t) for t in texts} == texts
    assert_reference_verdicts(rule, events)


def _sample(folder: Path, step: int) -> list:
    rules = [item.rule for item in load_rules([folder]) if item.rule is not None]
    return rules[::step]


@pytest.mark.skipif(not RULES.is_dir(), reason="shared corpus (../shared/corpus) is absent")
def test_check_generate_exercises_every_class_on_the_corpus() -> None:
    """Over a sample of SigmaHQ process_creation rules, ``check --generate``'s default events
    include each class; number-like text over builtin Security rules (process_creation rules
    test no numbers)."""
    seen: dict[str, int] = dict.fromkeys(CLASSES, 0)
    for rule in _sample(RULES / "process_creation", 25):
        notes = [e.note for e in generate_events(rule)]
        for name, prefix in CLASSES.items():
            seen[name] += any(prefix in n for n in notes)
    rules = _sample(RULES / "process_creation", 25)
    assert all(count >= len(rules) * 9 // 10 for count in seen.values()), seen
    security = _sample(RULES / "builtin" / "security", 10)
    numeric = sum(any("numeric-text" in e.note for e in generate_events(rule))
                  for rule in security)
    assert numeric >= len(security) * 2 // 3, numeric


@pytest.mark.parametrize(("detection", "expect"), [
    ("  sel:\n    CommandLine|contains: 'x'\n  f:\n    Image: null\n  condition: sel and not f\n",
     True),
    ("  sel:\n    CommandLine|contains: 'x'\n    Image: null\n  condition: sel\n", False),
    ("  sel:\n    Image|exists: true\n  condition: sel\n", True),
])
def test_a_long_value_where_null_or_absence_is_tested(detection: str, expect: bool) -> None:
    """An exists query misses a value past a keyword field's ignore_above (``Image: null``
    reads it as absent): a long value where the rule tests null or presence shows it."""
    rule = rule_of(detection)
    events = generate_events(rule, count=200)
    long = [e for e in events if "long value" in e.note and "null or absence" in e.note]
    assert long and all(len(e.fields["Image"]) > 1024 for e in long)
    assert {e.expect for e in long} == {expect}
    assert_reference_verdicts(rule, events)


@pytest.mark.parametrize(("detection", "expect"), [
    # Sigma's modifiers appendix: exists "only verifies the presence of a field, not its value,
    # be it empty or null": a null ParentImage is present.
    ("  sel:\n    CommandLine|contains: 'x'\n    ParentImage|exists: false\n  condition: sel\n",
     False),
    ("  sel:\n    CommandLine|contains: 'x'\n  f:\n    ParentImage|exists: true\n"
     "  condition: sel and not f\n", False),
    ("  sel:\n    CommandLine|contains: 'x'\n  f:\n    ParentImage|exists: false\n"
     "  condition: sel and not f\n", True),
    ("  sel:\n    CommandLine|contains: 'x'\n  f:\n    ParentImage: null\n"
     "  condition: sel and not f\n", False),
])
def test_a_field_present_with_null_where_presence_is_tested(detection: str, expect: bool) -> None:
    """Elasticsearch's exists query and Splunk read a JSON null as no value, Sigma's ``exists`` as
    a present field: every polarity of an exists test gets the null event (only ``exists: true``
    did, so ``exists: false`` was called equivalent on Splunk without it)."""
    rule = rule_of(detection)
    events = generate_events(rule, count=200)
    null = [e for e in events if "ParentImage" in e.fields and e.fields["ParentImage"] is None]
    assert null and {e.expect for e in null} == {expect}, [e.note for e in events]
    assert all("present with a JSON null" in e.note for e in null)
    assert_reference_verdicts(rule, events)
