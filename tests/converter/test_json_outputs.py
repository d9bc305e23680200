"""The machine-readable outputs carry a schema version (README "JSON outputs")."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from converter.api import BACKTEST_SCHEMA_VERSION, REPORT_SCHEMA_VERSION
from converter.cli import main

RULE = """\
title: Whoami
id: 44444444-4444-4444-8444-444444444444
status: test
logsource: {product: windows, category: process_creation}
detection:
  selection:
    Image|endswith: '\\\\whoami.exe'
  condition: selection
"""


def test_convert_report_has_a_schema_version(tmp_path: Path) -> None:
    rule = tmp_path / "r.yml"
    rule.write_text(RULE, encoding="utf-8")
    report = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["convert", str(rule), "-t", "eql", "--report", str(report)])
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["schema_version"] == REPORT_SCHEMA_VERSION == 1
    assert set(data["rules"][0]) >= {"path", "id", "title", "target", "status", "reason", "output",
                                     "warnings"}


def test_backtest_json_has_a_schema_version(tmp_path: Path) -> None:
    rule = tmp_path / "r.yml"
    rule.write_text(RULE, encoding="utf-8")
    events = tmp_path / "e.jsonl"
    events.write_text(
        json.dumps({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
                    "Image": "C:\\Windows\\System32\\whoami.exe"}) + "\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        main, ["backtest", str(rule), "--events", str(events), "-t", "eql", "--format", "json",
               "--workers", "1"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema_version"] == BACKTEST_SCHEMA_VERSION == 1
    assert data["rules"][0]["reference"]["hits"] == 1


def test_backtest_json_layout() -> None:
    """One top-level key a line, one rule a line under ``rules``, a newline at the end; JSON
    escapes every control character (ESC too), so nothing is left for a terminal to read."""
    from io import StringIO

    from converter.cli.backtest import _write_json

    out = StringIO()
    _write_json({"a": 1, "rules": [{"t": "x\x1b\u2028é"}, {"t": 2}], "b": [], "c": {"d": None}},
                out.write)
    assert out.getvalue() == ('{"a": 1,\n"rules": [\n{"t": "x\\u001b\u2028é"},\n{"t": 2}\n],\n'
                              '"b": [],\n"c": {"d": null}}\n')
    empty = StringIO()
    _write_json({"rules": []}, empty.write)
    assert empty.getvalue() == '{"rules": []}\n'


def test_backtest_as_a_program_writes_its_whole_report_and_exit_code(tmp_path: Path) -> None:
    """``python -m converter.cli backtest`` ends through ``converter.cli.process.run``'s fast
    exit (no teardown): the report is whole on a pipe, the exit code the command's, with two
    worker processes (their queues' feeders joined by the atexit handlers) and with none."""
    import os
    import subprocess
    import sys

    rule = tmp_path / "r.yml"
    rule.write_text(RULE, encoding="utf-8")
    events = tmp_path / "e.jsonl"
    events.write_text("".join(
        json.dumps({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
                    "Image": f"C:\\Windows\\System32\\{name}.exe"}) + "\n"
        for name in ("whoami", "cmd") * 600), encoding="utf-8")
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "SIGPORT_NO_CACHE": "1"}
    for workers in ("1", "2"):
        done = subprocess.run(
            [sys.executable, "-m", "converter.cli", "backtest", str(rule), "--events", str(events),
             "-t", "eql", "--format", "json", "--workers", workers],
            cwd=root, env=env, capture_output=True, timeout=600)
        assert done.returncode == 0, done.stderr.decode()
        assert done.stdout.endswith(b"}\n")
        data = json.loads(done.stdout)
        assert data["events"] == 1200 and data["rules"][0]["reference"]["hits"] == 600
    empty = tmp_path / "none.jsonl"
    empty.write_text("", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "converter.cli", "backtest", str(rule), "--events", str(empty),
         "-t", "eql", "--format", "json", "--workers", "1"],
        cwd=root, env=env, capture_output=True, timeout=600)
    assert done.returncode == 2 and b"no events found" in done.stderr
