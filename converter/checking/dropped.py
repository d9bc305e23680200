"""Events whose disagreement is the approximation the pipeline declared for deleted values.

Some data sources cannot tell a value from its absence: the Windows integration and Winlogbeat
delete ``""``, ``"-"`` and the all-zero GUID before indexing, and a Kusto string column reads
``""`` where the value is missing (``sources.<data source>.drop_values`` of the mapping tables).
A Sigma test that answers differently on such a value and on a missing field (``X: ''``,
``X: null``, ``X|exists``) has no exact query there; ``DroppedValueCheck`` converts it with a
warning and lists the field in ``Conversion.dropped``.

On such a field an event disagreeing with the reference may show exactly that declared
difference: the data source writes it as the same row as another Sigma event (the field missing,
or holding another deleted value) that the rule decides the other way, and the query cannot
answer both. ``check`` then reports the target "not proven" with the declared reason, never
"differs" (nor "equivalent"). Only an event whose rendering is unchanged by the swap, and whose
swapped event the reference decides as the target did, counts; any other disagreement is still a
"differs".

A shipper that trims a value's edges (``Conversion.trimmed``, ``functions/trim.py``) writes an
event just as it writes the same event with that value trimmed: the trimmed twin is tried first,
under the same two conditions. One that writes every ``\r\n`` as ``\n``
(``sources.<data source>.line_endings``, ``converter/mapping/line_endings.py``) writes an event as
its twin with those line endings rewritten, tried next. A JSON null is written as a missing
field by every data source, with or without a declaration.

``check`` and ``backtest`` classify a disagreeing event with the same function
(``declared_twin``, asked whenever the reference and the target disagree) and word the verdict
with the same ``declared_reason``: the two commands describe one event alike.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import product
from typing import Any, Callable, Iterator, Mapping, Sequence

from converter.events.render import EventRenderer, SampleEvent
from converter.mapping.table import rewrite_line_endings

#: At most this many swapped events are tried per event (each declared field present on the
#: event multiplies them by its number of spellings): a rule rarely has more than two such fields.
MAX_TWINS = 256

#: A Sigma field that is absent from the event.
_MISSING = object()


#: Why an event showing only the declared difference is no disagreement.
WRITTEN_ALIKE = (
    "the data source writes such an event as it writes one with that value missing (a null, a "
    "deleted value) or rewritten (trimmed, its line endings), which the rule decides the other way"
)


def declared_reason(approximate: Sequence[str], shown: str, detail: str) -> str:
    """The "not proven" reason of a target whose only disagreements are declared differences
    (``declared_twin``), worded alike by ``check`` and ``backtest``: ``approximate`` are the
    emitter's declared approximations (none for a JSON null), ``shown`` names the events and
    ``detail`` follows."""
    said = (
        "the emitter declared its output approximate (" + "; ".join(approximate) + "), and "
        if approximate else ""
    )
    return f"not proven: {said}{shown} show that difference{detail}"


def twins(fields: Mapping[str, Any], dropped: Mapping[str, Sequence[str]]) -> Iterator[dict[str, Any]]:
    """The events that differ from ``fields`` only by a declared field's deleted value: each
    field of ``dropped`` that is missing or holds one of its deleted values may be missing or hold
    any of them. ``fields`` itself is not among them; nothing when there are over MAX_TWINS."""
    choices: list[tuple[str, list[Any]]] = []
    for name, values in dropped.items():
        current = fields.get(name, _MISSING)
        if current is not _MISSING and not (isinstance(current, str) and current in values):
            continue  # a value the data source keeps: it writes this event apart from the others
        choices.append((name, [_MISSING, *values]))
    count = 1
    for _, options in choices:
        count *= len(options)
    if not choices or count > MAX_TWINS:
        return
    for picked in product(*(options for _, options in choices)):
        twin = dict(fields)
        for (name, _), value in zip(choices, picked):
            if value is _MISSING:
                twin.pop(name, None)
            else:
                twin[name] = value
        if twin != dict(fields):
            yield twin


def trimmed_twin(fields: Mapping[str, Any], trimmed: Sequence[str]) -> dict[str, Any] | None:
    """``fields`` with the string values of the ``trimmed`` fields trimmed as Java's
    ``String.trim()`` does; None when that changes nothing."""
    from converter.mapping.functions.trim import java_trim

    def trim(value: Any) -> Any:
        if isinstance(value, str):
            return java_trim(value)
        if isinstance(value, list):
            return [trim(v) for v in value]
        return value

    twin = {k: trim(v) if k in trimmed else v for k, v in fields.items()}
    return twin if twin != dict(fields) else None


def without_nulls(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` with every JSON null left out, at the top and inside objects and arrays: a
    key holding null is dropped, as is an array that held only nulls (no value is left to
    write); other values are kept as they are."""

    def strip(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: strip(v) for k, v in value.items() if not _only_nulls(v)}
        if isinstance(value, list):
            return [strip(v) for v in value if not _only_nulls(v)]
        return value

    return {k: strip(v) for k, v in fields.items() if not _only_nulls(v)}


def _only_nulls(value: Any) -> bool:
    """A null, or an array of nulls only (at any depth)."""
    if value is None:
        return True
    return isinstance(value, list) and bool(value) and all(_only_nulls(v) for v in value)


def declared_twin(
    sample: SampleEvent,
    hit: bool,
    dropped: Mapping[str, Sequence[str]],
    renderer: EventRenderer,
    decide: Callable[[dict[str, Any]], bool | None],
    trimmed: Sequence[str] = (),
) -> dict[str, Any] | None:
    """An event the data source writes exactly as ``sample`` (same renderings) on which the
    reference agrees with the target's verdict ``hit``: the disagreement on ``sample`` is then the
    declared difference (a deleted value, or a trimmed edge). None when there is none (a real
    disagreement).

    ``renderer`` is the one that renders the rule's logsource; ``decide`` is the reference's
    verdict on a Sigma event (None when it cannot decide)."""
    crlf = renderer.crlf_to_lf
    unnulled = without_nulls(sample.fields)
    nulls = unnulled != sample.fields
    if not (dropped or trimmed or crlf or nulls) or (
        sample.native and renderer.table.schema in sample.native
    ):
        return None  # an event given in the target's schema is not rendered from its fields
    rendered = renderer.render_sample_all(sample)
    trim = trimmed_twin(sample.fields, trimmed) if trimmed else None
    candidates = [trim] if trim is not None else []
    if nulls:
        # A JSON null is written as a missing field (no record holds it; Elasticsearch indexes
        # no null), while Sigma's ``exists`` counts a null key as present; so is one inside an
        # object or an array (``without_nulls``).
        candidates.append(unnulled)
    if crlf:
        # The shipper writes \r\n as \n (``LineEndingCheck`` declared every test that tells them
        # apart); the System section's fields keep theirs and are left as they are.
        lf = {k: v if k in renderer.drop_exempt else rewrite_line_endings(v)
              for k, v in sample.fields.items()}
        if lf != dict(sample.fields):
            candidates.append(lf)
    for fields in [*candidates, *twins(sample.fields, dropped)]:
        # The data source must write both alike: a value it keeps (a field read from the
        # record's System section, ``drop_exempt``) or renders otherwise is told apart.
        if renderer.render_sample_all(replace(sample, fields=fields)) != rendered:
            continue
        if decide(fields) is hit:
            return fields
    return None
