"""``sigport check`` as a library call: load rules and events, run the checker, report.

``check_rules`` returns a ``CheckReport`` and prints nothing (``converter.check`` is this
function); ``print_check`` renders a report the way the command line shows it.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from converter.checking.checker import Checker, RuleResult
from converter.checking.sources import SourcesChecker
from converter.errors import ConverterError, show_traceback
from converter.events.render import SampleEvent, read_jsonl, sample_events_path, to_sigma
from converter.mapping.index_mapping import field_model_for
from converter.mapping.loader import load_table
from converter.rules.load import LoadedRule, load_rules

if TYPE_CHECKING:
    from converter.events.inputs import InputLimits

EXIT_OK, EXIT_DISAGREE, EXIT_INPUT = 0, 1, 2


def _load_events(
    paths: list[Path], schema: str, data_source: str | None, input_format: str | None = None,
    limits: Any = None,
) -> list[SampleEvent]:
    """Events for every rule: JSON lines keep their ``_expect``; other formats (SigmaHQ regression
    JSON, .evtx, archives) are read and normalised by ``converter.events.inputs``. What the input caps
    skip, and input that reads as no event, is recorded in ``limits`` (an ``InputLimits``)."""
    from converter.events.inputs import detect_format, events_files, iter_events

    events: list[SampleEvent] = []
    for path in paths:
        # The files ``backtest`` reads too: .evtx and archives under a directory as well, in
        # any case, hidden entries skipped (only .json/.jsonl were read: the rest was lost).
        for file in events_files([path]):
            fmt = input_format or detect_format(file)
            before = len(events)
            if fmt == "jsonl":
                events.extend(read_jsonl(file, limits))
            else:
                events.extend(
                    SampleEvent(event, source=f"{file}")
                    for event in iter_events(file, fmt, limits)
                )
            if len(events) == before and limits is not None:
                limits.warn(f"{file}: no event read from this file")
    if schema == "ecs":
        table = load_table("ecs-windows")
        for event in events:
            native = event.fields
            event.native = {"ecs": native}
            event.fields = to_sigma(native, table, data_source)
    return events


@dataclass(frozen=True)
class CheckOptions:
    """How ``check`` proves the rules (``sigport check``'s options).

    Events: ``events`` for every rule; else generated events (``generate``: about that many per
    rule, 0 for the default count); else each rule's own sample events, generated ones for a
    rule that has none.
    """

    #: JSON-lines files or directories (or other input formats), used for every rule.
    events: tuple[Path, ...] = ()
    #: Field names of ``events``: "sigma" (rendered for each target) or "ecs".
    schema: str = "sigma"
    #: Targets to check; None: every target that has an interpreter.
    targets: tuple[str, ...] | None = None
    #: Extra pipelines (built-in names or pySigma pipeline YAML files), as for ``convert``.
    pipelines: tuple[str, ...] = ()
    #: The shipper that wrote the events (a mapping-table option, e.g. "winlogbeat").
    data_source: str | None = None
    #: Several data sources: each rule is proven on each (``converter.checking.sources``), and a
    #: target counts once, on the data source that proves it. Overrides ``data_source``.
    data_sources: tuple[str, ...] = ()
    #: The user's Elasticsearch mapping file (``--mapping FILE``), for every data source.
    mapping: Path | None = None
    #: A mapping file per data source (``--mapping SOURCE=FILE``): each named data source is
    #: proven with its own file (``mapping`` for the others). Every name must be a data source
    #: of the run.
    source_mappings: tuple[tuple[str, Path], ...] = ()
    generate: int | None = None
    seed: int = 0
    #: Format of ``events`` (default: detected per file).
    input_format: str | None = None
    #: Input caps (``converter.events.bounded.InputLimits``); default caps when None.
    limits: Any = None


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


def check_rules(paths: Iterable[str | Path], options: CheckOptions | None = None) -> CheckReport:
    """Prove on events that each target's query matches exactly what each rule matches.

    Prints nothing; the report says what was found (``CheckReport.exit_code`` is the CLI's).

    Raises:
        converter.errors.ConverterError: an input cannot be read (rules, events, mapping).
    """
    from converter.events.inputs import InputLimits

    opts = options or CheckOptions()
    if len(opts.data_sources) == 1:
        opts = replace(opts, data_source=opts.data_sources[0], data_sources=())
    several = bool(opts.data_sources)
    mappings = _mappings_by_source(opts, several)
    if several and opts.events and opts.schema != "sigma":
        raise ConverterError(
            "--schema ecs reads events written by one data source: give one --data-source"
        )
    events_paths = list(opts.events)
    loaded = load_rules([str(p) for p in paths])
    limits = opts.limits or InputLimits()
    shared = (
        _load_events(events_paths, opts.schema, opts.data_source, opts.input_format, limits)
        if events_paths else None
    )
    events_warnings = list(limits.all_warnings())
    targets = list(opts.targets) if opts.targets is not None else None
    checker: Checker | SourcesChecker = (
        SourcesChecker(targets, list(opts.pipelines), list(opts.data_sources), opts.mapping,
                       mappings)
        if several else
        Checker(targets, list(opts.pipelines), opts.data_source,
                mappings.get(opts.data_source or "", opts.mapping))
    )
    model = _longest_limits(opts, mappings)
    results: list[RuleResult] = []
    bad_input = False
    for item in loaded:
        try:
            result, bad = _check_one(item, shared, events_paths, checker, opts, model, limits)
        except ConverterError:
            raise  # an input that cannot be read stops the run, naming it
        except Exception as exc:  # a bug must cost one rule, not the run (as in convert)
            show_traceback(exc, f"checking {item.path}")
            result = RuleResult(item.id, item.title, item.path, [])
            text = " ".join(str(exc).split())
            result.error = f"internal error: {type(exc).__name__}: {text} (please report it)"
            bad = True
        result.logsource = item.logsource
        results.append(result)
        bad_input = bad_input or bad
    return CheckReport(
        results, checker.targets, limits.all_warnings(), events_warnings, bad_input
    )


def _mappings_by_source(opts: CheckOptions, several: bool) -> dict[str, Path]:
    """``opts.source_mappings`` as a dict, each name checked against the run's data sources."""
    sources = list(opts.data_sources) if several else [opts.data_source or ""]
    for source, path in opts.source_mappings:
        if source not in sources:
            raise ConverterError(
                f"--mapping {source}={path}: {source!r} is not a data source of this run "
                f"({', '.join(s for s in sources if s) or 'none given'})"
            )
    return dict(opts.source_mappings)


def _longest_limits(opts: CheckOptions, mappings: dict[str, Path]) -> Any:
    """The field model whose ``ignore_above`` limits are the longest among the user's mappings
    (None without one): generated long values pass it, so they pass every data source's."""
    from converter.generate.hostile import long_value_length

    files: list[tuple[str | None, Path]] = list(mappings.items())
    if opts.mapping is not None:
        files.append((opts.data_sources[0] if opts.data_sources else opts.data_source,
                      opts.mapping))
    models = [field_model_for(source, path) for source, path in files]
    return max(models, key=long_value_length, default=None)


def _check_one(item: LoadedRule, shared: list[Any] | None, events_paths: list[Any],
               checker: Checker | SourcesChecker, opts: CheckOptions, model: Any,
               limits: InputLimits) -> tuple[RuleResult, bool]:
    """One rule's result, and whether it counts as bad input (exit 2)."""
    own = sample_events_path(item.path)
    if shared is not None:
        events = shared
    elif item.rule is not None and (opts.generate is not None or not own.is_file()):
        from converter.generate.generator import generate_events

        events = generate_events(item.rule, count=opts.generate or None, seed=opts.seed,
                                 carries=checker.carries, field_model=model)
        if not events:
            result = RuleResult(item.id, item.title, item.path, [])
            result.error = (
                "no events: none could be generated for this rule (see its logsource); "
                f"pass --events, or add sample events in {own.name} beside the rule"
            )
            return result, True
    else:
        events = read_jsonl(own, limits) if own.is_file() else []
    if not events and item.error is None:
        # Nothing to prove anything on: never "equivalent" on zero events.
        result = RuleResult(item.id, item.title, item.path, [])
        where = ", ".join(str(p) for p in events_paths) if shared is not None else own.name
        result.error = f"no events: {where} holds no event for this rule; nothing is proven"
        return result, True
    return checker.check(item, events), item.error is not None


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
            table.add_row(
                name,
                ", ".join(map(str, t.matched)) or "-",
                ref,
                _verdict(t),
                escape(t.reason or "; ".join(t.warnings)),
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
