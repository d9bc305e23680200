"""``sigport list targets|pipelines|formats``."""

from __future__ import annotations

from converter.cli.app import main
from converter.cli.common import rich_console


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
    rich_console().print(table)


@list_.command(name="pipelines")
def list_pipelines() -> None:
    """The built-in processing pipelines (mapping tables) and their options."""
    from rich.table import Table

    from converter.mapping.loader import builtin_table_names, load_table

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
    rich_console().print(table)


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
    rich_console().print(table)
