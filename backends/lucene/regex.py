"""Translate Sigma regexes and globs into Lucene RegExp syntax, exactly or not at all.

Lucene RegExp (query_string ``/re/``, Query DSL ``regexp``, EQL ``regex``/``regex~``) matches the
whole value, has no flags, assertions or lazy quantifiers, and reserves extra operator characters
(``# @ & < > ~``; https://www.elastic.co/guide/en/elasticsearch/reference/current/
regexp-syntax.html). Two translations live here:

* ``translate_pcre`` / ``pcre_to_lucene``: a Sigma ``re`` value (PCRE-flavoured, unanchored,
  case-sensitive unless ``|i`` or ``(?i)``), parsed by ``pcre.py`` with the sets of ``charset.py``.
  Anything without an exact equivalent (look-around, back-references, ``\b``, possessive
  quantifiers, anchors inside the pattern, ``^``/``$`` under ``|m``, non-ASCII letters matched
  case-insensitively) raises ``SigmaFeatureNotSupportedByBackendError`` naming the construct.
* ``glob_to_lucene``: a Sigma string value with its live ``*``/``?`` wildcards, matched
  case-insensitively the way Sigma strings are (each code point's simple lowercase): letters
  become classes of every character with the same simple lowercase (``[cC]``, ``[iIİ]``,
  ``[ßẞ]``), so the case-sensitive regex is exact on every letter.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Iterable, Union

from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import (
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)

from backends.common import refuse_placeholders
from backends.query.folding import SIMPLE, equivalents, lower1

from .pcre import EngineFoldingUnusable, Flags, Translator
from .semantics import SEMANTICS

#: Characters Lucene RegExp reserves (SEMANTICS "regex_reserved"). ``/`` is not here: it
#: only matters to the query_string tokenizer, and the Lucene emitter escapes it when embedding.
LUCENE_RESERVED = frozenset(str(SEMANTICS.get("regex_reserved")))

GlobPiece = Union[str, "GlobWildcard"]


class GlobWildcard:
    """Marker for a live glob wildcard passed to ``glob_to_lucene`` (``*`` or ``?``)."""

    def __init__(self, char: str) -> None:
        if char not in ("*", "?"):
            raise ValueError(f"not a wildcard: {char!r}")
        self.char = char


@functools.lru_cache(maxsize=1 << 16)  # asked per letter of every value an emitter writes
def case_variants(char: str) -> str:
    """Return the characters a case-insensitive Sigma string match of ``char`` accepts.

    Sigma strings are compared after each code point's simple lowercase (Java's
    ``Character.toLowerCase``; SEMANTICS "sigma_case_insensitive"), so the class holds
    every character with the same simple lowercase: ``i`` -> ``iIİ``, ``k`` -> ``kKK``, ``ß``
    -> ``ßẞ``, ``ς`` alone. Lower case first, then upper case, then the rest (``[cC]``).
    """
    variants = equivalents(char, SIMPLE)
    if len(variants) == 1:
        return char
    lower = lower1(char)
    first = [lower] + [c for c in variants if c != lower and lower1(c) == lower and c == lower.upper()]
    return "".join(dict.fromkeys(first + list(variants)))


def has_case(text: str) -> bool:
    """True when some character of ``text`` has a case partner under Sigma's folding."""
    return any(len(equivalents(c, SIMPLE)) > 1 for c in text)


def escape_literal(char: str) -> str:
    """Escape one literal character for Lucene RegExp."""
    return "\\" + char if char in LUCENE_RESERVED else char


def literal_to_lucene(char: str, case_insensitive: bool) -> str:
    """A literal character as Lucene RegExp, folded to a ``[xX]`` class when requested."""
    if case_insensitive:
        variants = case_variants(char)
        if len(variants) > 1:
            return "[" + variants + "]"
    return escape_literal(char)


def glob_pieces(value: SigmaString) -> list[GlobPiece]:
    """A Sigma string as ``glob_to_lucene`` input: its text and its live wildcards."""
    return [
        part if isinstance(part, str)
        else GlobWildcard("*" if part is SpecialChars.WILDCARD_MULTI else "?")
        for part in refuse_placeholders(value).s
    ]


