"""``sigport check`` (the proof on events, rule by rule) and ``sigport regress`` (the same
against SigmaHQ's regression data)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from converter.cli.app import DataSourceOption, EXIT_DISAGREE, EXIT_OK, main
from converter.cli.common import (
    OutputPath,
    input_limit_options,
    input_limits,
    parse_data_sources,
    parse_mappings,
    parse_targets,
    progress_bar,
    require_inputs,
    rich_console,
)


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
    "--data-source", "data_sources", multiple=True, metavar="SOURCE", cls=DataSourceOption,
    help="Which shipper wrote the Elastic data (default: defend; one of "
    "{data_sources}). Several (repeated or comma-separated, e.g. defend,windows): "
    "each rule is proven on each data source its targets' tables offer, and a target counts once, "
    "on the first data source that proves it; one that differs on any data source differs.",
)
@click.option(
    "--mapping", "mapping_files", multiple=True, metavar="[SOURCE=]FILE",
    help="Your Elasticsearch mapping (JSON of GET <index>/_mapping), index template or component "
    "template, as for convert: the queries are converted for its fields and the KQL and Lucene "
    "interpreters use its field types and multi-fields (a template completes the data source's "
    "built-in model; an index mapping replaces it). FILE applies to every data source; "
    "SOURCE=FILE (repeatable) to that --data-source only, e.g. --mapping windows=win.json "
    "--mapping defend=endpoint.json.",
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
    "--markdown", type=OutputPath(dir_okay=False, path_type=Path), default=None,
    help="Also write a Markdown summary: per target the share of equivalent rules, and every "
    "rule that is not, with the reason.",
)
@click.option(
    "-w", "--workers", type=click.IntRange(min=1), default=None,
    help="Worker processes checking the rule files (default: 2 when there are "
    "4 or more rule files, else 1). The report is the same for any number.",
)
@input_limit_options
def check(
    paths: tuple[str, ...],
    events_paths: tuple[Path, ...],
    schema: str,
    targets: tuple[str, ...],
    pipelines: tuple[str, ...],
    data_sources: tuple[str, ...],
    mapping_files: tuple[str, ...],
    generate: int | None,
    seed: int,
    input_format: str | None,
    output_format: str,
    markdown: Path | None,
    workers: int | None,
    max_line_bytes: int,
    max_member_bytes: int,
) -> None:
    """Prove on events that each target's query matches exactly what the rule matches.

    Exit 0 when every target agrees with the reference on every event (and the reference with
    every `_expect`), 1 on any disagreement or target that could not be checked, 2 on bad input.
    """
    from converter.api import check
    from converter.checking.run import CheckOptions, print_check
    from converter.checking.workers import MIN_FILES_FOR_POOL
    from converter.rules.load import expand_paths

    sources = parse_data_sources(data_sources)
    mapping_file, source_mappings = parse_mappings(mapping_files, sources)
    inputs = list(expand_paths(paths))
    rule_files = [p for p in inputs if p != "-"]
    # ``-`` is one rule document stream read from standard input (as convert reads it).
    require_inputs(len(inputs), "Sigma rule files (*.yml, *.yaml)", paths)
    if markdown is not None:
        from converter.events.inputs import events_files
        from converter.outputs.files import refuse_inputs

        refuse_inputs([("--markdown", markdown)], [*rule_files, *events_files(events_paths)])
    total = len(inputs)
    count = workers if workers is not None else (2 if total >= MIN_FILES_FOR_POOL else 1)
    options = CheckOptions(
        events=tuple(events_paths), schema=schema,
        targets=tuple(parse_targets(targets)) if targets else None, pipelines=tuple(pipelines),
        data_sources=tuple(sources), mapping=mapping_file, source_mappings=source_mappings,
        generate=generate,
        seed=seed, input_format=input_format, limits=input_limits(max_line_bytes, max_member_bytes),
        workers=count,
    )
    # Not refreshed by a thread: the workers fork while it is shown.
    bar = progress_bar(total, "checking", auto_refresh=False)
    if bar is not None:
        progress, task = bar
        with progress:
            report = check(paths, options,
                           lambda n: (progress.advance(task, n), progress.refresh()))
    else:
        report = check(paths, options)
    for warning in report.events_warnings:
        click.echo(f"sigport: warning: {warning}", err=True)
    if markdown is not None:
        from converter.outputs.files import write_named_file

        write_named_file(markdown, report.markdown())
    print_check(report, output_format)
    sys.exit(report.exit_code)


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
    "--data-source", "data_sources", multiple=True, metavar="SOURCE",
    help="Which shipper wrote the Elastic data, as for check (default: defend). Several (e.g. "
    "defend,windows): each target counts on the first data source where it agrees, and "
    "disagrees if it disagrees on any.",
)
@click.option(
    "--mapping", "mapping_files", multiple=True, metavar="[SOURCE=]FILE",
    help="Your Elasticsearch mapping or template, as for check: FILE for every data source, "
    "SOURCE=FILE (repeatable) for that --data-source only.",
)
@click.option(
    "--known-gaps", type=OutputPath(dir_okay=False, path_type=Path), default=None,
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
    data_sources: tuple[str, ...],
    mapping_files: tuple[str, ...],
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

    sources = parse_data_sources(data_sources)
    mapping_file, source_mappings = parse_mappings(mapping_files, sources)

    require_inputs(
        sum(1 for _ in regression_dir.rglob("info.yml")), "regression data (info.yml)",
        [regression_dir],
    )
    report = run_regress(
        regression_dir, list(rule_dirs),
        targets=parse_targets(targets) if targets else None, use_evtx=use_evtx,
        data_sources=tuple(sources), mapping=mapping_file, source_mappings=dict(source_mappings),
    )
    if known_gaps is not None:
        from converter.outputs.files import write_named_file

        write_named_file(known_gaps, known_gaps_markdown(report))
    if output_format == "json":
        click.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        print_report(report, rich_console())
    numbers = acceptance(report)
    ok = numbers["reference_ok_share"] == 1.0 and numbers["no_target_disagrees_share"] == 1.0
    sys.exit(EXIT_OK if ok else EXIT_DISAGREE)
