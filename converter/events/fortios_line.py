"""The line of a FortiGate event log message: the ``message`` of the Custom Logs (Filestream)
integration's document (``ecs-lines.yml`` ``fortigate-event-lines``, state ``fortios_record``).

FortiOS writes a log message as ``key=value`` pairs separated by one space, each string value
between double quotes (FortiOS Log Message Reference 5.6.14, "What's new": "The value of every
string type field is now enclosed in double quotes"), starting with the header fields every
message holds (``date``, ``time``, ``logid``, ``type``, ``subtype``, ``level``, ``vd``, ...: the
reference's table of each message, e.g. 44547 LOGID_EVENT_CONFIG_OBJATTR). The line written here
is a fixed header of those pairs (any fixed values: no Sigma rule of this logsource is about to
be proven on them; a pair the event holds itself is written from the event instead), then every
value of the Sigma event as a quoted pair (a list: one pair per item).

The reference does not say how a double quote or a backslash inside a value is written, so an
event holding one (or a control character, which a line of the log cannot hold as written) is
not rendered: the checker does not ask the query about it (``backends/fortios_text.py``).
"""

from __future__ import annotations

import re
from typing import Any

from backends.fortios_text import UNREADABLE
from converter.events.text_lines import filestream_message
from converter.mapping.table import LogsourceMapping

#: The header pairs of a FortiGate event log message (44547's table: date, time, logid, type,
#: subtype, level, vd, eventtime, tz, logdesc), with fixed values.
HEADER = (
    ("date", "2026-01-01", False), ("time", "00:00:00", False), ("devname", "FGT", True),
    ("devid", "FGT00000000000000", True), ("eventtime", "1767225600000000000", False),
    ("tz", "+0000", True), ("logid", "0100044547", True), ("type", "event", True),
    ("subtype", "system", True), ("level", "information", True), ("vd", "root", True),
    ("logdesc", "Object attribute configured", True),
)
#: A key of a FortiOS log message: a word (the integration drops any other key, default.yml's
#: "remove any keys that are non-words").
KEY = re.compile(r"[A-Za-z0-9_]+")


def _text(key: str, value: Any) -> str:
    """A scalar as the line writes it between quotes (booleans as the words)."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (int, float, str)):
        text = str(value)
    else:
        raise ValueError(f"a FortiOS log line holds no {type(value).__name__} value ({key})")
    if UNREADABLE.search(text):
        raise ValueError(
            f"the value of {key} holds a double quote, a backslash or a control character: the "
            "FortiOS Log Message Reference does not state how a line writes it"
        )
    return text


def fortios_line(event: dict[str, Any], tags: set[Any]) -> str:
    """The FortiOS log line of a Sigma FortiGate event: the header pairs the event does not
    hold, then each of its values as ``key="value"``. ``tags``: the sigport logsource tags in
    ``Channel``, which are no part of the line.

    Raises:
        ValueError: a key that is no word, or a value the line cannot hold as written (see the
            module docstring); the checker then does not ask the query about the event.
    """
    pairs = []
    for key, values in event.items():
        if key == "Channel" and values in tags:
            continue
        if not KEY.fullmatch(key):
            raise ValueError(f"{key!r} is no key of a FortiOS log line")
        items = values if isinstance(values, list) else [values]
        pairs += [f'{key}="{_text(key, v)}"' for v in items if v is not None]
    head = [f'{k}="{v}"' if quoted else f"{k}={v}" for k, v, quoted in HEADER if k not in event]
    return " ".join([*head, *pairs])


def fortios_message(event: dict[str, Any], entry: LogsourceMapping) -> str:
    """The ``message`` of a Sigma FortiGate event whose log line the Custom Logs (Filestream)
    integration reads whole.

    Raises:
        ValueError: as ``fortios_line``, or a line the input does not send whole
            (``filestream_message``).
    """
    line = fortios_line(event, {crit.get("Channel") for crit in entry.events})
    return filestream_message(line, entry.id)
