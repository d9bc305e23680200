"""Tests of the reference evaluator: Sigma semantics per modifier and value type, logsources,
unsupported verdicts, and corpus checks that skip when ``../shared/corpus`` is absent."""

from __future__ import annotations

import base64
import json
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from sigma.collection import SigmaCollection
from sigma.rule import SigmaRule

from converter.reference.logsources import SYSMON, LogsourceUnsupported, membership
from converter.reference.evaluator import (
    SIGMA_SEMANTICS,
    ReferenceEvaluationError,
    Verdict,
    compile_rule,
    evaluate_rule,
)

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus"

PROC = "product: windows\n  category: process_creation"


def load(detection: str, logsource: str = PROC) -> SigmaRule:
    """Build a rule from an inline ``detection:`` body (indented by the helper)."""
    text = (
        "title: test\nlogsource:\n  " + logsource + "\ndetection:\n"
        + textwrap.indent(textwrap.dedent(detection).strip("\n"), "  ") + "\n"
    )
    rule = SigmaCollection.from_yaml(text).rules[0]
    assert isinstance(rule, SigmaRule)
    return rule


def sysmon(event_id: int = 1, **fields: Any) -> dict[str, Any]:
    """A flat Sysmon event with the given fields."""
    return {"EventID": event_id, "Channel": SYSMON, **fields}


def hits(detection: str, *events: dict[str, Any], logsource: str = PROC) -> list[bool | None]:
    """Evaluate one rule on Sysmon-1 events built from each mapping; return ``matched`` each."""
    compiled = compile_rule(load(detection, logsource))
    assert compiled.unsupported is None, compiled.unsupported
    return [compiled.evaluate(sysmon(**e)).matched for e in events]


# --- plain values, wildcards, escapes ---------------------------------------------------------


def test_plain_value_is_whole_value_and_case_insensitive() -> None:
    det = "sel:\n  Image: 'C:\\Windows\\System32\\cmd.exe'\ncondition: sel"
    assert hits(
        det,
        {"Image": "c:\\windows\\system32\\CMD.EXE"},
        {"Image": "C:\\Windows\\System32\\cmd.exe.bak"},
        {"Image": "X C:\\Windows\\System32\\cmd.exe"},
    ) == [True, False, False]


def test_wildcards_star_any_run_question_exactly_one() -> None:
    det = "sel:\n  Image: 'a*b?c'\ncondition: sel"
    assert hits(
        det, {"Image": "abxc"}, {"Image": "A123\nBXC"}, {"Image": "abc"}, {"Image": "abxxc"}
    ) == [True, True, False, False]


def test_escaped_wildcards_are_literal() -> None:
    det = "sel:\n  F1: 'a\\*b'\n  F2: 'x\\?y'\ncondition: sel"
    assert hits(
        det, {"F1": "a*b", "F2": "x?y"}, {"F1": "azzb", "F2": "x?y"}, {"F1": "a*b", "F2": "xzy"}
    ) == [True, False, False]


def test_double_backslash_before_wildcard_is_backslash_then_wildcard() -> None:
    det = "sel:\n  Image: 'C:\\Windows\\\\*'\ncondition: sel"
    assert hits(
        det, {"Image": "C:\\Windows\\notepad.exe"}, {"Image": "C:\\Windowsnotepad.exe"}
    ) == [True, False]


def test_backslash_escaping_a_backslash_is_one_backslash() -> None:
    det = "sel:\n  P: 'a\\\\b'\ncondition: sel"  # YAML text a\\b: one literal backslash
    assert hits(det, {"P": "a\\b"}, {"P": "a\\\\b"}) == [True, False]


def test_contains_startswith_endswith() -> None:
    det = """
    sel:
      CommandLine|contains: 'vssadmin'
      Image|endswith: '\\cmd.exe'
      ParentImage|startswith: 'C:\\Program Files\\'
    condition: sel
    """
    good = {"CommandLine": "x VSSADMIN y", "Image": "C:\\x\\cmd.exe",
            "ParentImage": "C:\\Program Files\\a.exe"}
    assert hits(
        det, good, {**good, "Image": "C:\\x\\cmd.exe2"},
        {**good, "ParentImage": "D:\\Program Files\\a.exe"}, {**good, "CommandLine": "vss admin"},
    ) == [True, False, False, False]


