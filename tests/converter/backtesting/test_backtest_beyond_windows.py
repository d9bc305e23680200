"""Backtest on events of the non-Windows logsources, whose tables extend a target's base table
(``ecs-okta``, ``splunk-cloud``, ...): the events reach the targets as in ``check``. Before, the
backtest's renderer consulted the base table only, so every such event was one "the data cannot
hold" and every target "not checked" (hits 0) for every Okta, CloudTrail, GCP, ... rule."""

from __future__ import annotations

import json
from pathlib import Path

from converter.backtesting.run import run_backtest
from converter.checking.checker import Checker
from converter.events.render import SampleEvent
from helpers import load_one

OKTA = """\
title: Okta session from a proxy
id: 77777777-7777-4777-8777-777777777771
status: test
logsource: {product: okta, service: okta}
detection:
  selection:
    eventType|startswith: 'user.session.'
    securityContext.isProxy: true
  condition: selection
level: low
"""

TRAIL = """\
title: Trail stopped by an assumed role
id: 77777777-7777-4777-8777-777777777772
status: test
logsource: {product: aws, service: cloudtrail}
detection:
  selection:
    eventSource: cloudtrail.amazonaws.com
    eventName: [StopLogging, DeleteTrail]
    userIdentity.type: AssumedRole
  condition: selection
level: low
"""

EVENTS = [
    {"Channel": "okta/okta", "eventType": "user.session.start", "securityContext": {"isProxy": True}},
    {"Channel": "okta/okta", "eventType": "USER.SESSION.END", "securityContext": {"isProxy": True}},
    {"Channel": "okta/okta", "eventType": "user.session.start", "securityContext": {"isProxy": False}},
    {"Channel": "aws/cloudtrail", "eventSource": "cloudtrail.amazonaws.com",
     "eventName": "StopLogging", "userIdentity": {"type": "AssumedRole"}},
    {"Channel": "aws/cloudtrail", "eventSource": "cloudtrail.amazonaws.com",
     "eventName": "DeleteTrail", "userIdentity": {"type": "Root"}},
]
TARGETS = ["eql", "splunk", "kusto"]


def test_backtest_evaluates_non_windows_events_as_check_does(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "okta.yml").write_text(OKTA)
    (rules / "trail.yml").write_text(TRAIL)
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(e) for e in EVENTS) + "\n")
    report = {r["id"]: r for r in run_backtest([rules], [events], targets=TARGETS,
                                                    workers=1).to_json()["rules"]}
    checker = Checker(TARGETS)
    samples = [SampleEvent(e) for e in EVENTS]
    for text in (OKTA, TRAIL):
        loaded = load_one(text)
        checked = checker.check(loaded, samples)
        got = report[loaded.id]
        assert got["reference"]["hits"] == len(checked.reference_matched) > 0
        for name in TARGETS:
            outcome, tally = checked.targets[name], got["targets"][name]
            if outcome.query is None:  # refused on this target, in both commands
                continue
            assert tally["hits"] == len(outcome.matched), (loaded.title, name, tally)
            assert tally["equivalent"] is outcome.equivalent, (loaded.title, name, tally)
        assert got["targets"]["splunk"]["equivalent"] is True
