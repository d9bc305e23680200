"""Backtest evaluation engine: one per worker, every rule and query compiled once.

Per event (``Engine.run`` over a batch):

* routing: the rules of the event's logsource, decided once per (``Channel``, ``EventID``) pair;
  rules with the same members share one routing group;
* the reference side: ``converter.ruleindex.index.RuleIndex`` evaluates only the rules whose required
  literals occur in the event (the same verdicts as evaluating them all);
* the target side: the event is rendered once per target schema (``ecs``, ``splunk-sysmon``, ...),
  and each target's query tree is evaluated only when the literals it needs
  (``converter.backtesting.needs``) occur in the rendered event, through a ``LiteralIndex``;
* a reference hit whose target query was ruled out is a disagreement too (explained).

With ``prefilter=False`` every rule and query of the logsource is evaluated; the counts are the
same (tests/converter/backtesting/test_backtest.py checks it).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Optional

from converter.backtesting.needs import tree_form, tree_texts
from converter.backtesting.prepare import BacktestOptions, PreparedRule, checker_for
from converter.reference.evaluator import CompiledRule, compile_rule
from converter.ruleindex.index import LiteralIndex, RuleIndex
from converter.ruleindex.needs import Condition, Form, conditions_of

#: Distinct (Channel, EventID) routing keys remembered; beyond it membership is recomputed.
ROUTE_MEMO = 4096


def _tree_lookup(event: dict[str, Any]) -> Any:
    """``texts(field, cased)`` for a ``LiteralIndex`` over query trees on a rendered event."""

    def texts(name: str, cased: bool) -> tuple[str, ...]:
        found = tree_texts(event, name)
        return tuple(found) if cased else tuple(t.lower() for t in found)

    return texts


class _Group:
    """The rules of one set of logsources, with the candidate index of each target schema."""

    def __init__(self, engine: Engine, members: tuple[int, ...]) -> None:
        self.members = members
        # schema -> (renderer, index over (rule, target) slots, slots by rule)
        self.schemas: dict[Any, tuple[Any, LiteralIndex[tuple[int, str]],
                                      dict[int, list[str]]]] = {}
        for schema, renderer in engine.renderers.items():
            items: list[tuple[tuple[int, str], Optional[Condition]]] = []
            by_rule: dict[int, list[str]] = {}
            for i in members:
                names = [t for t in engine.trees[i] if engine.schema_of[t] == schema]
                for t in names:
                    items.append(((i, t), engine.tree_conditions[(i, t)]))
                if names:
                    by_rule[i] = names
            if items:
                self.schemas[schema] = (renderer, LiteralIndex(items), by_rule)


class Engine:
    """Every rule and query compiled once; evaluates batches of events into count deltas."""

    def __init__(self, prepared: list[PreparedRule], options: BacktestOptions) -> None:
        from backends.query.evaluate import compile_query

        checker = checker_for(options)
        self.max_examples = options.max_examples
        prefilter = options.prefilter
        self.compiled: list[CompiledRule | None] = []
        self.compile_failed: dict[tuple[int, str], str] = {}
        self.trees: list[dict[str, Any]] = []  # rule -> target -> tree
        self.preds: dict[tuple[int, str], Any] = {}
        self.renderers: dict[Any, Any] = {}
        self.schema_of: dict[str, Any] = {}
        for name, renderer in checker.renderers.items():
            key = (renderer.table.name, renderer.data_source)
            self.renderers.setdefault(key, renderer)
            self.schema_of[name] = key
        tree_forms: list[tuple[tuple[int, str], Form]] = []
        for i, item in enumerate(prepared):
            compiled = compile_rule(item.rule) if item.rule is not None else None
            self.compiled.append(compiled)
            trees = {}
            for name, target in item.targets.items():
                if target.tree is None:
                    continue
                try:
                    self.preds[(i, name)] = compile_query(target.tree)
                except Exception as exc:  # noqa: BLE001 - PatternSyntaxError and the like
                    reason = f"not checked: the evaluator cannot compile the query: {exc}"
                    self.compile_failed[(i, name)] = reason
                    continue
                trees[name] = target.tree
                if prefilter:
                    tree_forms.append(((i, name), tree_form(target.tree)))
            self.trees.append(trees)
        # A rule that did not load stands in as an unsupported rule: never a candidate.
        self.reference = RuleIndex.build(
            [c if c is not None else CompiledRule(None, item.title, "-", "not loaded", None, None)
             for c, item in zip(self.compiled, prepared)],
            prefilter=prefilter,
        )
        self.tree_conditions: dict[tuple[int, str], Optional[Condition]] = {
            (i, t): None for i, trees in enumerate(self.trees) for t in trees
        }
        found = conditions_of([f for _, f in tree_forms])
        self.tree_conditions.update({slot: c for (slot, _), c in zip(tree_forms, found)})
        self.routes: dict[Any, _Group | None] = {}
        self.groups: dict[tuple[int, ...], _Group] = {}
        self.failed: set[tuple[int, str]] = set()

    def _group(self, event: dict[str, Any]) -> _Group | None:
        """The routing group of an event, decided once per (Channel, EventID)."""
        key = (event.get("Channel"), event.get("EventID"))
        try:
            return self.routes[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable Channel/EventID: decide for this event alone
            return self._members_group(event)
        group = self._members_group(event)
        if len(self.routes) < ROUTE_MEMO:
            self.routes[key] = group
        return group

    def _members_group(self, event: dict[str, Any]) -> _Group | None:
        members = tuple(
            i for i, c in enumerate(self.compiled) if c is not None and c.in_logsource(event)
        )
        if not members:
            return None
        if members not in self.groups:
            self.groups[members] = _Group(self, members)
        return self.groups[members]

    def run(self, batch: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
        """Evaluate a batch; return ``{"events", "routed": {rule: n}, "ref": {rule: hits},
        "hits": {(rule, t): n}, "dis": {(rule, t): [count, examples]}, "failed": {...},
        "undecided": {rule or (rule, t): [count, first event, reason]}}``."""
        delta: dict[str, Any] = {"events": len(batch), "routed": Counter(), "ref": Counter(),
                                 "hits": Counter(), "dis": {}, "failed": dict(self.compile_failed),
                                 "render_errors": {}, "undecided": {}}
        for source, event in batch:
            group = self._group(event)
            if group is not None:
                self._event(group, source, event, delta)
        return delta

    def _event(self, group: _Group, source: str, event: dict[str, Any], delta: dict) -> None:
        from backends.query.errors import QueryError
        from backends.query.evaluate import explain
        from backends.query.patterns import MatchTimeout

        delta["routed"].update(group.members)
        undecided: dict[int, Any] = {}
        matched = set(self.reference.matches(event, undecided))
        delta["ref"].update(matched)
        for i, verdict in undecided.items():  # counted, never a silent non-match
            _undecided(delta, i, source, verdict.unsupported)
        for _schema, (renderer, index, by_rule) in group.schemas.items():
            try:
                rendered = renderer.render(event)
                why = (f"the {renderer.table.schema} data has no such event: no logsource "
                       f"of mapping table {renderer.table.name} covers its EventID/Channel")
            except ValueError as exc:
                # A value the shipper could not write (e.g. an integrity level outside Elastic
                # Defend's vocabulary): no target of this schema sees the event.
                rendered = None
                why = f"the event cannot be rendered for {renderer.table.name}: {exc}"
                entry = delta["render_errors"].setdefault(renderer.table.name,
                                                          [0, source, str(exc)])
                entry[0] += 1
            if rendered is None:
                for i in matched & by_rule.keys():
                    for t in by_rule[i]:
                        self._disagree(delta, (i, t), source, True, False, why)
                continue
            candidates = index.candidates(_tree_lookup(rendered))
            for slot in candidates:
                if slot in self.failed:
                    continue
                try:
                    hit = self.preds[slot](rendered) is True
                except MatchTimeout as exc:  # this event is undecided; later ones still count
                    _undecided(delta, slot, source, str(exc))
                    continue
                except QueryError as exc:
                    self.failed.add(slot)
                    delta["failed"][slot] = f"not checked: evaluating event {source} failed: {exc}"
                    continue
                if hit:
                    delta["hits"][slot] += 1
                if (hit != (slot[0] in matched) and self._reference_ok(slot[0])
                        and slot[0] not in undecided):
                    tree = self.trees[slot[0]][slot[1]]
                    self._disagree(delta, slot, source, not hit, hit, explain(tree, rendered))
            for i in matched & by_rule.keys():  # reference hits the prefilter ruled out
                for t in by_rule[i]:
                    if (i, t) not in candidates and (i, t) not in self.failed:
                        why = explain(self.trees[i][t], rendered)
                        self._disagree(delta, (i, t), source, True, False, why)

    def _reference_ok(self, i: int) -> bool:
        compiled = self.compiled[i]
        return compiled is not None and compiled.unsupported is None

    def _disagree(self, delta: dict, slot: tuple[int, str], source: str, ref: bool, hit: bool,
                  why: str) -> None:
        entry = delta["dis"].setdefault(slot, [0, []])
        entry[0] += 1
        if len(entry[1]) < self.max_examples:
            entry[1].append({"event": source, "reference": ref, "target": hit, "why": why})


def _undecided(delta: dict, key: int | tuple[int, str], source: str, reason: str) -> None:
    """Count one event whose verdict (of rule ``key`` or slot ``key``) ran past the time limit."""
    entry = delta["undecided"].setdefault(key, [0, source, reason])
    entry[0] += 1


_WORKER: dict[str, Engine] = {}


def init_worker(prepared: list[PreparedRule], options: BacktestOptions) -> None:
    """Pool initializer: compile every rule and query once in this worker."""
    _WORKER["engine"] = Engine(prepared, options)


def run_batch(batch: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Pool task: evaluate one batch in this worker's engine."""
    return _WORKER["engine"].run(batch)
