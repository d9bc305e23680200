"""Shippers that rewrite a value's Windows line endings (``sources.<data source>.line_endings: lf``).

Winlogbeat and the Elastic Agent's winlog input (the Windows, System and Custom Windows Event Log
integrations) copy each ``<Data>`` value of a record into ``winlog.event_data`` through
``AddPairs``, which stores ``sys.RemoveWindowsLineEndings(value)``: every ``\\r\\n`` becomes ``\\n``
(elastic/beats winlogbeat/sys/winevent/maputil.go; winlogbeat/sys/strings.go). The record's
System section (EventID, Channel, Provider) is read apart and keeps its text. The renderer writes
the rewritten value (``converter/events/render.py``); this module decides, per detection item,
whether a Sigma test answers alike on a value and on its rewriting (``crlf_invariant``). Where it
may not, no query on the shipped data can be exact (``a\\r\\nb`` and ``a\\nb`` are written alike),
so ``LineEndingCheck`` keeps the query and declares it approximate: ``check`` then calls the
target "not proven", never "equivalent".

``crlf_invariant`` is sound, not complete: it answers True only where a proof below holds.

* A Sigma glob (every string modifier ends as one) whose literal characters hold neither ``\\r``
  nor ``\\n`` and that has no ``?``: the rewriting deletes only a ``\\r`` followed by ``\\n``; both
  fall inside the runs a ``*`` matches, and deleting or restoring a character inside such a run
  keeps the match. A ``?`` may match the deleted ``\\r`` (``a?b`` is false on ``a\\r\\nb``, true on
  ``a\\nb``), so it is not invariant.
* A regular expression (the reference's ``re.search``) none of whose parts can match ``\\n``, whose
  parts that can match ``\\r`` are only ``.`` repeated from zero times (without ``|s``), and whose
  only anchors are ``^`` (without ``|m``), ``\\A`` and ``\\b``: a match on the rewritten value holds
  no ``\\n``, so it is a run of the original (a deleted ``\\r`` precedes a ``\\n`` outside it);
  a match on the original may end with a ``\\r`` that the rewriting deletes, consumed last by such
  a ``.`` run, and the match without it holds too (everything after matched empty, and ``\\b`` is
  false between ``\\r`` and ``\\n``). ``$`` is not invariant: on ``abc\\n`` it matches before the
  final newline, on ``abc\\r\\n`` it does not. Or a regular expression of one of the two shapes
  ``line_break_regex.regex_problem`` accepts (``\\s*`` / ``\\s+`` runs between parts that never
  match a line break, ``.`` wherever no match can end with it), proven there.
* ``null``, ``exists``, numbers, comparisons, CIDR, booleans: the rewriting never deletes a field
  and never makes a number or an address of text that was none (both spellings hold a line break).
* A field reference compares two rewritten values: ``a\\r\\n`` and ``a\\n`` differ, their rewritings
  do not, so it is not invariant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sigma.processing.transformations.base import DetectionItemTransformation
from sigma.rule import SigmaDetectionItem
from sigma.types import (
    SigmaExpansion,
    SigmaFieldReference,
    SigmaRegularExpression,
    SigmaString,
    SigmaType,
    SpecialChars,
)

from converter.mapping.declared import warn_on_rule
from converter.mapping.line_break_regex import regex_problem
from converter.reference.values import ascii_shorthands, regex_flags, regex_source

from backends.query.sre import sre_constants as _sre, sre_parse as _sre_parse


def crlf_invariant(value: SigmaType) -> bool:
    """True when the Sigma test ``value`` is proven to answer alike on every value and on that
    value with each ``\\r\\n`` rewritten as ``\\n`` (module docstring); False when it may not."""
    if isinstance(value, SigmaExpansion):
        return all(crlf_invariant(v) for v in value.values)
    if isinstance(value, SigmaRegularExpression):
        return _regex_invariant(value)
    if isinstance(value, SigmaString):
        for part in value.s:
            if part is SpecialChars.WILDCARD_SINGLE:
                return False
            if isinstance(part, str) and ("\r" in part or "\n" in part):
                return False
            if not isinstance(part, (str, SpecialChars)):
                return False  # an unresolved placeholder: nothing known of its text
        return True
    if isinstance(value, SigmaFieldReference):
        return False
    return True


_BREAKS = frozenset("\r\n")
_BOTH, _LF, _CR = _BREAKS, frozenset("\n"), frozenset("\r")
_NONE: frozenset[str] = frozenset()
#: Which of ``\r`` and ``\n`` each class shorthand matches (Python's ``re``; ``\s`` is ASCII).
_CATEGORY_BREAKS = {
    _sre.CATEGORY_SPACE: _BOTH, _sre.CATEGORY_UNI_SPACE: _BOTH,
    _sre.CATEGORY_NOT_DIGIT: _BOTH, _sre.CATEGORY_UNI_NOT_DIGIT: _BOTH,
    _sre.CATEGORY_NOT_WORD: _BOTH, _sre.CATEGORY_UNI_NOT_WORD: _BOTH,
    _sre.CATEGORY_LINEBREAK: _LF, _sre.CATEGORY_UNI_LINEBREAK: _LF,
    _sre.CATEGORY_NOT_LINEBREAK: _CR, _sre.CATEGORY_UNI_NOT_LINEBREAK: _CR,
    _sre.CATEGORY_NOT_SPACE: _NONE, _sre.CATEGORY_UNI_NOT_SPACE: _NONE,
    _sre.CATEGORY_DIGIT: _NONE, _sre.CATEGORY_UNI_DIGIT: _NONE,
    _sre.CATEGORY_WORD: _NONE, _sre.CATEGORY_UNI_WORD: _NONE,
}
_MAXREPEAT = getattr(_sre, "MAXREPEAT", None) or _sre_parse.MAXREPEAT
#: Anchors whose verdict is the same before a deleted ``\r`` and after it (see the docstring).
_SAFE_ANCHORS = {_sre.AT_BEGINNING_STRING, _sre.AT_BOUNDARY}


def _class_may_match_break(items: list[tuple[Any, Any]]) -> bool:
    """Whether a character class (``IN``'s items) may match ``\\r`` or ``\\n``."""
    negated = False
    listed: set[str] = set()
    for op, arg in items:
        if op is _sre.NEGATE:
            negated = True
        elif op is _sre.LITERAL:
            listed |= {chr(arg)} & _BREAKS
        elif op is _sre.RANGE:
            listed |= {c for c in _BREAKS if arg[0] <= ord(c) <= arg[1]}
        elif op is _sre.CATEGORY and arg in _CATEGORY_BREAKS:
            listed |= _CATEGORY_BREAKS[arg]
        else:
            return True  # an item this reading does not know: assume the worst
    return bool(_BREAKS - listed) if negated else bool(listed)


def _regex_invariant(value: SigmaRegularExpression) -> bool:
    given = regex_flags(value)
    try:
        source = ascii_shorthands(regex_source(value))
        parsed = _sre_parse.parse(source, given)
    except (re.error, OverflowError, RecursionError, ValueError):
        return False
    flags = parsed.state.flags
    multiline, dotall = bool(flags & re.MULTILINE), bool(flags & re.DOTALL)
    # Either reading's proof suffices: line_break_regex also takes `\s*` / `\s+` runs between
    # parts that never match a line break, and `.` wherever a match cannot end with it.
    return (
        _items_invariant(list(parsed), multiline, dotall, top=True)
        or regex_problem(source, given) is None
    )


def _consumes_plain(item: tuple[Any, Any] | None) -> bool:
    """Whether ``item`` always consumes one character that is neither ``\\r`` nor ``\\n``."""
    if item is None:
        return False
    op, arg = item
    if op is _sre.LITERAL:
        return chr(arg) not in _BREAKS
    return op is _sre.IN and not _class_may_match_break(arg)


def _any_run(item: tuple[Any, Any]) -> bool:
    """Whether ``item`` is ``.`` or a greedy or lazy run of ``.``."""
    op, arg = item
    if op is _sre.ANY:
        return True
    if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):
        body = list(arg[2])
        return len(body) == 1 and body[0][0] is _sre.ANY
    return False


