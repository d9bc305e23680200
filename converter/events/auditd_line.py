"""The line of a Linux audit record: the ``_raw`` Splunk indexes (sourcetype ``linux:audit``)
and the ``message`` of the Custom Logs (Filestream) integration's document (``auditd_message``).

auditd writes one line per record: ``type=<TYPE> msg=audit(<seconds>.<ms>:<serial>):`` and then
the record's ``key=value`` pairs separated by spaces (security_content
``data_sources/linux_auditd_execve.yml`` example_log: ``type=EXECVE msg=audit(...): argc=3
a0="sudo" ...``). A string that holds a space, a double quote, a control character or a byte
above 0x7E is written as hex digits without quotes, any other string between double quotes
("audit_log_n_untrustedstring" in the kernel's ``kernel/audit.c``; userspace's
``audit_encode_value``); numbers and fixed words are written bare. The Sigma event of such a
record holds each value's text as written (hex included: ``splunk-linux.yml``), so a value with a
double quote or a control character is no record auditd writes: not rendered. A value with a
space (which auditd would have written as hex) is written between quotes as it is, so that the
query's exactness is tested on it too; the line keeps its structure (no value holds a quote).
"""

from __future__ import annotations

from typing import Any

from converter.events.text_lines import filestream_message, splunk_raw_line
from converter.mapping.table import LogsourceMapping

#: The record header's stamp (any fixed time and serial: no Sigma value holds it).
HEADER_STAMP = "audit(1700000000.000:1):"
#: Characters no bare value holds: the pair separator, both quotes, and the group separator
#: (0x1D) that starts an enriched record's interpreted part.
_NOT_BARE = frozenset(" \"'\x1d")


def _text(value: Any) -> str:
    """A scalar as the record writes it (booleans as the words, numbers as decimal text)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    raise ValueError(f"an audit record holds no {type(value).__name__} value")


def _pair(key: str, value: Any) -> str:
    """``key=value``: bare when nothing in the value needs quotes, else between double quotes."""
    text = _text(value)
    if '"' in text or any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise ValueError(
            f"auditd writes the value of {key} as hex (it holds a quote or a control "
            "character): no record holds it as written"
        )
    if text and not _NOT_BARE.intersection(text):
        return f"{key}={text}"
    return f'{key}="{text}"'


def record_line(event: dict[str, Any], tags: set[Any]) -> str:
    """The audit record line of a Sigma auditd event: ``type`` first, the header stamp, then
    every other value as a pair (a list: one pair per item, as auditd repeats no key but the
    Sigma event may hold several values). ``tags``: the sigport logsource tags in ``Channel``,
    which are no part of the record.

    Raises:
        ValueError: a value auditd writes as hex or cannot hold (see the module docstring), or a
            key that is not one word; the checker then does not ask the query about the event.
    """
    pairs = []
    for key, values in event.items():
        if key == "Channel" and values in tags:
            continue
        if not key or _NOT_BARE.intersection(key) or "=" in key:
            raise ValueError(f"{key!r} is no key of an audit record")
        items = values if isinstance(values, list) else [values]
        pairs += [(key, v) for v in items if v is not None]
    # The record type leads (an event without one, a near miss, gets no type pair).
    first = next((i for i, (k, _) in enumerate(pairs) if k == "type"), None)
    head = [] if first is None else [_pair(*pairs.pop(first))]
    return " ".join([*head, f"msg={HEADER_STAMP}", *(_pair(k, v) for k, v in pairs)])


def auditd_line(event: dict[str, Any], tags: set[Any]) -> str:
    """The ``_raw`` of a Sigma auditd event for Splunk: ``record_line``, when Splunk indexes it
    whole.

    Raises:
        ValueError: as ``record_line``, or a line Splunk cuts (``splunk_raw_line``); the checker
            then does not ask the query about the event.
    """
    return splunk_raw_line(record_line(event, tags), "linux:audit")


def auditd_message(event: dict[str, Any], entry: LogsourceMapping) -> str:
    """The ``message`` of a Sigma auditd event whose audit.log line the Custom Logs (Filestream)
    integration reads whole (``ecs-auditd.yml`` ``linux-auditd-lines``).

    Raises:
        ValueError: as ``record_line``; a line the input does not send whole
            (``filestream_message``); also an event with a ``msg`` value: auditd writes ``msg``
            only as the header's stamp and as a user-space record's message, never as a pair of
            its own, and the Elastic keyword regex reads no ``msg`` pair as a value
            (``backends/auditd_text.py`` ``KEY_NOT_MSG``).
    """
    if "msg" in event:
        raise ValueError("an audit record has no msg pair but its header's stamp and a user "
                         "record's message")
    line = record_line(event, {crit.get("Channel") for crit in entry.events})
    return filestream_message(line, entry.id)
