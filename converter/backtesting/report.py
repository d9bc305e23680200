"""The backtest's results: per-rule and per-target tallies, the report, and its console rendering.

``converter.backtesting.run.run_backtest`` fills these; ``sigport backtest`` prints them with
``print_report`` or writes ``BacktestReport.to_json()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["BacktestReport", "RuleTally", "TargetTally", "print_report"]


@dataclass
class TargetTally:
    """One target's counts on one rule over the whole event stream."""

    query: str | None = None
    hits: int = 0
    equivalent: bool | None = None
    reason: str | None = None
    disagreements: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Events whose verdict ran past the time limit: ``{"events", "first", "reason"}`` or None.
    undecided: dict[str, Any] | None = None
    #: Events the rule matches that this target's data cannot hold (another record kind, a
    #: value the shipper cannot write): ``{"events", "first", "reason"}`` or None. No evidence
    #: either way, as ``check``'s ``not_rendered``; never disagreements.
    not_rendered: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON form (``hits``, ``equivalent``, ``reason``, ``disagreements``, ``undecided``,
        ``not_rendered``, ``examples``)."""
        return {
            "hits": self.hits,
            "equivalent": self.equivalent,
            "reason": self.reason,
            "disagreements": self.disagreements,
            "undecided": self.undecided,
            "not_rendered": self.not_rendered,
            "examples": self.examples,
            "query": self.query,
            "warnings": self.warnings,
        }


@dataclass
class RuleTally:
    """Reference and target counts for one rule."""

    id: str
    title: str
    path: str
    events: int = 0
    reference_hits: int | None = 0
    reference_unsupported: str | None = None
    error: str | None = None
    targets: dict[str, TargetTally] = field(default_factory=dict)
    #: Events on which the reference's verdict ran past the time limit (as ``TargetTally``).
    reference_undecided: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON form; ``events`` is how many events of the rule's logsource it saw."""
        return {
            "id": self.id,
            "title": self.title,
            "path": self.path,
            "events": self.events,
            "error": self.error,
            "reference": {"hits": self.reference_hits, "unsupported": self.reference_unsupported,
                          "undecided": self.reference_undecided},
            "targets": {name: t.to_json() for name, t in self.targets.items()},
        }


@dataclass
class BacktestReport:
    """The outcome of a backtest: per-rule tallies plus throughput."""

    events: int
    rules: list[RuleTally]
    targets: list[str]
    elapsed_s: float
    workers: int = 1
    #: Of ``elapsed_s``, the time the parent spent loading the rules (wall seconds); converting,
    #: parsing and compiling happen lazily during evaluation (``phases_s``).
    prepare_s: float = 0.0
    #: Per mapping table: events of a routed logsource it could not render (count, first one).
    render_errors: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: What the input caps skipped, and input that read as fewer events than it holds.
    input_warnings: list[str] = field(default_factory=list)
    #: CPU seconds per phase, summed over the evaluating processes: ``reference`` (compiling
    #: the reference), ``convert``, ``parse``, ``index`` (required literals, candidate indexes),
    #: ``compile`` (query trees), ``evaluate`` (routing, rendering, evaluating).
    phases_s: dict[str, float] = field(default_factory=dict)

    @property
    def events_per_s(self) -> float:
        """Events processed per second of wall time (preparation included)."""
        return self.events / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        """``{"events", "rules": [...], "elapsed_s", "events_per_s", "targets", "workers"}``."""
        return {
            "events": self.events,
            "targets": self.targets,
            "workers": self.workers,
            "rules": [r.to_json() for r in self.rules],
            "elapsed_s": round(self.elapsed_s, 3),
            "prepare_s": round(self.prepare_s, 3),
            "events_per_s": round(self.events_per_s, 1),
            "render_errors": self.render_errors,
            "input_warnings": self.input_warnings,
            "phases_s": {name: round(v, 3) for name, v in sorted(self.phases_s.items())},
        }

    @property
    def undecided(self) -> int:
        """Rules with at least one event whose verdict (reference or target) is undecided."""
        return sum(1 for r in self.rules if r.reference_undecided is not None
                   or any(t.undecided is not None for t in r.targets.values()))

    def summary(self) -> dict[str, Any]:
        """Totals per target: rules equivalent / differing / not checked, hits, disagreements."""
        out: dict[str, Any] = {}
        for name in self.targets:
            tallies = [r.targets[name] for r in self.rules if name in r.targets]
            out[name] = {
                "equivalent": sum(1 for t in tallies if t.equivalent is True),
                "differs": sum(1 for t in tallies if t.equivalent is False),
                "not_checked": sum(1 for t in tallies if t.equivalent is None),
                "hits": sum(t.hits for t in tallies),
                "disagreements": sum(t.disagreements for t in tallies),
            }
        return out


def print_report(report: BacktestReport, console: Any = None) -> None:
    """Print a backtest as rich tables: the rules with hits or disagreements, then totals."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"Backtest: {report.events:,} events, {len(report.rules)} rules")
    for column in ("rule", "events", "reference", *report.targets):
        table.add_column(column, overflow="fold")
    for rule in report.rules:
        busy = rule.reference_hits or any(t.hits or t.disagreements for t in rule.targets.values())
        if not busy and rule.error is None:
            continue
        cells = [escape(rule.title or rule.path), str(rule.events),
                 "[red]error[/]" if rule.error else str(rule.reference_hits)]
        for name in report.targets:
            t = rule.targets.get(name)
            if t is None:
                cells.append("-")
            elif t.disagreements:
                cells.append(f"[red]{t.hits} ({t.disagreements} differ)[/]")
            else:
                cells.append(str(t.hits) if t.equivalent is not None else f"[yellow]{t.hits}?[/]")
        table.add_row(*cells)
    console.print(table)
    for rule in report.rules:
        for name, t in rule.targets.items():
            for example in t.examples:
                console.print(f"  [red]{name}[/] {escape(rule.title)} @ "
                              f"{escape(example['event'])}: "
                              f"reference {example['reference']}, {name} {example['target']}: "
                              f"{escape(example['why'])}")
    totals = Table(title="Per target")
    for column in ("target", "equivalent", "differs", "not checked", "hits", "disagreements"):
        totals.add_column(column)
    for name, t in report.summary().items():
        totals.add_row(name, *(str(t[k]) for k in ("equivalent", "differs", "not_checked", "hits",
                                                    "disagreements")))
    console.print(totals)
    for rule in report.rules:
        sides = [("reference", rule.reference_undecided)] + [
            (name, t.undecided) for name, t in rule.targets.items()]
        for side, info in sides:
            if info is not None:
                console.print(f"[yellow]{escape(rule.title or rule.path)}: {side} undecided on "
                              f"{info['events']} events[/] (first {escape(info['first'])}: "
                              f"{escape(info['reason'])})")
    for rule in report.rules:
        for name, t in rule.targets.items():
            if t.not_rendered is not None:
                info = t.not_rendered
                console.print(f"[yellow]{escape(rule.title or rule.path)}: {info['events']} "
                              f"matched events {name}'s data cannot hold[/] (first "
                              f"{escape(info['first'])}: {escape(info['reason'])})")
    for table_name, info in report.render_errors.items():
        console.print(f"[yellow]{info['events']} events not renderable for {table_name}[/] "
                      f"(first {escape(info['first'])}: {escape(info['error'])})")
    console.print(f"{report.events:,} events in {report.elapsed_s:.1f} s "
                  f"({report.prepare_s:.1f} s loading rules), "
                  f"{report.events_per_s:,.0f} events/s")
