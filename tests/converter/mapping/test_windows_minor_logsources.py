"""The Windows logsources that had no table entry on the Elastic side, and the Splunk CIM refusal of
``wmi_event`` (issue 12).

* Sysmon's smaller events (file creation time 2, service state 4 / configuration 16, process
  tampering 25, executable detected 29, error 255) are mapped for the ``windows`` and
  ``winlogbeat`` data sources as the sysmon_operational ingest pipeline writes them, and proven
  on the events their entries render; what the pipeline moves out of reach (25's ``Type`` becomes
  the analysed ``message``) is refused naming the field; Defend is refused naming Defend.
* The classic PowerShell log (``powershell-classic``, ``ps_classic_start``,
  ``ps_classic_provider_start``) maps the record's System fields only: the powershell data
  stream splits the unnamed ``<Data>`` into renamed key/value fields, so ``Data`` and any key
  of it (``HostApplication``...) are refused rather than sent to a ``winlog.event_data`` name
  the data never has.
* ``file_access`` / ``file_rename`` (Kernel-File ETW) are refused on every data source.
* The same Sysmon events on Splunk raw (``splunk-sysmon``): the add-on's generic extraction of
  each ``<Data Name='X'>`` as ``X``; the classic PowerShell categories on the Windows add-on with
  the System fields only.
* ``splunk-cim`` refuses ``wmi_event``, these Sysmon events, the PowerShell records and the
  event-log channels with reasons of their own, not the generic "no mapping for logsource".
"""

from __future__ import annotations

import pytest
import yaml

from converter.checking.checker import Checker
from converter.generate.generator import generate_events
from converter.rules.load import load_text
from helpers import convert, proven_but_for_length_limits


def rule_text(logsource: dict[str, str], detection: dict[str, object]) -> str:
    """A one-rule Sigma document for ``logsource`` with ``detection``."""
    return yaml.safe_dump(
        {
            "title": "minor logsource test",
            "id": "5d6e7f80-91a2-4b3c-8d4e-5f6a7b8c9d0e",
            "logsource": {"product": "windows", **logsource},
            "detection": detection,
        }
    )


#: A rule per newly mapped Sysmon category: a selection and a filter on the fields it maps.
SYSMON_MINOR = {
    "file_change": {
        "sel": {"Image|endswith": "\\dns.exe", "PreviousCreationUtcTime|startswith": "2020-"},
        "filter": {"TargetFilename|endswith": "\\dns.log"},
    },
    "file_executable_detected": {
        "sel": {"TargetFilename|endswith": ".sed"},
        "filter": {"Image|startswith": "C:\\Windows\\"},
    },
    "process_tampering": {"sel": {"Image|contains": "\\Temp\\"}, "filter": {"User|contains": "SYSTEM"}},
    "sysmon_status": {"sel": {"State": "Stopped"}, "filter": {"Configuration|endswith": ".xml"}},
    "sysmon_error": {"sel": {"Description|contains": "Failed to open"}, "filter": {"ID": "DriverCommunication"}},
}


@pytest.mark.parametrize(
    "targets,data_source", [(["eql", "lucene"], "windows"), (["eql", "lucene"], "winlogbeat"), (["splunk"], None)]
)
@pytest.mark.parametrize("category", sorted(SYSMON_MINOR))
def test_minor_sysmon_categories_are_proven_on_rendered_events(
    category: str, targets: list[str], data_source: str | None
) -> None:
    """Each category converts for eql and lucene (and Splunk raw) and is equivalent on the events
    its entry renders (or differs only past a declared keyword length limit)."""
    text = rule_text({"category": category}, {**SYSMON_MINOR[category], "condition": "sel and not filter"})
    (loaded,) = load_text(text, "inline.yml")
    result = Checker(targets, data_source=data_source).check(
        loaded, generate_events(loaded.rule, seed=0)
    )
    for name, target in result.targets.items():
        assert target.query, (name, target.reason)
        assert proven_but_for_length_limits(target), (name, target.reason, target.disagreements[:2])


def test_sysmon_events_select_by_the_pipeline_action_and_fields() -> None:
    """The renames are the ingest pipeline's: Image -> process.executable (its basename as
    process.name), TargetFilename -> file.path, ID -> error.code; event.action as its table."""
    query = convert("eql", rule_text({"category": "file_change"}, {
        "sel": {"Image": "C:\\x\\a.exe", "TargetFilename": "C:\\y\\b.txt"}, "condition": "sel",
    }), "windows").queries[0]
    assert 'event.action == "A process changed a file creation time"' in query
    assert "process.executable" in query and "file.path" in query
    error = convert("eql", rule_text({"category": "sysmon_error"}, {
        "sel": {"ID": "ConfigurationFile"}, "condition": "sel",
    }), "winlogbeat").queries[0]
    assert "error.code" in error and 'event.action == "Error"' in error


def test_process_tampering_type_is_refused_naming_message() -> None:
    """Event 25's Type is renamed to the analysed ``message``: no exact query, so it is refused
    with the field and the data sources named."""
    conversion = convert("eql", rule_text({"category": "process_tampering"}, {
        "sel": {"Type": "Image is replaced"}, "condition": "sel",
    }), "windows")
    assert conversion.status == "unsupported"
    assert "'Type'" in conversion.reason and "message" in conversion.reason
    assert "windows, winlogbeat" in conversion.reason


