"""OpenCanary's JSON log on the `splunk` target (``splunk-opencanary``).

* the table joins the `splunk` pipeline with a valid schema, and every target is a key of the
  record OpenCanary writes (captured from its logger.py in ``tests/data/splunk_fields.yml``);
* the query selects the daemon's default log file indexed as ``_json`` and tests the record's keys;
* proof: a hand-written rule over several keys (numbers, CIDR, wildcards) and every corpus rule
  of the logsource are proven on generated events; never "differs".
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
title: canary login attempts from outside the lab
id: ac111111-2222-3333-4444-555555555555
logsource: {product: opencanary, category: application}
detection:
    selection:
        logtype: [2000, 4002, 6001]
        dst_port: [21, 22, 23]
    filter:
        src_host|cidr: '10.0.0.0/8'
    lab:
        node_id|startswith: 'lab-'
    condition: selection and not filter and not lab
"""


def test_table_joins_the_splunk_pipeline_with_a_valid_schema() -> None:
    assert "splunk-opencanary" in companion_tables("splunk-sysmon")
    assert load_table("splunk-opencanary").extends == "splunk-sysmon"
    assert schema_problems(raw("splunk-opencanary"), documented_functions()) == []


def test_every_target_is_a_key_of_the_opencanary_record() -> None:
    known = captured_fields()["splunk-opencanary"]
    targets = {t for entry in raw("splunk-opencanary")["logsources"]
               for spec in (entry.get("fields") or {}).values() for t in _flat(spec)}
    assert targets and targets <= known, sorted(targets - known)


def test_query_selects_the_log_file_indexed_as_json() -> None:
    query = to_query("splunk", RULE, None)
    assert query.startswith('source="/var/tmp/opencanary.log" sourcetype="_json"'), query
    for name in ("logtype IN", "dst_port IN", "src_host=", "node_id="):
        assert name in query


def test_rule_is_proven_on_generated_events() -> None:
    rule = load_one(RULE)
    events = generate_events(rule.rule)
    assert events
    result = Checker(["splunk"]).check(rule, events).targets["splunk"]
    assert result.equivalent, (result.reason, result.disagreements[:2])


@pytest.mark.skipif(not CORPUS_RULES.is_dir(), reason="../shared/corpus is absent")
def test_every_corpus_rule_is_proven() -> None:
    paths = sorted((CORPUS_RULES / "application" / "opencanary").rglob("*.y*ml"))
    assert paths
    checker = Checker(["splunk"])
    for path in paths:
        loaded = load_one(path.read_text("utf-8"), path.name)
        result = checker.check(loaded, generate_events(loaded.rule)).targets["splunk"]
        assert result.equivalent, (path.name, result.reason)
