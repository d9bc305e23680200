"""``sigport backtest``: every rule and every target's query over a large stream of real events.

Where ``check`` proves a rule on a handful of hand-written events, the backtest replays whole event
collections (the OTRF Security-Datasets archives, ``.evtx`` exports, JSON lines) against a whole
rule directory. Per rule it counts the reference evaluator's hits and each target's hits on the
rendered event, and records every event where a target and the reference disagree.

Built for volume (hundreds of thousands of events, thousands of rules):

* the parent loads the rules (``converter.backtesting.prepare.load``) and reads the events; each
  worker owns a share of the rules (``converter.backtesting.workers``) and sees every batch;
* a rule is prepared (reference compiled, every target converted and parsed) the first time an
  event of its logsource reaches it, once in the whole run, by its owner; a rule no event
  reaches costs its logsource routing only (``converter.backtesting.engine``);
* events are streamed (``converter.events.inputs``) in batches, a bounded number in flight, so memory
  stays flat however large the input is;
* an event reaches only the rules of its logsource, and among those only the rules and queries
  whose required literals occur in it (``converter.ruleindex.index``; a target's literals come from its
  own tree, ``converter.backtesting.needs``); the skip never changes a count (tested by running
  with ``prefilter=False``);
* an event is rendered once per target schema (``ecs``, ``splunk-sysmon``, ...), not per rule;
* each rule's converted and parsed targets are kept in a persistent cache
  (``converter.conversion.cache``), so a second run over the same rules skips the conversion and
  the parse (``cache=False`` or ``SIGPORT_NO_CACHE`` turns it off).

Modules (``converter.backtesting``): this driver (``run``: ``run_backtest``), ``prepare``
(loading, preparing one rule), ``engine`` (evaluation), ``workers`` (the worker processes),
``needs`` (literals of query trees) and ``report`` (tallies, report, console output).

Equivalence per rule and target follows ``converter.checking.checker.Checker`` exactly (same
converters, interpreters, field models and renderers; same reasons), only over the streamed events.
"""

from __future__ import annotations

import gc
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from backends.common import declared_approximations, is_limit_warning
from converter.backtesting.engine import ROUTE_MEMO, Engine
from converter.backtesting.renderings import Renderings, render_schemas, schema_renderers
from converter.backtesting.prepare import (
    BacktestOptions, PreparedRule, checker_for, load, routing, rules_store,
)
from converter.backtesting.workers import run_sharded
from converter.backtesting.report import BacktestReport, RuleTally, TargetTally, print_report
from converter.checking.dropped import declared_reason

__all__ = ["BacktestReport", "RuleTally", "TargetTally", "print_report", "run_backtest",
           "use_prebuilt_tables"]

#: Disagreement examples kept per rule and target (the count is always complete).
MAX_EXAMPLES = BacktestOptions.max_examples
#: Events per batch sent to a worker: large enough to amortise pickling, small enough to stream.
BATCH_SIZE = 500


def _batches(
    events_paths: Iterable[str | Path], input_format: str | None, limits: Any
) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Stream (source, normalised event) pairs in batches (``converter.events.inputs``).

    Raises:
        InputError: unreadable input, or a record that has no Sigma representation.
    """
    from converter.events.inputs import InputError, iter_raw
    from converter.events.normalise import normalise_owned

    batch: list[tuple[str, dict[str, Any]]] = []
    for path in events_paths:
        read = 0
        for source, raw in iter_raw(path, input_format, limits):
            read += 1
            try:
                # The reader's dicts are ours: normalise in place, saving a copy per event.
                batch.append((source, normalise_owned(raw)))
            except ValueError as exc:
                raise InputError(f"cannot normalise event: {exc}", path=source) from exc
            if len(batch) >= BATCH_SIZE:
                yield batch
                batch = []
        if not read:
            limits.warn(f"{path}: no event read from this input")
    if batch:
        yield batch


#: The cyclic collector's youngest-generation threshold during a backtest (Python's is 700).
GC_YOUNG = 50_000


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the block with the cyclic collector's first threshold at ``GC_YOUNG``, then restore
    the caller's thresholds.

    Preparing rules builds millions of long-lived objects (pySigma rules, query trees, compiled
    predicates) and almost no cyclic garbage; at the default threshold the collector ran about
    a thousand times per worker and took a fifth of a warm backtest's CPU time (1.5 of 7 s,
    timed with ``gc.callbacks``), the older generations being walked again and again. At 50,000
    it ran about ten times (0.24 s). Cyclic garbage is still collected, in larger steps: memory
    stays bounded by the thresholds, as before.
    """
    saved = gc.get_threshold()
    gc.set_threshold(GC_YOUNG, *saved[1:])
    try:
        yield
    finally:
        gc.set_threshold(*saved)


