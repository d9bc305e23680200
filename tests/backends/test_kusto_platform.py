"""Defender XDR's Device* tables hold every platform's rows and have no operating-system column:
the emitted query keeps the rows of the rule's platform through a left semi join with DeviceInfo
(``OSPlatform``), and the interpreter evaluates that join on the DeviceInfo rows the rendered
event carries (semantics ``semi_join``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from backends.kusto.parser import parse
from backends.query.errors import UnsupportedQueryError
from backends.query.evaluate import evaluate, matches
from backends.query.explain import explain
from converter.checking.checker import Checker
from converter.conversion.convert import Converter
from converter.events.render import EventRenderer
from converter.generate.generator import generate_events
from converter.mapping.loader import load_table
from converter.rules.load import load_rules

SYSMON = "Microsoft-Windows-Sysmon/Operational"
DETECTIONS = {
    "windows": "  s: {CommandLine|contains: ' -enc ', Image|endswith: '\\powershell.exe'}\n",
    "linux": "  s: {CommandLine|contains: 'base64 -d', Image|endswith: '/bash'}\n",
    "macos": "  s: {CommandLine|contains: 'base64 -d', Image|endswith: '/bash'}\n",
}
EVENTS = {
    "windows": {"Channel": SYSMON, "EventID": 1, "CommandLine": "powershell -nop -enc SQBFAFgA",
                "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"},
    "linux": {"Channel": "Linux-Sysmon/Operational", "EventID": 1,
              "CommandLine": "bash -c echo x | base64 -d | sh", "Image": "/usr/bin/bash"},
    "macos": {"Channel": "macos/process_creation",
              "CommandLine": "bash -c echo x | base64 -d | sh", "Image": "/bin/bash"},
}
PLATFORM_VALUE = {"windows": "Windows11", "linux": "Linux", "macos": "macOS"}


def _rule(tmp_path: Path, product: str, detection: str, category: str = "process_creation") -> Any:
    path = tmp_path / f"{product}.yml"
    path.write_text(
        "title: t\nid: 0f5b8f2e-3c1d-4e6a-9b7c-2d4e6f8a0b1c\nstatus: test\n"
        f"logsource: {{product: {product}, category: {category}}}\ndetection:\n"
        f"{detection}  condition: s\n",
        encoding="utf-8",
    )
    (loaded,) = load_rules([path])
    return loaded


def _query(loaded: Any) -> str:
    result = Converter("kusto", options={"data_source": "defender"}).convert(loaded)
    assert result.status == "converted", result.reason
    return result.queries[0]


def _row(product: str) -> dict[str, Any]:
    """The product's event rendered as Defender writes it (with its device's DeviceInfo rows)."""
    rendered = EventRenderer.routed(load_table("kusto-windows"), "defender").render_sample(
        _sample(EVENTS[product]))
    assert rendered is not None
    return rendered


def _sample(fields: dict[str, Any]) -> Any:
    from converter.events.render import SampleEvent

    return SampleEvent(dict(fields))


def _on_platform(row: dict[str, Any], platform: str, device: str = "d-other") -> dict[str, Any]:
    """The same row from a device of another platform: same values, other DeviceInfo rows."""
    return {**row, "DeviceId": device, "$DeviceInfo": [{"DeviceId": device, "OSPlatform": platform}]}


def test_a_windows_rule_does_not_match_a_linux_or_macos_row_with_the_same_values(
        tmp_path: Path) -> None:
    """The false proof this fixes: without the platform restriction a Windows query matched a
    Linux device's row with the same values (check proved it on Windows rows only)."""
    query = _query(_rule(tmp_path, "windows", DETECTIONS["windows"]))
    node = parse(query)
    row = _row("windows")
    assert matches(node, row)
    assert not matches(node, _on_platform(row, "Linux"))
    assert not matches(node, _on_platform(row, "macOS"))
    assert matches(node, _on_platform(row, "WindowsServer2019"))


@pytest.mark.parametrize("product", ["linux", "macos"])
def test_a_linux_or_macos_rule_matches_only_its_platform(product: str, tmp_path: Path) -> None:
    query = _query(_rule(tmp_path, product, DETECTIONS[product]))
    assert query.startswith("DeviceProcessEvents\n| where ")
    assert f'(DeviceInfo | where OSPlatform == "{PLATFORM_VALUE[product]}"' in query
    node = parse(query)
    row = _row(product)
    assert matches(node, row)
    others = [p for p in PLATFORM_VALUE.values() if p != PLATFORM_VALUE[product]]
    for platform in others:
        assert not matches(node, _on_platform(row, platform)), platform


@pytest.mark.parametrize("product", ["linux", "macos"])
def test_linux_and_macos_rules_are_proven_with_generated_events(product: str, tmp_path: Path) -> None:
    """check --generate proves the rule, the Windows record with its values (the "wrong
    logsource" near miss, rendered with a Windows device) included."""
    loaded = _rule(tmp_path, product, DETECTIONS[product])
    events = generate_events(loaded.rule)
    target = Checker(["kusto"], data_source="defender").check(loaded, events).targets["kusto"]
    assert target.equivalent is True, (target.reason, target.disagreements)
    assert any("wrong logsource" in (e.note or "") for e in events)


