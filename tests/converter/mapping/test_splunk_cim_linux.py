"""Splunk CIM for Linux process creation: Endpoint.Processes rows of the Sysmon for Linux add-on.

The add-on (sourcetype ``sysmon:linux``) fills the CIM Processes fields from the Sysmon record
(security_content ``data_sources/sysmon_for_linux_eventid_1.yml``), so SigmaHQ's Linux
process_creation rules convert for ``splunk-cim`` (``splunk-cim-linux.yml``). The dataset also
holds Windows rows with the same field names: the query selects the add-on's rows by
``sourcetype``, and a Windows process event never matches a Linux rule.
"""

from __future__ import annotations

import pytest

from converter.checking.checker import Checker
from converter.events.render import SampleEvent
from converter.generate.generator import generate_events
from converter.mapping.loader import load_table
from helpers import load_one, to_query

RULE = """
title: curl through a socks proxy
id: 6c0b9d61-1111-4222-8333-944455556666
logsource: {product: linux, category: process_creation}
detection:
    selection:
        Image|endswith: '/curl'
        CommandLine|contains: 'socks5://'
    filter:
        ParentImage: '/usr/bin/apt'
    condition: selection and not filter
"""

WINDOWS_TWIN = {
    "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
    "Image": "C:\\tools/curl", "CommandLine": "curl -x socks5://10.0.0.1:1080 http://x",
    "ParentImage": "C:\\Windows\\explorer.exe",
}


def test_linux_process_creation_is_a_tstats_on_endpoint_processes() -> None:
    query = to_query("splunk-cim", RULE)
    assert "from datamodel=Endpoint.Processes where " in query
    assert 'sourcetype="sysmon:linux"' in query
    assert 'Processes.process_path="*/curl"' in query and "Processes.process=" in query
    assert "Processes.parent_process_path" in query


def test_proven_on_linux_events_and_a_windows_row_of_the_same_dataset() -> None:
    loaded = load_one(RULE)
    events = generate_events(loaded.rule) + [SampleEvent(dict(WINDOWS_TWIN))]
    result = Checker(["splunk-cim"]).check(loaded, events).targets["splunk-cim"]
    assert result.equivalent, result.reason
    # The Windows twin is a row of Endpoint.Processes too (rendered, not skipped) and the
    # sourcetype test keeps the Linux rule off it.
    assert len(events) - 1 not in result.not_rendered


@pytest.mark.parametrize("field,why", [
    ("OriginalFileName", "original_file_name"),
    ("ParentUser", "ParentUser"),
])
def test_fields_without_a_documented_cim_field_are_refused_with_the_reason(field: str, why: str) -> None:
    text = RULE.replace("ParentImage: '/usr/bin/apt'", f"{field}: 'x'")
    with pytest.raises(Exception, match=why):
        to_query("splunk-cim", text)


def test_logon_id_is_never_in_the_dataset() -> None:
    """LogonId has no Processes field: its test is evaluated away (README "Partial evaluation")."""
    text = RULE.replace("ParentImage: '/usr/bin/apt'", "LogonId: 0")
    query = to_query("splunk-cim", text)
    assert "LogonId" not in query and "logon" not in query.lower()
    assert "splunk_ta_sysmon_linux" in load_table("splunk-cim-linux").options["data_source"]["choices"]


WINDOWS_RULE = """
title: whoami on windows
id: 6c0b9d61-1111-4222-8333-944455556667
logsource: {product: windows, category: process_creation}
detection:
    selection:
        CommandLine|contains: 'whoami'
    condition: selection
"""


def test_a_windows_rule_never_matches_a_linux_row_of_the_dataset() -> None:
    """The Windows entry selects the Windows add-ons' rows (sourcetype XmlWinEventLog)."""
    loaded = load_one(WINDOWS_RULE)
    linux = {"Channel": "Linux-Sysmon/Operational", "EventID": 1,
             "Image": "/usr/bin/whoami", "CommandLine": "whoami"}
    events = generate_events(loaded.rule) + [SampleEvent(linux)]
    result = Checker(["splunk-cim"]).check(loaded, events).targets["splunk-cim"]
    assert result.equivalent, result.reason
    assert 'where sourcetype="XmlWinEventLog" ' in result.query
    assert len(events) - 1 not in result.not_rendered


MACOS_RULE = """
title: osascript
id: 6c0b9d61-1111-4222-8333-944455556668
logsource: {product: macos, category: process_creation}
detection:
    selection:
        Image|endswith: '/osascript'
    condition: selection
"""


def test_macos_is_refused_with_the_reason() -> None:
    """The CrowdStrike rows of Endpoint.Processes have no documented platform field."""
    with pytest.raises(Exception, match="event_platform"):
        to_query("splunk-cim", MACOS_RULE)


@pytest.mark.parametrize("category,why", [
    ("file_event", "no documented field selects the file creations"),
    ("network_connection", "no Sysmon for Linux event 3 data source"),
])
def test_other_linux_logsources_are_refused_with_the_reason(category: str, why: str) -> None:
    text = MACOS_RULE.replace("product: macos, category: process_creation",
                              f"product: linux, category: {category}")
    with pytest.raises(Exception, match=why):
        to_query("splunk-cim", text)


def test_ps_script_refusal_names_the_contradicting_data_source() -> None:
    """4104's security_content field_mappings name Endpoint.Processes; its field list does not."""
    text = MACOS_RULE.replace("product: macos, category: process_creation",
                              "product: windows, category: ps_script").replace(
        "Image|endswith: '/osascript'", "ScriptBlockText|contains: 'Invoke-Mimikatz'")
    with pytest.raises(Exception, match="powershell_script_block_logging_4104.yml"):
        to_query("splunk-cim", text)