def test_contains_all_needs_every_value() -> None:
    det = "sel:\n  CommandLine|contains|all: ['-a', '-b']\ncondition: sel"
    assert hits(det, {"CommandLine": "x -b -a"}, {"CommandLine": "x -a"}) == [True, False]


def test_value_list_is_or() -> None:
    det = "sel:\n  Image|endswith: ['\\a.exe', '\\b.exe']\ncondition: sel"
    assert hits(det, {"Image": "C:\\b.exe"}, {"Image": "C:\\c.exe"}) == [True, False]


# --- regular expressions ----------------------------------------------------------------------


def test_re_is_unanchored_and_case_sensitive() -> None:
    det = "sel:\n  CommandLine|re: 'ab+c'\ncondition: sel"
    assert hits(det, {"CommandLine": "xxabbbcxx"}, {"CommandLine": "ABC"}) == [True, False]


def test_re_anchors_are_honoured() -> None:
    det = "sel:\n  CommandLine|re: '^abc$'\ncondition: sel"
    assert hits(det, {"CommandLine": "abc"}, {"CommandLine": "xabc"}) == [True, False]


def test_re_i_flag() -> None:
    det = "sel:\n  CommandLine|re|i: 'abc'\ncondition: sel"
    assert hits(det, {"CommandLine": "xABCx"}) == [True]


def test_re_m_flag_makes_anchors_per_line() -> None:
    plain = "sel:\n  C|re: '^two$'\ncondition: sel"
    multi = "sel:\n  C|re|m: '^two$'\ncondition: sel"
    event = {"C": "one\ntwo\nthree"}
    assert hits(plain, event) == [False]
    assert hits(multi, event) == [True]


def test_re_s_flag_lets_dot_match_newline() -> None:
    plain = "sel:\n  C|re: 'a.b'\ncondition: sel"
    dotall = "sel:\n  C|re|s: 'a.b'\ncondition: sel"
    assert hits(plain, {"C": "a\nb"}) == [False]
    assert hits(dotall, {"C": "a\nb"}) == [True]


def test_re_with_literal_star_and_question() -> None:
    det = "sel:\n  C|re: 'x\\*y?z'\ncondition: sel"
    assert hits(det, {"C": "x*z"}, {"C": "xxz"}) == [True, False]


# --- windash and encodings ---------------------------------------------------------------------


@pytest.mark.parametrize("dash", ["-", "/", "\u2013", "\u2014", "\u2015"])
def test_windash_accepts_all_five_dashes(dash: str) -> None:
    det = "sel:\n  CommandLine|windash|contains: ' -enc '\ncondition: sel"
    assert hits(det, {"CommandLine": f"powershell {dash}enc AAAA"}) == [True]


def test_windash_does_not_accept_other_characters() -> None:
    det = "sel:\n  CommandLine|windash|contains: ' -enc '\ncondition: sel"
    assert hits(det, {"CommandLine": "powershell +enc AAAA"}) == [False]


def test_base64_is_whole_value_of_the_encoding() -> None:
    det = "sel:\n  Data|base64: 'cmd.exe'\ncondition: sel"
    encoded = base64.b64encode(b"cmd.exe").decode()
    assert hits(det, {"Data": encoded}, {"Data": "x" + encoded}) == [True, False]


@pytest.mark.parametrize("prefix", [b"", b"a", b"ab", b"abc"])
def test_base64offset_contains_finds_every_alignment(prefix: bytes) -> None:
    det = "sel:\n  CommandLine|base64offset|contains: 'http://'\ncondition: sel"
    payload = base64.b64encode(prefix + b"http://evil.example/x").decode()
    assert hits(det, {"CommandLine": f"powershell -enc {payload}"}) == [True]
    other = base64.b64encode(prefix + b"https://evil.example/x").decode()
    assert hits(det, {"CommandLine": other}) == [False]


# The spec's ``utf16le`` name is not in pySigma 1.5.1's modifier table (only its alias ``wide``),
# so such rules fail to load before they reach the evaluator.
@pytest.mark.parametrize(("modifier", "codec"), [("wide", "utf-16le"), ("utf16be", "utf-16be")])
@pytest.mark.parametrize("prefix", ["", "a", "ab"])
def test_utf16_then_base64offset(modifier: str, codec: str, prefix: str) -> None:
    det = f"sel:\n  CommandLine|{modifier}|base64offset|contains: 'Invoke-Mimikatz'\ncondition: sel"
    payload = base64.b64encode((prefix + "IEX; Invoke-Mimikatz -x").encode(codec)).decode()
    assert hits(det, {"CommandLine": payload}) == [True]
    ascii_only = base64.b64encode((prefix + "IEX; Invoke-Mimikatz -x").encode()).decode()
    assert hits(det, {"CommandLine": ascii_only}) == [False]


