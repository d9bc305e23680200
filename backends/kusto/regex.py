"""Sigma ``|re`` patterns (PCRE, as the reference reads them) rewritten as RE2 with the same
matches, or refused.

The reference evaluates Sigma regexes as PCRE without UCP (``converter/reference/semantics.py``):
ASCII ``\\d \\w \\s \\b``, ASCII-only caseless matching, ``$`` also before a final newline. RE2
(https://learn.microsoft.com/kusto/query/re2) differs on exactly those points, so the pattern is
walked token by token:

* ``|i``: the reference runs a caseless pattern with the regex package, which pairs each ASCII
  letter with its other case, ``k`` also with the Kelvin sign, ``s`` with ``ſ``, ``i`` with ``İ``
  and ``I`` with ``ı`` (``backends.lucene.charset.regex_case_variants``, semantics
  ``sigma_regex_case_folding``); RE2's ``(?i)`` pairs by CaseFolding.txt's simple foldings only
  (``İ`` and ``ı`` match only themselves: re2/unicode.py reads the C and S lines). So each letter
  is written as the class of the reference's variants (``[iIİ]``), classes get the variants of
  their letters, no ``(?i)`` is emitted, and a non-ASCII cased letter (whose variants depend on
  the Unicode version) is refused;
* ``\\s``: RE2's lacks the vertical tab that PCRE's has: written as ``[\\t\\n\\x0b\\f\\r ]``;
* ``$`` without ``|m``: written ``(?:\\n?$)`` where it ends a branch; elsewhere refused;
* anything RE2 rejects or reads differently (look-around, back-references, possessive and
  ``{,n}`` quantifiers, inline flags, POSIX classes, ``\\Q..\\E``, ``\\Z``) is refused.

Emitter-side only; the interpreter runs the emitted RE2 text with RE2 itself.
"""

from __future__ import annotations

import re

from sigma.exceptions import SigmaFeatureNotSupportedByBackendError

from backends.lucene.charset import case_variants_or, regex_case_variants

_SPACE = "\\t\\n\\x0b\\f\\r "
#: A leading inline-flag group (``(?i)`` at the very start), which applies to the whole pattern.
_LEADING_FLAGS = re.compile(r"\(\?([ims]+)\)")
#: Escapes with the same meaning in PCRE (no UCP) and RE2.
_SAME_ESCAPES = set("dDwWbBAztnrf") | set("\\.^$|?*+()[]{}/-#&~!\"',:;<=>@%`_ ")


def _refuse(pattern: str, why: str) -> SigmaFeatureNotSupportedByBackendError:
    return SigmaFeatureNotSupportedByBackendError(
        f"regex {pattern!r} has no exact RE2 form for Kusto: {why}"
    )


#: Characters a caseless class range may span without a look at each member: RE2 and the
#: reference agree on every uncased character; a longer non-ASCII range is refused.
_MAX_FOLDED_RANGE = 0x400


def _variants(pattern: str, char: str) -> str:
    """The characters the reference's caseless regex matches for ``char`` (``char`` first)."""
    return case_variants_or(char, lambda why: _refuse(pattern, f"under |i, {why}"))


#: The non-ASCII characters the reference's caseless regex pairs with ASCII letters.
_NON_ASCII_LETTER_VARIANTS = "".join(dict.fromkeys(
    c for letter in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for c in regex_case_variants(letter) if not c.isascii()))


def _letter_class(pattern: str, char: str) -> str:
    """A caseless literal: the class of its variants, or the character itself."""
    variants = _variants(pattern, char)
    return f"[{variants}]" if len(variants) > 1 else char


def _escape(pattern: str, i: int, in_class: bool, caseless: bool) -> tuple[str, int]:
    """Translate the escape at ``pattern[i] == '\\'``: (RE2 text, next index)."""
    if i + 1 >= len(pattern):
        raise _refuse(pattern, "trailing backslash")
    ch = pattern[i + 1]
    if ch == "s":
        return (_SPACE if in_class else f"[{_SPACE}]"), i + 2
    if ch == "S":
        if in_class:
            raise _refuse(pattern, "\\S inside a character class")
        return f"[^{_SPACE}]", i + 2
    if ch == "x" and not caseless:
        # \xHH only (RE2 and PCRE agree); \x{...} too, same reading.
        if pattern[i + 2 : i + 3] == "{":
            end = pattern.find("}", i + 3)
            if end < 0:
                raise _refuse(pattern, "unterminated \\x{...}")
            return pattern[i:end + 1], end + 1
        digits = pattern[i + 2 : i + 4]
        if len(digits) == 2 and all(c in "0123456789abcdefABCDEF" for c in digits):
            return pattern[i : i + 4], i + 4
        raise _refuse(pattern, "\\x needs two hex digits")
    if ch == "w" and in_class and caseless:
        # The reference spells \w out as [a-zA-Z0-9_] inside a class (its ASCII shorthands),
        # which its caseless matching then widens by the letters' non-ASCII variants.
        return "\\w" + _NON_ASCII_LETTER_VARIANTS, i + 2
    if ch in _SAME_ESCAPES and not (in_class and ch in "bB"):
        return pattern[i : i + 2], i + 2
    if not ch.isascii() or not ch.isalnum():
        return pattern[i : i + 2], i + 2  # an escaped punctuation / non-ASCII literal
    raise _refuse(pattern, f"the escape \\{ch}")


