"""The event kinds a rule's logsource is made of (EventID and Channel per event class), the kind of
another logsource that near misses move an event to, and what a Sysmon record of a kind always or
never carries.

Split from ``generator.py``, which generates events of these kinds.
"""

from __future__ import annotations

from typing import Any

from converter.generate.values import SYSMON_KIND_COMPANIONS, SYSMON_RECORD_LACKS
from converter.reference.logsources import (
    SYSMON,
    WINDOWS_CATEGORIES,
    WINDOWS_SERVICES,
    membership,
    other_logsource,
)


def logsource_kinds(product: str | None, category: str | None, service: str | None,
                    every_id: bool = False) -> list[dict[str, Any]]:
    """EventID/Channel dicts of the logsource, the main one first; [] when untabled.

    Of an event class with several ids (Sysmon 12, 13, 14 for ``registry_event``) only the
    first is listed, unless ``every_id``: a data source may record only another one of them
    (Elastic Defend's registry events are value sets, Sysmon 13)."""
    other = other_logsource(product, category, service)
    if other is not None:
        return [{**({"EventID": ec.event_ids[0]} if ec.event_ids else {}), "Channel": ch}
                for ec in other for ch in ec.channels]
    if (product or "").lower() != "windows":
        return []
    channels = WINDOWS_SERVICES.get((service or "").lower()) if service else None
    if category:
        out = [{"EventID": event_id, "Channel": ch}
               for ec in WINDOWS_CATEGORIES.get(category.lower(), ())
               for event_id in (ec.event_ids or (1,))[: None if every_id else 1]
               for ch in ec.channels
               if channels is None or ch in channels]
    elif channels:
        out = [{"Channel": ch} for ch in channels]
    else:
        out = [{"Channel": "Application", "EventID": 1000}]
    member = membership(product, category, service)
    return [e for e in out if member(e)]


_ELSEWHERE: tuple[dict[str, object], ...] = (
    {"EventID": 1, "Channel": SYSMON}, {"EventID": 3, "Channel": SYSMON},
    {"EventID": 4624, "Channel": "Security"}, {"EventID": 7045, "Channel": "System"}, {})


def wrong_logsource(product: str | None, category: str | None, service: str | None
                    ) -> dict[str, Any] | None:
    """An event kind of another logsource (its EventID/Channel): the base of the near miss that
    moves a positive event elsewhere; None when every candidate belongs to this logsource."""
    member = membership(product, category, service)
    return next((dict(e) for e in _ELSEWHERE if not member(e)), None)


def record_lacks(kind: dict[str, Any]) -> frozenset[str]:
    """The fields a Sysmon record of this kind never carries (``SYSMON_RECORD_LACKS``)."""
    if kind.get("Channel") != SYSMON or not isinstance(kind.get("EventID"), int):
        return frozenset()
    return SYSMON_RECORD_LACKS.get(kind["EventID"], frozenset())


def kind_companions(kind: dict[str, Any]) -> dict[str, Any]:
    """What a Sysmon record of this kind always carries (``SYSMON_KIND_COMPANIONS``)."""
    if kind.get("Channel") != SYSMON or not isinstance(kind.get("EventID"), int):
        return {}
    return SYSMON_KIND_COMPANIONS.get(kind["EventID"], {})