def test_wide_without_base64_matches_the_raw_utf16_text() -> None:
    det = "sel:\n  Blob|wide|contains: 'ab'\ncondition: sel"
    assert hits(det, {"Blob": "xa\x00b\x00y"}, {"Blob": "xaby"}) == [True, False]


# --- cidr, numbers, comparisons ---------------------------------------------------------------


def test_cidr_ipv4() -> None:
    det = "sel:\n  DestinationIp|cidr: '10.0.0.0/8'\ncondition: sel"
    assert hits(
        det, {"DestinationIp": "10.1.2.3"}, {"DestinationIp": "11.0.0.1"},
        {"DestinationIp": "not an ip"}, {"DestinationIp": "::ffff:10.1.2.3"},
        {"DestinationIp": "::ffff:11.1.2.3"}, {"DestinationIp": "::10.1.2.3"},
    ) == [True, False, False, True, False, False]


def test_cidr_ipv6() -> None:
    det = "sel:\n  DestinationIp|cidr: 'fe80::/10'\ncondition: sel"
    assert hits(
        det, {"DestinationIp": "fe80::1"}, {"DestinationIp": "2001:db8::1"},
        {"DestinationIp": "10.0.0.1"},
    ) == [True, False, False]


def test_number_matches_int_and_string_forms() -> None:
    det = "sel:\n  Code: 4688\ncondition: sel"
    assert hits(det, {"Code": 4688}, {"Code": "4688"}, {"Code": "04688"}, {"Code": 4689}) == [
        True, True, False, False,
    ]


def test_quoted_number_string_matches_int_event_value() -> None:
    det = "sel:\n  Code: '4688'\ncondition: sel"
    assert hits(det, {"Code": 4688}, {"Code": "4688"}) == [True, True]


def test_bool_value() -> None:
    det = "sel:\n  Flag: true\ncondition: sel"
    assert hits(det, {"Flag": True}, {"Flag": "TRUE"}, {"Flag": False}, {"Flag": 1}) == [
        True, True, False, False,
    ]


@pytest.mark.parametrize(
    ("modifier", "expected"),
    [("gt", [False, True, False]), ("gte", [True, True, False]),
     ("lt", [False, False, True]), ("lte", [True, False, True])],
)
def test_numeric_comparisons(modifier: str, expected: list[bool]) -> None:
    det = f"sel:\n  Size|{modifier}: 10\ncondition: sel"
    assert hits(det, {"Size": 10}, {"Size": "11"}, {"Size": 9.5}) == expected
    assert hits(det, {"Size": "ten"}, {"Other": 1}) == [False, False]


# --- null, exists, cased, neq, fieldref -------------------------------------------------------


def test_null_means_missing_or_null() -> None:
    det = "sel:\n  Field: null\ncondition: sel"
    assert hits(det, {}, {"Field": None}, {"Field": []}, {"Field": ""}, {"Field": "x"}) == [
        True, True, True, False, False,
    ]


def test_exists_checks_presence_only() -> None:
    present = "sel:\n  Field|exists: true\ncondition: sel"
    absent = "sel:\n  Field|exists: false\ncondition: sel"
    events = ({"Field": ""}, {"Field": None}, {})
    assert hits(present, *events) == [True, True, False]
    assert hits(absent, *events) == [False, False, True]


def test_cased_is_case_sensitive() -> None:
    det = "sel:\n  Name|cased: 'Foo*'\ncondition: sel"
    assert hits(det, {"Name": "Foobar"}, {"Name": "foobar"}) == [True, False]


def test_neq_single_and_list_and_missing_field() -> None:
    det = "sel:\n  User|neq: ['alice', 'bob']\ncondition: sel"
    assert hits(det, {"User": "carol"}, {"User": "ALICE"}, {"User": "bob"}, {}) == [
        True, False, False, True,
    ]


def test_fieldref_equality_is_case_insensitive() -> None:
    det = "sel:\n  ParentUser|fieldref: User\ncondition: sel"
    assert hits(
        det, {"ParentUser": "Bob", "User": "bob"}, {"ParentUser": "Bob", "User": "alice"},
        {"ParentUser": "Bob"},
    ) == [True, False, False]


