"""The ``_raw`` of a JSON-line record (Zeek's logs, ``converter/events/json_line.py``): the line
the log holds, so a number keeps its spelling and a JSON null is a key the line does not hold
(as every data source writes a null: ``converter/checking/dropped.py``)."""

from __future__ import annotations

import pytest

from converter.checking.checker import Checker
from converter.events.json_line import json_line
from converter.events.render import SampleEvent
from helpers import load_one


def test_a_json_line_with_a_number_python_spells_otherwise_is_not_rendered() -> None:
    # The Zeek line's _raw holds the log's spelling (1E5); Python's encoder writes 100000.0, so
    # a keyword over the line would be tested on text no log holds.
    from converter.strict_json import STRICT_JSON

    event = STRICT_JSON.decode('{"duration": 1E5, "query": "a"}')
    with pytest.raises(ValueError, match="1E5"):
        json_line(event, set())
    assert json_line(STRICT_JSON.decode('{"duration": 1.5, "n": [2, {"x": 0.25}]}'), set()) == (
        '{"duration": 1.5, "n": [2, {"x": 0.25}]}')


def test_a_null_is_no_key_of_the_line_so_its_test_is_not_proven() -> None:
    # Before: the line kept "qtype_name": null while the extracted fields had no qtype_name, so
    # the null twin (the same event without the key) rendered otherwise and `check` said the
    # exists test "differs" on Zeek alone; now it is "not proven" with the null's reason, as on
    # every other data source.
    assert json_line({"query": "a", "qtype_name": None}, set()) == '{"query": "a"}'
    rule = load_one("title: t\nid: 2da54a07-d6ae-4cae-bfc2-47155b5b46d1\n"
                    "logsource: {product: zeek, service: dns}\n"
                    "detection:\n  sel:\n    qtype_name|exists: true\n  condition: sel\n")
    events = [SampleEvent({"Channel": "zeek/dns", "query": "a", "qtype_name": "A"}),
              SampleEvent({"Channel": "zeek/dns", "query": "a", "qtype_name": None})]
    outcome = Checker(["splunk"]).check(rule, events).targets["splunk"]
    assert outcome.equivalent is None and "missing (a null" in (outcome.reason or ""), outcome.reason
