"""Tests of converter/generate/generator.py: events generated from a rule's detection.

Every generated event's ``expect`` must be the reference verdict; positives and near misses must
both appear for each modifier and condition shape; the output is deterministic for a seed. The
corpus test runs over SigmaHQ's windows/process_creation rules and skips without ../shared/corpus.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from converter.checking.checker import Checker
from converter.events.render import SampleEvent
from converter.generate.generator import DEFAULT_COUNT, RegexUnsupported, generate_events, regex_example
from converter.reference.logsources import SYSMON
from converter.reference.evaluator import compile_rule
from converter.rules.load import load_rules, load_text

ROOT = Path(__file__).resolve().parents[3]
CORPUS = ROOT.parent / "shared" / "corpus" / "sigmahq" / "rules" / "windows" / "process_creation"


def rule_of(detection: str, logsource: str = "{product: windows, category: process_creation}"):
    """A pySigma rule from an inline detection block (indented two spaces under detection:)."""
    text = (
        "title: generated\nid: 5f0c4a52-8a7e-4a4b-9a53-0d6c2d2d7a11\n"
        f"logsource: {logsource}\ndetection:\n{detection}"
    )
    loaded = load_text(text, "inline.yml")[0]
    assert loaded.rule is not None, loaded.error
    return loaded.rule


def positives(events: list[SampleEvent]) -> list[SampleEvent]:
    """Events meant as positives that the reference confirms."""
    return [e for e in events
            if e.note.startswith("positive") and e.expect and "[reference" not in e.note]


def near_misses(events: list[SampleEvent]) -> list[SampleEvent]:
    """Events meant as near misses that the reference confirms."""
    return [e for e in events if e.note.startswith("near miss") and e.expect is False
            and "[reference" not in e.note]


def assert_reference_verdicts(rule, events: list[SampleEvent]) -> None:
    """Every expect is the reference verdict, and every note flags a disagreeing intention."""
    compiled = compile_rule(rule)
    for event in events:
        verdict = compiled.evaluate(event.fields)
        assert verdict.unsupported is None
        assert event.expect is verdict.matched, event.note
        intended = event.note.startswith("positive")
        assert (intended == verdict.matched) == ("[reference" not in event.note), event.note


INLINE = {
    "contains": "  sel:\n    CommandLine|contains: ' -enc '\n  condition: sel\n",
    "startswith": "  sel:\n    Image|startswith: 'C:\\Temp\\'\n  condition: sel\n",
    "endswith": "  sel:\n    Image|endswith: '\\cmd.exe'\n  condition: sel\n",
    "exact_list": "  sel:\n    OriginalFileName: ['Cmd.Exe', 'PowerShell.EXE']\n  condition: sel\n",
    "all": "  sel:\n    CommandLine|contains|all: ['-nop', '-w hidden']\n  condition: sel\n",
    "re": "  sel:\n    CommandLine|re: '\\s-e(nc?)?\\s+[A-Za-z0-9+/]{8,}'\n  condition: sel\n",
    "windash": "  sel:\n    CommandLine|windash|contains: '-decode'\n  condition: sel\n",
    "cidr": "  sel:\n    DestinationIp|cidr: '10.0.0.0/8'\n  condition: sel\n",
    "null": "  sel:\n    Image|endswith: '\\x.exe'\n    ParentImage: null\n  condition: sel\n",
    "exists": ("  sel:\n    Image|endswith: '\\x.exe'\n    ParentUser|exists: true\n"
               "  condition: sel\n"),
    "cased": "  sel:\n    CommandLine|cased|contains: 'AbC'\n  condition: sel\n",
    "neq": ("  sel:\n    Image|endswith: '\\x.exe'\n    IntegrityLevel|neq: 'System'\n"
            "  condition: sel\n"),
    "gt": "  sel:\n    ProcessId|gt: 1000\n  condition: sel\n",
    "fieldref": "  sel:\n    Image|fieldref: ParentImage\n  condition: sel\n",
    "keywords": "  keywords:\n    - 'mimikatz'\n    - 'sekurlsa::*'\n  condition: keywords\n",
    "one_of": ("  sel_a:\n    Image|endswith: '\\a.exe'\n"
               "  sel_b:\n    CommandLine|contains: 'bee'\n"
               "  condition: 1 of sel_*\n"),
    "all_of": ("  sel_a:\n    Image|endswith: '\\a.exe'\n"
               "  sel_b:\n    CommandLine|contains: 'bee'\n"
               "  condition: all of sel_*\n"),
    "filters": ("  sel:\n    Image|endswith: '\\rundll32.exe'\n  filter_main:\n"
                "    CommandLine|contains: 'shell32.dll'\n  filter_optional:\n"
                "    ParentImage|startswith: 'C:\\Windows\\'\n"
                "  condition: sel and not 1 of filter_*\n"),
}


@pytest.mark.parametrize("name", sorted(INLINE))
def test_inline_rule_has_positive_and_near_miss(name: str) -> None:
    rule = rule_of(INLINE[name])
    events = generate_events(rule)
    assert positives(events), [e.note for e in events]
    assert near_misses(events), [e.note for e in events]
    assert_reference_verdicts(rule, events)
    for event in events:  # every event carries its logsource's identity
        assert {"EventID", "Channel"} <= set(event.fields) or "wrong logsource" in event.note


def test_keywords_outside_process_creation() -> None:
    rule = rule_of(INLINE["keywords"], "{product: windows, service: system}")
    events = generate_events(rule)
    assert positives(events) and near_misses(events)
    assert all(e.fields.get("Channel") == "System" for e in events if "logsource" not in e.note)


def test_deterministic_for_a_seed() -> None:
    rule = rule_of(INLINE["filters"])
    first = [(e.fields, e.expect, e.note) for e in generate_events(rule, seed=7)]
    again = [(e.fields, e.expect, e.note) for e in generate_events(rule, seed=7)]
    other = [(e.fields, e.expect, e.note) for e in generate_events(rule, seed=8)]
    assert first == again
    assert first != other  # the seed drives the wildcard fillers


def test_count_keeps_the_most_informative_first() -> None:
    rule = rule_of(INLINE["exact_list"])
    two = generate_events(rule, count=2)
    assert [e.expect for e in two] == [True, False]
    assert len(generate_events(rule, count=5)) == 5
    assert generate_events(rule, count=0) == []
    names = ", ".join(f"'\\tool{i}.exe'" for i in range(30))
    larger = rule_of(f"  sel:\n    Image|endswith: [{names}]\n  condition: sel\n")
    default = generate_events(larger)
    assert len(default) < len(generate_events(larger, count=200))
    # The long positives (one per value here) come on top of the count, at most as many again.
    ordinary = [e for e in default if "long positive" not in e.note]
    assert len(ordinary) == DEFAULT_COUNT and len(default) == DEFAULT_COUNT + 30
    ten = [e for e in generate_events(larger, count=10) if "long positive" not in e.note]
    assert len(ten) == 10 and {e.expect for e in ten} == {True, False}
    assert len(generate_events(larger, count=10)) == 20


def test_case_flips_follow_cased() -> None:
    insensitive = generate_events(rule_of(INLINE["endswith"]), count=200)
    flipped = [e for e in insensitive if "case flipped" in e.note]
    assert flipped and all(e.expect and e.note.startswith("positive") for e in flipped)
    cased = generate_events(rule_of(INLINE["cased"]), count=200)
    flipped = [e for e in cased if "case flipped" in e.note]
    assert flipped and all(not e.expect and e.note.startswith("near miss") for e in flipped)


def test_endswith_boundaries() -> None:
    events = generate_events(rule_of(INLINE["endswith"]), count=200)
    images = {e.fields.get("Image"): e.expect for e in events}
    assert any(i and i.endswith("\\cmd.exe.mui") and v is False for i, v in images.items())
    assert any(i and i.endswith("ycmd.exe") and v is False for i, v in images.items())
    assert any(i and i.endswith("\\cmd.ex") and v is False for i, v in images.items())
    removed = [e for e in events if e.note == "near miss: Image removed"]
    assert removed and "Image" not in removed[0].fields and removed[0].expect is False


def test_windash_variants_are_each_a_positive() -> None:
    events = generate_events(rule_of(INLINE["windash"]), count=200)
    lines = " ".join(e.fields.get("CommandLine", "") for e in positives(events))
    for dash in ("-", "/", "\u2013", "\u2014", "\u2015"):
        assert dash + "decode" in lines


def test_cidr_inside_and_outside() -> None:
    rule = rule_of(INLINE["cidr"], "{product: windows, category: network_connection}")
    events = [e for e in generate_events(rule) if "logsource" not in e.note]
    addresses = {e.fields.get("DestinationIp"): e.expect for e in events}
    assert addresses.get("10.0.0.1") is True
    assert addresses.get("11.0.0.0") is False


def test_null_and_exists_edges() -> None:
    null = generate_events(rule_of(INLINE["null"]), count=200)
    assert any(e.expect and e.fields.get("ParentImage", 0) is None for e in null)  # JSON null
    assert any(not e.expect and e.fields.get("ParentImage") == "" for e in null)
    assert any(e.expect and "ParentImage" not in e.fields for e in null)
    exists = generate_events(rule_of(INLINE["exists"]), count=200)
    assert any(e.expect and e.fields.get("ParentUser", 0) is None for e in exists)
    assert any(not e.expect and "ParentUser" not in e.fields for e in exists)


def test_filters_are_triggered_and_omitted() -> None:
    events = generate_events(rule_of(INLINE["filters"]), count=200)
    triggered = [e for e in events if "triggered" in e.note]
    assert {"filter_main", "filter_optional"} <= {e.note.split()[2] for e in triggered}
    assert all(e.expect is False for e in triggered)
    # A positive with the filtered fields left out, and one with them present but not matching.
    good = positives(events)
    assert any("CommandLine" not in e.fields for e in good)
    assert any("shell32" not in e.fields.get("CommandLine", "shell32") for e in good)


def test_logsources() -> None:
    events = generate_events(rule_of(INLINE["endswith"]), count=200)
    kinds = {(e.fields.get("EventID"), e.fields.get("Channel")) for e in events}
    assert (1, "Microsoft-Windows-Sysmon/Operational") in kinds and (4688, "Security") in kinds
    moved = [e for e in events if e.note == "near miss: wrong logsource"]
    assert moved and all(e.expect is False for e in moved)
    # Linux process creation: Sysmon for Linux records (converter/reference/logsources.py), never a
    # Windows channel; a logsource without a membership rule yields no events.
    linux = rule_of(INLINE["endswith"], "{product: linux, category: process_creation}")
    linux_kinds = {(e.fields.get("EventID"), e.fields.get("Channel")) for e in generate_events(linux)}
    assert (1, "Linux-Sysmon/Operational") in linux_kinds
    assert all(ch in ("Linux-Sysmon/Operational", SYSMON) for _, ch in linux_kinds)
    canary = rule_of(INLINE["endswith"], "{product: opencanary, category: application}")
    assert {e.fields.get("Channel") for e in generate_events(canary) if e.expect} == {"opencanary/application"}
    untabled = rule_of(INLINE["endswith"], "{product: no_such_product, category: application}")
    assert generate_events(untabled) == []


def test_companions_do_not_change_verdicts() -> None:
    rule = rule_of(INLINE["contains"])
    events = generate_events(rule)
    first = positives(events)[0]
    assert {"Image", "User", "ParentImage"} <= set(first.fields)
    assert_reference_verdicts(rule, events)


@pytest.mark.parametrize("pattern", [
    r"\s-e(nc?)?\s+[A-Za-z0-9+/]{8,}", r"^C:\\Windows\\(System32|SysWOW64)\\[a-z]+\.exe$",
    r"(?i)invoke-(expression|webrequest)", r"[^\\]+\.dll,#\d{1,3}",
    r"\{[0-9a-f]{8}(-[0-9a-f]{4}){3}\}",
    r"(?:a|b)*?c{2,3}\x41\u00e9", r"(?P<n>ab)+[\]x-]",
])
def test_regex_example_matches(pattern: str) -> None:
    for seed in range(5):
        example = regex_example(pattern, 0, random.Random(seed))
        assert re.search(pattern, example), (pattern, example)


@pytest.mark.parametrize("pattern", [r"foo(?=bar)", r"(?<!x)y", r"(a)\1"])
def test_regex_example_refuses_what_it_does_not_model(pattern: str) -> None:
    with pytest.raises(RegexUnsupported):
        regex_example(pattern, 0, random.Random(0))


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus (../shared/corpus) is absent")
def test_corpus_process_creation_rules() -> None:
    loaded = [item for item in load_rules([CORPUS]) if item.rule is not None]
    covered = 0
    for item in loaded:
        events = generate_events(item.rule)
        if any(e.expect for e in events) and any(e.expect is False for e in events):
            covered += 1
    share = covered / len(loaded)
    print(f"\n{covered}/{len(loaded)} rules ({share:.1%}) with a positive and a negative")
    assert share >= 0.95


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus (../shared/corpus) is absent")
def test_checker_runs_on_generated_events() -> None:
    """A smoke test of the lead's wiring: generated events go through the checker unchanged."""
    path = CORPUS / "proc_creation_win_cmd_del_execution.yml"
    loaded = load_rules([path])[0]
    events = generate_events(loaded.rule)
    result = Checker().check(loaded, events)
    assert not result.expectation_failures
    assert result.targets and all(t.query for t in result.targets.values())