@pytest.mark.parametrize(
    ("modifier", "expected"),
    [("contains", [True, True, True]), ("startswith", [True, False, False]),
     ("endswith", [False, True, False])],
)
def test_fieldref_with_contains_startswith_endswith(modifier: str, expected: list[bool]) -> None:
    det = f"sel:\n  CommandLine|fieldref|{modifier}: Image\ncondition: sel"
    assert hits(
        det, {"CommandLine": "a.exe -x", "Image": "A.EXE"},
        {"CommandLine": "run a.exe", "Image": "a.exe"},
        {"CommandLine": "x a.exe y", "Image": "a.exe"},
    ) == expected


# --- multi-valued fields, missing fields, keywords --------------------------------------------


def test_multi_valued_field_any_element() -> None:
    det = "sel:\n  Tags|contains: 'evil'\ncondition: sel"
    assert hits(det, {"Tags": ["good", "EVIL-1"]}, {"Tags": ["good"]}) == [True, False]


def test_not_on_multi_valued_field_holds_only_when_no_element_matches() -> None:
    det = "sel:\n  Tags: 'evil'\ncondition: not sel"
    assert hits(det, {"Tags": ["good", "evil"]}, {"Tags": ["good"]}) == [False, True]


def test_missing_field_fails_the_test_and_satisfies_not() -> None:
    det = "sel:\n  Image: 'x'\nfilter:\n  Other: 'y'\ncondition: sel and not filter"
    assert hits(det, {"Image": "x"}, {"Image": "x", "Other": "y"}, {}) == [True, False, False]


def test_field_names_are_case_sensitive() -> None:
    det = "sel:\n  Image: 'x'\ncondition: sel"
    assert hits(det, {"image": "x"}) == [False]


def test_dotted_field_falls_back_to_nested_objects() -> None:
    det = "sel:\n  process.name: 'cmd.exe'\ncondition: sel"
    assert hits(det, {"process": {"name": "cmd.exe"}}, {"process.name": "CMD.exe"}) == [True, True]


def test_keywords_search_any_value_as_substring() -> None:
    det = "keywords:\n  - 'mimikatz'\n  - 'sekurlsa::*'\ncondition: keywords"
    assert hits(
        det, {"CommandLine": "run MIMIKATZ.exe"}, {"Message": "x sekurlsa::logonpasswords"},
        {"Tags": ["a", "has mimikatz"]}, {"CommandLine": "benign"},
    ) == [True, True, True, False]


def test_keywords_all() -> None:
    det = "keywords:\n  '|all':\n    - 'alpha'\n    - 'beta'\ncondition: keywords"
    assert hits(
        det, {"A": "alpha", "B": "x beta"}, {"A": "alpha"}
    ) == [True, False]


def test_keyword_wildcards_do_not_span_fields() -> None:
    det = "keywords:\n  - 'alpha*beta'\ncondition: keywords"
    assert hits(det, {"A": "alpha", "B": "beta"}, {"A": "xalpha-betax"}) == [False, True]


def test_keywords_do_not_search_the_logsource_tag() -> None:
    """A tagged taxonomy event's Channel (``okta/okta``) is sigport's convention, not log text: a
    keyword found only there does not match (else every such event would); in a field it does,
    and Sysmon for Linux's real channel stays searchable."""
    rule = load("keywords:\n  - 'okta'\ncondition: keywords", "product: okta\n  service: okta")
    compiled = compile_rule(rule)
    assert compiled.unsupported is None, compiled.unsupported
    tagged = {"Channel": "okta/okta", "eventType": "user.session.start"}
    assert compiled.evaluate(tagged).matched is False
    assert compiled.evaluate({**tagged, "displayMessage": "OKTA login"}).matched is True
    linux = compile_rule(load("keywords:\n  - 'Sysmon'\ncondition: keywords",
                              "product: linux\n  category: process_creation"))
    assert linux.evaluate({"Channel": "Linux-Sysmon/Operational", "EventID": 1}).matched is True


# --- conditions -------------------------------------------------------------------------------


def test_one_of_and_all_of_patterns() -> None:
    det = """
    sel_a:
      A: 'a'
    sel_b:
      B: 'b'
    other:
      C: 'c'
    condition: all of sel_* and not 1 of oth*
    """
    assert hits(det, {"A": "a", "B": "b"}, {"A": "a"}, {"A": "a", "B": "b", "C": "c"}) == [
        True, False, False,
    ]


