"""Errors of the converter layer (loading rules, pipelines, conversion, checking).

``ConverterError`` is the converter's branch of sigport's one error root
(``backends.errors.SigportError``). Every error carries the file (and line/column where known) and a
hint saying what to do next; ``format_error`` renders any library error as the one line the CLI
prints. pySigma's own ``SigmaError`` is kept as is (it already carries ``source=path:line``) and is
only rendered here, not re-wrapped.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from backends.errors import SigportError

if TYPE_CHECKING:  # pySigma is imported by what raises its errors, not by this module
    from sigma.exceptions import SigmaError


#: Set while ``sigport --debug`` runs (worker processes inherit it): a bug that a batch catches
#: to go on (reported as a one-line "internal error") also prints its traceback.
DEBUG_ENV = "SIGPORT_DEBUG"


def show_traceback(exc: BaseException, where: str) -> None:
    """Under ``sigport --debug`` (``DEBUG_ENV`` set), print the traceback of a bug caught so that
    a batch goes on, on stderr, naming ``where`` it happened; nothing otherwise. The batch's
    result still carries the one-line reason."""
    if not os.environ.get(DEBUG_ENV):
        return
    import traceback

    sys.stderr.write(f"sigport: debug: the internal error {where}:\n"
                     + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    sys.stderr.flush()


class ConverterError(SigportError):
    """Root of the converter's errors; ``str(error)`` is ``one_line()`` as made at raise time.

    Args:
        message: what went wrong.
        path: the file concerned, if any.
        line: 1-based line in that file, if known.
        column: 1-based column, if known.
        hint: what the user can do about it.
    """

    def initial_text(self) -> str:
        """``str(error)``: the one line, as made when raised."""
        return self.one_line()

    def one_line(self) -> str:
        """The message as one line (its lines joined): location, message, hint."""
        loc = self.location()
        text = f"{loc}: {self.message}" if loc else self.message
        if self.hint:
            text += f" ({self.hint})"
        return " ".join(text.split("\n"))


class RuleLoadError(ConverterError):
    """A rule file cannot be read or is not a valid Sigma rule."""


class PipelineError(ConverterError):
    """A processing pipeline (built-in name or user YAML) cannot be loaded or applied."""


class UnknownTargetError(ConverterError):
    """The requested target language is not registered."""


class EventsError(ConverterError):
    """An events file cannot be read."""


def sigma_error_location(error: SigmaError) -> tuple[str | None, int | None, int | None]:
    """Return (path, line, column) from a pySigma error's ``source``, where it has one."""
    source = getattr(error, "source", None)
    if source is None:
        return None, None, None
    path = getattr(source, "path", None)
    line = getattr(source, "line", None)
    column = getattr(source, "char", None)
    return (str(path) if path is not None else None), line, column


def format_error(error: BaseException, path: str | Path | None = None) -> str:
    """Render any library error as one line, naming the file and position where known."""
    if isinstance(error, SigportError):
        if path is not None and error.path is None:
            error.path = str(path)
        return error.one_line()
    # A pySigma error exists only once pySigma is imported: a run that reads every result from
    # the cache never imports it (``converter.conversion.batch``).
    exceptions = sys.modules.get("sigma.exceptions")
    if exceptions is not None and isinstance(error, exceptions.SigmaError):
        epath, line, column = sigma_error_location(error)
        # pySigma appends its own " in <source>" text; keep only the message.
        message = str(getattr(error, "args", [str(error)])[0]) if error.args else str(error)
        loc = [str(epath or path)] if (epath or path) else []
        if line is not None:
            loc.append(str(line))
            if column is not None:
                loc.append(str(column))
        prefix = ":".join(loc)
        text = f"{prefix}: {message}" if prefix else message
        return " ".join(text.split())
    text = str(error) or type(error).__name__
    text = " ".join(text.split("\n")[0].split())
    return f"{path}: {text}" if path else text
