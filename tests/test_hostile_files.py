"""Input files a user names or a directory holds, whatever the case of their suffix (session 10):
every command reads the same files, and nothing in a directory given is skipped without a word.

Before: ``*.YML`` / ``*.Yaml`` rules were skipped when a directory was converted or checked,
``*.TOML`` Elastic rules when a directory was imported, and a named ``export.NDJSON`` was read
as TOML; ``check --events DIR`` read only ``*.json`` / ``*.jsonl`` (lower case) under it, while
the README (and ``backtest``) read ``.evtx``, archives and gzip files there too.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from converter.cli import main
from converter.rules.load import expand_paths

SYSMON = "Microsoft-Windows-Sysmon/Operational"
RULE = (
    "title: suffix case {n}\nid: 6a0c3c7e-4444-4a1a-9a9a-00000000000{n}\n"
    "logsource: {{product: windows, category: process_creation}}\n"
    "detection:\n  sel:\n    Image|endswith: '\\\\calc.exe'\n  condition: sel\n"
)


def _rules(folder: Path) -> list[Path]:
    folder.mkdir()
    names = ["a.yml", "b.YML", "c.Yaml", "d.yaml"]
    for n, name in enumerate(names, start=1):
        (folder / name).write_text(RULE.format(n=n), encoding="utf-8")
    (folder / "notes.txt").write_text("not a rule", encoding="utf-8")
    return [folder / name for name in names]


def test_a_directory_gives_rule_files_of_any_suffix_case(tmp_path: Path) -> None:
    files = _rules(tmp_path / "rules")
    assert list(expand_paths([tmp_path / "rules"])) == [str(f) for f in files]
    result = CliRunner().invoke(main, ["convert", str(tmp_path / "rules"), "-t", "eql",
                                       "-o", str(tmp_path / "out") + "/"])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert len(written) == 4, written


def test_check_events_directory_reads_what_backtest_reads(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rule = _rules(rules)[0]
    events = tmp_path / "events"
    events.mkdir()
    record = {"EventID": 1, "Channel": SYSMON, "Image": "C:\\Windows\\System32\\calc.exe"}
    miss = dict(record, Image="C:\\Windows\\System32\\notepad.exe")
    (events / "upper.JSONL").write_text(json.dumps(record) + "\n", encoding="utf-8")
    with gzip.open(events / "more.jsonl.gz", "wt", encoding="utf-8") as out:
        out.write(json.dumps(miss) + "\n")
    result = CliRunner().invoke(main, ["check", str(rule), "--events", str(events), "-t", "eql",
                                       "--format", "json"])
    assert result.exit_code == 0, result.output
    (checked,) = json.loads(result.stdout)["rules"]
    assert checked["events"] == 2 and checked["reference"]["matched"] == [1]  # sorted: more.jsonl.gz first


def _toml(name: str) -> str:
    return ("[metadata]\nmaturity = \"production\"\n[rule]\nname = \"" + name + "\"\n"
            "description = \"d\"\nrule_id = \"11111111-2222-3333-4444-55555555555" + name[-1]
            + "\"\nrisk_score = 21\nseverity = \"low\"\nlanguage = \"eql\"\ntype = \"eql\"\n"
            "query = '''\nprocess where process.name : \"a.exe\"\n'''\n")


def test_import_reads_elastic_files_of_any_suffix_case(tmp_path: Path) -> None:
    from converter.importer.elastic import VERIFIED, import_elastic

    src = tmp_path / "in"
    src.mkdir()
    (src / "a.toml").write_text(_toml("T1"), encoding="utf-8")
    (src / "b.TOML").write_text(_toml("T2"), encoding="utf-8")
    ndjson = tmp_path / "export.NDJSON"
    ndjson.write_text(json.dumps({
        "rule_id": "r1", "name": "N", "description": "d", "risk_score": 1, "severity": "low",
        "type": "eql", "language": "eql", "query": 'process where process.name : "a.exe"',
    }) + "\n", encoding="utf-8")
    report = import_elastic([src, ndjson], tmp_path / "out")
    statuses = {Path(e.source.split(":")[0]).name: e.status for e in report.entries}
    assert statuses == {"a.toml": VERIFIED, "b.TOML": VERIFIED, "export.NDJSON": VERIFIED}, [
        (e.source, e.status, e.reason) for e in report.entries]


def test_a_rule_that_is_no_utf8_is_positioned_in_a_file_and_on_stdin(tmp_path: Path) -> None:
    """The byte's line and column (before: no position in a file, and an internal error naming
    a surrogate on standard input)."""
    from converter.rules.load import load_rules

    rule = tmp_path / "latin1.yml"
    rule.write_bytes(b"title: t\ndescription: caf\xe9 au lait\n")
    (loaded,) = load_rules([rule])
    assert loaded.error is not None
    assert str(loaded.error).startswith(f"{rule}:2:17: not UTF-8 text (byte 0xe9)"), loaded.error
    result = CliRunner().invoke(main, ["convert", "-", "-t", "eql"],
                                input=b"title: t\ndescription: caf\xe9\n")
    assert result.exit_code == 2, result.output
    assert "<stdin>:2:17: not UTF-8 text (byte 0xe9)" in result.stderr, result.stderr
    assert "internal error" not in result.stderr


def test_a_nul_byte_in_a_rule_is_positioned(tmp_path: Path) -> None:
    from converter.rules.load import load_rules

    rule = tmp_path / "nul.yml"
    rule.write_bytes(RULE.format(n=9).replace("calc", "ca\0lc").replace("\n", "\r\n").encode())
    (loaded,) = load_rules([rule])
    assert loaded.error is not None
    assert str(loaded.error).startswith(f"{rule}:6:26: malformed YAML: character U+0000 "), (
        loaded.error)


def test_a_pipeline_file_that_is_no_utf8_is_an_error_naming_it(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rule = _rules(rules)[0]
    pipeline = tmp_path / "latin1.yml"
    pipeline.write_bytes(b"name: caf\xe9\n")
    result = CliRunner().invoke(main, ["convert", str(rule), "-t", "eql", "-p", str(pipeline)])
    assert result.exit_code == 2
    assert f"{pipeline}: pipeline file is not UTF-8" in result.stderr, result.stderr
    assert "internal error" not in result.stderr


@pytest.mark.parametrize(("info", "error"), [
    (b"- a list\n", "info.yml: not regression data: a list, not a mapping"),
    (b"a: [unclosed\n", "info.yml:2:1: malformed YAML: expected ',' or ']'"),
    (b"rule_metadata: 5\n", "info.yml: rule_metadata must be a list of mappings"),
    (b"regression_tests_info: [{match_count: two}]\n", "match_count must be a whole number"),
    (b"title: caf\xe9\n", "info.yml: not UTF-8 text"),
])
def test_a_bad_info_yml_is_a_row_error_and_regress_goes_on(
    tmp_path: Path, info: bytes, error: str
) -> None:
    """Each was an internal error that ended the whole run."""
    rules = tmp_path / "rules"
    _rules(rules)
    data = tmp_path / "regression_data" / "rules" / "windows"
    (data / "bad").mkdir(parents=True)
    (data / "bad" / "info.yml").write_bytes(info)
    (data / "good").mkdir()
    (data / "good" / "info.yml").write_text(
        "rule_metadata: [{id: 6a0c3c7e-4444-4a1a-9a9a-000000000001, title: t}]\n"
        "regression_tests_info: [{name: n, type: evtx, match_count: 1, path: missing.evtx}]\n",
        encoding="utf-8")
    result = CliRunner().invoke(main, ["regress", str(tmp_path / "regression_data"),
                                       "--rules", str(rules), "-t", "eql", "--format", "json"])
    assert "internal error" not in result.output, result.output
    rows = json.loads(result.stdout)["rules"]
    assert [row["folder"] for row in rows] == ["rules/windows/bad", "rules/windows/good"]
    assert error in rows[0]["error"], rows[0]["error"]


@pytest.mark.parametrize(("output", "blocker"), [
    ("out/", "out"), ("out/sub/", "out"), ("dir/eql/", "dir/eql"),
])
def test_an_output_directory_that_is_a_file_is_named_in_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output: str, blocker: str
) -> None:
    # The error named the query file below it ("out/eql/a.eql: cannot write: File exists").
    monkeypatch.chdir(tmp_path)
    (rule := tmp_path / "a.yml").write_text(RULE.format(n=1), encoding="utf-8")
    (tmp_path / "out").write_text("a file", encoding="utf-8")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "eql").write_text("a file", encoding="utf-8")
    result = CliRunner().invoke(main, ["convert", str(rule), "-t", "eql", "-o", output])
    assert result.exit_code == 2, result.output
    assert f"error: {blocker}: is not a directory" in result.output, result.output
    assert (tmp_path / blocker).read_text(encoding="utf-8") == "a file"


@pytest.mark.parametrize("option", ["--events", "--mapping"])
def test_a_raw_control_character_in_json_is_a_readable_positioned_error(
    tmp_path: Path, option: str
) -> None:
    # Python's decoder says "Invalid control character at" (the position went to line and
    # column), which the error printed as it was: "... not valid JSON: Invalid control character at".
    (rule := tmp_path / "a.yml").write_text(RULE.format(n=1), encoding="utf-8")
    (data := tmp_path / "data.json").write_text('{"CommandLine": "a\tb"}\n', encoding="utf-8")
    args = ["check", str(rule), "-t", "eql", option, str(data)]
    if option == "--mapping":
        args += ["--generate"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    (line,) = [x for x in result.output.splitlines() if "error:" in x]
    assert f"{data}:1:19:" in line and "a control character" in line and " at" not in line, line
