"""Mapping an imported Elastic query back to Sigma taxonomy: ``to_taxonomy`` rewrites the tree
into the Sigma fields of an ``ecs-windows`` logsource when the inversion is exact, and
``ecs_logsource`` names the logsource of a rule that keeps ECS field names otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from backends.query import ast

from converter.mapping.loader import companion_tables, load_table
from converter.mapping.table import DERIVED_SEPARATORS, LogsourceMapping

#: The mapping table whose logsources imported rules may be mapped back to, with the tables
#: that extend it (``ecs-linux``, ``ecs-macos``, ...: their logsources join its pipeline).
TABLE = "ecs-windows"
#: The data source whose field names the inversion uses (Elastic Defend: the detection rules'
#: primary source, and the one the renderer writes by default).
DATA_SOURCE = "defend"
#: Prefix of the custom logsource category of rules that keep ECS field names: a reader sees at
#: once that the fields are not Sigma taxonomy (``ecs_process``, ``ecs_registry``, ...).
ECS_CATEGORY_PREFIX = "ecs_"
#: Category when the query names no single ECS event category (``any where``, KQL without one).
ECS_ANY_CATEGORY = "ecs_event"


def _conjuncts(node: ast.Node) -> list[ast.Node]:
    if isinstance(node, ast.And):
        out: list[ast.Node] = []
        for child in node.children:
            out.extend(_conjuncts(child))
        return out
    return [node]


def _and(children: list[ast.Node]) -> ast.Node:
    return children[0] if len(children) == 1 else ast.And(tuple(children))


def _cased_constant(node: ast.Node) -> tuple[str, Any] | None:
    """``(field, value)`` of a case-sensitive whole-value string equality, else None."""
    if isinstance(node, ast.Equals) and node.case_sensitive and not node.lowercase_value:
        return node.field, node.value
    if (
        isinstance(node, ast.Glob)
        and node.case_sensitive
        and not node.lowercase_value
        and len(node.parts) == 1
        and isinstance(node.parts[0], str)
    ):
        return node.field, node.parts[0]
    return None


@dataclass(frozen=True)
class Logsource:
    """The Sigma logsource of an imported rule and whether its fields are taxonomy names."""

    product: str | None
    category: str
    taxonomy: bool
    definition: str | None = None
    #: The table entry the rule was mapped to (None for ECS names): its ``events`` say which
    #: Sigma-side records the round trip renders.
    entry: LogsourceMapping | None = None

    def to_yaml(self) -> dict[str, str]:
        """The ``logsource`` mapping of the Sigma rule."""
        out: dict[str, str] = {"category": self.category}
        if self.product:
            out["product"] = self.product
        if self.definition:
            out["definition"] = self.definition
        return out


def to_taxonomy(tree: ast.Node) -> tuple[Logsource, ast.Node] | None:
    """Rewrite the tree into Sigma taxonomy fields of an ``ecs-windows`` logsource, if exact.

    The query must AND together exactly the constants that the table's pipeline adds for the
    logsource (its ``conditions`` and ``event.category`` from ``eql_category``, as case-sensitive
    equalities); every other leaf's field must be a plain rename of a Sigma field, or a
    ``basename`` derivation written as a literal file name (``process.name : "x.exe"`` is
    ``Image|endswith: '\\x.exe'``, the inverse of the pipeline's own rewrite), or a ``to_integer``
    field compared with a number. Anything else returns None: the rule keeps ECS names.
    """
    conjuncts = _conjuncts(tree)
    constants: dict[str, list[Any]] = {}
    for item in conjuncts:
        pair = _cased_constant(item)
        if pair is not None:
            constants.setdefault(pair[0], []).append(pair[1])
    for entry, source in _entries():
        wanted = dict(entry.conditions)
        if entry.eql_category:
            wanted["event.category"] = entry.eql_category
        if not wanted or any(constants.get(k) != [v] for k, v in wanted.items()):
            continue
        rest = [c for c in conjuncts if (_cased_constant(c) or (None, None))[0] not in wanted]
        if not rest:
            continue
        targets = entry.field_targets(source)
        renames = {t.target: name for name, t in targets.items() if t.function is None}
        integers = {t.target: name for name, t in targets.items() if t.function == "to_integer"}
        # Both base-name functions, each with its path separator (``basename``: ``\\`` of
        # Windows paths, ``path_basename``: ``/`` of Linux and macOS paths).
        basenames = {
            d.target: (d.source, DERIVED_SEPARATORS[d.function])
            for d in entry.derived_for(source)
            if d.function in DERIVED_SEPARATORS
        }
        try:
            mapped = _rename(_and(rest), renames, integers, basenames)
        except KeyError:
            continue
        product, category = entry.match.get("product"), entry.match.get("category")
        if category is None:
            continue
        return Logsource(product, category, True, entry=entry), mapped
    return None


def _entries() -> list[tuple[LogsourceMapping, str | None]]:
    """``(entry, data source)`` of TABLE's logsources and of the tables extending it: DATA_SOURCE
    where a table offers it, else the table's own default (as a target's pipeline covers them)."""
    out: list[tuple[LogsourceMapping, str | None]] = []
    for name in (TABLE, *companion_tables(TABLE)):
        table = load_table(name)
        choices = table.options.get("data_source", {}).get("choices") or []
        source = DATA_SOURCE if DATA_SOURCE in choices else table.option_default("data_source")
        out.extend((entry, source) for entry in table.entries_for(source))
    return out


def _rename(
    node: ast.Node,
    renames: dict[str, str],
    integers: dict[str, str],
    basenames: dict[str, tuple[str, str]],
) -> ast.Node:
    """Rename every leaf's field to Sigma taxonomy; ``KeyError`` when one has no exact inverse."""
    if isinstance(node, (ast.And, ast.Or)):
        return type(node)(tuple(_rename(c, renames, integers, basenames) for c in node.children))
    if isinstance(node, ast.Not):
        return ast.Not(_rename(node.child, renames, integers, basenames))
    assert isinstance(node, ast.Leaf)
    if node.field in renames:
        return replace(node, field=renames[node.field])
    if node.field in integers and isinstance(node, (ast.Equals, ast.Compare)):
        if isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return replace(node, field=integers[node.field])
    if node.field in basenames:
        sigma, separator = basenames[node.field]
        # No Exists inversion: a path ending in the separator has an empty base name, which
        # the shipper does not write, so `process.name != null` is not `Image` being present.
        literal = None
        if isinstance(node, ast.Equals) and isinstance(node.value, str):
            literal, cased = node.value, node.case_sensitive and not node.lowercase_value
        elif isinstance(node, ast.Glob) and all(isinstance(p, str) for p in node.parts):
            literal, cased = "".join(node.parts), node.case_sensitive and not node.lowercase_value  # type: ignore[arg-type]
        # A wildcard could span a separator and a separator is no part of a file name: only a
        # literal file name has an exact path-suffix form.
        if literal and separator not in literal:
            return ast.Glob(field=sigma, parts=(ast.Wildcard.ANY, separator + literal), case_sensitive=cased)
    raise KeyError(node.field)


def ecs_logsource(tree: ast.Node, os_tag: str | None) -> Logsource:
    """The logsource of a rule that keeps ECS field names.

    ``product`` is the ``host.os.type`` the query requires (else the rule's ``OS:`` tag);
    ``category`` is ``ecs_<event.category>`` when the query requires one category, else
    ``ecs_event``. The fields stay ECS names and the detection keeps every condition, so the
    rule converts with sigport's ECS pass-through and means the same as the original query.
    """
    constants: dict[str, list[Any]] = {}
    for item in _conjuncts(tree):
        pair = _cased_constant(item)
        if pair is not None:
            constants.setdefault(pair[0], []).append(pair[1])
    product = None
    if len(constants.get("host.os.type", [])) == 1:
        product = str(constants["host.os.type"][0]).lower()
    elif os_tag:
        product = os_tag.lower()
    categories = constants.get("event.category", [])
    category = (
        ECS_CATEGORY_PREFIX + str(categories[0]) if len(categories) == 1 else ECS_ANY_CATEGORY
    )
    return Logsource(
        product,
        category,
        False,
        "ECS field names (Elastic Common Schema), not Sigma taxonomy; the detection holds every "
        "condition of the original Elastic query",
    )
