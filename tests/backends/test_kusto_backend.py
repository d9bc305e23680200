"""The Kusto emitter: the stock pySigma Kusto backend's semantic bugs, each reproduced and fixed,
and every emitted query parsed back by the Kusto interpreter and checked against the reference.

Stock bugs (AttackIQ/pySigma-backend-kusto): ``?`` widened to ``*`` (#13), ``contains|all`` with
wildcards widened into unordered ``contains`` pieces (#14), garbled ``not((...))`` (#34), and
Sigma's ``re|i`` flag lost.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sigma.backends.kusto import KustoBackend
from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import SetStateTransformation

from backends.kusto.backend import SigportKustoBackend
from backends.kusto.parser import parse
from backends.query.evaluate import matches
from converter.events.render import read_jsonl, sample_events_path
from converter.reference.evaluator import compile_rule
from converter.rules.load import load_rules

ROOT = Path(__file__).resolve().parents[2]
ZOOM = ROOT / "sigma_rules/windows/process_creation/proc_creation_win_zoom_suspicious_child_process.yml"


#: The logsource fields of a Sysmon process-creation record (the reference checks them).
SYSMON_1 = {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1}


def stock_agrees(detection: str, value: str, field: str = "f") -> bool:
    """Does the stock backend's query give the reference's verdict on {field: value}?"""
    collection = rule(detection)
    (query,) = KustoBackend(table_pipeline()).convert(collection)
    sigma = compile_rule(collection.rules[0]).evaluate({**SYSMON_1, field: value}).matched
    return bool(sigma) == matches(parse(f"T | where {query}"), {"$table": "T", field: value})


def rule(detection: str) -> SigmaCollection:
    return SigmaCollection.from_yaml(
        "title: t\nstatus: test\nlogsource: {product: windows, category: process_creation}\n"
        "detection:\n" + detection
    )


def table_pipeline() -> ProcessingPipeline:
    return ProcessingPipeline(
        items=[ProcessingItem(SetStateTransformation("query_table", "T"), identifier="t")]
    )


def kusto(detection: str) -> str:
    (query,) = SigportKustoBackend(table_pipeline()).convert(rule(detection))
    return query


def agree(detection: str, values: list[str], field: str = "f") -> list[bool]:
    """For each value: does the emitted query give the reference's verdict on {field: value}?"""
    collection = rule(detection)
    (query,) = SigportKustoBackend(table_pipeline()).convert(collection)
    tree = parse(query)
    reference = compile_rule(collection.rules[0])
    out = []
    for value in values:
        sigma = reference.evaluate({**SYSMON_1, field: value}).matched
        ours = matches(tree, {"$table": "T", field: value})
        out.append(bool(sigma) == ours)
    return out


def test_zoom_rule_on_defender_and_sentinel() -> None:
    from converter.conversion.convert import Converter

    (loaded,) = load_rules([ZOOM])
    defender = Converter("kusto").convert(loaded)
    # `s` and `i` have case partners beyond ASCII (ſ, İ) whose folding by Kusto is undocumented:
    # those values are exact class regexes, the others stay `=~`.
    assert defender.queries == [
        'DeviceProcessEvents\n| where InitiatingProcessFileName =~ "Zoom.exe" and (FileName =~ '
        '"cmd.exe" or FileName matches regex '
        '"(?s)^[Pp][Oo][Ww][Ee][Rr][Ss][Hh][Ee][Ll][Ll]\\\\.[Ee][Xx][Ee]$" or FileName matches '
        'regex "(?s)^[Pp][Ww][Ss][Hh]\\\\.[Ee][Xx][Ee]$" or FileName matches regex '
        '"(?s)^[Pp][Oo][Ww][Ee][Rr][Ss][Hh][Ee][Ll][Ll]\\\\_[Iiİ][Ss][Ee]\\\\.[Ee][Xx][Ee]$")\n'
        '| join kind=leftsemi (DeviceInfo | where OSPlatform startswith "Windows" | distinct '
        'DeviceId) on DeviceId'
    ]
    sentinel = Converter("kusto", None, {"data_source": "sentinel"}).convert(loaded)
    assert sentinel.queries[0].startswith("SecurityEvent\n| where EventID == 4688 and (")


