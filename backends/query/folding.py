"""Case folding the way each engine does it, one code point at a time.

Three foldings occur in the engines sigport targets, and none of them is Python's ``str.lower``
(which maps ``İ`` to two characters and lowercases a final ``Σ`` to ``ς`` by context):

* ``simple``: each code point's simple lowercase mapping (UnicodeData.txt field 13), which is
  Java's ``Character.toLowerCase(int)``. Lucene's ``LowerCaseFilter`` applies it, so it is what
  Elasticsearch's ``lowercase`` normalizer and token filter index
  (https://lucene.apache.org/core/9_0_0/core/org/apache/lucene/analysis/LowerCaseFilter.html).
  It is also the reading of Sigma's "case-insensitive" that the reference evaluator uses.
* ``ascii``: only ``A-Z`` and ``a-z`` fold (Lucene ``RegExp.ASCII_CASE_INSENSITIVE``, ES
  ``case_insensitive`` up to elastic/elasticsearch#153513).
* ``unicode``: Unicode simple case folding (CaseFolding.txt statuses C and S): two code points
  are equal when they fold to the same code point, so ``ſ`` joins ``s``/``S`` and the Kelvin sign
  joins ``k``/``K`` (Lucene ``CaseFolding.expand``, ES ``case_insensitive`` after #153513).
* ``full``: Java's ``String.toLowerCase(Locale.ROOT)``, the full lowercase mapping
  (SpecialCasing.txt's unconditional entries, and ``Σ`` to ``ς`` at the end of a word), which
  is also Python's ``str.lower``: ``İ`` becomes two code points, so a ``?`` wildcard can see
  a different length. ES|QL's ``TO_LOWER`` applies it
  (https://www.elastic.co/docs/reference/query-languages/esql/functions-operators/string-functions).
* ``upper``: each code point's simple uppercase mapping (UnicodeData.txt field 12), which is
  .NET's ``Char.ToUpperInvariant`` and so ``StringComparison.OrdinalIgnoreCase``
  (https://learn.microsoft.com/dotnet/standard/base-types/best-practices-strings): ``ı`` joins
  ``i``/``I`` and ``ſ`` joins ``s``/``S``, while U+0130 and the Kelvin sign stay apart. A
  candidate wherever an engine built on .NET does not document its folding (Kusto).

None of them but ``full`` changes a string's length, so a ``?`` wildcard stays one code point
under each.
``Fold`` (in ``ast.py``) names which readings a leaf may be evaluated with; ``fold_function``
returns the string function of one reading.
"""

from __future__ import annotations

import functools
from typing import Callable

#: Code points beyond this have no case mapping in any Unicode version so far (the last cased
#: block, Adlam, ends at U+1E94B).
_CASED_LIMIT = 0x20000
_DOTTED_CAPITAL_I = "\u0130"

SIMPLE = "simple"
ASCII = "ascii"
UNICODE = "unicode"
UPPER = "upper"
FULL = "full"


def lower1(char: str) -> str:
    """Java ``Character.toLowerCase(int)`` of one code point: always one code point.

    Python's ``str.lower`` uses the full mapping (SpecialCasing.txt); the only code point whose
    full lowercase is longer than one character is U+0130, whose simple mapping is ``i``.
    """
    return "i" if char == _DOTTED_CAPITAL_I else char.lower()


@functools.lru_cache(maxsize=1)
def _simple_lower_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(_CASED_LIMIT):
        char = chr(code)
        lower = lower1(char)
        if lower != char:
            table[code] = lower
    return table


@functools.lru_cache(maxsize=1)
def _simple_fold_table() -> dict[int, str]:
    """CaseFolding.txt C and S mappings, from Python's tables: ``casefold`` gives the C (or F)
    mapping; where it is longer than one character (F), the S mapping, when there is one, is the
    simple lowercase (``ẞ`` -> ``ß``, ``ᾈ`` -> ``ᾀ``); otherwise the code point folds to itself
    (``ß``, ``İ``: they have only full foldings)."""
    table: dict[int, str] = {}
    for code in range(0x41, _CASED_LIMIT):
        char = chr(code)
        folded = char.casefold()
        if len(folded) != 1:
            lower = char.lower()
            folded = lower if len(lower) == 1 else char
        if folded != char:
            table[code] = folded
    return table


