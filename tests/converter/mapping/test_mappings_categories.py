"""The mapping tables beyond process_creation: registry, file, image load, network, PowerShell,
and the Security / System services.

For every Windows category and service the SigmaHQ corpus uses (``CATEGORIES``):

* each table either has a logsource entry for it, or lists it under ``not_covered`` with a reason;
* every field used by a corpus rule of that logsource (``|fieldref`` values included) is renamed,
  mapped through a function, or explained under ``unmapped``, for every data source of the table;
* every ECS target of every ECS logsource entry is in ECS (``ecs_flat.json.gz``) or is listed
  under that entry's ``non_ecs_fields`` with its source;
* the tables load and build pipelines for every data source and every kind of target;
* converting the corpus rules of each logsource never ends in ``error`` for eql, kql, lucene,
  splunk and splunk-cim ("unsupported" with a reason is the honest outcome for unmapped fields).

Tests that read ``../shared/corpus`` skip cleanly when it is absent.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from converter.conversion.convert import Converter
from converter.mapping.loader import load_table
from converter.mapping.pipeline import TargetTraits, build_pipeline
from converter.rules.load import LoadedRule, load_rules
from helpers import proven_but_for_length_limits
from test_mappings_corpus import coverage, ecs_targets, rule_fields, sources_of

ROOT = Path(__file__).resolve().parents[3]
MAPPINGS = ROOT / "converter" / "mapping" / "tables"
WINDOWS_RULES = ROOT.parent / "shared" / "corpus" / "sigmahq" / "rules" / "windows"
ELASTIC_ETC = ROOT.parent / "shared" / "corpus" / "elastic" / "etc"
TABLES = ("ecs-windows", "splunk-sysmon", "splunk-cim")
TARGETS = ("eql", "kql", "lucene", "splunk", "splunk-cim")

#: The Sigma logsources this issue covers, as the ``match`` of a table entry.
CATEGORIES: dict[str, dict[str, str]] = {
    "registry_set": {"product": "windows", "category": "registry_set"},
    "registry_add": {"product": "windows", "category": "registry_add"},
    "registry_delete": {"product": "windows", "category": "registry_delete"},
    "registry_event": {"product": "windows", "category": "registry_event"},
    "file_event": {"product": "windows", "category": "file_event"},
    "image_load": {"product": "windows", "category": "image_load"},
    "network_connection": {"product": "windows", "category": "network_connection"},
    "ps_script": {"product": "windows", "category": "ps_script"},
    "security": {"product": "windows", "service": "security"},
    "system": {"product": "windows", "service": "system"},
    "dns_query": {"product": "windows", "category": "dns_query"},
    "pipe_created": {"product": "windows", "category": "pipe_created"},
    "process_access": {"product": "windows", "category": "process_access"},
    "create_remote_thread": {"product": "windows", "category": "create_remote_thread"},
    "driver_load": {"product": "windows", "category": "driver_load"},
    "create_stream_hash": {"product": "windows", "category": "create_stream_hash"},
    "file_delete": {"product": "windows", "category": "file_delete"},
    "raw_access_thread": {"product": "windows", "category": "raw_access_thread"},
    "wmi_event": {"product": "windows", "category": "wmi_event"},
}

needs_corpus = pytest.mark.skipif(
    not WINDOWS_RULES.is_dir(), reason="../shared/corpus (SigmaHQ rules) is absent"
)
needs_ecs_schema = pytest.mark.skipif(
    not (ELASTIC_ETC / "ecs_flat.json.gz").is_file(),
    reason="../shared/corpus/elastic/etc is absent",
)


def raw_table(name: str) -> dict[str, Any]:
    """One mapping table as plain YAML data (anchors resolved)."""
    with open(MAPPINGS / f"{name}.yml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def entry_for(table: dict[str, Any], match: dict[str, str]) -> dict[str, Any] | None:
    """The table's logsource entry whose ``match`` is exactly ``match``."""
    for logsource in table["logsources"]:
        if logsource["match"] == match:
            return logsource
    return None


def not_covered_reason(table: dict[str, Any], match: dict[str, str]) -> str | None:
    """The reason a table gives for not covering a logsource, if it lists it."""
    for item in table.get("not_covered") or []:
        if item.get("match") == match:
            return str(item.get("reason") or "").strip() or None
    return None


def logsource_key(rule: dict[str, Any]) -> str | None:
    """The ``CATEGORIES`` key of a rule's logsource, or None when it is not one of them."""
    logsource = rule.get("logsource") or {}
    for key, match in CATEGORIES.items():
        if all(logsource.get(k) == v for k, v in match.items()) and (
            "service" in match or not logsource.get("service")
        ):
            return key
    return None


