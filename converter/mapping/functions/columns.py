"""``value_columns``: a closed vocabulary that a data source records as *which column* is set.

Some normalisers drop a source field and keep its meaning only in where they put other data.
The ASIM Network Session parser for Sysmon event 3 drops ``Initiated`` and fills either the
``Dst*`` or the ``Src*`` process columns, setting ``DstAppType`` or ``SrcAppType`` to
``"Process"`` on that side (Azure/Azure-Sentinel ``Parsers/ASimNetworkSession/Parsers/
vimNetworkSessionMicrosoftSysmon.yaml``: ``DstAppType = iff(Initiated, 'Process', "")``,
``SrcAppType = iff(not(Initiated), 'Process', "")``). The table says so as data::

    Initiated:
      function: value_columns
      to: [DstAppType, SrcAppType]
      values: {'true': {DstAppType: Process}, 'false': {SrcAppType: Process}}

Render side: the marker columns of the Sigma value's entry (matched ignoring case, as
``value_map``: Sysmon writes each value in one case); any other value writes nothing.

Query side: the item is decided with Sigma's semantics on every value of the vocabulary
(``decide_vocabulary``, shared with ``value_map``); the query is the OR of the accepted entries'
markers (each ``column == value``, case-sensitive: the parser writes the constant), OR, when the
item is true on a missing field, "no entry's marker is set". Exact because an event carries the
markers of at most one entry and nothing else writes those columns.
"""

from __future__ import annotations

from typing import Any

from sigma.rule import SigmaDetectionItem

from converter.mapping.functions.render import each
from converter.mapping.functions.tree import FALSE, Node, QueryResult, and_, emit, negate, or_
from converter.mapping.functions.values import Entry, decide_vocabulary, render_vocabulary
from converter.mapping.functions.query import guard_node
from converter.mapping.table import FieldTarget


def value_columns_table(spec: FieldTarget) -> dict[str, dict[str, str]]:
    """The ``values`` parameter: Sigma value -> ``{column: constant}`` markers.

    Raises:
        ValueError: ``values`` is missing or not such a mapping, or names a column outside ``to``.
    """
    table = spec.param("values")
    if not isinstance(table, dict) or not table:
        raise ValueError(f"{spec.sigma}: value_columns needs a non-empty `values` mapping")
    for source, markers in table.items():
        if (
            not isinstance(source, str)
            or not isinstance(markers, dict)
            or not markers
            or not all(isinstance(c, str) and isinstance(v, str) for c, v in markers.items())
            or not set(markers) <= set(spec.targets)
        ):
            raise ValueError(
                f"{spec.sigma}: value_columns maps strings to {{column: string}} with columns "
                f"from `to` (got {source!r}: {markers!r}; quote YAML words such as 'true')"
            )
    return table


def _entries(table: dict[str, dict[str, str]]) -> list[Entry]:
    # One form per entry; the "target" of an entry is its Sigma value (the key of `table`).
    return [((source,), (source,)) for source in table]


def query_value_columns(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """The markers of the Sigma values the item accepts (module docstring)."""
    table = value_columns_table(spec)
    chosen, on_missing = decide_vocabulary(item, spec, prefix, _entries(table))
    present = or_(*[guard_node(table[source], prefix) for (source,), _ in chosen])
    missing: Node = (
        and_(*[negate(guard_node(markers, prefix)) for markers in table.values()])
        if on_missing
        else FALSE
    )
    return emit(or_(present, missing), item, prefix + spec.targets[0])


def render_value_columns(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """The marker columns of the value's entry (case folded); nothing for any other value."""
    table = value_columns_table(spec)
    entries = _entries(table)
    source = each(value, lambda v: render_vocabulary(v, spec, entries))
    if not isinstance(source, str):  # missing, unknown, or a list (Sysmon writes one value)
        return {}
    return dict(table[source])


def chosen_by(spec: FieldTarget, event: dict[str, Any]) -> str | None:
    """The target of an ``any_of`` entry with parameter ``by`` for this source event.

    ``by: {field: Initiated, targets: {'true': DstProcessName, 'false': SrcProcessName}}``: the
    normaliser writes the value to the target the event's ``field`` names (matched ignoring case,
    as ``value_columns`` renders it, or exactly with ``cased: true``); None (the value is written
    nowhere) for any other value or a missing ``field``. Without ``by``: None as well (the caller keeps its default).
    """
    by = spec.param("by")
    if not by:
        return None
    targets = by.get("targets") or {}
    if by.get("cased"):  # compared as written (a Kusto `lookup` on a string key)
        value = event.get(by.get("field"))
        return targets.get(value) if isinstance(value, str) else None
    entries: list[Entry] = [((source,), (source,)) for source in targets]
    source = render_vocabulary(event.get(by.get("field")), spec, entries)
    return targets.get(source) if source is not None else None
