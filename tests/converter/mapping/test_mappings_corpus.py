"""Checks of the field-mapping tables in converter/mapping/tables against their schema and the corpus.

The tables (ecs-windows.yml, splunk-sysmon.yml, splunk-cim.yml) drive both the pySigma pipelines
and the event renderer, so three properties matter:

* schema validity: required keys, per-source keys that are declared data sources, `null` targets
  that are explained under `unmapped`, and functions from the documented set (the "Functions"
  table of converter/mapping/tables/README.md, parsed here so code and documentation cannot drift);
* coverage: every field used by a SigmaHQ Windows process_creation rule (including the field
  names given as `|fieldref` values) is renamed, mapped through a function or explicitly unmapped, for every
  data source of every table;
* ECS targets exist: every ECS field a table names is in ECS (`ecs_flat.json.gz`) or is listed
  under `non_ecs_fields` with its source, and the schema files named in `verified_in` list it.

The corpus checks read ../shared/corpus relative to the project root and skip when it is absent.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
MAPPINGS = ROOT / "converter" / "mapping" / "tables"
CORPUS = ROOT.parent / "shared" / "corpus"
PROCESS_CREATION_RULES = CORPUS / "sigmahq" / "rules" / "windows" / "process_creation"
ELASTIC_ETC = CORPUS / "elastic" / "etc"
TABLES = ("ecs-windows.yml", "splunk-sysmon.yml", "splunk-cim.yml", "kusto-windows.yml")

TOP_KEYS = ("name", "schema", "description", "docs", "options", "sources", "logsources")
OPTIONAL_TOP_KEYS = ("datamodel", "source_aliases", "not_covered", "extends")
LOGSOURCE_KEYS = ("id", "match", "conditions", "events", "render", "fields")
OPTIONAL_LOGSOURCE_KEYS = (
    "index",
    "sources",
    "unrecorded",
    "sources",
    "conditions_cased",
    "variants",
    "eql_category",
    "render_by_source",
    "event_render",
    "derived",
    "render_derived",
    "unmapped",
    "non_ecs_fields",
    "state",
    "field_prefix",
    "event_data",
    "shared_rows",
    "exact_only_when",
    "text_field",
    "exact",
)
SCHEMAS = ("ecs", "splunk", "splunk_cim", "kusto")

needs_corpus = pytest.mark.skipif(
    not PROCESS_CREATION_RULES.is_dir(), reason="../shared/corpus (SigmaHQ rules) is absent"
)
needs_ecs_schema = pytest.mark.skipif(
    not (ELASTIC_ETC / "ecs_flat.json.gz").is_file(),
    reason="../shared/corpus/elastic/etc is absent",
)


# --------------------------------------------------------------------------------------------
# Loading helpers
# --------------------------------------------------------------------------------------------


def load_table(name: str) -> dict[str, Any]:
    """Load one mapping table as a dict."""
    with open(MAPPINGS / name, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def documented_functions() -> set[str]:
    """Return the function names of the "## Functions" table in converter/mapping/tables/README.md."""
    text = (MAPPINGS / "README.md").read_text(encoding="utf-8")
    section = text.split("## Functions", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE))


def sources_of(table: dict[str, Any]) -> list[str]:
    """Return the data sources a table declares."""
    return list(table["options"]["data_source"]["choices"])


def is_function_spec(value: Any) -> bool:
    """True for a `{function, to, ...}` field spec (as opposed to a per-source mapping)."""
    return isinstance(value, dict) and ("function" in value or "to" in value)


def target_for(value: Any, source: str) -> Any:
    """Resolve a `fields` value (rename, function spec or per-source mapping) for one source."""
    if isinstance(value, dict) and not is_function_spec(value):
        return value.get(source)
    return value


def coverage(
    logsource: dict[str, Any], table: dict[str, Any], field: str, source: str
) -> str | None:
    """Say how a Sigma field is handled for one source: rename, function, unmapped or None."""
    fields = logsource.get("fields") or {}
    target = target_for(fields[field], source) if field in fields else None
    if isinstance(target, str):
        return "rename"
    if is_function_spec(target):
        return "function"
    if field in (logsource.get("unmapped") or {}):
        return "unmapped"
    event_data = logsource.get("event_data")
    prefix = event_data if isinstance(event_data, str) or event_data is None else event_data.get(source, event_data.get("*"))
    if prefix is not None and re.fullmatch(r"[A-Za-z0-9_]+", field):
        return "event data"
    return None


def flat_targets(value: Any) -> Iterator[str]:
    """Yield target field names of a rename, a function spec's `to`, a list or a mapping."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from flat_targets(item)
    elif is_function_spec(value):
        yield from flat_targets(value.get("to"))
    elif isinstance(value, dict):
        for item in value.values():
            yield from flat_targets(item)


