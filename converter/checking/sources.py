"""Proving each rule on several data sources at once (``sigport check --data-source A,B``).

A shipper decides what a query can mean: Elastic Defend never records a Windows event log, the
Windows integration never records Defend's registry hive spelling. A user who ports a whole rule
set to Elastic wants to know, per rule, on which of the data sources they could run it the query
is proven. ``SourcesChecker`` checks each target once per data source its mapping tables offer
(targets whose tables offer none of them, e.g. Splunk, once with their default), and merges the
verdicts per rule and target:

* *differs* when the target differs on any data source (a false query is never hidden behind a
  data source that proves it);
* otherwise *equivalent* on the first data source (in the order given) that proves it;
* otherwise the first data source that converted it, else the first one, with every data
  source's reason (``on defend: ...; on windows: ...``) when they differ.

The merged target result names the data source that decided it (``data_source``) and every
data source's verdict (``data_sources``); ``CheckReport`` counts rules once per target, so the
summary is "proven on its best data source".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backends import TARGETS

from converter.checking.checker import Checker, RuleResult, TargetResult, default_targets
from converter.events.render import SampleEvent
from converter.mapping.loader import companion_tables, load_table
from converter.rules.load import LoadedRule


def offered_data_sources(target: str) -> set[str]:
    """The ``--data-source`` values the mapping tables of ``target`` offer (its own table and the
    tables that extend it)."""
    table = TARGETS[target].pipeline
    names = (table, *companion_tables(table))
    return {
        str(choice)
        for name in names
        for choice in (load_table(name).options.get("data_source", {}).get("choices") or [])
    }


class SourcesChecker:
    """A ``Checker`` per data source, merged per rule and target (see the module docstring)."""

    def __init__(
        self,
        targets: list[str] | None,
        pipelines: list[str] | None,
        data_sources: list[str],
        mapping: str | Path | None = None,
        source_mappings: dict[str, Path] | None = None,
    ) -> None:
        """Plan which target is checked on which data source and build one checker each.

        Args:
            targets: target names (default: every target with an interpreter).
            pipelines: extra pipelines, as for ``convert``.
            data_sources: the data sources, in order of preference.
            mapping: the user's Elasticsearch mapping file, for every data source.
            source_mappings: a mapping file per data source, in place of ``mapping`` there.
        """
        self.targets = targets or default_targets()
        self.data_sources = list(dict.fromkeys(data_sources))
        plan: dict[str | None, list[str]] = {}
        self.sources: dict[str, list[str | None]] = {}
        for name in self.targets:
            offered = offered_data_sources(name)
            mine: list[str | None] = [s for s in self.data_sources if s in offered] or [None]
            self.sources[name] = mine
            for source in mine:
                plan.setdefault(source, []).append(name)
        own = source_mappings or {}
        self.checkers = {
            source: Checker(names, pipelines, source, own.get(source or "", mapping))
            for source, names in plan.items()
        }

    def carries(self, kind: dict[str, Any]) -> bool:
        """True when some data source of some target can hold an event of this kind."""
        return any(checker.carries(kind) for checker in self.checkers.values())

    def check(self, loaded: LoadedRule, events: list[SampleEvent]) -> RuleResult:
        """Check one rule on every planned data source and merge the verdicts."""
        results = {source: checker.check(loaded, events) for source, checker in self.checkers.items()}
        first = next(iter(results.values()))
        merged = RuleResult(
            first.id, first.title, first.path, events, first.reference_matched,
            first.reference_unsupported, first.expectation_failures, {}, first.error,
        )
        if first.error is not None:
            return merged
        for name in self.targets:
            candidates = [(source, results[source].targets[name]) for source in self.sources[name]]
            merged.targets[name] = _best(candidates)
        return merged


def _best(candidates: list[tuple[str | None, TargetResult]]) -> TargetResult:
    """The result that speaks for a target across data sources (the module docstring's order),
    naming its data source and every data source's verdict."""
    differs = [c for c in candidates if c[1].equivalent is False]
    proven = [c for c in candidates if c[1].equivalent is True]
    converted = [c for c in candidates if c[1].query is not None]
    source, result = (differs or proven or converted or candidates)[0]
    if source is not None:
        result.data_source = source
        result.data_sources = {str(s): r.equivalent for s, r in candidates}
    if not converted and len(candidates) > 1:
        # No data source converts it: each one's reason is the user's to read (the first
        # alone hides that another data source fails for another, perhaps mendable, reason).
        reasons = {str(s): r.reason or "not converted" for s, r in candidates}
        if len(set(reasons.values())) > 1:
            result.reason = "; ".join(f"on {s}: {why}" for s, why in reasons.items())
    return result
