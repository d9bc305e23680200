"""The conversion summary says how many refused rules another data source would convert."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

from converter.cli import main
from converter.conversion.convert import Converter
from converter.conversion.datasource import other_data_sources
from converter.rules.load import load_rules


def write_rule(folder: Path, name: str, detection: dict) -> Path:
    path = folder / f"{name}.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "title": name,
                "id": f"6a4f1c2e-1b3d-4e5f-8a9b-0c1d2e3f4a{len(name):02d}",
                "logsource": {"product": "windows", "category": "process_creation"},
                "detection": {**detection, "condition": "sel"},
            }
        ),
        encoding="utf-8",
    )
    return path


def test_refused_rules_are_counted_per_other_data_source(tmp_path: Path) -> None:
    # Defend never records Description: the rule is constant there; the Sysmon sources have it.
    write_rule(tmp_path, "desc", {"sel": {"Description": "Foo Tool"}})
    write_rule(tmp_path, "img", {"sel": {"Image|endswith": "\\foo.exe"}})
    # Refused everywhere (no data source has the field).
    write_rule(tmp_path, "nowhere", {"sel": {"NoSuchField": "x"}})
    loaded = load_rules([str(tmp_path)])
    converter = Converter("eql")
    results = [converter.convert(rule) for rule in loaded]
    assert sorted(r.status for r in results) == ["converted", "unsupported", "unsupported"]
    hints = other_data_sources(results, ["eql"], None, None)
    assert {(h.target, h.current, h.data_source, h.count) for h in hints} == {
        ("eql", "defend", "windows", 1),
        ("eql", "defend", "winlogbeat", 1),
    }
    # Splunk's table offers one data source: nothing to suggest.
    splunk = Converter("splunk")
    assert other_data_sources([splunk.convert(r) for r in loaded], ["splunk"], None, None) == []


def test_cli_prints_the_hint(tmp_path: Path) -> None:
    write_rule(tmp_path, "desc", {"sel": {"Description": "Foo Tool"}})
    result = CliRunner().invoke(main, ["convert", str(tmp_path), "-t", "eql"])
    assert "eql: 1 more rule converts with --data-source windows" in result.output
    result = CliRunner().invoke(main, ["convert", str(tmp_path), "-t", "eql", "--data-source", "windows"])
    assert "more rule" not in result.output
