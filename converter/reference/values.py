"""Value side of the reference evaluator: matching one typed Sigma value on event values.

``converter.reference.evaluator`` compiles pySigma's condition tree; this module supplies its leaves. Two
kinds of value test exist, so that an event field is folded once per event, not once per test:

* a **folded** test (``FoldedTest``) takes a field value already folded with
  ``converter.reference.fields.fold`` ("string_case" in ``converter.reference.semantics``): every case-insensitive string test
  (plain values, wildcards, contains / startswith / endswith, windash and base64 variants);
* a **raw** test (``ValueTest``) takes one scalar event value as it is: cased strings, regular
  expressions, numbers, booleans, comparisons, CIDR blocks.

Field access and case folding of event values are in ``converter.reference.fields``.

Like the rest of the reference evaluator this never imports ``backends`` and never uses a
backend's escaping: matchers are built from ``SigmaString.iter_parts()``.
"""

from __future__ import annotations

import ipaddress
import operator
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import regex
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExpansion,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SigmaType,
    SpecialChars,
)

from backends.errors import UnsupportedError
from converter.reference.engine_gaps import MAX_EXPANSION, expansion, scoped_case_in_alternation
from converter.reference.fields import fold, number_of, text_of


FoldedTest = Callable[[str], bool]
ValueTest = Callable[[Any], bool]
Parts = tuple["str | SpecialChars", ...]


class Unsupported(UnsupportedError):
    """A construct cannot be evaluated; the message is the verdict's reason."""


class Undecided(Exception):
    """Evaluating one event ran past a time limit; the verdict is unknown."""


# ---------------------------------------------------------------------------------------------
# String values: literal parts and wildcards


def string_parts(value: SigmaString) -> Parts:
    """Return the literal/wildcard parts of a Sigma string, merged; placeholders are refused."""
    parts: list[str | SpecialChars] = []
    for part in value.iter_parts():
        if isinstance(part, Placeholder):
            raise Unsupported(
                f"placeholder %{part.name}% (expand modifier) needs a value source that the "
                "reference evaluator does not have"
            )
        if isinstance(part, str) and parts and isinstance(parts[-1], str):
            parts[-1] += part
        else:
            parts.append(part)
    return tuple(parts)


@lru_cache(maxsize=16384)
def glob(parts: Parts, cased: bool, search: bool) -> Callable[[str], bool]:
    """Compile Sigma wildcard parts into a test on one string.

    ``search`` gives contains semantics (keywords); otherwise the whole value must match
    ("whole_value"). Unless ``cased``, the pattern's literal parts are folded with ``fold``
    here and the tested string must be folded by the caller (``folded_texts``): "string_case".
    """
    many = SpecialChars.WILDCARD_MULTI
    items = list(parts)
    if search:  # a leading or trailing '*' adds nothing to a substring search
        while items and items[0] is many:
            items.pop(0)
        while items and items[-1] is many:
            items.pop()
    if not cased:
        items = [fold(p) if isinstance(p, str) else p for p in items]
    # Fast paths for the shapes contains/startswith/endswith produce; a regex otherwise.
    if all(isinstance(p, str) for p in items):
        literal = "".join(items)  # type: ignore[arg-type]
        if search:
            return lambda s: literal in s
        return literal.__eq__
    # Only literal runs and '*' qualify: a '?' is one character, not a literal.
    if not search and all(isinstance(p, str) or p is many for p in items):
        strs = [p for p in items if isinstance(p, str)]
        shape = tuple(p is many for p in items)
        if shape == (True,):
            return lambda s: True
        if shape in ((True, False), (False, True), (True, False, True)):
            literal = strs[0]
            if shape == (True, False):
                return lambda s: s.endswith(literal)
            if shape == (False, True):
                return lambda s: s.startswith(literal)
            return lambda s: literal in s
    if all(isinstance(p, str) or p is many for p in items):
        return _star_glob(([many] if search else []) + items + ([many] if search else []))
    source = "".join(
        re.escape(p) if isinstance(p, str) else (".*" if p is many else ".") for p in items
    )
    # DOTALL: '*' and '?' stand for any character, a newline in a command line included.
    pattern = Bounded(re.compile(source, re.DOTALL), "wildcard value")
    return pattern.search if search else pattern.fullmatch


