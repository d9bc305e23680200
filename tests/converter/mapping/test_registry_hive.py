"""``registry_hive`` (Elastic Defend's ``registry.path``): the query side matches exactly the
``TargetObject`` values the Sigma glob matches, in every hive spelling the render side writes,
for every glob it does not refuse (checked exhaustively on small alphabets, with hostile globs
that span or imitate the hive names)."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
from sigma.types import SigmaExists, SigmaString

from converter.mapping.functions.registry_hive import (
    hive_globs,
    query_registry_hive,
    render_registry_hive,
)
from converter.mapping.functions.render import Alternatives
from converter.mapping.functions.tree import (
    MANY,
    ONE,
    NotExact,
    Token,
    glob_matches,
)
from converter.mapping.table import FieldTarget

HIVES = {"HKLM": ["HKLM", "\\REGISTRY\\MACHINE"], "HKU": ["HKEY_USERS", "\\REGISTRY\\USER"]}
UNDOCUMENTED = {"HKCR": "the classes root's spelling is undocumented"}
SPEC = FieldTarget(
    "TargetObject", "registry.path", "registry_hive", ("registry.path",),
    (("to", "registry.path"), ("hives", HIVES), ("undocumented", UNDOCUMENTED)),
)


def _values() -> list[str]:
    # Rest parts that imitate hive names and their pieces in either spelling.
    parts = ["a", "M", "USER", "REGISTRY", "LM", "_"]
    rests = set()
    for n in (1, 2, 3):
        for combo in itertools.product(parts, repeat=n):
            rests.add("\\".join(combo))
    return sorted(h + "\\" + r for h in HIVES for r in rests)


VALUES = _values()
ALPHABET: list[Token] = ["H", "K", "L", "M", "U", "R", "E", "\\", "a", "_", MANY, ONE]
GLOBS = ["HKLM\\*", "HKLM\\a\\*", "*\\a", "*\\a\\*", "*a*", "HKU\\*\\M", "*\\USER\\*",
         "HKU\\?\\a", "*\\M", "*", "HK*", "*LM\\a", "hklm\\a\\m", "*_*", "HKLM\\*a*",
         "*\\REGISTRY\\*", "*RY\\*", "HKCU\\a", "*\\M*", "*EY_*", "HKEY_USERS\\*",
         "\\REGISTRY\\MACHINE\\a", "*\\a\\USER", "*HKLM\\a*", "*HKU\\*", "*HKLM\\*\\M",
         "*HKU\\USER\\a"]


def _tokens(glob: str) -> list[Token]:
    return [MANY if c == "*" else ONE if c == "?" else c for c in glob]


def _random_globs(count: int) -> list[list[Token]]:
    rng = random.Random(12)
    return [[rng.choice(ALPHABET) for _ in range(rng.randint(1, 7))] for _ in range(count)]


@pytest.mark.parametrize("tokens", [_tokens(g) for g in GLOBS] + _random_globs(500), ids=repr)
@pytest.mark.parametrize("cased", [False, True])
def test_query_matches_exactly_what_the_glob_matches_in_every_spelling(
    tokens: list[Token], cased: bool
) -> None:
    try:
        globs = hive_globs(tokens, cased, HIVES, UNDOCUMENTED)
    except NotExact:
        return  # refused: no query at all, never a loose one
    for value in VALUES:
        (written,) = render_registry_hive(value, SPEC).values()
        assert isinstance(written, Alternatives) and len(written) == 2
        expected = glob_matches(tokens, value, cased)
        for path in written:
            got = any(glob_matches(g, path, cased) for _, g in globs)
            assert got == expected, (tokens, value, path, globs)


def test_render_writes_every_documented_spelling() -> None:
    (path,) = render_registry_hive("HKLM\\SOFTWARE\\Run\\evil", SPEC).values()
    assert tuple(path) == ("HKLM\\SOFTWARE\\Run\\evil", "\\REGISTRY\\MACHINE\\SOFTWARE\\Run\\evil")
    (path,) = render_registry_hive("HKU\\S-1-5-21\\x", SPEC).values()
    assert tuple(path) == ("HKEY_USERS\\S-1-5-21\\x", "\\REGISTRY\\USER\\S-1-5-21\\x")
    assert render_registry_hive(None, SPEC) == {}
    # HKCR (undocumented), HKCU (Sysmon never writes it), lowercase hives, no hive at all.
    for bad in ("HKCR\\x", "HKCU\\x\\y", "hklm\\x", "HKLM", "\\REGISTRY\\MACHINE\\x", "x"):
        with pytest.raises(ValueError):
            render_registry_hive(bad, SPEC)


def test_hostile_globs_are_refused() -> None:
    for glob in ("HK*", "H?LM\\a", "?KLM\\a", "**a", "*\\REGISTRY\\*", "*\\MACHINE\\x",
                 "*RY\\MACHINE*", "*USERS\\*", "*\\USER\\S-1*", "*CR\\a", "HKCR\\*", "*EY_*"):
        with pytest.raises(NotExact):
            hive_globs(_tokens(glob), False, HIVES, UNDOCUMENTED)


def test_common_sigma_values_translate() -> None:
    def globs(text: str) -> list[str]:
        return ["".join("*" if t is MANY else "?" if t is ONE else str(t) for t in g)
                for _, g in hive_globs(_tokens(text), False, HIVES, UNDOCUMENTED)]

    assert globs("*\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\*") == [
        "*\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\*"]
    assert globs("HKLM\\System\\CurrentControlSet\\Services\\*") == [
        "HKLM\\System\\CurrentControlSet\\Services\\*",
        "\\REGISTRY\\MACHINE\\System\\CurrentControlSet\\Services\\*"]
    assert globs("HKU\\*\\Environment\\windir") == [
        "HKEY_USERS\\*\\Environment\\windir", "\\REGISTRY\\USER\\*\\Environment\\windir"]
    # A hive Sysmon never writes: the value matches nothing there (an empty OR).
    assert globs("HKCU\\Software\\x") == []
    # `*\\User Shell Folders\\*` differs from `\\USER\\` at its sixth character.
    assert globs("*\\User Shell Folders\\*") == ["*\\User Shell Folders\\*"]


def test_query_side_builds_detection_items() -> None:
    from sigma.rule import SigmaDetectionItem

    item = SigmaDetectionItem("TargetObject", [], [SigmaString("HKLM\\SOFTWARE\\x")])
    out: Any = query_registry_hive(item, SPEC, "")
    values = sorted(str(v) for v in out.value)
    assert values == ["HKLM\\SOFTWARE\\x", "\\REGISTRY\\MACHINE\\SOFTWARE\\x"]
    assert out.field == "registry.path"
    exists = SigmaDetectionItem("TargetObject", [], [SigmaExists(True)])
    assert query_registry_hive(exists, SPEC, "").field == "registry.path"  # type: ignore[union-attr]
    regex = SigmaDetectionItem("TargetObject", [], [SigmaString("HKCR\\x")])
    from sigma.exceptions import SigmaTransformationError

    with pytest.raises(SigmaTransformationError, match="HKCR"):
        query_registry_hive(regex, SPEC, "")


def test_every_render_spelling_is_the_query_side_spelling() -> None:
    # The glob of a literal value is one per spelling, each the rendering of that value.
    value = "HKU\\S-1\\Software\\x"
    (written,) = render_registry_hive(value, SPEC).values()
    rewritten = ["".join(str(t) for t in g) for _, g in hive_globs(list(value), True, HIVES)]
    assert sorted(rewritten) == sorted(written)


def test_every_spelling_inverts_to_the_sysmon_value() -> None:
    from converter.mapping.functions.registry_hive import invert_registry_hive

    for value in VALUES:
        (written,) = render_registry_hive(value, SPEC).values()
        assert {invert_registry_hive(path, SPEC) for path in written} == {value}
    assert invert_registry_hive("HKCR\\x", SPEC) is None
    assert invert_registry_hive("\\REGISTRY\\MACHINEX\\y", SPEC) is None


def test_a_hive_after_the_leading_wildcard_is_rewritten_at_the_start() -> None:
    """`contains 'HKLM\\Software\\x'` matches Sysmon values that start with it: on Defend also
    the `\\REGISTRY\\MACHINE\\` spelling, and the text anywhere after the hive."""
    globs = ["".join("*" if t is MANY else "?" if t is ONE else str(t) for t in g)
             for _, g in hive_globs(_tokens("*HKLM\\Software\\x*"), False, HIVES, UNDOCUMENTED)]
    assert globs == ["HKLM\\Software\\x*", "\\REGISTRY\\MACHINE\\Software\\x*",
                     "*HKLM\\Software\\x*"]
    for glob in ("*HKCR\\x*", "*KLM\\x*"):
        with pytest.raises(NotExact):
            hive_globs(_tokens(glob), False, HIVES, UNDOCUMENTED)
