"""The access line of a web server event written from its columns, in nginx's ``combined`` format
(``converter/mapping/functions/access_column.py`` gives the format, its escaping and the reading
of each column).

Each Sigma field the entry maps through ``access_column`` is written in its column as the line
holds it; a missing one (absent or JSON null) as ``-``, nginx's spelling of a value not found
(a missing method: the method token ``-``; a missing ``cs-uri-query``: a target without ``?``).
The columns no Sigma field names are fixed: address ``192.0.2.1`` (RFC 5737 documentation
range), no user, one time, target ``/``, protocol ``HTTP/1.1``, 0 bytes sent.

An event no nginx line is refused (``ValueError``; the checker then does not ask the query about
it): a value that is not text (a status may be a number of three digits), that holds a character
the column never holds as written (a double quote, a byte outside printable ASCII, a backslash
not starting a ``\\xXX`` escape of a byte nginx escapes; a space in the method or the
status), a value ``-`` but for the query (the line writes it for a missing value too), an empty
method, or an event with a value besides its columns.
"""

from __future__ import annotations

import re
from typing import Any

from converter.mapping.functions.access_column import PRINTABLE, SPACED
from converter.mapping.table import LogsourceMapping

#: The line's columns that no Sigma field of the entry names.
PREFIX = "192.0.2.1 - - [07/Dec/2026:10:00:00 +0000] "
TARGET_STEM = "/"
PROTOCOL = "HTTP/1.1"
BYTES_SENT = "0"
#: A backslash in a column is the start of nginx's escape of a byte it escapes: ``"``, ``\``,
#: below 32 or above 126, in upper-case hex (ngx_http_log_escape).
_ESCAPE = re.compile(r"\\x(?:22|5C|[01][0-9A-F]|7F|[89A-F][0-9A-F])")
_STATUS = re.compile(r"[1-9][0-9]{2}")


def access_columns(entry: LogsourceMapping) -> dict[str, str]:
    """Sigma field -> column, for the entry's fields mapped through ``access_column``."""
    out = {}
    for name, spec in entry.field_targets(None).items():
        if spec.function == "access_column":
            out[name] = str(spec.param("column"))
    return out


def _column(value: Any, column: str) -> str:
    """The column's text for a present value (see the module docstring for what is refused)."""
    if column == "status" and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(f"an access line's {column} is text, not {type(value).__name__}")
    if column == "status" and not _STATUS.fullmatch(value):
        raise ValueError(f"nginx writes the status as three digits, not {value!r}")
    allowed = PRINTABLE if column in SPACED else PRINTABLE - {" "}
    if set(value) - allowed:
        raise ValueError(f"the {column} column of an nginx line never holds {value!r} as written")
    if "\\" in _ESCAPE.sub("", value):
        raise ValueError(f"a backslash in an nginx line starts a \\xXX escape: {value!r}")
    if value == "-" and column != "query":
        raise ValueError(f"the line writes a {column} '-' as it writes a missing one")
    if not value and column == "method":
        raise ValueError("a request line's method is never empty")
    return value


def access_line(event: dict[str, Any], entry: LogsourceMapping, columns: dict[str, str]) -> str:
    """The combined line of an event holding some of ``columns`` (Sigma field -> column).

    Raises:
        ValueError: the event is no nginx line (the module docstring).
    """
    tags = {crit.get("Channel") for crit in entry.events}
    texts: dict[str, str] = {}
    for name, value in event.items():
        if name == "Channel" and value in tags:
            continue
        if name not in columns:
            raise ValueError(f"an access line's event holds its columns only, not {name!r}")
        if value is not None:
            texts[columns[name]] = _column(value, columns[name])
    method = texts.get("method", "-")
    target = TARGET_STEM + ("?" + texts["query"] if "query" in texts else "")
    return (
        f'{PREFIX}"{method} {target} {PROTOCOL}" {texts.get("status", "-")} {BYTES_SENT} '
        f'"{texts.get("referer", "-")}" "{texts.get("user_agent", "-")}"'
    )

