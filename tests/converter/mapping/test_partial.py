"""Partial evaluation on fields a data source never records (``converter/mapping/partial.py``).

Elastic Defend's process events have no ``process.pe.description`` / ``process.pe.company``
(table ``unrecorded``): a test on ``Description`` has one value on every Defend event, the
reference's verdict on a missing field. The rule is simplified, converted, and ``check`` proves
the query on Defend's rendered events (the reference sees the events without those fields).
"""

from __future__ import annotations

from typing import Any

import pytest

from converter.reference import evaluator as reference
from converter.conversion.convert import CONVERTED, UNSUPPORTED
from converter.checking.checker import Checker
from converter.errors import PipelineError
from converter.generate.generator import generate_events
from converter.mapping.loader import _validate
from converter.reference.evaluator import compile_rule
from converter.rules.load import load_text
from helpers import convert, proven_but_for_length_limits, rule_text


def check(text: str, targets: list[str], data_source: str = "defend") -> Any:
    (loaded,) = load_text(text, "inline.yml")
    events = generate_events(loaded.rule, seed=0)
    return Checker(targets, data_source=data_source).check(loaded, events)


SEL = {"Image|endswith": "\\tool.exe"}

# (detection besides `sel`, condition, whether the rest is kept): every outcome of the simplifier.
CASES = [
    # `not` over a value test on an unrecorded field: the filter never applies on Defend.
    ({"filter": {"Description": "Foo"}}, "sel and not filter", "process.name"),
    # `null` is true on a missing field: `sel and filter` is `sel`.
    ({"filter": {"Description": None}}, "sel and filter", "process.name"),
    # exists: false is true, exists: true false.
    ({"f": {"Company|exists": False}}, "sel and f", "process.name"),
    ({"f": {"Company|exists": True}}, "sel and not f", "process.name"),
    # An OR branch that can never match is dropped (the 96 process_creation refusals).
    ({"alt": {"Description": "Foo"}}, "sel or alt", "process.name"),
    # Inside one detection: a list of maps (OR) and a map (AND).
    ({"s2": [{"Description": "Foo"}, {"CommandLine|contains": "x"}]}, "sel and s2", "command_line"),
    # Quantifiers over patterns.
    ({"selection_a": {"Description": "Foo"}, "selection_b": {"CommandLine|contains": "y"}},
     "sel and 1 of selection_*", "command_line"),
    ({"selection_a": {"Company|exists": False}, "selection_b": {"CommandLine|contains": "y"}},
     "sel and all of selection_*", "command_line"),
]


@pytest.mark.parametrize("extra, condition, kept", CASES)
def test_simplified_rule_converts_and_is_proven_on_defend(extra: dict, condition: str, kept: str) -> None:
    text = rule_text({"sel": SEL, **extra, "condition": condition})
    conversion = convert("eql", text, "defend")
    assert conversion.status == CONVERTED, conversion.reason
    query = conversion.queries[0]
    assert kept in query and "description" not in query and "company" not in query
    assert conversion.exact_warnings and set(conversion.exact_warnings) <= set(conversion.warnings)
    assert all("data_source=defend never records" in w for w in conversion.exact_warnings)
    assert any(f"'{name}'" in w for w in conversion.exact_warnings for name in extra)
    result = check(text, ["eql", "lucene", "kql"])
    for name, target in result.targets.items():
        assert proven_but_for_length_limits(target), (name, target.reason, target.disagreements)


@pytest.mark.parametrize(
    "detection, constant",
    [
        # `not` of a null test: false on every Defend event.
        ({"sel": SEL, "filter": {"Description": None}, "condition": "sel and not filter"}, "false"),
        ({"sel": {"Description|contains": "x"}, "condition": "sel"}, "false"),
        ({"sel": {"Company|exists": False}, "condition": "sel"}, "true"),
        ({"sel": {"Description": "x"}, "filter": SEL, "condition": "not sel or filter"}, "true"),
    ],
)
def test_constant_condition_is_refused_naming_field_and_source(detection: dict, constant: str) -> None:
    conversion = convert("eql", rule_text(detection), "defend")
    assert conversion.status == UNSUPPORTED
    assert f"whole condition is constant ({constant}" in conversion.reason
    assert "data_source=defend" in conversion.reason
    assert "Description" in conversion.reason or "Company" in conversion.reason


def test_other_data_sources_keep_the_field() -> None:
    text = rule_text({"sel": SEL, "filter": {"Description": "Foo"}, "condition": "sel and not filter"})
    conversion = convert("eql", text, "winlogbeat")
    assert conversion.status == CONVERTED
    assert "process.pe.description" in conversion.queries[0]
    assert not conversion.exact_warnings


def test_wrong_reference_reading_would_disagree(monkeypatch: pytest.MonkeyPatch) -> None:
    """`not` over a null test on an unrecorded field, simplified with the opposite reading, is
    refuted by the events the check renders."""
    text = rule_text({"sel": SEL, "filter": {"Description": "Foo"}, "condition": "sel and filter"})
    monkeypatch.setattr(reference, "verdict_on_missing_fields", lambda item, detections: True)
    conversion = convert("eql", text, "defend")
    assert conversion.status == CONVERTED  # wrongly `sel` alone
    result = check(text, ["eql"])
    assert result.targets["eql"].equivalent is False


def test_reference_reads_missing_fields_as_sigma_does() -> None:
    (loaded,) = load_text(
        rule_text({"sel": {"Description": None, "Company|exists": True}, "condition": "sel"}),
        "inline.yml",
    )
    items = loaded.rule.detection.detections["sel"].detection_items
    detections = loaded.rule.detection
    verdicts = {i.field: reference.verdict_on_missing_fields(i, detections) for i in items}
    assert verdicts == {"Description": True, "Company": False}
    compiled = compile_rule(loaded.rule)
    event = {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational"}
    assert compiled.evaluate(event).matched is False  # the AND of the two


def test_fieldref_to_an_unrecorded_field_is_false() -> None:
    text = rule_text(
        {"sel": SEL, "filter": {"User|fieldref": "ParentUser"}, "condition": "sel and not filter"}
    )
    conversion = convert("eql", text, "defend")
    assert conversion.status == CONVERTED, conversion.reason
    assert "ParentUser" in " ".join(conversion.exact_warnings)


def test_table_rejects_an_unrecorded_field_with_a_target() -> None:
    raw = {
        "name": "t",
        "schema": "ecs",
        "logsources": [
            {
                "id": "x",
                "match": {"product": "windows", "category": "process_creation"},
                "fields": {"Description": "process.pe.description"},
                "unmapped": {"Description": "why"},
                "unrecorded": {"defend": ["Description"]},
            }
        ],
    }
    with pytest.raises(PipelineError, match="unrecorded field Description"):
        _validate(raw, "t.yml")