@lru_cache(maxsize=1)
def corpus_paths() -> dict[str, tuple[Path, ...]]:
    """Windows corpus rule files per covered logsource (read once)."""
    found: dict[str, list[Path]] = {key: [] for key in CATEGORIES}
    for path in sorted(WINDOWS_RULES.rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(document, dict) and "detection" in document:
            key = logsource_key(document)
            if key is not None:
                found[key].append(path)
    return {key: tuple(paths) for key, paths in found.items()}


@lru_cache(maxsize=None)
def field_counts(key: str) -> Counter[str]:
    """Per field, how many corpus rules of the logsource use it."""
    counts: Counter[str] = Counter()
    for path in corpus_paths()[key]:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        counts.update(rule_fields(document["detection"]))
    return counts


@lru_cache(maxsize=None)
def loaded_rules(key: str) -> tuple[LoadedRule, ...]:
    """The corpus rules of one logsource, loaded once for every target."""
    return tuple(load_rules([str(p) for p in corpus_paths()[key]]))


# --------------------------------------------------------------------------------------------
# Tables: structure and pipelines (no corpus needed)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TABLES)
@pytest.mark.parametrize("key", list(CATEGORIES))
def test_each_logsource_is_covered_or_declared_not_covered(name: str, key: str) -> None:
    """A table maps the logsource or says why not; never both, never silently neither. Entries
    limited to some data sources (``sources``) leave the others to a reason that names them."""
    table = raw_table(name)
    match = CATEGORIES[key]
    entries = [e for e in table["logsources"] if e["match"] == match]
    reason = not_covered_reason(table, match)
    choices = set(table["options"]["data_source"]["choices"])
    covered = {s for e in entries for s in (e.get("sources") or choices)}
    if covered == choices:
        assert reason is None, f"{name}: {key} is mapped for every data source and not covered"
    else:
        assert reason is not None, f"{name}: {key} has no entry for {choices - covered} and no reason"
        for source in choices - covered if covered else ():
            assert source in reason, f"{name}: {key}: the reason does not name {source}"


@pytest.mark.parametrize("name", TABLES)
def test_tables_load_and_build_for_every_source_and_target_kind(name: str) -> None:
    """load_table accepts the table; build_pipeline works for every data source and trait set."""
    table = load_table(name)
    ids = [entry.id for entry in table.logsources]
    assert len(ids) == len(set(ids)), "logsource ids must be unique (processing-item identifiers)"
    traits = (
        TargetTraits(),
        TargetTraits(eql_category=True),
        TargetTraits(caseless_subfields="all"),
        TargetTraits(caseless_subfields="lossless"),
    )
    for source in table.options["data_source"]["choices"]:
        for trait in traits:
            pipeline = build_pipeline(name, trait, {"data_source": source})
            identifiers = {item.identifier for item in pipeline.items}
            # Defend's registry_event entry is its own (value sets only).
            assert any(i.startswith(f"{name}-windows-registry-event") and i.endswith("-unmapped")
                       for i in identifiers) or name == "splunk-cim"


def test_registry_entries_render_sysmon_12_identically() -> None:
    """Sysmon 12 belongs to three logsources: their rendering data must agree in every table."""
    for name in TABLES:
        table = raw_table(name)
        entries = [
            entry_for(table, CATEGORIES[key])
            for key in ("registry_add", "registry_delete", "registry_set", "registry_event")
        ]
        present = [e for e in entries if e is not None]
        for entry in present[1:]:
            for key in ("render", "render_by_source", "event_render", "fields", "derived"):
                assert entry.get(key) == present[0].get(key), f"{name}: {entry['id']} {key}"


def test_splunk_cim_datasets_use_their_own_prefix() -> None:
    """Every non-process CIM entry names its data model in state and prefixes its BY fields."""
    table = raw_table("splunk-cim")
    for entry in table["logsources"]:
        if "state" not in entry:
            continue
        prefix = entry["field_prefix"]
        dataset = entry["state"]["data_model_set"].split(".")[1]
        assert prefix == f"{dataset}."
        assert all(field.startswith(prefix) for field in entry["state"]["fields"])
        # Targets are bare CIM names; the pipeline adds the prefix.
        assert not any(str(t).startswith(prefix) for t in entry["fields"].values())


def test_ecs_event_data_fields_are_exact_renames_where_the_ingest_keeps_them() -> None:
    """Fields whose ECS copy is rewritten by the ingest pipeline map to winlog.event_data."""
    registry = entry_for(raw_table("ecs-windows"), CATEGORIES["registry_set"])
    assert registry is not None
    # registry.data.strings holds "1" for "DWORD (0x00000001)": only event_data is exact.
    assert registry["fields"]["Details"]["windows"] == "winlog.event_data.Details"
    image = entry_for(raw_table("ecs-windows"), CATEGORIES["image_load"])
    assert image is not None
    assert image["fields"]["Signed"]["windows"] == "winlog.event_data.Signed"
    # Values translated to another vocabulary (egress/ingress) go through value_map, per source
    # (Defend has written two spellings); addresses through to_ip.
    network = entry_for(raw_table("ecs-windows"), CATEGORIES["network_connection"])
    assert network is not None and "Initiated" not in network["unmapped"]
    initiated = network["fields"]["Initiated"]
    assert initiated["windows"]["function"] == "value_map"
    assert initiated["windows"]["values"] == {"true": "egress", "false": "ingress"}
    assert initiated["defend"]["values"]["true"] == ["egress", "outgoing"]
    assert network["fields"]["DestinationIp"] == {"function": "to_ip", "to": "destination.ip",
                                                  "canonical": True, "ipv6_text": "sysmon"}


# --------------------------------------------------------------------------------------------
# Corpus coverage
# --------------------------------------------------------------------------------------------


@needs_corpus
@pytest.mark.parametrize("name", TABLES)
@pytest.mark.parametrize("key", list(CATEGORIES))
def test_every_corpus_field_is_mapped_or_unmapped(name: str, key: str) -> None:
    """Every field of the logsource's corpus rules is handled for every data source."""
    counts = field_counts(key)
    assert counts, f"no corpus rules were read for {key}"
    table = raw_table(name)
    missing = []
    for source in sources_of(table):
        entry = next((e for e in table["logsources"] if e["match"] == CATEGORIES[key]
                      and source in (e.get("sources") or [source])), None)
        if entry is None:
            assert not_covered_reason(table, CATEGORIES[key])
            continue
        missing += [
            f"{field} ({count} rules) for {source}"
            for field, count in counts.most_common()
            if coverage(entry, table, field, source) is None
        ]
    assert missing == []


@needs_ecs_schema
def test_every_ecs_target_of_every_logsource_exists_or_is_documented() -> None:
    """ECS targets are in ecs_flat, or in the entry's non_ecs_fields with a source."""
    with gzip.open(ELASTIC_ETC / "ecs_flat.json.gz", "rt", encoding="utf-8") as handle:
        ecs = set(json.load(handle))
    table = raw_table("ecs-windows")
    problems = []
    for entry in table["logsources"]:
        documented = entry.get("non_ecs_fields") or {}
        for target in sorted(ecs_targets(entry)):
            if target not in ecs and target not in documented:
                problems.append(f"{entry['id']}: {target}")
        for field, info in documented.items():
            if not str(info.get("source", "")).strip():
                problems.append(f"{entry['id']}: {field} has no source")
    assert problems == []


# --------------------------------------------------------------------------------------------
# Conversion of the corpus
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def converter(target: str, data_source: str | None) -> Converter:
    """One converter per target and data source (backend and pipeline built once)."""
    return Converter(target, options={"data_source": data_source} if data_source else None)


@needs_corpus
@pytest.mark.parametrize("key", list(CATEGORIES))
@pytest.mark.parametrize(
    "target,data_source",
    [(t, None) for t in TARGETS] + [("eql", "windows")],
)
def test_corpus_rules_convert_without_errors(key: str, target: str, data_source: str | None) -> None:
    """Each rule converts or is unsupported with a reason; an ``error`` is a table or code bug."""
    rules = loaded_rules(key)
    assert rules
    results = [converter(target, data_source).convert(rule) for rule in rules]
    errors = [f"{r.path}: {r.reason}" for r in results if r.status == "error"]
    assert errors == []
    assert all(r.reason for r in results if r.status == "unsupported")
    if target == "splunk" and key not in ("security", "system"):
        # Raw Sysmon searches name every Sigma field verbatim: everything converts, except
        # fields the add-on's field lists do not show for that event (unmapped with the reason).
        entry = load_table("splunk-sysmon").for_logsource("windows", CATEGORIES[key].get("category"), None)
        assert entry is not None
        assert all(
            r.status == "converted"
            or any(f"field {name!r} is not mapped" in (r.reason or "") for name in entry.unmapped)
            for r in results
        )


#: Splunk raw Sysmon entries and the security_content data source files listing their fields.
SPLUNK_SYSMON_SOURCES = {
    "windows-dns-query": (22,),
    "windows-pipe-created": (17, 18),
    "windows-process-access": (10,),
    "windows-create-remote-thread": (8,),
    "windows-driver-load": (6,),
    "windows-wmi-event": (20, 21),
    "windows-create-stream-hash": (15,),
    "windows-file-delete": (23,),
    "windows-raw-access-thread": (9,),
}
SPLUNK_DATA_SOURCES = ROOT.parent / "shared" / "corpus" / "splunk-security-content" / "data_sources"


@pytest.mark.skipif(not SPLUNK_DATA_SOURCES.is_dir(), reason="../shared/corpus/splunk-security-content is absent")
@pytest.mark.parametrize("entry_id", sorted(SPLUNK_SYSMON_SOURCES))
def test_splunk_sysmon_fields_are_in_the_data_source_lists(entry_id: str) -> None:
    """Every field a Splunk raw Sysmon entry searches or renders is one the Splunk Add-on for
    Sysmon extracts for that event (security_content data_sources/sysmon_eventid_<N>.yml), and
    the `source` condition is that file's source."""
    documents = [
        yaml.safe_load((SPLUNK_DATA_SOURCES / f"sysmon_eventid_{n}.yml").read_text(encoding="utf-8"))
        for n in SPLUNK_SYSMON_SOURCES[entry_id]
    ]
    known = set().union(*(set(d["fields"]) for d in documents))
    entry = next(e for e in raw_table("splunk-sysmon")["logsources"] if e["id"] == entry_id)
    assert {d["source"] for d in documents} == {entry["conditions"]["source"]}
    used = set(entry["conditions"]) | set(entry["render"]) - {"source", "sourcetype"}
    for target in entry["fields"].values():
        used.add(target if isinstance(target, str) else target["to"])
    assert sorted(used - known) == []


SYSMON_RULES = {
    "dns_query": {"sel": {"QueryName|endswith": ".ngrok.io"}, "filter": {"Image|endswith": "\\chrome.exe"}},
    "pipe_created": {"sel": {"PipeName|startswith": "\\msagent_"}, "filter": {"Image|endswith": "\\x.exe"}},
    "process_access": {
        "sel": {"TargetImage|endswith": "\\lsass.exe", "GrantedAccess": "0x1410"},
        "filter": {"SourceImage|endswith": "\\wininit.exe"},
    },
    "create_remote_thread": {"sel": {"StartModule|endswith": "\\kernel32.dll"}, "filter": {"SourceImage|contains": "\\Temp\\"}},
    "driver_load": {"sel": {"ImageLoaded|endswith": "\\foo.sys"}, "filter": {"Hashes|contains": "MD5=0123456789ABCDEF0123456789ABCDEF"}},
    "create_stream_hash": {"sel": {"TargetFilename|endswith": ":Zone.Identifier", "Contents|contains": "blob:"}, "filter": {"Image|endswith": "\\chrome.exe"}},
    "file_delete": {"sel": {"TargetFilename|endswith": "\\x.evtx"}, "filter": {"Image|endswith": "\\svchost.exe"}},
    "raw_access_thread": {"sel": {"Device|contains": "\\Device\\HarddiskVolume"}, "filter": {"Image|endswith": "\\System"}},
    # The consumer's command (Sysmon 20 Destination) is process.executable on ECS.
    "wmi_event": {"sel": {"EventID": [19, 20, 21], "Destination|contains": " -enc "}, "filter": {"Operation": "Deleted"}},
}


@pytest.mark.parametrize("category", sorted(SYSMON_RULES))
@pytest.mark.parametrize("targets,data_source", [(["eql", "lucene"], "windows"), (["eql", "lucene"], "winlogbeat"), (["splunk"], None)])
def test_sysmon_categories_are_proven_on_rendered_events(category: str, targets: list[str], data_source: str | None) -> None:
    """Each new Sysmon category converts and is equivalent on events rendered by its table."""
    from converter.checking.checker import Checker
    from converter.generate.generator import generate_events
    from converter.rules.load import load_text

    text = yaml.safe_dump(
        {
            "title": f"{category} test",
            "id": "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f",
            "logsource": {"product": "windows", "category": category},
            "detection": {**SYSMON_RULES[category], "condition": "sel and not filter"},
        }
    )
    (loaded,) = load_text(text, "inline.yml")
    result = Checker(targets, data_source=data_source).check(loaded, generate_events(loaded.rule, seed=0))
    for name, target in result.targets.items():
        # Proven, or differing only on a generated value past a keyword field's ignore_above
        # (file.path, dns.question.name...: ECS keyword fields stop indexing at 1,024).
        assert proven_but_for_length_limits(target), (name, target.reason, target.disagreements[:2])
