"""The backtest keeps the regex translations its trees' compilation used
(``backends/query/pattern_memo.py``) in the persistent cache (per routing group, and with each
target what its query's parse used): a warm run compiles its trees
without translating a regex again, with the same report; the entries are sigport's code's own."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from backends.query import evaluate, pattern_memo
from backends.query.sre import sre_parse
from converter.backtesting.run import run_backtest
from converter.conversion import cache
from converter.conversion.cache import code_fingerprint

SYSMON = "Microsoft-Windows-Sysmon/Operational"
TIMING = ("elapsed_s", "prepare_s", "events_per_s", "phases_s")
#: Targets whose queries hold the rule's regex in each dialect: PCRE, Lucene RegExp, RE2.
TARGETS = ["splunk", "lucene", "kusto"]

RULE = """\
title: Regex
id: 22222222-2222-4222-8222-222222222222
status: test
logsource: {product: windows, category: process_creation}
detection:
  selection:
    CommandLine|re: 'who(am|ls)i\\s+/[a-z]+'
  condition: selection
level: low
"""


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "regex.yml").write_text(RULE, encoding="utf-8")
    events = tmp_path / "events.jsonl"
    lines = [{"Channel": SYSMON, "EventID": 1, "Image": "C:\\Windows\\System32\\whoami.exe",
              "CommandLine": line} for line in ("whoami /all", "whoami", "whoami  /priv")]
    events.write_text("".join(json.dumps(e) + "\n" for e in lines), encoding="utf-8")
    return rules, events


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The patterns Python's regex parser reads (every translator parses with it)."""
    seen: list[str] = []
    real = sre_parse.parse

    def counting(text: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(sre_parse, "parse", counting)
    return seen


@pytest.fixture
def seeded(monkeypatch: pytest.MonkeyPatch) -> set[Any]:
    """The translations read back (``pattern_memo.seed``)."""
    keys: set[Any] = set()
    real = pattern_memo.seed

    def seed(results: Any) -> bool:
        done = real(results)
        if done:
            keys.update(results)
        return done

    monkeypatch.setattr(pattern_memo, "seed", seed)
    return keys


def _forget(monkeypatch: pytest.MonkeyPatch) -> None:
    """A new process's memory: no translation nor compiled leaf remembered."""
    monkeypatch.setattr(pattern_memo, "_RESULTS", {})
    evaluate._compile_cached.cache_clear()


def _translated(seeded: set[Any]) -> set[Any]:
    """The translations this process made itself (not read back)."""
    return set(pattern_memo._RESULTS) - seeded


def _report(rules: Path, events: Path) -> dict[str, Any]:
    data = run_backtest([rules], [events], workers=1, targets=TARGETS).to_json()
    for key in TIMING:
        data.pop(key, None)
    return data


def _entries() -> list[Path]:
    return sorted(p for p in Path(os.environ[cache.ENV_DIR]).rglob("*.pickle")
                  if p.parent.parent.name == "backtest-patterns")


def test_a_warm_run_translates_no_regex_and_reports_the_same(
    inputs: tuple[Path, Path], parses: list[str], seeded: set[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rules, events = inputs
    _forget(monkeypatch)
    first = _report(rules, events)
    assert {t: first["rules"][0]["targets"][t]["hits"] for t in TARGETS} == {
        t: 2 for t in TARGETS}  # every target's tree was compiled and ran
    # Kept beside the rule's targets (what parsing a query used: the Kusto and Splunk parsers
    # check leaves as they lower them, which compiles them) or in the entry of the rules'
    # routing group (one here: every event is a Sysmon process creation).
    assert len(_entries()) == 1
    assert {key[0] for key in pattern_memo._RESULTS} == {
        "pcre_regex", "lucene_regex", "re2_plain_shape"}
    _forget(monkeypatch)
    parses.clear()
    seeded.clear()
    assert _report(rules, events) == first
    # The translations were read back, not made again.
    assert parses == [] and not _translated(seeded) and len(seeded) == 3
    # Entries that are not what a recording holds are a miss: translated again, rewritten.
    for entry in _entries():
        entry.write_bytes(b"not a pickle")
    _forget(monkeypatch)
    seeded.clear()
    assert _report(rules, events) == first and parses
    # Kusto's is read from the rule's entry (its parser compiled the leaf).
    assert {key[0] for key in _translated(seeded)} == {"lucene_regex", "pcre_regex"}
    _forget(monkeypatch)
    parses.clear()
    seeded.clear()
    assert _report(rules, events) == first and parses == [] and not _translated(seeded)


def test_a_change_to_sigport_does_not_read_the_translations(
    inputs: tuple[Path, Path], parses: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rules, events = inputs
    _forget(monkeypatch)
    first = _report(rules, events)
    code_fingerprint.cache_clear()
    monkeypatch.setattr(cache, "_dependency_versions", lambda: ["sigport==999"])
    try:
        _forget(monkeypatch)
        parses.clear()
        assert _report(rules, events) == first
    finally:
        code_fingerprint.cache_clear()
    assert parses  # translated again under the new code
    assert len({p.parent for p in _entries()}) == 2  # and kept apart from the old code's
