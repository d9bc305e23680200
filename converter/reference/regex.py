"""Regular expressions of the reference evaluator: compiled once, matched under a time limit.

Sigma's ``re`` values (and the reference's wildcard matchers) run on Python's ``regex`` engine,
which backtracks: ``Bounded`` stops a match past ``MATCH_TIME_LIMIT`` and the event's verdict is
``Undecided``, never a silent non-match. ``compiled_regex`` refuses (``Unsupported``) what the
engine cannot run as Sigma means it. Split from ``values.py`` (the value tests), which imports
every name here.

Like the rest of the reference evaluator this never imports a backend's escaping.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import regex
from sigma.types import SigmaRegularExpression, SigmaRegularExpressionFlag, SpecialChars

from backends.errors import UnsupportedError
from converter.reference.engine_gaps import MAX_EXPANSION, expansion, scoped_case_in_alternation


class Unsupported(UnsupportedError):
    """A construct cannot be evaluated; the message is the verdict's reason."""


class Undecided(Exception):
    """Evaluating one event ran past a time limit; the verdict is unknown."""


# ---------------------------------------------------------------------------------------------
# Bounded regular expressions

#: Seconds one regex (or wildcard) match against one value may take. Python's ``re`` backtracks,
#: so ``^(a+)+$`` on a long value runs for minutes; past this limit the event's verdict is
#: "unsupported" (naming the rule and the pattern), never a silent non-match.
MATCH_TIME_LIMIT = 1.0
#: Timeouts one pattern may have before it refuses every later value at once (see ``Bounded``).
MAX_TIMEOUTS = 3
_TO_REGEX_FLAGS = (
    (re.IGNORECASE, regex.IGNORECASE),
    (re.MULTILINE, regex.MULTILINE),
    (re.DOTALL, regex.DOTALL),
)


class Bounded:
    """A pattern validated by ``re`` and run by the ``regex`` package, whose default (VERSION0)
    mode has ``re``'s syntax and semantics and whose matching takes a ``timeout``.

    After a timeout on a value of length N, later values of length N or more are refused at once
    (backtracking grows with length) while shorter ones are still decided, so one hostile value
    leaves ordinary events decided; after ``MAX_TIMEOUTS`` timeouts every value is refused, which
    bounds what one pattern can cost a run.
    """

    __slots__ = ("_what", "_compiled", "_timed_out", "_timeouts")

    def __init__(self, compiled: re.Pattern[str], what: str) -> None:
        bits = sum(new for old, new in _TO_REGEX_FLAGS if compiled.flags & old)
        self._what = what
        self._compiled = regex.compile(compiled.pattern, bits)
        self._timed_out: int | None = None  # the shortest value length a match timed out on
        self._timeouts = 0

    def search(self, value: str) -> bool:
        """Whether the pattern occurs in ``value`` (raises ``Undecided`` past the limit)."""
        return self._run(self._compiled.search, value)

    def fullmatch(self, value: str) -> bool:
        """Whether the pattern matches all of ``value`` (raises ``Undecided`` past the limit)."""
        return self._run(self._compiled.fullmatch, value)

    def _run(self, method: Callable[..., Any], value: str) -> bool:
        if self._timeouts < MAX_TIMEOUTS and (
            self._timed_out is None or len(value) < self._timed_out
        ):
            try:
                return method(value, timeout=MATCH_TIME_LIMIT) is not None
            except TimeoutError:
                self._timeouts += 1
                self._timed_out = len(value)  # shorter values only reach here: a new minimum
        raise Undecided(
            f"{self._what} {self._compiled.pattern!r} ran past {MATCH_TIME_LIMIT:g}s on a "
            f"{self._timed_out}-character value (catastrophic backtracking); its matches are "
            "undecided"
        )


