"""``registry_data`` (Elastic Defend's ``registry.data.strings`` / ``registry.data.type``): the
query side matches exactly the ``Details`` texts the Sigma glob matches, on every rendering of
them (both DWORD spellings, both string types), for every glob it does not refuse; checked on
hostile globs built from the pieces of Sysmon's DWORD text."""

from __future__ import annotations

import random
from typing import Any

import pytest
from sigma.types import SigmaString

from converter.events.render import expand_alternatives
from converter.mapping.functions.registry_data import (
    data_tree,
    matched_dwords,
    render_registry_data,
)
from converter.mapping.functions.tree import (
    MANY,
    ONE,
    Const,
    Group,
    Leaf,
    Node,
    NotExact,
    Token,
    glob_matches,
    to_tokens,
)
from converter.mapping.table import FieldTarget

STRINGS, TYPE = "registry.data.strings", "registry.data.type"
SPEC = FieldTarget("Details", STRINGS, "registry_data", (STRINGS, TYPE), (("to", [STRINGS, TYPE]),))


def _holds(node: Node, row: dict[str, str]) -> bool:
    if isinstance(node, Const):
        return node.value
    if isinstance(node, Group):
        results = [_holds(c, row) for c in node.children]
        return all(results) if node.conjunction else any(results)
    assert isinstance(node, Leaf) and isinstance(node.value, SigmaString)
    text = row.get(node.field)
    cased = type(node.value).__name__ == "SigmaCasedString"
    result = text is not None and glob_matches(to_tokens(node.value), text, cased)
    return result is not node.negated


VALUES = [f"DWORD (0x{n:08x})" for n in (0, 1, 2, 9, 10, 16, 255, 0x6152, 0x7FFFFFFF)] + [
    "1", "0", "0x00000001", "10", "a", "C:\\x.exe", "DWORD (0x1)", "DWORD", "dword (0x00000001)",
    "QWORD", "Binary", "(Empty) ", "x DWORD (0x00000001)"]
PIECES: list[Token] = ["D", "W", "O", "R", " ", "(", "0", "x", "1", "a", ")", MANY, ONE]
GLOBS = ["DWORD (0x00000001)", "*DWORD (0x00000001)*", "*", "DWORD*", "*1", "*0x*", "1", "*1*",
         "DWORD (0x0000000?)", "*a*", "C:\\*", "*)", "?*", "dword (0x00000000)", "*x*",
         "DWORD (0x000000??)", "0x*", "*.exe"]


def _tokens(glob: str) -> list[Token]:
    return [MANY if c == "*" else ONE if c == "?" else c for c in glob]


def _random_globs(count: int) -> list[list[Token]]:
    rng = random.Random(13)
    return [[rng.choice(PIECES) for _ in range(rng.randint(1, 8))] for _ in range(count)]


@pytest.mark.parametrize("tokens", [_tokens(g) for g in GLOBS] + _random_globs(300), ids=repr)
@pytest.mark.parametrize("cased", [False, True])
def test_query_matches_exactly_what_the_glob_matches(tokens: list[Token], cased: bool) -> None:
    try:
        tree = data_tree(tokens, cased, STRINGS, TYPE)
    except NotExact:
        return  # refused: no query at all, never a loose one
    for value in VALUES:
        for row in expand_alternatives(render_registry_data(value, SPEC)):
            assert _holds(tree, row) == glob_matches(tokens, value, cased), (tokens, value, row)


def test_render_writes_both_dword_spellings_and_both_string_types() -> None:
    rows = expand_alternatives(render_registry_data("DWORD (0x0000000a)", SPEC))
    assert rows == [{STRINGS: "10", TYPE: "REG_DWORD"}, {STRINGS: "0x0000000a", TYPE: "REG_DWORD"}]
    rows = expand_alternatives(render_registry_data("C:\\evil.exe", SPEC))
    assert rows == [{STRINGS: "C:\\evil.exe", TYPE: "REG_SZ"},
                    {STRINGS: "C:\\evil.exe", TYPE: "REG_EXPAND_SZ"}]
    for undocumented in ("(Empty)", "Binary Data", "", "QWORD (0x00000001-0x00000000)",
                         "DWORD (0x80000000)"):
        with pytest.raises(ValueError):
            render_registry_data(undocumented, SPEC)


def test_dword_values_are_found_on_the_template() -> None:
    assert matched_dwords(_tokens("DWORD (0x00000001)"), False) == [1]
    assert matched_dwords(_tokens("*DWORD (0x0000000?)*"), False) == list(range(16))
    assert matched_dwords(_tokens("*.exe"), False) == []
    assert matched_dwords(_tokens("DWORD (*"), False) is None  # every DWORD
    with pytest.raises(NotExact):
        matched_dwords(_tokens("DWORD (0x000000??)"), False)  # 256 values


def test_globs_matching_undocumented_forms_are_refused() -> None:
    for glob in ("(Empty)", "*Empty*", "Binary Data", "*Data", "*", "?*", "QWORD*", "*-0x*",
                 "DWORD (0x8*", "*f)"):
        with pytest.raises(NotExact):
            data_tree(_tokens(glob), False, STRINGS, TYPE)


def test_common_sigma_values() -> None:
    tree: Any = data_tree(_tokens("DWORD (0x00000000)"), False, STRINGS, TYPE)
    assert _holds(tree, {STRINGS: "0", TYPE: "REG_DWORD"})
    assert _holds(tree, {STRINGS: "0x00000000", TYPE: "REG_DWORD"})
    assert not _holds(tree, {STRINGS: "0", TYPE: "REG_SZ"})
    tree = data_tree(_tokens("*\\AppData\\*"), False, STRINGS, TYPE)
    assert _holds(tree, {STRINGS: "C:\\Users\\u\\AppData\\x.exe", TYPE: "REG_EXPAND_SZ"})
    assert not _holds(tree, {STRINGS: "C:\\Users\\u\\AppData\\x.exe", TYPE: "REG_BINARY"})


def test_every_rendering_inverts_to_the_sysmon_text() -> None:
    from converter.mapping.functions.registry_data import invert_registry_data

    for value in VALUES:
        for row in expand_alternatives(render_registry_data(value, SPEC)):
            assert invert_registry_data(row[STRINGS], row[TYPE]) == value, row
    assert invert_registry_data(["a", "b"], "REG_MULTI_SZ") is None
    assert invert_registry_data("1", "REG_QWORD") is None
    assert invert_registry_data("2147483648", "REG_DWORD") is None
