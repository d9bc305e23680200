"""A caseless Sigma ``|re`` pattern rewritten as a case-sensitive PCRE with the same matches, so
that Splunk's regex engine decides it alike in every mode it may run in.

Sigma's reference runs a caseless regex with the regex package, which pairs each ASCII letter
with its other case, ``i`` also with ``İ``, ``I`` with ``ı``, ``k`` with the Kelvin sign and ``s``
with ``ſ`` (lucene semantics ``sigma_regex_case_folding``). PCRE's ``(?i)`` pairs ASCII letters
only without UTF mode, and in UTF mode by CaseFolding.txt's C and S lines (the Kelvin sign and
``ſ``, never ``İ``/``ı``); Splunk documents neither mode (semantics ``regex_caseless_folding``).
So ``(?i)environment`` matched ``envİronment`` in Sigma and in no Splunk search.

The pattern is therefore written without the ``i`` option: every letter outside a class becomes
the alternation of the reference's variants (``(?:i|I|İ)``, ``[aA]``), non-ASCII members as
alternatives so that the pattern means the same whether PCRE reads bytes or code points
(``spl_text._pcre_char`` does the same for globs); a class gets its letters' other case as
members and their non-ASCII variants as alternatives beside it. What has no such spelling here
is refused: a negated class holding a letter with a non-ASCII variant, an ``i`` option set inside
the pattern, back-references (they would compare case-sensitively), escapes that name a letter
by its code (``\\x41``, ``\\101``, ``\\N{..}``), ``\\Q..\\E``, POSIX classes, other special groups.

Emitter-side only: the SPL interpreter reads the emitted pattern with its own PCRE model.
"""

from __future__ import annotations

import re

from sigma.exceptions import SigmaFeatureNotSupportedByBackendError

from backends.lucene.charset import case_variants_or

#: A leading inline-option group, which applies to the whole pattern.
_LEADING_FLAGS = re.compile(r"\(\?([a-zA-Z]+)\)")
#: ``(?opts)`` or ``(?opts:`` inside the pattern (``^`` unsets all options, ``-`` some).
_FLAG_GROUP = re.compile(r"\(\?\^?[a-zA-Z]*(?:-[a-zA-Z]*)?[:)]")
#: A named group's opener: ``(?<name>``, ``(?'name'``, ``(?P<name>``.
_NAMED_GROUP = re.compile(r"\(\?(?:P?<[A-Za-z_][A-Za-z0-9_]*>|'[A-Za-z_][A-Za-z0-9_]*')")
#: Group openers that set no option and refer to nothing.
_PLAIN_GROUPS = ("(?:", "(?=", "(?!", "(?<=", "(?<!", "(?>")
#: Escapes that keep their meaning without the ``i`` option (no letter named by its code, no
#: back-reference): shorthand classes, assertions, controls and escaped punctuation.
_CASE_FREE_ESCAPES = set("dDwWsShHvVbBAzZGtnrfae")
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _refuse(pattern: str, why: str) -> SigmaFeatureNotSupportedByBackendError:
    return SigmaFeatureNotSupportedByBackendError(
        f"regex {pattern!r} has no exact Splunk PCRE form under case-insensitive matching: {why}"
    )


def _variants(pattern: str, char: str) -> str:
    return case_variants_or(char, lambda why: _refuse(pattern, why))


def is_caseless(pattern: str, flag: bool) -> bool:
    """True when the regex runs case-insensitively as a whole (``|i`` or a leading ``(?i)``)."""
    lead = _LEADING_FLAGS.match(pattern)
    return flag or bool(lead and "i" in lead.group(1))


def _escape(pattern: str, i: int, caseless: bool) -> tuple[str, int]:
    """The escape at ``pattern[i] == '\\\\'`` as written: (text, next index)."""
    if i + 1 >= len(pattern):
        raise _refuse(pattern, "a trailing backslash")
    kind = pattern[i + 1]
    if not caseless or not kind.isascii() or not kind.isalnum() or kind in _CASE_FREE_ESCAPES:
        return pattern[i : i + 2], i + 2
    raise _refuse(pattern, f"the escape \\{kind}")


