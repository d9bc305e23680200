"""``registry_data``: Sysmon's ``Details`` of a registry value set as the registry data a data
source writes in two fields (Elastic Defend: ``registry.data.strings``, ``registry.data.type``),
both directions.

Sysmon 13 writes ``Details`` as text: a DWORD as ``DWORD (0x%08x)`` (lowercase hex), a QWORD as
``QWORD (0x%08x-0x%08x)``, binary data as ``Binary Data``, an empty string as ``(Empty)``, a
string value as itself. ECS (``registry.data.strings``, ecs_flat) populates the strings array
with the string for REG_SZ / REG_EXPAND_SZ and with the *decimal* representation for numeric
data ("1"); Elastic's own rules on Defend's registry index also compare the ``0x%08x`` form
(``registry.data.strings : ("1", "0x00000001")``), so both spellings are accepted and rendered.

Render: a DWORD (at most ``0x7fffffff``: above it the decimal could be signed or unsigned) ->
``type`` ``REG_DWORD`` and ``strings`` in both spellings (``Alternatives``); any other text that
is none of the forms below -> ``strings`` the text, ``type`` ``REG_SZ`` or ``REG_EXPAND_SZ``
(Sysmon does not say which; both rendered). QWORDs, binary data, ``(Empty)``, the empty text and
DWORDs above ``0x7fffffff`` raise ``ValueError``: no document says how the target writes them.

Query: a Sigma glob ``P`` on ``Details`` becomes
``(type == REG_DWORD and strings in <the DWORDs P matches, both spellings>) or
(type in (REG_SZ, REG_EXPAND_SZ) and strings ~ P)``. The DWORDs ``P`` matches are found on the
``DWORD (0x........)`` template with a small glob automaton: none, all of them (the type test
alone), or at most ``MAX_DWORDS`` values; more is refused. ``P`` must match none of the
undocumented forms (a QWORD, ``Binary Data``, ``(Empty)``, the empty text), which the query
never matches either (their types are neither of the two); otherwise, and for regular
expressions, ``null`` / ``exists`` (the target writes no strings for binary data), numbers and
field references, it is refused as not exact.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

from sigma.rule import SigmaDetectionItem
from sigma.types import SigmaCasedString, SigmaString, SigmaType

from converter.mapping.functions.render import Alternatives, scalar_string
from converter.mapping.functions.tree import (
    MANY,
    ONE,
    Leaf,
    Node,
    NotExact,
    QueryResult,
    Token,
    and_,
    describe,
    glob_matches,
    make_string,
    or_,
    rewrite,
    to_tokens,
)
from converter.mapping.table import FieldTarget

#: Sysmon's text of a DWORD value.
_DWORD = re.compile(r"DWORD \(0x([0-9a-f]{8})\)")
_QWORD = re.compile(r"QWORD \(0x[0-9a-f]{8}-0x[0-9a-f]{8}\)")
#: The largest DWORD whose decimal text does not depend on signedness.
MAX_SIGNED = 0x7FFFFFFF
#: The most DWORD values one test may select (more is refused: a query listing them all).
MAX_DWORDS = 16
#: The types whose strings hold the value's own text (ECS registry.data.strings).
STRING_TYPES = ("REG_SZ", "REG_EXPAND_SZ")
#: Sysmon texts whose target form no document gives.
UNDOCUMENTED_TEXTS = ("", "(Empty)", "Binary Data")
_HEX = "0123456789abcdef"
#: A template is a sequence of character sets (one set per position).
Template = tuple[str, ...]
_DWORD_TEMPLATE: Template = (*"DWORD (0x", *([_HEX] * 8), ")")
_QWORD_TEMPLATE: Template = (*"QWORD (0x", *([_HEX] * 8), *"-0x", *([_HEX] * 8), ")")


def _closure(tokens: tuple[Token, ...], states: set[int]) -> frozenset[int]:
    """The glob positions reachable without reading a character (a ``*`` may match nothing)."""
    todo, seen = list(states), set(states)
    while todo:
        i = todo.pop()
        if i < len(tokens) and tokens[i] is MANY and i + 1 not in seen:
            seen.add(i + 1)
            todo.append(i + 1)
    return frozenset(seen)


def _step(tokens: tuple[Token, ...], states: frozenset[int], char: str, cased: bool
          ) -> frozenset[int]:
    out: set[int] = set()
    for i in states:
        if i >= len(tokens):
            continue
        token = tokens[i]
        if token is MANY:
            out.add(i)
        elif token is ONE or (token == char if cased else str(token).lower() == char.lower()):
            out.add(i + 1)
    return _closure(tokens, out)


@lru_cache(maxsize=64)
def _stepper(glob: tuple[Token, ...], cased: bool) -> Callable[[frozenset[int], str], frozenset[int]]:
    """``_step`` on ``glob``, remembered per state set and character: the template walks ask
    the same few steps at every hex position (16 characters each), and the DWORD and QWORD
    walks of one value ask the same ones again."""

    @lru_cache(maxsize=None)
    def step(states: frozenset[int], char: str) -> frozenset[int]:
        return _step(glob, states, char, cased)

    return step


@lru_cache(maxsize=64)
def _alive(glob: tuple[Token, ...], cased: bool, template: Template
           ) -> Callable[[int, frozenset[int]], bool]:
    """Whether the glob in ``states`` at template position ``pos`` can still match, remembered
    per glob: every data source's pipeline, and many rules, test the same ``Details`` value."""
    step = _stepper(glob, cased)

    @lru_cache(maxsize=None)
    def alive(pos: int, states: frozenset[int]) -> bool:
        if not states:
            return False
        if pos == len(template):
            return len(glob) in states
        return any(alive(pos + 1, step(states, c)) for c in template[pos])

    return alive


