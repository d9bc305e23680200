"""Elasticsearch's ``standard`` analyzer as the interpreters read analysed text fields: UAX#29 word
breaks, lowercasing, the 255-character token limit.

Split from ``matching.py``, which re-exports ``analyze`` as the one import path of the matchers.
"""

from __future__ import annotations

import unicodedata

from .folding import lower1, simple_lower


# UAX#29 word-break classes (https://unicode.org/reports/tr29/#Word_Boundaries): characters that
# do not break between two letters (MidLetter, MidNumLet, Single_Quote) and between two digits
# (MidNum, MidNumLet, Single_Quote). Only the ASCII and common typographic members are listed.
_MID_LETTER = set(":.'\u00b7\u2018\u2019\u2024\u2027\ufe13\ufe52\ufe55\uff07\uff0e\uff1a")
_MID_NUM = set(",;.'\u037e\u2018\u2019\u2024\ufe50\ufe52\ufe54\uff07\uff0c\uff0e\uff1b")
_MAX_TOKEN_LENGTH = 255  # standard tokenizer default max_token_length


def _kind(ch: str) -> str:
    """Classify one character for the tokenizer: L(etter), D(igit), I(deograph), E(xtend), other."""
    if ch == "_":  # ExtendNumLet joins letters and digits (WB13a/b)
        return "X"
    if ch.isdecimal():
        return "D"
    cat = unicodedata.category(ch)
    if cat in ("Mn", "Mc", "Me"):
        return "E"
    if ch.isalpha() or ch.isnumeric():
        name = unicodedata.name(ch, "")
        if name.startswith(("CJK UNIFIED", "CJK COMPATIBILITY IDEOGRAPH", "HIRAGANA")):
            return "I"
        return "L"
    return "O"


def analyze(text: str) -> list[str]:
    """Tokenize and lowercase ``text`` like Elasticsearch's ``standard`` analyzer (approximation).

    The standard tokenizer follows the Unicode Text Segmentation word-break rules (UAX#29): see
    https://www.elastic.co/guide/en/elasticsearch/reference/current/analysis-standard-tokenizer.html
    and Lucene's ``StandardTokenizer`` javadoc (package org.apache.lucene.analysis.standard).
    Implemented here: letters and digits form words; ``_`` joins (WB13); ``.``, ``'`` and ``:``
    between two letters do not break (WB6/7: ``cmd.exe`` and ``o'neil`` are one token); ``.``,
    ``,``, ``;`` and ``'`` between two digits do not break (WB11/12: ``10.0.0.1``); every other
    character breaks and is dropped. Ideographs and Hiragana become one-character tokens; tokens
    over 255 characters are split. Not implemented: Katakana/Hebrew special rules, emoji and
    ZWJ sequences, Format characters. The ``lowercase`` filter is Lucene's LowerCaseFilter:
    ``Character.toLowerCase`` per code point (``folding.simple_lower``).
    """
    tokens: list[str] = []
    current: list[str] = []
    kinds = [_kind(c) for c in text]

    def flush() -> None:
        if current and any(k in "LDI" for k in map(_kind, current)):
            word = simple_lower("".join(current))
            tokens.extend(
                word[i : i + _MAX_TOKEN_LENGTH] for i in range(0, len(word), _MAX_TOKEN_LENGTH)
            )
        current.clear()

    for i, ch in enumerate(text):
        kind = kinds[i]
        if kind == "I":
            flush()
            tokens.append(lower1(ch))
        elif kind in "LDX" or (kind == "E" and current):
            current.append(ch)
        elif current and 0 < i < len(text) - 1:
            before, after = kinds[i - 1], kinds[i + 1]
            if (before == after == "L" and ch in _MID_LETTER) or (
                before == after == "D" and ch in _MID_NUM
            ):
                current.append(ch)
            else:
                flush()
        else:
            flush()
    flush()
    return tokens
