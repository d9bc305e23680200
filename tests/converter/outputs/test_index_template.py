"""``sigport mapping``: the template that makes KQL exact for a set of rules (issue 14, part 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from backends.query.fields import FieldModel
from converter.cli import main
from converter.conversion.convert import Converter
from converter.checking.checker import Checker
from converter.generate.generator import generate_events
from converter.outputs.index_template import IGNORE_ABOVE, NORMALIZER, propose, template_body
from converter.rules.load import load_text
from helpers import proven_but_for_length_limits

RULE = """
title: t
id: 0b8e2c1d-5f3a-4c2b-9d7e-6a5b4c3d2e1f
logsource: {category: process_creation, product: windows}
detection:
  sel:
    Image|endswith: '\\Rundll32.exe'
    OriginalFileName: RUNDLL32.EXE
    CommandLine|contains: 'Javascript:'
  cased:
    ParentImage|endswith|cased: '\\Explorer.EXE'
  condition: sel and not cased
"""


def _leaves(properties: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    """Dotted field name -> spec, from a nested ``properties`` object."""
    out = {}
    for key, spec in properties.items():
        if "properties" in spec:
            out.update(_leaves(spec["properties"], f"{prefix}{key}."))
        else:
            out[prefix + key] = spec
    return out


def _proposal(data_source: str) -> Any:
    return propose(load_text(RULE, "r.yml"), data_source)


@pytest.mark.parametrize("data_source", ["defend", "windows", "winlogbeat"])
def test_the_template_is_valid_and_names_only_fields_of_the_data_source(data_source: str) -> None:
    proposal = _proposal(data_source)
    body = json.loads(json.dumps(template_body(proposal)))
    known = FieldModel.builtin(data_source)
    leaves = _leaves(body["template"]["mappings"]["properties"])
    assert leaves
    for name, spec in leaves.items():
        info = known.lookup(name)
        assert info is not None and info.type == spec["type"], name
        assert spec["fields"][proposal.names[name]] == {
            "type": "keyword", "normalizer": NORMALIZER, "ignore_above": IGNORE_ABOVE
        }
        # The field keeps the data source's own multi-fields (a template may replace it whole).
        for other in known.multi_fields(name):
            assert other.name.rsplit(".", 1)[1] in spec["fields"], (name, other.name)
    normalizer = body["template"]["settings"]["analysis"]["normalizer"][NORMALIZER]
    assert normalizer["filter"] == ["lowercase"] and not normalizer["char_filter"]
    # Read back as a template: the custom normalizer is the lowercase one.
    model = FieldModel.from_es_mapping(body, base=known)
    for name in leaves:
        assert model.caseless_form(name).name == f"{name}.{proposal.names[name]}"
    if data_source == "winlogbeat":
        assert body["index_patterns"] == ["winlogbeat-*"] and "data_stream" in body


def test_only_case_insensitive_string_tests_get_a_multi_field() -> None:
    windows = _proposal("windows")
    assert set(windows.fields) == {
        "process.name", "process.pe.original_file_name", "process.command_line"
    }  # not the |cased parent, nor the logsource's cased conditions (event.category, ...)
    defend = _proposal("defend")
    # Defend has .caseless for process.name; its process.command_line.caseless stops at 1,024
    # characters, so a second lowercase form that indexes up to 8,191 is added beside it.
    assert set(defend.fields) == {"process.pe.original_file_name", "process.command_line"}
    assert defend.names["process.command_line"] == "sigport_caseless"
    assert windows.lossy == ["process.command_line"]  # a wildcard field: no limit of its own


@pytest.mark.parametrize("data_source", ["windows", "winlogbeat"])
def test_with_the_template_kql_is_exact(tmp_path: Path, data_source: str) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps(template_body(_proposal(data_source))), encoding="utf-8")
    loaded = load_text(RULE, "r.yml")[0]
    options = {"data_source": data_source, "mapping": str(path)}
    conversion = Converter("kql", options=options).convert(loaded)
    assert "process.pe.original_file_name.caseless:RUNDLL32.EXE" in conversion.output
    assert not [w for w in conversion.warnings if "case-sensitively" in w]
    events = generate_events(loaded.rule, seed=0)
    outcome = Checker(["kql"], data_source=data_source, mapping=path).check(
        loaded, events
    ).targets["kql"]
    # Only the 8,191-character limit of process.command_line.caseless is left: the generated
    # command line past it (the template's limit counts) is not indexed there.
    assert proven_but_for_length_limits(outcome), (outcome.reason, outcome.disagreements)


def test_cli_writes_the_template_and_prints_the_requests(tmp_path: Path) -> None:
    rule = tmp_path / "r.yml"
    rule.write_text(RULE, encoding="utf-8")
    out = tmp_path / "t.json"
    result = CliRunner().invoke(main, ["mapping", str(rule), "--data-source", "windows", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text(encoding="utf-8"))["template"]["mappings"]
    for line in (
        "PUT _component_template/logs-windows.sysmon_operational@custom",
        "PUT _component_template/logs-system.security@custom",
        "POST logs-windows.sysmon_operational-default/_rollover",
        "indices written before the rollover",
        "32,766",
    ):
        assert line in result.stderr, line
    beat = CliRunner().invoke(main, ["mapping", str(rule), "--data-source", "winlogbeat"])
    assert beat.exit_code == 0
    assert json.loads(beat.stdout)["priority"] > 150
    assert "PUT _index_template/winlogbeat-sigport" in beat.stderr


def test_cli_exits_2_when_no_rule_converts(tmp_path: Path) -> None:
    rule = tmp_path / "r.yml"
    rule.write_text(RULE.replace("category: process_creation", "category: no_such_category"),
                    encoding="utf-8")
    result = CliRunner().invoke(main, ["mapping", str(rule), "--data-source", "windows"])
    assert result.exit_code == 2
    assert "0 of 1 rules convert" in result.stderr


def test_the_conversion_summary_counts_exact_and_case_sensitive_kql(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(RULE, encoding="utf-8")
    (tmp_path / "b.yml").write_text(
        RULE.replace("0b8e2c1d", "1c9f3d2e").replace(
            "Image|endswith: '\\Rundll32.exe'", "CommandLine: '1234'"
        ).replace("    OriginalFileName: RUNDLL32.EXE\n    CommandLine|contains: 'Javascript:'\n", ""),
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        main, ["convert", str(tmp_path), "-t", "kql", "--data-source", "windows"]
    )
    line = next(x for x in result.stderr.splitlines() if x.startswith("kql: "))
    assert line.startswith("kql: 1 of 2 converted rules are exact, 1 are case-sensitive")
    assert f"`sigport mapping {tmp_path} --data-source windows -o caseless.json`" in line
    template = tmp_path / "t.json"
    template.write_text(json.dumps(template_body(_proposal("windows"))), encoding="utf-8")
    exact = CliRunner().invoke(main, [
        "convert", str(tmp_path), "-t", "kql", "--data-source", "windows", "--mapping", str(template)
    ])
    assert exact.exit_code == 0 and not any(x.startswith("kql: ") for x in exact.stderr.splitlines())


def test_kibana_rules_carry_their_approximations(tmp_path: Path) -> None:
    rule = tmp_path / "r.yml"
    rule.write_text(RULE, encoding="utf-8")
    out = CliRunner().invoke(main, [
        "convert", str(rule), "-t", "kql", "--data-source", "windows", "-f", "kibana-ndjson"
    ])
    obj = json.loads(out.stdout)
    assert obj["index"] == ["logs-windows.sysmon_operational-*", "logs-system.security-*"]
    assert "sigport: approximate" in obj["tags"]
    assert "KQL matches process.name case-sensitively" in obj["note"]
    template = tmp_path / "t.json"
    template.write_text(json.dumps(template_body(_proposal("winlogbeat"))), encoding="utf-8")
    exact = json.loads(CliRunner().invoke(main, [
        "convert", str(rule), "-t", "kql", "--data-source", "winlogbeat", "-f", "kibana-ndjson",
        "--mapping", str(template),
    ]).stdout)
    assert exact["index"] == ["winlogbeat-*"]
    # Only the declared 8,191-character limit of process.command_line.caseless remains.
    assert "case-sensitively" not in exact["note"] and "ignore_above" in exact["note"]


def test_fields_under_a_dynamic_template_get_an_explicit_multi_field() -> None:
    """winlog.event_data.* is keyword through a dynamic template: the template maps the field
    and its .caseless explicitly."""
    rule = RULE.replace("    OriginalFileName: RUNDLL32.EXE\n", "    ParentUser|contains: AUTHORI\n")
    proposal = propose(load_text(rule, "r.yml"), "windows")
    assert "winlog.event_data.ParentUser" in proposal.fields
    leaves = _leaves(template_body(proposal)["template"]["mappings"]["properties"])
    assert leaves["winlog.event_data.ParentUser"]["fields"]["caseless"]["normalizer"] == NORMALIZER


def test_kibana_required_fields_name_the_parent_of_any_multi_field(tmp_path: Path) -> None:
    from converter.outputs.kibana import required_fields

    mapping = {"template": {"mappings": {"properties": {"process": {"properties": {"name": {
        "type": "keyword", "fields": {"lc": {"type": "keyword", "normalizer": "lowercase"}},
    }}}}}}}
    path = tmp_path / "m.json"
    path.write_text(json.dumps(mapping), encoding="utf-8")
    rule = RULE.replace("    OriginalFileName: RUNDLL32.EXE\n", "    ParentUser|contains: AUTHORI\n")
    template = tmp_path / "t.json"
    template.write_text(json.dumps(template_body(propose(load_text(rule, "r.yml"), "windows"))),
                        encoding="utf-8")
    for path, wanted in ((path, "process.name.lc:"), (template, "ParentUser.caseless:")):
        conversion = Converter("kql", options={"data_source": "windows", "mapping": str(path)}).convert(
            load_text(rule, "r.yml")[0]
        )
        assert wanted in conversion.output
        names = {f["name"] for f in required_fields(conversion)}
        assert "process.name" in names and not any(n.endswith((".lc", ".caseless")) for n in names)
