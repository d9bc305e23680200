"""Tests of the rule index (converter/ruleindex/index.py, literalindex.py, ruleneeds.py).

The index must never change a verdict: with and without it the matched rules are the same, on
hypothesis-built events against hand-written rules covering every kind of literal and modifier,
and on events generated from SigmaHQ rules against every Windows rule (skipped without
``../shared/corpus``). Both matchers (Aho-Corasick and pure Python) and a tiny memo are exercised.
The necessary conditions themselves are checked per modifier, and their selectivity is sane.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sigma.collection import SigmaCollection

from converter.ruleindex.literals import LiteralIndex
from converter.reference.logsources import SYSMON
from converter.reference.evaluator import CompiledRule, compile_rule
from converter.reference.fields import fold
from converter.ruleindex.index import RuleIndex, automaton_available
from converter.ruleindex.needs import _CASELESS_UNSAFE, ANY_FIELD, Alt, regex_literals

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus" / "sigmahq" / "rules"
PROC = "{product: windows, category: process_creation}"
#: Index options covering each matcher: ``in`` one by one, 3-gram buckets, the automaton (on
#: every field, not only those with many literals), and the defaults.
MATCHERS = [
    pytest.param({"automaton": False}, id="scan"),
    pytest.param({"automaton": False, "scan_limit": 0}, id="grams"),
    pytest.param({}, id="default"),
] + ([pytest.param({"automaton": True, "scan_limit": 0}, id="aho-corasick")]
     if automaton_available() else [])


def compiled(detection: str, logsource: str = PROC, title: str = "t") -> CompiledRule:
    """Compile a rule from an inline ``detection:`` body."""
    text = (f"title: {title}\nlogsource: {logsource}\ndetection:\n"
            + textwrap.indent(textwrap.dedent(detection).strip("\n"), "  ") + "\n")
    rule = compile_rule(SigmaCollection.from_yaml(text).rules[0])
    assert rule.unsupported is None, rule.unsupported
    return rule


def condition(detection: str, logsource: str = PROC) -> Any:
    """The necessary condition the index files a one-rule set under."""
    return RuleIndex.build([compiled(detection, logsource)]).conditions[0]


def brute(rules: list[CompiledRule], event: dict[str, Any]) -> list[int]:
    """Positions of the matching rules, evaluating every rule."""
    return [i for i, r in enumerate(rules) if r.evaluate(event).matched is True]


# --- hand-written rules: one per kind of literal and modifier ---------------------------------

DETECTIONS: dict[str, tuple[str, str]] = {
    "equals": ("sel: {Image: 'C:\\Windows\\System32\\cmd.exe'}\ncondition: sel", PROC),
    "endswith": ("sel: {Image|endswith: ['\\cmd.exe', '\\whoami.exe']}\ncondition: sel", PROC),
    "startswith": ("sel: {CommandLine|startswith: 'whoami'}\ncondition: sel", PROC),
    "contains_all": ("sel: {CommandLine|contains|all: ['/c', 'net user']}\ncondition: sel", PROC),
    "wildcards": ("sel: {CommandLine: '*net*user?/add*'}\ncondition: sel", PROC),
    "qmark": ("sel: {Image: 'c:\\?.exe'}\ncondition: sel", PROC),
    "cased": ("sel: {CommandLine|contains|cased: 'NET USER'}\ncondition: sel", PROC),
    "cased_glob": ("sel: {CommandLine|cased: 'Who*AMI'}\ncondition: sel", PROC),
    "windash": ("sel: {CommandLine|contains|windash: ' -enc '}\ncondition: sel", PROC),
    "base64offset": ("sel: {CommandLine|base64offset|contains: 'whoami'}\ncondition: sel", PROC),
    "base64": ("sel: {CommandLine|base64: 'net'}\ncondition: sel", PROC),
    "wide": ("sel: {CommandLine|wide|contains: 'ab'}\ncondition: sel", PROC),
    "regex": ("sel: {CommandLine|re: 'net\\s+user\\s+(add|del)'}\ncondition: sel", PROC),
    "regex_i": ("sel: {CommandLine|re|i: 'Si(s)+ tEst'}\ncondition: sel", PROC),
    "regex_inline": ("sel: {CommandLine|re: '(?i)WHOAMI'}\ncondition: sel", PROC),
    "regex_none": ("sel: {CommandLine|re: '[a-c]+x?'}\ncondition: sel", PROC),
    "keywords": ("keywords: ['mimikatz', 'sekurlsa::*', 'Who?mi']\ncondition: keywords",
                 "{product: windows}"),
    "keyword_number": ("keywords: [4624]\ncondition: keywords", "{product: windows}"),
    "number": ("sel: {Task: [1, 2.5], ProcessId: 4}\ncondition: sel", PROC),
    "eventid": ("sel: {EventID: 4688}\ncondition: sel", "{product: windows, service: security}"),
    "not": ("sel: {Image|endswith: '\\net.exe'}\nflt: {CommandLine|contains: 'view'}\n"
            "condition: sel and not flt", PROC),
    "only_not": ("flt: {CommandLine|contains: 'view'}\ncondition: not flt", PROC),
    "null": ("sel: {ParentImage: null, Image|endswith: '.exe'}\ncondition: sel", PROC),
    "exists": ("sel: {User|exists: false}\ncondition: sel", PROC),
    "fieldref": ("sel: {Image|fieldref: ParentImage}\ncondition: sel", PROC),
    "cidr": ("sel: {SourceIp|cidr: 10.0.0.0/8}\ncondition: sel", PROC),
    "gt": ("sel: {Level|gt: 3}\ncondition: sel", PROC),
    "neq": ("sel: {Image|endswith: '.exe', User|neq: 'SYSTEM'}\ncondition: sel", PROC),
    "or_of_ands": ("a: {Image|endswith: '\\a.exe', CommandLine|contains: ' -x'}\n"
                   "b: {Image|endswith: '\\b.exe', User|startswith: 'NT'}\n"
                   "condition: a or b", PROC),
    "two_clauses": ("sel: {ParentImage|endswith: '\\services.exe', "
                    "CommandLine|contains: ['\\users\\public\\', '\\temp\\']}\ncondition: sel",
                    PROC),
    "empty": ("sel: {CommandLine: ''}\ncondition: sel", PROC),
    "empty_contains": ("sel: {CommandLine|contains: ''}\ncondition: sel", PROC),
    "sigma": ("sel: {CommandLine|contains: 'ΑΣ'}\ncondition: sel", PROC),
    "dotless": ("sel: {Image|endswith: 'İ.exe'}\ncondition: sel", PROC),
    "final_sigma": ("sel: {CommandLine|endswith: 'οδοσ'}\ncondition: sel", PROC),
    "qmark_dotted": ("sel: {CommandLine: 'ab?d'}\ncondition: sel", PROC),
    "kelvin": ("sel: {CommandLine|contains: 'desk'}\ncondition: sel", PROC),
    "sharp_s": ("sel: {CommandLine|startswith: 'ẞtraße'}\ncondition: sel", PROC),
    "dotted": ("sel: {process.command_line|contains: 'evil'}\ncondition: sel", PROC),
    "bool": ("sel: {Initiated: 'true'}\ncondition: sel", PROC),
    "two_conditions": ("a: {Image|endswith: '\\a.exe'}\nb: {User: 'x'}\ncondition: [a, b]",
                       PROC),
}


def hand_rules() -> list[CompiledRule]:
    """Every hand-written rule, compiled."""
    return [compiled(det, ls, title=f"rule-{name}") for name, (det, ls) in DETECTIONS.items()]


FRAGMENTS = [
    "C:\\Windows\\System32\\cmd.exe", "\\cmd.exe", "\\WHOAMI.EXE", "whoami", "/c", "net user",
    "net", "user", "/add", " -enc ", " /enc ", " –enc ", "NET USER", "Who", "AMI", "d2hvYW1p",
    "dob2FtaQ", "3aG9hbW", "bmV0", "a\x00b\x00", "sis test", "SISS TEST", "add", "del", "x",
    "mimikatz", "sekurlsa::", "4624", "\\net.exe", "view", ".exe", "\\a.exe", " -x", "\\b.exe",
    "NT", "\\services.exe", "\\users\\public\\", "\\temp\\", "ΑΣ", "ας", "ΑΣΒ", "İ.exe",
    "i̇.exe",
    "ı", "ſ", "K", "evil", "10.1.2.3", "SYSTEM", "true", " ", "\\", "?", "*", "ΟΔΟΣ", "οδος",
    "abİd", "ABID", "DESK", "deſk", "ẞTRASSE", "ßtraße", "Ａ",
]
TEXT = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(alphabet="aAiIsS.-/\\ Σ\x00xé", max_size=3)),
    max_size=4,
).map("".join).flatmap(
    lambda s: st.sampled_from([s, s.upper(), s.lower(), s.swapcase()])
)
SCALAR = st.one_of(TEXT, st.sampled_from([1, 2.5, 4, 4.0, 2, 1.0, 4624, True, False, None]))
VALUE = st.one_of(SCALAR, st.lists(SCALAR, max_size=3))
FIELDS = ["Image", "CommandLine", "ParentImage", "User", "Task", "ProcessId", "SourceIp",
          "Level", "Initiated", "process.command_line", "Other"]
EVENT = st.fixed_dictionaries(
    {"EventID": st.sampled_from([1, 4688, "1", 13, 1.0]),
     "Channel": st.sampled_from([SYSMON, "Security", "security"])},
    optional={name: VALUE for name in FIELDS}
    | {"process": st.fixed_dictionaries({}, optional={"command_line": TEXT})},
)


@pytest.fixture(scope="module")
def rules() -> list[CompiledRule]:
    return hand_rules()


@pytest.mark.parametrize("options", MATCHERS)
@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=EVENT)
def test_index_never_changes_a_verdict(rules: list[CompiledRule], options: dict[str, Any],
                                       event: dict[str, Any]) -> None:
    expected = brute(rules, event)
    # A tiny memo (a few texts) exercises both remembering and starting afresh.
    for index in (RuleIndex.build(rules, **options),
                  RuleIndex.build(rules, **{"memo": 300, **options})):
        assert index.matches(event) == expected
        assert index.matches(event) == expected  # again, from the memo
        assert set(expected) <= set(index.candidates(event))
        assert [r.title for r in index.evaluate_all(event)] == [rules[i].title for i in expected]


@pytest.mark.parametrize("options", MATCHERS)
def test_each_hand_rule_matches_through_the_index(rules: list[CompiledRule],
                                                   options: dict[str, Any]) -> None:
    """Positive events per rule (none may be lost), plus events only a skipped rule could take."""
    events = [
        {"Image": "C:\\WINDOWS\\system32\\CMD.EXE", "CommandLine": "WHOAMI /c net user /add"},
        {"Image": "c:\\x.exe", "CommandLine": "x NET USER  ADD -enc d2hvYW1p"},
        {"CommandLine": "powershell –enc ZABvAGIAAgA=", "User": "SYSTEM", "Task": 2.5},
        {"CommandLine": "a\x00b\x00 net  user del", "ProcessId": 4.0, "Task": [7, 1]},
        {"CommandLine": "xSiSS TEST", "ParentImage": "c:\\windows\\services.exe"},
        {"CommandLine": "\\Users\\Public\\a", "ParentImage": "C:\\SERVICES.EXE"},
        {"CommandLine": "", "Image": "c:\\İ.exe", "SourceIp": "10.9.9.9", "Level": 7},
        {"CommandLine": "ΑΣΒ", "process": {"command_line": "EVIL"}, "Initiated": True},
        {"Image": "c:\\a.exe", "ParentImage": "C:\\A.EXE", "CommandLine": " -X", "User": "x"},
        {"Image": "c:\\b.exe", "User": "NT AUTHORITY", "message": "mimikatz sekurlsa::x"},
        {"Image": "c:\\net.exe", "CommandLine": "net view", "Other": [4624, "Whoami"]},
    ]
    index = RuleIndex.build(rules, **options)
    hit = set()
    for fields in events:
        for channel, event_id in ((SYSMON, 1), ("Security", 4688)):
            event = {"EventID": event_id, "Channel": channel, **fields}
            expected = brute(rules, event)
            assert index.matches(event) == expected, event
            hit.update(expected)
    # The events above make most rules match at least once, so the comparison is not vacuous.
    missed = sorted(rules[i].title for i in set(range(len(rules))) - hit)
    assert len(hit) >= len(rules) * 2 // 3, missed


@pytest.mark.parametrize("options", MATCHERS)
def test_index_folds_as_the_reference(options: dict[str, Any]) -> None:
    """Events that match only under Sigma's per-code-point folding (a final capital sigma is σ,
    İ is one character i, the Kelvin sign is k): folding them with str.lower in the index would
    skip these rules."""
    names = ("final_sigma", "qmark_dotted", "kelvin", "sharp_s", "dotless")
    rules = [compiled(DETECTIONS[n][0], title=n) for n in names]
    index = RuleIndex.build(rules, **options)
    for text, rule in (("ΟΔΟΣ", "final_sigma"), ("ABİD", "qmark_dotted"), ("DES\u212a", "kelvin"),
                       ("ßTRAẞE", "sharp_s"), ("c:\\i.EXE", "dotless")):
        event = {"EventID": 1, "Channel": SYSMON, "CommandLine": text, "Image": text}
        assert [rules[i].title for i in brute(rules, event)] == [rule], text
        assert index.matches(event) == brute(rules, event), text


def test_unsupported_rules_are_never_candidates() -> None:
    ok = compiled("sel: {Image|endswith: '.exe'}\ncondition: sel")
    odd = compile_rule(SigmaCollection.from_yaml(
        "title: odd\nlogsource: {product: linux, service: no-such-log}\n"
        "detection: {sel: {Image: x}, condition: sel}\n").rules[0])
    assert odd.unsupported
    index = RuleIndex.build([odd, ok])
    event = {"EventID": 1, "Channel": SYSMON, "Image": "x.exe"}
    assert index.candidates(event) == [1]
    assert index.matches(event) == [1]
    assert index.stats.evaluable == 1 and index.stats.rules == 2


def test_routing_keeps_other_logsources_away() -> None:
    proc = compiled("sel: {Image|endswith: '\\whoami.exe'}\ncondition: sel")
    reg = compiled("sel: {Image|endswith: '\\whoami.exe'}\ncondition: sel",
                   "{product: windows, category: registry_set}")
    index = RuleIndex.build([proc, reg])
    registry = {"EventID": 13, "Channel": SYSMON, "Image": "c:\\whoami.exe"}
    assert index.members(registry) == (1,)
    assert index.matches(registry) == [1]
    unrouted = RuleIndex.build([proc, reg], route=False)
    assert unrouted.matches(registry) == [0, 1]  # detection only, as detection_matches


def test_prefilter_off_makes_every_rule_a_candidate(rules: list[CompiledRule]) -> None:
    event = {"EventID": 1, "Channel": SYSMON, "Image": "c:\\x"}
    plain = RuleIndex.build(rules, prefilter=False)
    assert plain.candidates(event) == list(plain.members(event))
    assert plain.matches(event) == RuleIndex.build(rules).matches(event) == brute(rules, event)


def test_undecided_verdicts_are_reported() -> None:
    slow = compiled("sel: {CommandLine|re: '^(q+)+$'}\ncondition: sel")
    event = {"EventID": 1, "Channel": SYSMON, "CommandLine": "q" * 50_000 + "b"}
    from converter.reference import regex as reference_values

    limit = reference_values.MATCH_TIME_LIMIT
    reference_values.MATCH_TIME_LIMIT = 0.01
    try:
        undecided: dict[int, Any] = {}
        assert RuleIndex.build([slow]).matches(event, undecided) == []
        assert undecided[0].matched is None and "backtracking" in undecided[0].unsupported
    finally:
        reference_values.MATCH_TIME_LIMIT = limit


# --- the conditions, per kind of literal and modifier -----------------------------------------


def alts(cond: Any) -> set[Alt]:
    """All alternatives of a one-clause condition."""
    assert cond is not None and len(cond) == 1, cond
    return set(cond[0])


def every(cond: Any) -> set[Alt]:
    """All alternatives of a condition, over its clauses."""
    assert cond is not None, cond
    return set().union(*cond)


def test_string_kinds_fold_the_literal() -> None:
    assert alts(condition(DETECTIONS["equals"][0])) == {
        Alt("Image", "equals", "c:\\windows\\system32\\cmd.exe")}
    assert alts(condition(DETECTIONS["endswith"][0])) == {
        Alt("Image", "endswith", "\\cmd.exe"), Alt("Image", "endswith", "\\whoami.exe")}
    assert alts(condition(DETECTIONS["startswith"][0])) == {
        Alt("CommandLine", "startswith", "whoami")}
    assert alts(condition(DETECTIONS["empty"][0])) == {Alt("CommandLine", "equals", "")}


def test_wildcards_give_prefix_suffix_and_inner_runs() -> None:
    # '*net*user?/add*': the longer inner run is chosen; '?' splits runs.
    cond = condition(DETECTIONS["wildcards"][0])
    assert cond[0] <= {Alt("CommandLine", "contains", lit) for lit in ("net", "user", "/add")}
    assert every(condition("sel: {Image: 'C:*\\x.exe'}\ncondition: sel")) == {
        Alt("Image", "startswith", "c:"), Alt("Image", "endswith", "\\x.exe")}


def test_cased_values_are_raw_alternatives() -> None:
    assert alts(condition(DETECTIONS["cased"][0])) == {
        Alt("CommandLine", "contains", "NET USER", True)}
    assert every(condition(DETECTIONS["cased_glob"][0])) == {
        Alt("CommandLine", "startswith", "Who", True), Alt("CommandLine", "endswith", "AMI", True)}


def test_expansions_are_alternatives() -> None:
    windash = alts(condition(DETECTIONS["windash"][0]))
    assert {a.literal for a in windash} == {" -enc ", " /enc ", " –enc ", " —enc ", " ―enc "}
    assert len(alts(condition(DETECTIONS["base64offset"][0]))) == 3
    assert alts(condition(DETECTIONS["base64"][0])) == {Alt("CommandLine", "equals", "bmv0")}
    assert alts(condition(DETECTIONS["wide"][0])) == {
        Alt("CommandLine", "contains", "a\x00b\x00")}


def test_all_gives_a_clause_per_value() -> None:
    cond = condition(DETECTIONS["contains_all"][0])
    assert set().union(*cond) <= {Alt("CommandLine", "contains", "/c"),
                                  Alt("CommandLine", "contains", "net user")}
    assert Alt("CommandLine", "contains", "net user") in cond[0]


def test_regex_literals() -> None:
    assert regex_literals("net\\s+user\\s+(add|del)") == (["net", "user"], False)
    assert regex_literals("ab(cd)+ef") == (["ab", "cd", "ef"], False)
    assert regex_literals("a(b|c)d") == (["a", "d"], False)
    assert regex_literals("ab?c") == (["a", "c"], False)
    assert regex_literals("x{2}y") == (["x", "y"], False)
    assert regex_literals("[abc]+") == ([], False)
    assert regex_literals("(") == ([], False)
    # Case-insensitive: lowered, split at i/I/s/S and at non-ASCII characters.
    assert regex_literals("(?i)WHOAMI") == (["whoam"], True)
    assert regex_literals("Si(s)+ tEst", re.IGNORECASE) == ([" te", "t"], True)
    assert regex_literals("(?-i:AB)cd", re.IGNORECASE) == (["cd"], True)
    assert regex_literals("ΑΒC", re.IGNORECASE) == (["c"], True)
    assert every(condition(DETECTIONS["regex"][0])) == {
        Alt("CommandLine", "contains", "net", True), Alt("CommandLine", "contains", "user", True)}
    assert condition(DETECTIONS["regex_none"][0]) is None


@pytest.mark.parametrize("module", [re, regex], ids=["re", "regex"])
def test_caseless_unsafe_characters_are_all_listed(module: Any) -> None:
    """Every non-ASCII character a case-insensitive ASCII literal matches lowers to that
    literal's lowercase, except for the characters split off (checked over all of Unicode)."""
    ascii_class = module.compile("[\\x00-\\x7f]", module.IGNORECASE)
    unsafe = set()
    for code in range(0x80, 0x110000):
        char = chr(code)
        if ascii_class.fullmatch(char):
            for letter in "abcdefghijklmnopqrstuvwxyz":
                for c in (letter, letter.upper()):
                    if module.fullmatch(c, char, module.IGNORECASE) and fold(char) != letter:
                        unsafe.add(c)
    assert unsafe <= _CASELESS_UNSAFE


