"""What rendering an event of one logsource entry reads besides the event (``EntryPlan``), and
the values an event's route depends on (``criteria_values``): ``EventRenderer``
(``converter.events.render``) computes them once per entry and per event, on the hot path of
the backtest (every event, every target schema)."""

from __future__ import annotations

from typing import Any

from converter.events.unnamed_data import positions
from converter.mapping.table import FieldTarget, LogsourceMapping


def criteria_values(event: dict[str, Any], keys: tuple[str, ...]) -> tuple[str | None, ...]:
    """What ``_event_matches`` compares of each field of ``keys`` (None: absent or null, which
    never matches): the routes of an event depend on these values alone."""
    out: list[str | None] = []
    for name in keys:
        value = event.get(name)
        out.append(None if value is None else str(value).lower() if name == "Channel"
                   else str(value))
    return tuple(out)


#: How ``EventRenderer._render`` writes a field of the event (``EntryPlan.field``): under its
#: mapped name as it is, through its mapping's function, as the record's other named data
#: (``event_data``), or not at all.
PLAIN, FUNCTION, EVENT_DATA, SKIP = "plain", "function", "event_data", "skip"
#: Field names an ``EntryPlan`` remembers how to write (beyond: decided each time).
FIELDS_MEMO = 4096


class EntryPlan:
    """What rendering an event of one logsource entry reads besides the event, for one
    renderer (its data source), computed at the entry's first event: the field table, the
    constants, the fields with a fill when missing, the derived fields' targets."""

    def __init__(self, renderer: Any, entry: LogsourceMapping) -> None:
        from converter.mapping.functions.registry import MISSING_RENDER_FUNCTIONS

        source = renderer.data_source
        self.targets = renderer._targets[entry.id]
        self.dotted = renderer._dotted[entry.id]
        self.arrays = renderer._arrays[entry.id]
        constants = dict(entry.render)
        constants.update(entry.render_by_source.get(source or "", {}) or {})
        self.constants = {renderer._strip(key): value for key, value in constants.items()}
        #: The catch-all is a template (``event_data_text`` writes the value).
        self.template = entry.event_data_template(source) is not None
        #: Sigma field -> how it is written (``field``; at most ``FIELDS_MEMO`` names, beyond
        #: them decided each time).
        self.fields: dict[str, tuple[str, Any, Any]] = {}
        self.missing = [(name, spec, missing) for name, spec in self.targets.items()
                        if (missing := MISSING_RENDER_FUNCTIONS.get(spec.function or ""))
                        is not None]
        self.derived = [(derived, FieldTarget(
            derived.source,
            derived.target if isinstance(derived.target, str) else "",
            derived.function,
            (derived.target,) if isinstance(derived.target, str) else tuple(derived.target.values()),
            (("to", derived.target),),
        )) for derived in entry.derived_for(source, render=True)]
        self.slots = positions(self.targets)

    def field(self, name: str, entry: LogsourceMapping, renderer: Any) -> tuple[str, Any, Any]:
        """How the renderer writes the Sigma field ``name`` of this entry's events: ``(PLAIN,
        key, target)`` (its mapping's target, no function), ``(FUNCTION, None, target)``,
        ``(EVENT_DATA, key, None)`` (no mapping: the catch-all's field) or ``(SKIP, None,
        None)``; a key as the event holds it (a data model's prefix stripped). Remembered for
        at most ``FIELDS_MEMO`` names."""
        target = self.targets.get(name)
        found: tuple[str, Any, Any]
        if target is None:
            data = entry.event_data_target(name, renderer.data_source)
            found = (SKIP, None, None) if data is None else (EVENT_DATA, renderer._strip(data), None)
        elif target.function is None:
            found = (PLAIN, renderer._strip(target.target), target)
        else:
            found = (FUNCTION, None, target)
        if len(self.fields) < FIELDS_MEMO:
            self.fields[name] = found
        return found
