"""Text helpers of the Splunk emitters: SPL string quoting, exact PCRE for Sigma strings, search
widening, and cuts of query text that respect quoted values.

Pure functions on strings and pySigma value types (no backend class): ``backend.py`` builds its
queries with them. ``matches_fill`` decides whether a search term could be true on the string
tstats writes for a missing BY field (see ``SigportSplunkCimBackend``).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterator

from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import Placeholder, SigmaCasedString, SigmaString, SpecialChars

from backends.lucene.regex import case_variants
from backends.query.ast import Fold
from backends.query.folding import SIMPLE, folds_alike, text_folds_alike

from .semantics import SEMANTICS, search_reads_as_cidr

#: Sigma's reading and the candidate readings of SPL search (semantics ``search_folding``).
_SEARCH_READINGS = (SIMPLE, *SEMANTICS.typed("search_folding", Fold).readings)
#: The PCRE end anchor that does not also match before a final newline (``$`` does).
_END_OF_SUBJECT = SEMANTICS.typed("regex_end_of_subject", str)


#: Characters with a meaning in PCRE outside a class; escaped when a Sigma string becomes a regex.
_PCRE_META = frozenset("\\.^$|?*+()[]{}")

#: A leading ``field=value`` term of a search, value quoted (with escapes) or bare.
LEADING_TERM = re.compile(r'([\w.]+)=(?:"(?:[^"\\]|\\.)*"|[^\s"()]+)(?=\s|$)')

SEARCH_MARKER = "\n| search "


def _unquoted_offsets(text: str) -> Iterator[int]:
    """Offsets of the characters of ``text`` that lie outside SPL double-quoted strings.

    A value may hold ``\n| `` or a newline; the layout code below must only ever cut or rewrite
    the query's own pipe separators, never the inside of a quoted value (that would let a Sigma
    value end its string and start a pipe command of its own).
    """
    quoted, i = False, 0
    while i < len(text):
        ch = text[i]
        if quoted and ch == "\\":
            i += 2  # an escaped character never ends the string
            continue
        if ch == '"':
            quoted = not quoted
        elif not quoted:
            yield i
        i += 1


def find_unquoted(text: str, needle: str) -> int:
    """Offset of the first ``needle`` outside quoted strings, or -1."""
    return next((i for i in _unquoted_offsets(text) if text.startswith(needle, i)), -1)


def one_line(text: str) -> str:
    """``text`` with its newlines outside quoted strings turned into spaces."""
    # One substitution: a quoted string (escapes skipped, as _unquoted_offsets reads them; an
    # unterminated one runs to the end) is kept whole, a newline elsewhere becomes a space.
    return _QUOTED_OR_NEWLINE.sub(_one_line_part, text) if "\n" in text else text


_QUOTED_OR_NEWLINE = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\\?\Z)|\n', re.S)


def _one_line_part(found: re.Match[str]) -> str:
    return " " if found.group() == "\n" else found.group()


def spl_quote(text: str) -> str:
    """Write ``text`` as the body of an SPL double-quoted string.

    Every backslash is doubled and every double quote gets a backslash.

    The SPL parser collapses ``\\\\`` to one backslash before a command sees the argument, so a
    regex meant for ``| regex`` / ``rex`` / ``match()`` needs every backslash doubled ("SPL and
    regular expressions").
    """
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _pcre_char(c: str, case_sensitive: bool) -> str:
    """One literal character of a Sigma string as PCRE, exact whatever ``(?i)`` would do.

    A case-insensitive letter becomes the explicit set of its Sigma case partners (each code
    point's simple lowercase: ``[sS]``, ``(?:i|I|İ)``): PCRE's own caseless matching folds
    ASCII only without UTF mode and Unicode-wide (``ſ`` = ``s``) with it, and Splunk documents
    neither (semantics ``regex_caseless_folding``). Non-ASCII members are alternatives rather
    than class members, so the pattern means the same whether PCRE reads bytes or code points.
    """
    if case_sensitive:
        return "\\" + c if c in _PCRE_META else c
    variants = case_variants(c)
    if len(variants) == 1:
        return "\\" + c if c in _PCRE_META else c
    if variants.isascii():
        return "[" + variants + "]"
    return "(?:" + "|".join(variants) + ")"


#: ``_pcre_char`` of every ASCII character, as ``str.translate`` tables (case-insensitive, then
#: case-sensitive): an ASCII run is translated in one call instead of one call per character.
_ASCII_PCRE = tuple(
    {code: _pcre_char(chr(code), sensitive) for code in range(128)} for sensitive in (False, True)
)


def _pcre_text(text: str, case_sensitive: bool) -> str:
    """``text`` as PCRE, character by character as ``_pcre_char`` writes each."""
    if text.isascii():
        return text.translate(_ASCII_PCRE[1 if case_sensitive else 0])
    return "".join(_pcre_char(c, case_sensitive) for c in text)


def glob_to_pcre(value: SigmaString, case_sensitive: bool, one: str = ".") -> str:
    """Translate a Sigma string (wildcards and literal runs) into an anchored, exact PCRE.

    ``(?s)`` lets a wildcard match newlines as Sigma's do; letters carry their case partners
    explicitly (no ``(?i)``). The end anchor is ``\\z``: ``$`` also matches before a final
    newline (semantics ``regex_dollar_before_newline``), where the Sigma value ends sooner. The
    pattern is not yet escaped for the SPL string parser (see ``spl_quote``). ``one`` is what
    one character of the value is in the field's text (an entity or a character where the
    add-on keeps XML entities, ``xml_text.TOKEN``).
    """
    return "(?s)^" + glob_pcre_body(value, case_sensitive, one) + _END_OF_SUBJECT


def glob_pcre_body(value: SigmaString, case_sensitive: bool, one: str = ".") -> str:
    """The PCRE of ``value`` without anchors (``glob_to_pcre``'s body): a wildcard is ``one``
    repeated (``*``) or once (``?``), letters carry their case partners."""
    out = []
    for part in value.iter_parts():
        if part is SpecialChars.WILDCARD_MULTI:
            out.append(one + "*")
        elif part is SpecialChars.WILDCARD_SINGLE:
            out.append(one)
        elif isinstance(part, str):
            out.append(_pcre_text(part, case_sensitive))
        else:
            raise SigmaFeatureNotSupportedByBackendError(f"unexpected string part {part!r}")
    return "".join(out)


def _search_folds_alike(char: str) -> bool:
    """True when SPL search folds ``char`` as Sigma does under every candidate reading."""
    return folds_alike(char, _SEARCH_READINGS)


def widen(value: SigmaString) -> SigmaString:
    """The search pre-filter for ``value``: ``?``, literal ``*`` and (case-insensitive) letters
    that search may fold unlike Sigma (``i``, ``k``, non-ASCII cased letters) become ``*``.

    SPL search has only ``*``, so the widened term matches a superset of the exact value under
    every candidate folding; the exact test is added separately.
    """
    cased = isinstance(value, SigmaCasedString)
    parts: list[str | SpecialChars | Placeholder] = []

    def push(part: str | SpecialChars | Placeholder) -> None:
        if part is SpecialChars.WILDCARD_MULTI and parts and parts[-1] is part:
            return  # '**' is the same glob as '*'
        if isinstance(part, str) and parts and isinstance(parts[-1], str):
            parts[-1] = parts[-1] + part
            return
        parts.append(part)

    for part in value.iter_parts():
        if part is SpecialChars.WILDCARD_SINGLE:
            push(SpecialChars.WILDCARD_MULTI)
        elif isinstance(part, str):
            for char in part:
                # A letter search may fold unlike Sigma (search_folding) is left to the regex.
                exact = char != "*" and (cased or _search_folds_alike(char))
                push(char if exact else SpecialChars.WILDCARD_MULTI)
        else:
            push(part)
    if all(isinstance(p, str) for p in parts) and search_reads_as_cidr("".join(map(str, parts))):
        # Written as is, the pre-filter would be a CIDR match (search_cidr), no superset of the
        # text: its '/' becomes '*', a glob.
        text = "".join(map(str, parts))
        head, _, tail = text.rpartition("/")
        parts = [head, SpecialChars.WILDCARD_MULTI, tail]
    widened = SigmaString()
    widened.s = tuple(parts)  # type: ignore[assignment]  # pySigma keeps parts as a tuple
    return widened


def needs_exact_test(value: SigmaString, folding: bool = True) -> bool:
    """True when ``value`` has no exact rendering in SPL search: ``?``, literal ``*``, ``|cased``,
    text that search reads as a CIDR block, or (with ``folding``) a letter whose folding in search is not documented to be Sigma's
    (``search_folding``). ``folding=False`` is for values compared with a shipper's constant
    (``source="XmlWinEventLog:..."``), which the shipper writes in one spelling only."""
    if isinstance(value, SigmaCasedString):
        return True
    if all(isinstance(p, str) for p in value.iter_parts()) and search_reads_as_cidr(
        "".join(p for p in value.iter_parts() if isinstance(p, str))
    ):
        # ``field="10.0.0.0/8"`` is a CIDR match in search (search_cidr), not this text.
        return True
    return any(
        part is SpecialChars.WILDCARD_SINGLE
        or (
            isinstance(part, str)
            and ("*" in part or (folding and not text_folds_alike(part, _SEARCH_READINGS)))
        )
        for part in value.iter_parts()
    )


def hoist_conjuncts(search: str, skip_fields: set[str]) -> tuple[str, str]:
    """Split leading top-level conjuncts ``field=value`` off a search.

    In SPL search OR binds tighter than implicit AND, so a leading term is a conjunct of the whole
    search only if the next token is not ``OR``. Terms on ``skip_fields`` (computed later in the
    pipeline) stay. Returns (hoisted terms, remaining search).
    """
    hoisted: list[str] = []
    pos = 0
    while True:
        match = LEADING_TERM.match(search, pos)
        if not match or match.group(1) in skip_fields:
            break
        after = search[match.end() :].lstrip()
        if after.startswith("OR ") or after == "OR":
            break
        hoisted.append(match.group(0))
        pos = len(search) - len(after)
    return " ".join(hoisted), search[pos:]


def matches_fill(value: SigmaString, fill: str) -> bool:
    """True when the search term ``field=<value>`` (case-insensitive, ``*`` a wildcard) would be
    true on the string ``fill``; a placeholder, which has no value yet, counts as true."""
    return fill_pattern_matches(fill_pattern(value), fill)


def fill_pattern(value: SigmaString) -> tuple[str, int] | None:
    """The Python regex (source, flags) that ``matches_fill`` tests the fill string with, not
    compiled; None for a value holding a placeholder (which counts as true)."""
    pattern: list[str] = []
    for part in value.iter_parts():
        if part is SpecialChars.WILDCARD_MULTI:
            pattern.append(".*")
        elif part is SpecialChars.WILDCARD_SINGLE:
            pattern.append(".")
        elif isinstance(part, str):
            pattern.append(re.escape(part))
        else:
            return None
    flags = re.S if isinstance(value, SigmaCasedString) else re.S | re.I
    return "".join(pattern), flags


def fill_pattern_matches(pattern: tuple[str, int] | None, fill: str) -> bool:
    """``matches_fill`` for a value whose ``fill_pattern`` is ``pattern``."""
    return pattern is None or _fill_pattern(*pattern).fullmatch(fill) is not None


@lru_cache(maxsize=8192)
def _fill_pattern(source: str, flags: int) -> re.Pattern[str]:
    # The same values are tested for every branch and fill of a rule: tens of thousands of
    # compiles over a corpus, past what the re module's own small cache keeps.
    return re.compile(source, flags)
