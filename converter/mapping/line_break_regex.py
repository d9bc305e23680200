"""Whether a regular expression answers alike on a text and on that text with ``\\r\\n`` as ``\\n``.

A shipper that writes every ``\\r\\n`` as ``\\n`` (the winlog input's
``sys.RemoveWindowsLineEndings``; ``line_endings.py``) leaves a Sigma regex (searched, not
anchored) exact on the rewritten value T' when it has a match in T' exactly where it has one in
the original T. ``line_endings.crlf_invariant`` accepts a regex its own reading proves so, or one
``regex_problem`` accepts here: two shapes, parsed with the ``re`` module's own parser (the
reference's flags and ASCII shorthands applied first), with the construct that stops it named
otherwise:

* **break-free**: no part can match ``\\r`` or ``\\n``. A match is then a run of T without line
  breaks, and those runs are the same in T' (only a ``\\r`` right before a ``\\n`` is removed);
  anchors at the start, word boundaries and lookarounds of break-free parts see the same
  neighbours (``\\r`` and ``\\n`` are both non-word characters). End anchors are refused: ``$``
  and PCRE's ``\\Z`` also match before a final line break.
* **runs**: no part can match ``\\n`` except *free runs*, top-level unbounded repetitions with a
  minimum of 0 or 1 of one class matching both ``\\r`` and ``\\n`` (``\\s*``, ``\\s+``), each
  between break-free parts that consume a character; the last part that consumes a character
  is break-free, and the only anchor is a leading ``^`` / ``\\A``; no lookaround, backreference
  or boundary. A ``\\r`` that a part other than a free run consumes (``.``, ``[^x]`` without
  ``\\n``) is then never followed by ``\\n`` inside a match of T, nor the match's last character,
  so it is a lone ``\\r``, which T' keeps; every ``\\n`` of a match is a free run's, and a free
  run holds a ``\\r\\n`` of T exactly where it holds the ``\\n`` of T' (it takes the ``\\r`` too,
  and a non-empty run stays non-empty).
"""

from __future__ import annotations

import re
from typing import Any

from backends.query.sre import sre_constants as _sre, sre_parse as _sre_parse

CR, LF = 13, 10
#: What a class category matches of (CR, LF); an unlisted category counts as matching both.
_CATEGORY_BREAKS = {
    _sre.CATEGORY_DIGIT: (False, False),
    _sre.CATEGORY_NOT_DIGIT: (True, True),
    _sre.CATEGORY_WORD: (False, False),
    _sre.CATEGORY_NOT_WORD: (True, True),
    _sre.CATEGORY_SPACE: (True, True),
    _sre.CATEGORY_NOT_SPACE: (False, False),
}
_SINGLE = (_sre.LITERAL, _sre.NOT_LITERAL, _sre.ANY, _sre.IN)
_REPEATS = tuple(op for op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT,
                               getattr(_sre, "POSSESSIVE_REPEAT", None)) if op is not None)
#: Anchors a break-free pattern may hold (same verdict beside ``\r`` as beside ``\n``).
_BREAK_FREE_AT = frozenset({
    _sre.AT_BEGINNING, _sre.AT_BEGINNING_STRING, _sre.AT_BOUNDARY, _sre.AT_NON_BOUNDARY,
})
_LEADING_AT = frozenset({_sre.AT_BEGINNING, _sre.AT_BEGINNING_STRING})


class _Refused(Exception):
    """A construct the shape being checked does not allow (the message names it); ``shape``:
    the "runs" shape's own rules (whitespace runs, the match's end) stopped it, the clearer
    reason for a pattern whose parts are otherwise free of ``\\n``."""

    def __init__(self, message: str, shape: bool = False) -> None:
        super().__init__(message)
        self.shape = shape


def regex_problem(pattern: str, flags: int = 0) -> str | None:
    """Why ``pattern`` could answer differently once ``\\r\\n`` became ``\\n``, or None.

    ``flags``: the ``re`` flags of the Sigma value's modifiers (``|s``: ``.`` also matches ``\\n``).
    """
    try:
        parsed = _sre_parse.parse(pattern, flags)
    except (re.error, OverflowError, RecursionError, ValueError) as exc:
        return f"its pattern cannot be analysed ({exc})"
    dotall = bool(parsed.state.flags & _sre.SRE_FLAG_DOTALL)
    try:
        _break_free(list(parsed), dotall)
        return None
    except _Refused as first:
        try:
            _runs(parsed, dotall)
            return None
        except _Refused as second:
            return str(second if second.shape else first)


def _breaks(op: Any, arg: Any, dotall: bool) -> tuple[bool, bool]:
    """(matches ``\\r``, matches ``\\n``) of a one-character node."""
    if op is _sre.LITERAL:
        return arg == CR, arg == LF
    if op is _sre.NOT_LITERAL:
        return arg != CR, arg != LF
    if op is _sre.ANY:
        return True, dotall
    negate = any(member is _sre.NEGATE for member, _ in arg)
    found = [False, False]
    for member, value in arg:
        for i, code in enumerate((CR, LF)):
            if member is _sre.LITERAL:
                hit = value == code
            elif member is _sre.RANGE:
                hit = value[0] <= code <= value[1]
            elif member is _sre.CATEGORY:
                hit = _CATEGORY_BREAKS.get(value, (True, True))[i]
            elif member is _sre.NEGATE:
                continue
            else:
                hit = True  # an unmodelled member: assume it can
            found[i] = found[i] or hit
    return (not found[0], not found[1]) if negate else (found[0], found[1])


