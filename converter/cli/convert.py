"""``sigport convert``: rule files to queries, written as they come in, with the summary and
the exit code (3 when some rule was not converted for some target)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from converter.cli.app import DataSourceChoice, EXIT_INPUT, EXIT_PARTIAL, main
from converter.cli.common import (
    OutputPath,
    check_mapping,
    parse_targets,
    progress_bar,
    require_inputs,
    stderr_console,
)


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
    "--data-source", type=DataSourceChoice(), default=None,
    help="Which shipper wrote the Elastic data (ecs-windows pipeline): decides per-source field "
    "names and whether `.caseless` sub-fields exist. Default: defend. For kusto: defender "
    "(Defender XDR tables, default), sentinel (Sentinel SecurityEvent), sentinel-asim "
    "(Sentinel ASIM imProcessCreate) or sentinel-wef (the Security channel in Sentinel's "
    "WindowsEvent). For Linux rules on the Elastic targets: defend (default) "
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
    "-o", "--output", type=OutputPath(), default=None,
    help="Write to FILE, or to DIR (an existing directory or a path ending in '/'), mirroring the "
    "input tree with one file per rule and target. Default: standard output.",
)
@click.option(
    "--report", type=OutputPath(path_type=Path), default=None,
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

    from converter.cli.output import (
        interrupted_report, summary, tree_writer, warning_summary, write_output,
    )
    from converter.api import ConvertOptions
    from converter.api import convert as convert_rules
    from converter.conversion.batch import MIN_FILES_FOR_POOL
    from converter.conversion.result import CONVERTED, ERROR
    from converter.outputs.elasticsearch_kql import unwritable
    from converter.outputs.files import refuse_inputs, write_named_file
    from converter.outputs.formats import FORMATS
    from converter.rules.paths import expand_paths
    from converter.signals import Interrupted, deferred

    names = parse_targets(targets)
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
    check_mapping(data_source, mapping_file)
    inputs = list(expand_paths(paths))
    total = len(inputs)
    require_inputs(total, "Sigma rule files (*.yml, *.yaml)", paths)
    refuse_inputs([("-o", output), ("--report", report)], [i for i in inputs if i != "-"])
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
        conversions = [unwritable(c, output_format) for c in conversions]
        with deferred():
            if writer is not None:
                writer.write(conversions)
            done.extend(conversions)
            files_done[0] += 1

    bar = progress_bar(total, "converting", auto_refresh=False)
    try:
        if bar is not None:
            progress, task = bar
            with progress:
                converted = convert_rules(
                    inputs, names, options,
                    progress=lambda n: (progress.advance(task, n), progress.refresh()),
                    on_file=on_file, alternatives=True, listed=True,
                )
        else:
            converted = convert_rules(inputs, names, options, on_file=on_file,
                                      alternatives=True, listed=True)
    except Interrupted as exc:
        interrupted_report(exc, report, done, inputs, files_done[0], writer is not None)
        raise

    # A query the format cannot hold is a refusal in the output, the summary and the report.
    converted.conversions[:] = [unwritable(c, output_format) for c in converted.conversions]
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
        summary(results, names, stderr_console())
        from converter.conversion.datasource import other_data_sources

        for hint in other_data_sources(results, names, list(pipelines), data_source):
            click.echo(hint.message(), err=True)
    if len(results) > 1 and "kql" in names:
        from converter.outputs.index_template import kql_exactness

        line = kql_exactness(results, list(paths), data_source, mapping_file)
        if line is not None:
            click.echo(line, err=True)
    if not verbose and len(results) > 1:
        warning_summary(results, stderr_console())
    if any(r.status == ERROR for r in results):
        sys.exit(EXIT_INPUT)
    if any(r.status != CONVERTED for r in results):
        sys.exit(EXIT_PARTIAL)
