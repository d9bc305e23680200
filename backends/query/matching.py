"""Primitive matchers for the evaluator: field lookup, globs, regex dialects, CIDR, text analysis.

Pure functions with no knowledge of the query tree. ``evaluate.py`` compiles tree leaves into
closures built from these. Every vendor fact they rely on is cited next to the code. The bounded
pattern type lives in ``patterns.py``, the regex dialects in ``lucene_regex.py`` and
``pcre.py``, the ``standard`` analyzer in ``analysis.py``, the IP address tests in ``cidr.py``;
their public names are re-exported here, so ``backends.query.matching`` stays the one import path.
"""

from __future__ import annotations

import functools
import decimal
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, Callable, cast

from .analysis import analyze
from .cidr import cidr_match, ip_prefix_match, parse_network
from .ast import GlobPart, Wildcard, glob_text
from .lucene_regex import decimal_interval, lucene_plain, lucene_regex
from .patterns import MATCH_TIME_LIMIT, BoundedPattern, MatchTimeout, PatternSyntaxError
from .pcre import pcre_regex
from .re2 import re2_regex

__all__ = [
    "MATCH_TIME_LIMIT",
    "BoundedPattern",
    "MatchTimeout",
    "PatternSyntaxError",
    "analyze",
    "cidr_match",
    "decimal_interval",
    "glob_predicate",
    "globs_predicate",
    "glob_to_regex",
    "ip_prefix_match",
    "globs_to_regex",
    "iter_strings",
    "lookup",
    "lucene_plain",
    "lucene_regex",
    "parse_network",
    "pcre_regex",
    "re2_regex",
    "es_double",
    "scalar_text",
    "to_number",
]


# --- field lookup ------------------------------------------------------------------------------


def _walk(obj: Any, parts: list[str], out: list[Any]) -> bool:
    """Collect the values at dotted path ``parts`` below ``obj``; return whether any key existed.

    At each level the longest dotted key present wins, so flat (``{"process.name": ..}``), nested
    and mixed (``{"process": {"parent.name": ..}}``) shapes all resolve. Arrays of objects are
    flattened the way Elasticsearch flattens them (``process: [{name: a}, {name: b}]`` gives
    ``process.name: [a, b]``).
    """
    if isinstance(obj, list):
        found = False
        for item in obj:
            found = _walk(item, parts, out) or found
        return found
    if not isinstance(obj, Mapping):
        return False
    for i in range(len(parts), 0, -1):
        key = ".".join(parts[:i])
        if key in obj:
            if i == len(parts):
                out.append(obj[key])
                return True
            if _walk(obj[key], parts[i:], out):
                return True
    return False


def _flatten(value: Any, out: list[Any]) -> None:
    """Append the scalar values of ``value``: lists flattened, nulls and objects dropped."""
    if value is None or isinstance(value, Mapping):
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _flatten(item, out)
        return
    out.append(value)


def lookup(event: Mapping[str, Any], field: str) -> list[Any] | None:
    """Return the scalar values of ``field`` in ``event``, or None when the field is missing.

    A dotted flat key is tried first, then nested objects. A scalar becomes a one-element list;
    JSON nulls (also inside lists) are dropped and an all-null or empty list counts as missing,
    as Elasticsearch indexes no value for them. Field names are case-sensitive.
    """
    raw: list[Any]
    if field in event:
        value = event[field]
        if type(value) is str:  # the common case, as _flatten would give it
            return [value]
        raw = [value]
    elif "." not in field:
        return None  # _walk of a one-part path finds only the key itself, absent here
    else:
        raw = []
        _walk(event, field.split("."), raw)
    values: list[Any] = []
    for item in raw:
        _flatten(item, values)
    return values or None


# --- scalar helpers ----------------------------------------------------------------------------