def test_zoom_rule_is_proven_on_its_events() -> None:
    from converter.checking.checker import Checker

    (loaded,) = load_rules([ZOOM])
    result = Checker(["kusto"]).check(loaded, read_jsonl(sample_events_path(ZOOM)))
    target = result.targets["kusto"]
    assert target.equivalent is True, target.reason
    assert target.matched == result.reference_matched


def test_question_mark_is_one_character_not_star() -> None:
    """#13: stock emits ``?`` as ``*``; here it is one code point of an anchored pattern."""
    assert not stock_agrees("  s: {f|endswith: 'a?c.exe'}\n  condition: s", "abc.exe.bak")
    assert all(agree("  s: {f|endswith: 'a?c.exe'}\n  condition: s",
                     ["xabc.exe", "xaBBc.exe", "ac.exe", "A1C.EXE"]))


def test_contains_all_with_wildcards_keeps_order_and_gaps() -> None:
    """#14: stock splits 'a*b' into `contains "a" and contains "b"` (any order)."""
    detection = "  s: {f|contains|all: ['a*b', 'c']}\n  condition: s"
    query = kusto(detection)
    assert "matches regex" in query
    assert all(agree(detection, ["xa1bxc", "b a c", "ABC", "bac"]))


def test_not_is_one_function_call() -> None:
    """#34: `not((...))` garbling; negation wraps one whole expression."""
    detection = (
        "  s: {f|endswith: '.exe'}\n  fl: {f|contains: ['temp', 'tmp']}\n"
        "  condition: s and not fl"
    )
    query = kusto(detection)
    assert 'not(f contains "temp" or f contains "tmp")' in query
    assert all(agree(detection, ["a.exe", "tmp.exe", "TEMP.EXE", "x"]))


def test_regex_case_insensitive_flag_is_kept() -> None:
    """Stock drops Sigma's |i; here letters become classes of the reference's case variants
    (RE2's (?i) would not pair i with İ as the reference's regex package does)."""
    detection = "  s: {f|re|i: 'who?ami'}\n  condition: s"
    query = kusto(detection)
    assert "(?i)" not in query and "[wW]" in query
    assert all(agree(detection, ["WHOAMI", "whami", "x WhoAmI y", "who", "\u212aw"]))


def test_regex_dollar_matches_before_final_newline_like_pcre() -> None:
    detection = "  s: {f|re: 'exe$'}\n  condition: s"
    assert all(agree(detection, ["a.exe", "a.exe\n", "a.exex"]))


def test_leading_inline_flags_are_the_rule_flags() -> None:
    detection = "  s: {f|re: '(?i)^who'}\n  condition: s"
    assert "(?i)" not in kusto(detection)
    assert all(agree(detection, ["WHOAMI", "whoami", "x who", "\u212aho"]))


def test_empty_value_is_the_empty_string() -> None:
    """Sigma '' (stock: an IndexError in the emitter) is `== ""`, flagged by the pipeline where
    "" and a missing column differ."""
    assert kusto("  s: {f: ''}\n  condition: s").endswith('f =~ ""')


@pytest.mark.parametrize("pattern", ["(?=x)y", "(a)\\1", "a{,3}", "a$b", "[[:alpha:]]", "a++", "a\\v"])
def test_regex_without_exact_re2_form_is_refused(pattern: str) -> None:
    with pytest.raises(SigmaFeatureNotSupportedByBackendError):
        kusto(f"  s: {{f|re: '{pattern}'}}\n  condition: s")


def test_cased_values_use_case_sensitive_operators() -> None:
    query = kusto("  s: {f|cased|contains: 'AbC'}\n  condition: s")
    assert 'f contains_cs "AbC"' in query
    assert kusto("  s: {f|cased: 'AbC'}\n  condition: s").endswith('f == "AbC"')


