"""The ``sigport`` command line: a thin click layer over the library.

Library errors become one-line messages on stderr with a documented exit code, never tracebacks
(``--debug`` shows them). Exit codes:

* 0: everything converted (``convert``) / every target equivalent (``check``);
* 1: ``check`` found a disagreement;
* 2: bad usage or bad input (unknown target, unreadable or invalid rule file, ...);
* 3: ``convert`` could not convert some rules for some targets (unsupported), the rest was written.
* 130 / 143: interrupted by SIGINT / SIGTERM (128 + the signal number): the worker processes are
  stopped, every file already written is whole, and ``convert --report`` says what was done.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Iterable

import click

from converter.api import BACKTEST_SCHEMA_VERSION, REPORT_SCHEMA_VERSION
from backends.errors import SigportError

#: --data-source values: each applies to the mapping tables that offer it (Elastic: defend,
#: windows, winlogbeat, sysmon_linux; Kusto: defender, sentinel, sentinel-asim).
DATA_SOURCES = [
    "defend", "windows", "winlogbeat", "defender", "sentinel", "sentinel-asim", "sysmon_linux",
]

EXIT_OK = 0
EXIT_DISAGREE = 1
EXIT_INPUT = 2
EXIT_PARTIAL = 3


class SigportGroup(click.Group):
    """Turns library errors into one-line messages and exit code 2, signals into 130 / 143."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; render a ``SigportError`` (any layer's) as one ``sigport: error: ...``
        line, any other exception as an internal error (a bug), and a SIGINT or
        SIGTERM as ``sigport: interrupted by ...`` with exit code 130 / 143."""
        from converter.signals import Interrupted, exit_after_interrupt, handle_signals

        restore = handle_signals()
        try:
            return super().invoke(ctx)
        except Interrupted as exc:
            detail = getattr(exc, "detail", "")
            click.echo(f"sigport: {exc}" + (f": {detail}" if detail else ""), err=True)
            exit_after_interrupt(exc.exit_code)
            ctx.exit(exc.exit_code)
        except SigportError as exc:
            if ctx.params.get("debug"):
                raise
            click.echo(f"sigport: error: {exc.one_line()}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except OSError as exc:  # the system refused a read or write (ENOSPC, EACCES, ...)
            if ctx.params.get("debug"):
                raise
            # Writes of output files name their file (OutputError); this is the net for the
            # rest, e.g. standard output on a full disk.
            text = exc.strerror or " ".join(str(exc).split())
            where = f"{exc.filename}: " if exc.filename is not None else "cannot read or write: "
            click.echo(f"sigport: error: {where}{text}", err=True)
            ctx.exit(EXIT_INPUT)
        except Exception as exc:  # a bug: still one line, with the way to get the traceback
            if ctx.params.get("debug"):
                raise
            text = " ".join(str(exc).split())
            click.echo(
                f"sigport: internal error: {type(exc).__name__}: {text} "
                "(run with --debug for the traceback and report it)",
                err=True,
            )
            ctx.exit(EXIT_INPUT)
        finally:
            restore()


@click.group(cls=SigportGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show Python tracebacks for errors (for bug reports).")
@click.version_option(package_name="sigport")
def main(debug: bool) -> None:
    """Convert Sigma rules to EQL, KQL, Lucene, ES|QL and Splunk SPL, and prove on events that
    each query matches exactly what the rule matches."""


def _stderr_console() -> Any:
    return _console(stderr=True)


def _console(stderr: bool = False) -> Any:
    """A rich console (``converter/console.py``: full width when piped)."""
    from converter.console import console

    return console(stderr=stderr)


def _check_mapping(data_source: str | None, mapping_file: Path | None) -> None:
    """Read ``--mapping`` once, before any work: an unusable file is one error naming it."""
    if mapping_file is not None:
        from converter.mapping.index_mapping import field_model_for

        field_model_for(data_source, mapping_file)


def _require_inputs(found: int, what: str, paths: Iterable[Any]) -> None:
    """Exit 2 with one line when the inputs hold nothing to work on (the same in every command)."""
    if found:
        return
    names = ", ".join(str(p) for p in paths) or "(none)"
    click.echo(f"sigport: error: no {what} found in {names}", err=True)
    sys.exit(EXIT_INPUT)


def _progress(total: int, label: str, auto_refresh: bool = True) -> Any:
    """A rich progress bar on a terminal; a no-op when stderr is piped or the job is small.

    ``auto_refresh=False`` for jobs that fork worker processes: no refresh thread at fork time.
    """
    if total < 2 or not sys.stderr.isatty():
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    progress = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_stderr_console(),
        transient=True,
        auto_refresh=auto_refresh,
    )
    return progress, progress.add_task(label, total=total)


def _data_sources(values: Iterable[str]) -> list[str]:
    """``--data-source`` values, repeated or comma-separated, each a known data source."""
    out: list[str] = []
    for value in values:
        for name in value.split(","):
            name = name.strip()
            if name not in DATA_SOURCES:
                raise click.BadParameter(
                    f"unknown data source {name!r}; known: {', '.join(DATA_SOURCES)}",
                    param_hint="--data-source",
                )
            if name not in out:
                out.append(name)
    return out


def _targets(values: Iterable[str]) -> list[str]:
    from backends import TARGETS

    out: list[str] = []
    for value in values:
        for name in value.split(","):
            name = name.strip()
            if name == "all":
                out.extend(t for t in TARGETS if t not in out)
            elif name not in TARGETS:
                raise click.BadParameter(
                    f"unknown target {name!r}; known: {', '.join(TARGETS)} or all",
                    param_hint="-t/--target",
                )
            elif name not in out:
                out.append(name)
    return out


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(allow_dash=True))
@click.option(
    "-t", "--target", "targets", multiple=True, required=True,
    help="Target language (repeatable, comma-separated, or 'all'); see `sigport list targets`.",
)
@click.option(
    "-p", "--pipeline", "pipelines", multiple=True,
    help="Processing pipeline: a built-in name or a pySigma pipeline YAML file (repeatable). "
    "Files run after the target's default pipeline; naming a built-in replaces the default.",
)
@click.option(
    "--data-source", type=click.Choice(DATA_SOURCES), default=None,
    help="Which shipper wrote the Elastic data (ecs-windows pipeline): decides per-source field "
    "names and whether `.caseless` sub-fields exist. Default: defend. For kusto: defender "
    "(Defender XDR tables, default), sentinel (Sentinel SecurityEvent) or sentinel-asim "
    "(Sentinel ASIM imProcessCreate). For Linux rules on the Elastic targets: defend (default) "
    "or sysmon_linux (Sysmon for Linux integration).",
)
@click.option(
    "--mapping", "mapping_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Your Elasticsearch mapping (JSON of GET <index>/_mapping), index template or component "
    "template (as `sigport mapping` writes): KQL and Lucene query the lowercase-normalised "
    "keyword multi-fields it offers, whatever their names.",
)
@click.option(
    "-f", "--format", "output_format", default="default", show_default=True,
    help="Output format; see `sigport list formats`.",
)
@click.option(
    "-o", "--output", type=click.Path(), default=None,
    help="Write to FILE, or to DIR (an existing directory or a path ending in '/'), mirroring the "
    "input tree with one file per rule and target. Default: standard output.",
)
@click.option(
    "--report", type=click.Path(path_type=Path), default=None,
    help="Write a JSON report with one entry per rule and target (status and reason).",
)
@click.option(
    "-w", "--workers", type=click.IntRange(min=1), default=None,
    help="Worker processes (default: 2 when there are 16 or more rule files, else 1).",
)
@click.option(
    "--splunk-es", is_flag=True,
    help="savedsearches: also write Splunk Enterprise Security correlation search keys.",
)
@click.option(
    "-v", "--verbose", is_flag=True,
    help="List every warning with its rule (default: warnings counted by kind).",
)
@click.option(
    "--cache/--no-cache", default=True, show_default=True,
    help="Keep each rule file's results in sigport's cache directory ($SIGPORT_CACHE_DIR, else "
    "~/.cache/sigport) and reuse them in later runs with the same file, options and sigport "
    "version.",
)
def convert(
    paths: tuple[str, ...],
    targets: tuple[str, ...],
    pipelines: tuple[str, ...],
    data_source: str | None,
    mapping_file: Path | None,
    output_format: str,
    output: str | None,
    report: Path | None,
    workers: int | None,
    splunk_es: bool,
    verbose: bool,
    cache: bool,
) -> None:
    """Convert Sigma rules (files, directories searched recursively, or - for stdin)."""
    from backends import TARGETS

    from converter.cli_output import (
        interrupted_report, summary, tree_writer, warning_summary, write_output,
    )
    from converter.api import ConvertOptions
    from converter.api import convert as convert_rules
    from converter.conversion.batch import MIN_FILES_FOR_POOL
    from converter.conversion.convert import CONVERTED, ERROR
    from converter.outputs.files import write_named_file
    from converter.outputs.formats import FORMATS
    from converter.rules.load import expand_paths
    from converter.signals import Interrupted, deferred

    names = _targets(targets)
    if output_format not in FORMATS:
        raise click.BadParameter(
            f"unknown format {output_format!r}; known: {', '.join(FORMATS)}", param_hint="-f/--format"
        )
    for name in names:
        if output_format not in TARGETS[name].formats:
            raise click.BadParameter(
                f"format {output_format!r} is not available for target {name} "
                f"(it has: {', '.join(TARGETS[name].formats)})",
                param_hint="-f/--format",
            )
    _check_mapping(data_source, mapping_file)
    inputs = list(expand_paths(paths))
    total = len(inputs)
    _require_inputs(total, "Sigma rule files (*.yml, *.yaml)", paths)
    count = workers if workers is not None else (2 if total >= MIN_FILES_FOR_POOL else 1)
    options = ConvertOptions(tuple(pipelines), data_source, mapping_file, count, cache)
    roots = [Path(p) for p in paths if p != "-"]
    # One file per rule and target: written as the conversions come in, while the workers
    # convert the rest; other outputs are rendered from all the results at the end.
    render_options = {"data_source": data_source, "splunk_es": splunk_es}
    writer = tree_writer(output, output_format, roots, render_options)
    done: list[Any] = []  # conversions of the input files finished (and written), in order
    files_done = [0]

    def on_file(conversions: list[Any]) -> None:
        # A signal waits until the file is written and counted: the report then lists exactly
        # the files on disk.
        with deferred():
            if writer is not None:
                writer.write(conversions)
            done.extend(conversions)
            files_done[0] += 1

    bar = _progress(total, "converting", auto_refresh=False)
    try:
        if bar is not None:
            progress, task = bar
            with progress:
                converted = convert_rules(
                    paths, names, options,
                    progress=lambda n: (progress.advance(task, n), progress.refresh()),
                    on_file=on_file, alternatives=True,
                )
        else:
            converted = convert_rules(paths, names, options, on_file=on_file, alternatives=True)
    except Interrupted as exc:
        interrupted_report(exc, report, done, inputs, files_done[0], writer is not None)
        raise

    results, summaries = converted.conversions, converted.rules
    if writer is None:
        text = write_output(results, names, output_format, output, roots, render_options)
        if text is not None:
            click.echo(text, nl=False)
    collisions = writer.collisions if writer is not None else []
    for path, target, wanted, written in collisions:
        click.echo(
            f"{path}: {target}: warning: {wanted} is the output of another input file; "
            f"written to {written}",
            err=True,
        )
    if report is not None:
        document = converted.report()
        if collisions:
            document["collisions"] = [
                {"path": p, "target": t, "wanted": str(w), "written": str(f)}
                for p, t, w, f in collisions
            ]
        write_named_file(report, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    for r in results:
        if r.status != CONVERTED:
            click.echo(f"{r.path}: {r.target}: {r.status}: {r.reason}", err=True)
        if verbose or len(results) == 1:
            for warning in r.warnings:
                click.echo(f"{r.path}: {r.target}: warning: {warning}", err=True)
    if len(summaries) > 1 or any(r.status != CONVERTED for r in results):
        summary(results, names, _stderr_console())
        from converter.conversion.datasource import other_data_sources

        for hint in other_data_sources(results, names, list(pipelines), data_source):
            click.echo(hint.message(), err=True)
    if len(results) > 1 and "kql" in names:
        from converter.outputs.index_template import kql_exactness

        line = kql_exactness(results, list(paths), data_source, mapping_file)
        if line is not None:
            click.echo(line, err=True)
    if not verbose and len(results) > 1:
        warning_summary(results, _stderr_console())
    if any(r.status == ERROR for r in results):
        sys.exit(EXIT_INPUT)
    if any(r.status != CONVERTED for r in results):
        sys.exit(EXIT_PARTIAL)


def _input_limit_options(command: Any) -> Any:
    """``--max-line-bytes`` and ``--max-member-bytes`` (``converter.events.inputs.InputLimits``)."""
    from converter.events.bounded import MAX_LINE_BYTES, MAX_MEMBER_BYTES

    command = click.option(
        "--max-member-bytes", type=click.IntRange(min=1), default=MAX_MEMBER_BYTES,
        show_default=True, help="Decompressed bytes read from one archive member; the rest is "
        "skipped with a warning.",
    )(command)
    return click.option(
        "--max-line-bytes", type=click.IntRange(min=1), default=MAX_LINE_BYTES,
        show_default=True, help="Longest events line (or JSON object) read; a longer one is "
        "skipped with a warning.",
    )(command)


def _input_limits(max_line_bytes: int, max_member_bytes: int) -> Any:
    from converter.events.bounded import InputLimits

    return InputLimits(max_line_bytes=max_line_bytes, max_member_bytes=max_member_bytes)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(allow_dash=True))
@click.option(
    "--events", "events_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
    help="JSON-lines events file or directory (repeatable). Default: each rule's own sample "
    "events beside it (<rule>.events.jsonl).",
)
@click.option(
    "--schema", type=click.Choice(["sigma", "ecs"]), default="sigma", show_default=True,
    help="Field names of the --events: Sigma taxonomy (rendered for each target), or ECS "
    "(used as is for Elastic targets, mapped back for the reference).",
)
@click.option(
    "-t", "--target", "targets", multiple=True,
    help="Target to check (repeatable, comma-separated, or 'all'). Default: every target that "
    "has an interpreter.",
)
@click.option("-p", "--pipeline", "pipelines", multiple=True, help="Extra pipelines, as for convert.")
@click.option(
    "--data-source", "data_sources", multiple=True, metavar="SOURCE",
    help="Which shipper wrote the Elastic data (default: defend; one of "
    + ", ".join(DATA_SOURCES) + "). Several (repeated or comma-separated, e.g. defend,windows): "
    "each rule is proven on each data source its targets' tables offer, and a target counts once, "
    "on the first data source that proves it; one that differs on any data source differs.",
)
@click.option(
    "--mapping", "mapping_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Your Elasticsearch mapping (JSON of GET <index>/_mapping), index template or component "
    "template, as for convert: the queries are converted for its fields and the KQL and Lucene "
    "interpreters use its field types and multi-fields (a template completes the data source's "
    "built-in model; an index mapping replaces it).",
)
@click.option(
    "--generate", "generate", type=int, is_flag=False, flag_value=0, default=None,
    metavar="[N]",
    help="Check on events generated from each rule (positives and near misses); N asks for about "
    "N events per rule (default: a few tens). Rules without sample events get generated ones anyway.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --generate.")
@click.option(
    "--input-format", type=click.Choice(["jsonl", "sigma-regression", "evtx", "archive"]),
    default=None, help="Format of --events (default: detected from the suffix and content).",
)
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text",
    show_default=True, help="text: tables and disagreements; json: the machine-readable report.",
)
@click.option(
    "--markdown", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Also write a Markdown summary: per target the share of equivalent rules, and every "
    "rule that is not, with the reason.",
)
@_input_limit_options
def check(
    paths: tuple[str, ...],
    events_paths: tuple[Path, ...],
    schema: str,
    targets: tuple[str, ...],
    pipelines: tuple[str, ...],
    data_sources: tuple[str, ...],
    mapping_file: Path | None,
    generate: int | None,
    seed: int,
    input_format: str | None,
    output_format: str,
    markdown: Path | None,
    max_line_bytes: int,
    max_member_bytes: int,
) -> None:
    """Prove on events that each target's query matches exactly what the rule matches.

    Exit 0 when every target agrees with the reference on every event (and the reference with
    every `_expect`), 1 on any disagreement or target that could not be checked, 2 on bad input.
    """
    from converter.api import check
    from converter.checking.run import CheckOptions, print_check
    from converter.rules.load import expand_paths

    _require_inputs(len(list(expand_paths(paths))), "Sigma rule files (*.yml, *.yaml)", paths)
    report = check(paths, CheckOptions(
        events=tuple(events_paths), schema=schema,
        targets=tuple(_targets(targets)) if targets else None, pipelines=tuple(pipelines),
        data_sources=tuple(_data_sources(data_sources)), mapping=mapping_file, generate=generate,
        seed=seed, input_format=input_format, limits=_input_limits(max_line_bytes, max_member_bytes),
    ))
    for warning in report.events_warnings:
        click.echo(f"sigport: warning: {warning}", err=True)
    if markdown is not None:
        from converter.outputs.files import write_named_file

        write_named_file(markdown, report.markdown())
    print_check(report, output_format)
    sys.exit(report.exit_code)


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
    "--data-source", type=click.Choice(DATA_SOURCES), default=None,
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
@_input_limit_options
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
    import json
    from contextlib import nullcontext

    from converter.api import backtest as run_backtest
    from converter.backtesting.report import print_report
    from converter.rules.load import expand_paths

    _require_inputs(len(list(expand_paths(paths))), "Sigma rule files (*.yml, *.yaml)", paths)
    _check_mapping(data_source, mapping_file)
    bar: Any = None
    callback: Any = None
    if sys.stderr.isatty():
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        bar = Progress(
            SpinnerColumn(), TextColumn("backtest: {task.completed:,} events"),
            TimeElapsedColumn(), console=_stderr_console(), transient=True, auto_refresh=False,
        )
        task = bar.add_task("events", total=None)

        def advance(done: int) -> None:
            bar.update(task, completed=done)
            bar.refresh()

        callback = advance

    with bar or nullcontext():
        report = run_backtest(
            list(paths), list(events_paths),
            targets=_targets(targets) if targets else None,
            data_source=data_source, mapping=mapping_file, input_format=input_format,
            workers=workers, progress=callback, pipelines=list(pipelines), max_examples=examples,
            limits=_input_limits(max_line_bytes, max_member_bytes), cache=cache,
        )
    for warning in report.input_warnings:
        click.echo(f"sigport: warning: {warning}", err=True)
    if output_format == "json":
        data = {"schema_version": BACKTEST_SCHEMA_VERSION, **report.to_json()}
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        print_report(report, _console())
    # Nothing was evaluated: no evidence either way, never a pass.
    _require_inputs(report.events, "events", events_paths)
    disagree = any(t.disagreements for r in report.rules for t in r.targets.values())
    sys.exit(EXIT_DISAGREE if disagree or report.undecided else EXIT_OK)


@main.command()
@click.argument(
    "regression_dir", type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option(
    "--rules", "rule_dirs", multiple=True, required=True,
    type=click.Path(exists=True, path_type=Path),
    help="Rule directories where each rule is found by its id (repeatable).",
)
@click.option("-t", "--target", "targets", multiple=True, help="Target (repeatable, or 'all').")
@click.option("--evtx", "use_evtx", is_flag=True, help="Read the .evtx files, not their .json twins.")
@click.option(
    "--known-gaps", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Write KNOWN_GAPS.md: every rule where the reference misses match_count or a target "
    "disagrees or cannot be checked, with the reason.",
)
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text",
    show_default=True, help="text: a table; json: the machine-readable report.",
)
def regress(
    regression_dir: Path,
    rule_dirs: tuple[Path, ...],
    targets: tuple[str, ...],
    use_evtx: bool,
    known_gaps: Path | None,
    output_format: str,
) -> None:
    """Check every rule that has SigmaHQ regression data (REGRESSION_DIR, e.g. SigmaHQ's
    regression_data folder): expected match_count, reference hits, each target's hits and verdict.

    Exit 0 when the reference reaches match_count for every Windows process_creation rule and no
    target disagrees with it, 1 otherwise.
    """
    import json

    from converter.checking.regress import acceptance, known_gaps_markdown, print_report, run_regress

    _require_inputs(
        sum(1 for _ in regression_dir.rglob("info.yml")), "regression data (info.yml)",
        [regression_dir],
    )
    report = run_regress(
        regression_dir, list(rule_dirs),
        targets=_targets(targets) if targets else None, use_evtx=use_evtx,
    )
    if known_gaps is not None:
        from converter.outputs.files import write_named_file

        write_named_file(known_gaps, known_gaps_markdown(report))
    if output_format == "json":
        click.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        print_report(report, _console())
    numbers = acceptance(report)
    ok = numbers["reference_ok_share"] == 1.0 and numbers["no_target_disagrees_share"] == 1.0
    sys.exit(EXIT_OK if ok else EXIT_DISAGREE)


@main.command(name="mapping")
@click.argument("paths", nargs=-1, required=True, type=click.Path(allow_dash=True))
@click.option(
    "--data-source", type=click.Choice(["defend", "windows", "winlogbeat"]), default="defend",
    show_default=True, help="The Elastic data source whose indices get the caseless copies.",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Write the template JSON to FILE and the ingest pipeline to FILE-pipeline.json "
    "(default: the template on standard output, no pipeline); convert, check and backtest take "
    "the template as --mapping FILE.",
)
def mapping_cmd(paths: tuple[str, ...], data_source: str, output: Path | None) -> None:
    """Write what makes KQL exact for these rules: an ingest pipeline writing a caseless copy
    (lowercased, query_string whitespace swapped for symbols) of every field they test
    case-insensitively, and the template mapping those copies as wildcard fields. The requests
    to run and what it does not cover go to stderr."""
    from converter.outputs.index_template import run_mapping
    from converter.rules.load import expand_paths

    _require_inputs(len(list(expand_paths(paths))), "Sigma rule files (*.yml, *.yaml)", paths)
    sys.exit(run_mapping(list(paths), data_source, output))


@main.group(name="import")
def import_group() -> None:
    """Import rules written for other tools as Sigma rules."""


@import_group.command(name="elastic")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "-o", "--output", "outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
    help="Directory for the Sigma rules (mirrors the input tree).",
)
@click.option(
    "--report", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Write the JSON report (one entry per rule: verified / imported / not_importable / error).",
)
def import_elastic_cmd(paths: tuple[Path, ...], outdir: Path, report: Path | None) -> None:
    """Import Elastic detection rules (detection-rules TOML, Kibana NDJSON export) as Sigma.

    Each imported rule is proven by a round trip on generated events: the original query, the
    Sigma reference and sigport's EQL (and KQL where KQL can express it) must agree ("verified").
    Exit 0 when no rule ended in error, 2 otherwise.
    """
    from rich.table import Table

    from converter.api import import_elastic

    _require_inputs(
        sum(1 for p in paths for f in ([p] if p.is_file() else p.rglob("*"))
            if f.is_file() and (p.is_file() or f.suffix in {".toml", ".ndjson"})),
        "Elastic rule files (*.toml, *.ndjson)", paths,
    )
    result = import_elastic(list(paths), outdir, report)
    counts = result.counts()
    table = Table(title="sigport import elastic")
    for col in ("status", "rules"):
        table.add_column(col)
    for status, count in sorted(counts.items()):
        table.add_row(status, str(count))
    console = _stderr_console()
    console.print(table)
    reasons = result.reasons()
    if reasons:
        why = Table(title="not verified, by reason")
        for col in ("count", "status", "reason"):
            why.add_column(col, overflow="fold")
        for (status, group), count in reasons.most_common():
            why.add_row(str(count), status, group)
        console.print(why)
    if counts.get("error"):
        sys.exit(EXIT_INPUT)


@main.group(name="list")
def list_() -> None:
    """List targets, pipelines or output formats."""


@list_.command(name="targets")
def list_targets() -> None:
    """The target languages, their default pipelines and formats."""
    from rich.table import Table

    from backends import TARGETS

    table = Table(title="sigport targets")
    for col in ("target", "description", "default pipeline", "formats", "checked by"):
        table.add_column(col, overflow="fold")
    for spec in TARGETS.values():
        checked = "interpreter" if spec.parser else f"not checked: {spec.no_interpreter_reason}"
        table.add_row(spec.name, spec.description, spec.pipeline, ", ".join(spec.formats), checked)
    _console().print(table)


@list_.command(name="pipelines")
def list_pipelines() -> None:
    """The built-in processing pipelines (mapping tables) and their options."""
    from rich.table import Table

    from converter.mapping.table import builtin_table_names, load_table

    table = Table(title="sigport pipelines")
    for col in ("pipeline", "description", "logsources", "options"):
        table.add_column(col, overflow="fold")
    for name in builtin_table_names():
        t = load_table(name)
        options = "; ".join(
            f"{k}: {', '.join(v.get('choices', []))} (default {v.get('default')})"
            for k, v in t.options.items()
        )
        joins = f" (its logsources join the {t.extends} pipeline)" if t.extends else ""
        table.add_row(name, t.description + joins, ", ".join(e.id for e in t.logsources), options or "-")
    _console().print(table)


@list_.command(name="formats")
def list_formats() -> None:
    """The output formats and the targets that offer them."""
    from rich.table import Table

    from backends import TARGETS

    formats: dict[str, tuple[str, list[str]]] = {}
    for spec in TARGETS.values():
        for fmt, description in spec.formats.items():
            formats.setdefault(fmt, (description, []))[1].append(spec.name)
    table = Table(title="sigport formats")
    for col in ("format", "targets", "description"):
        table.add_column(col, overflow="fold")
    for fmt, (description, names) in formats.items():
        table.add_row(fmt, ", ".join(names), description)
    _console().print(table)


if __name__ == "__main__":  # pragma: no cover
    main()
