"""Character sets for the PCRE-to-Lucene translation: ranges, set algebra, case folding, rendering.

A PCRE character class (``[a-c\\d]``, ``[^"]``, ``\\W``, ``.``) is turned into an explicit set of
code points first, so that negation, shorthand classes inside classes and case folding are plain
set operations; only then is the set written as a Lucene class. Lucene RegExp classes accept any
code point and a leading ``^`` (https://www.elastic.co/guide/en/elasticsearch/reference/current/
regexp-syntax.html), so every finite set has an exact Lucene spelling.

Case folding follows the engine sigport's reference evaluator runs Sigma regexes with (the
``regex`` package in its default mode; see ``SEMANTICS["sigma_regex_case_folding"]``): a
subject character matches a case-insensitive class when one of its case variants is in the class.
Only ASCII characters and caseless characters are folded here: the case variants of other letters
depend on the Unicode version of the engine, which sigport cannot pin, so they are refused.
"""

from __future__ import annotations

import unicodedata
from typing import Callable, Iterable, Mapping

from .semantics import SEMANTICS

MAX_CODE_POINT = 0x10FFFF
#: Characters with a meaning inside a Lucene class (``]`` ends it, ``-`` makes a range, ``^`` negates
#: at the start, ``\\`` escapes) plus the reserved operator characters, which are escaped as well
#: because ``\\x`` is always the literal ``x`` in Lucene RegExp.
_CLASS_SPECIAL = frozenset('.?+*|{}[]()"\\#@&<>~-^')
#: Categories of letters whose case variants could exist in some Unicode version: never folded.
_CASED_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Cn"})

Ranges = tuple[tuple[int, int], ...]


class FoldError(ValueError):
    """A character's case variants cannot be stated independently of the Unicode version."""


