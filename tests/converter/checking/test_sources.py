"""``check --data-source A,B``: each rule proven on each data source, counted once per target."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

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


CASELESS_RULE = """
title: rundll32 running javascript
id: 91111111-2222-3333-4444-555555555555
logsource: {category: process_creation, product: windows}
detection:
    sel:
        Image|endswith: '\\\\Rundll32.exe'
        CommandLine|contains: 'Javascript:'
    condition: sel
"""


def _windows_template(tmp_path: Path) -> tuple[Path, Path]:
    """The rule file and the template ``sigport mapping`` writes for it on the windows source."""
    from converter.outputs.index_template import propose, template_body
    from converter.rules.load import load_text

    rule = tmp_path / "r.yml"
    rule.write_text(CASELESS_RULE, encoding="utf-8")
    template = tmp_path / "windows-template.json"
    body = template_body(propose(load_text(CASELESS_RULE, "r.yml"), "windows"))
    template.write_text(json.dumps(body), encoding="utf-8")
    return rule, template


def test_a_mapping_per_data_source_proves_each_with_its_own(tmp_path: Path) -> None:
    """Kibana KQL is case-sensitive on the windows source's keyword fields: only that source's
    template (its caseless copies) makes the query exact there, and it must not reach Defend."""
    rule, template = _windows_template(tmp_path)

    def windows_kql(**mappings: Any) -> Any:
        report = check_rules([rule], CheckOptions(
            targets=("kql",), data_sources=("windows", "defend"), generate=0, **mappings))
        return report.results[0].targets["kql"]

    stock = windows_kql()
    assert stock.data_sources is not None and stock.data_sources["windows"] is not True
    own = windows_kql(source_mappings=(("windows", template),))
    assert own.data_sources is not None and own.data_sources["windows"] is True, own.reason
    # Defend keeps its own verdict (its .caseless stops at 1,024 characters, no template there).
    assert own.data_sources["defend"] == stock.data_sources["defend"]
    # The same file named for Defend only: windows is proven as without it.
    other = windows_kql(source_mappings=(("defend", template),))
    assert other.data_sources is not None
    assert other.data_sources["windows"] == stock.data_sources["windows"]


def test_cli_mapping_per_data_source_and_its_errors(tmp_path: Path) -> None:
    rule, template = _windows_template(tmp_path)
    base = ["check", str(rule), "-t", "kql", "--generate", "--format", "json"]
    ok = CliRunner().invoke(main, [*base, "--data-source", "windows,defend",
                                   "--mapping", f"windows={template}"])
    assert ok.exit_code in (0, 1), ok.output
    kql = json.loads(ok.stdout)["rules"][0]["targets"]["kql"]
    assert kql["data_sources"]["windows"] is True, kql["reason"]
    for args, words in [
        (["--data-source", "defend", "--mapping", f"windows={template}"],
         "'windows' is not one of this run's data sources (defend)"),
        (["--mapping", f"windows={template}"], "none given"),
        (["--data-source", "windows", "--mapping", f"windows={tmp_path / 'gone.json'}"],
         "does not exist"),
        (["--data-source", "windows", "--mapping", f"windows={template}",
          "--mapping", f"windows={template}"], "two mappings for data source 'windows'"),
        (["--data-source", "windows", "--mapping", str(template), "--mapping", str(template)],
         "two mappings for every data source"),
    ]:
        bad = CliRunner().invoke(main, [*base, *args])
        assert bad.exit_code == 2, (args, bad.output)
        assert words in bad.output and "Traceback" not in bad.output, (args, bad.output)


def test_library_refuses_a_mapping_for_a_data_source_not_in_the_run(tmp_path: Path) -> None:
    from converter.errors import ConverterError

    rule, template = _windows_template(tmp_path)
    with pytest.raises(ConverterError, match="not a data source of this run"):
        check_rules([rule], CheckOptions(targets=("kql",), data_source="defend", generate=0,
                                         source_mappings=(("windows", template),)))
