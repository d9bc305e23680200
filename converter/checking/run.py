"""``sigport check`` as a library call: load rules and events, run the checker, report.

``check_rules`` returns a ``CheckReport`` and prints nothing (``converter.check`` is this
function); ``print_check`` renders a report the way the command line shows it. What a run is asked
is ``CheckOptions`` (``context.py``); the rule files are checked by ``workers.py``, on one process
or several.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from converter.checking.checker import RuleResult
from converter.checking.context import CheckOptions, build_context, validated

__all__ = ["CheckOptions", "CheckReport", "check_rules", "print_check", "source_summary",
           "summary_markdown"]

EXIT_OK, EXIT_DISAGREE, EXIT_INPUT = 0, 1, 2


@dataclass
class CheckReport:
    """What ``check`` found: one ``RuleResult`` per rule, and what the inputs caps skipped."""

    results: list[RuleResult]
    targets: list[str]
    #: Everything the input caps skipped, and inputs that read as no event.
    input_warnings: list[str] = field(default_factory=list)
    #: The part of ``input_warnings`` from reading ``CheckOptions.events`` (before any check).
    events_warnings: list[str] = field(default_factory=list)
    #: A rule did not load, or had no events to be proven on.
    bad_input: bool = False

    @property
    def equivalent(self) -> bool:
        """Every rule proven on every target (and none without events)."""
        return bool(self.results) and all(r.equivalent for r in self.results)

    @property
    def exit_code(self) -> int:
        """``sigport check``'s exit code: 0 equivalent, 1 a disagreement or unchecked target, 2 bad
        input."""
        if self.bad_input:
            return EXIT_INPUT
        return EXIT_OK if self.equivalent else EXIT_DISAGREE

    def to_json(self) -> dict[str, Any]:
        """The machine-readable report (``sigport check --format json``)."""
        return {
            "equivalent": self.equivalent,
            "targets": self.targets,
            "rules": [r.to_json() for r in self.results],
            "input_warnings": self.input_warnings,
        }

    def markdown(self) -> str:
        """The Markdown summary (``sigport check --markdown FILE``)."""
        return summary_markdown(self.results, self.targets)


def check_rules(paths: Iterable[str | Path], options: CheckOptions | None = None,
                progress: Callable[[int], Any] | None = None) -> CheckReport:
    """Prove on events that each target's query matches exactly what each rule matches.

    Prints nothing; the report says what was found (``CheckReport.exit_code`` is the CLI's). The
    rule files are checked on ``CheckOptions.workers`` processes (``converter.checking.workers``);
    the report is the same for any number. ``progress`` is called with the number of rule files
    just checked (the total is ``len(expand_paths(paths))``), for a progress bar.

    Raises:
        converter.errors.ConverterError: an input cannot be read (rules, events, mapping).
    """
    from converter.checking.workers import check_files
    from converter.conversion.batch import work_items

    opts = validated(options or CheckOptions())[0]
    items = work_items(str(p) for p in paths)
    context = build_context(opts)
    limits = context.limits
    events_warnings = list(limits.all_warnings())
    results: list[RuleResult] = []
    bad_input = False
    for found in check_files(items, context, opts.workers, progress):
        # As one process would have recorded them: in input order, up to the same cap.
        for warning in found.warnings:
            limits.warn(warning)
        limits.dropped += found.dropped
        for result, bad in found.rules:
            results.append(result)
            bad_input = bad_input or bad
    return CheckReport(
        results, context.checker.targets, limits.all_warnings(), events_warnings, bad_input
    )

def print_check(report: CheckReport, output_format: str) -> None:
    """Print a check report on standard output: ``json`` (the machine-readable report) or
    ``text`` (rich tables)."""
    if output_format == "json":
        sys.stdout.write(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        _print_text(report.results, report.targets)


def _verdict(result: Any) -> str:
    if result.equivalent is True:
        return "[green]equivalent[/]"
    if result.equivalent is False:
        return "[red]DIFFERS[/]"
    return "[yellow]not checked[/]"


def _print_text(results: list[RuleResult], targets: list[str]) -> None:
    """Rich tables: one per rule (targets x matched / expected / verdict) and the disagreements."""
    from rich.markup import escape
    from rich.table import Table

    from converter.console import console as make_console

    console = make_console()
    for r in results:
        if r.error:
            console.print(f"[red]error[/] {escape(r.path)}: {escape(r.error)}")
            continue
        table = Table(title=f"{escape(r.title)} ({r.id})\n{escape(r.path)}: {len(r.events)} events")
        for col in ("target", "matched events", "reference", "verdict", "note"):
            table.add_column(col, overflow="fold")
        ref = ", ".join(map(str, r.reference_matched)) or "-"
        table.add_row(
            "reference",
            ref,
            "",
            "[red]EXPECTATION FAILED[/]" if r.expectation_failures else "[green]meets _expect[/]",
            escape(r.reference_unsupported or ""),
        )
        for name, t in r.targets.items():
            note = [t.reason] if t.reason else list(t.warnings)
            if t.not_rendered:
                # Those events are left out of the comparison: without this the matched lists
                # of an "equivalent" target could differ from the reference's with no word why.
                note.append(f"events {', '.join(map(str, t.not_rendered))} not compared: no "
                            "record of this data source can hold them")
            table.add_row(
                name,
                ", ".join(map(str, t.matched)) or "-",
                ref,
                _verdict(t),
                escape("; ".join(note)),
            )
        console.print(table)
        for failure in r.expectation_failures:
            event = r.events[failure["event"]]
            console.print(
                f"  [red]reference[/] event {failure['event']} ({escape(event.note or event.source)}):"
                f" expected {failure['expected']}, reference says {failure['reference']}"
            )
        for name, t in r.targets.items():
            if t.query and t.disagreements:
                console.print(f"  [bold]{name}[/] query: {escape(t.query)}")
            for d in t.disagreements:
                event = r.events[d.event]
                console.print(
                    f"  [red]{name}[/] event {d.event} ({escape(event.note or event.source)}): "
                    f"reference {d.reference}, {name} {d.target}: {escape(d.why)}"
                )
    checked = [r for r in results if not r.error]
    ok = sum(1 for r in checked if r.equivalent)
    console.print(
        f"{ok} of {len(results)} rules equivalent on every target ({', '.join(targets)})"
    )
    for line in source_summary(results, targets):
        console.print(escape(line))


def source_summary(results: list[RuleResult], targets: list[str]) -> list[str]:
    """With several data sources: per target, the rules proven on their best data source, by
    that data source, and how many differ on some data source (empty with one data source)."""
    lines = []
    for name in targets:
        rows = [r.targets[name] for r in results if not r.error and name in r.targets]
        if not any(t.data_sources is not None for t in rows):
            continue
        proven = Counter(t.data_source for t in rows if t.equivalent is True)
        differs = sum(1 for t in rows if t.equivalent is False)
        by_source = ", ".join(f"{source} {n}" for source, n in proven.most_common())
        lines.append(
            f"{name}: {sum(proven.values())} of {len(results)} rules proven on their best data "
            f"source ({by_source or 'none'}); {differs} differ on some data source"
        )
    return lines


def summary_markdown(results: list[RuleResult], targets: list[str]) -> str:
    """A Markdown report: per target, how many rules are equivalent, differ or were not checked,
    the same by logsource (and data source), and every rule that is not equivalent with the
    reason (``check --markdown FILE``)."""
    from converter.checking.coverage import coverage_markdown

    checked = [r for r in results if not r.error]
    lines = [
        "# Equivalence report (`sigport check`)",
        "",
        f"{len(results)} rules; {len(checked)} with events. A target is *equivalent* on a rule when "
        "it was converted, interpreted and agreed with the reference on every event; *differs* "
        "when some event disagrees; *not checked* otherwise (not convertible, declared "
        "approximate, or the reference cannot evaluate the rule).",
        "",
        "| target | equivalent | differs | not checked | equivalent among checked |",
        "|---|---|---|---|---|",
    ]
    for name in targets:
        states = Counter(
            "equivalent" if r.targets[name].equivalent is True
            else "differs" if r.targets[name].equivalent is False
            else "not checked"
            for r in checked if name in r.targets
        )
        decided = states["equivalent"] + states["differs"]
        share = f"{states['equivalent'] / decided:.1%}" if decided else "-"
        total = max(len(checked), 1)
        lines.append(
            f"| {name} | {states['equivalent']} ({states['equivalent'] / total:.1%}) | "
            f"{states['differs']} | {states['not checked']} | {share} |"
        )
    coverage = coverage_markdown(results, targets)
    if coverage:
        lines += ["", *coverage]
    for name in targets:
        reasons = Counter(
            _reason_group(r.targets[name].reason or "")
            for r in checked
            if name in r.targets and r.targets[name].equivalent is not True
        )
        if not reasons:
            continue
        lines += ["", f"## {name}: why rules are not equivalent", "", "| rules | reason |", "|---|---|"]
        lines += [f"| {n} | {why} |" for why, n in reasons.most_common(25)]
        lines += ["", "<details><summary>every rule</summary>", ""]
        for r in checked:
            t = r.targets.get(name)
            if t is None or t.equivalent is True:
                continue
            why = (t.reason or "").replace("|", "\\|").replace("\n", " ")
            example = f" — e.g. event {t.disagreements[0].event}: {t.disagreements[0].why}" if t.disagreements else ""
            lines.append(f"- `{Path(r.path).name}` ({r.title}): {why[:300]}{example[:300]}")
        lines += ["", "</details>"]
    best = source_summary(results, targets)
    if best:
        lines += ["", "## Best data source per rule", ""] + [f"- {line}" for line in best]
    errors = [r for r in results if r.error]
    if errors:
        lines += ["", "## Rules without events or that failed to load", ""]
        lines += [f"- `{Path(r.path).name}`: {r.error}" for r in errors]
    return "\n".join(lines) + "\n"


def _reason_group(reason: str) -> str:
    """A reason without the rule-specific details (values, counts), for grouping."""
    import re

    text = re.sub(r"'[^']*'", "'…'", reason)
    text = re.sub(r"\b\d+ of \d+ events disagree", "N events disagree", text)
    return text[:160].replace("|", "\\|")
