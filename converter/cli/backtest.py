"""``sigport backtest``: event collections replayed against rules, with a progress spinner on a
terminal and the text or JSON report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

import click

from converter.api import BACKTEST_SCHEMA_VERSION
from converter.cli.app import DataSourceChoice, EXIT_DISAGREE, EXIT_OK, main
from converter.cli.process import request_fast_exit
from converter.cli.common import (
    check_mapping,
    input_limit_options,
    input_limits,
    parse_targets,
    require_inputs,
    rich_console,
    stderr_console,
)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--events", "events_paths", multiple=True, required=True,
    type=click.Path(exists=True, path_type=Path),
    help="Events file, directory or archive (repeatable): JSON lines, SigmaHQ regression JSON, "
    ".evtx, .zip/.tar.gz of JSON lines.",
)
@click.option(
    "-t", "--target", "targets", multiple=True,
    help="Target (repeatable, comma-separated, or 'all'). Default: every target with an interpreter.",
)
@click.option("-p", "--pipeline", "pipelines", multiple=True, help="Extra pipelines, as for convert.")
@click.option(
    "--data-source", type=DataSourceChoice(), default=None,
    help="Which shipper wrote the Elastic data (default: defend).",
)
@click.option(
    "--mapping", "mapping_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Your Elasticsearch mapping (JSON of GET <index>/_mapping), index template or component "
    "template, as for check: the queries are converted for its fields, the interpreters use its "
    "field types and multi-fields, and the events carry the copies its ingest pipeline writes.",
)
@click.option(
    "--input-format", type=click.Choice(["jsonl", "sigma-regression", "evtx", "archive"]),
    default=None, help="Format of --events (default: detected per file).",
)
@click.option(
    "--workers", type=click.IntRange(min=1), default=2, show_default=True,
    help="Processes preparing rules and evaluating events.",
)
@click.option(
    "--examples", type=click.IntRange(min=0), default=5, show_default=True,
    help="Disagreeing events kept per rule and target (all are counted).",
)
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text",
    show_default=True, help="text: tables; json: the machine-readable report.",
)
@click.option(
    "--cache/--no-cache", default=True, show_default=True,
    help="Keep each rule's converted and parsed queries in sigport's cache directory "
    "($SIGPORT_CACHE_DIR, else ~/.cache/sigport) and reuse them in later runs with the same "
    "rule file, options and sigport version.",
)
@input_limit_options
def backtest(
    paths: tuple[Path, ...],
    events_paths: tuple[Path, ...],
    targets: tuple[str, ...],
    pipelines: tuple[str, ...],
    data_source: str | None,
    mapping_file: Path | None,
    input_format: str | None,
    workers: int,
    examples: int,
    output_format: str,
    cache: bool,
    max_line_bytes: int,
    max_member_bytes: int,
) -> None:
    """Replay event collections (streamed, constant memory) against rules: hits of the reference
    and of every target's query, and every event where they disagree.

    Exit 0 when no target disagrees with the reference and every verdict was decided, 1 otherwise
    (a disagreement, or an event whose match ran past the time limit), 2 on bad input (also: no
    event read at all).
    """
    from contextlib import nullcontext

    from converter.api import backtest as run_backtest
    from converter.backtesting.run import fewer_collections
    from converter.backtesting.report import print_report
    from converter.rules.load import expand_paths

    require_inputs(len(list(expand_paths(paths))), "Sigma rule files (*.yml, *.yaml)", paths)
    check_mapping(data_source, mapping_file)
    bar: Any = None
    callback: Any = None
    if sys.stderr.isatty():
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        bar = Progress(
            SpinnerColumn(), TextColumn("backtest: {task.completed:,} events"),
            TimeElapsedColumn(), console=stderr_console(), transient=True, auto_refresh=False,
        )
        task = bar.add_task("events", total=None)

        def advance(done: int) -> None:
            bar.update(task, completed=done)
            bar.refresh()

        callback = advance

    with bar or nullcontext():
        report = run_backtest(
            list(paths), list(events_paths),
            targets=parse_targets(targets) if targets else None,
            data_source=data_source, mapping=mapping_file, input_format=input_format,
            workers=workers, progress=callback, pipelines=list(pipelines), max_examples=examples,
            limits=input_limits(max_line_bytes, max_member_bytes), cache=cache,
        )
    for warning in report.input_warnings:
        click.echo(f"sigport: warning: {warning}", err=True)
    if output_format == "json":
        # Built with the collector as during the run (18 MB for the SigmaHQ process_creation
        # rules): at Python's default thresholds it took a third of the 0.36 CPU s.
        with fewer_collections():
            data = {"schema_version": BACKTEST_SCHEMA_VERSION, **report.to_json()}
            # Written to the stream as it is, flushed once: ``click.echo`` flushed after
            # every piece (one write call per rule) and searched each for ANSI escapes,
            # which JSON never holds (the encoder writes ESC as \\u001b).
            _write_json(data, sys.stdout.write)
            sys.stdout.flush()
    else:
        print_report(report, rich_console())
    # Nothing was evaluated: no evidence either way, never a pass.
    require_inputs(report.events, "events", events_paths)
    disagree = any(t.disagreements for r in report.rules for t in r.targets.values())
    # Everything is written: the process may end without freeing the run's objects.
    request_fast_exit()
    sys.exit(EXIT_DISAGREE if disagree or report.undecided else EXIT_OK)


def _write_json(data: dict[str, Any], write: Callable[[str], Any]) -> None:
    """Write the JSON report and a newline, piece by piece, with ``write``: one top-level key a
    line, and one rule a line under ``rules``.

    Written by json's C encoder (``indent=`` takes its pure-Python one: 0.20 against 0.12 CPU s
    for the 18 MB report of the SigmaHQ process_creation rules), and still read by eye or by
    line tools (a rule's verdicts are on its line). Piece by piece: one joined text (17-27 MB)
    was copied again by the join and by ``click.echo`` adding its newline (all Windows: 0.31 ->
    0.17 CPU s to write). ``click.echo`` strips ANSI escapes when piped: none is left in JSON,
    which writes every control character, ESC too, as ``\\u``."""
    import json

    dump = json.JSONEncoder(ensure_ascii=False).encode
    write("{")
    for n, (key, value) in enumerate(data.items()):
        write((",\n" if n else "") + dump(key) + ": ")
        if key == "rules" and isinstance(value, list) and value:
            write("[\n")
            for i, rule in enumerate(value):
                if i:
                    write(",\n")
                write(dump(rule))
            write("\n]")
        else:
            write(dump(value))
    write("}\n")
