"""Backtest evaluation engine: a shard of the rules, each rule prepared the first time it is reached.

An engine owns the rules whose position ``i`` has ``i % shards == shard`` (every rule belongs to
exactly one engine, so each rule/target pair is converted, parsed and compiled once in the whole
run, never once per worker). Per event (``Engine.run`` over a batch):

* routing: the owned rules of the event's logsource, decided once per (``Channel``, ``EventID``)
  pair; rules with the same members share one routing group. A rule no event reaches costs its
  logsource routing only;
* the first time a group is seen, its members not yet prepared are prepared
  (``converter.backtesting.prepare.prepare_rule``: the reference compiled, every target converted and
  parsed, and the necessary clauses of each target tree and of the reference derived, each
  rule on its own: ``converter.backtesting.needs``, ``converter.ruleindex.needs.own_clauses``);
  with the persistent cache, the rule's entry holds them, and a tree stays pickled until it is
  compiled or explains a disagreement (most never are). Per group, the literals each tree and
  rule is filed under are chosen among those clauses (``choose_conditions``: the most
  selective, leaving out literals most of the group's trees of a target test, which hold on
  nearly every event the group routes), so nothing derived depends on which rules were
  prepared or routed together, nor on the number of shards;
* the reference side: a ``converter.ruleindex.RuleIndex`` over the group evaluates only the rules
  whose required literals occur in the event (the same verdicts as evaluating them all);
* the target side: the event is rendered once per target schema (``ecs``, ``splunk-sysmon``, ...;
  with several shards, once by the parent for all of them: ``render_schemas``), and each target's query tree is evaluated only when the literals *its own* tree needs occur in
  the rendered event, through a ``LiteralIndex``; a tree is compiled the first time an event gets
  past that filter (a tree no event gets past needs no compiling: the filter already proves it
  false on every event; with the persistent cache, the regex translations the compilation of a
  group's trees used are kept per group and read back by a later run, ``_pred``). The targets of a
  schema read one ``indexed.Event`` view of the rendered event: each field is looked up once, and a leaf several targets' trees hold is decided once;
* a reference hit whose target query was ruled out is a disagreement too (explained).

With ``prefilter=False`` every rule and query of the logsource is evaluated; the counts are the
same (tests/test_backtest.py checks it).
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from typing import Any, Callable, Mapping, Optional

from converter.backtesting.needs import coarse_fold, tree_texts, use_prebuilt_coarse_table
from converter.backtesting.prepare import (
    BacktestOptions, PreparedRule, PreparedTarget, backtest_store, checker_for, compile_reference,
    prepare_rule, routing,
)
from converter.backtesting.renderings import Renderings, rendered_for, schema_renderers
from converter.checking.dropped import WRITTEN_ALIKE
from converter.reference.evaluator import CompiledRule, Verdict
from converter.reference.fields import FoldCache
from converter.reference.values import Undecided
from converter.ruleindex.index import LiteralIndex, RuleIndex
from converter.ruleindex.needs import ANY_FIELD, Condition, choose_conditions

#: Why an event counted under ``declared`` is no disagreement (worded as ``check`` words it).
DECLARED = WRITTEN_ALIKE

#: Distinct (Channel, EventID) routing keys remembered; beyond it membership is recomputed.
ROUTE_MEMO = 4096

Slot = tuple[int, str]


def before_fork(store: Any = None) -> None:
    """Build in the parent, before its shards fork, what each shard would otherwise build alone
    on its first events: the evaluator's modules and the prefilter's case-folding table (all
    Windows, warm, 2 shards: about 0.2-0.3 CPU s of each shard's, spent once instead), the
    table read back from ``store`` (the persistent cache's prebuilt values, None when it is
    off) when an earlier run built it."""
    import backends.query.errors  # noqa: F401 - imported for the shards (see above)
    import backends.query.evaluate  # noqa: F401
    import backends.query.explain  # noqa: F401
    import backends.query.indexed  # noqa: F401

    use_prebuilt_coarse_table(store)


def _tree_lookup(event: dict[str, Any]) -> Any:
    """``texts(field, cased)`` for a ``LiteralIndex`` over query trees on a rendered event."""

    def texts(name: str, cased: bool) -> tuple[str, ...]:
        found = tree_texts(event, name)
        return tuple(found) if cased else tuple(coarse_fold(t) for t in found)

    return texts


def tree_candidates(index: LiteralIndex[Any], view: Any) -> set[Any]:
    """The slots of ``index`` (built with ``folding=coarse_fold``) worth evaluating on a
    rendered event's ``indexed.Event`` view: ``index.candidates(_tree_lookup(view))``, with a
    field that holds one string read as that text itself (``scalar_text`` of a string is the
    string), so the index finds its literals by the raw text without copying or folding it."""
    values_of = view.values_of

    def raw(name: str) -> Any:
        if name != ANY_FIELD:
            values = values_of(name)
            if values is None:
                return None
            if len(values) == 1 and type(values[0]) is str:
                return values[0]
        return tree_texts(view, name)

    return index.candidates_of(raw)


class _LazyReference(CompiledRule):
    """Stands for a prepared rule's compiled reference in a group's ``RuleIndex`` until the
    index first makes it a candidate (``Engine.reference`` then compiles it): an event reaches
    most rules without any being a candidate. ``unsupported`` is the entry's (the compiled
    rule's own, kept by an earlier run)."""

    __slots__ = ("engine", "position")

    def __init__(self, engine: Engine, position: int, unsupported: str | None) -> None:
        super().__init__(None, "", "", unsupported, None,
                         self._detection if unsupported is None else None)
        self.engine = engine
        self.position = position

    def _detection(self, event: Mapping[str, Any], cache: FoldCache) -> bool:
        detection = self.engine.reference(self.position).detection
        assert detection is not None  # the same code compiled the entry's rule supported
        return detection(event, cache)

    def undecided(self, error: Undecided) -> Verdict:
        """The compiled rule's verdict for a match past the time limit."""
        return self.engine.reference(self.position).undecided(error)


class _Group:
    """The owned rules of one set of logsources: the reference index and, per target schema,
    the candidate index of the target trees."""

    def __init__(self, engine: Engine, members: tuple[int, ...]) -> None:
        self.members = members
        # The reference over the members alone: positions in `members` map back to rules.
        self.reference = engine.reference_index(members)
        #: The regex translations the compilation of the group's trees used (``Engine._pred``)
        #: and the persistent cache's name for them (None: no cache).
        self.translations: dict[Any, Any] = {}
        self.translations_key: str | None = None
        #: The condition each slot is filed under (None: a candidate on every event).
        self.conditions: dict[Slot, Optional[Condition]] = {}
        # schema -> (renderer, index over (rule, target) slots, slots by rule)
        self.schemas: dict[Any, tuple[Any, LiteralIndex, dict[int, list[str]]]] = {}
        for schema, renderer in engine.renderers.items():
            by_target: dict[str, list[Slot]] = {}
            by_rule = {}
            for i in members:
                names = [t for t in engine.targets[i] if engine.schema_of[t] == schema]
                for t in names:
                    by_target.setdefault(t, []).append((i, t))
                if names:
                    by_rule[i] = names
            # Chosen among the group's trees of one target: a literal most of them test (their
            # logsource's constant: Splunk's source, Kusto's table and ActionType) holds on
            # nearly every event the group routes.
            items: list[tuple[Slot, Optional[Condition]]] = []
            for slots in by_target.values():
                owns = [engine.targets[i][t].clauses if engine.prefilter else None
                        for i, t in slots]
                items.extend(zip(slots, choose_conditions(owns)))
            self.conditions.update(items)
            if items:
                self.schemas[schema] = (renderer, LiteralIndex(items, folding=coarse_fold),
                                        by_rule)


class Engine:
    """One shard of the rules, prepared lazily; evaluates batches of events into count deltas.

    Args:
        rules: every loaded rule of the backtest (``converter.backtesting.prepare.load``).
        options: the backtest's options (targets, pipelines, data source, field model,
            ``max_examples``, ``prefilter``).
        shard: ``(k, n)``: this engine owns the rules at positions ``i % n == k``.
        checker: the ``Checker`` for ``options`` when the caller has one (built otherwise).
    """

    def __init__(self, rules: list[PreparedRule], options: BacktestOptions,
                 shard: tuple[int, int] = (0, 1), checker: Any = None) -> None:
        self.checker = checker if checker is not None else checker_for(options)
        #: The persistent cache of prepared targets (None: off, or no usable directory).
        self.store = backtest_store(options)
        #: The parsed rules, read back for the reference when their targets are.
        self.parsed = backtest_store(options, "backtest-parsed")
        #: Per routing group, the regex translations its trees' compilation used (``_pred``).
        self.patterns = backtest_store(options, "backtest-patterns")
        #: Groups whose translations grew since the last batch (written at its end).
        self.grown: dict[int, _Group] = {}
        self.rules = rules
        self.max_examples = options.max_examples
        self.prefilter = options.prefilter
        k, n = shard
        self.member: dict[int, Callable[[dict[str, Any]], bool]] = {}
        for i in range(k, len(rules), n):
            member, _ = routing(rules[i])
            if member is not None:
                self.member[i] = member
        self.compiled: dict[int, CompiledRule] = {}
        #: rule -> target -> the prepared target that has a query tree
        self.targets: dict[int, dict[str, PreparedTarget]] = {}
        self.preds: dict[Slot, Any] = {}
        self.renderers, self.schema_of = schema_renderers(self.checker)
        self.routes: dict[Any, _Group | None] = {}
        self.groups: dict[tuple[int, ...], _Group] = {}
        self.failed: set[Slot] = set()
        #: Rules prepared since the last batch's delta (the parent needs their summaries).
        self.fresh: list[int] = []
        #: CPU seconds per phase (``prepare_rule``'s, plus ``index``, ``compile``, ``evaluate``).
        self.phases: defaultdict[str, float] = defaultdict(float)

    def prepare(self, members: tuple[int, ...]) -> None:
        """Prepare the members not prepared yet (their trees' and the reference's necessary
        clauses come with them: ``PreparedTarget.clauses``, ``PreparedRule.clauses``)."""
        for i in members:
            if i in self.targets:
                continue
            item = self.rules[i]
            compiled = prepare_rule(item, self.checker, self.phases, self.store, self.parsed)
            if compiled is not None:  # else read back: compiled when first a candidate
                self.compiled[i] = compiled
            self.fresh.append(i)
            self.targets[i] = {name: target for name, target in item.targets.items()
                               if target.interpreted}

    def reference_index(self, members: tuple[int, ...]) -> RuleIndex:
        """The reference's ``RuleIndex`` over ``members`` (prepared), its conditions chosen
        among the members' own clauses (``choose_conditions``)."""
        rules = [self.compiled[i] if i in self.compiled
                 else _LazyReference(self, i, self.rules[i].unsupported) for i in members]
        if not self.prefilter:
            return RuleIndex.build(rules, route=False, prefilter=False)
        return RuleIndex(rules, choose_conditions([self.rules[i].clauses for i in members]),
                         route=False)

    def reference(self, i: int) -> CompiledRule:
        """Rule ``i``'s compiled reference (prepared), compiled on first use."""
        compiled = self.compiled.get(i)
        if compiled is None:
            compiled = self.compiled[i] = compile_reference(self.rules[i], self.phases,
                                                            self.parsed)
        return compiled

    def _tree(self, slot: Slot) -> Any:
        """The parsed query tree of a slot (read from its cached bytes on first use)."""
        return self.targets[slot[0]][slot[1]].parsed()

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
        members = tuple(i for i, member in self.member.items() if member(event))
        if not members:
            return None
        group = self.groups.get(members)
        if group is None:
            self.prepare(members)
            started = time.process_time()
            group = self.groups[members] = _Group(self, members)
            self.phases["index"] += time.process_time() - started
            self._read_translations(group)
        return group

    def _read_translations(self, group: _Group) -> None:
        """Seed the regex translations an earlier run's compilation of the group's trees used
        (``backends.query.pattern_memo``), kept under the names of the group's rules' entries."""
        from backends.query.pattern_memo import seed

        if self.patterns is None:
            return
        started = time.process_time()
        keys = [self.rules[i].key for i in group.members]
        if all(keys):
            group.translations_key = self.patterns.key("translations", *keys)
            stored = self.patterns.get(group.translations_key)
            if seed(stored) and isinstance(stored, dict):
                group.translations = stored
        self.phases["cache"] += time.process_time() - started

    def run(self, batch: list[tuple[Any, ...]]) -> dict[str, Any]:
        """Evaluate a batch of ``(source, event)`` pairs, or ``(source, event, renderings)``
        triples whose renderings (``render_schemas``) the parent made; return ``{"events",
        "routed": {rule: n}, "ref": {rule: hits},
        "hits": {(rule, t): n}, "dis": {(rule, t): [count, examples]}, "failed": {...},
        "render_errors": {table: [batch positions, message]},
        "undecided": {rule or (rule, t): [count, first event, reason]},
        "unrendered": {(rule, t): [reference hits the target's data cannot hold, first, why]},
        "declared": {(rule, t): [events showing only the declared difference, first, why]},
        "prepared": {rule: (reference unsupported, {target: PreparedTarget without tree})},
        "phases": {phase: CPU s}}``."""
        delta: dict[str, Any] = {"events": len(batch), "routed": Counter(), "ref": Counter(),
                                 "hits": Counter(), "dis": {}, "failed": {},
                                 "render_errors": {}, "undecided": {}, "unrendered": {},
                                 "declared": {}}
        started = time.process_time()
        for position, item in enumerate(batch):
            source, event = item[0], item[1]
            group = self._group(event)
            if group is not None:
                self._event(group, position, source, event, delta,
                            item[2] if len(item) > 2 else None)
        self._write_translations()
        self.phases["evaluate"] += time.process_time() - started
        fresh, self.fresh = self.fresh, []
        delta["prepared"] = {
            i: (self.rules[i].unsupported,
                {name: t.summary() for name, t in self.rules[i].targets.items()})
            for i in fresh
        }
        # Evaluation time is what is left once preparation inside the batch is taken out.
        delta["phases"], self.phases = self.phases, defaultdict(float)
        spent = sum(v for name, v in delta["phases"].items() if name != "evaluate")
        delta["phases"]["evaluate"] -= spent
        return delta

    def _write_translations(self) -> None:
        """Store the translations of the groups whose compilations used new ones."""
        if not self.grown or self.patterns is None:
            return
        started = time.process_time()
        for group in self.grown.values():
            if group.translations_key is not None:
                self.patterns.put(group.translations_key, group.translations)
        self.grown.clear()
        self.phases["cache"] += time.process_time() - started

    def _pred(self, slot: Slot, delta: dict, group: _Group) -> Any:
        """The slot's compiled predicate (compiled on first use, for an event of ``group``), or
        None if it cannot be.

        The regex translations the compilation uses are kept with the group's in the
        persistent cache (``_read_translations``: a later run seeds them instead of translating
        again), less those the query's parse used, which its prepared target keeps (a parser
        that checks leaves as it lowers them compiles them)."""
        from backends.query.evaluate import compile_once
        from backends.query.pattern_memo import recording, seed

        pred = self.preds.get(slot)
        if pred is None:
            started = time.process_time()
            parsed = self.targets[slot[0]][slot[1]].translations
            seed(parsed)
            try:
                with recording() as used:
                    pred = self.preds[slot] = compile_once(self._tree(slot))
            except Exception as exc:  # noqa: BLE001 - PatternSyntaxError and the like
                self.failed.add(slot)
                delta["failed"][slot] = f"not checked: the evaluator cannot compile the query: {exc}"
            if pred is not None and group.translations_key is not None:
                new = {k: v for k, v in used.items()
                       if k not in group.translations and k not in parsed}
                if new:
                    group.translations.update(new)
                    self.grown[id(group)] = group
            self.phases["compile"] += time.process_time() - started
        return pred

    def _event(self, group: _Group, position: int, source: str, event: dict[str, Any],
               delta: dict, given: Renderings | None = None) -> None:
        from backends.query.errors import QueryError
        from backends.query.explain import explain
        from backends.query.indexed import Event
        from backends.query.patterns import MatchTimeout

        members = group.members
        delta["routed"].update(members)
        local: dict[int, Any] = {}
        matched = {members[j] for j in group.reference.matches(event, local)}
        undecided = {members[j]: verdict for j, verdict in local.items()}
        delta["ref"].update(matched)
        for i, verdict in undecided.items():  # counted, never a silent non-match
            _undecided(delta, i, source, verdict.unsupported)
        for schema, (renderer, index, by_rule) in group.schemas.items():
            try:
                rendered = rendered_for(renderer, event, given, schema)
                why = (f"the {renderer.table.schema} data has no such event: no logsource "
                       f"of mapping table {renderer.table.name} covers its EventID/Channel")
            except ValueError as exc:
                # A value the shipper could not write (e.g. an integrity level outside Elastic
                # Defend's vocabulary): no target of this schema sees the event.
                rendered = None
                why = f"the event cannot be rendered for {renderer.table.name}: {exc}"
                # Counted by event position: every shard that renders it reports it, once.
                entry = delta["render_errors"].setdefault(renderer.table.name, [{}, str(exc)])
                entry[0][position] = source
            if rendered is None:
                # The data source cannot carry this event (another record kind, a value its
                # shipper cannot write): no target of this schema is asked about it, so it is
                # no evidence either way, as in `check` (not_rendered). A rule hit on it is
                # counted apart, never as a disagreement.
                for i in matched & by_rule.keys():
                    for t in by_rule[i]:
                        _undecided(delta, (i, t), source, why, "unrendered")
                continue
            # One view per rendered event: each field is looked up once for the prefilter and
            # every slot's leaves together (``Event`` memoises ``matching.lookup``).
            view = Event(rendered)
            candidates = tree_candidates(index, view)
            for slot in candidates:
                if slot in self.failed:
                    continue
                pred = self._pred(slot, delta, group)
                if pred is None:
                    continue
                try:
                    hit = pred(view) is True
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
                    if self._declared(slot, event, hit, renderer):
                        _undecided(delta, slot, source, DECLARED, "declared")
                        continue
                    self._disagree(delta, slot, source, not hit, hit,
                                   explain(self._tree(slot), rendered))
            for i in matched & by_rule.keys():  # reference hits the prefilter ruled out
                for t in by_rule[i]:
                    if (i, t) not in candidates and (i, t) not in self.failed:
                        if self._declared((i, t), event, False, renderer):
                            _undecided(delta, (i, t), source, DECLARED, "declared")
                            continue
                        why = explain(self._tree((i, t)), rendered)
                        self._disagree(delta, (i, t), source, True, False, why)

    def _declared(self, slot: Slot, event: dict[str, Any], hit: bool, renderer: Any) -> bool:
        """Whether the slot's disagreement on ``event`` is only a declared difference (a deleted
        value, a trimmed edge, rewritten line endings, a JSON null): the same classification as
        ``check``'s (``converter.checking.dropped.declared_twin``), asked on every
        disagreement, whatever the target declared."""
        from converter.checking.dropped import declared_twin
        from converter.events.render import SampleEvent

        target = self.rules[slot[0]].targets[slot[1]]
        compiled = self.reference(slot[0])
        return declared_twin(SampleEvent(event), hit, target.dropped, renderer,
                             lambda fields: compiled.evaluate(fields).matched,
                             target.trimmed) is not None

    def _reference_ok(self, i: int) -> bool:
        return self.rules[i].unsupported is None

    def _disagree(self, delta: dict, slot: Slot, source: str, ref: bool, hit: bool,
                  why: str) -> None:
        entry = delta["dis"].setdefault(slot, [0, []])
        entry[0] += 1
        if len(entry[1]) < self.max_examples:
            entry[1].append({"event": source, "reference": ref, "target": hit, "why": why})


def _undecided(delta: dict, key: int | Slot, source: str, reason: str,
               kind: str = "undecided") -> None:
    """Count one event whose verdict (of rule ``key`` or slot ``key``) ran past the time limit
    (``kind`` "undecided"), one the rule matches that slot ``key``'s data cannot hold
    (``kind`` "unrendered"), or one that shows only the difference slot ``key``'s emitter
    declared (``kind`` "declared"): ``delta[kind][key] = [events, first event, reason]``."""
    entry = delta[kind].setdefault(key, [0, source, reason])
    entry[0] += 1
