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
        #: Sigma field -> ``event_data_target`` (at most ``MEMO``; beyond, computed each time).
        self.event_data: dict[str, str | None] = {}
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
