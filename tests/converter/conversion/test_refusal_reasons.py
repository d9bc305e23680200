"""Every refusal of a SigmaHQ Windows rule names the field and the data source (issue 12's
acceptance): a user porting a rule set reads from the reason what is missing and on which data
source, and whether another one would convert the rule.

The data source is ``data_source=<name>`` (the pipeline's refusals carry it; a backend's own
refusals get the one the rule's logsource entry was built for, ``converter/mapping/refusals.py``).
The field is a field the rule tests, or the target field a backend refuses (``field <name>``);
a refusal about the whole logsource or about keywords (values without a field) has none to name.
"""

from __future__ import annotations

import re

import pytest
from sigma.rule import SigmaDetection, SigmaDetectionItem

from converter.conversion.convert import Converter
from converter.conversion.result import UNSUPPORTED
from converter.rules.load import LoadedRule, load_rules
from helpers import CORPUS

WINDOWS = CORPUS / "sigmahq" / "rules" / "windows"
#: target, data source (None: the target's default)
RUNS = [("eql", None), ("eql", "windows"), ("splunk", None), ("splunk-cim", None),
        ("kusto", None), ("kusto", "sentinel")]
TARGET_FIELD = re.compile(r"\bfield [\w.@$]+")
FIELDLESS = ("logsource", "keyword")


@pytest.fixture(scope="module")
def windows_rules() -> list[LoadedRule]:
    if not WINDOWS.is_dir():
        pytest.skip("../shared/corpus is absent")
    return load_rules(sorted(WINDOWS.rglob("*.yml")))


def _fields(loaded: LoadedRule) -> set[str]:
    """The field names the rule's detections test."""
    out: set[str] = set()

    def walk(item: object) -> None:
        if isinstance(item, SigmaDetection):
            for sub in item.detection_items:
                walk(sub)
        elif isinstance(item, SigmaDetectionItem) and item.field:
            out.add(item.field)

    for detection in getattr(getattr(loaded.rule, "detection", None), "detections", {}).values():
        walk(detection)
    return out


def _names_a_field(reason: str, fields: set[str]) -> bool:
    return (any(re.search(rf"(?<![\w.]){re.escape(f)}(?![\w])", reason) for f in fields)
            or TARGET_FIELD.search(reason) is not None
            or any(word in reason for word in FIELDLESS))


@pytest.mark.parametrize(("target", "source"), RUNS)
def test_every_windows_refusal_names_the_field_and_the_data_source(
    target: str, source: str | None, windows_rules: list[LoadedRule]
) -> None:
    converter = Converter(target, options={"data_source": source} if source else None)
    problems = []
    refused = 0
    for loaded in windows_rules:
        result = converter.convert(loaded)
        if result.status != UNSUPPORTED:
            continue
        refused += 1
        reason = result.reason or ""
        if "data_source=" not in reason:
            problems.append(f"{loaded.path.rsplit('/', 1)[-1]}: no data source: {reason[:160]}")
        elif not _names_a_field(reason, _fields(loaded)):
            problems.append(f"{loaded.path.rsplit('/', 1)[-1]}: no field: {reason[:160]}")
    assert refused and problems == []


def test_a_backend_refusal_names_the_data_source_of_a_companion_table() -> None:
    """A backend's refusal names the data source the rule's own entry was built for: a keyword
    rule of a channel on WindowsEvent (kusto-windows-channels, sentinel) while the Windows rules
    use sentinel-asim."""
    from helpers import load_one, rule_text

    loaded = load_one(rule_text("  k: ['Mimikatz']\n  condition: k\n", None)
                      .replace("logsource: {product: windows}", "logsource: {product: windows, service: system}"))
    result = Converter("kusto", options={"data_source": "sentinel-asim"}).convert(loaded)
    assert result.status == UNSUPPORTED
    assert "keyword" in (result.reason or "") and "(data_source=sentinel)" in (result.reason or "")