def _takes_either_break(item: tuple[Any, Any], dotall: bool) -> bool:
    """Whether ``item`` consumes exactly one character and accepts both ``\\r`` and ``\\n``
    (``\\s``, ``[^x]``, ``.`` under ``|s``), seen through a group around it alone."""
    op, arg = item
    if op is _sre.SUBPATTERN and len(arg[3]) == 1:
        return _takes_either_break(arg[3][0], dotall)
    if op is _sre.ANY:
        return dotall
    if op is _sre.NOT_LITERAL:  # `[^x]`
        return chr(arg) not in _BREAKS
    if op is not _sre.IN:
        return False
    negated = any(o is _sre.NEGATE for o, _ in arg)
    listed: set[str] = set()
    for o, a in arg:
        if o is _sre.LITERAL and chr(a) in _BREAKS:
            listed.add(chr(a))
        elif o is _sre.RANGE:
            listed |= {c for c in _BREAKS if a[0] <= ord(c) <= a[1]}
        elif o is _sre.CATEGORY and a in _CATEGORY_BREAKS:
            listed |= _CATEGORY_BREAKS[a]
        elif o is not _sre.NEGATE:
            return False
    return not listed if negated else listed == set(_BREAKS)


def _items_invariant(
    items: list[tuple[Any, Any]], multiline: bool, dotall: bool, top: bool = False
) -> bool:
    for index, (op, arg) in enumerate(items):
        following = items[index + 1] if index + 1 < len(items) else None
        neighbour = None if len(items) == 1 else items[1] if index == 0 else items[index - 1]
        if (
            top and index in (0, len(items) - 1) and _takes_either_break((op, arg), dotall)
            and (len(items) == 1 or _consumes_plain(neighbour))
        ):
            # First or last item of an unanchored search, next to a character that is no break:
            # a line break it takes in one value it takes in the other (\n where the \r was
            # deleted before it, or \r where the match ended before the \n); in the middle it
            # is not (`a\sb`: true on "a\nb" only), nor beside another break (`\s\s`).
            continue
        if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) and arg[0] <= 1 and arg[1] == _MAXREPEAT and (
            len(arg[2]) == 1 and _takes_either_break(arg[2][0], dotall)
        ):
            # An unbounded run of a class holding both breaks (`\s+`, `\s*`): deleting or
            # restoring a \r next to its \n keeps the run, and it never empties.
            continue
        if not dotall and _any_run((op, arg)) and (
            op is not _sre.ANY and arg[0] == 0 or _consumes_plain(following)
        ):
            # A run of `.` never holds \n; it holds a \r the rewriting deletes only as its last
            # character with nothing after it consuming text: a zero-minimum run may drop it,
            # and a run followed by a plain character never ends before a \n.
            continue
        if op is _sre.LITERAL:
            if chr(arg) in _BREAKS:
                return False
        elif op is _sre.IN:
            if _class_may_match_break(arg):
                return False
        elif op is _sre.AT:
            if arg not in _SAFE_ANCHORS and not (arg is _sre.AT_BEGINNING and not multiline):
                return False
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", None)):
            body = list(arg[2])
            if any(b[0] is _sre.ANY for b in body) or not _items_invariant(body, multiline, dotall):
                return False
        elif op is _sre.SUBPATTERN:
            _group, add, remove, body = arg
            local_multi = (multiline or bool(add & re.MULTILINE)) and not remove & re.MULTILINE
            local_dot = (dotall or bool(add & re.DOTALL)) and not remove & re.DOTALL
            if not _items_invariant(list(body), local_multi, local_dot):
                return False
        elif op is _sre.BRANCH:
            if not all(_items_invariant(list(b), multiline, dotall) for b in arg[1]):
                return False
        else:
            # ANY outside a zero-minimum run, NOT_LITERAL, lookarounds, back-references,
            # conditionals, \B: each may tell a deleted \r apart.
            return False
    return True