def test_them_excludes_underscore_identifiers() -> None:
    any_of = "sel:\n  A: 'a'\n_hidden:\n  B: 'b'\ncondition: 1 of them"
    all_of = "sel:\n  A: 'a'\n_hidden:\n  B: 'b'\ncondition: all of them"
    assert hits(any_of, {"B": "b"}, {"A": "a"}) == [False, True]
    assert hits(all_of, {"A": "a"}) == [True]


def test_precedence_not_and_or() -> None:
    det = "a:\n  A: 1\nb:\n  B: 1\nc:\n  C: 1\ncondition: a or b and not c"
    assert hits(det, {"A": 1, "C": 1}, {"B": 1, "C": 1}, {"B": 1}) == [True, False, True]


def test_list_of_maps_is_or_of_ands() -> None:
    det = "sel:\n  - A: 1\n    B: 1\n  - C: 1\ncondition: sel"
    assert hits(det, {"A": 1}, {"A": 1, "B": 1}, {"C": 1}) == [False, True, True]


def test_condition_list_is_or() -> None:
    det = "a:\n  A: 1\nb:\n  B: 1\ncondition:\n  - a\n  - b"
    assert hits(det, {"B": 1}, {}) == [True, False]


# --- logsources -------------------------------------------------------------------------------


def test_process_creation_membership() -> None:
    compiled = compile_rule(load("sel:\n  Image|endswith: '\\cmd.exe'\ncondition: sel"))
    fields = {"Image": "C:\\cmd.exe"}
    assert compiled.evaluate({"EventID": 1, "Channel": SYSMON, **fields}) == Verdict(True)
    assert compiled.evaluate({"EventID": 4688, "Channel": "Security", **fields}) == Verdict(True)
    assert compiled.evaluate({"EventID": "4688", "Channel": "security", **fields}).matched
    assert compiled.evaluate({"EventID": 1, **fields}).matched  # no Channel: EventID decides
    assert compiled.evaluate({"EventID": 5, "Channel": SYSMON, **fields}) == Verdict(
        False, None, False
    )
    assert compiled.evaluate({"EventID": 4688, "Channel": SYSMON, **fields}).logsource_ok is False
    assert compiled.evaluate(fields) == Verdict(False, None, False)  # neither EventID nor Channel


def test_service_membership_needs_the_channel() -> None:
    compiled = compile_rule(
        load("sel:\n  EventID: 4625\ncondition: sel", "product: windows\n  service: security")
    )
    assert compiled.evaluate({"EventID": 4625, "Channel": "Security"}).matched is True
    assert compiled.evaluate({"EventID": 4625}).logsource_ok is False
    assert compiled.evaluate({"EventID": 4625, "Channel": "System"}).matched is False


@pytest.mark.parametrize("category", ["proxy", "webserver"])
def test_product_independent_category_has_its_own_tagged_event(category: str) -> None:
    # Sigma's proxy / webserver taxonomy is written for any product's log: a rule naming the
    # category alone takes the tagged event, a Windows rule never does, and a rule that names a
    # product beside the category is not tabled by this entry.
    member = membership(None, category, None)
    assert member({"Channel": category})
    assert not member({"Channel": "webserver" if category == "proxy" else "proxy"})
    assert not member({"EventID": 1, "Channel": SYSMON})
    assert not membership("windows", None, None)({"Channel": category})
    with pytest.raises(LogsourceUnsupported):
        membership("zeek", category, None)
    with pytest.raises(LogsourceUnsupported):
        membership(None, "application", None)  # no product: which application's log?


@pytest.mark.parametrize(
    ("category", "event_id", "channel"),
    [("image_load", 7, SYSMON), ("network_connection", 3, SYSMON), ("file_event", 11, SYSMON),
     ("registry_set", 13, SYSMON), ("registry_event", 14, SYSMON), ("dns_query", 22, SYSMON),
     ("pipe_created", 18, SYSMON), ("ps_script", 4104, "Microsoft-Windows-PowerShell/Operational"),
     ("ps_module", 4103, "PowerShellCore/Operational")],
)
def test_category_table(category: str, event_id: int, channel: str) -> None:
    member = membership("windows", category, None)
    assert member({"EventID": event_id, "Channel": channel})
    assert not member({"EventID": event_id + 1000, "Channel": channel})


