"""The one root of sigport's errors, shared by ``backends`` and ``converter``.

``SigportError`` carries where the problem is (file, 1-based line and column, where known) and a
hint; ``one_line()`` renders it as the single line the CLI prints. Each layer subclasses it:

* rule input: ``converter.errors.RuleLoadError`` (and ``LimitExceeded``);
* query parse and evaluation: ``backends.query.errors.QueryError`` (``QueryParseError`` keeps
  the offending line and a caret in ``str()``);
* mapping and tables: ``converter.errors.PipelineError``;
* conversion, things sigport cannot express or evaluate: ``UnsupportedError`` below (the
  reference's ``Unsupported``, ``LogsourceUnsupported``, the generator's ``RegexUnsupported``,
  the importer's ``NotImportable``, the interpreters' ``UnsupportedQueryError``);
* check and I/O: ``converter.errors.EventsError`` / ``InputError``, ``OutputError``.

An exception that is not a ``SigportError`` is a bug: the CLI reports it as an internal error.
This module lives in ``backends`` because ``converter`` builds on ``backends``, never the reverse.
"""

from __future__ import annotations

from pathlib import Path


class SigportError(Exception):
    """Root of every error sigport raises on purpose.

    Args:
        message: what went wrong; ``str(error)`` is this text unless a subclass says otherwise.
        path: the file concerned, if any.
        line: 1-based line in that file (or in the query text), if known.
        column: 1-based column, if known.
        hint: what the user can do about it.
    """

    #: Exit code the CLI uses for this class of error (documented in the README).
    exit_code = 2

    def __init__(
        self,
        message: str,
        path: str | Path | None = None,
        line: int | None = None,
        column: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.column = column
        self.hint = hint
        super().__init__(self.initial_text())

    def initial_text(self) -> str:
        """What ``str(error)`` says, fixed when the error is made: the message here."""
        return self.message

    def location(self) -> str:
        """``path:line:column`` with whatever parts are known."""
        parts = [p for p in (self.path, self.line, self.column) if p is not None]
        return ":".join(str(p) for p in parts)

    def one_line(self) -> str:
        """The error as one line: location, the message's first line, hint. (Later lines, such
        as a parse error's quoted source line and caret, are for a terminal, not a report.)"""
        loc = self.location()
        first = " ".join(str(self).split("\n")[0].split()) or type(self).__name__
        text = f"{loc}: {first}" if loc else first
        return f"{text} ({self.hint})" if self.hint else text


class UnsupportedError(SigportError):
    """sigport cannot express or evaluate this construct exactly; ``str(error)`` is the reason.

    Raised instead of guessing: a verdict or a query built on an approximation would make an
    equivalence claim lie.
    """
