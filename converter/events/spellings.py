"""The several values of one rendered field: alternative spellings and repeated writes.

A render function writes ``Alternatives`` where a shipper spells one value in several ways
(Elastic Defend's registry hives): ``expand_alternatives`` makes one event per combination,
``first_spellings`` keeps the first spelling of each in place. Two writes to one field (a derived
field and a mapped one) become an array (``merge_write``). Moved from ``render.py``: how many values
a field holds is one concern, which entry renders an event and how another.
"""

from __future__ import annotations

from typing import Any


def as_list(value: Any) -> list[Any]:
    """``value`` as a list (a list as itself)."""
    return list(value) if isinstance(value, list) else [value]


def first_spellings(event: dict[str, Any] | None) -> dict[str, Any] | None:
    """``expand_alternatives(event)[0]`` (None when it is empty) of an event no one else holds:
    each ``Alternatives`` value replaced by its first spelling, in place, without the copies."""
    from converter.mapping.functions.render import Alternatives

    if event is None:
        return None
    for key, value in event.items():
        if isinstance(value, Alternatives):
            if not value:
                return None
            event[key] = value[0]
    return event


def expand_alternatives(event: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One event per combination of the ``Alternatives`` values a render function wrote (a
    shipper that spells a value in several ways, such as Elastic Defend's registry hives); the
    first event holds every primary spelling. An event without alternatives is returned alone."""
    from converter.mapping.functions.render import Alternatives

    if event is None:
        return []
    out = [dict(event)]
    for key, value in event.items():
        if isinstance(value, Alternatives):
            out = [{**e, key: choice} for e in out for choice in value]
    return out


def merge_write(out: dict[str, Any], key: str, value: Any) -> None:
    """Set ``out[key]``, turning repeated writes into a list (arrays stay arrays)."""
    if key not in out:
        out[key] = value
        return
    current = as_list(out[key])
    for item in as_list(value):
        if item not in current:
            current.append(item)
    out[key] = current if len(current) > 1 else current[0]
