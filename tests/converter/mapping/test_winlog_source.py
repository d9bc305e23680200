"""Data source ``winlog``: event log channels collected raw with the Custom Windows Event Logs
integration (``ecs-windows-channels``' ``winlog-*`` entries, function ``unnamed_params``).

The PowerShell channels keep ContextInfo / Payload (4103) and the classic log's unnamed
``<Data>`` (``param1..N``) there, with every ``\\r\\n`` written as ``\\n`` (declared by
``line_endings: lf``); the Windows integration and Winlogbeat split and delete them (their refusal
stays).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from converter.checking.checker import Checker
from converter.cli import main
from converter.conversion.convert import Converter
from converter.events.render import EventRenderer, SampleEvent
from converter.generate.generator import generate_events
from converter.mapping.loader import load_table
from converter.rules.load import LoadedRule, load_text

MODULE = """
title: module logging payload
id: 81111111-2222-3333-4444-555555555555
logsource: {product: windows, category: ps_module}
detection:
    selection:
        Payload|contains|all: [Invoke-WebRequest, '-OutFile ']
    filter:
        ContextInfo|contains: 'Host Application = C:\\Windows\\System32\\svchost.exe'
    condition: selection and not filter
"""

CLASSIC = """
title: classic engine start
id: 81111111-2222-3333-4444-666666666666
logsource: {product: windows, category: ps_classic_start}
detection:
    selection:
        Data|contains: 'HostApplication=powershell -nop'
    filter:
        Data|re: 'HostId=[a-f0-9-]{36}\\s+EngineVersion='
    condition: selection and not filter
