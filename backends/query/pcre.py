"""PCRE patterns (Sigma ``|re``, Splunk ``regex``/``rex``/``match()``/``mvfind()``) as Python regex.

Translates the PCRE subset Sigma and Splunk use into Python ``re`` syntax and refuses what has no
faithful equivalent. Split out of ``matching.py``, which re-exports ``pcre_regex``.
"""

from __future__ import annotations

import re

from .errors import UnsupportedQueryError
from .pattern_memo import remembered
from .patterns import BoundedPattern, PatternSyntaxError

__all__ = ["pcre_regex"]


# --- PCRE --------------------------------------------------------------------------------------

# PCRE escapes with no Python equivalent of the same meaning (\v and \h are classes in PCRE).
_PCRE_UNSUPPORTED_ESCAPES = set("hHvVKRXpPCGgcoNu")
_FLAG_BITS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


def _pcre_escape(pattern: str, i: int, in_class: bool) -> tuple[str, int]:
    """Translate the escape starting at ``pattern[i] == '\\'``; return (python text, next index)."""
    if i + 1 >= len(pattern):
        raise PatternSyntaxError("trailing backslash", pattern, i)
    ch = pattern[i + 1]
    if ch == "Q":  # \Q...\E quotes a literal run
        end = pattern.find("\\E", i + 2)
        end = len(pattern) if end < 0 else end
        text = pattern[i + 2 : end]
        quoted = "".join("\\" + c if not c.isalnum() else c for c in text) if in_class else (
            re.escape(text)
        )
        return quoted, min(len(pattern), end + 2)
    if ch == "E":  # a stray \E is ignored by PCRE
        return "", i + 2
    if ch == "z":
        return r"\Z", i + 2
    if ch == "Z":  # PCRE \Z: end of subject or before a final newline
        return r"(?=\n?\Z)", i + 2
    if ch == "e":
        return r"\x1b", i + 2
    if ch == "x" and i + 2 < len(pattern) and pattern[i + 2] == "{":
        end = pattern.find("}", i + 3)
        if end < 0:
            raise PatternSyntaxError("unterminated \\x{...}", pattern, i)
        try:
            return re.escape(chr(int(pattern[i + 3 : end], 16))), end + 1
        except ValueError as exc:
            raise PatternSyntaxError("bad \\x{...} escape", pattern, i) from exc
    if ch == "k" and not in_class and i + 2 < len(pattern) and pattern[i + 2] in "<{'":
        close = {"<": ">", "{": "}", "'": "'"}[pattern[i + 2]]
        end = pattern.find(close, i + 3)
        if end < 0:
            raise PatternSyntaxError("unterminated named back-reference", pattern, i)
        return f"(?P={pattern[i + 3 : end]})", end + 1
    if ch in _PCRE_UNSUPPORTED_ESCAPES:
        raise UnsupportedQueryError(f"PCRE escape \\{ch} has no exact Python equivalent")
    return pattern[i : i + 2], i + 2


def _translate_pcre(pattern: str) -> tuple[str, int]:
    """Translate a PCRE pattern to Python syntax; return (python pattern, leading inline flags)."""
    out: list[str] = []
    flags = 0
    i = 0
    n = len(pattern)
    leading = True  # still at the start, where global inline flags are allowed
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            text, i = _pcre_escape(pattern, i, in_class=False)
            out.append(text)
        elif ch == "[":
            i = _copy_pcre_class(pattern, i, out)
        elif ch == "(" and pattern.startswith("(*", i):
            raise UnsupportedQueryError("PCRE verbs such as (*UCP) are not supported")
        elif ch == "(" and pattern.startswith("(?", i):
            m = re.match(r"\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?([):])", pattern[i:])
            if m and m.group(3) == ")" and not m.group(2):
                if not leading:
                    raise UnsupportedQueryError(
                        "PCRE inline flags in the middle of a pattern (Python allows them only at "
                        "the start)"
                    )
                for letter in m.group(1):
                    if letter not in _FLAG_BITS:
                        raise UnsupportedQueryError(f"PCRE inline flag {letter!r}")
                    flags |= _FLAG_BITS[letter]
                i += m.end()
                continue
            if m and m.group(3) == ":":
                letters = (m.group(1) or "") + (m.group(2) or "")
                if any(letter not in "imsx" for letter in letters):
                    raise UnsupportedQueryError(f"PCRE scoped flags {m.group(0)!r}")
                out.append(m.group(0))
                i += m.end()
            else:
                text, i = _pcre_group_opening(pattern, i)
                out.append(text)
        elif ch in "*+?}" and i + 1 < n and pattern[i + 1] == "+" and _is_quantifier(pattern, i):
            raise UnsupportedQueryError("PCRE possessive quantifiers (e.g. a++)")
        else:
            out.append(ch)
            i += 1
        leading = False
    return "".join(out), flags