@pytest.mark.parametrize("category", sorted(SYSMON_MINOR))
def test_minor_sysmon_categories_are_refused_on_defend(category: str) -> None:
    """Defend records none of them: refused with a reason naming Defend and the other sources."""
    conversion = convert("eql", rule_text({"category": category}, {
        "sel": {"EventID": 1}, "condition": "sel",
    }), "defend")
    assert conversion.status == "unsupported"
    assert "defend:" in conversion.reason and "--data-source windows" in conversion.reason


@pytest.mark.parametrize("data_source", ["defend", "windows", "winlogbeat"])
@pytest.mark.parametrize("category", ["file_access", "file_rename"])
def test_kernel_file_categories_are_refused_on_every_source(category: str, data_source: str) -> None:
    """Kernel-File ETW is no event log channel and no Elastic shipper collects it."""
    conversion = convert("eql", rule_text({"category": category}, {
        "sel": {"TargetFilename|endswith": ".doc"}, "condition": "sel",
    }), data_source)
    assert conversion.status == "unsupported"
    assert "Kernel-File" in conversion.reason


CLASSIC = [{"service": "powershell-classic"}, {"category": "ps_classic_start"},
           {"category": "ps_classic_provider_start"}]


@pytest.mark.parametrize("data_source", ["windows", "winlogbeat"])
@pytest.mark.parametrize("logsource", CLASSIC, ids=lambda ls: next(iter(ls.values())))
def test_classic_powershell_data_is_refused_with_the_reason(logsource: dict[str, str], data_source: str) -> None:
    """``Data`` is refused naming the powershell data stream's split of param1..3."""
    conversion = convert("lucene", rule_text(logsource, {
        "sel": {"Data|contains": "HostName=ConsoleHost"}, "condition": "sel",
    }), data_source)
    assert conversion.status == "unsupported"
    assert "'Data'" in conversion.reason and "param1..3" in conversion.reason


@pytest.mark.parametrize("logsource", CLASSIC, ids=lambda ls: next(iter(ls.values())))
def test_classic_powershell_keys_are_not_sent_to_event_data(logsource: dict[str, str]) -> None:
    """A key of the classic log's Data block is not a ``<Data Name>`` of the record: the
    integration renames HostApplication to process.command_line after splitting it out, so
    ``winlog.event_data.HostApplication`` never exists. Such a field is refused, never guessed."""
    conversion = convert("eql", rule_text(logsource, {
        "sel": {"HostApplication|contains": "powershell"}, "condition": "sel",
    }), "windows")
    assert conversion.status != "converted"
    assert "winlog.event_data.HostApplication" not in "\n".join(conversion.queries)


@pytest.mark.parametrize("logsource", CLASSIC, ids=lambda ls: next(iter(ls.values())))
def test_classic_powershell_event_ids_convert_and_are_proven(logsource: dict[str, str]) -> None:
    """The System fields the entries map are exact on the events they render."""
    text = rule_text(logsource, {"sel": {"EventID": [400, 600, 800]}, "condition": "sel"})
    (loaded,) = load_text(text, "inline.yml")
    result = Checker(["eql", "lucene"], data_source="windows").check(
        loaded, generate_events(loaded.rule, seed=0)
    )
    for name, target in result.targets.items():
        assert target.query, (name, target.reason)
        assert proven_but_for_length_limits(target), (name, target.reason, target.disagreements[:2])


def test_splunk_cim_refuses_wmi_event_with_its_reason() -> None:
    """Not the generic "no mapping for logsource": the reason names the Sysmon events and the
    missing CIM field mappings."""
    conversion = convert("splunk-cim", rule_text({"category": "wmi_event"}, {
        "sel": {"Destination|contains": " -enc "}, "condition": "sel",
    }))
    assert conversion.status == "unsupported"
    assert "does not cover" in conversion.reason and "sysmon_eventid_20" in conversion.reason


@pytest.mark.parametrize(
    "logsource",
    [{"category": c} for c in [*sorted(SYSMON_MINOR), "ps_module", "ps_classic_start", "file_access"]]
    + [{"service": s} for s in ["application", "powershell-classic", "windefend", "sysmon"]],
    ids=lambda ls: next(iter(ls.values())),
)
def test_splunk_cim_refusals_give_their_reason(logsource: dict[str, str]) -> None:
    """Each Windows logsource splunk-cim does not map is refused with a reason of its own."""
    conversion = convert("splunk-cim", rule_text(logsource, {"sel": {"EventID": 1}, "condition": "sel"}))
    assert conversion.status == "unsupported"
    assert "does not cover" in conversion.reason and "has no mapping" not in conversion.reason


@pytest.mark.parametrize("category", ["ps_classic_start", "ps_classic_provider_start"])
def test_splunk_classic_powershell_maps_system_fields_only(category: str) -> None:
    """EventCode and source select the record; Data and Data's keys are refused."""
    query = convert("splunk", rule_text({"category": category}, {
        "sel": {"Provider_Name": "PowerShell"}, "condition": "sel",
    })).queries[0]
    assert 'source="XmlWinEventLog:Windows PowerShell"' in query and "EventCode=" in query
    for field in ("Data", "HostApplication"):
        conversion = convert("splunk", rule_text({"category": category}, {
            "sel": {f"{field}|contains": "powershell"}, "condition": "sel",
        }))
        assert conversion.status == "unsupported", field
