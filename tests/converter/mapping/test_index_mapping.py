"""The user's mapping drives the KQL and Lucene emitters and the proof (issue 14, part 1).

``--mapping`` takes an index mapping, an index template or a component template; the best
lowercase-normalised keyword form of each field, whatever its name, is queried for Sigma's
case-insensitive matches, and ``check`` lowers the query with the same model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from backends.query.fields import FieldModel, FieldModelError
from converter.cli import main
from converter.conversion.convert import Converter
from converter.checking.checker import Checker
from converter.generate.generator import generate_events
from converter.rules.load import load_text

RULE = """
title: t
id: 7d3a1b52-3c44-4b1e-9a0e-1f2a3b4c5d6e
logsource: {category: process_creation, product: windows}
detection:
  sel: {Image|endswith: '\\Cmd.exe', ParentImage|endswith: '\\Explorer.EXE'}
  condition: sel
"""

#: A component template as a user would write it: a custom normalizer (any name) that only
#: lowercases, multi-fields named `lc` and `folded`.
TEMPLATE: dict[str, Any] = {
    "template": {
        "settings": {"analysis": {"normalizer": {
            "fold": {"type": "custom", "char_filter": [], "filter": ["lowercase"]},
            "ascii": {"type": "custom", "filter": ["lowercase", "asciifolding"]},
        }}},
        "mappings": {"properties": {"process": {"properties": {
            "name": {"type": "keyword", "ignore_above": 1024, "fields": {
                "lc": {"type": "keyword", "normalizer": "fold", "ignore_above": 8191},
                "folded": {"type": "keyword", "normalizer": "ascii", "ignore_above": 8191},
            }},
            "parent": {"properties": {"name": {"type": "keyword", "ignore_above": 1024, "fields": {
                "lower": {"type": "keyword", "normalizer": "lowercase", "ignore_above": 1024},
            }}}},
        }}}},
    }
}


def _write(tmp_path: Path, obj: Any, name: str = "mapping.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(obj), encoding="utf-8")
    return path


def _convert(target: str, options: dict[str, Any]) -> Any:
    conversion = Converter(target, options=options).convert(load_text(RULE, "r.yml")[0])
    assert conversion.status == "converted", conversion.reason
    return conversion


# --- the field model -------------------------------------------------------------------------


def test_custom_normalizers_that_only_lowercase_are_lowercase() -> None:
    model = FieldModel.from_es_mapping(TEMPLATE)
    assert model.lookup("process.name.lc").normalizer == "lowercase"
    # asciifolding also folds é to e: not Sigma's case-insensitivity, so it keeps its own name.
    assert model.lookup("process.name.folded").normalizer == "ascii"
    assert model.caseless_form("process.name").name == "process.name.lc"
    assert model.caseless_form("process.parent.name").name == "process.parent.name.lower"


@pytest.mark.parametrize("normalizer, filters, lowercase", [
    ({"filter": ["lowercase"]}, {}, True),
    ({"filter": "lowercase"}, {}, True),
    ({"filter": ["my_lc"]}, {"my_lc": {"type": "lowercase"}}, True),
    ({"filter": ["my_lc"]}, {"my_lc": {"type": "lowercase", "language": "turkish"}}, False),
    ({"filter": ["lowercase"], "char_filter": ["strip"]}, {}, False),
    ({"filter": ["lowercase", "trim"]}, {}, False),
    ({"filter": []}, {}, False),
])
def test_which_custom_normalizers_count(normalizer: dict, filters: dict, lowercase: bool) -> None:
    body = {"template": {
        "settings": {"index": {"analysis": {"normalizer": {"n": normalizer}, "filter": filters}}},
        "mappings": {"properties": {"f": {"type": "keyword", "normalizer": "n"}}},
    }}
    assert FieldModel.from_es_mapping(body).is_lowercase("f") is lowercase


def test_flat_settings_are_read() -> None:
    body = {"template": {
        "settings": {"index.analysis.normalizer.n.type": "custom",
                     "index.analysis.normalizer.n.filter": ["lowercase"]},
        "mappings": {"properties": {"f": {"type": "keyword", "normalizer": "n"}}},
    }}
    assert FieldModel.from_es_mapping(body).is_lowercase("f")


def test_template_shapes() -> None:
    body = TEMPLATE["template"]
    shapes = [
        TEMPLATE,  # component template body
        {"index_patterns": ["logs-*"], "composed_of": [], "template": body},  # index template
        {"component_templates": [{"name": "c", "component_template": TEMPLATE}]},
        {"index_templates": [{"name": "i", "index_template": {"index_patterns": ["x"],
                                                              "template": body}}]},
        {"index_patterns": ["x"], "settings": body["settings"], "mappings": body["mappings"]},
        {"idx": {"settings": {"index": body["settings"]}, "mappings": body["mappings"]}},
    ]
    for shape in shapes:
        model = FieldModel.from_es_mapping(shape)
        assert model.caseless_form("process.name").name == "process.name.lc", shape


@pytest.mark.parametrize("bad", [
    {"index_templates": []},
    {"component_templates": [{"name": "c"}]},
    {"template": {"mappings": []}},
])
def test_malformed_templates(bad: dict) -> None:
    with pytest.raises(FieldModelError):
        FieldModel.from_es_mapping(bad)


def test_a_template_completes_the_data_source_model_and_an_index_mapping_replaces_it() -> None:
    base = FieldModel.builtin("windows")
    model = FieldModel.from_es_mapping(TEMPLATE, base=base)
    assert model.lookup("event.category") == base.lookup("event.category")
    assert model.lookup("process.name.lc").source == "process.name"
    # The template's definition of process.name replaces the built-in one with its multi-fields.
    assert model.lookup("process.name.text") is None
    index = FieldModel.from_es_mapping({"i": {"mappings": TEMPLATE["template"]["mappings"]}},
                                       base=base)
    assert index.lookup("event.category") is None


def test_best_form_prefers_the_longest_indexed_values() -> None:
    model = FieldModel.from_dict({"f": {"type": "wildcard", "fields": {
        "a": {"type": "keyword", "normalizer": "lowercase", "ignore_above": 256},
        "b": {"type": "keyword", "normalizer": "lowercase"},
        "c": {"type": "keyword", "ignore_above": 10000},
    }}})
    assert model.caseless_form("f").name == "f.b"
    assert not model.loses_values("f.b") and not model.loses_values("f")
    assert model.loses_values("f.a")  # the wildcard parent indexes values of any length
    self_normalised = FieldModel.from_dict({"g": {"type": "keyword", "normalizer": "lowercase"}})
    assert self_normalised.caseless_form("g").name == "g"


def test_models_pickle_for_worker_processes() -> None:
    import pickle

    model = FieldModel.from_es_mapping(TEMPLATE, base=FieldModel.builtin("winlogbeat"))
    copy = pickle.loads(pickle.dumps(model))
    assert copy.lookup("process.name.lc") == model.lookup("process.name.lc")
    assert copy.lookup("winlog.event_data.Anything") == model.lookup("winlog.event_data.Anything")


# --- conversion and proof --------------------------------------------------------------------


@pytest.mark.parametrize("target", ["kql", "lucene"])
def test_the_mapping_decides_the_queried_fields(tmp_path: Path, target: str) -> None:
    path = _write(tmp_path, TEMPLATE)
    plain = _convert(target, {"data_source": "windows"})
    assert "process.name.lc" not in plain.output
    mapped = _convert(target, {"data_source": "windows", "mapping": str(path)})
    assert "process.name.lc:Cmd.exe" in mapped.output
    assert "process.parent.name.lower:Explorer.EXE" in mapped.output
    assert mapped.warnings == []  # no case caveat, and neither multi-field loses values


def test_check_proves_with_the_same_mapping(tmp_path: Path) -> None:
    path = _write(tmp_path, TEMPLATE)
    loaded = load_text(RULE, "r.yml")[0]
    events = generate_events(loaded.rule, seed=0)
    without = Checker(["kql"], data_source="windows").check(loaded, events).targets["kql"]
    assert without.equivalent is False and without.disagreements  # other letter cases
    result = Checker(["kql", "lucene"], data_source="windows", mapping=path).check(loaded, events)
    for name, outcome in result.targets.items():
        assert outcome.equivalent, (name, outcome.reason, outcome.disagreements)
        assert ".lc:" in outcome.query


def test_an_index_mapping_counts_every_limit(tmp_path: Path) -> None:
    """An index's own mapping is the whole truth: its 1,024 limit on process.name is a limit
    check must see exceeded where a longer value could match (as every built-in limit is)."""
    builtin = FieldModel.builtin("windows")
    props: dict[str, Any] = {}
    for name in ("event.category", "event.type", "host.os.type"):
        props[name] = {"type": builtin.lookup(name).type}
    props["process.name"] = TEMPLATE["template"]["mappings"]["properties"]["process"][
        "properties"]["name"]
    props["process.parent.name"] = TEMPLATE["template"]["mappings"]["properties"]["process"][
        "properties"]["parent"]["properties"]["name"]
    props["process.executable"] = {"type": "keyword", "ignore_above": 1024, "fields": {
        "lc": {"type": "keyword", "normalizer": "fold", "ignore_above": 1024}}}
    index = {"logs-x": {"settings": TEMPLATE["template"]["settings"],
                        "mappings": {"properties": props}}}
    path = _write(tmp_path, index)
    checker = Checker(["kql"], data_source="windows", mapping=path)

    def check(rule: str) -> Any:
        loaded = load_text(rule, "r.yml")[0]
        return checker.check(loaded, generate_events(loaded.rule, seed=0)).targets["kql"]

    # A '*' inside the name (tested on process.executable.lc): a path over 1,024 characters can
    # match it in Sigma and is not indexed there, so the generated long path shows it.
    outcome = check(RULE.replace("'\\Cmd.exe'", "'\\Cm*.exe'"))
    assert outcome.equivalent is not True and "ignore_above" in str(outcome.warnings), outcome
    assert outcome.disagreements and all("not indexed" in d.why for d in outcome.disagreements)
    # Exact names are no longer than the limit: no long value can match them, nothing to show.
    outcome = check(RULE)
    assert outcome.equivalent is True, outcome.reason


def test_convert_cli_takes_a_mapping(tmp_path: Path) -> None:
    rule = tmp_path / "r.yml"
    rule.write_text(RULE, encoding="utf-8")
    path = _write(tmp_path, TEMPLATE)
    result = CliRunner().invoke(
        main, ["convert", str(rule), "-t", "kql", "--data-source", "windows", "--mapping", str(path)]
    )
    assert result.exit_code == 0, result.output
    assert "process.name.lc:Cmd.exe" in result.output


@pytest.mark.parametrize("text, message", [
    ("{", "mapping is not valid JSON"),
    ('{"idx": {"settings": {}}}', "unusable index mapping"),
])
def test_convert_refuses_an_unusable_mapping_in_one_line(
    tmp_path: Path, text: str, message: str
) -> None:
    rule = tmp_path / "r.yml"
    rule.write_text(RULE, encoding="utf-8")
    path = tmp_path / "m.json"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["convert", str(rule), "-t", "kql", "--mapping", str(path)])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and str(path) in lines[0] and message in lines[0], result.stderr


def test_a_mapping_rewritten_in_place_is_read_again(tmp_path: Path) -> None:
    # The model was cached by path: a file rewritten within one process (a long-lived caller of
    # the library, a test suite) kept answering with its first version.
    from converter.mapping.index_mapping import field_model_for

    path = tmp_path / "template.json"
    path.write_text(json.dumps(TEMPLATE), encoding="utf-8")
    assert field_model_for("windows", path).lookup("process.name.lc") is not None
    other = json.loads(json.dumps(TEMPLATE))
    other["template"]["mappings"]["properties"]["process"]["properties"]["name"]["fields"] = {}
    path.write_text(json.dumps(other) + " " * 40, encoding="utf-8")
    assert field_model_for("windows", path).lookup("process.name.lc") is None
