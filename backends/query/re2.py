"""RE2 patterns (Kusto ``matches regex``), run by Google's RE2 library itself.

Kusto's regular expressions are "the syntax of the RE2 library"
(https://learn.microsoft.com/kusto/query/re2), so the evaluator runs them with the ``google-re2``
binding rather than translating them to Python's ``re``: what RE2 accepts, rejects and matches
(``$`` only at the very end, Unicode simple case folding under ``(?i)``, ASCII ``\\d \\w \\s \\b``)
is then RE2's own behaviour, not a model of it. RE2 runs in linear time, so no time limit is
needed. Split out of ``matching.py``, which re-exports ``re2_regex``.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from .errors import UnsupportedQueryError, VerdictUndecided
from .pattern_memo import remembered
from .patterns import PatternSyntaxError
from .plain_regex import PlainShape, plain_shape

from backends.query.sre import sre_parse as _sre_parse

__all__ = ["re2_plain_shape", "re2_regex"]

#: RE2 inline flag letters a caller may pass (https://github.com/google/re2/wiki/Syntax, "Flags").
_FLAGS = frozenset("ims")


class _Re2Pattern:
    """A compiled RE2 pattern with the ``search`` / ``fullmatch`` interface the evaluator uses."""

    def __init__(self, compiled: Any) -> None:
        self._compiled = compiled

    def search(self, text: str) -> Any:
        """The first match anywhere in ``text``, or None."""
        try:
            return self._compiled.search(text)
        except UnicodeEncodeError:
            raise _lone_surrogate() from None

    def fullmatch(self, text: str) -> Any:
        """A match of the whole of ``text``, or None."""
        try:
            return self._compiled.fullmatch(text)
        except UnicodeEncodeError:
            raise _lone_surrogate() from None


def _lone_surrogate() -> VerdictUndecided:
    """RE2 matches UTF-8 text, and a lone surrogate (which a JSON event can carry) has no UTF-8
    form: the binding cannot pass the value, and what Kusto stores for it (replaced, dropped,
    refused at ingestion) is not documented, so the verdict on such an event is unknown."""
    return VerdictUndecided(
        "RE2 reads UTF-8 text and the value holds a lone surrogate, which has none; what Kusto "
        "stores for it is not documented"
    )


@functools.lru_cache(maxsize=4096)
def re2_regex(pattern: str, flags: str = "", case_sensitive: bool = True) -> _Re2Pattern:
    """Compile an RE2 pattern with the RE2 library.

    Args:
        pattern: the RE2 pattern text (after the query language's string unescaping).
        flags: inline flag letters (subset of ``"ims"``) to prepend as ``(?flags)``.
        case_sensitive: False prepends ``(?i)``.

    Raises:
        PatternSyntaxError: RE2 rejects the pattern (as Kusto would).
        UnsupportedQueryError: an unknown flag letter, or the RE2 library is not installed.
    """
    try:
        import re2  # google-re2
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise UnsupportedQueryError("RE2 patterns need the google-re2 package") from exc
    letters = set(flags) | (set() if case_sensitive else {"i"})
    unknown = letters - _FLAGS
    if unknown:
        raise UnsupportedQueryError(f"RE2 flag(s) {''.join(sorted(unknown))!r}")
    prefix = f"(?{''.join(sorted(letters))})" if letters else ""
    options = re2.Options()
    options.log_errors = False
    try:
        return _Re2Pattern(re2.compile(prefix + pattern, options))
    except re2.error as exc:
        raise PatternSyntaxError(f"RE2 rejects the pattern: {exc}", pattern, 0) from exc


#: Characters with a meaning in RE2 syntax outside a class (https://github.com/google/re2/wiki/
#: Syntax); ``re2_plain_shape`` reads ``\\``, ``[``, ``^``, ``$``, ``.`` and ``*`` itself and
#: refuses the others.
_RE2_META = frozenset("\\[]^$.*+?{}()|")
#: Characters a class read by ``re2_plain_shape`` may not hold (escapes, ranges, negation,
#: nested and POSIX classes, and what Python reads as a possible set operation).
_CLASS_SPECIAL = frozenset("\\[]^-:&~|")


@remembered("re2_plain_shape")
def re2_plain_shape(pattern: str, flags: str = "") -> PlainShape | None:
    """The string-test form (``plain_regex.plain_shape``) of a case-sensitive RE2 pattern made of
    literal characters and classes of literal characters, optionally opened or closed by
    ``.*``, ``^`` and ``$``, or None.

    Only a subset where RE2's syntax and Python's agree is read: flag groups ``(?s)`` at the
    start, literal characters, a backslash before ASCII punctuation (a literal in both,
    https://github.com/google/re2/wiki/Syntax "Escape sequences"), ``[...]`` of literal
    characters, ``.`` and ``*``. Outside multi-line mode RE2's ``^`` is the beginning of the text
    and ``$`` its very end ("like ``\\z`` not ``\\Z``"), so they are read as Python's ``\\A`` and
    ``\\Z``; the result is parsed by Python's parser and its shape taken as ``plain_shape`` takes
    it (``tests/backends/test_re2_plain.py`` compares the string test with RE2 itself).
    """
    letters = set(flags)
    i = 0
    while pattern.startswith("(?", i):
        close = pattern.find(")", i)
        if close < i + 3:  # no closing parenthesis, or "(?)"
            return None
        letters |= set(pattern[i + 2 : close])
        i = close + 1
    if not letters <= {"s"}:
        return None
    out: list[str] = []
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            escaped = pattern[i + 1 : i + 2]
            if not (escaped.isascii() and escaped and not escaped.isalnum() and escaped.isprintable()
                    and not escaped.isspace()):
                return None
            out.append("\\" + escaped)
            i += 2
        elif char == "[":
            close = pattern.find("]", i + 1)
            members = pattern[i + 1 : close] if close > 0 else ""
            if not members or not _CLASS_SPECIAL.isdisjoint(members):
                return None
            out.append("[" + members + "]")
            i = close + 1
        elif char == "^":
            out.append("\\A")
            i += 1
        elif char == "$":
            out.append("\\Z")
            i += 1
        elif char in ".*":
            out.append(char)
            i += 1
        elif char in _RE2_META:
            return None
        else:
            out.append(char)
            i += 1
    try:
        parsed = _sre_parse.parse("".join(out), re.DOTALL if "s" in letters else 0)
    except re.error:
        return None
    return plain_shape(parsed)