def test_non_ascii_letters_use_exact_case_classes() -> None:
    """Kusto's folding of non-ASCII letters is undocumented: such a value is a class regex."""
    detection = "  s: {f|contains: 'Ärger'}\n  condition: s"
    query = kusto(detection)
    assert "matches regex" in query and "[Ää]" in query
    assert all(agree(detection, ["xÄRGERx", "xärgerx", "arger"]))


def test_wildcards_and_escapes_round_trip() -> None:
    detection = "  s: {f: ['C:\\Win*\\\"q\"?', 'a\\*b']}\n  condition: s"
    assert all(agree(detection, ['C:\\Windows\\"q"x', 'c:\\win\\"Q"', 'a*b', 'a\\*b', 'axb']))


def test_null_and_exists_use_isempty() -> None:
    assert kusto("  s: {f: null}\n  condition: s").endswith("isempty(f)")
    assert kusto("  s: {f|exists: true}\n  condition: s").endswith("isnotempty(f)")


def test_field_names_that_are_not_identifiers_are_bracketed() -> None:
    assert "['a b'] =~" in kusto("  s: {'a b': x}\n  condition: s")


#: Address texts for the cidr tests: inside and outside each network, the other family, the
#: IPv4-mapped IPv6 form, a value carrying its own (shorter) prefix, and no address at all.
CIDR_VALUES = ["10.1.2.3", "11.0.0.1", "::ffff:10.1.2.3", "::ffff:11.0.0.1", "::10.1.2.3",
               "fe80::1", "fe7f::1", "FE80::AB", "febf:ffff::1", "::1", "10.1.2.3/4", "11.0.0.1/4",
               "fe00::1/8", "2001:db8::1/0", "10.1.2", "not an address", ""]


@pytest.mark.parametrize(
    "network", ["10.0.0.0/8", "fe80::/10", "::1/128", "::ffff:0:0/96", "0.0.0.0/0"]
)
@pytest.mark.parametrize("condition", ["s", "not s"])
def test_cidr_of_either_family_is_exact(network: str, condition: str) -> None:
    """Issue 15: an IPv6 network was refused and every negated cidr too (ipv4_is_in_range is null
    on a non-address, and not(null) drops the row); an IPv4 network missed the IPv4-mapped form.
    ipv6_is_match reads both families; the emitter keeps out values with their own /n and writes
    coalesce(..., false) under not()."""
    detection = f"  s: {{f|cidr: '{network}'}}\n  condition: {condition}"
    query = kusto(detection)
    assert "ipv6_is_match(f, " in query and "ipv4_is_in_range" not in query
    assert ("coalesce(" in query) == (condition == "not s")
    verdicts = agree(detection, CIDR_VALUES)
    assert all(verdicts), [v for v, ok in zip(CIDR_VALUES, verdicts) if not ok]


@pytest.mark.parametrize("condition", ["s", "not s"])
def test_cidr_list_is_one_guard_and_an_or_of_calls(condition: str) -> None:
    """A list of networks on one field is written with one "/" guard around the OR of the calls
    (coalesced as a whole under not(): the OR is null only when no call is true), not one guard
    per network, and stays exact."""
    detection = (f"  s: {{f|cidr: ['10.0.0.0/8', 'fe80::/10', '::1/128']}}\n"
                 f"  condition: {condition}")
    query = kusto(detection)
    assert query.count("!contains") == 1 and query.count("ipv6_is_match(") == 3, query
    assert query.count("coalesce(") == (condition == "not s"), query
    verdicts = agree(detection, CIDR_VALUES)
    assert all(verdicts), [v for v, ok in zip(CIDR_VALUES, verdicts) if not ok]