def _dotall_of(op: Any, arg: Any, dotall: bool) -> bool:
    if op is _sre.SUBPATTERN:
        add, remove = arg[1], arg[2]
        return (dotall or bool(add & _sre.SRE_FLAG_DOTALL)) and not remove & _sre.SRE_FLAG_DOTALL
    return dotall


def _children(op: Any, arg: Any) -> list[list[Any]]:
    """The node sequences inside a compound node."""
    if op in _REPEATS:
        return [list(arg[2])]
    if op is _sre.SUBPATTERN:
        return [list(arg[-1])]
    if op is _sre.BRANCH:
        return [list(b) for b in arg[1]]
    if op in (_sre.ASSERT, _sre.ASSERT_NOT):
        return [list(arg[1])]
    if op is getattr(_sre, "ATOMIC_GROUP", None):
        return [list(arg)]
    raise _Refused(f"it has a construct ({str(op).lower()}) whose line-break behaviour is not modelled")


def _break_free(items: list[Any], dotall: bool) -> None:
    """Raise unless no part of ``items`` can match ``\\r`` or ``\\n`` (break-free shape)."""
    for op, arg in items:
        if op in _SINGLE:
            if any(_breaks(op, arg, dotall)):
                raise _Refused(f"its {_name(op)} can match a line break")
        elif op is _sre.AT:
            if arg not in _BREAK_FREE_AT:
                raise _Refused("an end anchor of it also matches before a final line break")
        elif op is _sre.GROUPREF:
            continue  # the text of a group, itself free of line breaks
        else:
            for child in _children(op, arg):
                _break_free(child, _dotall_of(op, arg, dotall))


def _no_newline(items: list[Any], dotall: bool) -> None:
    """Raise unless no part of ``items`` can match ``\\n`` (no anchor, lookaround or
    backreference either)."""
    for op, arg in items:
        if op in _SINGLE:
            if _breaks(op, arg, dotall)[1]:
                raise _Refused(f"its {_name(op)} can match a line break")
        elif op in (_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT, _sre.GROUPREF, _sre.GROUPREF_EXISTS,
                    getattr(_sre, "POSSESSIVE_REPEAT", None), getattr(_sre, "ATOMIC_GROUP", None)):
            raise _Refused(f"it has a {_name(op)} beside parts that can match '\\r'")
        else:
            for child in _children(op, arg):
                _no_newline(child, _dotall_of(op, arg, dotall))


def _solid(node: Any, state: Any, dotall: bool) -> bool:
    """A break-free part that consumes at least one character."""
    try:
        _break_free([node], dotall)
    except _Refused:
        return False
    return node[0] is not _sre.AT and _min_width(node, state) >= 1


def _min_width(node: Any, state: Any) -> int:
    return int(_sre_parse.SubPattern(state, [node]).getwidth()[0])


def _free_run(node: Any, dotall: bool) -> bool:
    """``\\s*`` / ``\\s+``: an unbounded repetition (minimum 0 or 1) of one class matching both
    ``\\r`` and ``\\n``."""
    op, arg = node
    if op not in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) or arg[0] > 1 or arg[1] != _sre.MAXREPEAT:
        return False
    body = list(arg[2])
    # `(?a:\s)+`: the reference's ASCII shorthands wrap the class in a non-capturing group.
    while len(body) == 1 and body[0][0] is _sre.SUBPATTERN and body[0][1][0] is None:
        dotall = _dotall_of(body[0][0], body[0][1], dotall)
        body = list(body[0][1][-1])
    if len(body) != 1:
        return False
    inner_op, inner_arg = body[0]
    return inner_op in _SINGLE and _breaks(inner_op, inner_arg, dotall) == (True, True)


def _runs(parsed: Any, dotall: bool) -> None:
    """Raise unless the top-level sequence has the "runs" shape (module docstring)."""
    nodes, state = list(parsed), parsed.state
    for i, node in enumerate(nodes):
        if node[0] is _sre.AT and i == 0 and node[1] in _LEADING_AT:
            continue
        if _free_run(node, dotall):
            before = nodes[i - 1] if i > 0 else None
            after = nodes[i + 1] if i + 1 < len(nodes) else None
            if before is not None and not (before[0] is _sre.AT and i == 1) \
                    and not _solid(before, state, dotall):
                raise _Refused("a whitespace run of it is not between parts that never match a "
                               "line break", shape=True)
            if after is None or not _solid(after, state, dotall):
                raise _Refused("a whitespace run of it is not between parts that never match a "
                               "line break", shape=True)
            continue
        _no_newline([node], dotall)
    for node in reversed(nodes):
        if _solid(node, state, dotall):
            return
        try:
            _break_free([node], dotall)
        except _Refused:
            raise _Refused("a match of it can end with a '\\r' the shipper removes",
                           shape=True) from None
    raise _Refused("it can match an empty text beside a line break", shape=True)


def _name(op: Any) -> str:
    return {"ANY": "'.'", "NOT_LITERAL": "negated character", "IN": "character class",
            "LITERAL": "literal", "AT": "anchor", "ASSERT": "lookaround",
            "ASSERT_NOT": "lookaround", "GROUPREF": "backreference",
            "GROUPREF_EXISTS": "conditional group"}.get(str(op), str(op).lower())
