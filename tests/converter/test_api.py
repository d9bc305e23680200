"""The public Python API: ``import converter`` gives the commands as functions that return
result objects and print nothing, and the README's "Python API" example runs as written."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

import converter
from helpers import ROOT, rule_text

RULES = ROOT / "sigma_rules" / "windows" / "process_creation"


def readme_example() -> str:
    """The Python code block of the README's "Python API" section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the section has one Python example"
    return blocks[0]


def test_readme_example_runs_and_prints_only_its_own_output(capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    exec(compile(readme_example(), "README.md", "exec"), {})
    out, err = capsys.readouterr()
    assert "eql converted" in out and "Zoom" in out  # the example's own prints
    assert err == ""


@pytest.mark.parametrize(
    "name", ["convert", "check", "backtest", "import_elastic", "load_rules", "compile_rule", "RuleIndex"]
)
def test_public_names_import_in_a_fresh_interpreter(name: str) -> None:
    """``from converter import NAME`` works on its own (lazy exports, no import cycle)."""
    code = f"from converter import {name}; print({name}.__name__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() in {name, "check", "run_backtest", "import_elastic"}


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError):
        converter.no_such_function  # noqa: B018


def test_convert_returns_results_and_prints_nothing(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "good.yml"
    good.write_text(rule_text("sel:\n    Image|endswith: '\\\\cmd.exe'\ncondition: sel"), encoding="utf-8")
    bad = tmp_path / "bad.yml"
    bad.write_text("title: [unclosed\n", encoding="utf-8")
    result = converter.convert([tmp_path], ["eql"], converter.ConvertOptions(workers=1))
    statuses = {c.path.rsplit("/", 1)[-1]: c.status for c in result.conversions}
    assert statuses == {"bad.yml": "error", "good.yml": "converted"}
    assert len(result.rules) == 2
    report = result.report()
    assert report["schema_version"] == 1 and len(report["rules"]) == 2
    assert capsys.readouterr() == ("", "")


def test_convert_options_reach_the_pipeline(tmp_path) -> None:  # type: ignore[no-untyped-def]
    options = converter.ConvertOptions(data_source="winlogbeat", workers=1)
    assert options.table_options() == {"data_source": "winlogbeat"}
    assert converter.ConvertOptions().table_options() is None
    rule = tmp_path / "company.yml"
    rule.write_text(rule_text("sel:\n    Company: Microsoft\ncondition: sel"), encoding="utf-8")
    # Defend never records the company; Winlogbeat's Sysmon events do.
    (defend,) = converter.convert([rule], ["eql"]).conversions
    (winlogbeat,) = converter.convert([rule], ["eql"], options).conversions
    assert defend.status == "unsupported" and "never records Company" in defend.reason
    assert winlogbeat.status == "converted" and "process.pe.company" in winlogbeat.queries[0]


def test_check_returns_a_report_and_prints_nothing(capsys) -> None:  # type: ignore[no-untyped-def]
    report = converter.check([RULES], converter.CheckOptions(targets=("eql",)))
    assert report.equivalent and report.exit_code == 0
    assert report.to_json()["targets"] == ["eql"]
    assert capsys.readouterr() == ("", "")


def test_check_without_events_is_bad_input_not_equivalent(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "r.yml").write_text(rule_text("sel:\n    Image: x\ncondition: sel"), encoding="utf-8")
    events = tmp_path / "empty.jsonl"
    events.write_text("", encoding="utf-8")
    report = converter.check([tmp_path], converter.CheckOptions(events=(events,), targets=("eql",)))
    assert not report.equivalent and report.exit_code == 2