@pytest.mark.parametrize(
    ("logsource", "needle"),
    [("product: linux\n  service: no-such-log", "linux/-/no-such-log"),
     ("product: windows\n  category: file_access", "file_access"),
     ("category: application", "-/application/-"),
     ("product: windows\n  service: no-such-service", "no-such-service")],
)
def test_unknown_logsources_are_unsupported(logsource: str, needle: str) -> None:
    compiled = compile_rule(load("sel:\n  A: 1\ncondition: sel", logsource))
    verdict = compiled.evaluate({"A": 1, "EventID": 1, "Channel": SYSMON})
    assert verdict.matched is None
    assert verdict.unsupported and "no event-membership rule" in verdict.unsupported
    assert needle in verdict.unsupported


# --- unsupported and API ----------------------------------------------------------------------


def test_expand_placeholder_is_unsupported() -> None:
    compiled = compile_rule(load("sel:\n  User|expand: '%Administrators%'\ncondition: sel"))
    verdict = compiled.evaluate(sysmon(User="admin"))
    assert verdict.matched is None and verdict.logsource_ok is True
    assert "%Administrators%" in (verdict.unsupported or "")


def test_time_modifier_is_unsupported() -> None:
    compiled = compile_rule(load("sel:\n  UtcTime|hour: 3\ncondition: sel"))
    assert compiled.unsupported and "time modifier (hour)" in compiled.unsupported


def test_utf16_with_bom_then_base64_is_refused() -> None:
    compiled = compile_rule(load("sel:\n  D|utf16|base64offset|contains: 'cmd'\ncondition: sel"))
    assert compiled.unsupported and "byte order mark" in compiled.unsupported


def test_correlation_rule_is_unsupported() -> None:
    text = """
title: base
name: base_rule
logsource: {product: windows, category: process_creation}
detection: {sel: {Image: x}, condition: sel}
---
title: corr
correlation: {type: event_count, rules: [base_rule], group-by: [User], timespan: 5m,
              condition: {gte: 10}}
"""
    correlation = SigmaCollection.from_yaml(text).rules[1]
    verdict = evaluate_rule(correlation, sysmon(Image="x"))  # type: ignore[arg-type]
    assert verdict.matched is None and "correlation" in (verdict.unsupported or "")


def test_retired_pipe_condition_is_unsupported() -> None:
    rule = load("sel:\n  EventID: 4625\ncondition: sel | count() by User > 5",
                "product: windows\n  service: security")
    assert "pipe syntax" in (compile_rule(rule).unsupported or "")


def test_evaluate_rule_matches_compiled_evaluate() -> None:
    rule = load("sel:\n  Image: 'x'\ncondition: sel")
    event = sysmon(Image="X")
    assert evaluate_rule(rule, event) == compile_rule(rule).evaluate(event) == Verdict(True)


def test_detection_matches_ignores_logsource() -> None:
    compiled = compile_rule(load("sel:\n  Image: 'x'\ncondition: sel"))
    assert compiled.detection_matches({"Image": "x"}) is True
    assert compiled.in_logsource({"Image": "x"}) is False


def test_non_rule_is_an_error() -> None:
    with pytest.raises(ReferenceEvaluationError):
        compile_rule("title: x")  # type: ignore[arg-type]


def test_every_fact_cites_the_sigma_specification() -> None:
    assert all("sigma-specification" in fact.doc for fact in SIGMA_SEMANTICS.values())


# --- corpus (skipped when ../shared/corpus is absent) -----------------------------------------


@pytest.mark.skipif(not (CORPUS / "sigmahq").is_dir(), reason="shared corpus not available")
def test_sigmahq_process_creation_rules_compile() -> None:
    files = sorted((CORPUS / "sigmahq/rules/windows/process_creation").rglob("*.yml"))
    assert files
    reasons: Counter[str] = Counter()
    total = ok = 0
    for path in files:
        for rule in SigmaCollection.from_yaml(path.read_text(), collect_errors=True).rules:
            total += 1
            compiled = compile_rule(rule)
            if compiled.unsupported is None:
                ok += 1
            else:
                reasons[f"{path.name}: {compiled.unsupported}"] += 1
    print(f"\n{ok}/{total} process_creation rules compile without 'unsupported'")
    for reason, count in reasons.most_common():
        print(f"  {count} x {reason}")
    assert ok >= 0.95 * total