def _is_quantifier(pattern: str, i: int) -> bool:
    """Whether ``pattern[i]`` (one of ``*+?}``) ends a quantifier rather than being a literal."""
    if pattern[i] == "}":
        start = pattern.rfind("{", 0, i)
        return start >= 0 and re.fullmatch(r"\d+(?:,\d*)?", pattern[start + 1 : i]) is not None
    return i > 0 and pattern[i - 1] not in "(|"


def _pcre_group_opening(pattern: str, i: int) -> tuple[str, int]:
    """Translate a ``(?`` group opening other than flag groups."""
    rest = pattern[i + 2 :]
    for ok in (":", "=", "!", "<=", "<!", "#", "P<", "P="):
        if rest.startswith(ok):
            return "(?" + ok, i + 2 + len(ok)
    m = re.match(r"<([A-Za-z_]\w*)>|'([A-Za-z_]\w*)'", rest)
    if m:
        return f"(?P<{m.group(1) or m.group(2)}>", i + 2 + m.end()
    construct = rest[:1] or "end of pattern"
    names = {">": "atomic group (?>...)", "|": "branch reset (?|...)", "(": "conditional (?(...)"}
    raise UnsupportedQueryError(f"PCRE {names.get(construct, '(?' + construct + ' construct')}")


def _copy_pcre_class(pattern: str, i: int, out: list[str]) -> int:
    """Copy a character class starting at ``pattern[i] == '['``; return the index after it."""
    j = i + 1
    buf = ["["]
    if j < len(pattern) and pattern[j] == "^":
        buf.append("^")
        j += 1
    first = True
    while j < len(pattern):
        ch = pattern[j]
        if ch == "]" and not first:
            buf.append("]")
            out.append("".join(buf))
            return j + 1
        if ch == "[" and pattern.startswith(("[:", "[=", "[."), j):
            raise UnsupportedQueryError("POSIX bracket expressions such as [[:alpha:]]")
        if ch == "\\":
            text, j = _pcre_escape(pattern, j, in_class=True)
            buf.append(text)
        elif ch in "[&~|" or (ch == "]" and first):
            # Python warns about possible future set operations on these; escaping keeps the
            # literal meaning PCRE gives them inside a class.
            buf.append("\\" + ch)
            j += 1
        else:
            buf.append(ch)
            j += 1
        first = False
    raise PatternSyntaxError("missing ] at end of character class", pattern, i)


@remembered("pcre_regex")
def pcre_regex(
    pattern: str, flags: str = "", case_sensitive: bool = True, anchored: bool = False
) -> BoundedPattern:
    """Compile a PCRE pattern (the subset Sigma and Splunk use) to a Python regex.

    Args:
        pattern: the PCRE pattern text.
        flags: PCRE flag letters (subset of ``"imsx"``).
        case_sensitive: False adds IGNORECASE.
        anchored: recorded for the caller, which uses ``fullmatch`` when True and ``search``
            otherwise; the compiled pattern is the same.

    Named groups ``(?<n>..)``/``(?'n'..)`` become ``(?P<n>..)``, ``\\z``/``\\Z``/``\\Q..\\E``/
    ``\\x{..}``/``\\e`` are rewritten. Compiled with ``re.ASCII`` because PCRE without the UCP
    option gives ``\\d \\w \\s \\b`` and caseless matching their ASCII meanings
    (https://www.pcre.org/current/doc/html/pcre2pattern.html, "Generic character types").

    Raises:
        UnsupportedQueryError: possessive quantifiers, atomic groups, verbs, conditionals, branch
            reset, mid-pattern inline flags, ``\\h \\v \\R \\K \\p`` and similar.
        PatternSyntaxError: the pattern does not compile.
    """
    del anchored  # the caller chooses search or fullmatch
    text, inline = _translate_pcre(pattern)
    bits = inline | re.ASCII
    for letter in flags:
        if letter not in _FLAG_BITS:
            raise UnsupportedQueryError(f"regex flag {letter!r}")
        bits |= _FLAG_BITS[letter]
    if not case_sensitive:
        bits |= re.IGNORECASE
    try:
        # Bounded: Python's backtracking must not hang the check on a pathological pattern.
        return BoundedPattern.compile(text, bits, pattern)
    except re.error as exc:
        raise PatternSyntaxError(f"invalid regular expression: {exc.msg}", pattern, exc.pos or 0)
