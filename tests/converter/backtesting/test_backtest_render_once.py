"""With several shards the parent renders each event once for every target schema
(``renderings.render_schemas``) and the shards read those renderings: the counts, disagreements and
render errors are the ones each shard finds rendering the events itself."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from converter.backtesting.engine import Engine
from converter.backtesting.renderings import render_schemas, schema_renderers
from converter.backtesting.prepare import BacktestOptions, checker_for, load, rules_store
from converter.backtesting.run import BATCH_SIZE, run_backtest
from helpers import SYSMON, WHOAMI_RULE
from helpers import sysmon_process as _proc

KEYWORD = """\
title: Whoami Keyword
id: 33333333-3333-4333-8333-333333333333
status: test
logsource: {product: windows, category: process_creation}
detection:
  keywords: ['WHOAMI /ALL']
  condition: keywords
level: low
"""


EVENTS = [
    _proc("C:\\Windows\\System32\\whoami.exe", "C:\\Windows\\System32\\cmd.exe", "whoami /all"),
    _proc("C:\\Windows\\System32\\WHOAMI.EXE", "C:\\Windows\\System32\\CMD.exe", "WHOAMI"),
    _proc("C:\\Windows\\System32\\whoami.exe", "C:\\Windows\\System32\\cmd.exe", "whoami /help"),
    # Elastic Defend has no such integrity level: the ECS schema cannot render the event.
    _proc("C:\\Windows\\System32\\whoami.exe", "C:\\Windows\\System32\\cmd.exe", "whoami",
          IntegrityLevel="AppContainer"),
    {"EventID": 13, "Channel": SYSMON, "EventType": "SetValue", "Image": "C:\\reg.exe",
     "TargetObject": "HKLM\\Software\\Other", "Details": "1"},
]
TARGETS = ["eql", "kql", "splunk", "splunk-cim", "kusto"]


def _rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "whoami.yml").write_text(WHOAMI_RULE)
    (rules / "keyword.yml").write_text(KEYWORD)
    return rules


def test_two_shards_with_parent_renderings_count_like_one(tmp_path: Path) -> None:
    rules = _rules(tmp_path)
    events = tmp_path / "events.jsonl"
    lines = [json.dumps(EVENTS[i % len(EVENTS)]) for i in range(BATCH_SIZE * 2 + 3)]
    events.write_text("\n".join(lines) + "\n")
    one = run_backtest([rules], [events], targets=TARGETS, workers=1, cache=False).to_json()
    two = run_backtest([rules], [events], targets=TARGETS, workers=2, cache=False).to_json()
    assert one["rules"] == two["rules"]
    assert one["render_errors"] == two["render_errors"]
    assert two["render_errors"]["ecs-windows"]["events"] == (BATCH_SIZE * 2 + 3) // len(EVENTS)
    assert "render" in two["phases_s"] and "render" not in one["phases_s"]


def test_an_engine_reads_the_given_renderings(tmp_path: Path) -> None:
    """The same delta from renderings made beforehand as from rendering in the engine, and the
    engine renders nothing itself when they are given."""
    options = BacktestOptions(tuple(TARGETS), (), None, None, 5, True, False)
    checker = checker_for(options)
    options = replace(options, targets=tuple(checker.targets))
    rules = str(_rules(tmp_path))
    batch = [(f"e{i}", dict(event)) for i, event in enumerate(EVENTS)]
    # Each engine prepares its own loaded rules (as each shard process does).
    plain = Engine(load([rules], rules_store(options)), options, checker=checker).run(batch)
    renderers, _ = schema_renderers(checker)
    given = [(source, event, render_schemas(renderers, event)) for source, event in batch]
    calls: list[Any] = []
    for renderer in renderers.values():
        renderer.render = lambda event, calls=calls: calls.append(event)  # type: ignore[method-assign]
    from_parent = Engine(load([rules], rules_store(options)), options, checker=checker).run(given)
    assert not calls
    for key in ("routed", "ref", "hits", "dis", "render_errors", "undecided", "unrendered",
                "declared", "failed"):
        assert plain[key] == from_parent[key], key
    assert plain["render_errors"]["ecs-windows"][0] == {3: "e3"}


def test_the_parent_renders_only_the_schemas_parsed_targets_need(tmp_path: Path) -> None:
    """Once the shards have prepared every rule an event's logsource reaches, the parent renders
    it only in the schemas of those rules' parsed targets (``run._Needed``); before, in all."""
    from converter.backtesting.prepare import PreparedTarget
    from converter.backtesting.run import _Needed

    options = BacktestOptions(tuple(TARGETS), (), None, None, 5, True, False)
    checker = checker_for(options)
    renderers, schema_of = schema_renderers(checker)
    rules = load([str(_rules(tmp_path))], rules_store(options))
    needed = _Needed(rules, schema_of, renderers)
    process, registry = EVENTS[0], EVENTS[-1]
    assert needed(process) == frozenset(renderers)  # not prepared yet: every schema
    for item in rules:  # as the merger records the shards' summaries
        item.prepared = True
        item.targets = {"eql": PreparedTarget("q", interpreted=True),
                        "splunk": PreparedTarget(None, reason="refused")}
    assert needed(process) == {schema_of["eql"]}
    assert needed(registry) == frozenset()  # no rule's logsource reaches it
    rules[0].targets["kusto"] = PreparedTarget("q", interpreted=True)  # decided once per key
    assert needed(process) == {schema_of["eql"]}
    assert set(render_schemas(renderers, process, needed(process))) == {schema_of["eql"]}


def test_schemas_share_one_record_text() -> None:
    """The record text several schemas hold (Splunk's ``_raw`` in ``splunk`` and ``splunk-cim``)
    is written once per event and shared, so it is pickled to the shards once; the text is the
    one each renderer writes alone, and another event (or another ``libxml2``) gets its own."""
    from converter.events.record_xml import one_record, raw_xml

    options = BacktestOptions(tuple(TARGETS), (), None, None, 5, True, False)
    renderers, schema_of = schema_renderers(checker_for(options))
    splunk, cim = schema_of["splunk"], schema_of["splunk-cim"]
    for event in EVENTS[:3]:
        out = render_schemas(renderers, event)
        assert out[splunk]["_raw"] is out[cim]["_raw"]
        assert out[splunk]["_raw"] == renderers[splunk].render(event)["_raw"]
        assert out[cim] == renderers[cim].render(event)
    first, second = dict(EVENTS[0]), dict(EVENTS[1])
    with one_record():
        texts = [raw_xml(first), raw_xml(second), raw_xml(first, libxml2=True), raw_xml(first)]
    assert texts == [raw_xml(first), raw_xml(second), raw_xml(first, libxml2=True), raw_xml(first)]
    assert texts[0] != texts[1]
