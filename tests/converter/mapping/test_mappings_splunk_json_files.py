"""Products' own JSON log files on the `splunk` target (``splunk-opencanary``, ``splunk-bitbucket``).

No Splunk add-on covers OpenCanary or Bitbucket; their JSON log files are indexed with Splunk's
pretrained ``_json`` sourcetype, which names each field by the key's dotted path.

* the tables join the `splunk` pipeline with a valid schema, and every target is a key of the
  record the product writes (captured from its source or test file in ``tests/data/splunk_fields.yml``);
* the query selects the product's default log file(s) indexed as ``_json`` and tests the keys;
* proof: hand-written rules over several keys (numbers, CIDR, wildcards, case) and every corpus
  rule of the logsources are proven on generated events; never "differs".
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
TABLES = ("splunk-opencanary", "splunk-bitbucket")
FOLDERS = ("application/opencanary", "application/bitbucket")

OPENCANARY_RULE = """
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

BITBUCKET_RULE = """
title: bitbucket export or permission change outside the api
id: ad111111-2222-3333-4444-555555555555
logsource: {product: bitbucket, service: audit}
detection:
    selection:
        auditType.category: ['Global administration', 'Permissions']
        auditType.action|contains: ['export', 'granted']
    filter:
        method: 'API*'
    condition: selection and not filter
"""


@pytest.mark.parametrize("name", TABLES)
def test_table_joins_the_splunk_pipeline_with_a_valid_schema(name: str) -> None:
    assert name in companion_tables("splunk-sysmon")
    assert load_table(name).extends == "splunk-sysmon"
    assert schema_problems(raw(name), documented_functions()) == []


@pytest.mark.parametrize("name", TABLES)
def test_every_target_is_a_key_of_the_record(name: str) -> None:
    known = captured_fields()[name]
    targets = {t for entry in raw(name)["logsources"]
               for spec in (entry.get("fields") or {}).values() for t in _flat(spec)}
    assert targets and targets <= known, sorted(targets - known)


@pytest.mark.parametrize("text,selector,names", [
    (OPENCANARY_RULE, 'source="/var/tmp/opencanary.log" sourcetype="_json"',
     ("logtype IN", "dst_port IN", "src_host=", "node_id=")),
    (BITBUCKET_RULE, 'source="/var/atlassian/application-data/bitbucket/log/audit/*.log" sourcetype="_json"',
     ("'auditType.category'", "auditType.action IN", "'method'")),
])
def test_query_selects_the_log_files_indexed_as_json(text: str, selector: str, names: tuple) -> None:
    query = to_query("splunk", text, None)
    assert query.startswith(selector), query
    for name in names:
        assert name in query


@pytest.mark.parametrize("text", [OPENCANARY_RULE, BITBUCKET_RULE])
def test_rule_is_proven_on_generated_events(text: str) -> None:
    rule = load_one(text)
    events = generate_events(rule.rule)
    assert events
    result = Checker(["splunk"]).check(rule, events).targets["splunk"]
    assert result.equivalent, (result.reason, result.disagreements[:2])


@pytest.mark.skipif(not CORPUS_RULES.is_dir(), reason="../shared/corpus is absent")
@pytest.mark.parametrize("folder", FOLDERS)
def test_every_corpus_rule_is_proven(folder: str) -> None:
    paths = sorted((CORPUS_RULES / folder).rglob("*.y*ml"))
    assert paths
    checker = Checker(["splunk"])
    for path in paths:
        loaded = load_one(path.read_text("utf-8"), path.name)
        result = checker.check(loaded, generate_events(loaded.rule)).targets["splunk"]
        assert result.equivalent, (path.name, result.reason)
