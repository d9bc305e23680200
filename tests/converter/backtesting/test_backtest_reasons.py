"""``backtest`` and ``check`` read a target's warnings by one rule
(``backends.common.declared_approximations``): a fact of the data source the query relies on
(``Conversion.exact_warnings``: Defend never records Description, so a branch testing it is
dropped and the query is exact there) declares no approximation. The backtest quoted every
warning, so such a target was "not proven" there and "equivalent" in check on the same events."""

from __future__ import annotations

import json
from pathlib import Path

from converter.backtesting.run import run_backtest
from converter.checking.run import CheckOptions, check_rules
from helpers import SYSMON, WHOAMI_RULE
from helpers import sysmon_process as _proc

RULE = WHOAMI_RULE.replace(
    "  condition: selection and not filter",
    "  alt:\n    Description: 'Foo'\n  condition: (selection and not filter) or alt",
)
EVENTS = [
    _proc("C:\\Windows\\System32\\whoami.exe", "C:\\Windows\\System32\\cmd.exe", "whoami /all"),
    _proc("C:\\Windows\\System32\\net.exe", "C:\\Windows\\System32\\cmd.exe", "net user"),
    {"EventID": 13, "Channel": SYSMON, "EventType": "SetValue", "Image": "C:\\reg.exe",
     "TargetObject": "HKLM\\Software\\Other", "Details": "1"},
]
TARGETS = ("eql", "lucene", "kql")


def test_backtest_and_check_give_one_verdict_and_reason(tmp_path: Path) -> None:
    rule = tmp_path / "rule.yml"
    rule.write_text(RULE, encoding="utf-8")
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in EVENTS), encoding="utf-8")
    backtest = run_backtest([rule], [events], targets=list(TARGETS), workers=1).to_json()
    check = check_rules([rule], CheckOptions(events=(events,), targets=TARGETS)).to_json()
    replayed, checked = backtest["rules"][0]["targets"], check["rules"][0]["targets"]
    for name in TARGETS:
        assert any("never records Description" in w for w in replayed[name]["warnings"]), name
        assert replayed[name]["equivalent"] == checked[name]["equivalent"], name
        assert "never records" not in (replayed[name]["reason"] or ""), name
    assert replayed["eql"]["reason"] is None and replayed["lucene"]["reason"] is None
    # kql: a length limit (keyword ignore_above) is left open by both, each in its own words
    # (check names the leaf no event decided; the backtest does not look for one).
    assert "ignore_above" in checked["kql"]["reason"] and "ignore_above" in replayed["kql"]["reason"]
    # eql and lucene are exact on Defend (the dropped branch is a fact of the data source).
    assert replayed["eql"]["equivalent"] is True and replayed["lucene"]["equivalent"] is True
