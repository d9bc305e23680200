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
from typing import Any

from .errors import UnsupportedQueryError
from .patterns import PatternSyntaxError

__all__ = ["re2_regex"]

#: RE2 inline flag letters a caller may pass (https://github.com/google/re2/wiki/Syntax, "Flags").
_FLAGS = frozenset("ims")


class _Re2Pattern:
    """A compiled RE2 pattern with the ``search`` / ``fullmatch`` interface the evaluator uses."""

    def __init__(self, compiled: Any) -> None:
        self._compiled = compiled

    def search(self, text: str) -> Any:
        """The first match anywhere in ``text``, or None."""
        return self._compiled.search(text)

    def fullmatch(self, text: str) -> Any:
        """A match of the whole of ``text``, or None."""
        return self._compiled.fullmatch(text)


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
