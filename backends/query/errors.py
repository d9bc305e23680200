"""Errors of the query layer: parsing emitted query text and evaluating the shared tree.

``QueryError`` is the query layer's branch of sigport's one error root
(``backends.errors.SigportError``). Parse errors carry the line, the column and the source text so that
their message shows the offending line with a caret under the problem, as the eql library does.
"""

from __future__ import annotations

from backends.errors import SigportError, UnsupportedError


class QueryError(SigportError):
    """Root of every error raised while parsing or evaluating a query."""


class QueryParseError(QueryError):
    """The query text does not parse.

    Args:
        message: what is wrong, ideally with a hint on how to fix it.
        source: the whole query text.
        offset: 0-based character offset of the problem in ``source``.
        width: how many characters to underline.
        language: name of the query language, for the message.
    """

    #: Always known for a parse error (1-based, in ``source``).
    line: int
    column: int

    def __init__(
        self, message: str, source: str, offset: int, width: int = 1, language: str = "query"
    ) -> None:
        self.reason = message
        self.source = source
        self.offset = max(0, min(offset, len(source)))
        self.width = max(1, width)
        self.language = language
        before = source[: self.offset]
        line = before.count("\n") + 1
        column = self.offset - (before.rfind("\n") + 1) + 1
        self.line, self.column = line, column  # _render reads them
        super().__init__(self._render(), line=line, column=column)

    def location(self) -> str:
        """The file only, where known: the line and column, in the query text, are in the
        message."""
        return self.path or ""

    def _render(self) -> str:
        lines = self.source.split("\n")
        text = lines[self.line - 1] if self.line - 1 < len(lines) else ""
        caret = " " * (self.column - 1) + "^" * self.width
        return (
            f"{self.language} parse error at line {self.line}, column {self.column}: "
            f"{self.reason}\n{text}\n{caret}"
        )


class UnsupportedQueryError(QueryError, UnsupportedError):
    """The query is valid in its language but uses something sigport cannot evaluate faithfully.

    Raised instead of guessing: a verdict computed on an approximation would make the equivalence
    check lie.
    """


class VerdictUndecided(UnsupportedQueryError):
    """An event on which the engine's verdict is not known: its candidate readings (of an
    undocumented or version-dependent behaviour) disagree, so no equivalence is claimed."""


class FoldingUndecided(VerdictUndecided):
    """An event on which the candidate case foldings of a leaf give different verdicts.

    Raised where an engine's folding depends on its version or is undocumented (``ast.Fold``
    with several readings): the verdict on that event is not known, so no equivalence is claimed.
    """


class AddressUndecided(VerdictUndecided):
    """An event whose address text the engine documents no reading of (spaces around it, a zone
    index, leading zeros) and on which the candidate readings give different verdicts: the
    verdict is not known, so no equivalence is claimed."""


def too_deep() -> UnsupportedQueryError:
    """The error every parser raises when a query nests deeper than Python's recursion allows
    (lark's transformers recurse once per nesting level)."""
    return UnsupportedQueryError(
        "the query nests too deeply for sigport's interpreter (Python recursion limit)"
    )
