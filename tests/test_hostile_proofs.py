"""False proofs (session 10): ``check`` must not call a target equivalent on events that cannot
show it. Each test fails on the code before its fix."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from converter.cli import main

SYSMON = "Microsoft-Windows-Sysmon/Operational"
RULE = (
    "title: calc\nid: 6a0c3c7e-5555-4a1a-9a9a-000000000001\n"
    "logsource: {product: windows, category: process_creation}\n"
    "detection:\n  sel:\n    Image|endswith: '\\\\calc.exe'\n  condition: sel\n"
)


def _check(tmp_path: Path, images: list[str]) -> tuple[int, dict]:
    rule = tmp_path / "calc.yml"
    rule.write_text(RULE, encoding="utf-8")
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps({"EventID": 1, "Channel": SYSMON, "Image": image}) + "\n"
                              for image in images), encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(rule), "--events", str(events),
                                       "--format", "json"])
    return result.exit_code, json.loads(result.stdout)


def test_events_the_rule_never_matches_prove_nothing(tmp_path: Path) -> None:
    """Every target agreed on one non-matching event and was called equivalent (exit 0): a query
    that matches nothing at all would have been too."""
    code, report = _check(tmp_path, ["C:\\Windows\\notepad.exe"])
    (rule,) = report["rules"]
    assert rule["reference"]["matched"] == []
    for name, target in rule["targets"].items():
        assert target["equivalent"] is None, name
        assert target["reason"] == "not proven: no event here is one the rule matches", name
    assert code == 1 and report["equivalent"] is False


def test_one_matching_event_is_evidence_again(tmp_path: Path) -> None:
    code, report = _check(tmp_path, ["C:\\Windows\\notepad.exe", "C:\\Windows\\calc.exe"])
    (rule,) = report["rules"]
    assert rule["reference"]["matched"] == [1]
    assert all(t["equivalent"] is True for t in rule["targets"].values()), rule["targets"]
    assert code == 0
