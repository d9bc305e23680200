"""Splunk CIM Network_Traffic: the Sysmon add-on's ``app`` (Image) and ``direction`` (Initiated).

The add-on aliases Sysmon 3's Image as ``app`` and computes ``direction`` from Initiated
(``"true"`` -> ``outbound``, else ``inbound``; TA-microsoft-sysmon ``default/props.conf``); both
are Network_Traffic fields and are listed for Sysmon 3 in security_content
``data_sources/sysmon_eventid_3.yml``. So the SigmaHQ network_connection rules on a process image
or on the direction convert for ``splunk-cim`` instead of being evaluated away.
"""

from __future__ import annotations

import pytest

from converter.checking.checker import Checker
from converter.generate.generator import generate_events
from helpers import load_one, to_query

RULE = """
title: outbound connection of a script host
id: 5b0c2d1e-7777-4888-9999-aaaabbbbcccc
logsource: {product: windows, category: network_connection}
detection:
    selection:
        Image|endswith: '\\\\wscript.exe'
        Initiated: 'true'
    filter:
        DestinationPort: 443
    condition: selection and not filter
"""

INBOUND = """
title: inbound connection
id: 5b0c2d1e-7777-4888-9999-aaaabbbbdddd
logsource: {product: windows, category: network_connection}
detection:
    selection:
        Initiated: 'false'
        Image|contains: '\\\\Temp\\\\'
    condition: selection
"""


@pytest.mark.parametrize("text,direction", [(RULE, "outbound"), (INBOUND, "inbound")])
def test_image_and_initiated_are_app_and_direction(text: str, direction: str) -> None:
    query = to_query("splunk-cim", text)
    assert "datamodel=Network_Traffic.All_Traffic" in query
    assert "All_Traffic.app=" in query and f'All_Traffic.direction="{direction}"' in query
    loaded = load_one(text)
    events = generate_events(loaded.rule)
    result = Checker(["splunk-cim"]).check(loaded, events).targets["splunk-cim"]
    assert result.equivalent, result.reason
