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
from backends.query.ingest import META_KEY
from converter.outputs.index_template import (
    COPY_PREFIX,
    IGNORE_ABOVE,
    STRING_TYPES,
    pipeline_body,
    propose,
    template_body,
)
from converter.outputs.mapping_command import not_covered
from converter.outputs.fleet import WINLOGBEAT_PIPELINE, requests
from converter.rules.load import load_text

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
    assert leaves and set(leaves) == set(proposal.copies.values())
    for name, spec in leaves.items():
        # A copy: a wildcard field whose meta names the field of the data source it copies.
        assert spec["type"] == "wildcard" and name.startswith(COPY_PREFIX), name
        source = spec["meta"][META_KEY]
        assert len(source) <= 50 and known.lookup(source) is not None, source
        assert known.lookup(source).type in STRING_TYPES
    # Read back as a template: each copy is the caseless copy of its field.
    model = FieldModel.from_es_mapping(body, base=known)
    for source, copy in proposal.copies.items():
        assert model.caseless_copy(source).name == copy
    if data_source == "winlogbeat":
        assert body["index_patterns"] == ["winlogbeat-*"] and "data_stream" in body
        assert body["template"]["settings"]["index"]["final_pipeline"] == WINLOGBEAT_PIPELINE
    else:
        assert "index" not in body["template"]["settings"]  # Fleet's final pipeline stays
    pipeline = json.loads(json.dumps(pipeline_body(proposal)))
    script = pipeline["processors"][0]["script"]
    assert script["lang"] == "painless"
    assert sorted(map(tuple, script["params"]["copies"])) == sorted(
        (source, copy, True) for source, copy in proposal.copies.items())


def test_only_case_insensitive_string_tests_get_a_copy() -> None:
    for data_source in ("windows", "defend"):
        proposal = _proposal(data_source)
        # Not the |cased parent, nor the logsource's cased conditions (event.category, ...);
        # also Defend's fields with a .caseless of their own: it stops at 1,024 characters.
        assert set(proposal.copies) == {
            "process.name", "process.pe.original_file_name", "process.command_line"
        }, data_source
        assert not proposal.fields and not proposal.lossy


@pytest.mark.parametrize("data_source", ["windows", "winlogbeat", "defend"])
def test_with_the_template_kql_is_exact(tmp_path: Path, data_source: str) -> None:
    """Every case-insensitive test queries a copy without a length limit: equivalent on every
    generated event, the over-limit ones included (with keyword multi-fields it was not)."""
    path = tmp_path / "t.json"
    path.write_text(json.dumps(template_body(_proposal(data_source))), encoding="utf-8")
    # Without the |cased test: that one stays on the keyword field, whose own 1,024 limit no
    # query can pass (convert warns of it).
    loaded = load_text(RULE.replace("sel and not cased", "sel"), "r.yml")[0]
    options = {"data_source": data_source, "mapping": str(path)}
    conversion = Converter("kql", options=options).convert(loaded)
    assert "sigport.caseless.process.pe.original_file_name:rundll32.exe" in conversion.output
    assert "sigport.caseless.process.command_line:*javascript\\:*" in conversion.output
    assert not conversion.warnings
    events = generate_events(loaded.rule, seed=0)
    assert any(len(str(e.fields.get("CommandLine", ""))) > IGNORE_ABOVE for e in events)
    outcome = Checker(["kql"], data_source=data_source, mapping=path).check(
        loaded, events
    ).targets["kql"]
    assert outcome.equivalent is True, (outcome.reason, outcome.disagreements)


def test_a_wildcard_value_with_spaces_is_exact_on_the_copy(tmp_path: Path) -> None:
    """query_string would split `* -enc *` at the spaces; the copy holds them as symbols."""
    rule = RULE.replace("CommandLine|contains: 'Javascript:'", "CommandLine|contains: ' -Enc\tX '")
    rule = rule.replace("sel and not cased", "sel")
    loaded = load_text(rule, "r.yml")[0]
    path = tmp_path / "t.json"
    path.write_text(json.dumps(template_body(propose([loaded], "windows"))), encoding="utf-8")
    conversion = Converter("kql", options={"data_source": "windows", "mapping": str(path)}).convert(loaded)
    assert "sigport.caseless.process.command_line:*␠-enc␉x␠*" in conversion.output, conversion.output
    events = generate_events(loaded.rule, seed=0)
    outcome = Checker(["kql"], data_source="windows", mapping=path).check(loaded, events).targets["kql"]
    assert outcome.equivalent is True, (outcome.reason, outcome.disagreements)