def upper1(char: str) -> str:
    """The simple uppercase mapping of one code point: always one code point.

    Python's ``str.upper`` uses the full mapping (``ß`` -> ``SS``); where that is longer, the
    simple mapping is the titlecase one when it is a single code point (``ᾳ`` -> ``ᾼ``), else
    there is none (``ß``, ``ŉ`` stay).
    """
    upper = char.upper()
    if len(upper) == 1:
        return upper
    title = char.title()
    return title if len(title) == 1 else char


@functools.lru_cache(maxsize=1)
def _simple_upper_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(_CASED_LIMIT):
        upper = upper1(chr(code))
        if upper != chr(code):
            table[code] = upper
    return table


#: Values this long or longer are folded once per distinct value (``_long_values_once``).
_ONCE_FROM = 256


def _long_values_once(function: Callable[[str], str]) -> Callable[[str], str]:
    """``function`` remembering its last few results on long values.

    A query that tests one field in many leaves (a ``contains|all`` of 200 values) folds the
    same value once per leaf: on the long values ``check --generate`` writes (past every
    ``ignore_above``, thousands of characters) that was the square of the list's length per
    event. Short values are folded each time (cheaper than the lookup).
    """
    remembered = functools.lru_cache(maxsize=64)(function)

    @functools.wraps(function)
    def fold(text: str) -> str:
        return remembered(text) if len(text) >= _ONCE_FROM else function(text)

    return fold


@_long_values_once
def simple_upper(text: str) -> str:
    """``text`` with every code point uppercased by ``upper1`` (.NET ``ToUpperInvariant``)."""
    if text.isascii():
        return text.upper()
    return text.translate(_simple_upper_table())


@_long_values_once
def simple_lower(text: str) -> str:
    """``text`` with every code point lowercased by ``lower1`` (LowerCaseFilter, normalizer)."""
    if text.isascii():
        return text.lower()
    return text.translate(_simple_lower_table())


#: ``A``-``Z`` to ``a``-``z`` on UTF-8 bytes: a byte below 0x80 is always a whole ASCII
#: character there (every byte of a longer sequence is 0x80 or above), so the bytes can be
#: translated in C (a per-character Python loop cost most of a check whose event values hold
#: non-ASCII fillers).
_ASCII_LOWER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")


@_long_values_once
def ascii_lower(text: str) -> str:
    """``text`` with only ASCII letters lowercased."""
    if text.isascii():
        return text.lower()
    # "surrogatepass": a lone surrogate (which JSON can carry) goes through unchanged.
    return text.encode("utf-8", "surrogatepass").translate(_ASCII_LOWER).decode(
        "utf-8", "surrogatepass")


@_long_values_once
def simple_fold(text: str) -> str:
    """``text`` under Unicode simple case folding (C + S), one code point each."""
    return text.translate(_simple_fold_table())


@_long_values_once
def full_lower(text: str) -> str:
    """Java ``String.toLowerCase(Locale.ROOT)``: the full mapping, final sigma by context.

    Python's ``str.lower`` applies the same unconditional SpecialCasing.txt entries (U+0130 to
    ``i`` + U+0307) and the same Final_Sigma condition that Java's ``toLowerCase`` implements for
    a locale other than Turkish, Azeri and Lithuanian.
    """
    return text.lower()


_FUNCTIONS: dict[str, Callable[[str], str]] = {
    SIMPLE: simple_lower,
    ASCII: ascii_lower,
    UNICODE: simple_fold,
    UPPER: simple_upper,
    FULL: full_lower,
}


def fold_function(reading: str) -> Callable[[str], str]:
    """The string function of one folding reading (``simple``, ``ascii``, ``unicode``, ``upper``,
    ``full``)."""
    return _FUNCTIONS[reading]