def test_cidr_on_a_missing_column_is_exact() -> None:
    """A missing string is "" to Kusto, on which ipv6_is_match is null: no match, and a match
    under not() (coalesce), as Sigma says of a missing field."""
    for condition, expected in (("s", False), ("not s", True)):
        query = kusto(f"  s: {{f|cidr: 'fe80::/10'}}\n  condition: {condition}")
        assert matches(parse(query), {"$table": "T"}) is expected


def test_keywords_are_refused() -> None:
    with pytest.raises(SigmaFeatureNotSupportedByBackendError):
        kusto("  s: [whoami]\n  condition: s")


def test_unrecorded_fields_are_those_of_the_chosen_data_source(tmp_path: Path) -> None:
    """SecurityEvent 4688 records never carry OriginalFileName: on `sentinel` a filter on it is
    evaluated away, and check proves the query on events without it (the logsource entry is the
    one of the chosen data source, not the first one of the table)."""
    from converter.checking.checker import Checker
    from converter.events.render import SampleEvent

    path = tmp_path / "r.yml"
    path.write_text(
        "title: t\nid: 5d3f0a4e-8a3c-4f51-9d55-0c3f0e8f7a21\nstatus: test\n"
        "logsource: {product: windows, category: process_creation}\n"
        "detection:\n  s: {CommandLine|contains: whoami}\n  f: {OriginalFileName: whoami.exe}\n"
        "  condition: s and not f\n",
        encoding="utf-8",
    )
    (loaded,) = load_rules([path])
    kind = {"Channel": "Security", "EventID": 4688}
    events = [
        SampleEvent({**kind, "CommandLine": "whoami /all", "OriginalFileName": "whoami.exe"}),
        SampleEvent({**kind, "CommandLine": "whoami /all"}),
        SampleEvent({**kind, "CommandLine": "net user"}),
    ]
    result = Checker(["kusto"], data_source="sentinel").check(loaded, events)
    target = result.targets["kusto"]
    assert target.query.startswith("SecurityEvent\n")
    assert target.equivalent is True, target.reason
    assert target.matched == [0, 1]


@pytest.mark.parametrize(
    "value, partner",
    [("kill", "\u212aill"), ("sys", "\u017fys"), ("cmd", None)],
    ids=["kelvin", "long-s", "plain"],
)
def test_letters_whose_partners_depend_on_kustos_folding_are_class_regexes(
    value: str, partner: str | None
) -> None:
    """`k`, `s` and `i` have case partners beyond ASCII under some candidate reading of Kusto's
    undocumented folding (Kelvin sign, ſ, İ): a case-insensitive operator on them would be exact
    only under one reading, so the emitter writes a case-sensitive class regex that is exact under
    all; a value without such letters keeps `=~`."""
    query = kusto(f"  s: {{f: '{value}'}}\n  condition: s")
    if partner is None:
        assert query == f'T\n| where f =~ "{value}"'
        return
    assert "=~" not in query and "matches regex" in query, query
    # The regex is case-sensitive and lists the partners Sigma's reading gives, so it agrees with
    # the reference on the partner spelling whatever Kusto's own folding is.
    assert agree(f"  s: {{f: '{value}'}}\n  condition: s", [value.upper(), partner]) == [True, True]


def _agree_on_events(detection: str, events: list[dict[str, object]]) -> list[bool]:
    """For each event: does the emitted query give the reference's verdict?"""
    collection = rule(detection)
    (query,) = SigportKustoBackend(table_pipeline()).convert(collection)
    tree = parse(query)
    reference = compile_rule(collection.rules[0])
    return [
        bool(reference.evaluate({**SYSMON_1, **event}).matched)
        == matches(tree, {"$table": "T", **event})
        for event in events
    ]


NUMBER_EVENTS: list[dict[str, object]] = [{"f": "x"}, {"f": "x", "p": 3}, {"f": "x", "p": 7}, {"f": "y"}]


