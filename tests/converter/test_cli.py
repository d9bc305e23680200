"""The command line through click's CliRunner: conversion, listings, and every bad-input path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from converter.cli import main
from converter.cli.app import EXIT_INPUT, EXIT_PARTIAL

ROOT = Path(__file__).resolve().parents[2]
ZOOM = ROOT / "sigma_rules/windows/process_creation/proc_creation_win_zoom_suspicious_child_process.yml"

GOOD = """title: Good rule
id: 5f2b6a51-0000-4000-8000-000000000001
logsource: {product: windows, category: process_creation}
detection:
    sel:
        Image|endswith: '\\\\whoami.exe'
    condition: sel
level: low
"""


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def test_convert_zoom_eql(runner: CliRunner) -> None:
    result = runner.invoke(main, ["convert", str(ZOOM), "-t", "eql"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        'process where (host.os.type == "windows" and event.type == "start") and '
        # 's' and 'i' fold unlike Sigma under some ES versions (case_insensitive_folding):
        # those names are case-sensitive regexes with explicit classes.
        '(process.parent.name : "Zoom.exe" and (process.name : "cmd.exe" or process.name regex '
        '("[pP][oO][wW][eE][rR][sS][hH][eE][lL][lL]\\\\.[eE][xX][eE]", '
        '"[pP][wW][sS][hH]\\\\.[eE][xX][eE]", '
        '"[pP][oO][wW][eE][rR][sS][hH][eE][lL][lL]_[iIİ][sS][eE]\\\\.[eE][xX][eE]")))'
    )


def test_convert_from_stdin(runner: CliRunner) -> None:
    result = runner.invoke(main, ["convert", "-", "-t", "eql"], input=GOOD)
    assert result.exit_code == 0, result.output
    assert 'process.name regex "[wW][hH][oO][aA][mM][iIİ]\\\\.[eE][xX][eE]"' in result.stdout


def test_check_from_stdin(runner: CliRunner) -> None:
    # ``-`` is one rule document stream, as for convert; it was refused ("no Sigma rule files
    # found in -").
    result = runner.invoke(main, ["check", "-", "-t", "splunk", "--format", "json"], input=GOOD)
    assert result.exit_code == 0, result.output
    (rule,) = json.loads(result.stdout)["rules"]
    assert rule["path"] == "<stdin>" and rule["targets"]["splunk"]["equivalent"] is True


def test_check_from_empty_stdin_is_bad_input(runner: CliRunner) -> None:
    result = runner.invoke(main, ["check", "-", "-t", "splunk"], input="")
    assert result.exit_code == EXIT_INPUT, result.output
    assert "empty file: no Sigma rule" in result.output


def test_check_says_why_no_event_was_generated(runner: CliRunner) -> None:
    # The reference refuses a placeholder, so the generator makes no event: the error blamed the
    # rule's logsource.
    rule = GOOD.replace("Image|endswith: '\\\\whoami.exe'", "CommandLine|expand: '%foo%'")
    assert rule != GOOD
    result = runner.invoke(main, ["check", "-", "-t", "eql", "--generate"], input=rule)
    assert result.exit_code == EXIT_INPUT, result.output
    assert "the reference cannot evaluate the rule (placeholder %foo%" in result.output


def test_list_commands(runner: CliRunner) -> None:
    for what, expected in (
        ("targets", "splunk-cim"),
        ("pipelines", "ecs-windows"),
        ("formats", "savedsearches"),
    ):
        result = runner.invoke(main, ["list", what])
        assert result.exit_code == 0, result.output
        assert expected in result.stdout


@pytest.mark.parametrize(
    "text, message",
    [
        pytest.param("title: x\ndetection: [\n  a: b", "malformed YAML", id="malformed-yaml"),
        pytest.param("foo: bar\n", "title", id="not-a-rule"),
        pytest.param("- a\n- b\n", "not a Sigma rule", id="a-list"),
        pytest.param(
            "title: t\nlogsource: {product: windows, category: process_creation}\n"
            "detection:\n  sel:\n    Image|nosuchmod: x\n  condition: sel\n",
            "Unknown modifier 'nosuchmod'",
            id="unknown-modifier",
        ),
        pytest.param(
            "title: t\nlogsource: {product: windows, category: process_creation}\n",
            "detection",
            id="missing-detection",
        ),
        pytest.param(
            "title: t\nlogsource: {product: windows, category: process_creation}\n"
            "detection:\n  sel:\n    Image: x\n",
            "condition",
            id="missing-condition",
        ),
    ],
)
def test_bad_rules_give_one_line_errors(
    runner: CliRunner, tmp_path: Path, text: str, message: str
) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(text, encoding="utf-8")
    good = tmp_path / "good.yml"
    good.write_text(GOOD, encoding="utf-8")
    result = runner.invoke(main, ["convert", str(tmp_path), "-t", "eql"])
    assert result.exit_code == EXIT_INPUT
    assert "Traceback" not in result.output
    # The good rule is still converted.
    assert 'process.name regex "[wW][hH][oO][aA][mM][iIİ]\\\\.[eE][xX][eE]"' in result.stdout
    error_lines = [line for line in result.stderr.splitlines() if line.startswith(str(bad))]
    assert len(error_lines) == 1, result.stderr
    assert message in error_lines[0]


def test_malformed_yaml_names_line_and_column(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("title: x\ndetection: [\n  a: b", encoding="utf-8")
    result = runner.invoke(main, ["convert", str(bad), "-t", "eql"])
    assert result.exit_code == EXIT_INPUT
    assert f"{bad}:3:" in result.stderr


def test_unknown_modifier_names_line(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "title: t\nlogsource: {product: windows, category: process_creation}\n"
        "detection:\n  sel:\n    Image|nosuchmod: x\n  condition: sel\n",
        encoding="utf-8",
    )
    result = runner.invoke(main, ["convert", str(bad), "-t", "eql"])
    assert f"{bad}:5:" in result.stderr


def test_unknown_target(runner: CliRunner) -> None:
    result = runner.invoke(main, ["convert", str(ZOOM), "-t", "nosuch"])
    assert result.exit_code == 2
    assert "unknown target 'nosuch'" in result.stderr
    assert "Traceback" not in result.output


def test_unknown_pipeline(runner: CliRunner) -> None:
    result = runner.invoke(main, ["convert", str(ZOOM), "-t", "eql", "-p", "nosuch"])
    assert result.exit_code == EXIT_INPUT
    assert "unknown pipeline 'nosuch'" in result.stderr
    assert "Traceback" not in result.output


def test_missing_path(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["convert", str(tmp_path / "nope.yml"), "-t", "eql"])
    assert result.exit_code == EXIT_INPUT
    assert "no such file or directory" in result.stderr


def test_format_not_offered_by_target(runner: CliRunner) -> None:
    result = runner.invoke(main, ["convert", str(ZOOM), "-t", "eql", "-f", "savedsearches"])
    assert result.exit_code == 2
    assert "not available for target eql" in result.stderr


def test_unsupported_rule_is_reported_and_counted(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "good.yml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "kw.yml").write_text(
        "title: kw\nlogsource: {product: windows, category: process_creation}\n"
        "detection:\n  kw:\n    - mimikatz\n  condition: kw\n",
        encoding="utf-8",
    )
    report = tmp_path / "out" / "report.json"
    result = runner.invoke(main, ["convert", str(tmp_path), "-t", "eql", "--report", str(report)])
    assert result.exit_code == EXIT_PARTIAL
    entries = json.loads(report.read_text())["rules"]
    statuses = {Path(e["path"]).name: e["status"] for e in entries}
    assert statuses == {"good.yml": "converted", "kw.yml": "unsupported"}
    assert "keyword" in next(e["reason"] for e in entries if e["status"] == "unsupported")


def test_output_directory_mirrors_input(runner: CliRunner, tmp_path: Path) -> None:
    src = tmp_path / "rules" / "sub"
    src.mkdir(parents=True)
    (src / "good.yml").write_text(GOOD, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    result = runner.invoke(main, ["convert", str(tmp_path / "rules"), "-t", "eql", "-o", str(out)])
    assert result.exit_code == 0, result.output
    written = out / "eql" / "sub" / "good.eql"
    assert written.read_text().startswith("process where")
