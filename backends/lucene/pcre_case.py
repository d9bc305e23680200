"""Case in the PCRE-to-Lucene translation (``pcre.py``): a letter's case variants, and
whether every Elasticsearch ``regex~`` folds a letter or a class the way the reference does.

Split from ``pcre.py`` (the parser and writer); each fact is an entry of ``SEMANTICS``
(``regex_case_insensitive_expand``) or of the shared charset table (``regex_case_variants``).
"""

from __future__ import annotations

from .charset import CharSet, FoldError, regex_case_variants
from .semantics import SEMANTICS

#: ASCII letters whose case variants are exactly the ASCII pair in the reference and in every
#: Elasticsearch ``regex~`` (ASCII-only before, Unicode simple folding after
#: elastic/elasticsearch#153513): the others (i k s) gain non-ASCII variants somewhere.
ENGINE_SAFE = frozenset(c for c in "abcdefghjlmnopqrtuvwxyz" for c in (c, c.upper()))


def case_variants(char: str, ascii_only: bool) -> str:
    """``char`` and its case variants: the ASCII pair only under the ASCII flag."""
    if ascii_only:
        return char + char.swapcase() if char.isascii() and char.isalpha() else char
    return regex_case_variants(char)


def has_case(char: str) -> bool:
    """True when some Elasticsearch ``regex~`` could match another character for ``char``."""
    try:
        return len(regex_case_variants(char)) > 1
    except FoldError:
        return True


def non_ascii_cased(members: CharSet) -> bool:
    """True when ``members`` may hold a non-ASCII letter with case (wide sets count as such)."""
    if members.size() > 0x3000:
        return True
    return any(not c.isascii() and has_case(c) for c in members.chars())


def engine_stable(members: CharSet) -> bool:
    """True when every Elasticsearch version's ``regex~`` folding leaves ``members`` unchanged.

    Before elastic/elasticsearch#153513 ``case_insensitive`` folds ASCII letters in pairs; after
    it Lucene's CaseFolding.expand adds the variants of SEMANTICS
    "regex_case_insensitive_expand". The set is stable when it holds every variant either adds
    for each member, and no other letter with case.
    """
    table = SEMANTICS.get("regex_case_insensitive_expand")
    assert isinstance(table, dict)
    if members.size() > 0x3000:
        return False
    for char in members.chars():
        if char in table:
            variants = str(table[char])
        elif char.isascii():
            variants = char.swapcase()
        elif has_case(char):
            return False
        else:
            continue
        if any(v not in members for v in variants):
            return False
    return True
