"""Unit tests for the Elasticsearch field model ``backends.query.fields``."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import yaml

from backends.query.errors import QueryError, UnsupportedQueryError
from backends.query.fields import FieldInfo, FieldModel, FieldModelError

ROOT = Path(__file__).resolve().parents[2]
ECS_FLAT = ROOT.parent / "shared" / "corpus" / "elastic" / "etc" / "ecs_flat.json.gz"
ECS_YAML = ROOT / "backends" / "query" / "ecs_fields.yml"


def info(model: FieldModel, name: str) -> FieldInfo:
    """Look a field up, failing the test when the model does not know it."""
    found = model.lookup(name)
    assert found is not None, name
    return found


def test_from_dict_with_multi_fields() -> None:
    model = FieldModel.from_dict(
        {
            "process.name": {
                "type": "keyword",
                "ignore_above": 1024,
                "fields": {
                    "caseless": {
                        "type": "keyword", "normalizer": "lowercase", "ignore_above": 1024
                    },
                    "text": {"type": "match_only_text"},
                },
            },
            "message": {"type": "match_only_text"},
        }
    )
    assert model.lookup("process.name") == FieldInfo("process.name", "process.name", "keyword",
                                                     ignore_above=1024)
    assert model.lookup("process.name.caseless") == FieldInfo(
        "process.name.caseless", "process.name", "keyword", "lowercase", 1024
    )
    text = model.lookup("process.name.text")
    assert text is not None and text.source == "process.name" and text.is_text
    assert model.lookup("process.executable") is None
    assert {f.name for f in model.multi_fields("process.name")} == {
        "process.name.caseless", "process.name.text"
    }
    assert "message" in model and len(model) == 4


def test_from_dict_alias_and_dynamic() -> None:
    model = FieldModel.from_dict(
        {
            "process.name": {"type": "keyword"},
            "Image": {"type": "alias", "path": "process.name"},
            "winlog.event_data.*": {"type": "keyword", "ignore_above": 1024},
            "winlog.event_data.Special.*": {"type": "long"},
        }
    )
    assert model.lookup("Image") == FieldInfo("Image", "process.name", "keyword")
    info = model.lookup("winlog.event_data.CommandLine")
    assert info == FieldInfo("winlog.event_data.CommandLine", "winlog.event_data.CommandLine",
                             "keyword", ignore_above=1024)
    special = model.lookup("winlog.event_data.Special.x")
    assert special is not None and special.type == "long"  # the longest prefix wins
    assert model.lookup("winlog.event_data") is None


@pytest.mark.parametrize(
    "mapping",
    [
        {"a": {"ignore_above": 3}},  # no type
        {"a": "keyword"},
        {"a": {"type": "keyword", "ignore_above": "big"}},
        {"a": {"type": "alias", "path": "missing"}},
        ["not", "a", "mapping"],
    ],
)
def test_from_dict_errors(mapping: object) -> None:
    with pytest.raises(FieldModelError):
        FieldModel.from_dict(mapping)  # type: ignore[arg-type]


REALISTIC_MAPPING = {
    "logs-endpoint.events.process-default-000001": {
        "mappings": {
            "dynamic": "false",
            "properties": {
                "@timestamp": {"type": "date"},
                "process": {
                    "properties": {
                        "name": {
                            "type": "keyword",
                            "ignore_above": 1024,
                            "fields": {
                                "caseless": {"type": "keyword", "ignore_above": 1024,
                                             "normalizer": "lowercase"},
                                "text": {"type": "text"},
                            },
                        },
                        "command_line": {
                            "type": "wildcard",
                            "fields": {"text": {"type": "text"}},
                        },
                        "pid": {"type": "long"},
                        "parent": {
                            "type": "object",
                            "properties": {"name": {"type": "keyword", "ignore_above": 1024}},
                        },
                    }
                },
                "host": {"properties": {"ip": {"type": "ip"}}},
                "Image": {"type": "alias", "path": "process.name"},
            },
        }
    }
}


def test_from_es_mapping_realistic() -> None:
    model = FieldModel.from_es_mapping(REALISTIC_MAPPING)
    assert model.lookup("process.name.caseless") == FieldInfo(
        "process.name.caseless", "process.name", "keyword", "lowercase", 1024
    )
    assert info(model, "process.command_line").type == "wildcard"
    assert info(model, "process.command_line.text").source == "process.command_line"
    assert info(model, "process.parent.name").ignore_above == 1024
    assert info(model, "process").type == "object"
    assert info(model, "host.ip").type == "ip"
    assert info(model, "Image").source == "process.name"
    assert model.lookup("process.nope") is None


def test_from_es_mapping_shapes() -> None:
    props = {"a": {"type": "keyword"}}
    for shape in ({"properties": props}, {"mappings": {"properties": props}},
                  {"idx": {"mappings": {"_doc": {"properties": props}}}}):
        assert info(FieldModel.from_es_mapping(shape), "a").type == "keyword"


def test_from_es_mapping_several_indices() -> None:
    agree = {
        "i1": {"mappings": {"properties": {"a": {"type": "keyword"}}}},
        "i2": {"mappings": {"properties": {"a": {"type": "keyword"}, "b": {"type": "long"}}}},
    }
    model = FieldModel.from_es_mapping(agree)
    assert info(model, "a").type == "keyword" and model.lookup("b").type == "long"
    disagree = {
        "i1": {"mappings": {"properties": {"a": {"properties": {"b": {"type": "keyword"}}}}}},
        "i2": {"mappings": {"properties": {"a": {"properties": {"b": {"type": "text"}}}}}},
    }
    with pytest.raises(FieldModelError, match=r"'a\.b'.*'keyword'.*'i1'.*'text'.*'i2'") as err:
        FieldModel.from_es_mapping(disagree)
    assert isinstance(err.value, QueryError)


@pytest.mark.parametrize("bad", [{"idx": {"settings": {}}}, {}, {"mappings": []}])
def test_from_es_mapping_errors(bad: dict) -> None:
    with pytest.raises(FieldModelError):
        FieldModel.from_es_mapping(bad)


def test_builtin_sources() -> None:
    defend = FieldModel.builtin("defend")
    windows = FieldModel.builtin("windows")
    winlogbeat = FieldModel.builtin("winlogbeat")
    caseless = defend.lookup("process.parent.command_line.caseless")
    assert caseless == FieldInfo("process.parent.command_line.caseless",
                                 "process.parent.command_line", "keyword", "lowercase", 1024)
    assert info(defend, "process.name.text").type == "text"
    assert defend.lookup("host.os.name.caseless") is not None
    assert defend.lookup("file.target_path.caseless") is not None
    assert defend.lookup("user.name.caseless") is None
    for model in (windows, winlogbeat):
        assert model.lookup("process.name.caseless") is None
        assert info(model, "process.name.text").type == "match_only_text"
        assert info(model, "process.command_line").type == "wildcard"
        assert info(model, "winlog.event_data.TargetObject").type == "keyword"
        assert info(model, "event.category").ignore_above == 1024
    script = windows.lookup("powershell.file.script_block_text")
    assert script is not None and script.analyzer == "powershell_script_analyzer"
    assert FieldModel.builtin("defend") is defend  # loaded once
    with pytest.raises(FieldModelError, match="defend"):
        FieldModel.builtin("sysmon")


@pytest.mark.skipif(not ECS_FLAT.exists(), reason="shared corpus (../shared/corpus) is absent")
def test_builtin_types_match_ecs_corpus() -> None:
    with gzip.open(ECS_FLAT, "rt", encoding="utf-8") as handle:
        ecs = json.load(handle)
    data = yaml.safe_load(ECS_YAML.read_text(encoding="utf-8"))
    fields = data["ecs_fields"]
    assert len(fields) > 1000
    for name, spec in fields.items():
        assert name in ecs, name
        assert spec["type"] == ecs[name]["type"], name
        assert spec.get("ignore_above") == ecs[name].get("ignore_above"), name
        subs = {m["name"]: m["type"] for m in ecs[name].get("multi_fields", [])}
        assert {k: v["type"] for k, v in spec.get("fields", {}).items()} == subs, name
    for name in data["extra_fields"]:
        assert name.removesuffix(".*") not in ecs, f"{name} is ECS; it belongs in ecs_fields"


@pytest.mark.skipif(not ECS_FLAT.exists(), reason="shared corpus (../shared/corpus) is absent")
def test_defend_own_fields_match_the_endpoint_schema() -> None:
    """Defend's non-ECS fields in the model (the overlay's whole-field entries) have the type
    the Defend schema copies in the corpus give them, and a keyword one the 1,024-character
    ignore_above of the package's fields.yml: a field missing from the model was read as a
    keyword without a length limit, which hid that limit."""
    etc = ECS_FLAT.parent
    with gzip.open(etc / "endpoint_process.json.gz", "rt", encoding="utf-8") as handle:
        schema = dict(json.load(handle))
    with open(etc / "non-ecs-schema.json", encoding="utf-8") as handle:
        schema.update(json.load(handle)["logs-endpoint.events.*"])
    overlay = yaml.safe_load(ECS_YAML.read_text(encoding="utf-8"))["overlays"]["defend"]
    own = {name: spec for name, spec in overlay.items() if "type" in spec}
    assert {"process.Ext.authentication_id", "process.Ext.token.integrity_level_name"} <= set(own)
    defend = FieldModel.builtin("defend")
    for name, spec in own.items():
        assert spec["type"] == schema[name], name
        assert info(defend, name).ignore_above == (1024 if spec["type"] == "keyword" else None)


def test_interpreters_refuse_fields_with_parameters_they_do_not_model() -> None:
    model = FieldModel.from_dict({
        "a": {"type": "keyword", "null_value": "NULL"},
        "n": {"type": "long", "coerce": False},
        "b": {"type": "keyword", "index": True, "coerce": True, "null_value": None},
    })
    assert model.lookup("a") is not None and model.lookup("a").unmodelled == 'null_value: "NULL"'
    strict = model.for_interpreters()
    for name, words in (("a", 'sets null_value: "NULL"'), ("n", "sets coerce: false")):
        with pytest.raises(UnsupportedQueryError, match=words):
            strict.lookup(name)
    assert strict.lookup("b") is not None  # the defaults, written out, change nothing
    plain = FieldModel.builtin("defend")
    assert plain.for_interpreters() is plain
