"""Splunk CIM: fields no field of the dataset holds are evaluated away (partial evaluation).

The Sysmon add-on fills no process path or name in ``Endpoint.Registry`` or
``Endpoint.Filesystem`` (its field_mappings name none; security_content's searches on them join
``Endpoint.Processes`` on ``process_guid`` for the process, the image "not yet available in TAs"),
so a tstats search never sees the ``Image`` of a Sysmon 11, 12, 13 or 14 event: a test on it has
its verdict on a missing field, as the PE metadata has on ``Endpoint.Processes``. A filter on ``Image`` drops out (with a warning naming it), a selection
on it makes the rule constant (refused), and ``check`` proves the rest on the dataset's rows.
"""

from __future__ import annotations

import pytest

from converter.checking.checker import Checker
from converter.conversion.convert import CONVERTED, UNSUPPORTED
from converter.generate.generator import generate_events
from helpers import convert, load_one

FILTERED = {
    "registry_set": """
title: run key set by anything but the installer
id: 6c0b9d61-1111-4222-8333-9444555566b1
logsource: {product: windows, category: registry_set}
detection:
    selection:
        TargetObject|contains: '\\CurrentVersion\\Run\\'
        Details|contains: 'powershell'
    filter:
        Image|endswith: '\\msiexec.exe'
    condition: selection and not filter
""",
    "registry_event": """
title: screensaver path changed by anything but explorer
id: 6c0b9d61-1111-4222-8333-9444555566b2
logsource: {product: windows, category: registry_event}
detection:
    selection:
        TargetObject|endswith: '\\Control Panel\\Desktop\\SCRNSAVE.EXE'
    filter:
        Image|endswith: '\\explorer.exe'
    condition: selection and not filter
""",
    "file_event": """
title: startup folder file not written by explorer
id: 6c0b9d61-1111-4222-8333-9444555566b3
logsource: {product: windows, category: file_event}
detection:
    selection:
        TargetFilename|contains: '\\Start Menu\\Programs\\Startup\\'
    filter:
        Image|endswith: '\\explorer.exe'
    condition: selection and not filter
""",
}


@pytest.mark.parametrize("category", sorted(FILTERED))
def test_an_image_filter_drops_out_and_the_rest_is_proven(category: str) -> None:
    text = FILTERED[category]
    conversion = convert("splunk-cim", text)
    assert conversion.status == CONVERTED, conversion.reason
    query = conversion.queries[0]
    assert "process_path" not in query and "explorer" not in query and "msiexec" not in query
    assert any(
        "never records Image" in w and "'filter' can never match" in w
        for w in conversion.exact_warnings
    ), conversion.exact_warnings
    loaded = load_one(text)
    result = Checker(["splunk-cim"]).check(loaded, generate_events(loaded.rule, seed=0))
    outcome = result.targets["splunk-cim"]
    assert outcome.equivalent is True, (outcome.reason, outcome.disagreements)


def test_an_image_selection_makes_the_rule_constant_and_refused() -> None:
    text = """
title: file written by certutil
id: 6c0b9d61-1111-4222-8333-9444555566b4
logsource: {product: windows, category: file_event}
detection:
    selection:
        Image|endswith: '\\certutil.exe'
        TargetFilename|endswith: '.exe'
    condition: selection
"""
    conversion = convert("splunk-cim", text)
    assert conversion.status == UNSUPPORTED
    assert "whole condition is constant" in conversion.reason
    assert "Image" in conversion.reason


def test_image_stays_mapped_on_processes_and_network_traffic() -> None:
    # Endpoint.Processes has process_path and All_Traffic has app: Image is no unrecorded field
    # there (its tests are queried, not evaluated away).
    proc = convert("splunk-cim", FILTERED["file_event"].replace("file_event", "process_creation")
                   .replace("TargetFilename", "CommandLine"))
    assert proc.status == CONVERTED, proc.reason
    assert "Processes.process_path" in proc.queries[0] and not proc.exact_warnings
