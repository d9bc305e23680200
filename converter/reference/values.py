"""Value side of the reference evaluator: matching one typed Sigma value on event values.

``converter.reference.evaluator`` compiles pySigma's condition tree; this module supplies its leaves. Two
kinds of value test exist, so that an event field is folded once per event, not once per test:

* a **folded** test (``FoldedTest``) takes a field value already folded with
  ``converter.reference.fields.fold`` ("string_case" in ``converter.reference.semantics``): every case-insensitive string test
  (plain values, wildcards, contains / startswith / endswith, windash and base64 variants);
* a **raw** test (``ValueTest``) takes one scalar event value as it is: cased strings, regular
  expressions, numbers, booleans, comparisons, CIDR blocks.

Field access and case folding of event values are in ``converter.reference.fields``; regular
expressions compiled and matched under a time limit in ``converter.reference.regex``.

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
    SigmaString,
    SigmaTimestampPart,
    SigmaType,
    SpecialChars,
)

from converter.reference.fields import fold, number_of, text_of
from converter.reference.regex import (  # noqa: F401 - importable from here, as before the split
    REGEX_FLAGS,
    Bounded,
    Undecided,
    Unsupported,
    ascii_shorthands,
    compiled_regex,
    regex_flags,
    regex_source,
)


FoldedTest = Callable[[str], bool]
ValueTest = Callable[[Any], bool]
Parts = tuple["str | SpecialChars", ...]


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
# Value tests

_COMPARE = {
    CompareOperators.LT: operator.lt,
    CompareOperators.LTE: operator.le,
    CompareOperators.GT: operator.gt,
    CompareOperators.GTE: operator.ge,
    CompareOperators.NEQ: operator.ne,
}

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
