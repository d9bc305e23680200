"""tools/logsource_table.py: per-logsource coverage from check reports, best data source per rule."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[1] / "tools" / "logsource_table.py"


def load_tool():
    spec = importlib.util.spec_from_file_location("logsource_table", TOOL)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def result(converted: bool, proven: bool) -> dict:
    return {
        "equivalent": True if proven else None,
        "reason": None if proven else ("not proven: x" if converted else "not converted (unsupported): y"),
    }


def test_table_counts_converted_and_proven_per_source_and_best(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rule_a = tmp_path / "a.yml"
    rule_a.write_text("title: a\nlogsource: {product: windows, category: dns_query}\n", encoding="utf-8")
    rule_b = tmp_path / "b.yml"
    rule_b.write_text("title: b\nlogsource: {product: windows, service: security}\n", encoding="utf-8")
    defend = {
        "targets": ["eql", "splunk"],
        "rules": [
            {"path": str(rule_a), "id": "1", "targets": {"eql": result(True, True), "splunk": result(True, True)}},
            {"path": str(rule_b), "id": "2", "targets": {"eql": result(False, False), "splunk": result(True, False)}},
        ],
    }
    windows = {
        "targets": ["eql"],
        "rules": [
            {"path": str(rule_a), "id": "1", "targets": {"eql": result(True, False)}},
            {"path": str(rule_b), "id": "2", "targets": {"eql": result(True, True)}},
        ],
    }
    files = []
    for name, report in (("defend", defend), ("windows", windows)):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(report), encoding="utf-8")
        files.append(f"{name}={path}")
    assert load_tool().main(files) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "| dns_query | 1 | defend | 1 / 1 | 1 / 1 |" in lines
    assert "| security | 1 | defend | 0 / 0 | 1 / 0 |" in lines
    assert "| security | 1 | windows | 1 / 1 |  |" in lines
    # The best Elastic data source per rule: dns_query proven on defend, security on windows.
    assert "| **all** | 2 | best Elastic | 2 / 2 (100.0%) |  |" in lines
    assert "| **all** | 2 | defend | 1 / 1 (50.0%) | 2 / 1 (50.0%) |" in lines
