"""The antivirus category on the `splunk` target (``splunk-antivirus``): Microsoft Defender
Antivirus detections (events 1116, 1117) as the Splunk Add-on for Microsoft Windows indexes them.

* the table joins the `splunk` pipeline with a valid schema, and every target is the add-on's name
  for a Data element of the detection record (captured in ``tests/data/splunk_fields.yml``);
* the query selects the Defender channel's detection events and tests ``Threat_Name``;
* proof: hand-written rules (wildcards, case partners, XML-special characters whose entities the
  add-on keeps) and every corpus rule are proven on generated events, or refused with the reason
  (``Filename``); never "differs".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from converter.checking.checker import Checker
from converter.generate.generator import generate_events
from converter.mapping.loader import companion_tables, load_table
from helpers import load_one, to_query
from test_mappings_beyond import _flat, raw
from test_mappings_corpus import documented_functions, schema_problems
from test_mappings_splunk_apps import captured_fields

ROOT = Path(__file__).resolve().parents[3]
CORPUS_RULES = ROOT.parent / "shared" / "corpus" / "sigmahq" / "rules"

RULE = """
title: credential dumpers detected
id: ae111111-2222-3333-4444-555555555555
logsource: {category: antivirus}
detection:
    selection:
        - Signature|startswith: 'PWS'
        - Signature|contains: ['Mimikatz', 'Kelvin', 'A&B<C>']
    filter:
        Signature|endswith: ':Test'
    condition: selection and not filter
"""


def test_table_joins_the_splunk_pipeline_with_a_valid_schema() -> None:
    assert "splunk-antivirus" in companion_tables("splunk-sysmon")
    assert load_table("splunk-antivirus").extends == "splunk-sysmon"
    assert schema_problems(raw("splunk-antivirus"), documented_functions()) == []


def test_every_target_is_a_data_element_of_the_detection_record() -> None:
    known = captured_fields()["splunk-antivirus"]
    entry, = raw("splunk-antivirus")["logsources"]
    targets = {t for spec in entry["fields"].values() for t in _flat(spec)} | set(entry["conditions"]) - {"source"}
    assert targets and targets <= known, sorted(targets - known)


def test_query_selects_the_detection_events_of_the_defender_channel() -> None:
    query = to_query("splunk", RULE, None)
    assert query.startswith('source="XmlWinEventLog:Microsoft-Windows-Windows Defender/Operational"'), query
    assert 'EventCode IN ("1116", "1117")' in query and "Threat_Name" in query
    assert "Signature" not in query


def test_rule_is_proven_on_generated_events() -> None:
    rule = load_one(RULE)
    events = generate_events(rule.rule)
    assert events
    result = Checker(["splunk"]).check(rule, events).targets["splunk"]
    assert result.equivalent, (result.reason, result.disagreements[:2])


def test_detected_file_is_refused_with_the_reason() -> None:
    text = RULE.replace("Signature|endswith: ':Test'", "Filename|endswith: '.exe'")
    reason = Checker(["splunk"]).check(load_one(text), []).targets["splunk"].reason or ""
    assert "not converted" in reason and "Filename" in reason and "Path" in reason


@pytest.mark.skipif(not CORPUS_RULES.is_dir(), reason="../shared/corpus is absent")
def test_every_corpus_rule_is_proven_or_refused_for_filename() -> None:
    paths = sorted((CORPUS_RULES / "category" / "antivirus").glob("*.yml"))
    assert paths
    checker = Checker(["splunk"])
    proven = 0
    for path in paths:
        loaded = load_one(path.read_text("utf-8"), path.name)
        result = checker.check(loaded, generate_events(loaded.rule)).targets["splunk"]
        assert result.equivalent or "Filename" in (result.reason or ""), (path.name, result.reason)
        proven += bool(result.equivalent)
    assert proven == len(paths) - 1
