"""The ``sigport`` command group, its error handling and exit codes (``converter.cli``).

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

from typing import Any, Iterator

import click

from backends.errors import SigportError


class _DeclaredDataSources:
    """The ``--data-source`` values: every data source the mapping tables declare
    (``converter.mapping.loader.declared_data_sources``; each value applies to the tables that
    offer it), read the first time one is needed (a value parsed, help shown), not when the
    CLI starts: loading every table costs about 0.3 CPU s."""

    def __init__(self) -> None:
        self._names: list[str] | None = None

    def _all(self) -> list[str]:
        if self._names is None:
            from converter.mapping.loader import declared_data_sources

            self._names = declared_data_sources()
        return self._names

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __contains__(self, name: object) -> bool:
        return name in self._all()

    def __len__(self) -> int:
        return len(self._all())


DATA_SOURCES = _DeclaredDataSources()


class DataSourceChoice(click.Choice):  # type: ignore[type-arg]
    """``click.Choice`` over ``DATA_SOURCES``, read when a value is parsed or help is shown."""

    def __init__(self) -> None:
        """No choices are read here (``choices`` reads them)."""
        super().__init__((), case_sensitive=True)

    @property  # type: ignore[override]
    def choices(self) -> tuple[str, ...]:
        """Every declared data source."""
        return tuple(DATA_SOURCES)

    @choices.setter
    def choices(self, value: Any) -> None:
        """``click.Choice.__init__`` sets the choices: they are ``DATA_SOURCES``'."""


class DataSourceOption(click.Option):
    """An option whose help names ``DATA_SOURCES`` where it says ``{data_sources}``, filled in
    when the help is shown."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        """The help record, with the data sources listed."""
        if self.help and "{data_sources}" in self.help:
            self.help = self.help.replace("{data_sources}", ", ".join(DATA_SOURCES))
        return super().get_help_record(ctx)

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
        import os

        from converter.errors import DEBUG_ENV
        from converter.signals import Interrupted, exit_after_interrupt, handle_signals

        restore = handle_signals()
        # The bugs a batch catches to go on print their traceback under --debug, in this
        # process and in the worker processes it starts (which inherit the environment).
        debug_before = os.environ.get(DEBUG_ENV)
        if ctx.params.get("debug"):
            os.environ[DEBUG_ENV] = "1"
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
            if debug_before is None:
                os.environ.pop(DEBUG_ENV, None)
            else:
                os.environ[DEBUG_ENV] = debug_before


@click.group(cls=SigportGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show Python tracebacks for errors (for bug reports).")
@click.version_option(package_name="sigport")
def main(debug: bool) -> None:
    """Convert Sigma rules to EQL, KQL, Lucene, ES|QL and Splunk SPL, and prove on events that
    each query matches exactly what the rule matches."""