def _class(pattern: str, i: int, caseless: bool) -> tuple[str, int]:
    """Translate the character class starting at ``pattern[i] == '['``."""
    out = ["["]
    j = i + 1
    if pattern[j : j + 1] == "^":
        out.append("^")
        j += 1
    if pattern[j : j + 1] == "]":  # a leading ] is literal in PCRE; RE2 agrees
        out.append("\\]")
        j += 1
    extra: list[str] = []
    while j < len(pattern) and pattern[j] != "]":
        ch = pattern[j]
        if ch == "[" and pattern[j + 1 : j + 2] in (":", "=", "."):
            raise _refuse(pattern, "POSIX class syntax")
        if ch == "\\":
            text, j = _escape(pattern, j, True, caseless)
            out.append(text)
            continue
        if pattern[j + 1 : j + 2] == "-" and j + 2 < len(pattern) and pattern[j + 2] not in "]\\":
            low, high = ch, pattern[j + 2]
            out.append(f"{low}-{high}")
            if caseless:
                extra.extend(_case_range(pattern, low, high))
            j += 3
            continue
        out.append("\\" + ch if ch in "[" else ch)
        if caseless:
            extra.append(_variants(pattern, ch)[1:])
        j += 1
    if j >= len(pattern):
        raise _refuse(pattern, "unterminated character class")
    out.extend(extra)
    out.append("]")
    return "".join(out), j + 1


def _case_range(pattern: str, low: str, high: str) -> list[str]:
    """What a caseless ``low-high`` adds: the other-case ranges of the ASCII letters inside it,
    the reference's non-ASCII variants of its letters (the Kelvin sign for ``k``), and nothing
    for uncased non-ASCII members (a cased one is refused)."""
    out = []
    for start, end in (("a", "z"), ("A", "Z")):
        a, b = max(low, start), min(high, end)
        if a <= b:
            out.append(f"{a.swapcase()}-{b.swapcase()}")
    if ord(high) > 0x7F and ord(high) - max(ord(low), 0x80) >= _MAX_FOLDED_RANGE:
        raise _refuse(pattern, f"a caseless range {low}-{high} over many non-ASCII characters")
    for code in range(ord(low), ord(high) + 1):
        out.extend(c for c in _variants(pattern, chr(code))[1:] if not low <= c <= high
                   # an ASCII letter whose other case is in the range: in the ranges above
                   and not (c.isascii() and c.isalpha() and low <= c.swapcase() <= high))
    return out


def _dollar_ends_branch(pattern: str, i: int) -> bool:
    """``$`` followed only by group closers, then the end or ``|``."""
    j = i + 1
    while j < len(pattern) and pattern[j] == ")":
        j += 1
    return j == len(pattern) or pattern[j] == "|"


def sigma_regex_to_re2(pattern: str, flags: str) -> str:
    """The RE2 text that matches where the Sigma pattern with ``flags`` (``ims``) matches.

    Raises:
        SigmaFeatureNotSupportedByBackendError: no exact RE2 form (see the module docstring).
    """
    leading = _LEADING_FLAGS.match(pattern)
    if leading:
        # A leading (?ims) group is the same as the flags (the reference reads it so too).
        flags = "".join(sorted(set(flags) | set(leading.group(1))))
        pattern = pattern[leading.end():]
    caseless, multiline = "i" in flags, "m" in flags
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            text, i = _escape(pattern, i, False, caseless)
            out.append(text)
        elif ch == "[":
            text, i = _class(pattern, i, caseless)
            out.append(text)
        elif ch == "(":
            if pattern[i + 1 : i + 2] == "?":
                head = pattern[i + 2 : i + 3]
                if head == ":":
                    out.append("(?:")
                    i += 3
                    continue
                if head == "P" and pattern[i + 3 : i + 4] == "<" or head == "<" and pattern[
                    i + 3 : i + 4
                ] not in ("=", "!"):
                    end = pattern.find(">", i)
                    if end < 0:
                        raise _refuse(pattern, "unterminated group name")
                    out.append(pattern[i : end + 1])
                    i = end + 1
                    continue
                raise _refuse(pattern, f"the group (?{head}...")
            out.append("(")
            i += 1
        elif ch == "{":
            end = pattern.find("}", i)
            body = pattern[i + 1 : end] if end > 0 else ""
            if end > 0 and body.startswith(","):
                raise _refuse(pattern, "a {,n} quantifier (RE2 reads it literally)")
            out.append(ch)
            i += 1
        elif ch in "+*?}" and i + 1 < len(pattern) and pattern[i + 1] == "+":
            raise _refuse(pattern, "a possessive quantifier")
        elif ch == "$" and not multiline:
            if not _dollar_ends_branch(pattern, i):
                raise _refuse(pattern, "'$' before more pattern")
            out.append("(?:\\n?$)")
            i += 1
        else:
            out.append(_letter_class(pattern, ch) if caseless else ch)
            i += 1
    prefix = "".join(f for f in "ms" if f in flags)
    text = (f"(?{prefix})" if prefix else "") + "".join(out)
    _check_re2(pattern, text)
    return text


def _check_re2(original: str, text: str) -> None:
    """RE2 must accept the result (it rejects look-around and back-references)."""
    try:
        import re2
    except ImportError:  # pragma: no cover - a declared dependency
        return
    options = re2.Options()
    options.log_errors = False
    try:
        re2.compile(text, options)
    except re2.error as exc:
        raise _refuse(original, f"RE2 rejects it ({exc})") from exc