def _star_glob(items: list[Any]) -> Callable[[str], bool]:
    """Whole-value match of literal runs and ``*`` (at least one), without a regex: the first
    run must be a prefix, the last a suffix, and the runs between occur in order in what lies
    between; taking each middle run's leftmost occurrence leaves the most room for the next, so
    a match exists exactly when this greedy scan finds one."""
    runs, current = [], ""
    for part in items:
        if isinstance(part, str):
            current += part
        else:
            runs.append(current)
            current = ""
    runs.append(current)
    head, tail = runs[0], runs[-1]
    middle = tuple(r for r in runs[1:-1] if r)
    fixed = len(head) + len(tail)

    def match(s: str) -> bool:
        if len(s) < fixed or not s.startswith(head) or not s.endswith(tail):
            return False
        start, end = len(head), len(s) - len(tail)
        for run in middle:
            found = s.find(run, start, end)
            if found < 0:
                return False
            start = found + len(run)
        return True

    return match


def simple_shape(parts: Parts) -> tuple[str, str] | None:
    """``(kind, literal)`` when a whole-value pattern is one literal with at most a leading and
    a trailing ``*`` (kind ``equals`` / ``startswith`` / ``endswith`` / ``contains``), else None.
    The literal is as written (not folded)."""
    many = SpecialChars.WILDCARD_MULTI
    inner = list(parts)
    lead = bool(inner) and inner[0] is many
    trail = len(inner) > 1 and inner[-1] is many
    inner = inner[int(lead): len(inner) - int(trail)]
    if len(inner) != 1 or not isinstance(inner[0], str):
        return None
    kind = {(False, False): "equals", (False, True): "startswith", (True, False): "endswith",
            (True, True): "contains"}[(lead, trail)]
    return kind, inner[0]


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
_COMPARE = {
    CompareOperators.LT: operator.lt,
    CompareOperators.LTE: operator.le,
    CompareOperators.GT: operator.gt,
    CompareOperators.GTE: operator.ge,
    CompareOperators.NEQ: operator.ne,
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


# ---------------------------------------------------------------------------------------------
# Value tests

_MAPPED = 0xFFFF << 32  # ::ffff:0:0/96, the IPv4-mapped IPv6 addresses (RFC 4291 section 2.5.5.2)


def _in_ipv6(item: Any) -> Any:
    """An address or network in IPv6 space ("cidr"): IPv4 as its IPv4-mapped IPv6 form, so
    ``::ffff:10.1.2.3`` is ``10.1.2.3``; a zone index (``fe80::1%12``) is dropped."""
    if isinstance(item, ipaddress.IPv4Address):
        return ipaddress.IPv6Address(_MAPPED | int(item))
    if isinstance(item, ipaddress.IPv4Network):
        return ipaddress.IPv6Network((_MAPPED | int(item.network_address), 96 + item.prefixlen))
    if isinstance(item, ipaddress.IPv6Address):
        return ipaddress.IPv6Address(int(item))
    return item



def string_test(match: Callable[[str], bool]) -> ValueTest:
    """Lift a test on text to a test on one raw scalar ("numbers": numbers compare as text)."""

    def test(value: Any) -> bool:
        if type(value) is str:  # the common case first, without text_of's dispatch
            return match(value)
        text = text_of(value)
        return text is not None and match(text)

    return test


#: One case-insensitive test on a folded whole value: ``(kind, folded literal)`` for the literal
#: shapes (kind ``equals`` / ``startswith`` / ``endswith`` / ``contains``), or ``("glob", test)``.
FoldedSpec = tuple[str, "str | FoldedTest"]


def folded_specs(value: SigmaType) -> list[FoldedSpec] | None:
    """The folded tests whose disjunction is ``value`` on a whole field value, or None when
    ``value`` needs a raw test. A windash / base64offset expansion gives one spec per variant."""
    if isinstance(value, SigmaExpansion):
        out: list[FoldedSpec] = []
        for variant in value.values:
            specs = folded_specs(variant)
            if specs is None:
                return None
            out.extend(specs)
        return out
    if isinstance(value, SigmaString) and not isinstance(value, SigmaCasedString):
        parts = string_parts(value)
        shape = simple_shape(parts)
        if shape is not None:  # glob() folds literal parts the same way
            return [(shape[0], fold(shape[1]))]
        return [("glob", glob(parts, False, False))]
    return None


_ONE: dict[str, Callable[[str], FoldedTest]] = {
    "equals": lambda literal: literal.__eq__,
    "startswith": lambda literal: lambda s: s.startswith(literal),
    "endswith": lambda literal: lambda s: s.endswith(literal),
    "contains": lambda literal: lambda s: literal in s,
}


def folded_matcher(specs: list[FoldedSpec]) -> FoldedTest:
    """One folded test for OR-ed specs on the same field: the literal shapes become a set lookup,
    a tuple call of ``str.startswith`` and of ``str.endswith``, and a loop of ``in``; wildcard
    regexes run last, in their order (so a literal decides before a time-limited pattern runs)."""
    if len(specs) == 1:
        kind, payload = specs[0]
        return payload if callable(payload) else _ONE[kind](payload)  # a glob is its own test
    literals = [(kind, lit) for kind, lit in specs if isinstance(lit, str)]
    equals = frozenset(lit for kind, lit in literals if kind == "equals")
    starts = tuple(lit for kind, lit in literals if kind == "startswith")
    ends = tuple(lit for kind, lit in literals if kind == "endswith")
    middle = tuple(lit for kind, lit in literals if kind == "contains")
    rest = tuple(test for _, test in specs if callable(test))

    def test(s: str) -> bool:
        if s in equals or s.startswith(starts) or s.endswith(ends):
            return True
        for literal in middle:
            if literal in s:
                return True
        for other in rest:
            if other(s):
                return True
        return False

    return test


def value_test(value: SigmaType, keyword: bool) -> ValueTest:
    """Compile one typed Sigma value into a test on one raw scalar event value.

    Args:
        value: a value leaf of pySigma's condition tree.
        keyword: the value is an unbound keyword (substring search, "keywords").

    Raises:
        Unsupported: the value type cannot be evaluated on an event.
    """
    if isinstance(value, SigmaExpansion):  # windash, base64offset: the variants are OR-ed
        tests = tuple(value_test(v, keyword) for v in value.values)
        return lambda v: any(t(v) for t in tests)
    if isinstance(value, SigmaString):  # "string_case", "cased", "wildcards"
        if isinstance(value, SigmaCasedString):
            return string_test(glob(string_parts(value), True, keyword))
        match = glob(string_parts(value), False, keyword)
        return string_test(lambda s: match(fold(s)))
    if isinstance(value, SigmaRegularExpression):  # "regex"
        return string_test(compiled_regex(regex_source(value), regex_flags(value)).search)
    if isinstance(value, SigmaTimestampPart):  # subclass of SigmaNumber: test it first
        raise Unsupported(
            f"time modifier ({value.timestamp_part.name.lower()}) needs a timestamp format and "
            "time zone that Sigma leaves undefined"
        )
    if isinstance(value, SigmaNumber):  # "numbers"
        number, text = value.number, str(value.number).lower()
        if keyword:
            return string_test(lambda s: text in fold(s))

        def number_test(v: Any) -> bool:
            if isinstance(v, bool):
                return False
            if isinstance(v, (int, float)):
                return bool(v == number)
            return isinstance(v, str) and fold(v) == text

        return number_test
    if keyword:
        raise Unsupported(f"keyword (unbound) value of type {type(value).__name__}")
    if isinstance(value, SigmaBool):
        wanted, spelled = value.boolean, str(value.boolean).lower()
        return lambda v: v is wanted or (isinstance(v, str) and fold(v) == spelled)
    if isinstance(value, SigmaCompareExpression):  # gt/gte/lt/lte
        compare, limit = _COMPARE[value.op], value.number.number

        def compare_test(v: Any) -> bool:
            n = number_of(v)
            return n is not None and bool(compare(n, limit))

        return compare_test
    if isinstance(value, SigmaCIDRExpression):  # "cidr"
        network = _in_ipv6(value.network)

        def cidr_test(v: Any) -> bool:
            if not isinstance(v, str):
                return False
            try:
                address = ipaddress.ip_address(v.strip())
            except ValueError:
                return False
            return _in_ipv6(address) in network  # type: ignore[operator]

        return cidr_test
    raise Unsupported(f"value type {type(value).__name__} has no reference semantics")
