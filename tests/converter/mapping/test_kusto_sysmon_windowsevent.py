"""Sysmon's records on Microsoft Sentinel's WindowsEvent table (``--data-source sentinel`` and
``sentinel-wef``; the ``sentinel-sysmon-*`` entries of ``converter/mapping/tables/kusto-windows.yml``):
the Sysmon channel and the taxonomy's event ids are columns, every other field a property of the
dynamic EventData read with ``tostring()``, each rule proven on its generated events; every column
a WindowsEvent entry names is one of the table reference's (``tests/data/kusto_windows_columns.yml``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from converter.checking.checker import Checker
from converter.conversion.convert import Converter
from converter.generate.generator import generate_events
from converter.mapping.loader import load_table
from helpers import load_one, rule_text
from test_mappings_cloud import raw
from test_mappings_corpus import flat_targets

ROOT = Path(__file__).resolve().parents[3]
COLUMNS = ROOT / "tests" / "data" / "kusto_windows_columns.yml"
SYSMON = "Microsoft-Windows-Sysmon/Operational"
SOURCES = ("sentinel", "sentinel-wef")
ACCESSOR = re.compile(r"tostring\((\w+)\.\w+\)")

#: logsource category -> (Sysmon event ids, a detection on that event's fields)
RULES = {
    "registry_set": ((13,), "  s: {TargetObject|contains: '\\CurrentVersion\\Run\\', "
                     "Details|contains: '\\AppData\\'}\n  f: {Image|endswith: '\\msiexec.exe'}\n"
                     "  condition: s and not f\n"),
    "registry_event": ((12, 13, 14), "  s: {TargetObject|endswith: '\\Debugger', EventType: SetValue}\n"
                       "  condition: s\n"),
    "registry_add": ((12,), "  s: {EventType: CreateKey, TargetObject|contains: '\\Services\\'}\n"
                     "  condition: s\n"),
    "registry_delete": ((12,), "  s: {EventType: DeleteKey, TargetObject|contains: '\\Run\\'}\n"
                        "  condition: s\n"),
    "process_access": ((10,), "  s: {TargetImage|endswith: '\\lsass.exe', GrantedAccess: '0x1010'}\n"
                       "  condition: s\n"),
    "pipe_created": ((17, 18), "  s: {PipeName|startswith: '\\mojo.'}\n  condition: s\n"),
    "dns_query": ((22,), "  s: {QueryName|endswith: '.onion'}\n"
                  "  f: {Image|endswith: '\\tor.exe'}\n  condition: s and not f\n"),
    "create_remote_thread": ((8,), "  s: {SourceImage|endswith: '\\powershell.exe', "
                             "StartModule|endswith: '\\kernel32.dll'}\n  condition: s\n"),
    "driver_load": ((6,), "  s: {ImageLoaded|endswith: '\\Temp\\x.sys', Signed: 'false'}\n"
                    "  condition: s\n"),
    "wmi_event": ((19, 20, 21), "  s: {Destination|contains: 'powershell'}\n  condition: s\n"),
    "create_stream_hash": ((15,), "  s: {TargetFilename|endswith: ':Zone.Identifier', "
                           "Contents|contains: 'ZoneId=3'}\n  condition: s\n"),
    "image_load": ((7,), "  s: {ImageLoaded|endswith: '\\dbghelp.dll', Image|endswith: '\\rundll32.exe'}\n"
                   "  condition: s\n"),
    "file_event": ((11,), "  s: {TargetFilename|contains: '\\Start Menu\\Programs\\Startup\\'}\n"
                   "  condition: s\n"),
}


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("category", sorted(RULES))
def test_sysmon_rule_is_proven_on_windowsevent(category: str, source: str) -> None:
    """The query selects the Sysmon channel and the category's event ids on the columns, reads
    the rule's fields from EventData, and agrees with the rule on every generated event (at
    least one of which the rule matches)."""
    ids, detection = RULES[category]
    loaded = load_one(rule_text(detection, category))
    events = generate_events(loaded.rule)
    target = Checker(["kusto"], data_source=source).check(loaded, events).targets["kusto"]
    selected = f"EventID == {ids[0]}" if len(ids) == 1 else f"(EventID in ({', '.join(map(str, ids))}))"
    assert target.query.startswith(f'WindowsEvent\n| where (Channel == "{SYSMON}" and {selected})'), target.query
    assert "tostring(EventData." in target.query
    assert target.equivalent is True, (target.reason, target.disagreements)
    assert target.matched


def test_registry_stays_refused_on_defender_naming_the_table_and_the_other_sources() -> None:
    """Defender XDR's DeviceRegistryEvents stays unmapped (its key spelling is undocumented); the
    refusal names the table and the data sources that convert the rule."""
    loaded = load_one(rule_text(RULES["registry_set"][1], "registry_set"))
    result = Converter("kusto", options={"data_source": "defender"}).convert(loaded)
    assert result.status != "converted"
    assert "DeviceRegistryEvents" in result.reason and "--data-source sentinel" in result.reason
    assert "WindowsEvent" in result.reason


def test_every_sysmon_category_has_a_windowsevent_entry_on_sentinel() -> None:
    """Every Sysmon logsource the Splunk Sysmon table maps (but process creation, which Sentinel
    reads from SecurityEvent's 4688 rows) is a WindowsEvent entry on both Sentinel data sources,
    selecting the same event ids."""
    table = load_table("kusto-windows")
    for entry in raw("splunk-sysmon")["logsources"]:
        ids = sorted({e.get("EventID") for e in entry["events"]})
        if entry["events"][0].get("Channel") != SYSMON or entry["match"].get("category") == "process_creation":
            continue
        for source in SOURCES:
            mine = [e for e in table.entries_for(source) if e.match == entry["match"]]
            assert len(mine) == 1, (entry["match"], source)
            assert mine[0].state["query_table"] == "WindowsEvent"
            assert sorted(e["EventID"] for e in mine[0].events) == ids, entry["match"]


def test_every_windowsevent_target_is_a_column_of_the_table_reference() -> None:
    """Each target, condition, rendered constant and event-data template of a WindowsEvent
    entry (kusto-windows, kusto-windows-channels) names a column the table reference lists: a
    `to_integer` target or an EventID condition an int column, `tostring(C.{name})` a dynamic one,
    anything else a string column (a number constant: an int one)."""
    columns = yaml.safe_load(COLUMNS.read_text("utf-8"))["WindowsEvent"]
    problems = []
    seen = 0
    for name in ("kusto-windows", "kusto-windows-channels"):
        for entry in raw(name)["logsources"]:
            if entry["state"]["query_table"] != "WindowsEvent":
                continue
            seen += 1
            assert entry["render"]["$table"] == "WindowsEvent", entry["id"]
            specs = list((entry.get("fields") or {}).values())
            integer = [s for s in specs if isinstance(s, dict) and s.get("function") == "to_integer"]
            wanted = {(n, "integer") for n in flat_targets(integer)}
            wanted |= {(n, "string") for n in flat_targets([s for s in specs if s not in integer])}
            constants = {**(entry.get("conditions") or {}), **(entry.get("render") or {})}
            wanted |= {(n, "integer" if all(isinstance(x, int) for x in (v if isinstance(v, list) else [v]))
                        else "string") for n, v in constants.items() if not n.startswith("$")}
            template = entry.get("event_data")
            if template is not None:
                assert ACCESSOR.fullmatch(template.replace("{name}", "x")), (entry["id"], template)
                wanted.add((template.replace("{name}", "x"), "dynamic"))
            # tostring(C.name) reads a property of a dynamic column (semantics
            # dynamic_property_tostring)
            wanted = {(m.group(1), "dynamic") if (m := ACCESSOR.fullmatch(n)) else (n, kind)
                      for n, kind in wanted}
            problems += [f"{entry['id']}: {n} is no {kind} column of WindowsEvent"
                         for n, kind in sorted(wanted) if n not in columns[kind]]
    assert seen > 40 and problems == []
