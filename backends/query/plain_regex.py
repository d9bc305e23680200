"""A translated regex that is a string of character sets, decided with string operations.

Emitters write a case-insensitive wildcard value as a regex of case classes
(``.*[cC][mM][dD]\\.[eE][xX][eE].*``, ``(?s)^.*[wW](?:i|I|İ)[nN].*\\z``): every position is a
set of single code points, optionally opened or closed by ``.*`` and the anchors. Such a
pattern matches a value exactly when some window of the value has, at each position, a
character of that position's set. When the sets of the pattern are pairwise equal or disjoint,
a map sending every character of a set to one member of it (and every other character to
itself) turns that into a substring test: ``v[j] in S`` holds exactly when
``fold(v[j]) == fold(s)`` for any ``s`` of ``S``, because ``S`` is all of ``fold``'s preimage of
that character. So the match is ``in``, ``startswith``, ``endswith`` or ``==`` on the folded
value, with no regex compiled or run (and so no time limit to reach).

The shape is read from Python's parse of the *translated* pattern (what the ``regex`` engine
would run), so each dialect's own rules (Lucene's whole-term match and ``.``, PCRE's ``\\z``)
have already been applied; this module adds no reading of any query language.
``tests/backends/test_plain_regex.py`` compares the string test with the regex engine on
generated patterns and values, non-ASCII included.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from backends.query.sre import sre_constants as _sre

__all__ = ["PlainForm", "PlainShape", "forms_test", "plain_form", "plain_shape", "plain_test"]

#: The shared folding: ASCII letters to lower case, and the two non-ASCII characters whose
#: simple lower case is an ASCII letter (U+0130 to ``i``, the Kelvin sign to ``k``): the case
#: classes emitters write (``[iIİ]``, ``(?:k|K|\\u212a)``, ``[xX]``) are exactly its
#: preimages. On an ASCII value it is ``str.lower``, so all patterns folding this way share one
#: folded value.
_SHARED = {**{c: c.lower() for c in map(chr, range(ord("A"), ord("Z") + 1))},
           "\u0130": "i", "\u212a": "k"}
_SHARED_TABLE = str.maketrans(_SHARED)
_PREIMAGES = {target: frozenset({target, *(c for c, t in _SHARED.items() if t == target)})
              for target in set(_SHARED.values())}

#: (body, start anchored, end anchored, fold table or None for identity, shared fold?)
PlainShape = tuple[str, bool | None, bool | None, Any, bool]

_DOT_REPEATS = (_sre.MAX_REPEAT, _sre.MIN_REPEAT)


def _flatten(items: Any, out: list[tuple[Any, Any]]) -> bool:
    """Groups without flag changes spliced in (a group changes no match verdict); False when a
    group sets or clears flags."""
    for op, argument in items:
        if op is _sre.SUBPATTERN:
            _group, add_flags, del_flags, body = argument
            if add_flags or del_flags or not _flatten(body.data, out):
                return False
        else:
            out.append((op, argument))
    return True


def _dot_star(op: Any, argument: Any, dotall: bool) -> bool:
    """``.*`` (greedy or lazy, the verdict is the same) where ``.`` is any code point."""
    if op not in _DOT_REPEATS or not dotall:
        return False
    low, high, body = argument
    inner: list[tuple[Any, Any]] = []
    return (low == 0 and high == _sre.MAXREPEAT and _flatten(body.data, inner)
            and len(inner) == 1 and inner[0][0] is _sre.ANY)


def _char_set(op: Any, argument: Any) -> frozenset[str] | None:
    """The code points one literal or one class of literals matches, else None."""
    if op is _sre.LITERAL:
        return frozenset(chr(argument))
    if op is _sre.IN and argument and all(o is _sre.LITERAL for o, _ in argument):
        return frozenset(chr(a) for _, a in argument)
    return None


def plain_shape(parsed: Any) -> PlainShape | None:
    """The string test form of a parsed pattern (``re._parser.parse``), or None.

    Accepted: ``[begin anchor] [.*]... sets... [.*]... [end anchor]`` with at least one set, no
    case-insensitive flag, ``.`` only under DOTALL, ``^`` only without MULTILINE, ``\\A``,
    ``\\Z`` (Python's: the very end). Anything else (``$``, alternation of sequences, repeats,
    classes with ranges or categories, look-arounds) is None: the regex runs.

    Returns:
        ``(body, start, end, table, shared)``: ``start``/``end`` are True when an anchor or the
        pattern's edge holds the body there, False when ``.*`` frees it, None when only the
        method decides (``fullmatch`` anchors, ``search`` does not); ``table`` maps the value's
        characters (None: unchanged); ``shared``: the table is the shared ASCII-and-two folding.
    """
    flags = parsed.state.flags
    if flags & re.IGNORECASE:
        return None
    items: list[tuple[Any, Any]] = []
    if not _flatten(parsed.data, items):
        return None
    dotall, multiline = bool(flags & re.DOTALL), bool(flags & re.MULTILINE)
    i, n = 0, len(items)
    start: bool | None = None
    if i < n and items[i][0] is _sre.AT and (
        items[i][1] is _sre.AT_BEGINNING_STRING
        or (items[i][1] is _sre.AT_BEGINNING and not multiline)
    ):
        start, i = True, i + 1
    while i < n and _dot_star(*items[i], dotall):
        start, i = False, i + 1
    end: bool | None = None
    if n > i and items[n - 1][0] is _sre.AT and items[n - 1][1] is _sre.AT_END_STRING:
        end, n = True, n - 1
    while n > i and _dot_star(*items[n - 1], dotall):
        end, n = False, n - 1
    sets: list[frozenset[str]] = []
    for op, argument in items[i:n]:
        found = _char_set(op, argument)
        if found is None:
            return None
        sets.append(found)
    if not sets:
        return None
    if all(len(s) == 1 for s in sets):
        return "".join(next(iter(s)) for s in sets), start, end, None, False
    if all(_shared_preimage(s) for s in sets):
        body = "".join(_SHARED.get(min(s), min(s)) for s in sets)
        return body, start, end, _SHARED_TABLE, True
    # Any other partition: each character to the least member of its set. The sets must be
    # pairwise equal or disjoint, so that each set is the whole preimage of its member.
    owner: dict[str, frozenset[str]] = {}
    for s in set(sets):
        for c in s:
            if c in owner:
                return None
            owner[c] = s
    table = {c: min(s) for c, s in owner.items() if len(s) > 1}
    return "".join(min(s) for s in sets), start, end, str.maketrans(table), False


def _shared_preimage(chars: frozenset[str]) -> bool:
    """``chars`` is the whole preimage, under the shared folding, of one character."""
    image = {_SHARED.get(c, c) for c in chars}
    if len(image) != 1:
        return False
    (target,) = image
    return target not in _SHARED and _PREIMAGES.get(target, frozenset(target)) == chars


def _shared_fold(text: str) -> str:
    return text.lower() if text.isascii() else text.translate(_SHARED_TABLE)


#: A string test: ``(kind, body, table, shared)``: ``kind`` (``equals``, ``startswith``,
#: ``endswith``, ``contains``) of ``body`` on the value mapped by ``table`` (None: unchanged;
#: ``shared``: the shared folding).
PlainForm = tuple[str, str, Any, bool]


def plain_form(shape: PlainShape, full: bool) -> PlainForm:
    """The string test equal to the pattern's ``fullmatch`` (``full``) or ``search`` verdict."""
    body, start, end, table, shared = shape
    anchored_start = full if start is None else start
    anchored_end = full if end is None else end
    kind = ("equals" if anchored_start and anchored_end else "startswith" if anchored_start
            else "endswith" if anchored_end else "contains")
    return kind, body, table, shared


