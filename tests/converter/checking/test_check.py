"""``sigport check``: the equivalence proof end to end, and that it catches real differences."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from converter.cli import main
from converter.checking.checker import Checker
from converter.events.render import EventRenderer, SampleEvent, read_jsonl, sample_events_path
from converter.mapping.loader import load_table
from converter.rules.load import load_rules

ROOT = Path(__file__).resolve().parents[3]
ZOOM = ROOT / "sigma_rules/windows/process_creation/proc_creation_win_zoom_suspicious_child_process.yml"
ZOOM_EVENTS = sample_events_path(ZOOM)
CHECKED = ["eql", "kql", "kql-es", "lucene", "esql", "splunk", "splunk-cim", "kusto"]

#: Elastic's own query for the rule (elastic/detection-rules, rule 97aba1ef-...).
ELASTIC_ZOOM_EQL = (
    'process where host.os.type == "windows" and event.type == "start" and\n'
    ' process.parent.name : "Zoom.exe" and process.name : ("cmd.exe", "powershell.exe", '
    '"pwsh.exe", "powershell_ise.exe")'
)


@pytest.fixture(scope="module")
def zoom_events() -> list[SampleEvent]:
    return read_jsonl(ZOOM_EVENTS)


def test_zoom_ships_enough_labelled_events(zoom_events: list[SampleEvent]) -> None:
    assert len(zoom_events) >= 15
    assert all(e.expect is not None for e in zoom_events)
    assert {True, False} == {e.expect for e in zoom_events}


def test_bundled_rules_pass_for_every_checked_target() -> None:
    # ES|QL: every event but a multi-valued one (test_esql_agrees_on_every_bundled_event_but_...).
    targets = ",".join(t for t in CHECKED if t != "esql")
    result = CliRunner().invoke(
        main, ["check", str(ROOT / "sigma_rules"), "-t", targets, "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["equivalent"] is True
    (rule,) = report["rules"]
    assert set(rule["targets"]) == set(CHECKED) - {"esql"}
    for name, target in rule["targets"].items():
        assert target["equivalent"] is True, (name, target)
        # Every event the target's data source can hold, matched as the rule matches it
        # (splunk-cim holds no Security 4688 row and no process event without a full Image).
        shown = [i for i in rule["reference"]["matched"] if i not in target["not_rendered"]]
        assert target["matched"] == shown, name
    assert rule["targets"]["splunk"]["not_rendered"] == []
    assert rule["reference"]["expectation_failures"] == []


def test_zoom_eql_means_what_elastics_query_means(zoom_events: list[SampleEvent]) -> None:
    """Our EQL and Elastic's original EQL give the same verdict on every rendered event."""
    from backends.eql.parser import parse
    from backends.query.evaluate import matches

    (loaded,) = load_rules([ZOOM])
    result = Checker(["eql"]).check(loaded, zoom_events)
    ours = result.targets["eql"]
    renderer = EventRenderer(load_table("ecs-windows"))
    elastic = parse(ELASTIC_ZOOM_EQL)
    theirs = [
        i
        for i, e in enumerate(zoom_events)
        if (r := renderer.render_sample(e)) is not None and matches(elastic, r)
    ]
    assert ours.matched == theirs
    assert ours.equivalent is True


def test_kql_without_caseless_fields_is_reported_not_equivalent(zoom_events: list[SampleEvent]) -> None:
    """On Winlogbeat data there is no .caseless: KQL is case-sensitive and check must say so."""
    (loaded,) = load_rules([ZOOM])
    result = Checker(["kql", "lucene"], data_source="winlogbeat").check(loaded, zoom_events)
    kql, lucene = result.targets["kql"], result.targets["lucene"]
    assert kql.equivalent is False
    notes = {zoom_events[d.event].note for d in kql.disagreements}
    assert notes == {"upper-case names", "mixed-case names"}
    assert all("case-sensitive" in d.why for d in kql.disagreements)
    assert any("case-sensitively" in w for w in kql.warnings)
    # Lucene folds case with an exact regex instead, so it stays equivalent.
    assert lucene.equivalent is True


