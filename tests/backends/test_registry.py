"""The target registry (``backends.TARGETS``) holds every per-target fact.

Adding a language is its folder (``backends/<lang>/``), one registry entry and its conformance
table (``tests/data/conformance/<lang>.yml``, checked by ``test_conformance.py``). The tests
below list what an entry needs, check every entry has it, and prove that the converter reads
the facts from the entry: a new entry, registered at run time, converts and writes files with
its own suffix and Kibana rule kind, with no table elsewhere to update.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sigma.conversion.base import Backend

from backends import TARGETS, KibanaRuleKind, TargetSpec
from backends.query.semantics import Semantics

ROOT = Path(__file__).resolve().parents[2]
RULE = ROOT / "sigma_rules" / "windows" / "process_creation" / "proc_creation_win_zoom_suspicious_child_process.yml"

#: The files every language folder with an interpreter has, with the role each plays.
INTERPRETER_FILES = {
    "backend.py": "the pySigma emitter",
    "grammar.lark": "the grammar, loaded on first use (backends/query/syntax.py)",
    "parser.py": "parse(text, fields): the interpreter's entry point",
    "lower.py": "Lowering: lark's tree to the shared tree",
    "semantics.py": "SEMANTICS and LANGUAGE",
}


def _load(path: str) -> object:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


@pytest.mark.parametrize("spec", TARGETS.values(), ids=lambda s: s.name)
def test_every_entry_has_what_a_target_needs(spec: TargetSpec) -> None:
    backend = spec.backend_class()
    assert issubclass(backend, Backend) and backend.__name__.startswith("Sigport"), spec.backend
    assert backend.__name__.endswith("Backend"), spec.backend
    assert spec.suffix.startswith(".") and len(spec.suffix) > 1
    assert "default" in spec.formats
    # A Kibana rule needs its rule type and query language.
    assert ("kibana-ndjson" in spec.formats) == isinstance(spec.kibana_rule, KibanaRuleKind)
    assert spec.semantics, "every language documents its semantics"
    table = _load(spec.semantics)
    assert isinstance(table, Semantics)
    for key, rule in table.entries.items():
        assert rule.doc.startswith("http"), f"{spec.name} semantics {key!r} cites no doc"
    language = importlib.import_module(spec.semantics.partition(":")[0]).LANGUAGE
    assert isinstance(language, str) and language
    if spec.parser is None:
        assert spec.no_interpreter_reason
        return
    assert callable(spec.parse_function())
    folder = ROOT / Path(*spec.parser.partition(":")[0].split(".")[:-1])
    for name in INTERPRETER_FILES:
        assert (folder / name).exists(), f"{folder.name}/{name} ({INTERPRETER_FILES[name]})"
    assert hasattr(importlib.import_module(f"backends.{folder.name}.lower"), "Lowering")


def test_a_new_entry_is_all_the_converter_needs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Formats, file suffix and Kibana rule kind come from the entry, not from converter tables."""
    from converter.cli import main

    spec = dataclasses.replace(
        TARGETS["kql"], name="kql-next", suffix=".kqlx", kibana_rule=KibanaRuleKind("query", "kuery2")
    )
    monkeypatch.setitem(TARGETS, spec.name, spec)
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(main, ["convert", str(RULE), "-t", "kql-next", "-o", f"{out}/"])
    assert result.exit_code == 0, result.output
    assert [p.name for p in (out / "kql-next").rglob("*") if p.is_file()] == [
        RULE.with_suffix(".kqlx").name
    ]
    ndjson = tmp_path / "rules.ndjson"
    result = runner.invoke(
        main, ["convert", str(RULE), "-t", "kql-next", "-f", "kibana-ndjson", "-o", str(ndjson)]
    )
    assert result.exit_code == 0, result.output
    rule = json.loads(ndjson.read_text(encoding="utf-8").splitlines()[0])
    assert (rule["type"], rule["language"]) == ("query", "kuery2")
