"""Compiled patterns that give up instead of hanging, and the pattern error type.

Every regex the evaluator runs (globs, Lucene RegExp, PCRE) is compiled into a ``BoundedPattern``:
validated and translated with ``re``, run by the ``regex`` package with a time limit. Split out of
``matching.py`` so the dialect translators (``lucene_regex.py``, ``pcre.py``) can share it.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import regex

from backends.query.sre import sre_compile as _sre_compile, sre_constants as _sre, sre_parse as _sre_parse

from .errors import QueryError, UnsupportedQueryError
from .plain_regex import PlainForm, PlainShape, plain_form, plain_shape, plain_test

__all__ = ["MATCH_TIME_LIMIT", "MAX_TIMEOUTS", "BoundedPattern", "MatchTimeout", "PatternSyntaxError"]


class PatternSyntaxError(QueryError):
    """A regex or network pattern that the target engine itself would reject.

    ``position`` is the 0-based offset inside the pattern (not the query), so a parser can turn it
    into a ``QueryParseError`` pointing at the right column of its query text.
    """

    def __init__(self, message: str, pattern: str, position: int = 0) -> None:
        self.pattern = pattern
        self.position = position
        super().__init__(f"{message} (pattern {pattern!r}, offset {position})")


# --- bounded matching --------------------------------------------------------------------------
#
# Python's ``re`` backtracks, so a pattern like ``^(a+)+$`` (or a glob ``*a*a*a*a*a*a*a*b``) on a
# long value runs for minutes and would hang ``check``. Patterns are validated and translated with
# ``re`` as before (what compiles, and the error positions, stay those of ``re``), then run by the
# ``regex`` package, which matches ``re``'s syntax and semantics (its default VERSION0 mode) and
# takes a ``timeout``. A match that runs past the limit raises ``MatchTimeout`` (an
# ``UnsupportedQueryError``): the verdict is "cannot evaluate", never a silent non-match.
# A linear-time engine (RE2) was not used: its ``$`` matches only at the very end of the text,
# where PCRE and Python also match before a final newline, so it would change verdicts.

#: Seconds one match of one pattern against one value may take before it is abandoned.
MATCH_TIME_LIMIT = 1.0
#: Timeouts one pattern may have before it refuses every later value at once: the time one pattern
#: can cost a whole run is at most ``MAX_TIMEOUTS * MATCH_TIME_LIMIT``.
MAX_TIMEOUTS = 3

#: ``re`` flag bits and their ``regex`` counterparts, as plain ints (``enum.Flag``'s ``&`` costs a
#: Python call per test).
_RE_TO_REGEX_FLAGS = tuple((int(a), int(b)) for a, b in (
    (re.IGNORECASE, regex.IGNORECASE),
    (re.MULTILINE, regex.MULTILINE),
    (re.DOTALL, regex.DOTALL),
    (re.VERBOSE, regex.VERBOSE),
    (re.ASCII, regex.ASCII),
))


class MatchTimeout(UnsupportedQueryError):
    """A pattern match ran past ``MATCH_TIME_LIMIT`` (catastrophic backtracking)."""


#: The most pattern elements the ``regex`` engine may build for one pattern: it writes out the
#: minimum count of a repeat (``a{100000}``: ~40 MB, 0.15 s to compile) and nested counts
#: multiply (``((ab{1000}){1000}){1000}`` exhausted the machine's memory). The reference has the
#: same bound (``converter/reference/engine_gaps.py``, which this layer may not import).
MAX_EXPANSION = 100_000


def _expansion(items: Any) -> int:
    """An upper bound of the elements ``regex`` builds for ``re``'s parse tree ``items``: a repeat
    counts its body as often as its minimum (at least once), alternatives and groups add up."""
    total = 0
    for op, argument in items:
        if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) or op.name == "POSSESSIVE_REPEAT":
            total += max(argument[0], 1) * _expansion(argument[2])
        else:
            if op is _sre.BRANCH:
                bodies = list(argument[1])
            elif op is _sre.GROUPREF_EXISTS:
                bodies = [arm for arm in argument[1:] if arm is not None]
            else:  # groups, lookarounds, atomic groups: the sub-patterns among their arguments
                parts = argument if isinstance(argument, tuple) else (argument,)
                bodies = [part for part in parts if isinstance(part, _sre_parse.SubPattern)]
            total += sum(_expansion(body) for body in bodies) if bodies else 1
        if total > MAX_EXPANSION:  # enough to refuse: nested products stop growing here
            return total
    return total


#: An inline flag group that turns caseless matching on (``(?i)``, ``(?si:``).
_INLINE_CASELESS = re.compile(r"\(\?[a-zA-Z]*i[a-zA-Z]*(?:-[a-zA-Z]*)?[:)]")


def _scoped_case_in_alternative(items: Any, in_alternative: bool = False) -> bool:
    """Whether ``re``'s parse tree has a ``(?i:...)``/``(?-i:...)`` group inside an alternative
    (a ``|`` branch or a conditional group's arm).

    ``regex`` 2026.12.2 applies such a group's case flag to a character class of the other
    alternatives (``regex.search(r"[^Ss]|(?i:-)", "\u017f")`` finds nothing, ``re`` matches), so
    on that shape it does not mean what ``re`` means; the shape is refused (conservatively: also
    where the two happen to agree). The reference refuses it the same way
    (``converter/reference/engine_gaps.py``, which this layer may not import).
    """
    for op, argument in items:
        if op is _sre.SUBPATTERN:
            if in_alternative and (argument[1] | argument[2]) & re.IGNORECASE:
                return True
            bodies, nested = [argument[3]], in_alternative
        elif op in (_sre.BRANCH, _sre.GROUPREF_EXISTS):
            arms = argument[1] if op is _sre.BRANCH else argument[1:]
            bodies, nested = [arm for arm in arms if arm is not None], True
        else:  # repeats, lookarounds, atomic groups: the sub-patterns among their arguments
            parts = argument if isinstance(argument, tuple) else (argument,)
            bodies = [part for part in parts if isinstance(part, _sre_parse.SubPattern)]
            nested = in_alternative
        if any(_scoped_case_in_alternative(body, nested) for body in bodies):
            return True
    return False


class BoundedPattern:
    """A compiled pattern whose ``search``/``fullmatch`` give up after ``MATCH_TIME_LIMIT``.

    After a timeout the pattern refuses at once every later value at least as long as the one that
    timed out (backtracking grows with the value's length) and still decides shorter ones, so one
    hostile value does not make the verdicts of ordinary events undecided; after ``MAX_TIMEOUTS``
    timeouts it refuses every value, so a batch pays the time limit a bounded number of times.

    The ``regex`` engine's pattern is compiled on the first match, not when the query is parsed:
    ``re`` has already validated it, and most patterns of a backtest are never run (the
    prefilter rules their queries out), while ``regex`` compiles in Python at about a millisecond
    per pattern. A pickled pattern carries its text and flags only (a prepared query loaded from
    the cache compiles nothing until it runs), and starts with no timeouts.
    """

    __slots__ = ("pattern", "_source", "_bits", "_plain", "_compiled", "_refuse_from", "_timeouts")

    def __init__(self, compiled: re.Pattern[str], shown: str) -> None:
        """Take an ``re`` pattern (already validated) to run with the ``regex`` engine.

        Args:
            compiled: the pattern as ``re`` compiled it (its text and flags are reused).
            shown: the pattern as the query wrote it, for messages.

        Raises:
            UnsupportedQueryError: a shape the ``regex`` engine misreads (see
                ``_scoped_case_in_alternative``), or repeat counts it would write out past
                ``MAX_EXPANSION`` elements.
        """
        parsed = _sre_parse.parse(compiled.pattern, compiled.flags)
        self._check(parsed, shown)
        self._init(shown, compiled.pattern, _regex_bits(compiled.flags), plain_shape(parsed))

    @classmethod
    def compile(cls, source: str, flags: int, shown: str) -> BoundedPattern:
        """``BoundedPattern(re.compile(source, flags), shown)`` with the pattern parsed once.

        ``re.compile`` parses the text and generates its code; the checks here need the parse
        tree again, and nothing runs the ``re`` pattern (the ``regex`` engine does). So the text
        is parsed once, that tree is checked, and ``re``'s code generation runs on the same tree
        for the errors it alone raises (a look-behind of variable width), unless the pattern is
        a string of character sets (``plain_regex``), where it has none to raise. Errors,
        messages and positions are ``re.compile``'s.

        Raises:
            re.error: ``re`` rejects the pattern.
            UnsupportedQueryError: as the constructor.
        """
        flags = int(flags)
        parsed = _sre_parse.parse(source, flags)
        plain = plain_shape(parsed)
        if plain is None:  # literals, literal classes, .* and anchors: no code error possible
            _sre_compile._code(parsed, flags)  # raises what re.compile raises past the parse
        pattern = cls.__new__(cls)
        pattern._check(parsed, shown)
        pattern._init(shown, source, _regex_bits(flags | parsed.state.flags), plain)
        return pattern

    @staticmethod
    def _check(parsed: Any, shown: str) -> None:
        """Refuse a parse tree the ``regex`` engine misreads or would expand past its bound."""
        if _scoped_case_in_alternative(parsed):
            raise UnsupportedQueryError(
                f"pattern {shown!r}: a scoped (?i:...) or (?-i:...) group inside an alternative, "
                "which the regex engine that runs it misreads (it applies the case flag to the "
                "other alternatives)"
            )
        if _expansion(parsed) > MAX_EXPANSION:
            raise UnsupportedQueryError(
                f"pattern {shown!r}: its repeat counts write out over {MAX_EXPANSION:,} elements "
                "in the regex engine that runs it (nested counts multiply), more memory than one "
                "pattern may take"
            )

    def _init(self, shown: str, source: str, bits: int, plain: PlainShape | None) -> None:
        self.pattern = shown
        self._source = source
        self._bits = bits
        self._plain = plain  # the string-test form (plain_regex), or None: the regex runs
        self._compiled: Any = None  # the regex engine's pattern, built on the first match
        self._refuse_from: int | None = None  # the shortest value length that timed out
        self._timeouts = 0

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (self.pattern, self._source, self._bits, self._plain))

    def _engine(self) -> Any:
        """The ``regex`` engine's pattern (compiled on first use).

        Raises:
            PatternSyntaxError: ``regex`` refuses a pattern ``re`` accepted.
        """
        if self._compiled is None:
            try:
                self._compiled = regex.compile(self._source, self._bits)
            except regex.error as exc:
                raise PatternSyntaxError(f"invalid regular expression: {exc}", self.pattern,
                                         0) from None
        return self._compiled

    @property
    def caseless(self) -> bool:
        """True when some part of the pattern matches case-insensitively (a flag or an inline
        ``(?i)``/``(?i:...)`` group)."""
        return bool(self._bits & regex.IGNORECASE) or bool(_INLINE_CASELESS.search(self._source))

    def tester(self, full: bool) -> Callable[[str], bool]:
        """``fullmatch`` (``full``) or ``search`` as a verdict: a string test when the pattern
        is a string of character sets (``plain_regex``: no regex compiled or run, no time
        limit to reach), else the bounded match.

        Raises (from the returned test):
            MatchTimeout: the regex ran past the time limit.
        """
        if self._plain is not None:
            return plain_test(self._plain, full)
        method = self.fullmatch if full else self.search
        return lambda value: method(value) is not None

    def plain_form(self, full: bool) -> PlainForm | None:
        """``tester(full)`` as a string test (``plain_regex.PlainForm``) when the pattern is a
        string of character sets, else None (the regex runs)."""
        return None if self._plain is None else plain_form(self._plain, full)

    def search(self, value: str) -> Any:
        """Leftmost match anywhere in ``value``, or None.

        Raises:
            MatchTimeout: the match ran past the time limit.
        """
        return self._run(self._engine().search, value)

    def fullmatch(self, value: str) -> Any:
        """Match of the whole ``value``, or None.

        Raises:
            MatchTimeout: the match ran past the time limit.
        """
        return self._run(self._engine().fullmatch, value)

    def _run(self, method: Callable[..., Any], value: str) -> Any:
        if self._timeouts >= MAX_TIMEOUTS or (
            self._refuse_from is not None and len(value) >= self._refuse_from
        ):
            raise MatchTimeout(
                f"pattern {self.pattern!r} ran past {MATCH_TIME_LIMIT:g}s on an earlier value "
                "(catastrophic backtracking); its matches are undecided"
            )
        try:
            return method(value, timeout=MATCH_TIME_LIMIT)
        except TimeoutError:
            self._timeouts += 1
            self._refuse_from = min(len(value), self._refuse_from or len(value))
            raise MatchTimeout(
                f"pattern {self.pattern!r} ran past {MATCH_TIME_LIMIT:g}s on a "
                f"{len(value)}-character value (catastrophic backtracking); the match is undecided"
            ) from None

    def __repr__(self) -> str:
        return f"BoundedPattern({self.pattern!r})"


def _regex_bits(flags: int) -> int:
    """The ``regex`` flags for ``re`` flags (the pattern's own and its inline ones)."""
    bits = 0
    for re_bit, regex_bit in _RE_TO_REGEX_FLAGS:
        if flags & re_bit:
            bits |= regex_bit
    return bits


def _restore(shown: str, source: str, bits: int,
             plain: PlainShape | None = None) -> BoundedPattern:
    """A ``BoundedPattern`` from its pickled text, flags and string-test form (not compiled
    yet, no timeouts)."""
    pattern = BoundedPattern.__new__(BoundedPattern)
    pattern._init(shown, source, bits, plain)
    return pattern