def _regression_cases() -> list[tuple[Path, dict[str, Any]]]:
    """(rule file, info.yml) pairs of SigmaHQ's regression data."""
    rules: dict[str, Path] = {}
    for folder in ("rules", "rules-emerging-threats", "rules-threat-hunting"):
        for path in (CORPUS / "sigmahq" / folder).rglob("*.yml"):
            doc = yaml.safe_load(path.read_text())
            if isinstance(doc, dict) and "id" in doc:
                rules[str(doc["id"])] = path
    cases = []
    for info_path in (CORPUS / "sigmahq/regression_data").rglob("info.yml"):
        info = yaml.safe_load(info_path.read_text())
        rule_id = str(info["rule_metadata"][0]["id"])
        if rule_id in rules:
            cases.append((rules[rule_id], info))
    return cases


def _flatten_evtx_json(obj: dict[str, Any]) -> dict[str, Any]:
    """Flatten the Event.System / EventData / UserData export into a flat Sigma-style event."""
    event = obj["Event"]
    system = event["System"]
    flat: dict[str, Any] = {"EventID": system.get("EventID"), "Channel": system.get("Channel"),
                            "Computer": system.get("Computer")}
    data = event.get("EventData")
    if isinstance(data, dict):
        flat.update({k: v for k, v in data.items() if k != "#attributes"})
    for section in (event.get("UserData") or {}).values():  # e.g. WMI-Activity's Operation_*
        if isinstance(section, dict):
            flat.update({k: v for k, v in section.items() if k != "#attributes"})
    return flat


def _json_objects(text: str) -> list[dict[str, Any]]:
    """Parse one or several concatenated JSON objects."""
    decoder, offset, out = json.JSONDecoder(), 0, []
    while True:
        while offset < len(text) and text[offset].isspace():
            offset += 1
        if offset >= len(text):
            return out
        obj, offset = decoder.raw_decode(text, offset)
        out.append(obj)


@pytest.mark.skipif(
    not (CORPUS / "sigmahq/regression_data").is_dir(), reason="shared corpus not available"
)
def test_sigmahq_regression_events_match_their_rules() -> None:
    """SigmaHQ ships real events per rule with the expected number of hits: the oracle must
    agree on nearly all (the rest are data issues, printed for review)."""
    agree, disagree = 0, []
    for rule_path, info in _regression_cases():
        compiled = compile_rule(SigmaCollection.from_yaml(rule_path.read_text()).rules[0])
        for test in info.get("regression_tests_info", []):
            json_path = (CORPUS / "sigmahq" / test["path"]).with_suffix(".json")
            if "match_count" not in test or not json_path.is_file():
                continue
            events = [_flatten_evtx_json(o) for o in _json_objects(json_path.read_text())]
            got = sum(1 for e in events if compiled.evaluate(e).matched)
            if got == test["match_count"]:
                agree += 1
            else:
                disagree.append(f"{rule_path.name}: {got} hits, expected {test['match_count']}"
                                f" ({compiled.unsupported or 'evaluable'})")
    print(f"\nregression data: {agree} agree, {len(disagree)} disagree")
    for line in disagree:
        print("  " + line)
    assert agree >= 0.9 * (agree + len(disagree))


@pytest.mark.parametrize(
    "value, expected",
    [("'?*'", [False, True, True]), ("'*?'", [False, True, True]), ("'*?*'", [False, True, True]),
     ("'a?c'", [False, False, True])],
)
def test_single_wildcard_next_to_multi(value: str, expected: list[bool]) -> None:
    """'?' beside '*' is one character, not a literal (the fast paths must not take it)."""
    from sigma.collection import SigmaCollection

    rule = SigmaCollection.from_yaml(
        "title: t\nlogsource: {product: windows, category: process_creation}\n"
        f"detection:\n  sel:\n    User: {value}\n  condition: sel\n"
    ).rules[0]
    compiled = compile_rule(rule)
    got = [
        compiled.evaluate(
            {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "User": u}
        ).matched
        for u in ["", "a", "abc"]
    ]
    assert got == expected


# --- compiled shapes: star globs without a regex, OR-ed literals on one field, the fold cache ---

_GLOB_ITEMS = st.lists(st.one_of(st.just("*"), st.text(alphabet="ab*", min_size=1, max_size=2)),
                       max_size=5)


