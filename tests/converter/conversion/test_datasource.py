"""The conversion summary says how many refused rules another data source would convert."""

from __future__ import annotations

from pathlib import Path

import pytest
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


def test_the_workers_try_the_refusals_and_the_parent_only_counts(tmp_path, monkeypatch) -> None:
    # The batch path tries each refusal on the other data sources where it converted the rule
    # (in the worker processes); the hints are the same as when the parent converts them again,
    # and the parent reads no rule file for them.
    from converter.conversion import batch
    from converter.conversion.batch import convert_paths
    from converter.rules import load

    write_rule(tmp_path, "desc", {"sel": {"Description": "Foo Tool"}})
    write_rule(tmp_path, "img", {"sel": {"Image|endswith": "\\foo.exe"}})
    write_rule(tmp_path, "nowhere", {"sel": {"NoSuchField": "x"}})
    (tmp_path / "two.yml").write_text(
        "title: a\nlogsource: {product: windows, category: process_creation}\n"
        "detection: {sel: {Image|endswith: '\\\\a.exe'}, condition: sel}\n---\n"
        "title: b\nlogsource: {product: windows, category: process_creation}\n"
        "detection: {sel: {Description: 'Bar'}, condition: sel}\n",
        encoding="utf-8",
    )
    targets = ["eql", "kql", "splunk"]
    _, plain = convert_paths([str(tmp_path)], targets, workers=1)
    expected = other_data_sources(plain, targets, None, None)
    assert {(h.target, h.data_source, h.count) for h in expected} >= {("eql", "windows", 2)}
    monkeypatch.setattr(batch, "MIN_FILES_FOR_POOL", 1)  # the pool even for four files
    for workers in (1, 2):
        _, tried = convert_paths([str(tmp_path)], targets, workers=workers, alternatives=True)
        assert [(c.path, c.target, c.status, c.output) for c in tried] == [
            (c.path, c.target, c.status, c.output) for c in plain
        ]
        assert all(c.alternatives is not None for c in tried)
        with monkeypatch.context() as patched:
            # Imported when called (from converter.rules.load): a run whose every result is
            # cached imports no loader.
            patched.setattr(load, "load_rules", lambda paths: pytest.fail("reloaded"))
            assert other_data_sources(tried, targets, None, None) == expected


def test_an_uncovered_logsource_is_counted_only_for_the_data_sources_that_map_it(tmp_path: Path) -> None:
    """Defender XDR records no Security channel: the refusal names the data source and the
    ones that map the logsource (SecurityEvent on sentinel, WindowsEvent on sentinel-wef), and
    the hint tries those alone (not sentinel-asim, which maps no service: security)."""
    path = tmp_path / "logon.yml"
    path.write_text(
        yaml.safe_dump({
            "title": "logon", "id": "6a4f1c2e-1b3d-4e5f-8a9b-0c1d2e3f4a99",
            "logsource": {"product": "windows", "service": "security"},
            "detection": {"sel": {"EventID": 4624, "LogonType": 10}, "condition": "sel"},
        }),
        encoding="utf-8",
    )
    (loaded,) = load_rules([str(path)])
    result = Converter("kusto").convert(loaded)
    assert result.status == "unsupported"
    assert "(data_source=defender) has no mapping for logsource" in (result.reason or "")
    assert (result.reason or "").endswith("; mapped with --data-source sentinel, sentinel-wef")
    hints = other_data_sources([result], ["kusto"], None, None)
    assert {(h.current, h.data_source, h.count) for h in hints} == {
        ("defender", "sentinel", 1), ("defender", "sentinel-wef", 1)}


def test_a_refusal_is_copied_once_for_all_the_other_data_sources(tmp_path, monkeypatch) -> None:
    # Defend never records Description: the rule is tried on windows and winlogbeat, from one
    # reloaded rule copied once (the last try takes the rule itself), not once per try.
    import pickle
    import types

    from converter.conversion import convert as convert_module
    from converter.conversion.batch import convert_paths

    write_rule(tmp_path, "desc", {"sel": {"Description": "Foo Tool"}})
    dumped: list[object] = []

    def dumps(obj: object, protocol: int | None = None) -> bytes:
        dumped.append(obj)
        return pickle.dumps(obj, protocol)

    monkeypatch.setattr(convert_module, "pickle", types.SimpleNamespace(
        dumps=dumps, loads=pickle.loads, HIGHEST_PROTOCOL=pickle.HIGHEST_PROTOCOL))
    _, tried = convert_paths([str(tmp_path)], ["eql"], workers=1, alternatives=True, cache=False)
    assert [(c.status, c.alternatives) for c in tried] == [("unsupported", ("windows", "winlogbeat"))]
    assert len(dumped) == 1
