"""``registry_value_path``: Sysmon's ``TargetObject`` of a value event as the two columns of the
ASIM Registry Event schema (``RegistryKey``, ``RegistryValue``), both directions.

Render (what the ASIM Sysmon registry parser writes; Azure/Azure-Sentinel
Parsers/ASimRegistry, ``vimRegistryEventMicrosoftSysmon``): the prefix before the first backslash
is looked up in the parser's ``Hives`` table (``HKLM`` -> ``HKEY_LOCAL_MACHINE``, ``HKU`` ->
``HKEY_USERS``, ``HKCR`` -> ``HKEY_LOCAL_MACHINE\\Classes``; the ASIM schema's "Root keys" table
names the first two), the rest is appended after a backslash, and for a value event
(``RegistryValueSet``) ``extract_all(@"^(.+)\\\\(.+)$", Key)`` splits the result at its last
backslash: the key before it, the value name after it. A value outside that domain (another
prefix, which the parser's lookup would turn into an empty hive; no value name) is one Sysmon does
not write: rendering it raises ``ValueError``, so ``check`` lists the event as not rendered.

Query: a Sigma glob P on ``TargetObject`` = ``H\\R`` becomes, per hive, a glob on ``H'\\R`` (``H'``
the normalised hive), then the OR over the cuts where that glob meets the single separator
between key and value name (``_cuts``). A glob that starts with a literal is translated per hive
it can start; a glob that starts with ``*`` is kept when its first literal run cannot begin inside
a hive name in either spelling (nor at the ``\\Classes`` the parser inserts for ``HKCR``);
anything else is refused as not exact (``NotExact``).
"""

from __future__ import annotations

import re
from typing import Any

from sigma.rule import SigmaDetectionItem
from sigma.types import (
    SigmaCasedString,
    SigmaExists,
    SigmaNull,
    SigmaString,
    SigmaType,
)

from converter.mapping.functions.registry_hive import hive_globs
from converter.mapping.functions.render import scalar_string
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
    negate,
    make_string,
    or_,
    rewrite,
    to_tokens,
)
from converter.mapping.table import FieldTarget

#: The parser's ``Hives`` lookup (case-sensitive, as a Kusto lookup on a string key is).
HIVES = {"HKLM": "HKEY_LOCAL_MACHINE", "HKU": "HKEY_USERS", "HKCR": "HKEY_LOCAL_MACHINE\\Classes"}
_VALUE_PATH = re.compile(r"^(HKLM|HKU|HKCR)\\(.+)$", re.DOTALL)