def test_keywords_and_numbers() -> None:
    keywords = condition(*DETECTIONS["keywords"])
    assert {a.field for a in every(keywords)} == {ANY_FIELD}
    # 'Who?mi' needs "who" and "mi": the OR distributes over them, one clause each.
    for clause in keywords:
        assert {Alt(ANY_FIELD, "contains", "sekurlsa::"),
                Alt(ANY_FIELD, "contains", "mimikatz")} < clause
    assert alts(condition(*DETECTIONS["keyword_number"])) == {Alt(ANY_FIELD, "contains", "4624")}
    number = condition(DETECTIONS["number"][0])
    assert set().union(*number) <= {Alt("Task", "number", "1"), Alt("Task", "number", "2.5"),
                                    Alt("ProcessId", "number", "4")}


@pytest.mark.parametrize("name", ["only_not", "exists", "fieldref", "cidr", "gt"])
def test_no_condition_without_a_literal(name: str) -> None:
    assert condition(DETECTIONS[name][0]) is None


def test_null_and_neq_leave_the_other_tests() -> None:
    assert alts(condition(DETECTIONS["null"][0])) == {Alt("Image", "endswith", ".exe")}
    assert alts(condition(DETECTIONS["neq"][0])) == {Alt("Image", "endswith", ".exe")}


