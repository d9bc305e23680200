"""Kibana KQL literals: the escaping that makes a KQL value mean exactly a Sigma string.

Written from Kibana's grammar (packages/kbn-es-query/src/kuery/grammar/grammar.peggy), whose traps
decide this module:

* unquoted values escape ``\\ ( ) : < > " * { }`` with a backslash, ``\\t \\r \\n`` for whitespace,
  and the operator words; whitespace inside is legal but the literal is trimmed at both ends;
* the grammar tries ``\\n`` (newline) before ``\\not``, so a lowercase-n ``not`` is escaped as
  ``\\u006eot``; ``or``/``and`` become ``\\or``/``\\and``;
* quoted values (``"..."``) know only ``\\\\ \\" \\t \\r \\n \\uXXXX`` and never hold wildcards.

The KQL interpreter (``lower.py``, ``parser.py``) reads the grammar on its own and never imports
this module, so a wrong escape here shows as a disagreement in ``check``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import SpecialChars

from .semantics import JS_TRIM_WHITESPACE

#: Characters that an unquoted KQL literal must backslash-escape (grammar.peggy SpecialCharacter).
KQL_SPECIAL = frozenset('\\():<>"*{}')
#: Whitespace with a dedicated escape in both quoted and unquoted literals (EscapedWhitespace).
WHITESPACE_ESCAPES = {"\t": "\\t", "\r": "\\r", "\n": "\\n"}
#: Unquoted literals that the grammar turns into typed null/true/false (case-sensitive compare).
TYPED_LITERALS = frozenset({"null", "true", "false"})

_WILD = object()  # marker for a live ``*`` in the flattened value


def _flatten(parts: Iterable[Any]) -> list[Any]:
    """Flatten Sigma string parts into single characters and ``_WILD`` markers."""
    flat: list[Any] = []
    for part in parts:
        if isinstance(part, str):
            flat.extend(part)
        elif part in (SpecialChars.WILDCARD_MULTI, SpecialChars.WILDCARD_SINGLE):
            flat.append(_WILD)
        else:
            raise SigmaFeatureNotSupportedByBackendError(
                f"KQL backend cannot emit the unresolved placeholder {part!r}"
            )
    return flat


def _followed_by_space(flat: list[Any], index: int) -> bool:
    """True when position ``index`` is a literal space or the end of the value.

    The end counts as a space because the surrounding query text (`` or ``, `` and ``, a list
    separator) may put one right after the value.
    """
    return index >= len(flat) or flat[index] == " "


#: The characters an operator word can start with: no other character's lowercase begins with
#: the first letter of ``not``, ``and`` or ``or`` (checked over every code point by a test).
_WORD_STARTS = frozenset("nNaAoO")


def _keyword_escape(flat: list[Any], i: int) -> tuple[str, int] | None:
    """If an operator word starts at ``flat[i]`` and the grammar would read it as one, escape it.

    Returns the escaped text and the number of characters consumed, or None.
    """
    if flat[i] not in _WORD_STARTS:  # most characters: no word can start there
        return None
    for word in ("not", "and", "or"):
        end = i + len(word)
        chunk = flat[i:end]
        if len(chunk) < len(word) or not all(isinstance(c, str) for c in chunk):
            continue
        text = "".join(chunk)
        if text.lower() != word or not _followed_by_space(flat, end):
            continue
        if word == "not":
            # Not = 'not'i Space+ needs no space before it. `\n` is read as a newline escape
            # before `\not` is tried, so a lowercase n is written as a unicode escape instead.
            return ("\\u006e" + text[1:] if text[0] == "n" else "\\" + text), len(word)
        # Or/And = Space+ word Space+: only a word preceded by a space can end the literal.
        if i > 0 and flat[i - 1] == " ":
            return "\\" + text, len(word)
    return None


def escape_unquoted(flat: list[Any]) -> str:
    """Render flattened value characters as an unquoted KQL literal (``_WILD`` becomes ``*``)."""
    out: list[str] = []
    i = 0
    while i < len(flat):
        char = flat[i]
        if char is _WILD:
            out.append("*")
            i += 1
            continue
        keyword = _keyword_escape(flat, i)
        if keyword is not None:
            out.append(keyword[0])
            i += keyword[1]
            continue
        if char in KQL_SPECIAL:
            out.append("\\" + char)
        elif char in WHITESPACE_ESCAPES:
            out.append(WHITESPACE_ESCAPES[char])
        elif char == "\u00a0":
            # NBSP is a grammar Space: left raw it could complete an ` or ` operator.
            out.append("\\u00a0")
        else:
            out.append(char)
        i += 1
    return "".join(out)


def quote(text: str) -> str:
    """Render ``text`` as a quoted KQL literal (no wildcards; escapes the quoted-string set)."""
    body = text.replace("\\", "\\\\").replace('"', '\\"')
    for char, escaped in WHITESPACE_ESCAPES.items():
        body = body.replace(char, escaped)
    return f'"{body}"'


def kql_literal(parts: Iterable[Any], what: str = "value") -> tuple[str, bool]:
    """Render Sigma string parts as a KQL literal that means exactly those parts.

    Returns the text and whether a Sigma ``?`` had to be widened to ``*``. Values without wildcards
    are quoted when unquoted text would change them (empty, edge whitespace, null/true/false).

    Raises:
        SigmaFeatureNotSupportedByBackendError: a wildcard value with leading or trailing
            whitespace (quoting would disable the wildcards, unquoting trims the whitespace).
    """
    parts = list(parts)
    widened = SpecialChars.WILDCARD_SINGLE in parts
    flat = _flatten(parts)
    has_wildcard = _WILD in flat
    edge_space = bool(flat) and (
        (isinstance(flat[0], str) and flat[0] in JS_TRIM_WHITESPACE)
        or (isinstance(flat[-1], str) and flat[-1] in JS_TRIM_WHITESPACE)
    )
    if not has_wildcard:
        text = "".join(flat)
        if not text or edge_space or text in TYPED_LITERALS:
            return quote(text), widened
        return escape_unquoted(flat), widened
    if edge_space:
        raise SigmaFeatureNotSupportedByBackendError(
            f"KQL cannot express the {what} {''.join('*' if c is _WILD else c for c in flat)!r}: "
            "unquoted values are trimmed and quoted values have no wildcards; use the lucene or "
            "eql target"
        )
    return escape_unquoted(flat), widened