def test_cli_writes_neither_file_when_the_pipeline_path_is_a_link(tmp_path: Path) -> None:
    # The template names copies that only the pipeline writes: one without the other would
    # make queries search fields no document has, so a link at either path stops both.
    rule = tmp_path / "r.yml"
    rule.write_text(RULE, encoding="utf-8")
    out = tmp_path / "t.json"
    (tmp_path / "t-pipeline.json").symlink_to(tmp_path / "victim.json")
    result = CliRunner().invoke(main, ["mapping", str(rule), "--data-source", "windows", "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "t-pipeline.json" in result.stderr and "symbolic link" in result.stderr
    assert not out.exists() and not (tmp_path / "victim.json").exists()


def test_cli_writes_the_template_and_prints_the_requests(tmp_path: Path) -> None:
    rule = tmp_path / "r.yml"
    rule.write_text(RULE, encoding="utf-8")
    out = tmp_path / "t.json"
    pipeline = tmp_path / "t-pipeline.json"
    result = CliRunner().invoke(main, ["mapping", str(rule), "--data-source", "windows", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text(encoding="utf-8"))["template"]["mappings"]
    for line in (
        "PUT _component_template/logs-windows.sysmon_operational@custom",
        "PUT _component_template/logs-system.security@custom",
        "POST logs-windows.sysmon_operational-default/_rollover",
        "indices written before the rollover",
        f"PUT _ingest/pipeline/logs-windows.sysmon_operational@custom    (body: {pipeline})",
        "PUT _ingest/pipeline/logs-system.security@custom",
        "sigport.caseless.process.command_line (of process.command_line)",
    ):
        assert line in result.stderr, line
    assert json.loads(pipeline.read_text(encoding="utf-8"))["processors"][0]["script"]["params"]
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
    # Exact: the caseless copies have no length limit, and the |cased parent name is a test of
    # process.parent.name (no longer of the path, with its ignore_above).
    assert "note" not in exact and "sigport: approximate" not in exact["tags"], exact.get("note")


def test_fields_under_a_dynamic_template_get_an_explicit_copy() -> None:
    """winlog.event_data.* is keyword through a dynamic template: the copy is mapped explicitly."""
    rule = RULE.replace("    OriginalFileName: RUNDLL32.EXE\n", "    ParentUser|contains: AUTHORI\n")
    proposal = propose(load_text(rule, "r.yml"), "windows")
    copy = proposal.copies["winlog.event_data.ParentUser"]
    leaves = _leaves(template_body(proposal)["template"]["mappings"]["properties"])
    assert leaves[copy] == {"type": "wildcard", "meta": {META_KEY: "winlog.event_data.ParentUser"}}


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
    conversion = Converter("kql", options={"data_source": "windows", "mapping": str(path)}).convert(
        load_text(rule, "r.yml")[0]
    )
    assert "process.name.lc:" in conversion.output
    names = {f["name"] for f in required_fields(conversion)}
    assert "process.name" in names and not any(n.endswith(".lc") for n in names)
    # The copies the ingest pipeline writes are fields of their own (wildcard).
    copied = Converter("kql", options={"data_source": "windows", "mapping": str(template)}).convert(
        load_text(rule, "r.yml")[0]
    )
    assert "sigport.caseless.winlog.event_data.ParentUser:*authori*" in copied.output
    fields = {f["name"]: f for f in required_fields(copied)}
    assert fields["sigport.caseless.winlog.event_data.ParentUser"] == {
        "name": "sigport.caseless.winlog.event_data.ParentUser", "type": "wildcard", "ecs": False
    }


def test_a_field_name_too_long_for_meta_gets_a_multi_field() -> None:
    """ES caps a meta value at 50 characters: such a field gets the keyword multi-field."""
    from converter.outputs.index_template import ProposingModel

    model = ProposingModel(FieldModel.builtin("windows"))
    long_name = "winlog.event_data." + "A" * 40
    assert model.caseless_copy(long_name) is None
    form = model.caseless_form(long_name)
    assert form is not None and form.name == f"{long_name}.caseless"
    assert model.caseless_copy("winlog.event_data.ParentUser").caseless_of == (
        "winlog.event_data.ParentUser"
    )


def test_backtest_with_the_template_sees_the_copies(tmp_path: Path) -> None:
    """`backtest --mapping`: the events carry the copies the pipeline writes, so KQL on the copy
    finds the upper-case and the over-limit command lines that Sigma matches."""
    rule = tmp_path / "r.yml"
    rule.write_text(RULE.replace("sel and not cased", "sel"), encoding="utf-8")
    template = tmp_path / "t.json"
    assert CliRunner().invoke(main, [
        "mapping", str(rule), "--data-source", "windows", "-o", str(template)
    ]).exit_code == 0
    base = {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
            "Image": "C:\\Windows\\System32\\RUNDLL32.EXE", "OriginalFileName": "RUNDLL32.EXE"}
    events = tmp_path / "e.jsonl"
    lines = [{**base, "CommandLine": "RUNDLL32.EXE JAVASCRIPT:x"},
             {**base, "CommandLine": "a" * 20000 + " javascript:x"},
             {**base, "CommandLine": "rundll32.exe nothing"}]
    events.write_text("".join(json.dumps(e) + "\n" for e in lines), encoding="utf-8")
    args = ["backtest", str(rule), "--events", str(events), "-t", "kql", "--data-source",
            "windows", "--workers", "1", "--format", "json"]
    with_copies = CliRunner().invoke(main, [*args, "--mapping", str(template)])
    assert with_copies.exit_code == 0, with_copies.output
    kql = json.loads(with_copies.stdout)["rules"][0]["targets"]["kql"]
    assert kql["hits"] == 2 and not kql["disagreements"]
    without = CliRunner().invoke(main, args)  # case-sensitive on the keyword fields: misses
    assert without.exit_code == 1


def test_the_template_serves_every_target_that_reads_the_copies() -> None:
    """`sigport mapping` converts the rules for each target whose pipeline moves tests to the
    copies (kql-es among them), so a field only one of them tests gets its copy too."""
    from backends import TARGETS
    from converter.outputs.index_template import COPY_TARGETS

    assert COPY_TARGETS[0] == "kql"  # the one the summary counts
    assert set(COPY_TARGETS) == {name for name, spec in TARGETS.items() if spec.caseless_copies}


def test_a_case_insensitive_regex_gets_its_copy() -> None:
    """A |re whose regex is a finite union of wildcard values is written as those values before
    the copies are chosen (RegexGlobsTransformation), so a |i one asks for a copy like a string."""
    rule = RULE.replace("CommandLine|contains: 'Javascript:'", "CommandLine|re|i: '(?:^|-)ENC\\Z'")
    rule = rule.replace("sel and not cased", "sel")
    proposal = propose([load_text(rule, "r.yml")[0]], "windows")
    assert "process.command_line" in proposal.copies


MIXED = """
title: mixed values
id: 6a7b8c9d-0000-4000-8000-0000000000c8
status: test
logsource: {category: registry_set, product: windows}
detection:
  sel:
    TargetObject|endswith: '\\COMPlus_ETWEnabled'
    Details:
      - 0
      - 'DWORD (0x00000000)'
  condition: sel
level: low
"""


@pytest.mark.parametrize("target", ["kql", "kql-es"])
def test_the_strings_of_a_mixed_value_list_move_to_the_copy(tmp_path: Path, target: str) -> None:
    """A list holding a number and a string: the string is tested on the copy (case-insensitive,
    exact), the number stays on the field (digits have no case). Before, the whole item stayed
    on the keyword field and `DWORD (0x00000000)` matched case-sensitively."""
    (loaded,) = load_text(MIXED, "m.yml")
    path = tmp_path / "t.json"
    path.write_text(json.dumps(template_body(propose([loaded], "windows"))), encoding="utf-8")
    conversion = Converter(target, options={"data_source": "windows", "mapping": str(path)}).convert(loaded)
    query = conversion.output if target == "kql" else json.loads(conversion.output)["kql"]["query"]
    assert "sigport.caseless.winlog.event_data.Details:dword␠\\(0x00000000\\)" in query
    assert "winlog.event_data.Details:0" in query
    assert not [w for w in conversion.warnings if "case" in w and w not in conversion.exact_warnings]
    events = generate_events(loaded.rule, seed=0)
    outcome = Checker([target], data_source="windows", mapping=path).check(loaded, events).targets[target]
    assert outcome.equivalent is True, (outcome.reason, outcome.disagreements)


def test_a_negated_mixed_item_is_not_split() -> None:
    from sigma.rule import SigmaDetectionItem
    from sigma.types import SigmaNumber, SigmaString

    from converter.mapping.transformations import CaselessSubfieldTransformation
    from converter.outputs.index_template import ProposingModel

    item = SigmaDetectionItem("winlog.event_data.Details", [],
                              [SigmaNumber(0), SigmaString("DWORD")], negated=True)
    step = CaselessSubfieldTransformation(model=ProposingModel(FieldModel.builtin("windows")),
                                          copies=True)
    assert step.apply_detection_item(item) is None
    assert item.field == "winlog.event_data.Details"


@pytest.mark.parametrize(
    "category,tail",
    [
        # no table maps it nor says why: the generic refusal names the logsource after a colon
        ("file_block_shredding", "category: file_block_shredding"),
        # a table's `not_covered` reason (ecs-windows, Kernel-File ETW) holds colons too
        ("file_access", "no Sigma SourceFilename / FileName field"),
    ],
)
def test_a_refused_rule_adds_no_unknown_field_and_keeps_its_whole_reason(category: str, tail: str) -> None:
    """A rule KQL refuses needs no copy: its fields (Sigma names no table renamed, on a
    logsource the data source does not map) were listed as fields the model does not know;
    and the reason was cut at its first colon ("... for logsource product")."""
    rule = RULE.replace("category: process_creation", f"category: {category}").replace(
        "    OriginalFileName: RUNDLL32.EXE\n", "    FileName|contains: Cred\n")
    proposal = propose(load_text(rule, "r.yml"), "windows")
    assert proposal.converted == 0 and not proposal.unknown, proposal.unknown
    (reason,) = proposal.refused
    assert tail in reason, reason


CHANNEL = """
title: a Windows Defender channel rule
id: 6a7b8c9d-0000-4000-8000-0000000000c9
status: test
logsource: {product: windows, service: windefend}
detection:
  sel:
    EventID: 1116
    Path|contains: '\\Temp\\'
  condition: sel
level: low
"""

FILE_EVENT = """
title: a file event rule
id: 6a7b8c9d-0000-4000-8000-0000000000ca
status: test
logsource: {product: windows, category: file_event}
detection:
  sel:
    TargetFilename|endswith: '\\Evil.EXE'
  condition: sel
level: low
"""


def test_the_requests_name_the_data_streams_the_rules_read() -> None:
    """The copies must be written where the rules' events are indexed. Before, the requests
    named only the data source's process streams: a Windows Defender channel rule (indexed in
    a logs-windows.* or logs-system.* stream) or a Defend file rule (logs-endpoint.events.file)
    queried copies no pipeline wrote, and an AWS rule got Defend's process stream."""
    loaded = load_text(CHANNEL, "c.yml") + load_text(RULE, "r.yml")
    proposal = propose(loaded, "windows")
    lines = requests("windows", "t.json", "p.json", proposal.streams)
    assert "PUT _ingest/pipeline/logs-windows.integration@custom    (body: p.json)" in lines
    assert "PUT _component_template/logs@custom    (body: t.json)" in lines
    # The process_creation rule's Sysmon stream is inside logs-windows.*: hooked once.
    assert not [line for line in lines if "sysmon_operational@custom" in line], lines
    assert any("logs@custom, which every logs-* integration" in n for n in not_covered(proposal))
    defend = propose(load_text(FILE_EVENT, "f.yml"), "defend")
    lines = requests("defend", "t.json", "p.json", defend.streams)
    assert "PUT _ingest/pipeline/logs-endpoint.events.file@custom    (body: p.json)" in lines
    assert not [line for line in lines if "events.process" in line], lines


CASED_WS = """
title: a case-sensitive option between spaces
id: 6a7b8c9d-0000-4000-8000-0000000000cb
status: test
logsource: {category: process_creation, product: windows}
detection:
  sel:
    Image|endswith: '\\curl.exe'
    CommandLine|re: '\\s-c\\s'
  condition: sel
level: low
"""


@pytest.mark.parametrize("target", ["kql", "kql-es"])
@pytest.mark.parametrize("data_source", ["windows", "winlogbeat"])
def test_a_case_sensitive_pattern_with_whitespace_is_exact_on_the_cased_copy(
        tmp_path: Path, target: str, data_source: str) -> None:
    """`\\s-c\\s` (curl's -c, not -C) is a case-sensitive pattern holding whitespace: on the
    wildcard field process.command_line query_string would split it, and the caseless copy has
    lost the case. Before, KQL refused the rule; the cased copy (the value with the swaps only)
    holds it exactly."""
    (loaded,) = load_text(CASED_WS, "c.yml")
    proposal = propose([loaded], data_source)
    assert proposal.cased == {"process.command_line": "sigport.cased.process.command_line"}
    body = template_body(proposal)
    properties = body["template"]["mappings"]["properties"]
    leaf = _leaves(properties)["sigport.cased.process.command_line"]
    assert leaf == {"type": "wildcard", "meta": {"sigport_cased_of": "process.command_line"}}
    triples = pipeline_body(proposal)["processors"][0]["script"]["params"]["copies"]
    assert ["process.command_line", "sigport.cased.process.command_line", False] in triples
    path = tmp_path / "t.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    conversion = Converter(target, options={"data_source": data_source, "mapping": str(path)}).convert(loaded)
    assert conversion.status == "converted", conversion.reason
    query = conversion.output if target == "kql" else json.loads(conversion.output)["kql"]["query"]
    assert "sigport.cased.process.command_line:" in query and "␠-c␠" in query, query
    events = generate_events(loaded.rule, seed=0)
    outcome = Checker([target], data_source=data_source, mapping=path).check(loaded, events)
    result = outcome.targets[target]
    assert result.equivalent is True, (result.reason, result.disagreements)
