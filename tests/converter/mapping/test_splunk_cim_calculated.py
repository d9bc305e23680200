"""Splunk CIM fields the data model calculates from the event.

* Lowercased: Processes ``process_integrity_level`` and All_Traffic ``transport`` (the models'
  calculations; ``converter/mapping/functions/cim.py``). Values in a tstats WHERE clause compare
  case-insensitively, so a plain Sigma test holds on the lowercased value; a case-sensitive regex
  or a ``cased`` value does not. Before, the renderer wrote Sysmon's ``High`` / ``TCP`` unchanged
  and ``check`` proved such a regex "equivalent", where the data model holds ``high`` / ``tcp``.
* ``process_name``, derived from the command line where the add-on's base name of the image path
  is empty (``cim_full_path``).
"""

from __future__ import annotations

import pytest

from converter.checking.checker import Checker
from converter.events.render import EventRenderer
from converter.generate.generator import generate_events
from converter.mapping.loader import load_table
from helpers import convert, load_one


def _rule(category: str, detection: str) -> str:
    return (
        "title: t\nid: 6c0b9d61-1111-4222-8333-9444555566c1\n"
        f"logsource: {{product: windows, category: {category}}}\n"
        f"detection:\n    selection:\n{detection}    condition: selection\n"
    )


def test_the_rendered_row_holds_the_lowercased_values() -> None:
    renderer = EventRenderer(load_table("splunk-cim"))
    process = renderer.render({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
                               "Image": "C:\\x.exe", "IntegrityLevel": "High"})
    assert process is not None and process["process_integrity_level"] == "high"
    network = renderer.render({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 3,
                               "Protocol": "TCP"})
    assert network is not None and network["transport"] == "tcp"


@pytest.mark.parametrize(
    ("category", "detection"),
    [
        ("process_creation", "        IntegrityLevel|re: '^High$'\n"),
        ("network_connection", "        Protocol|re: 'TCP'\n"),
        ("network_connection", "        Protocol|cased: 'TCP'\n"),
    ],
)
def test_a_test_of_the_original_case_is_refused(category: str, detection: str) -> None:
    conversion = convert("splunk-cim", _rule(category, detection))
    assert conversion.status == "unsupported"
    reason = conversion.reason or ""
    assert "needs the original case" in reason or "the original case is gone" in reason, reason


@pytest.mark.parametrize(
    ("category", "detection"),
    [
        ("process_creation", "        IntegrityLevel: ['High', 'S-1-16-12288']\n"
                             "        Image|endswith: '\\whoami.exe'\n"),
        ("network_connection", "        Protocol: 'TCP'\n        DestinationPort: 443\n"),
        ("network_connection", "        Protocol|endswith: 'CP'\n"),
    ],
)
def test_a_case_insensitive_test_is_proven(category: str, detection: str) -> None:
    loaded = load_one(_rule(category, detection))
    result = Checker(["splunk-cim"]).check(loaded, generate_events(loaded.rule)).targets["splunk-cim"]
    assert result.equivalent, result.reason


# --- process_name: the data model derives it from the command line where it is empty ----------


@pytest.mark.parametrize("image", [None, "", "C:\\Windows\\System32\\", "notepad.exe"])
def test_a_process_event_without_a_full_image_path_is_no_sysmon_record(image: str | None) -> None:
    """Sysmon writes the full image path on every event 1; without a base name there, the data
    model would derive process_name from the command line: such an event is not rendered
    (before, it was rendered without process_name, false on every process_name test)."""
    event = {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
             "CommandLine": "whoami.exe /all"}
    if image is not None:
        event["Image"] = image
    with pytest.raises(ValueError, match="data model derives Processes.process_name"):
        EventRenderer(load_table("splunk-cim")).render(event)


def test_a_full_image_path_renders_its_base_name() -> None:
    rendered = EventRenderer(load_table("splunk-cim")).render(
        {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
         "Image": "C:\\Windows\\System32\\whoami.exe", "CommandLine": "whoami /all"}
    )
    assert rendered is not None
    assert (rendered["process_path"], rendered["process_name"]) == (
        "C:\\Windows\\System32\\whoami.exe", "whoami.exe")


def test_a_process_name_rule_is_proven_on_the_rendered_events() -> None:
    loaded = load_one(_rule("process_creation", "        Image|endswith: '\\whoami.exe'\n"
                                                "        CommandLine|contains: '/all'\n"))
    result = Checker(["splunk-cim"]).check(loaded, generate_events(loaded.rule)).targets["splunk-cim"]
    assert result.equivalent, result.reason
    assert "Processes.process_name=" in (result.query or "")
