"""``access_column``: a column of a web server's access line kept whole in one field (the Custom
Logs integration's ``message``), in nginx's predefined ``combined`` format.

nginx documents the format (ngx_http_log_module, ``log_format``: the predefined ``combined``
format, which ``access_log`` uses when no format is named,
https://nginx.org/en/docs/http/ngx_http_log_module.html)::

    $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"

With the default escaping, a variable's ``"``, ``\\`` and bytes below 32 or above 126 are written
as ``\\xXX``, and a variable whose value is not found is written as ``-`` (the same page). So no
column holds a raw double quote: the first ``"`` of the line opens ``$request`` (the address, user
and time hold none), and each quoted column ends at the next ``"``. ``$request`` is the request
line: method, target and protocol separated by spaces (the target's query after its first ``?``;
the protocol, ``HTTP/x.y``, is the last token), or ``-`` (no request line was read).

The Sigma event of such a line holds its columns as the values of the web taxonomy's fields
(``cs-method``, ``cs-uri-query``, ``sc-status``, ``cs-referer``, ``cs-user-agent``), each as the
line writes it (escapes included: the rules test the logged text, ``%27``, ``\\x22``); a value the
line writes as ``-`` is a missing one (``null``), and a request line without ``?`` has no
``cs-uri-query``. Every pattern here reads the whole line (``^`` ... ``\\Z``) and has no
look-around, so a Lucene RegExp (EQL ``regex``, Lucene ``/.../``, ES|QL) writes it exactly.

Query side (parameter ``column``: one of ``COLUMNS``): a string (wildcards within the column,
letters with their case partners) or a number (its decimal text) -> the regex of the whole line
with that column; ``null`` -> the column written ``-``. Refused: a value holding a character the
column never holds as written (nginx escapes it, or a space in a request token or the status), a
value that ``-`` would match (the line writes it for a missing value; the query excepted: a missing
query is a target without ``?``) or, for the method and the status, the empty text, regular
expressions, ``exists`` and field references. Render side:
nothing under the field; the renderer writes the line (``converter/events/access_line.py``).
A line whose request target holds a space (nginx before 1.21.1 logged such requests) is read by
none of these patterns as a request line: no column test holds on it, as for a line of another
format.
"""

from __future__ import annotations

import re
from typing import Any

from sigma.rule import SigmaDetectionItem
from sigma.types import SigmaCasedString, SigmaNull, SigmaNumber, SigmaString, SigmaType

from backends.splunk.spl_text import glob_pcre_body

from converter.mapping.functions.tree import Leaf, Node, NotExact, QueryResult, describe, rewrite
from converter.mapping.functions.unnamed_data import RecordTextRegex
from converter.mapping.table import FieldTarget

#: The columns a Sigma field can name, in line order.
COLUMNS = ("method", "query", "status", "referer", "user_agent")
#: Columns that may hold a space: the target's query (the request line's protocol is its last
#: token) and the quoted ones.
SPACED = frozenset({"query", "referer", "user_agent"})
#: One character of a column's value: a method or status holds no space; no column holds a
#: double quote.
ONE = {"method": '[^ "]', "query": '[^"]', "status": '[^ "]', "referer": '[^"]', "user_agent": '[^"]'}

_TOKEN = '[^ "]+'
#: The request line's end: the protocol (HTTP/1.0, HTTP/1.1; nginx writes HTTP/2 and HTTP/3
#: requests as HTTP/2.0 and HTTP/3.0), right before the column's closing quote.
_PROTOCOL = " HTTP/[0-9]\\.[0-9]"
#: The target up to its first ``?`` (or whole, when it has none).
_STEM = '[^?"]*'
#: Any request column: ``-`` (no request line read) or method, target and protocol.
_ANY_REQUEST = f'(?:-|{_TOKEN} [^"]*{_PROTOCOL})'
#: A request without a method: the line ``-``, or the method token ``-`` (the renderer's
#: spelling of an event without ``cs-method``).
_NO_METHOD = f'(?:-|- [^"]*{_PROTOCOL})'
#: A request whose target has no query: ``-``, or a target without ``?``.
_NO_QUERY = f"(?:-|{_TOKEN} {_STEM}{_PROTOCOL})"


def line_pattern(column: str, body: str | None) -> str:
    """The regex of the whole access line whose ``column`` is ``body`` (a regex of the column's
    whole text, written with ``ONE[column]`` for a wildcard), or is missing when ``body`` is
    None (``-``; for the query: no ``?`` in the target)."""
    if column not in COLUMNS:
        raise ValueError(f"no access-log column {column!r}")
    request = _ANY_REQUEST
    if column == "method":
        request = _NO_METHOD if body is None else f'{body} [^"]*{_PROTOCOL}'
    elif column == "query":
        # The query runs from the target's first ? to the protocol before the closing quote.
        request = _NO_QUERY if body is None else f"{_TOKEN} {_STEM}\\?{body}{_PROTOCOL}"
    status = (body if body is not None else "-") if column == "status" else _TOKEN
    referer = (body if body is not None else "-") if column == "referer" else '[^"]*'
    agent = (body if body is not None else "-") if column == "user_agent" else '[^"]*'
    return f'(?s)^[^"]*"{request}" {status} {_TOKEN} "{referer}" "{agent}"\\Z'


#: Characters a column holds as the line writes them: printable ASCII (nginx writes a byte below
#: 32 or above 126 as \xXX) but the double quote (written \x22).
PRINTABLE = frozenset(chr(c) for c in range(0x20, 0x7F)) - {'"'}


def _column_text(value: SigmaType, column: str) -> SigmaString:
    """The string the whole column is compared with, or NotExact."""
    if isinstance(value, SigmaNumber) and not isinstance(value.number, bool):
        value = SigmaString(str(value.number).lower())  # "numbers": compared as text
    if not isinstance(value, SigmaString) or value.contains_placeholder():
        raise NotExact(f"{describe(value)} is no plain value of an access-log column")
    text = "".join(p for p in value.s if isinstance(p, str))
    allowed = PRINTABLE if column in SPACED else PRINTABLE - {" "}
    if bad := sorted(set(text) - allowed):
        raise NotExact(
            f"{value.original!r} holds {bad[0]!r}, which the {column} column of an nginx combined "
            "line never holds as written (nginx writes a double quote and bytes outside printable "
            "ASCII as \\xXX; the method and the status hold no space)"
        )
    probe = re.compile(glob_pcre_body(value, isinstance(value, SigmaCasedString), "."), re.S)
    if column != "query" and probe.fullmatch("-"):
        raise NotExact(
            f"{value.original!r} matches '-', which the line writes for a missing {column}"
        )
    if column in ("method", "status") and probe.fullmatch(""):
        raise NotExact(f"{value.original!r} matches the empty text, which no {column} column holds")
    return value


def query_access_column(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """A value -> a regex of the whole access line with the column (parameter ``column``) holding it."""
    column = str(spec.param("column"))
    if column not in COLUMNS:
        raise ValueError(f"access_column: parameter column must be one of {', '.join(COLUMNS)}, not {column!r}")
    target = prefix + spec.target

    def handle(value: SigmaType) -> Node:
        if isinstance(value, SigmaNull):
            return Leaf(target, RecordTextRegex(line_pattern(column, None)))
        text = _column_text(value, column)
        body = glob_pcre_body(text, isinstance(text, SigmaCasedString), ONE[column])
        return Leaf(target, RecordTextRegex(line_pattern(column, body)))

    return rewrite(item, spec, prefix, handle)


def render_access_column(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """Nothing: the column is written in the line (``converter/events/access_line.py``)."""
    return {}
