"""``registry_value_path`` (ASIM Registry Event, Sysmon parser): the query side matches exactly the
``TargetObject`` values the Sigma glob matches, on the key / value-name pair the render side
writes, for every glob it does not refuse (checked exhaustively on small alphabets)."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
from sigma.types import SigmaExists, SigmaString

from converter.mapping.functions.registry_path import (
    HIVES,
    render_registry_value_path,
    value_path_tree,
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


class _Spec:
    """The two attributes the render side reads of a FieldTarget."""

    sigma = "TargetObject"
    function = "registry_value_path"
    targets = ("RegistryKey", "RegistryValue")


SPEC: Any = _Spec()


def _holds(node: Node, row: dict[str, str]) -> bool:
    if isinstance(node, Const):
        return node.value
    if isinstance(node, Group):
        results = [_holds(c, row) for c in node.children]
        return all(results) if node.conjunction else any(results)
    assert isinstance(node, Leaf)
    text = row.get(node.field)
    if isinstance(node.value, SigmaExists):
        result = (text is not None) is node.value.exists
    else:
        assert isinstance(node.value, SigmaString)
        result = text is not None and glob_matches(to_tokens(node.value), text, False)
    return result is not node.negated


def _values() -> list[str]:
    parts = ["a", "M", "Classes", "LM", "_"]
    rests = set()
    for n in (1, 2, 3):
        for combo in itertools.product(parts, repeat=n):
            rests.add("\\".join(combo))
    return sorted(h + "\\" + r for h in HIVES for r in rests)


VALUES = _values()
ALPHABET: list[Token] = ["H", "K", "L", "M", "\\", "a", "C", "_", MANY, ONE]
GLOBS = ["HKLM\\*", "HKLM\\a\\*", "*\\a", "*\\a\\*", "*a*", "HKCR\\*\\M", "*\\Classes\\*",
         "HKU\\?\\a", "*\\M", "*", "HK*", "*LM\\a", "hklm\\a\\m", "*_*", "HKLM\\*a*"]


def _random_globs(count: int) -> list[list[Token]]:
    rng = random.Random(15)
    return [[rng.choice(ALPHABET) for _ in range(rng.randint(1, 7))] for _ in range(count)]


def _tokens(glob: str) -> list[Token]:
    return [MANY if c == "*" else ONE if c == "?" else c for c in glob]


@pytest.mark.parametrize("tokens", [_tokens(g) for g in GLOBS] + _random_globs(400), ids=repr)
def test_query_matches_exactly_what_the_glob_matches(tokens: list[Token]) -> None:
    try:
        tree = value_path_tree(tokens, False, "RegistryKey", "RegistryValue")
    except NotExact:
        return  # refused: no query at all, never a loose one
    for value in VALUES:
        try:
            row = render_registry_value_path(value, SPEC)
        except ValueError:
            continue  # a value Sysmon does not write (HKLM\Classes): no row to ask about
        assert _holds(tree, row) == glob_matches(tokens, value, False), (tokens, value, row)


def test_render_is_the_parsers_split() -> None:
    assert render_registry_value_path("HKLM\\SOFTWARE\\Run\\evil", SPEC) == {
        "RegistryKey": "HKEY_LOCAL_MACHINE\\SOFTWARE\\Run", "RegistryValue": "evil"}
    assert render_registry_value_path("HKCR\\x", SPEC) == {
        "RegistryKey": "HKEY_LOCAL_MACHINE\\Classes", "RegistryValue": "x"}
    for bad in ("hklm\\x\\y", "HKCU\\x\\y", "HKLM\\x\\", "HKLM", "HKLM\\Classes\\x"):
        with pytest.raises(ValueError):
            render_registry_value_path(bad, SPEC)


def test_globs_spanning_the_hive_are_refused() -> None:
    for glob in ("HK*", "*LM\\a", "?KLM\\a", "**a"):
        with pytest.raises(NotExact):
            value_path_tree(_tokens(glob), False, "k", "v")


# --- registry_key_path: a key event's path whole, a value event's split ------------------------

KEY_SPEC = FieldTarget(
    "TargetObject", "RegistryKey", "registry_key_path", ("RegistryKey", "RegistryValue"),
    (("split", {"field": "EventType", "column": "EventOriginalSubType",
                "values": ["SetValue", "DeleteValue"]}),),
)
# The parser splits on the exact words only (a case-sensitive lookup); any other EventType, or
# none, leaves the whole path in RegistryKey.
EVENT_TYPES = ["SetValue", "DeleteValue", "CreateKey", "DeleteKey", "setvalue", None]


@pytest.mark.parametrize(
    "pattern",
    ["HKLM\\a\\*", "*\\a", "*\\a\\M", "HKCR\\*", "HKU\\a\\M", "*\\Classes\\*", "*\\M\\*", "*",
     "HKLM\\?\\a", "*_\\a"],
)
def test_key_path_query_matches_the_glob_on_both_shapes(pattern: str) -> None:
    """The query, evaluated on what the render side writes for each EventType, agrees with the
    Sigma glob on TargetObject (the guard column holds the event's EventType as written)."""
    from test_functions import evaluate, item_of, sigma_rule

    from converter.mapping.functions.registry_path import (
        query_registry_key_path,
        render_registry_key_path,
    )

    item = item_of(sigma_rule("TargetObject", pattern))
    query = query_registry_key_path(item, KEY_SPEC, "")
    for value in VALUES:
        for event_type in EVENT_TYPES:
            event = {"TargetObject": value, **({"EventType": event_type} if event_type else {})}
            try:
                row = render_registry_key_path(value, KEY_SPEC, event)
            except ValueError:
                continue  # a value Sysmon does not write
            if event_type:
                row["EventOriginalSubType"] = event_type
            expected = evaluate(item, event, sigma=True)
            assert evaluate(query, row) == expected, (pattern, value, event_type, row)


def test_key_path_render_splits_value_events_only() -> None:
    from converter.mapping.functions.registry_path import render_registry_key_path

    path = "HKLM\\SOFTWARE\\Run\\evil"
    split = {"RegistryKey": "HKEY_LOCAL_MACHINE\\SOFTWARE\\Run", "RegistryValue": "evil"}
    whole = {"RegistryKey": "HKEY_LOCAL_MACHINE\\SOFTWARE\\Run\\evil"}
    assert render_registry_key_path(path, KEY_SPEC, {"EventType": "SetValue"}) == split
    assert render_registry_key_path(path, KEY_SPEC, {"EventType": "DeleteValue"}) == split
    assert render_registry_key_path(path, KEY_SPEC, {"EventType": "CreateKey"}) == whole
    assert render_registry_key_path(path, KEY_SPEC, {"EventType": "setvalue"}) == whole
    assert render_registry_key_path(path, KEY_SPEC, {}) == whole
    with pytest.raises(ValueError):
        render_registry_key_path("HKCU\\x", KEY_SPEC, {"EventType": "CreateKey"})


def test_key_path_refuses_what_the_value_path_refuses() -> None:
    from sigma.exceptions import SigmaTransformationError
    from test_functions import item_of, sigma_rule

    from converter.mapping.functions.registry_path import query_registry_key_path

    for pattern in ("*Classes*", "HK*", "*LM\\a"):
        with pytest.raises(SigmaTransformationError):
            query_registry_key_path(item_of(sigma_rule("TargetObject", pattern)), KEY_SPEC, "")