@dataclass
class LineEndingCheck(DetectionItemTransformation):
    """Declare approximate every test the shipper's ``\\r\\n`` → ``\\n`` rewriting may change
    (``crlf_invariant`` is False): a warning on the rule naming the field, so ``check`` reports
    the target "not proven", and, for ``check``'s events, nothing else (the renderer rewrites
    the values; ``converter/checking/dropped.py`` knows an event that differs only so)."""

    data_source: str = ""
    exempt: frozenset[str] = field(default_factory=frozenset)

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> None:
        """Warn for an item whose verdict the rewriting of line endings may change."""
        name = detection_item.field
        if name is not None and name in self.exempt:
            return None
        if all(crlf_invariant(v) for v in detection_item.value):
            return None
        shown = name if name is not None else "keyword"
        self._warn(
            f"{shown}: on data_source={self.data_source} the shipper writes every \\r\\n of a "
            "value as \\n (Winlogbeat's AddPairs, RemoveWindowsLineEndings), and this test may "
            "answer differently on a value and on its rewriting, which the query cannot tell apart"
        )
        return None

    def _warn(self, message: str) -> None:
        self._messages.append(message)

    def apply(self, rule: Any) -> None:
        """Visit the rule's detection items, then put each warning on the rule."""
        self._messages: list[str] = []
        super().apply(rule)
        for message in self._messages:
            warn_on_rule(rule, message)
