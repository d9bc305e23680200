"""The ``_raw`` of a record a source writes as one JSON object keyed by the Sigma names.

Zeek's JSON logs (``splunk-zeek.yml``: one object per log line, the log's column names as keys,
nested records flattened with dots) are what the Splunk Add-on for Zeek indexes as ``_raw``. The
Sigma event of such a record holds its keys and values as they are, so the line is the event as a
JSON object (its sigport logsource tag in ``Channel`` is no part of it). Written with Python's
encoder, which escapes non-ASCII characters as ``\\uXXXX``: the keyword regexes are exact on that
spelling and on raw UTF-8 alike (``backends/splunk/backend_text_record.py``).
"""

from __future__ import annotations

import json
from typing import Any

from converter.events.text_lines import splunk_raw_line
from converter.strict_json import WrittenFloat


def json_line(event: dict[str, Any], tags: set[Any]) -> str:
    """The JSON object of a Sigma event, without its logsource tag.

    Raises:
        ValueError: a value JSON cannot hold, a number spelled otherwise than Python spells it
            (``WrittenFloat``), or a line Splunk cuts (``splunk_raw_line``); the checker then
            does not ask the query about it.
    """
    # A top-level JSON null is written as a missing key, as every data source writes it
    # (converter/checking/dropped.py): the line holds no key the extracted fields lack.
    record = {k: v for k, v in event.items()
              if v is not None and not (k == "Channel" and v in tags)}
    written = _written_number(record)
    if written is not None:
        # Python's encoder would spell it as its double (1E5 as 100000.0), not as the log does.
        raise ValueError(f"the record's number {written} would not be written as in the log")
    try:
        line = json.dumps(record, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the record is no JSON object: {exc}") from exc
    return splunk_raw_line(line, "JSON")


def _written_number(value: Any) -> str | None:
    """The text of the first ``WrittenFloat`` in ``value`` (objects and arrays walked), or None."""
    if isinstance(value, WrittenFloat):
        return value.text
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return next((t for t in map(_written_number, items) if t is not None), None)