def template_matches(tokens: list[Token], cased: bool, template: Template) -> Iterator[str]:
    """Every text of ``template`` the glob matches, in order (a generator: the caller stops
    early); each position's characters are tried only where the glob can still match."""
    glob = tuple(tokens)
    step = _stepper(glob, cased)
    alive = _alive(glob, cased, template)

    def walk(pos: int, states: frozenset[int], prefix: str) -> Iterator[str]:
        if pos == len(template):
            yield prefix
            return
        for char in template[pos]:
            after = step(states, char)
            if alive(pos + 1, after):
                yield from walk(pos + 1, after, prefix + char)

    start = _closure(glob, {0})
    if alive(0, start):
        yield from walk(0, start, "")


def matched_dwords(tokens: list[Token], cased: bool) -> list[int] | None:
    """The DWORD values whose Sysmon text the glob matches; None when it matches every one."""
    found: list[int] = []
    for text in template_matches(tokens, cased, _DWORD_TEMPLATE):
        found.append(int(text[9:17], 16))
        if len(found) > MAX_DWORDS:
            break
    if len(found) <= MAX_DWORDS:
        return found
    if _matches_all_dwords(tokens, cased):
        return None
    raise NotExact(f"the value matches more than {MAX_DWORDS} DWORD values but not all of them")


def _matches_all_dwords(tokens: list[Token], cased: bool) -> bool:
    """True when the glob matches every DWORD text: no reachable state set rejects."""
    glob = tuple(tokens)
    step = _stepper(glob, cased)

    @lru_cache(maxsize=None)
    def all_accept(pos: int, states: frozenset[int]) -> bool:
        if pos == len(_DWORD_TEMPLATE):
            return len(glob) in states
        return all(all_accept(pos + 1, step(states, c)) for c in _DWORD_TEMPLATE[pos])

    return all_accept(0, _closure(glob, {0}))


def _check_undocumented(tokens: list[Token], cased: bool) -> None:
    for text in UNDOCUMENTED_TEXTS:
        if glob_matches(tokens, text, cased):
            raise NotExact(f"the value matches Sysmon's {text!r}, whose form in the target no "
                           "document gives")
    if next(template_matches(tokens, cased, _QWORD_TEMPLATE), None) is not None:
        raise NotExact("the value matches a QWORD text, whose form in the target no document gives")


def dword_texts(value: int) -> tuple[str, str]:
    """The two spellings of a DWORD in ``registry.data.strings``: decimal (ECS) and ``0x%08x``."""
    return str(value), f"0x{value:08x}"


def render_registry_data(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """``Details`` -> ``{strings: ..., type: ...}`` (targets in that order)."""
    text = scalar_string(value, spec)
    if text is None:
        return {}
    strings, kind = spec.targets
    dword = _DWORD.fullmatch(text)
    if dword is not None:
        number = int(dword.group(1), 16)
        if number > MAX_SIGNED:
            raise ValueError(f"{spec.sigma}: {text!r}: the decimal text of a DWORD above "
                             "0x7fffffff (signed or unsigned) is not documented")
        return {strings: Alternatives(dword_texts(number)), kind: "REG_DWORD"}
    if text in UNDOCUMENTED_TEXTS or _QWORD.fullmatch(text):
        raise ValueError(f"{spec.sigma}: {text!r}: no document says how the target writes it")
    return {strings: text, kind: Alternatives(STRING_TYPES)}


def query_registry_data(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """A Sigma test on ``Details`` as tests on the strings and the type."""
    if len(spec.targets) != 2:
        raise NotExact("registry_data needs two targets (strings, type)")
    strings, kind = (prefix + t for t in spec.targets)

    def handle(value: SigmaType) -> Node:
        if not isinstance(value, SigmaString):
            raise NotExact(f"{describe(value)} cannot be tested on the registry data's two fields")
        return data_tree(to_tokens(value), isinstance(value, SigmaCasedString), strings, kind)

    return rewrite(item, spec, prefix, handle)


def data_tree(tokens: list[Token], cased: bool, strings: str, kind: str) -> Node:
    """The Sigma glob ``tokens`` on Sysmon's ``Details`` as a tree of tests on the strings and
    type fields; raises ``NotExact`` where no exact tree exists."""
    _check_undocumented(tokens, cased)
    dwords = matched_dwords(tokens, cased)
    is_dword = Leaf(kind, make_string(list("REG_DWORD"), True))
    if dwords is None:
        dword_node: Node = is_dword
    elif any(n > MAX_SIGNED for n in dwords):
        raise NotExact("the value matches a DWORD above 0x7fffffff, whose decimal text (signed "
                       "or unsigned) is not documented")
    else:
        dword_node = and_(is_dword, or_(*(Leaf(strings, make_string(list(t)))
                                          for n in dwords for t in dword_texts(n))))
    string_node = and_(
        or_(*(Leaf(kind, make_string(list(t), True)) for t in STRING_TYPES)),
        Leaf(strings, make_string(tokens, cased)),
    )
    return or_(dword_node, string_node)


def invert_registry_data(strings: Any, kind: Any) -> str | None:
    """The Sysmon ``Details`` text the target's strings and type stand for (for events given in
    the target schema); None for a form this function does not render (QWORD, binary, lists)."""
    values = strings if isinstance(strings, list) else [strings]
    if len(values) != 1 or not isinstance(values[0], str):
        return None
    text = values[0]
    if kind == "REG_DWORD":
        number = int(text, 16) if text.lower().startswith("0x") else int(text) if text.isdigit() else None
        return None if number is None or not 0 <= number <= MAX_SIGNED else f"DWORD (0x{number:08x})"
    if kind in STRING_TYPES and text not in UNDOCUMENTED_TEXTS:
        return text
    return None