#: ASCII digits only: Python's ``\d`` takes any script's decimal digits ('٩'), which no engine
#: without a documented coercion reads as a number (semantics ``number_text``).
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def to_number(value: Any) -> int | float | None:
    """Coerce an event value to a number, or None when it is not numeric.

    Numeric strings count (``"4688"``): Windows events often carry numbers as strings and
    Elasticsearch coerces numeric strings on numeric fields (mapping parameter ``coerce``, on by
    default: https://www.elastic.co/guide/en/elasticsearch/reference/current/coerce.html).
    Booleans are not numbers.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return None if isinstance(value, float) and math.isnan(value) else value
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        number = float(value)
        if number.is_integer() and re.fullmatch(r"[+-]?[0-9]+", value):
            return int(value)
        return number
    return None


#: Java's decimal forms (``Long.parseLong``, ``new BigDecimal``): Python's ``\\d`` in a str
#: pattern is any Unicode decimal digit, as Java's ``Character.digit(ch, 10)`` is.
_JAVA_INTEGER = re.compile(r"[+-]?\d+")
_JAVA_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_LONG_RANGE = range(-(2**63), 2**63)


def es_long(value: Any) -> int | None:
    """The number an Elasticsearch whole-number field indexes for an event value, or None when
    it rejects it (the value is then not indexed: ``ignore_malformed`` of the logs templates).

    ``coerce`` (on by default) reads a string with ``Long.parseLong``, else ``new BigDecimal``
    truncated, and truncates a JSON fraction
    (https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/coerce): ``'0888'``,
    ``'888.0'``, ``'888.7'``, ``888.7`` and ``'٨٨٨'`` are 888; ``' 888'``, ``'8_88'``, ``'inf'``
    and ``'0x10'`` are rejected.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not math.isfinite(value):
            return None
        number = int(value)
    elif isinstance(value, str) and _JAVA_INTEGER.fullmatch(value):
        number = int(value)
    elif isinstance(value, str) and _JAVA_DECIMAL.fullmatch(value):
        number = int(decimal.Decimal(value))  # toward zero, as BigDecimal.toBigInteger()
    else:
        return None
    return number if number in _LONG_RANGE else None


#: Java's ``Double.parseDouble`` after its ``trim()`` (FloatingDecimal.readJavaFormatString):
#: ASCII digits, an optional exponent and type suffix; NaN / Infinity and hexadecimal forms too.
_JAVA_DOUBLE = re.compile(
    r"[+-]?(?:NaN|Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[fFdD]?"
    r"|0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?[0-9]+[fFdD]?)")


def es_double(value: Any) -> float | None:
    """The number an Elasticsearch floating-point field indexes for an event value, or None when
    it rejects it (not indexed: ``ignore_malformed`` of the logs templates).

    ``coerce`` reads a string with Java's ``Double.parseDouble``
    (https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/coerce), which trims
    characters up to U+0020 and takes ASCII digits only: ``' 12 '``, ``'12d'`` and ``'1e3'`` are
    numbers, ``'١٢'``, ``'1_000'`` are not; a non-finite value is rejected ("supports only finite
    values", https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/number).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip("".join(map(chr, range(0x21))))
        if not _JAVA_DOUBLE.fullmatch(text):
            return None
        body = text.rstrip("fFdD") if not text.lower().lstrip("+-").startswith("0x") else text
        number = float.fromhex(body.rstrip("fFdD")) if "x" in body.lower() else float(body)
    else:
        return None
    return number if math.isfinite(number) else None


def scalar_text(value: Any) -> str:
    """Render an event scalar as the text a keyword field would index.

    Booleans become ``true``/``false`` (their JSON spelling, which is what a keyword field stores
    for a JSON boolean); numbers use Python's ``str``.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- glob --------------------------------------------------------------------------------------


def _glob_source(parts: tuple[GlobPart, ...]) -> str:
    out = []
    for part in parts:
        if part is Wildcard.ANY:
            out.append(".*")
        elif part is Wildcard.ONE:
            out.append(".")
        else:
            out.append(re.escape(part))
    return "".join(out)


@functools.lru_cache(maxsize=4096)
def glob_to_regex(parts: tuple[GlobPart, ...], case_sensitive: bool = True) -> BoundedPattern:
    """Compile a glob (literal strings and ``Wildcard`` markers) to a whole-value regex.

    ``*`` matches any run of characters including newlines, ``?`` exactly one character. Literal
    parts are escaped. With ``case_sensitive=False`` the pattern uses Unicode ``IGNORECASE``;
    the evaluator instead folds both sides with the leaf's reading (``folding.py``) and passes
    ``True``.
    """
    flags = re.DOTALL | (0 if case_sensitive else re.IGNORECASE)
    # Bounded: a glob with many '*' backtracks polynomially ('*a*a*a*a*a*a*a*b').
    return BoundedPattern.compile(_glob_source(parts), flags, glob_text(parts))


@functools.lru_cache(maxsize=1024)
def globs_to_regex(globs: tuple[tuple[GlobPart, ...], ...]) -> BoundedPattern:
    """One whole-value regex matching a value when ANY of the globs matches it (case-sensitive;
    callers fold case themselves). A rule's list of 100 patterns on one field becomes one scan."""
    source = "|".join(f"(?:{_glob_source(parts)})" for parts in globs)
    shown = " or ".join(glob_text(parts) for parts in globs)
    return BoundedPattern.compile(source, re.DOTALL, shown)