def test_or_distributes_over_the_branches() -> None:
    cond = condition(DETECTIONS["or_of_ands"][0])
    # (a1 and a2) or (b1 and b2): each clause takes one test of each branch.
    assert len(cond) == 2
    for clause in cond:
        assert len(clause) == 2
        assert {a.literal for a in clause} & {"\\a.exe", " -x"}
        assert {a.literal for a in clause} & {"\\b.exe", "nt"}


# --- selectivity -------------------------------------------------------------------------------


def test_and_prefers_the_long_literal() -> None:
    cond = condition("sel:\n  Image|endswith: '\\cmd.exe'\n"
                     "  CommandLine|contains: ' /c whoami /priv'\ncondition: sel")
    assert cond[0] == {Alt("CommandLine", "contains", " /c whoami /priv")}


def test_two_clauses_both_needed() -> None:
    cond = condition(DETECTIONS["two_clauses"][0])
    assert len(cond) == 2
    rule = compiled(DETECTIONS["two_clauses"][0])
    index = RuleIndex.build([rule])
    only_parent = {"EventID": 1, "Channel": SYSMON, "ParentImage": "c:\\services.exe",
                   "CommandLine": "x"}
    assert index.candidates(only_parent) == []
    assert index.candidates(dict(only_parent, CommandLine="c:\\temp\\x")) == [0]


