"""Readable CLI output: full-width tables when piped, warnings counted by kind, one behaviour
for empty input in every command."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from converter.cli import main
from converter.cli.app import EXIT_INPUT

# KQL warns on the case-sensitive OriginalFileName match; Provider_Name is unmapped for defend.
RULE = """\
title: Rule {n}
id: 5555555{n}-5555-4555-8555-555555555555
status: test
logsource: {{product: windows, category: process_creation}}
detection:
  selection:
    OriginalFileName: 'tool{n}.exe'
  condition: selection
"""
UNSUPPORTED = RULE.replace("OriginalFileName", "Provider_Name")


def _rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    for n in (1, 2, 3):
        (folder / f"r{n}.yml").write_text(RULE.format(n=n), encoding="utf-8")
    (folder / "r4.yml").write_text(UNSUPPORTED.format(n=4), encoding="utf-8")
    return folder


def test_warnings_are_counted_by_kind_and_listed_with_verbose(tmp_path: Path) -> None:
    folder = _rules(tmp_path)
    result = CliRunner().invoke(main, ["convert", str(folder), "-t", "kql"])
    assert result.exit_code == 3
    assert "warnings, by kind" in result.stderr
    assert ": warning: " not in result.stderr
    row = next(line for line in result.stderr.splitlines() if "case-sensitively" in line)
    assert "│ 3 " in row  # three rules, one kind
    verbose = CliRunner().invoke(main, ["convert", str(folder), "-t", "kql", "--verbose"])
    assert verbose.stderr.count(": warning: ") == 3


def test_piped_tables_keep_reasons_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    folder = _rules(tmp_path)
    result = CliRunner().invoke(main, ["convert", str(folder), "-t", "kql"])
    reason_line = next(
        line for line in result.stderr.splitlines() if line.startswith(str(folder))
    )
    reason = reason_line.split(": unsupported: ", 1)[1]
    from converter.cli.output import warning_kind

    table = result.stderr.split("not converted, by reason", 1)[1].split("warnings, by kind")[0]
    cells = [line.rstrip().rstrip("│").rsplit("│", 1)[-1].strip()
             for line in table.splitlines() if line.startswith("│")]
    # The whole reason is in the table (wrapped at spaces, never cut).
    assert " ".join(warning_kind(reason).split()) in " ".join(" ".join(cells).split())
    assert max(len(line) for line in result.stderr.splitlines()) > 80


@pytest.mark.parametrize(
    "args",
    [
        ["convert", "{d}", "-t", "eql"],
        ["check", "{d}"],
        ["backtest", "{d}", "--events", "{d}"],
        ["regress", "{d}", "--rules", "{d}"],
        ["import", "elastic", "{d}", "-o", "{d}/out"],
    ],
)
def test_empty_input_is_one_error_line_and_exit_2(tmp_path: Path, args: list[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(main, [a.format(d=empty) for a in args])
    assert result.exit_code == EXIT_INPUT
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sigport: error: no ") and "found in" in lines[0]


def test_tables_on_a_pipe_are_columns_or_200_wide(monkeypatch: pytest.MonkeyPatch) -> None:
    from converter.console import PIPE_WIDTH, console

    monkeypatch.setenv("COLUMNS", "123")
    assert console().width == 123  # pytest's stdout is not a terminal
    monkeypatch.delenv("COLUMNS")
    assert console(stderr=True).width == PIPE_WIDTH == 200


def test_grouped_reasons_keep_the_numbers_that_name_things(tmp_path: Path) -> None:
    from converter.cli.output import warning_kind

    assert warning_kind("not UTF-8 text at line 3, column 12") == "not UTF-8 text at line N, column N"
    assert warning_kind("UTF-16 and x86-64 and S-1-5-18") == "UTF-16 and x86-64 and S-1-5-18"
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "latin1.yml").write_bytes(b"title: caf\xe9\n")
    result = CliRunner().invoke(main, ["convert", str(folder), "-t", "eql"])
    table = result.stderr.split("not converted, by reason", 1)[1]
    assert "UTF-8" in table and "UTF-N" not in table, table
