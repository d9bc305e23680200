"""Patterns on which the ``regex`` package (the engine that runs the reference's patterns, for its
time limit) does not mean what ``re`` (the engine that validates them, whose meaning the reference
states) means.

``regex`` 2026.12.2 (VERSION0) applies a scoped case flag of one alternation branch to a character
class of another: ``regex.search(r"[^Ss]|(?i:-)", "\u017f")`` finds no match where ``re`` does
(``[^Ss]`` closed under case excludes ``\u017f`` and ``\u212a``, which fold to ``s`` and ``k``).
The shape is detected on ``re``'s own parse of the pattern and refused: the rule is then undecided,
never decided wrongly (``SIGMA_SEMANTICS["regex_scoped_case_in_alternative"]``).
``tests/converter/reference/test_engine_gaps.py`` pins the upstream behaviour with a strict xfail,
so a fixed ``regex`` release is noticed.
"""

from __future__ import annotations

import re
from typing import Any

from backends.query.sre import sre_constants as _sre, sre_parse as _sre_parse

__all__ = ["MAX_EXPANSION", "expansion", "scoped_case_in_alternation"]

#: The most pattern elements ``regex`` may build for one pattern: it writes out the minimum count
#: of a repeat (``a{100000}`` is 100,000 elements, ~40 MB and 0.15 s to compile), nested repeats
#: multiply, and ``((ab{1000}){1000}){1000}`` (25 characters) exhausted the machine's memory.
#: SigmaHQ's largest count is 1,000.
MAX_EXPANSION = 100_000


def scoped_case_in_alternation(compiled: re.Pattern[str]) -> bool:
    """Whether an alternative of ``compiled`` (a ``|`` branch, or an arm of a conditional group)
    holds a group that turns case-insensitive matching on or off (``(?i:...)``, ``(?-i:...)``).

    That is the shape on which ``regex`` leaks the scoped flag into the other alternatives (see the
    module docstring); it is detected conservatively: every such pattern is reported, also those
    on which ``regex`` happens to agree with ``re``.
    """
    return _scan(_sre_parse.parse(compiled.pattern, compiled.flags), False)


def _scan(items: Any, in_alternative: bool) -> bool:
    """Walk ``re``'s parse tree (``SubPattern`` of ``(op, argument)``) for the shape."""
    for op, argument in items:
        inner: list[Any]
        nested = in_alternative
        if op is _sre.SUBPATTERN:
            _group, add_flags, del_flags, body = argument
            if in_alternative and (add_flags | del_flags) & re.IGNORECASE:
                return True
            inner = [body]
        elif op is _sre.BRANCH:
            inner, nested = list(argument[1]), True
        elif op is _sre.GROUPREF_EXISTS:
            inner, nested = [arm for arm in argument[1:] if arm is not None], True
        elif isinstance(argument, _sre_parse.SubPattern):  # an atomic group
            inner = [argument]
        elif isinstance(argument, tuple):  # repeats, lookarounds: their bodies
            inner = [part for part in argument if isinstance(part, _sre_parse.SubPattern)]
        else:
            continue
        if any(_scan(body, nested) for body in inner):
            return True
    return False


def expansion(compiled: re.Pattern[str]) -> int:
    """An upper bound of the elements ``regex`` builds for ``compiled``: each repeat counts its
    body as often as its minimum (at least once), alternatives and groups add up."""
    return _size(_sre_parse.parse(compiled.pattern, compiled.flags))


def _size(items: Any) -> int:
    total = 0
    for op, argument in items:
        if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) or op.name == "POSSESSIVE_REPEAT":
            low, _high, body = argument
            total += max(low, 1) * _size(body)
        elif op is _sre.BRANCH:
            total += 1 + sum(_size(arm) for arm in argument[1])
        elif op is _sre.GROUPREF_EXISTS:
            total += 1 + sum(_size(arm) for arm in argument[1:] if arm is not None)
        elif isinstance(argument, _sre_parse.SubPattern):  # an atomic group
            total += _size(argument)
        elif isinstance(argument, tuple) and any(
            isinstance(part, _sre_parse.SubPattern) for part in argument
        ):  # groups, lookarounds: their bodies
            total += sum(_size(part) for part in argument if isinstance(part, _sre_parse.SubPattern))
        else:
            total += 1
        if total > MAX_EXPANSION:  # enough to refuse; the products of nested repeats stop here
            return total
    return total