#: SIGMA_SEMANTICS["regex_shorthand_classes"]: PCRE's shorthand classes (without its UCP option)
#: are ASCII; Python's are Unicode (``\d``
#: matches Arabic-Indic digits). Sigma's ``re`` is PCRE-flavoured and every target engine reads
#: them as ASCII, so the reference spells them out before compiling (the ``a`` flag scoped to the
#: escape only: a pattern-wide ASCII flag would also change how ``|i`` folds letters).
_ASCII_CLASS = {"d": "0-9", "w": "a-zA-Z0-9_", "s": r" \t\n\r\x0b\x0c"}


def ascii_shorthands(source: str) -> str:
    r"""``source`` with ``\d \w \s \b`` (and their negations) limited to ASCII, as in PCRE.

    Raises:
        Unsupported: a negated shorthand inside a character class (``[\D]``), which has no
            spelled-out ASCII form inside that class.
    """
    out: list[str] = []
    i, n, in_class = 0, len(source), False
    while i < n:
        char = source[i]
        if char == "\\" and i + 1 < n:
            nxt = source[i + 1]
            if in_class and nxt in _ASCII_CLASS:
                out.append(_ASCII_CLASS[nxt])
            elif in_class and nxt.lower() in _ASCII_CLASS:
                raise Unsupported(
                    f"regular expression {source!r}: '\\{nxt}' inside a character class"
                )
            elif not in_class and nxt.lower() in _ASCII_CLASS or not in_class and nxt in "bB":
                out.append(f"(?a:\\{nxt})")
            else:
                out.append(source[i:i + 2])
            i += 2
            continue
        if not in_class and char == "[":
            in_class = True
            out.append(char)
            i += 1
            # '^' and a first ']' are part of the class opening, not its end.
            if i < n and source[i] == "^":
                out.append("^")
                i += 1
            if i < n and source[i] == "]":
                out.append("]")
                i += 1
            continue
        if in_class and char == "]":
            in_class = False
        out.append(char)
        i += 1
    return "".join(out)


@lru_cache(maxsize=4096)
def compiled_regex(source: str, flags: int) -> Bounded:
    """Compile a Sigma ``|re`` pattern once (``re`` syntax, PCRE's ASCII shorthand classes),
    bounded in time and in memory (``engine_gaps.MAX_EXPANSION``)."""
    try:
        compiled = re.compile(ascii_shorthands(source), flags)
    except re.error as error:
        raise Unsupported(f"regular expression {source!r} does not compile: {error}") from None
    if scoped_case_in_alternation(compiled):
        raise Unsupported(
            f"regular expression {source!r}: a scoped (?i:...) or (?-i:...) group inside an "
            "alternative, which the regex engine that runs the reference misreads (it applies the "
            "case flag to the other alternatives)"
        )
    if expansion(compiled) > MAX_EXPANSION:
        raise Unsupported(
            f"regular expression {source!r}: its repeat counts write out over "
            f"{MAX_EXPANSION:,} elements in the regex engine that runs the reference (nested "
            "counts multiply), more memory than one pattern may take"
        )
    return Bounded(compiled, "regular expression")


REGEX_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: re.IGNORECASE,
    SigmaRegularExpressionFlag.MULTILINE: re.MULTILINE,
    SigmaRegularExpressionFlag.DOTALL: re.DOTALL,
}


def regex_source(value: SigmaRegularExpression) -> str:
    """Rebuild the pattern text: pySigma parses it as a SigmaString without escapes, so its
    wildcards are the regex's own '*' and '?' characters."""
    out: list[str] = []
    for part in value.regexp.iter_parts():
        if isinstance(part, str):
            out.append(part)
        elif part is SpecialChars.WILDCARD_MULTI:
            out.append("*")
        elif part is SpecialChars.WILDCARD_SINGLE:
            out.append("?")
        else:
            raise Unsupported(f"placeholder %{part.name}% inside a regular expression")
    return "".join(out)


def regex_flags(value: SigmaRegularExpression) -> int:
    """The ``re`` flags of a Sigma regular expression's ``|i`` / ``|m`` / ``|s`` modifiers."""
    flags = 0
    for flag in value.flags:
        flags |= REGEX_FLAGS[flag]
    return flags
