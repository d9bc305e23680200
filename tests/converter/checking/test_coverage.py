"""``check --markdown``'s coverage by logsource and data source (``converter.checking.coverage``)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from converter.checking.checker import RuleResult, TargetResult
from converter.checking.run import summary_markdown
from converter.cli import main
from converter.rules.load import load_rules


def target(name: str, converted: bool, verdict: bool | None,
           sources: dict[str, bool | None] | None = None) -> TargetResult:
    """One target's result: converted or not, its verdict, and per-source verdicts."""
    result = TargetResult(name, "query" if converted else None, equivalent=verdict)
    if sources is not None:
        result.data_source = next(iter(sources))
        result.data_sources = sources
    return result


def rule(logsource: str, **targets: TargetResult) -> RuleResult:
    """A checked rule of ``logsource`` with the given target results."""
    result = RuleResult("id", "t", f"{logsource}.yml", [], targets=dict(targets))
    result.logsource = logsource
    return result


def test_cells_count_proven_converted_and_differs_per_logsource() -> None:
    results = [
        rule("windows/process_creation", eql=target("eql", True, True), splunk=target("splunk", True, True)),
        rule("windows/process_creation", eql=target("eql", True, False), splunk=target("splunk", True, None)),
        rule("windows/security", eql=target("eql", False, None), splunk=target("splunk", True, True)),
    ]
    lines = summary_markdown(results, ["eql", "splunk"]).splitlines()
    assert "| windows/process_creation | 2 | 1 / 2, 1 differ | 1 / 2 |" in lines
    assert "| windows/security | 1 | 0 / 0 | 1 / 1 |" in lines
    assert "| **all** | 3 | 1 / 2, 1 differ | 2 / 3 |" in lines
    # One data source: no per-source table.
    assert not any("Proven per data source" in line for line in lines)


def test_several_data_sources_give_a_per_source_table() -> None:
    both = {"defend": True, "windows": True}
    results = [
        rule("windows/dns_query", eql=target("eql", True, True, {"defend": True, "windows": None}),
             splunk=target("splunk", True, True)),
        rule("windows/security", eql=target("eql", True, True, {"defend": None, "windows": True}),
             splunk=target("splunk", True, True)),
        rule("windows/security", eql=target("eql", True, True, both), splunk=target("splunk", True, None)),
    ]
    lines = summary_markdown(results, ["eql", "splunk"]).splitlines()
    assert any("each rule on its best data source" in line for line in lines)
    assert "| windows/security | 2 | 2 / 2 | 1 / 2 |" in lines
    # Splunk has no Elastic data source: it is not a column of the per-source table.
    assert "| logsource | data source | eql |" in lines
    assert "| windows/security | defend | 1 |" in lines
    assert "| windows/security | windows | 2 |" in lines
    assert "| **all** | defend | 2 |" in lines
    assert "| **all** | windows | 2 |" in lines


def test_rules_that_failed_are_not_counted() -> None:
    bad = rule("windows/process_creation")
    bad.error = "no events"
    assert "## By logsource" not in summary_markdown([bad], ["eql"])


def test_loaded_rule_names_its_logsource(tmp_path: Path) -> None:
    path = tmp_path / "r.yml"
    path.write_text(
        "title: t\nlogsource: {product: windows, service: security}\n"
        "detection: {sel: {EventID: 4624}, condition: sel}\n", encoding="utf-8")
    (loaded,) = load_rules([path])
    assert loaded.logsource == "windows/security"
    broken = tmp_path / "b.yml"
    broken.write_text("title: [\n", encoding="utf-8")
    assert [r.logsource for r in load_rules([broken])] == [""]


def test_check_reports_the_logsource_in_json_and_markdown(tmp_path: Path) -> None:
    rules = Path(__file__).resolve().parents[3] / "sigma_rules"
    out = tmp_path / "eq.md"
    run = CliRunner().invoke(main, [
        "check", str(rules), "--generate", "-t", "eql", "--data-source", "defend,windows",
        "--format", "json", "--markdown", str(out)])
    assert run.exit_code == 0, run.output
    report = json.loads(run.stdout)
    assert {r["logsource"] for r in report["rules"]} == {"windows/process_creation"}
    text = out.read_text(encoding="utf-8")
    assert "| windows/process_creation | 1 | 1 / 1 |" in text
    assert "| windows/process_creation | defend | 1 |" in text
