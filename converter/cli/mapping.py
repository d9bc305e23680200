"""``sigport mapping``: the ingest pipeline and index template that make KQL exact for a set of
rules."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from converter.cli.app import main
from converter.cli.common import OutputPath, require_inputs
from converter.mapping.index_mapping import TEMPLATE_SOURCES


@main.command(name="mapping")
@click.argument("paths", nargs=-1, required=True, type=click.Path(allow_dash=True))
@click.option(
    "--data-source", type=click.Choice(TEMPLATE_SOURCES), default="defend",
    show_default=True, help="The Elastic data source whose indices get the caseless copies.",
)
@click.option(
    "-o", "--output", type=OutputPath(dir_okay=False, path_type=Path), default=None,
    help="Write the template JSON to FILE and the ingest pipeline to FILE-pipeline.json "
    "(default: the template on standard output, no pipeline); convert, check and backtest take "
    "the template as --mapping FILE.",
)
def mapping_cmd(paths: tuple[str, ...], data_source: str, output: Path | None) -> None:
    """Write what makes KQL exact for these rules: an ingest pipeline writing a caseless copy
    (lowercased, query_string whitespace swapped for symbols) of every field they test
    case-insensitively, and the template mapping those copies as wildcard fields. The requests
    to run and what it does not cover go to stderr."""
    from converter.outputs.mapping_command import run_mapping
    from converter.rules.load import expand_paths

    require_inputs(len(list(expand_paths(paths))), "Sigma rule files (*.yml, *.yaml)", paths)
    sys.exit(run_mapping(list(paths), data_source, output))
