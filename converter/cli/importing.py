"""``sigport import elastic``: Elastic detection rules imported as Sigma, each proven by a round
trip."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from converter.cli.app import EXIT_INPUT, main
from converter.cli.common import OutputPath, require_inputs, stderr_console


@main.group(name="import")
def import_group() -> None:
    """Import rules written for other tools as Sigma rules."""


@import_group.command(name="elastic")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "-o", "--output", "outdir", required=True, type=OutputPath(file_okay=False, path_type=Path),
    help="Directory for the Sigma rules (mirrors the input tree).",
)
@click.option(
    "--report", type=OutputPath(dir_okay=False, path_type=Path), default=None,
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
    from converter.importer.read import ELASTIC_SUFFIXES

    require_inputs(
        sum(1 for p in paths for f in ([p] if p.is_file() else p.rglob("*"))
            if f.is_file() and (p.is_file() or f.suffix.lower() in ELASTIC_SUFFIXES)),
        "Elastic rule files (*.toml, *.ndjson)", paths,
    )
    result = import_elastic(list(paths), outdir, report)
    counts = result.counts()
    table = Table(title="sigport import elastic")
    for col in ("status", "rules"):
        table.add_column(col)
    for status, count in sorted(counts.items()):
        table.add_row(status, str(count))
    console = stderr_console()
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