@settings(max_examples=300)
@given(items=_GLOB_ITEMS, text=st.text(alphabet="abAB", max_size=7), search=st.booleans())
def test_star_glob_agrees_with_a_regex(items: list[str], text: str, search: bool) -> None:
    """The regex-free matcher of '*'-only patterns decides like the regex it replaces."""
    import re

    from sigma.types import SpecialChars

    from converter.reference.values import glob

    parts: list[Any] = []
    for item in items:
        part = SpecialChars.WILDCARD_MULTI if item == "*" else item.replace("*", "")
        if part == "":
            continue
        if isinstance(part, str) and parts and isinstance(parts[-1], str):
            parts[-1] += part
        else:
            parts.append(part)
    source = "".join(".*" if p is SpecialChars.WILDCARD_MULTI else re.escape(p) for p in parts)
    find = re.search if search else re.fullmatch
    for cased in (True, False):
        folded = text if cased else text.lower()
        expected = find(source if cased else source.lower(), folded, re.DOTALL) is not None
        assert glob(tuple(parts), cased, search)(folded) is expected


def test_ored_literals_on_one_field_keep_each_shape() -> None:
    det = ("sel:\n  Image|endswith: ['\\a.exe', '\\b.exe']\n  Image|startswith: 'C:\\x\\'\n"
           "sel2:\n  - CommandLine|contains: [' -x ', 'evil']\n  - CommandLine: ['run', 'a*b?c']\n"
           "condition: sel or sel2")
    assert hits(det, {"Image": "C:\\x\\A.EXE"}, {"Image": "c:\\y\\b.exe"}, {"Image": "C:\\x\\c"},
                {"CommandLine": "an EVIL one"}, {"CommandLine": "RUN"},
                {"CommandLine": "run it"}, {"CommandLine": "aXbYc"}, {"CommandLine": "abc"}) == [
        True, False, False, True, True, False, True, False]


def test_a_shared_fold_cache_gives_the_same_verdicts() -> None:
    first = compile_rule(load("sel: {CommandLine|contains: 'WHO'}\ncondition: sel"))
    second = compile_rule(load("sel: {CommandLine|endswith: 'AMI'}\ncondition: sel"))
    event = sysmon(CommandLine="whoami")
    cache: dict[str, Any] = {}
    assert first.evaluate(event, cache).matched and second.evaluate(event, cache).matched
    assert cache == {"CommandLine": "whoami"}


# --- PCRE's ASCII shorthand classes -------------------------------------------------------------

ASCII_PATTERNS = [r"x\dy", r"^\w+$", r"a\sb", r"\bword\b", r"[\w.-]+@", r"[^\s]{3}", r"\D\W\S", r"no\Bpe"]


@settings(max_examples=300, deadline=None)
@given(
    pattern=st.sampled_from(ASCII_PATTERNS),
    text=st.text(alphabet=st.sampled_from("xyab09_ .-@\t\x0b\u00a0\u0663\u00e9\u212aword"), max_size=12),
)
def test_shorthand_classes_are_ascii_as_in_pcre(pattern: str, text: str) -> None:
    """The reference reads ``\\d \\w \\s \\b`` as PCRE does (ASCII), like every target engine."""
    from converter.reference.values import compiled_regex
    import re

    assert compiled_regex(pattern, 0).search(text) == (re.search(pattern, text, re.ASCII) is not None)


def test_shorthand_rewrite_keeps_escapes_and_classes() -> None:
    from converter.reference.values import Unsupported, ascii_shorthands

    assert ascii_shorthands(r"a\\d") == r"a\\d"  # an escaped backslash, then a literal d
    assert ascii_shorthands(r"[\]\d]") == r"[\]0-9]"
    assert ascii_shorthands(r"[\b]") == r"[\b]"  # backspace inside a class
    with pytest.raises(Unsupported):
        ascii_shorthands(r"[\D]")


def test_unicode_digit_does_not_satisfy_backslash_d() -> None:
    rule = SigmaRule.from_yaml(textwrap.dedent(r"""
        title: digits
        logsource: {product: windows, category: process_creation}
        detection:
          sel: {CommandLine|re: 'x\dy'}
          condition: sel
    """))
    compiled = compile_rule(rule)
    base = {"Channel": SYSMON, "EventID": 1}
    assert compiled.evaluate({**base, "CommandLine": "x3y"}).matched is True
    assert compiled.evaluate({**base, "CommandLine": "x\u0663y"}).matched is False