def _glob_shape(parts: tuple[GlobPart, ...]) -> tuple[str, str] | None:
    """The plain string test a glob is, for the shapes Sigma's modifiers produce: ``("equals",
    x)`` (also ``x = ""``), ``("startswith", x)``, ``("endswith", x)``, ``("contains", x)``
    (``*`` alone: contains ""); None for any other glob."""
    shape = tuple(isinstance(p, str) for p in parts)
    if shape == ():
        return ("equals", "")
    if shape == (True,):
        return ("equals", cast(str, parts[0]))
    if shape == (True, False) and parts[1] is Wildcard.ANY:
        return ("startswith", cast(str, parts[0]))
    if shape == (False, True) and parts[0] is Wildcard.ANY:
        return ("endswith", cast(str, parts[1]))
    if shape == (False, True, False) and parts[0] is Wildcard.ANY and parts[2] is Wildcard.ANY:
        return ("contains", cast(str, parts[1]))
    if shape == (False,) and parts[0] is Wildcard.ANY:
        return ("contains", "")
    return None


def _ordered_runs(parts: tuple[GlobPart, ...]) -> tuple[str, tuple[str, ...], str] | None:
    """A glob of text and ``*`` only (at least one) as ``(first, middle, last)``: the text before
    its first ``*``, the non-empty runs between, the text after its last; else None."""
    if Wildcard.ONE in parts or Wildcard.ANY not in parts:
        return None
    runs = [""]
    for part in parts:
        if part is Wildcard.ANY:
            runs.append("")
        else:
            runs[-1] += cast(str, part)
    return runs[0], tuple(r for r in runs[1:-1] if r), runs[-1]


def _runs_match(value: str, first: str, middle: tuple[str, ...], last: str) -> bool:
    """Whole-value match of ``first*m1*...*last`` (``_ordered_runs``) without a regex: the
    middle runs in order between ``first`` and ``last``, each leftmost (leaving most room)."""
    end = len(value) - len(last)
    pos = len(first)
    if end < pos or not value.startswith(first) or not value.endswith(last):
        return False
    for run in middle:
        found = value.find(run, pos, end)
        if found < 0:
            return False
        pos = found + len(run)
    return True


@functools.lru_cache(maxsize=4096)
def glob_predicate(parts: tuple[GlobPart, ...]) -> Callable[[str], bool]:
    """A case-sensitive whole-value test for one glob (``globs_predicate`` of it alone)."""
    return globs_predicate((parts,))


@functools.lru_cache(maxsize=1024)
def globs_predicate(globs: tuple[tuple[GlobPart, ...], ...]) -> Callable[[str], bool]:
    """A case-sensitive whole-value test true when ANY of the globs matches: plain string
    operations for the shapes ``_glob_shape`` reads (a set, ``startswith`` / ``endswith`` over
    a tuple, ``in``) and for globs of literal runs and ``*`` only (``_runs_match``), one
    bounded alternation regex (``globs_to_regex``) for the others (a ``?``). Exact:
    each shape's test is its glob's fullmatch. A rule's list of 300 ``*x*`` values then needs
    no regex compiled."""
    tests: dict[str, list[str]] = {"equals": [], "startswith": [], "endswith": [], "contains": []}
    rest = []
    for parts in globs:
        shape = _glob_shape(parts)
        if shape is None:
            rest.append(parts)
        else:
            tests[shape[0]].append(shape[1])
    equal = frozenset(tests["equals"])
    prefixes, suffixes = tuple(tests["startswith"]), tuple(tests["endswith"])
    inner = tuple(tests["contains"])
    if not (prefixes or suffixes or inner or rest):
        return equal.__contains__
    runs = [_ordered_runs(parts) for parts in rest]
    ordered = [r for r in runs if r is not None]
    regexed = tuple(parts for parts, r in zip(rest, runs) if r is None)
    fullmatch = globs_to_regex(regexed).fullmatch if regexed else None

    def test(v: str) -> bool:
        if v in equal or (prefixes and v.startswith(prefixes)) or (
                suffixes and v.endswith(suffixes)):
            return True
        if any(part in v for part in inner):
            return True
        if ordered and any(_runs_match(v, *runs) for runs in ordered):
            return True
        return fullmatch is not None and fullmatch(v) is not None

    return test


# --- scalars of a value ----------------------------------------------------------------------


def iter_strings(value: Any) -> Iterable[str]:
    """Yield every scalar inside ``value`` (recursing into objects and lists) as text.

    Strings and numbers are yielded (numbers via ``str``, as a free-text search over numeric
    fields compares their text); nulls and booleans are skipped.
    """
    if isinstance(value, Mapping):
        for item in value.values():
            yield from iter_strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from iter_strings(item)
    elif isinstance(value, str):
        yield value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield str(value)
