"""Every field a Splunk CIM table names is a field of its data model dataset.

A tstats search on a name the data model does not define finds nothing, silently. So every name
a ``splunk_cim`` table writes into a query or a rendered row (renames, function targets, derived
fields, conditions, render constants, the tstats BY fields) must be in the CIM manual's field
table of the entry's dataset, or one of the base fields every dataset inherits; the lists, with
the manual page each is copied from, are in ``tests/data/cim_fields.yml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from converter.mapping.loader import companion_tables, load_table
from test_mappings_beyond import _flat, raw

ROOT = Path(__file__).resolve().parents[3]
CIM_FIELDS = ROOT / "tests" / "data" / "cim_fields.yml"
TABLES = ("splunk-cim", *companion_tables("splunk-cim"))


def cim_fields() -> dict[str, set[str]]:
    """Dataset (``Endpoint.Processes``) -> its CIM fields; ``_base`` -> the inherited ones."""
    data = yaml.safe_load(CIM_FIELDS.read_text("utf-8"))
    for name, entry in data.items():
        assert str(entry.get("doc", "")).startswith("https://docs.splunk.com/"), name
    return {name: set(entry["fields"]) for name, entry in data.items()}


def named_fields(table: dict[str, Any], entry: dict[str, Any]) -> tuple[str, list[str]]:
    """The entry's dataset and every field name it uses, as written (prefixed or bare)."""
    state = entry.get("state") or {}
    dataset = state.get("data_model_set") or table["datamodel"]["name"]
    prefix = entry.get("field_prefix", "")
    names = [prefix + t for spec in (entry.get("fields") or {}).values() for t in _flat(spec)]
    for spec in (entry.get("fields") or {}).values():
        if isinstance(spec, dict) and "to" not in spec:  # per data source
            names += [prefix + t for choice in spec.values() for t in _flat(choice)]
    names += [prefix + d["to"] for d in (entry.get("derived") or [])]
    # A base field (source, sourcetype, ...) belongs to no dataset: the pipeline leaves it bare.
    base = cim_fields()["_base"]
    names += [k if k in base else prefix + k for k in (entry.get("conditions") or {})]
    names += list(entry.get("render") or {})
    for extra in entry.get("event_render") or []:
        for source, values in extra.items():
            if source != "match" and isinstance(values, dict):
                names += list(values)
    names += list(state.get("fields") or table["datamodel"].get("by") or [])
    return dataset, names


def unknown_fields(table: dict[str, Any], known: dict[str, set[str]]) -> list[str]:
    """``entry id: name`` for every name that is not a field of the entry's dataset."""
    problems = []
    for entry in table["logsources"]:
        dataset, names = named_fields(table, entry)
        allowed = known.get(dataset)
        if allowed is None:
            problems.append(f"{entry['id']}: dataset {dataset} has no field list")
            continue
        set_prefix = dataset.split(".")[1] + "."
        for name in names:
            bare = name[len(set_prefix):] if name.startswith(set_prefix) else name
            if bare not in allowed and name not in known["_base"]:
                problems.append(f"{entry['id']}: {name}")
    return problems


def test_the_splunk_cim_tables_are_found() -> None:
    assert "splunk-cim-linux" in TABLES
    assert all(load_table(name).schema == "splunk_cim" for name in TABLES)


@pytest.mark.parametrize("name", TABLES)
def test_every_cim_field_is_in_the_cited_dataset_field_list(name: str) -> None:
    assert unknown_fields(raw(name), cim_fields()) == []


def test_the_check_reports_a_name_outside_the_dataset() -> None:
    table = raw("splunk-cim-linux")
    entry = table["logsources"][0]
    entry["fields"]["ParentUser"] = "Processes.parent_user"
    entry["conditions"]["os"] = "Linux"
    problems = unknown_fields(table, cim_fields())
    assert "linux-process-creation: Processes.parent_user" in problems
    assert "linux-process-creation: os" in problems