# --------------------------------------------------------------------------------------------
# Schema validation (pure function, so the tests below can also prove it rejects bad tables)
# --------------------------------------------------------------------------------------------


def schema_problems(table: dict[str, Any], functions: set[str]) -> list[str]:
    """Return every schema violation of one table (an empty list means valid)."""
    problems: list[str] = []
    for key in TOP_KEYS:
        if key not in table:
            problems.append(f"missing top-level key {key!r}")
    if problems:
        return problems
    unknown = set(table) - set(TOP_KEYS) - set(OPTIONAL_TOP_KEYS)
    problems += [f"unknown top-level key {key!r}" for key in sorted(unknown)]
    for alias_id, alias in (table.get("source_aliases") or {}).items():
        for entry in alias.get("fields") or []:
            if "function" in entry and entry["function"] not in functions:
                problems.append(f"source_aliases {alias_id}: function {entry['function']!r} undocumented")
    if table["schema"] not in SCHEMAS:
        problems.append(f"unknown schema {table['schema']!r}")
    if table["schema"] == "splunk_cim" and "datamodel" not in table:
        problems.append("splunk_cim table without datamodel")
    declared = set(sources_of(table))
    if table["options"]["data_source"].get("default") not in declared:
        problems.append("options.data_source.default is not one of its choices")
    if set(table["sources"]) != declared:
        problems.append("`sources` keys differ from options.data_source.choices")
    for logsource in table["logsources"]:
        problems.extend(_logsource_problems(logsource, table, declared, functions))
    return problems


def _logsource_problems(
    logsource: dict[str, Any], table: dict[str, Any], declared: set[str], functions: set[str]
) -> list[str]:
    """Return the schema violations of one logsource entry."""
    where = logsource.get("id", "<no id>")
    problems = [f"{where}: missing key {key!r}" for key in LOGSOURCE_KEYS if key not in logsource]
    unknown = set(logsource) - set(LOGSOURCE_KEYS) - set(OPTIONAL_LOGSOURCE_KEYS)
    problems += [f"{where}: unknown key {key!r}" for key in sorted(unknown)]
    unmapped = logsource.get("unmapped") or {}
    if not isinstance(unmapped, dict):
        return problems + [f"{where}: `unmapped` must map each field to a reason"]
    for field, reason in unmapped.items():
        if not str(reason or "").strip():
            problems.append(f"{where}: unmapped {field} has no reason")
    for source, names in (logsource.get("unrecorded") or {}).items():
        if source not in declared:
            problems.append(f"{where}: unrecorded: undeclared source {source!r}")
        problems += [f"{where}: unrecorded {n} has no reason" for n in names if n not in unmapped]
    for field, value in (logsource.get("fields") or {}).items():
        if isinstance(value, dict) and not is_function_spec(value):
            variants = []
            for source, target in value.items():
                if source not in declared:
                    problems.append(f"{where}: {field}: undeclared source {source!r}")
                elif target is None:
                    if field not in unmapped:
                        problems.append(f"{where}: {field} is null for {source} but not unmapped")
                else:
                    variants.append(target)
        else:
            variants = [value]
        for variant in variants:
            problems += _spec_problems(f"{where}: {field}", variant, functions)
    for kind in ("derived", "render_derived"):
        for entry in logsource.get(kind) or []:
            if entry.get("function") not in functions:
                problems.append(f"{where}: {kind} function {entry.get('function')!r} undocumented")
            if not entry.get("to") or not entry.get("from"):
                problems.append(f"{where}: {kind} entry needs `from` and `to`: {entry}")
    for overrides in logsource.get("event_render") or []:
        problems += [
            f"{where}: event_render names undeclared source {key!r}"
            for key in overrides
            if key not in ("match", "fields") and key not in declared
        ]
    return problems


def _spec_problems(where: str, spec: Any, functions: set[str]) -> list[str]:
    """Check one resolved field spec: a field name, or `{function, to, ...params}`."""
    if isinstance(spec, str) and spec:
        return []
    if is_function_spec(spec):
        problems = []
        if spec.get("function") not in functions:
            problems.append(f"{where}: function {spec.get('function')!r} undocumented")
        if not list(flat_targets(spec.get("to"))):
            problems.append(f"{where}: function spec without `to`")
        return problems
    return [f"{where}: target must be a field name or a {{function, to}} mapping"]