def _routed(batches: Iterable[list[tuple[str, dict[str, Any]]]], rules: list[PreparedRule]
            ) -> Iterator[tuple[int, list[tuple[str, dict[str, Any]]]]]:
    """``(events read, the events some rule's logsource reaches)`` for each batch.

    An event no rule's logsource reaches is evaluated nowhere (the engine routes it to no rule,
    renders nothing and counts nothing for it but the read), so it is counted here and never
    pickled, sent to the workers, unpickled and routed again in each of them. Membership is
    decided once per (``Channel``, ``EventID``) pair, as the engine decides it.
    """
    members = [member for member, _ in map(routing, rules) if member is not None]
    memo: dict[Any, bool] = {}

    def reached(event: dict[str, Any]) -> bool:
        key = (event.get("Channel"), event.get("EventID"))
        try:
            return memo[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable Channel/EventID: decide for this event alone
            return any(member(event) for member in members)
        found = memo[key] = any(member(event) for member in members)
        if len(memo) > ROUTE_MEMO:
            memo.clear()
        return found

    for batch in batches:
        yield len(batch), [pair for pair in batch if reached(pair[1])]


class _Needed:
    """The target schemas an event's renderings are needed in: those of the parsed targets of
    the rules its logsource reaches, once the shards have prepared them all (``_Merger`` keeps
    their summaries); every schema until then. A shard evaluates a schema only for a rule with
    a parsed target in it (``engine._Group``), so the others are never read; a shard renders
    for itself any schema it is not given (``renderings.rendered_for``). Decided once per
    (``Channel``, ``EventID``) pair, as the engine routes."""

    def __init__(self, rules: list[PreparedRule], schema_of: dict[str, Any],
                 every: Iterable[Any]) -> None:
        self.rules = rules
        self.schema_of = schema_of
        self.every = frozenset(every)
        self.member = [(i, m) for i, (m, _) in enumerate(map(routing, rules)) if m is not None]
        self.reached: dict[Any, tuple[int, ...]] = {}
        self.schemas: dict[Any, frozenset[Any]] = {}

    def __call__(self, event: dict[str, Any]) -> frozenset[Any]:
        key = (event.get("Channel"), event.get("EventID"))
        try:
            return self.schemas[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable Channel/EventID: every schema, as before
            return self.every
        members = self.reached.get(key)
        if members is None:
            members = tuple(i for i, member in self.member if member(event))
            if len(self.reached) < ROUTE_MEMO:
                self.reached[key] = members
        if not all(self.rules[i].prepared for i in members):
            return self.every
        found = frozenset(self.schema_of[name] for i in members
                          for name, target in self.rules[i].targets.items() if target.interpreted)
        if len(self.schemas) < ROUTE_MEMO:
            self.schemas[key] = found
        return found


def _rendered(batches: Iterable[tuple[int, list[tuple[str, dict[str, Any]]]]], checker: Any,
              phases: defaultdict[str, float], rules: list[PreparedRule]
              ) -> Iterator[tuple[int, list[tuple[str, dict[str, Any], Renderings]]]]:
    """The batches with each event's renderings for the target schemas its rules need
    (``render_schemas``, ``_Needed``), made once here rather than once in each shard (their CPU
    seconds in ``phases["render"]``)."""
    renderers, schema_of = schema_renderers(checker)
    needed = _Needed(rules, schema_of, renderers)
    for read, batch in batches:
        started = time.process_time()
        out = [(source, event, render_schemas(renderers, event, needed(event)))
               for source, event in batch]
        phases["render"] += time.process_time() - started
        yield read, out


class _Merger:
    """Accumulates the shards' deltas into per-rule tallies."""

    def __init__(self, prepared: list[PreparedRule], max_examples: int) -> None:
        self.prepared = prepared
        self.events = 0
        self.max_examples = max_examples
        self.routed: Counter = Counter()
        self.ref: Counter = Counter()
        self.hits: Counter = Counter()
        self.dis: dict[tuple[int, str], list[Any]] = {}
        self.failed: dict[tuple[int, str], str] = {}
        self.render_errors: dict[str, list[Any]] = {}
        #: rule (reference) or (rule, target) -> [events undecided, first event, reason]
        self.undecided: dict[Any, list[Any]] = {}
        #: (rule, target) -> [reference hits the target's data cannot hold, first event, why]
        self.unrendered: dict[Any, list[Any]] = {}
        #: (rule, target) -> [events showing only the declared difference, first event, why]
        self.declared: dict[Any, list[Any]] = {}
        #: CPU seconds per phase, summed over the shards.
        self.phases: defaultdict[str, float] = defaultdict(float)

    def add(self, events: int, deltas: list[dict[str, Any]]) -> None:
        """Merge one batch of ``events`` events: one delta per shard (disjoint rules)."""
        self.events += events
        render_errors: dict[str, list[Any]] = {}  # table -> [{position: source}, message]
        for delta in deltas:
            self._add(delta)
            for table, (positions, message) in delta["render_errors"].items():
                entry = render_errors.setdefault(table, [{}, message])
                entry[0].update(positions)
        # An event that several shards rendered is counted once.
        for table, (positions, message) in render_errors.items():
            entry = self.render_errors.setdefault(
                table, [0, positions[min(positions)], message])
            entry[0] += len(positions)

    def _add(self, delta: dict[str, Any]) -> None:
        for i, (unsupported, targets) in delta["prepared"].items():
            item = self.prepared[i]
            item.unsupported, item.targets, item.prepared = unsupported, targets, True
        for phase, seconds in delta["phases"].items():
            self.phases[phase] += seconds
        self.routed.update(delta["routed"])
        self.ref.update(delta["ref"])
        self.hits.update(delta["hits"])
        for kind in ("undecided", "unrendered", "declared"):
            tallies = getattr(self, kind)
            for key, (count, source, reason) in delta[kind].items():
                entry = tallies.setdefault(key, [0, source, reason])
                entry[0] += count
        for slot, reason in delta["failed"].items():
            self.failed.setdefault(slot, reason)
        for slot, (count, examples) in delta["dis"].items():
            entry = self.dis.setdefault(slot, [0, []])
            entry[0] += count
            entry[1].extend(examples[: self.max_examples - len(entry[1])])


def _unreached(tally: RuleTally, item: PreparedRule, targets: list[str]) -> None:
    """The tally of a rule no event reached: the reference's logsource reason when it has one
    (as ``compile_rule`` gives it), every target unchecked and unconverted."""
    _, reason = routing(item)
    tally.reference_unsupported = reason
    tally.reference_hits = None if reason else 0
    for name in targets:
        tally.targets[name] = TargetTally(
            None, reason="not checked: no event of the rule's logsource in the input (the rule "
            "was not converted)")


def _tallies(prepared: list[PreparedRule], merged: _Merger,
             targets: list[str]) -> list[RuleTally]:
    """Per-rule results with ``Checker``'s verdict rules applied to the merged counts."""
    out = []
    for i, item in enumerate(prepared):
        tally = RuleTally(item.id, item.title, item.path, merged.routed[i], error=item.error)
        out.append(tally)
        if item.error is not None:
            tally.reference_hits = None
            continue
        if not item.prepared:  # no event reached the rule: it was never converted
            _unreached(tally, item, targets)
            continue
        tally.reference_unsupported = item.unsupported
        tally.reference_hits = None if item.unsupported else merged.ref[i]
        ref_undecided = merged.undecided.get(i)
        if ref_undecided is not None:
            tally.reference_undecided = _undecided_json(ref_undecided)
        for name, target in item.targets.items():
            t = TargetTally(target.query, merged.hits[(i, name)], reason=target.reason,
                            warnings=target.warnings)
            approximate = declared_approximations(target.warnings, target.exact_warnings)
            tally.targets[name] = t
            count, examples = merged.dis.get((i, name), (0, []))
            undecided = merged.undecided.get((i, name))
            if undecided is not None:
                t.undecided = _undecided_json(undecided)
            unrendered = merged.unrendered.get((i, name))
            if unrendered is not None:
                t.not_rendered = _undecided_json(unrendered)
            # Whether a reference hit reached this target (its data could hold the event).
            shown = merged.ref[i] > (unrendered[0] if unrendered is not None else 0)
            if not target.interpreted or target.reason:
                t.equivalent = False if target.parse_failed else None
            elif (i, name) in merged.failed:
                t.reason, t.disagreements, t.hits = merged.failed[(i, name)], 0, 0
            elif item.unsupported:
                t.reason = ("not checked: the reference cannot evaluate the rule: "
                            f"{item.unsupported}")
            elif count:
                t.equivalent, t.disagreements, t.examples = False, count, examples
                t.reason = f"{count} of {tally.events} events disagree"
            elif (declared := merged.declared.get((i, name))) is not None:
                # The difference the emitter declared, which no query on this data avoids:
                # never "equivalent", and no disagreement either.
                n, source, why = declared
                t.reason = declared_reason(approximate, f"{n} of {tally.events} events",
                                           f" (first {source}: {why})")
            elif (which := undecided if undecided is not None else ref_undecided) is not None:
                side, (n, source, why) = (name if undecided is not None else "the reference",
                                          which)
                t.reason = (f"not proven: {side} could not decide {n} of {tally.events} events "
                            f"(first {source}: {why})")
            elif not tally.events:
                t.reason = "not checked: no event of the rule's logsource in the input"
            elif unrendered is not None and not shown:
                # Every event the rule matched is one this target's data cannot hold: agreeing
                # on the others (all non-matches) shows nothing about the query's positives.
                n, source, why = unrendered
                t.reason = (f"not proven: none of the {n} events the rule matches can be "
                            f"written as this target's data (first {source}: {why})")
            elif not shown:
                # No event here is one the rule matches: agreeing on non-matches alone says
                # nothing of the query's positives (a query matching nothing would agree), as
                # in ``Checker``.
                t.reason = "not proven: no event here is one the rule matches"
            elif approximate:
                # Worded as check words it: only the approximations, never a fact of the data
                # source (``exact_warnings``) nor a length limit.
                t.reason = ("not proven: the emitter declared its output approximate ("
                            + "; ".join(approximate)
                            + "), and no event here shows the difference")
            elif limits := [w for w in target.warnings if is_limit_warning(w)]:
                # check proves a length limit from an event whose longer value decides the
                # query; the backtest does not look for one, so the limit stays open.
                t.reason = (f"not proven: {limits[0]}; the backtest does not look for an event "
                            "whose longer value decides the query (check does)")
            else:
                t.equivalent = True
    return out


def _undecided_json(entry: list[Any]) -> dict[str, Any]:
    count, source, reason = entry
    return {"events": count, "first": source, "reason": reason}


def use_prebuilt_tables(store: Any) -> None:
    """Take every built-in mapping table from ``store`` (a ``converter.conversion.cache.Store``,
    or None when the cache is off) from now on: read back in their typed form when an earlier
    run stored them, else loaded and stored (``converter.mapping.loader.use_tables``).

    A warm backtest with every target loads all 53 (each target's table and the tables that
    extend it): parsing and validating their YAML took 0.09 CPU s before the shards could
    start, reading them back 0.004. The store's fingerprint covers every table file and the
    code, so an edited table is loaded from its file again."""
    from converter.conversion.cache import prebuilt
    from converter.mapping.loader import builtin_tables, use_tables
    from converter.mapping.table import MappingTable

    def valid(value: Any) -> bool:
        return isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, MappingTable) for k, v in value.items())

    use_tables(prebuilt(store, "builtin mapping tables", builtin_tables, valid))