def glob_to_lucene(parts: Iterable[GlobPiece], case_insensitive: bool) -> str:
    """Translate a whole-value glob (literal strings and ``GlobWildcard``) to an anchored regex.

    Raises:
        SigmaFeatureNotSupportedByBackendError: a letter without a one-to-one case mapping.
    """
    out = []
    for part in parts:
        if isinstance(part, GlobWildcard):
            out.append(".*" if part.char == "*" else ".")
            continue
        for char in part:
            try:
                out.append(literal_to_lucene(char, case_insensitive))
            except ValueError as exc:
                raise SigmaFeatureNotSupportedByBackendError(
                    f"case-insensitive match of {part!r} cannot use letter classes: {exc}"
                ) from exc
    return "".join(out)


@dataclass(frozen=True)
class Translation:
    """A Sigma regex in Lucene RegExp syntax, for the two kinds of regex operator.

    Attributes:
        pattern: for a case-sensitive operator (query_string ``/.../``, EQL ``regex``): every
            case-insensitive letter is written as a class of its variants.
        insensitive: the same language for an operator that folds case itself (EQL ``regex~``),
            with letters folded identically by every Elasticsearch version left bare; None when
            the pattern needs no folding or such an operator cannot express it exactly.
        case_sensitive: some letter is matched case-sensitively, so the pattern cannot run on a
            lower-cased (``.caseless``) copy of the value.
    """

    pattern: str
    insensitive: str | None = None
    case_sensitive: bool = False


def translate_pcre(
    pattern: str, case_insensitive: bool = False, multiline: bool = False, dotall: bool = False,
    swap: Mapping[str, str] | None = None,
) -> Translation:
    """Translate a Sigma (PCRE-subset, unanchored) regex into equivalent Lucene RegExps.

    Args:
        pattern: the Sigma regex text.
        case_insensitive: Sigma ``|i`` (a leading ``(?i)`` in the pattern has the same effect).
        multiline: Sigma ``|m``; accepted when the pattern has no ``^``/``$`` (then it has no
            effect), rejected otherwise.
        dotall: Sigma ``|s``; ``.`` then matches newlines, as Lucene's ``.`` does.
        swap: for a field that holds each value with these characters swapped (a cased copy,
            ``backends.query.ingest.regex_swap``): the result matches the swapped value exactly
            where the pattern matches the value.

    Raises:
        SigmaFeatureNotSupportedByBackendError: no exact translation exists (the message names
            the construct and its offset).
    """
    flags = Flags(ci=case_insensitive, dotall=dotall, multiline=multiline)
    explicit = Translator(pattern, flags, swap=swap)
    text = explicit.translate()
    sensitive = explicit.sensitive_letters
    if not explicit.folded:
        return Translation(text, case_sensitive=sensitive)
    try:
        engine = Translator(pattern, flags, engine_folding=True, swap=swap).translate()
    except EngineFoldingUnusable:
        return Translation(text, case_sensitive=sensitive)
    return Translation(text, engine, sensitive)


def translate_sigma_regex(value: SigmaRegularExpression, info: Any = None) -> Translation:
    """``translate_pcre`` of a Sigma ``re`` value with its flags (``|i``, ``|m``, ``|s``), for a
    test of the field ``info`` (a ``FieldInfo``, or None): on a cased copy every character set
    goes through the copy's swap (``backends.query.ingest.regex_swap``)."""
    from backends.query.ingest import regex_swap

    flags = value.flags
    return translate_pcre(
        str(value.regexp),
        case_insensitive=SigmaRegularExpressionFlag.IGNORECASE in flags,
        multiline=SigmaRegularExpressionFlag.MULTILINE in flags,
        dotall=SigmaRegularExpressionFlag.DOTALL in flags,
        swap=regex_swap(info),
    )


def pcre_to_lucene(
    pattern: str, case_insensitive: bool = False, multiline: bool = False, dotall: bool = False,
    swap: Mapping[str, str] | None = None,
) -> str:
    """Translate a Sigma regex for a case-sensitive Lucene RegExp operator (``/.../``).

    The result is anchored the Lucene way (whole value): unanchored sides get ``.*``. ``/`` is not
    escaped (only the query_string tokenizer needs that; the Lucene emitter adds it). See
    ``translate_pcre`` for the arguments.

    Raises:
        SigmaFeatureNotSupportedByBackendError: no exact translation exists.
    """
    return translate_pcre(pattern, case_insensitive, multiline, dotall, swap).pattern