def plain_test(shape: PlainShape, full: bool) -> Callable[[str], bool]:
    """The string test equal to the pattern's ``fullmatch`` (``full``) or ``search`` verdict."""
    return forms_test((plain_form(shape, full),))


def _mapper(table: Any, shared: bool) -> Callable[[str], str] | None:
    if table is None:
        return None
    if shared:
        return _shared_fold
    return lambda text: text.translate(table)


def forms_test(forms: tuple[PlainForm, ...]) -> Callable[[str], bool]:
    """A test true when ANY of the string tests ``forms`` holds: the value mapped once per
    distinct table, then a set (equals), ``startswith`` / ``endswith`` over a tuple and ``in``
    (the OR of each form's own test, exactly)."""
    by_map: dict[Any, tuple[Callable[[str], str] | None, dict[str, list[str]]]] = {}
    for kind, body, table, shared in forms:
        # The shared folding is one table; any other table by its content.
        key = None if table is None else "shared" if shared else tuple(sorted(table.items()))
        entry = by_map.setdefault(key, (_mapper(table, shared), {}))
        entry[1].setdefault(kind, []).append(body)
    if len(by_map) == 1 and len(forms) == 1:
        ((mapper, kinds),) = by_map.values()
        ((kind, (body,)),) = kinds.items()
        test = _one(kind, body)
        if mapper is None:
            return test
        apply = mapper
        return lambda text: test(apply(text))
    tests: list[tuple[Callable[[str], str] | None, frozenset[str], tuple[str, ...],
                      tuple[str, ...], tuple[str, ...]]] = []
    for mapper, kinds in by_map.values():
        equal = frozenset(kinds.get("equals", ()))
        prefixes = tuple(kinds.get("startswith", ()))
        suffixes = tuple(kinds.get("endswith", ()))
        inner = tuple(kinds.get("contains", ()))
        tests.append((mapper, equal, prefixes, suffixes, inner))

    def test_any(text: str) -> bool:
        for mapper, equal, prefixes, suffixes, inner in tests:
            value = text if mapper is None else mapper(text)
            if (value in equal or (prefixes and value.startswith(prefixes))
                    or (suffixes and value.endswith(suffixes))):
                return True
            for body in inner:
                if body in value:
                    return True
        return False

    return test_any


def _one(kind: str, body: str) -> Callable[[str], bool]:
    """One string test on an already mapped value."""
    if kind == "equals":
        return body.__eq__
    if kind == "startswith":
        return lambda text: text.startswith(body)
    if kind == "endswith":
        return lambda text: text.endswith(body)
    return lambda text: body in text