@functools.lru_cache(maxsize=None)
def _classes(reading: str) -> dict[str, str]:
    """Folded form -> every code point with that folded form (lowest first), multi-member only."""
    function = _FUNCTIONS[reading]
    groups: dict[str, list[str]] = {}
    # Only a code point that folds to another one can make a class of two or more.
    changing = {
        SIMPLE: _simple_lower_table, UNICODE: _simple_fold_table, UPPER: _simple_upper_table,
        FULL: _simple_lower_table,  # the code points full lowercasing changes are the same
    }.get(reading)
    codes = changing().keys() if changing else range(ord("A"), ord("Z") + 1)
    for code in codes:
        char = chr(code)
        folded = function(char)
        if folded != char:
            # A folded form longer than one code point (``full``: U+0130) is no member.
            groups.setdefault(folded, [folded] if len(folded) == 1 else []).append(char)
    return {key: "".join(sorted(set(chars), key=ord)) for key, chars in groups.items()}


def equivalents(char: str, reading: str = SIMPLE) -> str:
    """Every code point equal to ``char`` under ``reading`` (``char``'s class), in code-point
    order; ``char`` alone when it has no case partner. Under ``simple``: ``i`` -> ``Iiİ``,
    ``ß`` -> ``ßẞ``, ``ς`` -> ``ς`` (its lowercase is itself, and ``Σ`` lowercases to ``σ``)."""
    folded = _FUNCTIONS[reading](char)
    return _classes(reading).get(folded, char)


@functools.lru_cache(maxsize=1 << 16)  # asked per letter of every value an emitter writes
def folds_alike(char: str, readings: tuple[str, ...]) -> bool:
    """True when ``char`` has the same class under every reading in ``readings``."""
    first = equivalents(char, readings[0])
    return all(equivalents(char, r) == first for r in readings[1:])


@functools.lru_cache(maxsize=None)
def _ascii_unalike(readings: tuple[str, ...]) -> frozenset[str]:
    """The ASCII characters that ``folds_alike`` says do not fold alike under ``readings``."""
    return frozenset(c for c in map(chr, range(128)) if not folds_alike(c, readings))


def text_folds_alike(text: str, readings: tuple[str, ...]) -> bool:
    """True when every character of ``text`` folds alike under ``readings`` (``folds_alike``).

    An ASCII text is answered by one set lookup of its characters: emitters ask this of every
    value they write, and a cached call per character was 4% of an EQL conversion's CPU.
    """
    if text.isascii():
        return _ascii_unalike(readings).isdisjoint(text)
    return all(folds_alike(c, readings) for c in text)


@functools.lru_cache(maxsize=1)
def _ascii_partners() -> frozenset[str]:
    """Non-ASCII code points that fold to an ASCII letter under some reading: U+0130 (simple
    lowercase ``i``), the Kelvin sign (``k``), U+017F (``s`` under case folding and uppercase),
    U+0131 (uppercase ``I``)."""
    out: set[str] = set()
    for table in (_simple_lower_table(), _simple_fold_table(), _simple_upper_table()):
        out.update(chr(code) for code, folded in table.items() if code > 0x7F and folded.isascii())
    return frozenset(out)


def ascii_view(text: str, reading: str) -> str:
    """``text`` as a caseless match of an ASCII-only pattern sees it under ``reading``.

    A non-ASCII code point that folds to an ASCII letter under ``reading`` becomes that letter;
    one that does so only under another reading becomes U+FFFD, which no ASCII letter matches
    under any caseless matcher (RE2's ``(?i)`` would otherwise pair the Kelvin sign with ``k``
    whatever the reading). Every other code point is left alone: an ASCII pattern letter never
    matches it caselessly, so the pattern's verdict on the result is its verdict under
    ``reading``.
    """
    partners = _ascii_partners()
    if text.isascii() or not any(c in partners for c in text):
        return text
    function = _FUNCTIONS[reading]
    out = []
    for char in text:
        if char in partners:
            folded = function(char)
            char = folded if folded.isascii() else "\ufffd"
        out.append(char)
    return "".join(out)


__all__ = [
    "ASCII",
    "FULL",
    "SIMPLE",
    "UNICODE",
    "UPPER",
    "ascii_lower",
    "ascii_view",
    "equivalents",
    "fold_function",
    "folds_alike",
    "text_folds_alike",
    "full_lower",
    "lower1",
    "simple_fold",
    "simple_lower",
    "simple_upper",
    "upper1",
]