def test_a_literal_many_rules_test_is_avoided() -> None:
    """``\\cmd.exe`` appears in many rules, the command lines in one each: those are chosen."""
    rules = [compiled(f"sel:\n  Image|endswith: '\\cmd.exe'\n  CommandLine|contains: 'x{i}yz'\n"
                      "condition: sel") for i in range(30)]
    for cond in RuleIndex.build(rules).conditions:
        assert {a.field for a in cond[0]} == {"CommandLine"}


def test_literal_index_with_tuple_slots_and_numbers() -> None:
    index = LiteralIndex([
        (("r", "eql"), (frozenset({Alt("f", "contains", "ab")}),)),
        (("r", "kql"), (frozenset({Alt("f", "startswith", "x")}),
                        frozenset({Alt("n", "number", "3")}))),
        (("q", "eql"), None),
    ])

    def texts(values: dict[str, Any]) -> Any:
        return lambda name, cased: tuple(str(v).lower() for v in
                                         (values.get(name) if isinstance(values.get(name), list)
                                          else [values[name]] if name in values else []))

    event = {"f": "XaB", "n": 3.0}
    assert index.candidates(texts(event), event.get) == {("r", "eql"), ("r", "kql"), ("q", "eql")}
    assert index.candidates(texts({"f": "x", "n": 4}), {"n": 4}.get) == {("q", "eql")}
    # Without raw values, number alternatives count as holding.
    assert index.candidates(texts({"f": "x"})) == {("r", "kql"), ("q", "eql")}


