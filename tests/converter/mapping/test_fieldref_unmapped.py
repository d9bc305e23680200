"""A ``fieldref`` value naming a field the mapping table does not know is refused, as the field
of a detection item is: the query compared with a name no event of the data source holds
(``ProcessId|fieldref: abc`` became ``where lower('ProcessId')=lower('abc')`` on Splunk, and check
reported "differs" on the events that held ``abc``)."""

from __future__ import annotations

import pytest

from converter.conversion.convert import Converter
from converter.rules.load import load_text


def _rule(reference: str) -> str:
    return (
        "title: t\nid: 0b8f7a3e-0000-4000-8000-00000000f901\n"
        "logsource: {product: windows, category: process_creation}\n"
        f"detection:\n  sel:\n    CommandLine|fieldref: {reference}\n  condition: sel\n"
    )


@pytest.mark.parametrize("target", ["splunk", "eql", "kusto"])
def test_an_unknown_referenced_field_is_refused(target: str) -> None:
    (rule,) = load_text(_rule("NoSuchField"), "r.yml")
    conversion = Converter(target).convert(rule)
    assert conversion.status != "converted"
    assert "'NoSuchField' is not mapped" in (conversion.reason or ""), conversion.reason


def test_a_known_referenced_field_still_converts() -> None:
    (rule,) = load_text(_rule("ParentCommandLine"), "r.yml")
    conversion = Converter("splunk").convert(rule)
    assert conversion.status == "converted", conversion.reason
    assert "ParentCommandLine" in conversion.output
