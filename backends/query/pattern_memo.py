"""The regex translators' results, kept once per process and handed to a caller that stores them.

Compiling a query tree (``compiler.py``) translates each of its regexes in its dialect
(``pcre.pcre_regex``, ``lucene_regex.lucene_regex``, ``re2.re2_plain_shape``): a parse with
Python's ``sre_parse``, checks, and the string-test shape (``plain_regex``), all in Python, about
a millisecond per pattern. The results depend only on the arguments and the code, and pickle
small (a ``patterns.BoundedPattern`` keeps its text, flags and shape, never a compiled engine),
so the backtest keeps those a tree's compilation used in its persistent cache, with the same
code fingerprint as the tree (``converter.backtesting.engine``), and a later run ``seed``s them
instead of translating again.

A translator wrapped with ``remembered`` returns, for equal arguments, the result it returned
first (as the ``functools.lru_cache`` it replaces did); a call that raises is not remembered.
``recording`` collects every result asked for while it is open, computed or remembered.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any, Callable, TypeVar

__all__ = ["recording", "remembered", "seed"]

F = TypeVar("F", bound=Callable[..., Any])

#: (translator name, positional arguments, keyword arguments) -> its result.
Key = tuple[str, tuple[Any, ...], tuple[tuple[str, Any], ...]]

_RESULTS: dict[Key, Any] = {}
#: Results kept before the memo starts over (a bound on its memory; a full backtest of the
#: SigmaHQ Windows rules asks for under 10,000).
_LIMIT = 1 << 15
#: The translators by name (what ``seed`` accepts).
_NAMES: set[str] = set()
#: The open recordings, innermost last.
_OPEN: list[dict[Key, Any]] = []


def remembered(name: str) -> Callable[[F], F]:
    """Wrap a translator (pure: its result depends only on its hashable arguments) so that its
    results are remembered under ``name`` (unique per translator)."""
    if name in _NAMES:
        raise ValueError(f"a translator named {name!r} is already remembered")
    _NAMES.add(name)

    def wrap(function: F) -> F:
        @functools.wraps(function)
        def call(*args: Any, **kwargs: Any) -> Any:
            key: Key = (name, args, tuple(sorted(kwargs.items())))
            try:
                value = _RESULTS[key]
            except KeyError:
                value = function(*args, **kwargs)
                if len(_RESULTS) >= _LIMIT:
                    _RESULTS.clear()
                _RESULTS[key] = value
            if _OPEN:
                _OPEN[-1][key] = value
            return value

        return call  # type: ignore[return-value]

    return wrap


@contextlib.contextmanager
def recording() -> Iterator[dict[Key, Any]]:
    """Collect, into the dict yielded, every remembered result asked for inside the block."""
    used: dict[Key, Any] = {}
    _OPEN.append(used)
    try:
        yield used
    finally:
        _OPEN.pop()
        if _OPEN:  # an enclosing recording used them too
            _OPEN[-1].update(used)


def seed(results: Any) -> bool:
    """Remember ``results`` (what a ``recording`` collected, read back from a store) as if
    computed here; False, and nothing remembered, when it is not such a dict."""
    if not isinstance(results, dict) or not all(
        isinstance(k, tuple) and len(k) == 3 and k[0] in _NAMES and isinstance(k[1], tuple)
        and isinstance(k[2], tuple) for k in results
    ):
        return False
    if len(_RESULTS) + len(results) > _LIMIT:
        _RESULTS.clear()
    for key, value in results.items():
        _RESULTS.setdefault(key, value)  # a result this process holds stays the one shared
    return True
