"""Hostile inputs, round two (issue 16): undecided verdicts, unbounded expansion, archive bombs,
bad Elastic imports, passing without evidence and plain bad input reported as internal errors.

Each test reproduces one defect of the audit; memory and time are bounded by counting (a limit
that raises) or measured in a subprocess, never by wall-clock assertions.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backends.query import patterns
from converter import reference_values
from converter.backtest import run_backtest

SYSMON = "Microsoft-Windows-Sysmon/Operational"


def _rule_text(detection: str, n: int = 1) -> str:
    return (
        "title: Hostile input rule\n"
        f"id: 6a0c3c7e-2222-4a1a-9a9a-{n:012d}\n"
        "logsource:\n  category: process_creation\n  product: windows\n"
        f"detection:\n{detection}\n"
    )


# --- defect 5: a regex timeout in backtest is counted, never a silent false ------------------


def test_backtest_counts_undecided_events_and_keeps_evaluating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A short limit keeps the test fast; the value still backtracks far past it.
    monkeypatch.setattr(reference_values, "MATCH_TIME_LIMIT", 0.05)
    monkeypatch.setattr(patterns, "MATCH_TIME_LIMIT", 0.05)
    rule = tmp_path / "redos.yml"
    rule.write_text(_rule_text("  sel:\n    CommandLine|re: '^(a+)+$'\n  condition: sel"),
                    encoding="utf-8")
    events = tmp_path / "events.jsonl"
    values = ["aaa", "a" * 50_000 + "!", "aaa", "aaa", "aaa"]
    events.write_text("".join(json.dumps({"EventID": 1, "Channel": SYSMON, "CommandLine": v})
                              + "\n" for v in values), encoding="utf-8")
    report = run_backtest([rule], [events], targets=["eql", "splunk"], workers=1)
    tally = report.rules[0]
    assert tally.reference_hits == 4  # the events after the hostile one are still evaluated
    assert tally.reference_undecided["events"] == 1
    assert tally.reference_undecided["first"].endswith("events.jsonl:2")
    for name, target in tally.targets.items():
        assert target.equivalent is None, name
        assert target.hits == 4, name
        assert target.undecided is not None and target.undecided["events"] == 1, name
        assert "not proven" in target.reason and "could not decide 1 of 5" in target.reason
    assert report.undecided == 1
    assert report.to_json()["rules"][0]["reference"]["undecided"]["events"] == 1


def test_a_pattern_stops_trying_after_a_bounded_number_of_timeouts(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(patterns, "MATCH_TIME_LIMIT", 0.02)
    match = patterns.BoundedPattern(__import__("re").compile("^(a+)+$"), "^(a+)+$").search
    tries = 0
    length = 60_000
    for _ in range(patterns.MAX_TIMEOUTS):
        length -= 1000  # each shorter value is tried again (and times out again)
        with pytest.raises(patterns.MatchTimeout, match="-character value"):
            tries += 1
            match("a" * length + "!")
    with pytest.raises(patterns.MatchTimeout, match="earlier value"):  # now refused at once
        match("aaa")
    assert tries == patterns.MAX_TIMEOUTS