"""


def rule(text: str) -> LoadedRule:
    """The one rule of a YAML text."""
    return load_text(text, "rule.yml")[0]


def with_detection(text: str, old: str, new: str) -> LoadedRule:
    assert old in text
    return rule(text.replace(old, new))


def test_module_fields_are_the_raw_event_data_on_winlog_only() -> None:
    converted = Converter("eql", options={"data_source": "winlog"}).convert(rule(MODULE))
    assert converted.status == "converted", converted.reason
    query = "\n".join(converted.queries)
    assert "winlog.event_data.Payload" in query and "winlog.event_data.ContextInfo" in query
    assert 'event.code == "4103"' in query
    for source in ("windows", "winlogbeat"):
        refused = Converter("eql", options={"data_source": source}).convert(rule(MODULE))
        assert refused.status != "converted"
        assert "ContextInfo" in (refused.reason or "")


def test_classic_data_is_any_of_the_records_params() -> None:
    converted = Converter("lucene", options={"data_source": "winlog"}).convert(rule(CLASSIC))
    assert converted.status == "converted", converted.reason
    query = "\n".join(converted.queries)
    assert all(f"winlog.event_data.param{n}" in query for n in (1, 2, 3))
    assert "param4" not in query  # engine lifecycle records hold three strings
    service = CLASSIC.replace("category: ps_classic_start", "service: powershell-classic")
    wide = "\n".join(Converter("lucene", options={"data_source": "winlog"})
                     .convert(rule(service)).queries)
    assert "winlog.event_data.param4" in wide  # the settings record (700) holds four


def test_renderer_writes_lf_line_endings_and_params_in_order() -> None:
    renderer = EventRenderer.routed(load_table("ecs-windows"), "winlog")
    module = renderer.render_sample(SampleEvent({
        "Channel": "Microsoft-Windows-PowerShell/Operational", "EventID": 4103,
        "Payload": "line one\r\nline two\r", "ContextInfo": "Severity = Informational\r\n",
    }))
    assert module is not None
    assert module["winlog.event_data.Payload"] == "line one\nline two\r"
    assert module["winlog.event_data.ContextInfo"] == "Severity = Informational\n"
    classic = renderer.render_sample(SampleEvent({
        "Channel": "Windows PowerShell", "EventID": 400,
        "Data": ["Available", "None", "\r\n\tHostName=ConsoleHost\r\n"],
    }))
    assert classic is not None
    assert [classic.get(f"winlog.event_data.param{n}") for n in (1, 2, 3)] == [
        "Available", "None", "\n\tHostName=ConsoleHost\n"]


def test_more_values_than_the_record_holds_is_no_record() -> None:
    renderer = EventRenderer.routed(load_table("ecs-windows"), "winlog")
    with pytest.raises(ValueError, match="at most 3"):
        renderer.render_sample(SampleEvent({
            "Channel": "Windows PowerShell", "EventID": 400, "Data": ["a", "b", "c", "d"],
        }))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("Invoke-WebRequest, '-OutFile '", "'Invoke?WebRequest'"),
        ("Invoke-WebRequest, '-OutFile '", "\"a\\nb\""),
        ("Payload|contains|all: [Invoke-WebRequest, '-OutFile ']", "Payload|re: 'Invoke.'"),
        ("Payload|contains|all: [Invoke-WebRequest, '-OutFile ']", "Payload|re: 'Out\\s{2}File'"),
        ("Payload|contains|all: [Invoke-WebRequest, '-OutFile ']", "Payload|re: 'OutFile$'"),
    ],
)
def test_tests_the_line_ending_rewrite_could_change_are_declared(old: str, new: str) -> None:
    converted = Converter("eql", options={"data_source": "winlog"}).convert(
        with_detection(MODULE, old, new))
    assert converted.status == "converted", converted.reason
    assert any("writes every \\r\\n" in w for w in converted.warnings), converted.warnings


@pytest.mark.parametrize("pattern", ["'Out\\s+File'", "'cmd.{0,5}/c'"])
def test_regexes_proven_invariant_are_not_declared(pattern: str) -> None:
    # line_break_regex's shapes: a whitespace run between parts that never match a line break,
    # '.' where no match can end with it.
    converted = Converter("eql", options={"data_source": "winlog"}).convert(with_detection(
        MODULE, "Payload|contains|all: [Invoke-WebRequest, '-OutFile ']", f"Payload|re: {pattern}"))
    assert converted.status == "converted", converted.reason
    assert not any("\\r\\n" in w for w in converted.warnings), converted.warnings


def test_a_line_break_value_is_not_proven() -> None:
    # Sigma's Payload 'x\r\ny' never equals the indexed 'x\ny': the test is declared, so
    # check never calls the target equivalent on events the shipper rewrote.
    loaded = with_detection(MODULE, "Payload|contains|all: [Invoke-WebRequest, '-OutFile ']",
                            "Payload|contains: \"x\\r\\ny\"")
    outcome = Checker(["eql"], data_source="winlog").check(
        loaded, generate_events(loaded.rule)).targets["eql"]
    assert not outcome.equivalent


# --- logsources only ecs-windows maps: none of them on winlog -------------------------------------

REGISTRY = """
title: run key written
id: 81111111-2222-3333-4444-777777777777
logsource: {product: windows, category: registry_event}
detection:
    selection:
        TargetObject|contains: '\\CurrentVersion\\Run\\'
    condition: selection
"""

SECURITY = """
title: service installed
id: 81111111-2222-3333-4444-888888888888
logsource: {product: windows, service: security}
detection:
    selection:
        EventID: 4697
        ServiceFileName|contains: '\\Temp\\'
    condition: selection
"""

SCRIPT = """
title: script block download
id: 81111111-2222-3333-4444-999999999999
logsource: {product: windows, category: ps_script}
detection:
    selection:
        ScriptBlockText|contains: 'Net.WebClient'
    condition: selection
