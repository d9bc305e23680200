"""What every interpreter does around lark, written once.

* ``Grammar``: the language's ``grammar.lark`` (beside its ``parser.py``), built into a lark parser
  on first use, so importing an interpreter costs nothing.
* ``SyntaxMessages``: lark's syntax exceptions turned into a ``QueryParseError`` with the line,
  column and caret; a language overrides only the wording of its hints.
* ``run_lowering``: errors raised inside a lark ``Transformer`` arrive wrapped in ``VisitError``,
  and a query nested deeper than Python's recursion limit raises ``RecursionError``; both are
  unwrapped here into the query layer's errors, the same way for every language.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, TypeVar

from lark import Lark, Token, Tree
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from .errors import QueryError, QueryParseError, UnsupportedQueryError, too_deep

__all__ = ["GRAMMAR_FILE", "Grammar", "SyntaxMessages", "run_lowering"]

#: The grammar's file name in every language folder.
GRAMMAR_FILE = "grammar.lark"

T = TypeVar("T")


class SyntaxMessages:
    """How one language words lark's syntax errors.

    ``error`` finds the kind of error and its position; the hooks give the words. The defaults
    are the plainest wording; a language subclasses and overrides the hooks it has hints for.
    """

    def __init__(self, language: str) -> None:
        self.language = language

    def character(self, text: str, offset: int, exc: UnexpectedCharacters) -> tuple[str, int]:
        """Message and underline width for a character no token starts with (at ``offset``)."""
        char = text[offset] if offset < len(text) else ""
        return f"unexpected character {char!r}", 1

    def end(self, text: str, exc: UnexpectedInput) -> tuple[str, int]:
        """Message and offset for a query that ends too early."""
        return "unexpected end of query", len(text)

    def token(self, text: str, exc: UnexpectedToken) -> tuple[str, int]:
        """Message and underline width for a token the grammar does not allow there."""
        token = str(exc.token)
        return f"unexpected {token!r}", max(1, len(token))

    def error(self, exc: UnexpectedInput, text: str, source: str | None = None, base: int = 0) -> QueryParseError:
        """The ``QueryParseError`` for lark's ``exc`` raised while parsing ``text``.

        Args:
            exc: lark's exception.
            text: the text lark parsed.
            source: the whole query when ``text`` is a fragment of it (SPL parses each pipe
                alone), so that the error shows the whole line.
            base: the offset of ``text`` in ``source``.
        """
        if isinstance(exc, UnexpectedCharacters):
            offset = exc.pos_in_stream or 0
            message, width = self.character(text, offset, exc)
        elif isinstance(exc, UnexpectedEOF) or (
            isinstance(exc, UnexpectedToken) and exc.token.type == "$END"
        ):
            (message, offset), width = self.end(text, exc), 1
        elif isinstance(exc, UnexpectedToken):
            message, width = self.token(text, exc)
            offset = exc.token.start_pos or 0
        else:  # lark's other input errors carry no token to point at
            message, width = str(exc).splitlines()[0], 1
            offset = getattr(exc, "pos_in_stream", 0) or 0
        return QueryParseError(
            message, text if source is None else source, base + offset, width, self.language
        )


class Grammar:
    """A language's lark grammar (``grammar.lark`` beside ``package_file``), built on first use.

    Args:
        package_file: the ``__file__`` of a module in the language's folder.
        messages: how syntax errors are worded.
        options: keyword arguments for ``lark.Lark`` (``parser="lalr"``, ``start=...``).
    """

    def __init__(self, package_file: str, messages: SyntaxMessages, **options: Any) -> None:
        self.path = Path(package_file).with_name(GRAMMAR_FILE)
        self.messages = messages
        self._options = options
        self._lark: Lark | None = None

    def lark(self) -> Lark:
        """The lark parser (built once, on the first call)."""
        if self._lark is None:
            self._lark = Lark(self.path.read_text(encoding="utf-8"), **self._options)
        return self._lark

    def parse(
        self, text: str, start: str | None = None, source: str | None = None, base: int = 0
    ) -> Tree[Token]:
        """Parse ``text`` (from rule ``start``) into lark's tree.

        Raises:
            QueryParseError: the text is not in the grammar (positioned in ``source`` at
                ``base`` when ``text`` is a fragment of it).
        """
        try:
            return self.lark().parse(text, start=start)
        except UnexpectedInput as exc:
            raise self.messages.error(exc, text, source, base) from None


def run_lowering(lower: Callable[[], T], text: str, language: str) -> T:
    """Run ``lower`` (a lowering of ``text``), turning what escapes it into query errors.

    A ``QueryParseError`` or ``UnsupportedQueryError`` raised inside a lark callback is re-raised
    as itself; another ``QueryError`` (a pattern the language's regex engine rejects) becomes a
    ``QueryParseError`` of the query; a ``RecursionError`` (lark's transformers and the
    hand-written lowerings recurse once per nesting level) becomes ``too_deep()``. Anything else
    is a bug and propagates.
    """
    try:
        return lower()
    except VisitError as exc:
        orig = exc.orig_exc
        if isinstance(orig, (QueryParseError, UnsupportedQueryError)):
            raise orig from None
        if isinstance(orig, RecursionError):
            raise too_deep() from None
        if isinstance(orig, QueryError):
            raise QueryParseError(str(orig), text, 0, 1, language) from None
        raise
    except RecursionError:
        raise too_deep() from None
