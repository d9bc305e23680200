"""CIM registry_set: ``Endpoint.Registry`` holds Sysmon 12, 13 and 14 rows alike.

No documented CIM field tells a value set (13) from a key create / delete (12) or a rename (14),
so the tstats query cannot select 13. Events 12 and 14 carry no ``Details``; a registry_set rule
whose condition is false on every event without ``Details`` can only match rows of 13, and is
exact (``shared_rows`` in the table, ``SharedRowsTransformation``). Any other is refused.
"""

from __future__ import annotations

import pytest

from converter.checking.checker import Checker
from converter.conversion.convert import Converter
from converter.events.render import SampleEvent
from converter.generate.generator import generate_events
from converter.rules.load import LoadedRule, load_text


def rule(detection: str) -> LoadedRule:
    """A registry_set rule with this detection block."""
    text = (
        "title: registry set\nid: 91111111-2222-3333-4444-555555555555\n"
        "logsource: {product: windows, category: registry_set}\ndetection:\n" + detection
    )
    return load_text(text, "rule.yml")[0]


WITH_DETAILS = rule("""
    selection:
        TargetObject|contains: '\\CurrentVersion\\Run'
        Details|contains: 'powershell'
    filter:
        Details|endswith: '\\trusted.exe'
    condition: selection and not filter
""")

SYSMON = "Microsoft-Windows-Sysmon/Operational"


def test_a_rule_false_without_details_is_proven_beside_12_and_14_rows() -> None:
    events = generate_events(WITH_DETAILS.rule)
    # Rows of the other kinds with the same key: the dataset holds them, the rule must not match.
    key = "HKU\\S-1-5-21-1\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\x"
    events += [
        SampleEvent({"Channel": SYSMON, "EventID": 12, "EventType": "CreateKey", "TargetObject": key}),
        SampleEvent({"Channel": SYSMON, "EventID": 14, "EventType": "RenameKey", "TargetObject": key,
                     "NewName": key + "2"}),
    ]
    result = Checker(["splunk-cim"]).check(WITH_DETAILS, events).targets["splunk-cim"]
    assert result.equivalent, result.reason
    assert "datamodel=Endpoint.Registry" in result.query
    assert len(events) - 2 not in result.not_rendered and len(events) - 1 not in result.not_rendered


@pytest.mark.parametrize("detection,why", [
    ("""
    selection:
        TargetObject|endswith: '\\Run\\evil'
    condition: selection
""", "it tests no Details"),
    ("""
    selection:
        TargetObject|endswith: '\\Run\\evil'
    filter:
        Details: 'benign'
    condition: selection and not filter
""", "without Details it still matches when selection"),
    ("""
    selection:
        Details: null
    condition: selection
""", "it matches every event without Details"),
])
def test_a_rule_that_could_match_a_12_or_14_row_is_refused(detection: str, why: str) -> None:
    result = Converter("splunk-cim").convert(rule(detection))
    assert result.status != "converted"
    assert "Endpoint.Registry also holds the rows of Sysmon 12" in result.reason and why in result.reason


def test_other_targets_do_not_apply_the_guard() -> None:
    loaded = rule("""
    selection:
        TargetObject|endswith: '\\Run\\evil'
    condition: selection
""")
    assert Converter("splunk").convert(loaded).status == "converted"
    assert Converter("eql", options={"data_source": "windows"}).convert(loaded).status == "converted"
