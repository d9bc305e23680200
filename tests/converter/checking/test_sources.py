"""``check --data-source A,B``: each rule proven on each data source, counted once per target."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from converter.checking.checker import TargetResult
from converter.checking.run import CheckOptions, check_rules
from converter.checking.sources import SourcesChecker, _best, offered_data_sources
from converter.cli import main

ROOT = Path(__file__).resolve().parents[3]
ZOOM = ROOT / "sigma_rules" / "windows" / "process_creation" / "proc_creation_win_zoom_suspicious_child_process.yml"

SECURITY_RULE = """
title: a security log cleared by someone other than system
id: 81111111-2222-3333-4444-555555555555
logsource: {product: windows, service: security}
detection:
    selection:
        EventID: 1102
    filter:
        SubjectUserName: 'backup_operator'
    condition: selection and not filter
"""


def test_each_target_is_planned_on_the_data_sources_its_tables_offer() -> None:
    checker = SourcesChecker(["eql", "splunk", "kusto"], None, ["defend", "windows"])
    assert checker.sources == {"eql": ["defend", "windows"], "splunk": [None], "kusto": [None]}
    assert {"defend", "windows", "winlogbeat", "sysmon_linux"} <= offered_data_sources("eql")
    assert "defend" not in offered_data_sources("splunk")


def test_a_rule_counts_on_the_data_source_that_proves_it(tmp_path: Path) -> None:
    security = tmp_path / "security.yml"
    security.write_text(SECURITY_RULE, encoding="utf-8")
    report = check_rules(
        [ZOOM, security],
        CheckOptions(targets=("eql", "splunk"), data_sources=("defend", "windows"), generate=0),
    )
    zoom, cleared = report.results
    # Defend is listed first and proves the process rule; only the Windows integration ships
    # the Security log.
    assert zoom.targets["eql"].equivalent is True and zoom.targets["eql"].data_source == "defend"
    assert zoom.targets["eql"].data_sources == {"defend": True, "windows": True}
    eql = cleared.targets["eql"]
    assert eql.equivalent is True and eql.data_source == "windows", eql.reason
    assert eql.data_sources == {"defend": None, "windows": True}
    # Splunk does not depend on the Elastic data source: checked once, no data-source fields.
    assert cleared.targets["splunk"].data_sources is None
    assert "data_source" not in cleared.targets["splunk"].to_json()
    assert report.equivalent


def test_one_data_source_is_the_single_checker() -> None:
    report = check_rules([ZOOM], CheckOptions(targets=("eql",), data_sources=("windows",), generate=0))
    assert report.results[0].targets["eql"].data_sources is None


def test_a_target_that_differs_on_any_data_source_differs() -> None:
    proven = TargetResult("eql", "q1", equivalent=True)
    differs = TargetResult("eql", "q2", equivalent=False)
    best = _best([("defend", proven), ("windows", differs)])
    assert best is differs and best.data_source == "windows"
    assert best.data_sources == {"defend": True, "windows": False}
    unconverted = TargetResult("eql", None, reason="not converted")
    assert _best([("defend", unconverted), ("windows", TargetResult("eql", "q"))]).data_source == "windows"


def test_cli_takes_comma_separated_data_sources_and_reports_the_best(tmp_path: Path) -> None:
    security = tmp_path / "security.yml"
    security.write_text(SECURITY_RULE, encoding="utf-8")
    result = CliRunner().invoke(
        main, ["check", str(security), "-t", "eql", "--data-source", "defend,windows", "--generate",
               "--format", "json"],
    )
    assert result.exit_code == 0, result.output
    target = json.loads(result.output)["rules"][0]["targets"]["eql"]
    assert target["data_source"] == "windows" and target["data_sources"] == {"defend": None, "windows": True}
    text = CliRunner().invoke(main, ["check", str(security), "-t", "eql", "--data-source", "defend",
                                     "--data-source", "windows", "--generate"])
    assert "eql: 1 of 1 rules proven on their best data source (windows 1); 0 differ" in text.output
    bad = CliRunner().invoke(main, ["check", str(security), "--data-source", "defend,elk"])
    assert bad.exit_code == 2 and "unknown data source 'elk'" in bad.output


def test_ecs_events_need_one_data_source(tmp_path: Path) -> None:
    events = tmp_path / "e.jsonl"
    events.write_text('{"process": {"name": "cmd.exe"}}\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(ZOOM), "--events", str(events), "--schema", "ecs",
                                       "--data-source", "defend,windows"])
    assert result.exit_code == 2 and "give one --data-source" in result.output


def test_a_rule_no_data_source_converts_gives_every_data_sources_reason() -> None:
    defend = TargetResult("eql", None, reason="unsupported: Defend records no Security log")
    windows = TargetResult("eql", None, reason="unsupported: |fieldref meets deleted values")
    best = _best([("defend", defend), ("windows", windows)])
    assert best.data_source == "defend" and best.query is None
    assert best.reason == (
        "on defend: unsupported: Defend records no Security log; "
        "on windows: unsupported: |fieldref meets deleted values"
    )
    # One reason shared by every data source is given once, as it was.
    same = [(s, TargetResult("eql", None, reason="unsupported: x")) for s in ("defend", "windows")]
    assert _best(same).reason == "unsupported: x"
    # A data source that converts speaks alone, with its own reason.
    converted = TargetResult("eql", "q", equivalent=None, reason="not proven: y")
    assert _best([("defend", TargetResult("eql", None, reason="no")), ("windows", converted)]
                 ).reason == "not proven: y"