"""


def test_a_sysmon_logsource_is_refused_on_winlog_naming_it() -> None:
    # ecs-windows does not offer winlog: its registry entries (Defend's, the integrations') are
    # no model of raw records, so the rule is refused there instead of converted for Defend.
    refused = Converter("eql", options={"data_source": "winlog"}).convert(rule(REGISTRY))
    assert refused.status == "unsupported"
    assert "(data_source=winlog) has no mapping for logsource" in (refused.reason or "")
    assert "mapped with --data-source defend, windows, winlogbeat" in (refused.reason or "")
    assert Converter("eql", options={"data_source": "windows"}).convert(
        rule(REGISTRY)).status == "converted"


def test_the_renderer_renders_no_base_logsource_on_winlog() -> None:
    renderer = EventRenderer.routed(load_table("ecs-windows"), "winlog")
    assert renderer.route("windows", "registry_event", None) is None
    # The Sysmon channel entry still renders the record for `service: sysmon` rules.
    routed = renderer.route("windows", None, "sysmon")
    assert routed is not None and routed[1].id == "windows-sysmon"
    defend = EventRenderer.routed(load_table("ecs-windows"), "defend")
    assert defend.route("windows", "registry_event", None) is not None


def test_check_reports_a_refusal_on_winlog_not_a_difference() -> None:
    loaded = rule(REGISTRY)
    assert loaded.rule is not None
    result = Checker(["eql", "lucene"], None, "winlog").check(loaded, generate_events(loaded.rule))
    for target in ("eql", "lucene"):
        assert result.targets[target].equivalent is None, result.targets[target].reason
        assert "data_source=winlog" in (result.targets[target].reason or "")


@pytest.mark.parametrize("text", [SECURITY, SCRIPT], ids=["security", "ps_script"])
def test_security_and_script_blocks_are_the_raw_event_data_on_winlog(text: str) -> None:
    converted = Converter("lucene", options={"data_source": "winlog"}).convert(rule(text))
    assert converted.status == "converted", converted.reason
    query = "\n".join(converted.queries)
    assert "winlog.event_data." in query
    assert "powershell.file.script_block_text" not in query
    assert "endpoint" not in query  # no Defend dataset


def test_the_summary_names_the_data_sources_that_convert_a_refused_rule(tmp_path: Path) -> None:
    (tmp_path / "r.yml").write_text(REGISTRY, encoding="utf-8")
    out = CliRunner().invoke(main, ["convert", str(tmp_path / "r.yml"), "-t", "eql",
                                    "--data-source", "winlog", "-o", str(tmp_path / "out")])
    assert "1 more rule converts with --data-source windows (refused on winlog" in out.output


def test_kibana_rules_on_winlog_read_the_winlog_stream() -> None:
    from converter.outputs.kibana import source_facts

    loaded = rule(SECURITY)
    assert source_facts(loaded.rule, "winlog")["index"] == ["logs-winlog.winlog-*"]
    assert source_facts(loaded.rule, "defend")["index"] == ["logs-endpoint.events.security-*"]


def test_only_a_declared_data_source_takes_the_base_tables_logsources_over() -> None:
    from converter.mapping.loader import offered_by_companion

    assert offered_by_companion("ecs-windows", "winlog")
    # Another product's data source (ecs-okta's) leaves the Windows rules at their default;
    # the base table's own data sources and other targets' tables take nothing over.
    assert not offered_by_companion("ecs-windows", "okta")
    assert not offered_by_companion("ecs-windows", "windows")
    assert not offered_by_companion("splunk-sysmon", "splunk_ta_windows")
    assert Converter("eql", options={"data_source": "okta"}).convert(
        rule(REGISTRY)).status == "converted"


@pytest.mark.parametrize("text", [MODULE, CLASSIC, SECURITY, SCRIPT],
                         ids=["ps_module", "ps_classic_start", "security", "ps_script"])
def test_rules_are_proven_on_winlog_with_its_template(tmp_path: Path, text: str) -> None:
    # The template `sigport mapping --data-source winlog` writes (caseless copies without a
    # length limit) makes the long positive events matchable: every target is proven.
    (tmp_path / "r.yml").write_text(text, encoding="utf-8")
    template = tmp_path / "t.json"
    made = CliRunner().invoke(main, ["mapping", str(tmp_path / "r.yml"), "--data-source",
                                     "winlog", "-o", str(template)])
    assert made.exit_code == 0, made.output
    assert "logs-winlog.winlog@custom" in made.output  # the package's Fleet hooks
    checked = CliRunner().invoke(main, [
        "check", str(tmp_path / "r.yml"), "--generate", "-t", "eql", "-t", "lucene", "-t",
        "esql", "--data-source", "winlog", "--mapping", str(template), "--format", "json"])
    assert checked.exit_code == 0, checked.output
    for target, result in json.loads(checked.stdout)["rules"][0]["targets"].items():
        assert result["equivalent"] is True, (target, result["reason"])