def test_empty_string_value_has_near_misses() -> None:
    """An empty Sigma string (SigmaHQ's create_remote_thread rules test ``StartModule: ''``)
    gives positives with the empty value and near misses with a non-empty one (the mutations of
    an empty glob once indexed its first part and raised IndexError)."""
    rule = rule_of("  sel:\n    TargetImage|endswith: '\\lsass.exe'\n    StartModule: ''\n"
                   "  condition: sel\n", "{product: windows, category: create_remote_thread}")
    events = generate_events(rule, count=200)
    assert_reference_verdicts(rule, events)
    assert any(e.fields.get("StartModule") == "" for e in positives(events))
    assert any(e.fields.get("StartModule") not in (None, "") for e in near_misses(events))


def test_letters_are_glued_to_contains_values_but_never_into_a_hash_list() -> None:
    """'*rundll32*' gets a still-matching 'qrundll32q'; Sysmon's Hashes ("MD5=<hex>,...") keeps
    its structure (a glued letter would make a digest no shipper writes)."""
    rule = rule_of("  sel:\n    CommandLine|contains: rundll32\n    Hashes|contains: 'MD5=AB12'\n"
                   "  condition: sel")
    events = generate_events(rule)
    glued = [e for e in events if "qrundll32q" in e.fields.get("CommandLine", "").lower()]
    assert glued and all(e.expect for e in glued)
    assert not any(re.search(r"[A-Za-z]MD5=|AB12[A-Za-z]", e.fields.get("Hashes", ""), re.I)
                   for e in events)