def test_linux_file_and_network_rules_convert_to_their_tables(tmp_path: Path) -> None:
    file_rule = _rule(tmp_path, "linux", "  s: {TargetFilename|startswith: '/etc/cron.d/'}\n",
                      "file_event")
    assert _query(file_rule).startswith('DeviceFileEvents\n| where ActionType == "FileCreated"')
    # Initiated pins the port test to outbound rows (kusto-linux exact_only_when).
    net_rule = _rule(tmp_path, "linux",
                     "  s: {Initiated: 'true', DestinationPort: 4444, Image|endswith: '/nc'}\n",
                     "network_connection")
    query = _query(net_rule)
    assert query.startswith("DeviceNetworkEvents\n| where ")
    assert query.endswith('(DeviceInfo | where OSPlatform == "Linux" | distinct DeviceId) on DeviceId')


# --- the interpreter's semi join -------------------------------------------------------------

JOINED = (
    'DeviceProcessEvents\n| where ProcessCommandLine contains " -enc "\n'
    '| join kind=leftsemi (DeviceInfo | where OSPlatform startswith "Windows" | distinct DeviceId)'
    " on DeviceId"
)


def _event(device: str, rows: list[dict[str, str]] | None) -> dict[str, Any]:
    event: dict[str, Any] = {"$table": "DeviceProcessEvents", "ProcessCommandLine": "x -enc y",
                             "DeviceId": device}
    if rows is not None:
        event["$DeviceInfo"] = rows
    return event


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # Many DeviceInfo rows of one device over time (an upgrade): one Windows row suffices.
        ([{"DeviceId": "d1", "OSPlatform": "Windows10"}, {"DeviceId": "d1", "OSPlatform": "Windows11"}], True),
        # A Windows row of another device does not make this Linux device's row match.
        ([{"DeviceId": "d1", "OSPlatform": "Linux"}, {"DeviceId": "d2", "OSPlatform": "Windows10"}], False),
        # The key is compared case-sensitively.
        ([{"DeviceId": "D1", "OSPlatform": "Windows10"}], False),
        # startswith is case-insensitive.
        ([{"DeviceId": "d1", "OSPlatform": "WINDOWS10"}], True),
        # No DeviceInfo row of the device (none in the query's time range): no match.
        ([], False),
        (None, False),
    ],
)
def test_semi_join_reads_the_related_rows(rows: list[dict[str, str]] | None, expected: bool) -> None:
    node = parse(JOINED)
    assert evaluate(node, _event("d1", rows)) is expected
    if not expected:  # the explanation names the join and the rows it read
        assert "$DeviceInfo" in explain(node, _event("d1", rows))


def test_semi_join_on_a_missing_key_reads_the_empty_string() -> None:
    """DeviceId is a string column: a missing one is "" (semantics string_never_null)."""
    node = parse(JOINED)
    event = _event("", [{"DeviceId": "", "OSPlatform": "Windows10"}])
    del event["DeviceId"]
    assert matches(node, event)
    assert not matches(node, {**event, "$DeviceInfo": [{"DeviceId": "d1", "OSPlatform": "Windows10"}]})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (JOINED.replace("kind=leftsemi", "kind=inner"), "only kind=leftsemi"),
        (JOINED.replace(") on DeviceId", ") on DeviceName"), "semi join on the column"),
    ],
)
def test_other_joins_are_refused(text: str, message: str) -> None:
    with pytest.raises(UnsupportedQueryError, match=message):
        parse(text)


# --- Sentinel ASIM: the unifying parsers also hold Sysmon for Linux records --------------------


@pytest.mark.parametrize(
    ("category", "detection", "event"),
    [
        ("process_creation", DETECTIONS["windows"], EVENTS["windows"]),
        ("file_event", "  s: {TargetFilename|endswith: '/x.sh'}\n",
         {"Channel": SYSMON, "EventID": 11, "TargetFilename": "/tmp/x.sh", "Image": "/usr/bin/curl"}),
    ],
)
def test_asim_windows_rule_does_not_match_a_linux_sysmon_row(
        category: str, detection: str, event: dict[str, Any], tmp_path: Path) -> None:
    """imProcessCreate and imFileEvent union the Windows Sysmon and Security parsers (DvcOs
    "Windows") with Sysmon for Linux's and others: a Windows rule keeps DvcOs == "Windows"."""
    loaded = _rule(tmp_path, "windows", detection, category)
    result = Converter("kusto", options={"data_source": "sentinel-asim"}).convert(loaded)
    assert result.status == "converted", result.reason
    node = parse(result.queries[0])
    row = EventRenderer.routed(load_table("kusto-windows"), "sentinel-asim").render_sample(
        _sample(event))
    assert row is not None and matches(node, row)
    assert not matches(node, {**row, "DvcOs": "Linux"})


@pytest.mark.parametrize("op", ["<", ">=", "=="])
def test_ingestion_window_other_than_greater_than_ago_is_refused(op: str) -> None:
    """Only `ingestion_time() > ago(T)` is modelled (semantics ingestion_window)."""
    with pytest.raises(UnsupportedQueryError, match="only > is evaluated"):
        parse(f'T | where ingestion_time() {op} ago(5m) | where A == "x"')
