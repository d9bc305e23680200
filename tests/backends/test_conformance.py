"""Per-language conformance tables: gold verdicts with the vendor doc behind each case.

Every ``tests/data/conformance/<lang>.yml`` names its parser and (for Elastic languages) the field
model; each case is a query, events, and the indices of the events that must match. The query is
parsed by the language's interpreter and evaluated by the shared evaluator, as in the eql project's
``test_queries.toml``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from backends.query.errors import VerdictUndecided
from backends.query.evaluate import matches
from backends.query.fields import FieldModel

TABLES = sorted((Path(__file__).parents[1] / "data" / "conformance").glob("*.yml"))


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _field_model(spec: Any) -> FieldModel | None:
    if spec is None:
        return None
    if isinstance(spec, str):
        return FieldModel.builtin(spec)
    return FieldModel.from_dict(spec["fields"])


def _cases() -> list[Any]:
    out = []
    for path in TABLES:
        table = _load(path)
        for case in table["cases"]:
            out.append(pytest.param(path.stem, table, case, id=f"{path.stem}:{case['name']}"))
    return out


def test_every_language_has_a_table() -> None:
    from backends import TARGETS

    languages = {_load(p)["parser"].split(":")[0] for p in TABLES}
    for spec in TARGETS.values():
        if spec.parser:
            assert spec.parser.split(":")[0] in languages, f"{spec.name} has no conformance table"


@pytest.mark.parametrize("table_name, table, case", _cases())
def test_conformance(table_name: str, table: dict[str, Any], case: dict[str, Any]) -> None:
    assert case.get("doc", "").startswith("http"), "every case cites the doc that states it"
    module, _, attr = table["parser"].partition(":")
    parse = getattr(importlib.import_module(module), attr)
    fields = _field_model(case.get("field_model", table.get("field_model")))
    tree = parse(case["query"], fields=fields)
    # `undecided`: events on which the engine's verdict depends on its version or on behaviour
    # its vendor does not document (candidate case foldings that disagree).
    undecided = set(case.get("undecided", ()))
    for i in sorted(undecided):
        with pytest.raises(VerdictUndecided):
            matches(tree, case["events"][i])
    got = [
        i for i, event in enumerate(case["events"]) if i not in undecided and matches(tree, event)
    ]
    assert got == case["expected"], f"{case['query']!r}: {case.get('note', '')}"


@pytest.mark.parametrize("path", TABLES, ids=[p.stem for p in TABLES])
def test_table_is_well_formed(path: Path) -> None:
    table = _load(path)
    cases = table["cases"]
    assert len(cases) >= 35, "each language keeps a substantial gold table"
    assert len({c["name"] for c in cases}) == len(cases), "case names are unique"
    for case in cases:
        assert all(0 <= i < len(case["events"]) for i in case["expected"]), case["name"]
