"""What several ``sigport`` commands share: consoles, progress bars, the parsing of
``--target`` and ``--data-source`` values, the input-limit options, the output-path type and the
one-line exit when the inputs hold nothing to work on."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Iterable

import click

from converter.cli.app import DATA_SOURCES, EXIT_INPUT


class OutputPath(click.Path):
    """``click.Path`` for a file or directory a command writes: an empty path is refused as a
    usage error before anything runs (it names nothing; read as the current directory it made
    ``-o ''`` write a tree there, and ``--report ''`` fail after the run)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The path, or a usage error when it is empty."""
        if isinstance(value, (str, os.PathLike)) and os.fspath(value) == "":
            self.fail("an empty path names no file to write", param, ctx)
        return super().convert(value, param, ctx)


def stderr_console() -> Any:
    """A rich console on stderr (progress, summaries: stdout stays the command's output)."""
    return rich_console(stderr=True)


def rich_console(stderr: bool = False) -> Any:
    """A rich console (``converter/console.py``: full width when piped)."""
    from converter.console import console

    return console(stderr=stderr)


def check_mapping(data_source: str | None, mapping_file: Path | None) -> None:
    """Read ``--mapping`` once, before any work: an unusable file is one error naming it."""
    if mapping_file is not None:
        from converter.mapping.index_mapping import field_model_for

        field_model_for(data_source, mapping_file)


def require_inputs(found: int, what: str, paths: Iterable[Any]) -> None:
    """Exit 2 with one line when the inputs hold nothing to work on (the same in every command)."""
    if found:
        return
    names = ", ".join(str(p) for p in paths) or "(none)"
    click.echo(f"sigport: error: no {what} found in {names}", err=True)
    sys.exit(EXIT_INPUT)


def progress_bar(total: int, label: str, auto_refresh: bool = True) -> Any:
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
        console=stderr_console(),
        transient=True,
        auto_refresh=auto_refresh,
    )
    return progress, progress.add_task(label, total=total)


def parse_data_sources(values: Iterable[str]) -> list[str]:
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


def parse_mappings(
    values: Iterable[str], data_sources: list[str]
) -> tuple[Path | None, tuple[tuple[str, Path], ...]]:
    """``check --mapping`` values: ``FILE`` (every data source) or ``SOURCE=FILE`` (that data
    source only, one of ``data_sources``), repeatable.

    Returns the mapping for every data source (at most one) and the per-source ones, in order.
    A value naming an existing file is a file even when it holds ``=``.
    """
    common: Path | None = None
    per_source: dict[str, Path] = {}
    for value in values:
        source, sep, name = value.partition("=")
        if Path(value).is_file() or not sep:
            if common is not None:
                raise click.BadParameter(
                    f"two mappings for every data source ({common}, {value}); name the data "
                    "source of each: --mapping SOURCE=FILE", param_hint="--mapping",
                )
            common = _existing_file(value)
            continue
        source = source.strip()
        if source not in data_sources:
            known = ", ".join(data_sources) if data_sources else "none given"
            raise click.BadParameter(
                f"{value!r}: {source!r} is not one of this run's data sources ({known}); "
                "give it with --data-source", param_hint="--mapping",
            )
        if source in per_source:
            raise click.BadParameter(
                f"two mappings for data source {source!r} ({per_source[source]}, {name})",
                param_hint="--mapping",
            )
        per_source[source] = _existing_file(name)
    return common, tuple(per_source.items())


def _existing_file(name: str) -> Path:
    """``name`` as a path, which must be a readable file (``--mapping``)."""
    path = Path(name)
    if not path.is_file():
        raise click.BadParameter(f"mapping file {name!r} does not exist or is not a file",
                                 param_hint="--mapping")
    return path


def parse_targets(values: Iterable[str]) -> list[str]:
    """``-t/--target`` values, repeated or comma-separated, each a known target or ``all``."""
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


def input_limit_options(command: Any) -> Any:
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


def input_limits(max_line_bytes: int, max_member_bytes: int) -> Any:
    """The ``InputLimits`` of the options ``input_limit_options`` adds."""
    from converter.events.bounded import InputLimits

    return InputLimits(max_line_bytes=max_line_bytes, max_member_bytes=max_member_bytes)
