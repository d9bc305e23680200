"""The ``_raw`` of a Windows event log record whose values are unnamed ``<Data>`` elements.

A table entry maps such values with the function ``xml_unnamed_data`` (its ``position`` among the
record's ``<Data>`` elements; ``converter/mapping/functions/unnamed_data.py``), whose query is a
regular expression of ``_raw``. The renderer writes that ``_raw`` here, as Windows renders the
record in XML: ``<System>`` (the fields the caller passes), then ``<EventData>`` with one ``<Data>``
per position up to the last mapped one, the value's XML text (``&``, ``<``, ``>`` as entities) where
the Sigma event holds it and an empty element elsewhere (a classic event source writes every
insertion string of its message, possibly empty).
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

FUNCTION = "xml_unnamed_data"


def positions(targets: dict[str, Any]) -> dict[int, str]:
    """Position -> Sigma field, for the entry's fields mapped through ``xml_unnamed_data``."""
    return {
        int(spec.param("position")): name
        for name, spec in targets.items()
        if spec.function == FUNCTION
    }


def unnamed_data_raw(event: dict[str, Any], slots: dict[int, str], system: dict[str, Any]) -> str:
    """The XML record's text with the event's values in their ``<Data>`` positions.

    Raises:
        ValueError: a positional value is a list, a boolean or a non-integer number: an insertion
            string is one text, which such a Sigma value is not (the checker then does not ask
            the query about the event).
    """
    data = []
    for position in range(1, max(slots) + 1):
        value = event.get(slots.get(position, ""), "") if position in slots else ""
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValueError(
                f"{slots[position]} is an insertion string of the record (one text), and this "
                f"event holds {type(value).__name__} {value!r}"
            )
        data.append(f"<Data>{escape(str(value))}</Data>")
    head = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in system.items())
    return f"<Event><System>{head}</System><EventData>{''.join(data)}</EventData></Event>"