def test_a_wrong_query_is_caught(zoom_events: list[SampleEvent], monkeypatch: pytest.MonkeyPatch) -> None:
    """Swap in the stock-backend mistake (a case-sensitive equality) and watch check catch it."""
    (loaded,) = load_rules([ZOOM])
    checker = Checker(["eql"])
    real = checker.converters["eql"].convert

    def broken(item):  # type: ignore[no-untyped-def]
        conversion = real(item)
        conversion.queries = [conversion.queries[0].replace('process.parent.name : "Zoom.exe"',
                                                            'process.parent.name == "Zoom.exe"')]
        return conversion

    monkeypatch.setattr(checker.converters["eql"], "convert", broken)
    target = checker.check(loaded, zoom_events).targets["eql"]
    assert target.equivalent is False
    assert {d.event for d in target.disagreements} == {
        i for i, e in enumerate(zoom_events) if e.note in {"upper-case names", "mixed-case names"}
    }


def test_expectation_failure_fails_the_check(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    lines = [json.loads(line) for line in ZOOM_EVENTS.read_text().splitlines() if line.strip()]
    lines[0]["_expect"] = not lines[0]["_expect"]
    events.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    result = CliRunner().invoke(main, ["check", str(ZOOM), "--events", str(events), "-t", "eql"])
    assert result.exit_code == 1
    assert "expected False, reference says True" in " ".join(result.stdout.split())


def test_ecs_schema_events(tmp_path: Path) -> None:
    events = tmp_path / "ecs.jsonl"
    docs = [
        {"event": {"category": ["process"], "type": ["start"]}, "host": {"os": {"type": "windows"}},
         "process": {"name": "cmd.exe", "executable": "C:\\Windows\\System32\\cmd.exe",
                     "parent": {"name": "Zoom.exe", "executable": "C:\\Zoom\\Zoom.exe"}},
         "_expect": True},
        {"event": {"category": ["process"], "type": ["start"]}, "host": {"os": {"type": "windows"}},
         "process": {"name": "calc.exe", "executable": "C:\\Windows\\System32\\calc.exe",
                     "parent": {"name": "Zoom.exe", "executable": "C:\\Zoom\\Zoom.exe"}},
         "_expect": False},
        # Names over the 1,024 characters Defend's .caseless sub-fields index (KQL uses them).
        {"event": {"category": ["process"], "type": ["start"]}, "host": {"os": {"type": "windows"}},
         "process": {"name": "c" * 1100, "parent": {"name": "z" * 1100}}, "_expect": False},
    ]
    events.write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    result = CliRunner().invoke(
        main, ["check", str(ZOOM), "--events", str(events), "--schema", "ecs", "-t", "eql", "-t", "kql",
               "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["rules"][0]["reference"]["matched"] == [0]


def test_ecs_schema_events_of_a_linux_rule(tmp_path: Path) -> None:
    """ECS documents are read back with the table of their logsource: before, only ecs-windows
    was tried, so a Linux document read as no field at all and a Linux rule could not be proven
    on real ECS data (the reference missed the curl start its _expect says it matches)."""
    rule = tmp_path / "r.yml"
    rule.write_text("title: curl\nlogsource: {product: linux, category: process_creation}\n"
                    "detection: {sel: {Image|endswith: '/curl'}, condition: sel}\n")
    events = tmp_path / "ecs.jsonl"
    start = {"event": {"category": ["process"], "type": ["start"], "action": "exec"},
             "host": {"os": {"type": "linux"}}}
    docs = [{**start, "process": {"name": "curl", "executable": "/usr/bin/curl"}, "_expect": True},
            {**start, "process": {"name": "wget", "executable": "/usr/bin/wget"}, "_expect": False}]
    events.write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    result = CliRunner().invoke(
        main, ["check", str(rule), "--events", str(events), "--schema", "ecs", "-t", "eql,lucene",
               "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    (checked,) = json.loads(result.stdout)["rules"]
    assert checked["reference"]["matched"] == [0]
    assert all(t["equivalent"] is True for t in checked["targets"].values()), checked["targets"]


def test_rule_without_events_gets_generated_ones(tmp_path: Path) -> None:
    rule = tmp_path / "r.yml"
    rule.write_text(ZOOM.read_text())
    result = CliRunner().invoke(main, ["check", str(rule), "--format", "json"])
    report = json.loads(result.stdout)
    assert report["rules"][0]["events"] > 5
    # Every target proven, but for Defend's .caseless length limit where no generated event is
    # longer (KQL/Lucene: ignore_above 1,024).
    for name, target in report["rules"][0]["targets"].items():
        # ES|QL: TO_LOWER is String.toLowerCase, which the emitter declares (U+0130).
        declared = name == "esql" and "TO_LOWER lowercases" in (target["reason"] or "")
        assert target["equivalent"] is True or "ignore_above" in target["reason"] or declared, (
            name, target)


def test_rule_nothing_can_be_generated_for_is_bad_input(tmp_path: Path) -> None:
    rule = tmp_path / "r.yml"
    rule.write_text(
        "title: t\nlogsource: {product: nosuchproduct, category: nosuch}\n"
        "detection:\n  sel:\n    a: b\n  condition: sel\n"
    )
    result = CliRunner().invoke(main, ["check", str(rule)])
    assert result.exit_code == 2
    assert "no events" in " ".join(result.stdout.split())


def test_bad_events_line_names_file_and_line(tmp_path: Path) -> None:
    events = tmp_path / "bad.jsonl"
    events.write_text('{"EventID": 1}\n{"EventID": \n')
    result = CliRunner().invoke(main, ["check", str(ZOOM), "--events", str(events)])
    assert result.exit_code == 2
    assert f"{events}:2:" in result.stderr
    assert "Traceback" not in result.output


def test_untargetable_target_is_not_called_equivalent(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every registered target has an interpreter now; a target without one is still "not
    # checked" with its reason, never equivalent.
    from dataclasses import replace

    import backends

    spec = replace(backends.TARGETS["esql"], parser=None, no_interpreter_reason="no interpreter")
    monkeypatch.setitem(backends.TARGETS, "esql", spec)
    (loaded,) = load_rules([ZOOM])
    result = Checker(["esql"]).check(loaded, read_jsonl(ZOOM_EVENTS))
    assert result.targets["esql"].equivalent is None
    assert result.targets["esql"].reason == "not checked: no interpreter"
    assert result.equivalent is False


def test_esql_agrees_on_every_bundled_event_also_a_multi_valued_one() -> None:
    """ES|QL's operators are null on a field with several values (backends/esql/semantics.py,
    multi_valued); the emitter's QSTR() matches any value (any_value_form), so the sample event
    whose parent image is a list agrees too, and the rule is proven."""
    (loaded,) = load_rules([ZOOM])
    events = read_jsonl(ZOOM_EVENTS)
    esql = Checker(["esql"]).check(loaded, events).targets["esql"]
    assert any(isinstance(e.fields.get("ParentImage"), list) for e in events)
    assert not esql.disagreements and esql.equivalent is True, esql.reason


def test_renderer_writes_ecs_from_the_table() -> None:
    renderer = EventRenderer(load_table("ecs-windows"))
    out = renderer.render(
        {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
         "Image": "C:\\Windows\\System32\\cmd.exe", "User": "NT AUTHORITY\\SYSTEM", "ProcessId": "42"}
    )
    assert out is not None
    assert out["process.executable"] == "C:\\Windows\\System32\\cmd.exe"
    assert out["process.name"] == "cmd.exe"
    assert out["user.domain"] == "NT AUTHORITY" and out["user.name"] == "SYSTEM"
    assert out["process.pid"] == 42
    assert out["event.category"] == ["process"] and out["event.type"] == ["start"]
    # An event no logsource of the table covers is not guessed at.
    assert renderer.render({"EventID": 24, "Channel": "Microsoft-Windows-Sysmon/Operational"}) is None


def test_declared_approximation_is_never_called_equivalent(tmp_path: Path) -> None:
    """KQL matches a keyword field case-sensitively where Sigma does not (declared): even when
    the events agree, it is not 'equivalent'."""
    rule = tmp_path / "q.yml"
    rule.write_text(
        "title: q\nid: 7d0e4a52-0000-4000-8000-000000000002\n"
        "logsource: {product: windows, category: process_creation}\n"
        "detection:\n  sel:\n    OriginalFileName: 'cmd.exe'\n  condition: sel\n"
    )
    (tmp_path / "q.events.jsonl").write_text(
        json.dumps({"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
                    "Image": "C:\\Windows\\cmd.exe", "OriginalFileName": "cmd.exe",
                    "_expect": True}) + "\n"
    )
    (loaded,) = load_rules([rule])
    checker = Checker(["kql", "splunk"])
    result = checker.check(loaded, read_jsonl(tmp_path / "q.events.jsonl"))
    kql = result.targets["kql"]
    assert kql.disagreements == [] and kql.equivalent is None
    assert "approximate" in (kql.reason or "")
    # SPL compares case-insensitively, as Sigma does, so the events agree there too.
    assert result.targets["splunk"].disagreements == []


SYSMON = "Microsoft-Windows-Sysmon/Operational"
PROC_RULE = (
    "title: t\nid: 5c9d4a2e-7b1f-4d38-9a6e-0f2b8c1d3e4f\nstatus: test\n"
    "logsource: {product: windows, category: process_creation}\n"
    "detection:\n  sel:\n    Image|endswith: '\\\\7z.exe'\n    CommandLine|contains: '.dmp'\n"
    "  condition: sel\n"
)


def _proc_event(kind: dict, image: str, command_line: str, expect: bool) -> SampleEvent:
    return SampleEvent({**kind, "Image": image, "CommandLine": command_line}, expect=expect)


def test_events_a_data_source_cannot_carry_are_not_rendered_never_differs(tmp_path: Path) -> None:
    """SecurityEvent (Sentinel) holds Security 4688 process creations only: a Sysmon 1 event the
    rule matches is 'not rendered', and with no event the target can carry that the rule matches,
    the verdict is 'not proven', never 'differs'."""
    path = tmp_path / "r.yml"
    path.write_text(PROC_RULE)
    (loaded,) = load_rules([path])
    sysmon = {"EventID": 1, "Channel": SYSMON}
    events = [_proc_event(sysmon, "C:\\x\\7z.exe", "7z a x.dmp", True),
              _proc_event(sysmon, "C:\\x\\7z.exe", "7z a x.txt", False)]
    target = Checker(["kusto"], data_source="sentinel").check(loaded, events).targets["kusto"]
    assert target.disagreements == [] and target.not_rendered == [0, 1]
    assert target.equivalent is None and "not proven" in (target.reason or ""), target.reason
    # With Security 4688 events beside them, those are the evidence: proven on them.
    security = {"EventID": 4688, "Channel": "Security"}
    events += [_proc_event(security, "C:\\x\\7z.exe", "7z a x.dmp", True),
               _proc_event(security, "C:\\x\\7z.exe", "7z a x.txt", False)]
    target = Checker(["kusto"], data_source="sentinel").check(loaded, events).targets["kusto"]
    assert target.disagreements == [] and target.not_rendered == [0, 1]
    assert target.equivalent is True, target.reason


def test_generated_events_are_of_kinds_the_data_source_carries(tmp_path: Path) -> None:
    """`check --generate --data-source sentinel`: SecurityEvent holds 4688 records only, so the
    generator writes the process creations as 4688 records, and the query is proven on them."""
    path = tmp_path / "r.yml"
    path.write_text(PROC_RULE)
    result = CliRunner().invoke(main, ["check", str(path), "-t", "kusto", "--data-source",
                                       "sentinel", "--generate", "--format", "json"])
    report = json.loads(result.stdout)
    target = report["rules"][0]["targets"]["kusto"]
    assert target["equivalent"] is True, target
    assert report["rules"][0]["events"] > len(target["not_rendered"])


def test_rule_a_carried_kind_cannot_match_still_gets_events(tmp_path: Path) -> None:
    """A 4688 record has no ParentCommandLine: no 4688 event can match this rule, so the usual
    (Sysmon) events are generated, not rendered for SecurityEvent, and nothing 'differs'."""
    path = tmp_path / "r.yml"
    path.write_text(PROC_RULE.replace("CommandLine|contains", "ParentCommandLine|contains"))
    result = CliRunner().invoke(main, ["check", str(path), "-t", "kusto", "--data-source",
                                       "sentinel", "--generate", "--format", "json"])
    report = json.loads(result.stdout)
    assert report["rules"][0]["error"] is None and report["rules"][0]["events"] > 0
    assert report["rules"][0]["targets"]["kusto"]["equivalent"] is not False