def _class(pattern: str, i: int, caseless: bool) -> tuple[str, int]:
    """The class starting at ``pattern[i] == '['``; when caseless, with its letters' other case
    as members and their non-ASCII variants as alternatives beside it."""
    j = i + 1
    negated = pattern[j : j + 1] == "^"
    j += negated
    if pattern[j : j + 1] == "]":  # a leading ']' is a member
        j += 1
    letters: set[str] = set()
    previous = ""
    while j < len(pattern) and pattern[j] != "]":
        ch = pattern[j]
        if ch == "[" and pattern[j + 1 : j + 2] in (":", "=", ".") and caseless:
            raise _refuse(pattern, "a POSIX class")
        if ch == "\\":
            text, j = _escape(pattern, j, caseless)
            if text in ("\\w", "\\W") and caseless:
                if text == "\\W" or negated:
                    raise _refuse(pattern, f"{text} in a class")
                letters.update(_LETTERS)
            previous = "" if text[1:].isalnum() else text[1:]
            continue
        if ch == "-" and previous and j + 1 < len(pattern) and pattern[j + 1] != "]":
            last = pattern[j + 1]
            if last == "\\" and caseless:
                raise _refuse(pattern, "a class range ending in an escape")
            letters.update(c for c in _LETTERS if previous <= c <= last)
            if caseless and any(not chr(c).isascii() and chr(c).isalpha()
                                for c in range(ord(previous), ord(last) + 1)):
                raise _refuse(pattern, f"the range {previous}-{last} holds non-ASCII letters")
            previous = ""
            j += 2
            continue
        if ch.isalpha():
            if ch.isascii():
                letters.add(ch)
            elif caseless and _variants(pattern, ch) != ch:
                raise _refuse(pattern, f"the cased letter {ch!r} in a class")
        previous = ch
        j += 1
    if j >= len(pattern):
        raise _refuse(pattern, "an unterminated class")
    text = pattern[i:j]
    if not caseless:
        return text + "]", j + 1
    variants = "".join(sorted({v for c in letters for v in _variants(pattern, c)}))
    others = "".join(c for c in variants if c.isascii() and c not in letters)
    extra = [c for c in variants if not c.isascii()]
    if negated and extra:
        raise _refuse(pattern, f"the negated class {text}] excludes {''.join(extra)} in Sigma")
    text += others + "]"
    return ("(?:" + "|".join([text, *extra]) + ")" if extra else text), j + 1


def _group(pattern: str, i: int, caseless: bool) -> tuple[str, int]:
    """The opener of the group at ``pattern[i:i + 2] in ('(?', '(*')``: (text, next index)."""
    opener = next((g for g in _PLAIN_GROUPS if pattern.startswith(g, i)), None)
    if opener is not None:
        return opener, i + len(opener)
    flags = _FLAG_GROUP.match(pattern, i)
    if flags is not None:
        if "i" in flags.group(0) or "^" in flags.group(0):
            raise _refuse(pattern, f"the inline option {flags.group(0)!r} inside the pattern")
        return flags.group(0), flags.end()
    named = _NAMED_GROUP.match(pattern, i)
    if named is not None:
        return named.group(0), named.end()
    if caseless:
        raise _refuse(pattern, f"the group {pattern[i:i + 4]!r}...")
    return pattern[i : i + 2], i + 2


def splunk_caseless(pattern: str, flag: bool) -> str:
    """``pattern`` as a PCRE to run without the ``i`` option when it is caseless (``flag``:
    Sigma's ``|i``; or a leading ``(?i)``); otherwise ``pattern`` itself.

    Raises:
        SigmaFeatureNotSupportedByBackendError: a construct with no such spelling, or an ``i``
            option set inside the pattern.
    """
    caseless = is_caseless(pattern, flag)
    out: list[str] = []
    i = 0
    lead = _LEADING_FLAGS.match(pattern)
    if lead:
        kept = lead.group(1).replace("i", "") if caseless else lead.group(1)
        out.append(f"(?{kept})" if kept else "")
        i = lead.end()
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            text, i = _escape(pattern, i, caseless)
        elif ch == "[":
            text, i = _class(pattern, i, caseless)
        elif ch == "(" and pattern[i + 1 : i + 2] in ("?", "*"):
            text, i = _group(pattern, i, caseless)
        elif ch.isalpha() and caseless:
            variants = _variants(pattern, ch)
            if len(variants) == 1:
                text = ch
            elif variants.isascii():
                text = "[" + variants + "]"
            else:
                text = "(?:" + "|".join(variants) + ")"
            i += 1
        else:
            text = ch
            i += 1
        out.append(text)
    return "".join(out) if caseless else pattern
