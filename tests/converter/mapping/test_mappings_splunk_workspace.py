"""Google Workspace Admin and Login audit events on the `splunk` target (``splunk-google-workspace``).

* the table joins the `splunk` pipeline with a valid schema (its targets are checked against the
  security_content data sources in ``test_mappings_beyond.py``);
* the query selects the add-on's sourcetype and the Reports API application, and reads the event
  name; the service is the application name (a vocabulary of one value);
* proof: hand-written rules and the corpus rules are proven or refused with the reason; a rule that
  does not name the service is "not proven" (an event without the service is no record of the
  logsource), never "differs".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from converter.checking.checker import Checker
from converter.generate.generator import generate_events
from converter.mapping.loader import companion_tables, load_table
from helpers import load_one, to_query
from test_mappings_beyond import raw
from test_mappings_corpus import documented_functions, schema_problems

ROOT = Path(__file__).resolve().parents[3]
CORPUS_RULES = ROOT.parent / "shared" / "corpus" / "sigmahq" / "rules"

ADMIN_RULE = """
title: workspace application removed
id: b1111111-2222-3333-4444-555555555556
logsource: {product: gcp, service: google_workspace.admin}
detection:
    selection:
        eventService: admin.googleapis.com
        eventName: [REMOVE_APPLICATION, 'REMOVE_APPLICATION_FROM_WHITELIST']
    condition: selection
"""

LOGIN_RULE = """
title: workspace suspicious login
id: b2111111-2222-3333-4444-555555555556
logsource: {product: gcp, service: google_workspace.login}
detection:
    selection:
        protoPayload.serviceName: login.googleapis.com
        protoPayload.metadata.event.eventName|startswith: suspicious_
    condition: selection
"""


def test_table_joins_the_splunk_pipeline_with_a_valid_schema() -> None:
    assert "splunk-google-workspace" in companion_tables("splunk-sysmon")
    assert load_table("splunk-google-workspace").extends == "splunk-sysmon"
    assert schema_problems(raw("splunk-google-workspace"), documented_functions()) == []


@pytest.mark.parametrize("text,application", [(ADMIN_RULE, "admin"), (LOGIN_RULE, "login")])
def test_query_reads_the_application_and_the_event_name(text: str, application: str) -> None:
    query = to_query("splunk", text, None)
    assert query.startswith(f'sourcetype="gws:reports:admin" id.applicationName="{application}"'), query
    assert "event.name" in query and "eventService" not in query and "protoPayload" not in query


@pytest.mark.parametrize("text", [ADMIN_RULE, LOGIN_RULE])
def test_rule_is_proven_on_generated_events(text: str) -> None:
    rule = load_one(text)
    result = Checker(["splunk"]).check(rule, generate_events(rule.rule)).targets["splunk"]
    assert result.equivalent, (result.reason, result.disagreements[:2])


def test_rule_without_the_service_is_not_proven_and_never_differs() -> None:
    rule = load_one(ADMIN_RULE.replace("        eventService: admin.googleapis.com\n", ""))
    result = Checker(["splunk"]).check(rule, generate_events(rule.rule)).targets["splunk"]
    assert not result.equivalent and not result.disagreements, result.reason


@pytest.mark.skipif(not CORPUS_RULES.is_dir(), reason="../shared/corpus is absent")
def test_corpus_rules_are_proven_or_refused_for_parameters() -> None:
    paths = sorted((CORPUS_RULES / "cloud" / "gcp" / "gworkspace").rglob("*.yml"))
    assert paths
    checker = Checker(["splunk"])
    proven = 0
    for path in paths:
        loaded = load_one(path.read_text("utf-8"), path.name)
        result = checker.check(loaded, generate_events(loaded.rule)).targets["splunk"]
        assert result.equivalent or (result.reason or "").startswith("not converted"), (path.name, result.reason)
        proven += bool(result.equivalent)
    assert proven == 7
