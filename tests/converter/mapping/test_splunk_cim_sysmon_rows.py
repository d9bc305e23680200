"""Splunk CIM on Windows: the queries select the Sysmon add-on's rows of each dataset by ``source``.

Endpoint.Processes also holds the Windows add-on's Security 4688 rows, where ``user`` is
SubjectUserSid (security_content ``windows_event_log_security_4688.yml`` field_mappings; its
example record resolves it to ``NT AUTHORITY\\SYSTEM`` while Sigma's User is
``WORKGROUP\\AR-WIN-1$``), ``process_integrity_level`` is absent and ``parent_process`` holds an
undocumented value: no tstats test means a Sigma User, IntegrityLevel or ParentCommandLine test on
both kinds of row. The data source ``splunk_ta_sysmon`` is the Sysmon rows (``source`` is a base
field every dataset inherits, tested unprefixed even where the entry prefixes its fields), and a
4688 event is no event of it.
"""

from __future__ import annotations

from converter.checking.checker import Checker
from converter.events.render import EventRenderer, SampleEvent
from converter.generate.generator import generate_events
from converter.mapping.loader import load_table
from helpers import load_one, to_query

SYSMON_SOURCE = 'source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"'

USER_RULE = """
title: tscon as system
id: 6c0b9d61-1111-4222-8333-9444555566a1
logsource: {product: windows, category: process_creation}
detection:
    selection:
        User|contains: 'AUTHORI'
        Image|endswith: '\\tscon.exe'
    condition: selection
"""

REGISTRY_RULE = """
title: run key value
id: 6c0b9d61-1111-4222-8333-9444555566a2
logsource: {product: windows, category: registry_set}
detection:
    selection:
        TargetObject|contains: '\\CurrentVersion\\Run\\'
        Details|contains: 'powershell'
    condition: selection
"""


def test_a_security_4688_event_is_no_event_of_the_sysmon_rows() -> None:
    renderer = EventRenderer(load_table("splunk-cim"))
    sysmon = renderer.render({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
                              "Image": "C:\\Windows\\System32\\tscon.exe"})
    assert sysmon is not None
    assert sysmon["source"] == "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"
    assert sysmon["vendor_product"] == "Microsoft Sysmon"
    assert renderer.render({"Channel": "Security", "EventID": 4688,
                            "Image": "C:\\Windows\\System32\\tscon.exe"}) is None


def test_a_user_rule_is_proven_on_the_sysmon_rows_only() -> None:
    loaded = load_one(USER_RULE)
    security = {"Channel": "Security", "EventID": 4688, "User": "NT AUTHORITY\\SYSTEM",
                "Image": "C:\\Windows\\System32\\tscon.exe"}
    events = generate_events(loaded.rule) + [SampleEvent(security)]
    result = Checker(["splunk-cim"]).check(loaded, events).targets["splunk-cim"]
    assert result.equivalent, result.reason
    assert f'sourcetype="XmlWinEventLog" {SYSMON_SOURCE} ' in result.query
    assert len(events) - 1 in result.not_rendered


def test_the_other_datasets_select_the_sysmon_rows_by_the_bare_base_field() -> None:
    query = to_query("splunk-cim", REGISTRY_RULE)
    assert "datamodel=Endpoint.Registry" in query
    assert f" {SYSMON_SOURCE} " in query
    assert "Registry.source" not in query
