"""The record of a plain-text log line: one line of text, which the Sigma event of such a log
holds as its one value (its logsource tag in ``Channel`` is no part of it).

Splunk keeps the line whole as ``_raw`` (``splunk-lines.yml``, an entry with the state
``text_record``); Elastic Agent's Custom Logs (Filestream) integration as ``message`` (``ecs-lines.yml``,
an entry with a ``text_field``). An event that no such record can be (no value, several, not a
string, a line break, a line the input cuts) raises ``ValueError``, and the checker then does not
ask the query about it.
"""

from __future__ import annotations

from typing import Any

from converter.events.access_line import access_columns, access_line
from converter.mapping.table import LogsourceMapping


#: props.conf ``TRUNCATE``: "The default maximum line length, in bytes ... Default: 10000"
#: (Splunk Admin Manual, props.conf.spec, "Line breaking"): Splunk cuts a longer line, so a value
#: past the cut is in no ``_raw`` a search reads. The sourcetypes sigport writes lines for
#: (``splunk-lines.yml``, ``linux:audit``, Zeek's JSON lines) are not documented to set another
#: limit, so a longer line is not rendered: which bytes the index keeps is the props.conf's.
SPLUNK_TRUNCATE_BYTES = 10_000


def splunk_raw_line(line: str, what: str) -> str:
    """``line`` as the ``_raw`` of a Splunk event, when Splunk indexes it whole.

    Raises:
        ValueError: the line is longer than ``SPLUNK_TRUNCATE_BYTES`` in UTF-8 (Splunk keeps a
            cut of it; the checker then does not ask the query about the event).
    """
    # A lone surrogate is no text of a UTF-8 log: its UnicodeEncodeError is a ValueError too.
    if len(line.encode("utf-8")) > SPLUNK_TRUNCATE_BYTES:
        raise ValueError(f"a {what} line longer than {SPLUNK_TRUNCATE_BYTES:,} bytes is cut by "
                         "Splunk (props.conf TRUNCATE default)")
    return line


def text_line(event: dict[str, Any], entry: LogsourceMapping) -> str:
    """The ``_raw`` of a text-line record (an entry with the state ``text_record``): the line,
    which the Sigma event of such a log holds as its one value (its logsource tag in ``Channel``
    is no part of it).

    Raises:
        ValueError: the event holds no value, several, one that is not a string or one with a
            line break: no line of the log is that event; or a line Splunk cuts
            (``splunk_raw_line``). The checker then does not ask the query about it.
    """
    return splunk_raw_line(_line(event, entry), entry.id)


def _line(event: dict[str, Any], entry: LogsourceMapping) -> str:
    """The one line a text-line event holds (see ``text_line``)."""
    tags = {crit.get("Channel") for crit in entry.events}
    values = [v for k, v in event.items() if not (k == "Channel" and v in tags)]
    if len(values) != 1 or not isinstance(values[0], str):
        raise ValueError(
            f"a {entry.id} record is one line of text, and this event holds {len(values)} "
            "values" + ("" if len(values) != 1 else " (not a string)")
        )
    if "\n" in values[0] or "\r" in values[0]:
        # Splunk breaks such a log into events at line breaks (LINE_BREAKER): no record holds one.
        raise ValueError(f"a {entry.id} record is one line of text, and this value holds a line break")
    return values[0]


#: The filestream input's ``message_max_bytes`` default: "All bytes after message_max_bytes are
#: discarded" (elastic/integrations packages/filestream/data_stream/generic/manifest.yml: 10485760).
FILESTREAM_MAX_BYTES = 10_485_760


def filestream_line(event: dict[str, Any], entry: LogsourceMapping) -> str:
    """The ``message`` of a line that Elastic Agent's filestream input reads whole (an entry with
    a ``text_field``): the line, as ``text_line`` takes it from the Sigma event; for a web server
    access log's entry (state ``access_log``) and an event holding its columns, the access line
    written from them (``converter/events/access_line.py``).

    Raises:
        ValueError: as ``text_line`` or ``access_line`` (the input splits the file at line breaks
            too; its cut is ``FILESTREAM_MAX_BYTES``, not Splunk's), the line is empty (the input
            sends no event for it: the same manifest, "Empty lines are ignored"), longer than the
            input keeps, or holds a lone surrogate (no record holds it).
    """
    if entry.state.get("access_log"):
        columns = access_columns(entry)
        if not columns.keys().isdisjoint(event):
            return filestream_message(access_line(event, entry, columns), entry.id)
    return filestream_message(_line(event, entry), entry.id)


def filestream_message(line: str, what: str) -> str:
    """``line`` as the ``message`` of the document the filestream input sends for it.

    Raises:
        ValueError: the line is empty, longer than the input keeps or holds a lone surrogate
            (see ``filestream_line``).
    """
    if not line:
        raise ValueError(f"a {what} line is empty: the input sends no event for it")
    # A lone surrogate is no text of a UTF-8 file: UnicodeEncodeError is a ValueError too.
    if len(line.encode("utf-8")) > FILESTREAM_MAX_BYTES:
        raise ValueError(f"a {what} line longer than {FILESTREAM_MAX_BYTES} bytes is cut by the input")
    return line