@fewer_collections()  # the worker processes fork with the same thresholds
def run_backtest(
    rule_paths: Iterable[str | Path],
    events_paths: Iterable[str | Path],
    targets: list[str] | None = None,
    data_source: str | None = None,
    input_format: str | None = None,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
    *,
    pipelines: list[str] | None = None,
    mapping: str | Path | None = None,
    max_examples: int = MAX_EXAMPLES,
    prefilter: bool = True,
    limits: Any = None,
    cache: bool = True,
) -> BacktestReport:
    """Backtest rules on a stream of events for every target.

    Args:
        rule_paths: rule files or directories.
        events_paths: events files, directories or archives (anything ``converter.events.inputs`` reads).
        targets: target names (default: every target with an interpreter).
        data_source: the Elastic data source (``defend``, ``windows``, ``winlogbeat``).
        input_format: force the input format instead of detecting it.
        workers: processes evaluating events (1: everything in this process).
        progress: called with the number of events done so far after each batch.
        pipelines: extra pipelines, as for ``convert``.
        mapping: the user's Elasticsearch mapping or template JSON file (as ``check --mapping``).
        max_examples: disagreement examples kept per rule and target.
        prefilter: skip evaluations a required literal rules out (never changes a count).
        limits: the input caps (``converter.events.inputs.InputLimits``); its warnings (lines and
            members skipped, unreadable input) end up in the report.
        cache: read and write the rules' prepared targets in the persistent cache
            (``converter.conversion.cache``; also off when ``SIGPORT_NO_CACHE`` is set).

    Returns:
        The ``BacktestReport``.

    Raises:
        RuleLoadError: a rule path does not exist.
        UnknownTargetError, PipelineError: a bad target or pipeline (before any work).
        converter.events.inputs.InputError: an events input cannot be read.
    """
    started = time.perf_counter()
    options = BacktestOptions(
        tuple(targets) if targets is not None else None, tuple(pipelines or ()), data_source,
        mapping, max_examples, prefilter, cache,
    )
    prebuilt = None
    if cache:
        from converter.conversion.cache import Store

        # Also hashes sigport's files once here (``code_fingerprint``), before the shards fork.
        prebuilt = Store("prebuilt", [])
        use_prebuilt_tables(prebuilt)
    checker = checker_for(options)  # validates targets and pipelines up front
    target_names = checker.targets
    options = replace(options, targets=tuple(target_names))
    prepared = load([str(p) for p in rule_paths], rules_store(options))
    prepare_s = time.perf_counter() - started
    from converter.events.inputs import InputLimits

    merged = _Merger(prepared, max_examples)
    limits = limits if limits is not None else InputLimits()
    batches = _routed(_batches(list(events_paths), input_format, limits), prepared)
    if workers <= 1:
        engine = Engine(prepared, options, checker=checker)
        done: Iterable[tuple[int, int, list[dict[str, Any]]]] = (
            (seq, read, [engine.run(batch)]) for seq, (read, batch) in enumerate(batches))
    else:
        # Every shard sees every event: the parent renders each one once for all of them.
        rendered = _rendered(batches, checker, merged.phases, prepared)
        done = run_sharded(prepared, options, workers, rendered, checker, prebuilt)
    for _seq, events, deltas in done:
        merged.add(events, deltas)
        if progress is not None:
            progress(merged.events)
    render_errors = {table: {"events": count, "first": source, "error": message}
                     for table, (count, source, message) in merged.render_errors.items()}
    return BacktestReport(merged.events, _tallies(prepared, merged, target_names), target_names,
                          time.perf_counter() - started, max(1, workers), prepare_s,
                          render_errors, limits.all_warnings(), dict(merged.phases))