def _normalise(ranges: Iterable[tuple[int, int]]) -> Ranges:
    out: list[list[int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return tuple((lo, hi) for lo, hi in out)


class CharSet:
    """An immutable set of code points, kept as sorted disjoint inclusive ranges."""

    __slots__ = ("ranges",)

    def __init__(self, ranges: Iterable[tuple[int, int]] = ()) -> None:
        self.ranges: Ranges = _normalise(ranges)

    @classmethod
    def of(cls, chars: str) -> CharSet:
        """The set of the characters in ``chars``."""
        return cls((ord(c), ord(c)) for c in chars)

    @classmethod
    def span(cls, lo: str, hi: str) -> CharSet:
        """The inclusive range ``lo-hi``."""
        return cls([(ord(lo), ord(hi))])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CharSet) and self.ranges == other.ranges

    def __hash__(self) -> int:
        return hash(self.ranges)

    def __repr__(self) -> str:
        return f"CharSet({self.ranges!r})"

    def __or__(self, other: CharSet) -> CharSet:
        return CharSet(self.ranges + other.ranges)

    def __contains__(self, char: str) -> bool:
        code = ord(char)
        return any(lo <= code <= hi for lo, hi in self.ranges)

    def complement(self) -> CharSet:
        """Every code point not in the set."""
        out, start = [], 0
        for lo, hi in self.ranges:
            if lo > start:
                out.append((start, lo - 1))
            start = hi + 1
        if start <= MAX_CODE_POINT:
            out.append((start, MAX_CODE_POINT))
        return CharSet(out)

    def swapped(self, swap: Mapping[str, str]) -> CharSet:
        """The image of this set under ``swap``, a bijection of characters given both ways
        (``backends.query.ingest.COPY_SWAP`` and its inverse): each member that ``swap`` moves
        is replaced by its image, the others stay."""
        moved = [char for char in swap if char in self]
        if not moved:
            return self
        kept = (self.complement() | CharSet.of("".join(moved))).complement()
        return kept | CharSet.of("".join(swap[char] for char in moved))

    def size(self) -> int:
        """Number of code points in the set."""
        return sum(hi - lo + 1 for lo, hi in self.ranges)

    def chars(self) -> Iterable[str]:
        """The members in code-point order (only sensible for small sets)."""
        for lo, hi in self.ranges:
            for code in range(lo, hi + 1):
                yield chr(code)

    def has_cased(self) -> bool:
        """True when some member may have a case variant (a case-insensitive match widens it).

        Conservative: a set too wide to inspect, or holding a letter ``fold`` would refuse,
        counts as cased.
        """
        if self.size() > 0x3000:
            return True
        for char in self.chars():
            try:
                if len(regex_case_variants(char)) > 1:
                    return True
            except FoldError:
                return True
        return False

    def fold(self, ascii_only: bool = False) -> CharSet:
        """The case-insensitive closure: every character with a case variant in the set.

        Args:
            ascii_only: Python's ASCII flag: only ASCII letters fold, in pairs.

        Raises:
            FoldError: the set holds a letter whose case variants depend on the Unicode version
                (any non-ASCII letter with case), or is too wide to fold member by member.
        """
        if self.size() > 0x3000:
            raise FoldError("case-insensitive class too wide to fold letter by letter")
        if ascii_only:
            extra = [(ord(c.swapcase()),) * 2 for c in self.chars() if c.isascii() and c.isalpha()]
        else:
            extra = [(ord(v), ord(v)) for c in self.chars() for v in regex_case_variants(c)]
        return CharSet(self.ranges + tuple(extra))

    def render(self) -> str:
        """The set as a Lucene RegExp atom: a literal, ``.``, ``[...]`` or ``[^...]``.

        Raises:
            FoldError: the set is empty (Python matches nothing; no class is needed to say so,
                but an empty class is not valid Lucene syntax) or an end point is a surrogate.
        """
        if not self.ranges:
            raise FoldError("empty character class")
        if self.ranges == ((0, MAX_CODE_POINT),):
            return "."
        if self.ranges[0][0] == self.ranges[0][1] and len(self.ranges) == 1:
            return escape_char(chr(self.ranges[0][0]))
        positive = "[" + _items(self.ranges) + "]"
        inverse = self.complement()
        negative = "[^" + _items(inverse.ranges) + "]"
        # The negated spelling is chosen when shorter: '[^"]' rather than every other code point.
        return negative if len(negative) < len(positive) else positive


def escape_char(char: str) -> str:
    """One literal character outside a class, escaped when Lucene RegExp reserves it."""
    reserved = SEMANTICS.get("regex_reserved")
    assert isinstance(reserved, str)
    return "\\" + char if char in reserved else char


def _class_char(code: int) -> str:
    if 0xD800 <= code <= 0xDFFF:
        raise FoldError("a surrogate code point cannot be written in a query")
    char = chr(code)
    return "\\" + char if char in _CLASS_SPECIAL else char


def _items(ranges: Ranges) -> str:
    canonical = _CANONICAL.get(ranges)
    if canonical is not None:
        return canonical
    out = []
    for lo, hi in ranges:
        if lo == hi:
            out.append(_class_char(lo))
        elif hi == lo + 1:
            out.append(_class_char(lo) + _class_char(hi))
        elif lo == ord("\\"):
            # Lucene's parseCharClass hands an escaped backslash to matchPredefinedCharacterClass,
            # which returns it as one character: the class [\\-z] is {\, -, z}, never a range. So a
            # range starting at the backslash is written as the backslash and the rest.
            out.append(_class_char(lo) + _class_char(lo + 1) + "-" + _class_char(hi))
        else:
            out.append(_class_char(lo) + "-" + _class_char(hi))
    return "".join(out)


def variant_class(chars: str) -> str:
    """The case variants of one letter as a Lucene class, in the order given (``[kK\u212a]``)."""
    return "[" + "".join(_class_char(ord(c)) for c in chars) + "]"


def _shorthand(key: str) -> CharSet:
    table = SEMANTICS.get("sigma_regex_shorthand")
    assert isinstance(table, dict)
    return CharSet((ord(lo), ord(hi)) for lo, hi in table[key])


DIGIT = _shorthand("d")
WORD = _shorthand("w")
SPACE = _shorthand("s")
NEWLINE = CharSet.of("\n")
#: How the shorthand classes are spelled inside ``[...]``/``[^...]`` when they are the whole class:
#: the familiar order, not the code-point order ``_items`` would produce.
_CANONICAL = {
    DIGIT.ranges: "0-9",
    WORD.ranges: "a-zA-Z0-9_",
    SPACE.ranges: " \t\n\x0b\x0c\r",
}


def regex_case_variants(char: str) -> str:
    """The characters a case-insensitive Sigma regex matches for ``char`` (``char`` first).

    ASCII letters pair with their other case, and the four non-ASCII characters that the
    reference engine folds onto ASCII letters join them (``SEMANTICS``
    ``sigma_regex_case_folding``). Characters without case are themselves.

    Raises:
        FoldError: ``char`` is a letter outside that table whose case variants depend on the
            Unicode version (``é``, ``Σ``, an unassigned code point).
    """
    table = SEMANTICS.get("sigma_regex_case_folding")
    assert isinstance(table, dict)
    if char in table:
        return str(table[char])
    if char.isascii():
        return char + char.swapcase() if char.isalpha() else char
    if char.lower() != char or char.upper() != char:
        raise FoldError(f"the case variants of {char!r} depend on the Unicode version")
    if unicodedata.category(char) in _CASED_CATEGORIES:
        raise FoldError(f"{char!r} may have case variants in a newer Unicode version")
    return char


def case_variants_or(char: str, refuse: Callable[[str], Exception]) -> str:
    """``regex_case_variants(char)``, or the emitter's refusal ``refuse(reason)`` when its
    variants depend on the Unicode version (the Kusto and Splunk case rewriters share this)."""
    try:
        return regex_case_variants(char)
    except FoldError as exc:
        raise refuse(str(exc)) from None


def literal_variants(char: str) -> str:
    """``regex_case_variants`` ordered for display: lower case, upper case, then the rest."""
    variants = regex_case_variants(char)
    if len(variants) == 1:
        return variants
    first = [c for c in (char.lower(), char.upper()) if c in variants and c.isascii()]
    return "".join(dict.fromkeys(first + sorted(variants, key=ord)))


__all__ = [
    "CharSet",
    "DIGIT",
    "FoldError",
    "NEWLINE",
    "SPACE",
    "WORD",
    "escape_char",
    "literal_variants",
    "regex_case_variants",
    "variant_class",
]
