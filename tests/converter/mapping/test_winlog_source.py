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


@pytest.mark.parametrize("text", [MODULE, CLASSIC], ids=["ps_module", "ps_classic_start"])
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