# --- the SigmaHQ corpus -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus_rules() -> list[Any]:
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is absent")
    from converter.rules.load import load_rules

    return [r for r in load_rules([CORPUS / "windows"]) if r.rule is not None]


def test_corpus_generated_events_match_alike(corpus_rules: list[Any]) -> None:
    """Events generated from every 12th Windows rule, against all Windows rules, with each
    matcher (evaluating every rule once per event is the expensive part, so they share it)."""
    from converter.generate.generator import generate_events

    rules = [compile_rule(r.rule) for r in corpus_rules]
    indexes = [RuleIndex.build(rules, **p.values[0]) for p in MATCHERS]
    events = [e.fields for r in corpus_rules[::12] for e in generate_events(r.rule, count=8)]
    matched = 0
    for event in events:
        expected = brute(rules, event)
        for index in indexes:
            assert index.matches(event) == expected, event
        matched += len(expected)
    assert matched > len(events) // 2


def test_corpus_selectivity(corpus_rules: list[Any]) -> None:
    rules = [compile_rule(r.rule) for r in corpus_rules
             if "/process_creation/" in r.path.replace("\\", "/")]
    index = RuleIndex.build(rules)
    stats = index.stats
    assert stats.indexed >= 0.97 * stats.evaluable
    event = {"EventID": 1, "Channel": SYSMON, "Image": "C:\\Windows\\System32\\svchost.exe",
             "CommandLine": "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule",
             "ParentImage": "C:\\Windows\\System32\\services.exe", "User": "NT AUTHORITY\\SYSTEM",
             "IntegrityLevel": "System"}
    assert len(index.candidates(event)) < 0.03 * len(index.members(event))