def render_registry_value_path(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """``HKLM\\...\\Key\\Name`` -> ``{RegistryKey: HKEY_LOCAL_MACHINE\\...\\Key, RegistryValue:
    Name}`` (targets in that order), as the parser writes a value event."""
    text = scalar_string(value, spec)
    if text is None:
        return {}
    key, sep, name = _normalised_path(text, spec).rpartition("\\")
    if not name:
        raise ValueError(f"{spec.sigma}: {text!r} has no value name after its last backslash")
    key_target, name_target = spec.targets
    return {key_target: key, name_target: name}


def _normalised_path(text: str, spec: FieldTarget) -> str:
    """``H\\R`` -> ``H'\\R`` with the parser's hive ``H'``; ValueError outside that domain."""
    match = _VALUE_PATH.match(text)
    if match is None:
        raise ValueError(
            f"{spec.sigma}: {text!r} does not start with HKLM\\, HKU\\ or HKCR\\ (the hives "
            "Sysmon writes and the ASIM parser normalises)"
        )
    hive, rest = match.groups()
    if hive == "HKLM" and rest.lower().split("\\", 1)[0] == "classes":
        raise ValueError(
            f"{spec.sigma}: {text!r}: HKLM has no Classes key (Sysmon reports HKCR), and the "
            "parser writes HKCR's keys as HKEY_LOCAL_MACHINE\\Classes"
        )
    return HIVES[hive] + "\\" + rest


def query_registry_value_path(
    item: SigmaDetectionItem, spec: FieldTarget, prefix: str
) -> QueryResult:
    """A Sigma test on ``TargetObject`` as tests on the key and value-name columns."""
    if len(spec.targets) != 2:
        raise NotExact("registry_value_path needs two targets (key, value name)")
    key, name = (prefix + t for t in spec.targets)

    def handle(value: SigmaType) -> Node:
        if isinstance(value, SigmaNull) or (isinstance(value, SigmaExists) and not value.exists):
            return and_(Leaf(key, value), Leaf(name, value))
        if isinstance(value, SigmaExists):
            return Leaf(key, value)
        if isinstance(value, SigmaString):
            return value_path_tree(to_tokens(value), isinstance(value, SigmaCasedString), key, name)
        raise NotExact(f"{describe(value)} cannot be tested on a key split from its value name")

    return rewrite(item, spec, prefix, handle)


def value_path_tree(tokens: list[Token], cased: bool, key: str, name: str) -> Node:
    """The Sigma glob ``tokens`` on Sysmon's ``TargetObject`` as a tree of tests on the key and
    value-name columns; raises ``NotExact`` where no exact tree exists."""
    alternatives = []
    for glob, hklm in _normalised(tokens, cased):
        node = _cuts(glob, cased, key, name)
        alternatives.append(and_(node, _not_classes(key)) if hklm else node)
    return or_(*alternatives)


def _not_classes(key: str) -> Node:
    """HKCR's keys are written under HKEY_LOCAL_MACHINE\\Classes: a glob rewritten for HKLM's
    keys must leave them out (the renderer refuses HKLM\\Classes, which Sysmon never reports)."""
    classes = [HIVES["HKCR"], HIVES["HKCR"] + "\\"]
    return negate(or_(Leaf(key, make_string(list(classes[0]))),
                      Leaf(key, make_string([*classes[1], MANY]))))


def _normalised(tokens: list[Token], cased: bool) -> list[tuple[list[Token], bool]]:
    """Globs on ``H'\\R`` that together match exactly the values ``H\\R`` the glob matches, each
    with whether it was rewritten for HKLM (whose prefix HKCR's keys share)."""
    spellings = {hive: [long] for hive, long in HIVES.items()}
    return [(glob, hive == "HKLM") for hive, glob in hive_globs(tokens, cased, spellings)]


def _cuts(tokens: list[Token], cased: bool, key: str, name: str) -> Node:
    """Glob on ``K\\N`` (N not empty and backslash-free, K not empty) as tests on K and N: the
    separator is met by the glob's last literal backslash or by a wildcard after it."""
    literal = [i for i, t in enumerate(tokens) if t == "\\"]
    first = literal[-1] if literal else -1
    alternatives: list[Node] = []
    for i in range(max(first, 0), len(tokens)):
        token = tokens[i]
        if i == first:
            left, right = tokens[:i], tokens[i + 1:]
        elif token is MANY:
            left, right = tokens[: i + 1], tokens[i:]
        elif token is ONE:
            left, right = tokens[:i], tokens[i + 1:]
        else:
            continue
        if not left or not right:
            continue  # neither the key nor the value name is ever empty
        tests = [Leaf(target, make_string(part, cased))
                 for target, part in ((key, left), (name, right))
                 if not all(t is MANY for t in part)]
        alternatives.append(and_(*tests) if tests else Leaf(key, SigmaExists(True)))
    return or_(*alternatives)


# ---------------------------------------------------------------------------------------------
# registry_key_path: a key event's TargetObject whole, a value event's split (imRegistry, 12-13)


def _split_rule(spec: FieldTarget) -> tuple[str, str, tuple[str, ...]]:
    """The ``split: {field, column, values}`` parameter: the source field whose value decides
    the shape, the target column that holds that value, and the values that mean "split"."""
    split = spec.param("split") or {}
    values = split.get("values")
    if not isinstance(split.get("field"), str) or not isinstance(split.get("column"), str) or not (
        isinstance(values, list) and values and all(isinstance(v, str) for v in values)
    ):
        raise ValueError(f"{spec.sigma}: registry_key_path needs split: {{field, column, values}}")
    return split["field"], split["column"], tuple(values)


def render_registry_key_path(value: Any, spec: FieldTarget, event: dict[str, Any]) -> dict[str, Any]:
    """The hive normalised; split into key and value name when the event's ``split.field`` is
    one of ``split.values`` exactly (the parser's case-sensitive ``lookup`` of Sysmon's EventType
    followed by ``iff(EventType in ("RegistryValueSet", "RegistryValueDeleted"), ...)``), else the
    whole path in the key column."""
    field, _, values = _split_rule(spec)
    if event.get(field) in values:
        return render_registry_value_path(value, spec)
    text = scalar_string(value, spec)
    return {} if text is None else {spec.targets[0]: _normalised_path(text, spec)}


def query_registry_key_path(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """A Sigma test on ``TargetObject`` as the OR of its two shapes, each guarded by the column
    that tells them apart: ``column in values`` and the split test, or not and the whole test."""
    if len(spec.targets) != 2:
        raise NotExact("registry_key_path needs two targets (key, value name)")
    key, name = (prefix + t for t in spec.targets)
    try:
        _, column, values = _split_rule(spec)
    except ValueError as error:
        raise NotExact(str(error)) from None
    guard = or_(*[Leaf(prefix + column, make_string(list(v), cased=True)) for v in values])

    def handle(value: SigmaType) -> Node:
        if isinstance(value, (SigmaNull, SigmaExists)):
            return Leaf(key, value)  # the key column is set in both shapes whenever the path is
        if isinstance(value, SigmaString):
            tokens, cased = to_tokens(value), isinstance(value, SigmaCasedString)
            return or_(and_(guard, value_path_tree(tokens, cased, key, name)),
                       and_(negate(guard), whole_path_tree(tokens, cased, key)))
        raise NotExact(f"{describe(value)} cannot be tested on a registry path")

    return rewrite(item, spec, prefix, handle)


def whole_path_tree(tokens: list[Token], cased: bool, key: str) -> Node:
    """The Sigma glob on ``TargetObject`` as tests on the key column holding the whole path with
    its hive normalised."""
    alternatives = []
    for glob, hklm in _normalised(tokens, cased):
        node: Node = Leaf(key, make_string(glob, cased))
        alternatives.append(and_(node, _not_classes(key)) if hklm else node)
    return or_(*alternatives)