@pytest.mark.parametrize(
    "detection",
    [
        "  s: {f: x}\n  n: {p|gt: 5}\n  condition: s and not n",
        "  s: {f: x}\n  n: {p|lte: 5}\n  condition: s and not n",
        "  s: {f: x}\n  n: {p|gte: 4, f: x}\n  condition: not (n or not s)",
        "  s: {f: x}\n  n: {p: 7}\n  condition: s and not n",
        "  s: {f: x}\n  n: {p: [3, 7]}\n  condition: s and not n",
        "  s: {f: x}\n  n: {p|lt: 5}\n  condition: s and not (not n)",
    ],
)
def test_negated_number_test_on_a_missing_column_matches_like_sigma(detection: str) -> None:
    """A missing numeric column is null in Kusto: `null > 5` is null and not(null) drops the row,
    where Sigma's `not p|gt: 5` is true on an event without p (semantics null_comparisons)."""
    assert _agree_on_events(detection, NUMBER_EVENTS) == [True] * len(NUMBER_EVENTS)


def test_negated_ordering_comparison_is_coalesced() -> None:
    query = kusto("  s: {f: x}\n  n: {p|gt: 5}\n  condition: s and not n")
    assert query.endswith('f =~ "x" and not(coalesce(p > 5, false))')
    # The plain form (what the emitter wrote before) drops the event without p: the interpreter
    # (and so `check`) catches it.
    plain = parse('T | where f =~ "x" and not(p > 5)')
    assert matches(plain, {"$table": "T", "f": "x"}) is False
    assert matches(parse(query), {"$table": "T", "f": "x"}) is True
    # Outside not() a null comparison drops the row as false does: no coalesce needed.
    assert kusto("  n: {p|gt: 5}\n  condition: n").endswith("| where p > 5")


def test_number_on_a_string_column_is_compared_as_text() -> None:
    """Sigma compares a number with a string field's text ('00' is not 0); Kusto does not
    compare a string column with a long. The pipeline lists the numeric columns."""
    pipeline = ProcessingPipeline(items=[
        ProcessingItem(SetStateTransformation("query_table", "T"), identifier="t"),
        ProcessingItem(SetStateTransformation("numeric_columns", ["n"]), identifier="n"),
    ])
    collection = rule("  s: {f: 0, n: 0, g: [1, 2]}\n  condition: s")
    (query,) = SigportKustoBackend(pipeline).convert(collection)
    assert query.endswith('f == "0" and n == 0 and (g in ("1", "2"))')
    reference = compile_rule(collection.rules[0])
    tree = parse(query)
    for event in ({"f": "00", "n": 0, "g": "1"}, {"f": "0", "n": 0, "g": "2"},
                  {"f": "0", "n": 0, "g": "01"}):
        assert matches(tree, {"$table": "T", **event}) == bool(
            reference.evaluate({**SYSMON_1, **event}).matched), event
    with pytest.raises(SigmaFeatureNotSupportedByBackendError):
        SigportKustoBackend(pipeline).convert(rule("  s: {f|gt: 5}\n  condition: s"))


def test_cased_list_keeps_no_sigma_escape() -> None:
    """A |cased list on a string column of the table: its values were written with str(),
    which keeps Sigma's escapes, so 'a\\?b' (a literal '?') became the text 'a\\\\?b' in the
    query and never matched 'a?b' (found by check --generate on a generated rule)."""
    from converter.checking.checker import Checker
    from converter.conversion.convert import Converter
    from converter.generate.generator import generate_events
    from converter.rules.load import load_text

    text = ("title: t\nlogsource: {product: windows, category: image_load}\n"
            "detection: {sel: {Image|cased: ['C:\\\\a\\?b.exe', 'x']}, condition: sel}\n")
    (loaded,) = load_text(text, "r.yml")
    query = Converter("kusto").convert(loaded).queries[0]
    assert 'in ("C:\\\\a?b.exe", "x")' in query, query
    result = Checker(["kusto"]).check(loaded, generate_events(loaded.rule))
    assert result.targets["kusto"].equivalent is True, result.targets["kusto"].reason