def test_hash_lists_get_no_case_partners_or_newlines() -> None:
    """Sysmon's Hashes is ASCII 'ALG=HEX,...' on one line: an 'İMPHASH=' or a trailing newline is
    a record no shipper parses, so the hostile near misses leave Hashes / Hash alone (they made
    the EQL hash rules differ on such events)."""
    rule = rule_of("  sel:\n    Hashes|contains: 'IMPHASH=F26D0B110873A1C7D8C4F08FBEAB89C5'\n"
                   "  condition: sel\n")
    values = [e.fields["Hashes"] for e in generate_events(rule) if "Hashes" in e.fields]
    assert values
    assert all(v.isascii() and "\n" not in v and "\r" not in v for v in values), values


REGISTRY_EVENT = "{product: windows, category: registry_event}"


def test_registry_records_carry_what_sysmon_writes_for_their_id() -> None:
    """A plan testing Details (positively, or through a negated null that writes it) makes a
    Sysmon 13 record, never a 12 record holding Details; every record has its id's EventType."""
    rule = rule_of(
        "  s: {TargetObject|endswith: '\\\\Run\\\\x'}\n  f: {Details|contains: 'ok'}\n"
        "  n: {Details: null}\n  condition: s and not f and not n\n",
        REGISTRY_EVENT,
    )
    events = generate_events(rule)
    assert_reference_verdicts(rule, events)
    registry = [e.fields for e in events
                if e.fields.get("Channel") == SYSMON and e.fields.get("EventID") in (12, 13, 14)]
    assert any("Details" in f for f in registry)
    for fields in registry:
        assert not ("Details" in fields and fields["EventID"] == 12), fields
        assert fields.get("EventType") == {12: "CreateKey", 13: "SetValue"}[fields["EventID"]], fields


def test_registry_event_type_near_misses_are_other_words_of_the_list() -> None:
    """Sysmon writes EventType in one spelling: its near misses are the other words, never a
    case flip, case partner, padding or newline."""
    rule = rule_of("  s: {EventType: DeleteValue, TargetObject|endswith: '\\\\MRU'}\n  condition: s\n",
                   "{product: windows, category: registry_delete}")
    events = generate_events(rule)
    assert_reference_verdicts(rule, events)
    words = {"CreateKey", "DeleteKey", "DeleteValue", "SetValue", "RenameKey"}
    seen = {e.fields.get("EventType") for e in events
            if e.fields.get("Channel") == SYSMON and e.fields.get("EventID") == 12}
    assert seen - {None} <= words and len(seen) > 2, seen  # None: the "removed" near miss
