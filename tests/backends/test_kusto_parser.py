"""The Kusto interpreter: parse errors, refusals, and the checker catching a non-exact `has`."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.kusto.parser import parse
from backends.query.ast import And, Equals
from backends.query.errors import QueryParseError, UnsupportedQueryError
from backends.query.evaluate import matches
from converter.checking.checker import Checker
from converter.events.render import SampleEvent
from converter.generate.generator import generate_events
from converter.rules.load import load_rules

ROOT = Path(__file__).resolve().parents[2]


def test_table_is_a_case_sensitive_pseudo_column() -> None:
    tree = parse("DeviceProcessEvents\n| where FileName =~ 'a'")
    assert isinstance(tree, And)
    assert tree.children[0] == Equals(field="$table", value="DeviceProcessEvents", case_sensitive=True)


def test_parse_error_names_line_and_column() -> None:
    with pytest.raises(QueryParseError) as err:
        parse('T\n| where FileName =~ "a" and')
    assert err.value.line == 2


@pytest.mark.parametrize(
    "query",
    [
        'f =~ "Ärger"',  # undocumented non-ASCII folding
        'f contains "straße"',
        'f has "größe"',  # which non-ASCII characters are term characters
        "isnull(f)",  # meaning depends on the column type
        'f == "a\\rb"',  # an undocumented escape
        'not(ipv4_is_in_range(ip, "10.0.0.0/8"))',  # null on non-addresses, dropped under not
        'ipv6_is_match(ip, "10.0.0.0/33")',  # no IP-prefix literal
        'ipv6_is_match(ip, "fe80::1%eth0/64")',  # a zone index: not documented
        'ipv6_is_match(ip, "10.0.0.0/8", 16)',  # the prefix argument is not evaluated
        "tostring(DeviceDetail.n) == 5",  # tostring() is a string: not the property's number
        "tostring(parse_json(R).n) in (1, 2)",
    ],
)
def test_undocumented_behaviour_is_refused(query: str) -> None:
    with pytest.raises(UnsupportedQueryError):
        parse(query)


def test_case_sensitive_non_ascii_is_fine() -> None:
    assert matches(parse('f == "Ärger"'), {"f": "Ärger"})
    assert not matches(parse('f == "Ärger"'), {"f": "ärger"})


def test_invalid_regex_is_a_parse_error() -> None:
    with pytest.raises(QueryParseError):
        parse('f matches regex "(?=x)"')


def test_checker_catches_has_where_the_rule_means_contains(monkeypatch: pytest.MonkeyPatch) -> None:
    """An emitter that used `has` for `contains` (fast, but term matching) is caught on events."""
    path = ROOT / "tests/data/kusto_has_rule.yml"
    (loaded,) = load_rules([path])
    # The generated events wrap the value in spaces and quotes (term boundaries), so they alone
    # would not tell `has` from `contains`; a value with letters around it does.
    kind = {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1}
    events = generate_events(loaded.rule) + [
        SampleEvent({**kind, "CommandLine": line}) for line in ("xrundll32x", "rundll32.exe", "run")
    ]
    checker = Checker(["kusto"])
    good = checker.check(loaded, events).targets["kusto"]
    assert good.equivalent is True, good.reason
    real = checker.converters["kusto"].convert

    def with_has(item):  # type: ignore[no-untyped-def]
        conversion = real(item)
        conversion.queries = [q.replace(" contains ", " has ") for q in conversion.queries]
        assert all(" has " in q for q in conversion.queries)
        return conversion

    monkeypatch.setattr(checker.converters["kusto"], "convert", with_has)
    bad = checker.check(loaded, events).targets["kusto"]
    assert bad.equivalent is False
    assert any("xrundll32x" in str(events[d.event].fields) for d in bad.disagreements)


# --- event-side folding: Microsoft documents the case-insensitive operators with ASCII only ---
# (semantics nonascii_case_folding): on an event whose verdict depends on the reading, the
# interpreter must not decide (FoldingUndecided), so `check` cannot call the query equivalent.


@pytest.mark.parametrize(
    ("query", "value"),
    [
        ('f =~ "link"', "L\u0130NK"),  # İ: simple lowercase i; ASCII and case folding keep it
        ('f =~ "link"', "l\u0131nk"),  # ı: .NET ToUpperInvariant gives I; the others keep it
        ('f =~ "kb"', "\u212aB"),  # Kelvin sign: k under simple lowercase and case folding
        ('f contains "ssh"', "x\u017fsh"),  # ſ: s only under Unicode case folding
        ('f startswith "stra"', "\u017fTRA"),
        ('f endswith "is"', "x\u0130S"),
        ('f in~ ("kill", "x")', "\u212aILL"),
        ('f has "kill"', "a \u212aill b"),  # `has` folds (undocumented) like =~
        ('f has_any ("ssh", "x")', "a \u017fsh b"),
    ],
)
def test_event_verdict_depending_on_the_reading_is_undecided(query: str, value: str) -> None:
    from backends.query.errors import FoldingUndecided

    with pytest.raises(FoldingUndecided):
        matches(parse(query), {"f": value})


@pytest.mark.parametrize(
    ("query", "value", "expected"),
    [
        ('f =~ "link"', "LINK", True),  # ASCII partners: every reading agrees
        ('f =~ "ssh"', "\u1e9eSH", False),  # ẞ: lowercase ß under each reading, never s
        ('f contains "os"', "\u039f\u03a3", False),  # Greek capitals are not ASCII o, s
        ('f contains "ab"', "x\u03c2AB", True),  # ς elsewhere in the value changes nothing
        ('f =~ "kb"', "KB", True),
        ('f !~ "kb"', "kb", False),
        ('f has "kill"', "a KILL b", True),
        ('f has "kill"', "a \u00e9KILL b", True),  # é is not a term character in any reading
        ('f == "link"', "L\u0130NK", False),  # case-sensitive: one reading, no folding
    ],
)
def test_event_verdict_the_readings_agree_on(query: str, value: str, expected: bool) -> None:
    assert matches(parse(query), {"f": value}) is expected


def test_generated_events_alone_catch_has(monkeypatch: pytest.MonkeyPatch) -> None:
    """The generator glues letters to a `contains` value ('qrundll32q'): its events alone tell a
    whole-term `has` from substring containment."""
    (loaded,) = load_rules([ROOT / "tests/data/kusto_has_rule.yml"])
    events = generate_events(loaded.rule)
    assert any("qrundll32q" in str(e.fields.get("CommandLine", "")).lower() for e in events)
    checker = Checker(["kusto"])
    assert checker.check(loaded, events).targets["kusto"].equivalent is True
    real = checker.converters["kusto"].convert

    def with_has(item):  # type: ignore[no-untyped-def]
        conversion = real(item)
        conversion.queries = [q.replace(" contains ", " has ") for q in conversion.queries]
        return conversion

    monkeypatch.setattr(checker.converters["kusto"], "convert", with_has)
    assert checker.check(loaded, events).targets["kusto"].equivalent is False


@pytest.mark.parametrize(("query", "rows"), [
    # `==` with a null is false and `!=` true (semantics bool_equality), so not() keeps the row.
    ("T | where b == true", [True, False, False]),
    ("T | where b == false", [False, True, False]),
    ("T | where not(b == true)", [False, True, True]),
    ("T | where b != true", [False, True, True]),
])
def test_bool_literal_on_a_bool_column(query: str, rows: list[bool]) -> None:
    events = [{"$table": "T", "b": True}, {"$table": "T", "b": False}, {"$table": "T"}]
    assert [matches(parse(query), e) for e in events] == rows


def test_bool_literal_has_no_ordering() -> None:
    with pytest.raises(UnsupportedQueryError, match="ordering comparison"):
        parse("T | where b > true")
