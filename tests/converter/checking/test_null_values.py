"""A JSON null is written as a missing field; Sigma's ``exists`` counts a null key as present.

No record of a Windows channel holds a null, and Elasticsearch indexes none (a null field is
missing to ``exists``), so every renderer writes ``{"X": null}`` like the event without ``X``.
``X|exists: true`` is true on the first and false on the second: no query can answer both, and
``check`` reported "differs" as if the query were wrong. It is the declared difference: "not
proven", never "equivalent", never "differs".
"""

from __future__ import annotations

import pytest

from converter.checking.checker import Checker
from converter.events.render import SampleEvent
from converter.rules.load import load_text

RULE = """
title: t
id: 0b8f7a3e-0000-4000-8000-00000000e301
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image|endswith: '\\\\a.exe'
    CommandLine|exists: true
  condition: sel
"""
SYSMON = "Microsoft-Windows-Sysmon/Operational"


@pytest.mark.parametrize("target", ["eql", "splunk"])
def test_a_null_value_is_the_declared_difference(target: str) -> None:
    (loaded,) = load_text(RULE, "r.yml")
    events = [SampleEvent({"EventID": 1, "Channel": SYSMON, "Image": "C:\\a.exe",
                           "CommandLine": value}) for value in (None, "a x", "")]
    result = Checker([target]).check(loaded, events).targets[target]
    assert result.disagreements == [], result.reason
    assert result.equivalent is None, result.reason
    assert "event 0 show that difference" in result.reason, result.reason


def test_a_real_difference_beside_a_null_still_differs() -> None:
    # The twin without the null field must be decided as the target did: here the target's
    # verdict on event 1 is right for no event the data source writes alike.
    rule = RULE.replace("CommandLine|exists: true", "CommandLine|contains: 'x'")
    (loaded,) = load_text(rule, "r.yml")
    events = [SampleEvent({"EventID": 1, "Channel": SYSMON, "Image": "C:\\a.exe",
                           "CommandLine": None, "User": None})]
    result = Checker(["eql"]).check(loaded, events).targets["eql"]
    assert result.disagreements == [] and result.equivalent is not True, result.reason


def test_splunk_raw_holds_no_null_as_text() -> None:
    # _raw wrote <Data Name="CommandLine">None</Data>: a keyword search for "None" matched it.
    from converter.events.render import raw_xml

    raw = raw_xml({"EventID": 1, "Channel": SYSMON, "CommandLine": None, "User": [None, "u"]})
    assert "None" not in raw and 'CommandLine' not in raw and '<Data Name="User">u</Data>' in raw


def test_splunk_raw_holds_no_python_repr_of_nested_values() -> None:
    """A JSON object, or an array inside a field's array, has no text in the record's <Data>
    elements: it is left out, where its Python repr ("[['a']]", "{'b': 1}") was written."""
    from converter.events.record_xml import raw_xml

    raw = raw_xml({"EventID": 1, "Channel": SYSMON, "Tags": [["a"], "b"], "Obj": {"b": 1},
                   "User": "u"})
    assert "[" not in raw and "{" not in raw and "Obj" not in raw
    assert '<Data Name="Tags">b</Data>' in raw and '<Data Name="User">u</Data>' in raw


NESTED_RULE = """
title: t
id: 0b8f7a3e-0000-4000-8000-00000000e302
logsource: {product: okta, service: okta}
detection:
  sel:
    eventType: 'user.session.start'
    actor.alternateId|exists: true
  condition: sel
"""


@pytest.mark.parametrize("target", ["eql", "splunk", "kusto"])
def test_a_null_inside_an_object_is_the_declared_difference_too(target: str) -> None:
    """``{"actor": {"alternateId": null}}`` is written as ``{"actor.alternateId": null}`` is
    (the null as a missing key): only the top-level null was classified so, and the nested one
    was reported "differs"."""
    (loaded,) = load_text(NESTED_RULE, "r.yml")
    base = {"Channel": "okta/okta", "eventType": "user.session.start"}
    events = [SampleEvent({**base, "actor": {"alternateId": None}}),
              SampleEvent({**base, "actor": {"alternateId": "bob"}})]
    result = Checker([target]).check(loaded, events).targets[target]
    assert result.disagreements == [], result.reason
    assert result.equivalent is None and "event 0 show that difference" in result.reason, (
        result.reason)


def test_without_nulls_leaves_out_every_null() -> None:
    from converter.checking.dropped import without_nulls

    fields = {"a": None, "b": {"c": None, "d": 1}, "e": [None, "x", [None]], "f": [None], "g": 0}
    assert without_nulls(fields) == {"b": {"d": 1}, "e": ["x"], "g": 0}
    assert without_nulls({"a": "x"}) == {"a": "x"}