# --------------------------------------------------------------------------------------------
# Corpus helpers
# --------------------------------------------------------------------------------------------


def rule_fields(detection: dict[str, Any]) -> set[str]:
    """Return the field names a Sigma detection uses, modifiers stripped, fieldref values added."""
    fields: set[str] = set()

    def visit(item: Any) -> None:
        if isinstance(item, dict):
            for key, value in item.items():
                name, *modifiers = str(key).split("|")
                if name:
                    fields.add(name)
                if "fieldref" in modifiers:
                    refs = value if isinstance(value, list) else [value]
                    fields.update(str(ref) for ref in refs)
        elif isinstance(item, list):
            for element in item:
                if isinstance(element, dict):
                    visit(element)

    for name, search in detection.items():
        if name not in ("condition", "timeframe"):
            visit(search)
    return fields


@lru_cache(maxsize=1)
def process_creation_field_counts() -> Counter[str]:
    """Count, per field, the SigmaHQ Windows process_creation rules that use it (read once)."""
    counts: Counter[str] = Counter()
    for path in sorted(PROCESS_CREATION_RULES.glob("*.yml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(document, dict) and "detection" in document:
                counts.update(rule_fields(document["detection"]))
    return counts


def process_creation(table: dict[str, Any], source: str | None = None) -> dict[str, Any]:
    """Return a table's windows process_creation logsource entry (of ``source``, for tables whose
    entries are per data source)."""
    for logsource in table["logsources"]:
        if source is not None and source not in logsource.get("sources", [source]):
            continue
        if logsource["match"] == {"product": "windows", "category": "process_creation"}:
            return logsource
    raise AssertionError(f"{table['name']}: no windows process_creation logsource")


def ecs_targets(logsource: dict[str, Any]) -> set[str]:
    """Collect every ECS field an ECS logsource entry names (queries, renders, aliases)."""
    targets: set[str] = set(flat_targets(list((logsource.get("fields") or {}).values())))
    for entry in logsource.get("derived") or []:
        targets.update(flat_targets(entry["to"]))
    targets.update(logsource.get("conditions") or {})
    targets.update(logsource.get("render") or {})
    for constants in (logsource.get("render_by_source") or {}).values():
        targets.update(constants or {})
    for overrides in logsource.get("event_render") or []:
        for key, value in overrides.items():
            if key == "fields":
                targets.update(flat_targets(value))
            elif key != "match":
                targets.update(value or {})
    return targets


def flatten_schema(tree: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Yield dotted keys of a nested {name: type|{...}} schema (non-ecs-schema.json shape)."""
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from flatten_schema(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


def test_readme_documents_the_functions_the_tables_use() -> None:
    """The README function table parses and holds the functions the lead must implement."""
    functions = documented_functions()
    expected = {"basename", "split_domain_user", "hashes", "integrity_level_name", "to_integer"}
    assert expected <= functions


@pytest.mark.parametrize("name", TABLES)
def test_table_schema_is_valid(name: str) -> None:
    """Each table has the required keys, declared sources and documented functions only."""
    assert schema_problems(load_table(name), documented_functions()) == []


def test_schema_check_rejects_broken_tables() -> None:
    """The validator reports bad functions, stray sources, unexplained nulls and bare lists."""
    table = load_table("ecs-windows.yml")
    logsource = process_creation(table)
    logsource["fields"]["User"] = {"function": "guess", "to": "user.name"}
    logsource["fields"]["Image"] = {"defend": "process.executable", "splunk": "Image"}
    logsource["fields"]["CommandLine"] = {"defend": None}
    logsource["fields"]["ParentImage"] = ["process.parent.executable"]
    logsource["unmapped"]["Company"] = ""
    problems = " | ".join(schema_problems(table, documented_functions()))
    assert "User: function 'guess' undocumented" in problems
    assert "undeclared source 'splunk'" in problems
    assert "CommandLine is null for defend but not unmapped" in problems
    assert "ParentImage: target must be a field name" in problems
    assert "unmapped Company has no reason" in problems


def test_rule_fields_strips_modifiers_and_reads_fieldref() -> None:
    """The corpus collector strips modifiers and counts fieldref values as fields."""
    detection = {
        "selection": {"Image|endswith": "\\a.exe", "User|fieldref": "ParentUser"},
        "filter": [{"CommandLine|contains|all": ["x"]}, "keyword"],
        "condition": "selection and not filter",
    }
    assert rule_fields(detection) == {"Image", "User", "ParentUser", "CommandLine"}


def test_splunk_cim_targets_are_dataset_qualified() -> None:
    """CIM targets carry the dataset prefix and the tstats BY list names mapped fields only."""
    table = load_table("splunk-cim.yml")
    model = table["datamodel"]
    assert model["name"] == "Endpoint.Processes"
    logsource = process_creation(table)
    mapped = set(flat_targets(list(logsource["fields"].values())))
    assert "Processes.process" in mapped
    mapped |= {entry["to"] for entry in logsource.get("derived") or []}
    assert all(target.startswith(model["prefix"]) for target in mapped)
    assert set(model["by"]) <= mapped


@needs_corpus
@pytest.mark.parametrize("name", TABLES)
def test_every_process_creation_field_is_covered(name: str) -> None:
    """Every field of a SigmaHQ process_creation rule is mapped or unmapped, per data source."""
    counts = process_creation_field_counts()
    assert counts, "no process_creation rules were read"
    table = load_table(name)
    missing = [
        f"{field} ({count} rules) for {source}"
        for field, count in counts.most_common()
        for source in sources_of(table)
        if coverage(process_creation(table, source), table, field, source) is None
    ]
    assert missing == []


@needs_ecs_schema
def test_every_ecs_target_exists_or_is_documented() -> None:
    """ECS targets are in ecs_flat or in non_ecs_fields with a source; verified_in files agree."""
    with gzip.open(ELASTIC_ETC / "ecs_flat.json.gz", "rt", encoding="utf-8") as handle:
        ecs = set(json.load(handle))
    with gzip.open(ELASTIC_ETC / "endpoint_process.json.gz", "rt", encoding="utf-8") as handle:
        endpoint = set(json.load(handle))
    with open(ELASTIC_ETC / "non-ecs-schema.json", encoding="utf-8") as handle:
        non_ecs = {field for tree in json.load(handle).values() for field in flatten_schema(tree)}
    known = {
        "ecs_flat.json.gz": ecs,
        "endpoint_process.json.gz": endpoint,
        "non-ecs-schema.json": non_ecs,
    }
    table = load_table("ecs-windows.yml")
    logsource = process_creation(table)
    documented = logsource.get("non_ecs_fields") or {}
    targets = ecs_targets(logsource)
    for alias in (table.get("source_aliases") or {}).values():
        for entry in alias.get("fields") or []:
            targets.update(entry.get("elastic") or [])
    undocumented = sorted(t for t in targets if t not in ecs and t not in documented)
    assert undocumented == []
    for field, info in documented.items():
        assert str(info.get("source", "")).strip(), f"{field}: non-ECS field without a source"
        for schema_file in info.get("verified_in") or []:
            assert field in known[schema_file], f"{field} is not listed in {schema_file}"


@needs_ecs_schema
def test_every_ecs_field_an_ecs_table_names_is_in_the_bundled_field_model() -> None:
    """The interpreters read a field's type, length limit and normalizer from ecs_fields.yml;
    an ECS field a table queries or renders that the model lacks is read as an unknown field
    (ES|QL refuses it: observer.type made 17 proxy rules "not checked")."""
    with gzip.open(ELASTIC_ETC / "ecs_flat.json.gz", "rt", encoding="utf-8") as handle:
        ecs = json.load(handle)
    model = yaml.safe_load((ROOT / "backends" / "query" / "ecs_fields.yml").read_text("utf-8"))
    bundled = model["ecs_fields"]
    missing: set[str] = set()
    tables = sorted(MAPPINGS.glob("*.yml"))
    assert tables
    for path in tables:
        table = load_table(path.name)
        if table.get("schema") != "ecs":
            continue
        targets: set[str] = set()
        for logsource in table.get("logsources") or []:
            targets |= ecs_targets(logsource)
        for alias in (table.get("source_aliases") or {}).values():
            for entry in alias.get("fields") or []:
                targets.update(entry.get("elastic") or [])
        missing |= {f"{path.name}: {t}" for t in targets if t in ecs and t not in bundled}
        for name in targets & set(bundled):
            assert bundled[name]["type"] == ecs[name]["type"], name
    assert sorted(missing) == []
