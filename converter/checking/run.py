"""``sigport check`` as a library call: load rules and events, run the checker, print the report.

Kept out of ``cli.py`` so the command line stays a thin layer; returns the exit code.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from converter.checking.checker import Checker, RuleResult
from converter.errors import EventsError
from converter.events.render import SampleEvent, iter_event_files, read_jsonl, sample_events_path, to_sigma
from converter.mapping.table import load_table
from converter.rules.load import load_rules

EXIT_OK, EXIT_DISAGREE, EXIT_INPUT = 0, 1, 2


def _load_events(
    paths: list[Path], schema: str, data_source: str | None, input_format: str | None = None,
    limits: Any = None,
) -> list[SampleEvent]:
    """Events for every rule: JSON lines keep their ``_expect``; other formats (SigmaHQ regression
    JSON, .evtx, archives) are read and normalised by ``converter.events.inputs``. What the input caps
    skip, and input that reads as no event, is recorded in ``limits`` (an ``InputLimits``)."""
    from converter.events.inputs import detect_format, iter_events

    events: list[SampleEvent] = []
    for path in paths:
        files = iter_event_files([path]) if path.is_dir() else [path]
        for file in files:
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


def run_check(
    paths: list[str],
    events_paths: list[Path],
    schema: str,
    targets: list[str] | None,
    pipelines: list[str],
    data_source: str | None,
    mapping_file: Path | None,
    output_format: str,
    generate: int | None = None,
    seed: int = 0,
    input_format: str | None = None,
    markdown: Path | None = None,
    input_limits: Any = None,
) -> int:
    """Run ``sigport check``; print the report; return the exit code.

    Events: ``--events`` for every rule; else ``--generate`` events; else each rule's own sample
    events, generated ones for a rule that has none.
    """
    from converter.events.inputs import InputLimits

    loaded = load_rules(paths)
    limits = input_limits or InputLimits()
    shared = (
        _load_events(events_paths, schema, data_source, input_format, limits)
        if events_paths else None
    )
    for warning in limits.all_warnings():
        print(f"sigport: warning: {warning}", file=sys.stderr)
    checker = Checker(targets, pipelines, data_source, mapping_file)
    results: list[RuleResult] = []
    bad_input = False
    for item in loaded:
        own = sample_events_path(item.path)
        if shared is not None:
            events = shared
        elif item.rule is not None and (generate is not None or not own.is_file()):
            from converter.generate.generator import generate_events

            events = generate_events(item.rule, count=generate or None, seed=seed,
                                     carries=checker.carries)
            if not events:
                result = RuleResult(item.id, item.title, item.path, [])
                result.error = (
                    "no events: none could be generated for this rule (see its logsource); "
                    f"pass --events, or add sample events in {own.name} beside the rule"
                )
                results.append(result)
                bad_input = True
                continue
        else:
            events = read_jsonl(own, limits) if own.is_file() else []
        if not events and item.error is None:
            # Nothing to prove anything on: never "equivalent" on zero events.
            result = RuleResult(item.id, item.title, item.path, [])
            where = ", ".join(str(p) for p in events_paths) if shared is not None else own.name
            result.error = f"no events: {where} holds no event for this rule; nothing is proven"
            results.append(result)
            bad_input = True
            continue
        result = checker.check(item, events)
        bad_input = bad_input or item.error is not None
        results.append(result)
    if markdown is not None:
        from converter.outputs.files import write_named_file

        write_named_file(markdown, summary_markdown(results, checker.targets))
    if output_format == "json":
        report = {
            "equivalent": bool(results) and all(r.equivalent for r in results),
            "targets": checker.targets,
            "rules": [r.to_json() for r in results],
            "input_warnings": limits.all_warnings(),
        }
        sys.stdout.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    else:
        _print_text(results, checker.targets)
    if bad_input:
        return EXIT_INPUT
    return EXIT_OK if results and all(r.equivalent for r in results) else EXIT_DISAGREE


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


def summary_markdown(results: list[RuleResult], targets: list[str]) -> str:
    """A Markdown report: per target, how many rules are equivalent, differ or were not checked,
    and every rule that is not equivalent with the reason (``check --markdown FILE``)."""
    from collections import Counter

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
