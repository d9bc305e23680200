"""``access_column``: the regexes of nginx combined access lines read against an independent
parse of the line, and the renderer's refusals.

The parse here splits the line with string operations (the first ``"`` opens the request, which
ends at the next ``"``; the method is up to the first space, the protocol the last nine
characters, the query after the target's first ``?``), not with the module's patterns, so a
pattern that reads a column at the wrong place (a ``?`` inside the stem, a space inside the
method, the protocol inside the query, ``-`` as a value) disagrees with it.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sigma.types import SigmaString

from backends.splunk.spl_text import glob_pcre_body
from converter.events.access_line import access_columns, access_line
from converter.mapping.functions.access_column import COLUMNS, ONE, line_pattern
from converter.mapping.loader import load_table

FIELDS = {"cs-method": "method", "cs-uri-query": "query", "sc-status": "status",
          "cs-referer": "referer", "cs-user-agent": "user_agent"}


def entry():
    """The ecs-lines entry of category webserver."""
    return next(e for e in load_table("ecs-lines").logsources if e.id == "webserver-access")


def parse(line: str) -> dict[str, str | None]:
    """The columns of a combined line, None where the line writes '-' (no query: no '?')."""
    _head, request, rest = line.split('"', 2)
    after = rest.split('"')  # [' status sent ', referer, ' ', agent, '']
    status, referer, agent = after[0].split()[0], after[1], after[3]
    out: dict[str, str | None] = {c: None for c in COLUMNS}
    if request != "-":
        method, _, tail = request.partition(" ")
        assert re.fullmatch(r" HTTP/\d\.\d", tail[-9:]), line
        target = tail[:-9]
        out["method"] = None if method == "-" else method
        if "?" in target:
            out["query"] = target.split("?", 1)[1]
    out["status"] = None if status == "-" else status
    out["referer"] = None if referer == "-" else referer
    out["user_agent"] = None if agent == "-" else agent
    return out


def holds(line: str, column: str, glob: str | None) -> bool:
    """Does the column of ``line`` hold ``glob`` (case-insensitive ASCII, ``*`` a run), or is it
    missing when ``glob`` is None, by the independent parse."""
    value = parse(line)[column]
    if glob is None:
        return value is None
    return value is not None and fnmatchcase(value.lower(), glob.lower())


def matches(line: str, column: str, glob: str | None) -> bool:
    """The module's verdict: the column's pattern searched in the line."""
    body = None if glob is None else glob_pcre_body(SigmaString(glob), False, ONE[column])
    return re.search(line_pattern(column, body), line) is not None


# Texts made of the characters that delimit columns, so that a misplaced boundary shows.
text = st.text(alphabet="aA?-/ =HTP1.%", max_size=8)


@st.composite
def event(draw: st.DrawFn) -> dict[str, object]:
    """A Sigma web event of the entry's columns (some missing, some null)."""
    out: dict[str, object] = {"Channel": "webserver"}
    for name, column in FIELDS.items():
        kind = draw(st.sampled_from(["absent", "null", "value"]))
        if kind == "null":
            out[name] = None
        elif kind == "value":
            if column == "status":
                out[name] = draw(st.sampled_from([200, "404", 301]))
            else:
                value = draw(text)
                if column == "method":
                    value = value.replace(" ", "") or "GET"
                if value == "-" and column != "query":
                    value = "x-"
                out[name] = value
    if len(out) == 1:
        out["cs-method"] = "GET"
    return out


@settings(max_examples=300, deadline=None)
@given(event(), st.sampled_from(list(FIELDS.values())), st.one_of(st.none(), text))
@example({"Channel": "webserver", "cs-user-agent": None}, "method", "? ")
def test_each_column_pattern_reads_the_column_the_line_holds(sample, column, glob) -> None:
    line = access_line(sample, entry(), access_columns(entry()))
    if glob is not None and column in ("method", "status"):
        # No space in a method or status token; the function refuses an empty one.
        glob = glob.replace(" ", "") or "a*"
    if glob is not None and (glob == "-" or (column != "query" and fnmatchcase("-", glob))):
        glob = "a*"  # the function refuses such values ('-' is a missing value)
    assert matches(line, column, glob) == holds(line, column, glob), (line, column, glob)


@pytest.mark.parametrize(("line", "column", "glob", "expected"), [
    # The request line '-': no method, no query.
    ('1.2.3.4 - - [t] "-" 400 0 "-" "-"', "method", None, True),
    ('1.2.3.4 - - [t] "-" 400 0 "-" "-"', "query", None, True),
    ('1.2.3.4 - - [t] "-" 400 0 "-" "-"', "query", "*", False),
    # The query starts at the first '?' and runs to the protocol, spaces included.
    ('1.2.3.4 - - [t] "GET /a?b?c d HTTP/1.1" 200 5 "-" "-"', "query", "b?c d", True),
    ('1.2.3.4 - - [t] "GET /a?b?c d HTTP/1.1" 200 5 "-" "-"', "query", "c d", False),
    ('1.2.3.4 - - [t] "GET /a?b HTTP/1.1 HTTP/1.1" 200 5 "-" "-"', "query", "b HTTP/1.1", True),
    ('1.2.3.4 - - [t] "GET /a?b HTTP/1.1 HTTP/1.1" 200 5 "-" "-"', "query", "b", False),
    ('1.2.3.4 - - [t] "GET /a HTTP/1.1" 200 5 "-" "-"', "query", None, True),
    ('1.2.3.4 - - [t] "GET /a? HTTP/1.1" 200 5 "-" "-"', "query", "", True),
    # A method wildcard stays in the method; a query wildcard runs over spaces.
    ('1.2.3.4 - - [t] "GET /?a a HTTP/1.1" 200 5 "-" "-"', "method", "*a", False),
    ('1.2.3.4 - - [t] "GET /?a b HTTP/1.1" 200 5 "-" "-"', "query", "a*", True),
    # A referer '-' is a missing one; an empty one is written "".
    ('1.2.3.4 - - [t] "GET / HTTP/2.0" 200 5 "" "-"', "referer", "", True),
    ('1.2.3.4 - - [t] "GET / HTTP/2.0" 200 5 "" "-"', "referer", None, False),
    ('1.2.3.4 - - [t] "GET / HTTP/2.0" 200 5 "" "-"', "user_agent", None, True),
    # A request line without protocol (HTTP/0.9) is read by no column test.
    ('1.2.3.4 - - [t] "GET /?a" 200 5 "-" "-"', "method", "GET", False),
    ('1.2.3.4 - - [t] "GET /?a" 200 5 "-" "-"', "method", None, False),
])
def test_lines_nginx_writes(line: str, column: str, glob: str | None, expected: bool) -> None:
    assert matches(line, column, glob) is expected


@pytest.mark.parametrize(("fields", "why"), [
    ({"cs-user-agent": 'a"b'}, "never holds"),
    ({"cs-user-agent": "caf\u00e9"}, "never holds"),
    ({"cs-uri-query": "a\\b"}, "backslash"),
    ({"cs-referer": "-"}, "missing"),
    ({"cs-method": "GE T"}, "never holds"),
    ({"sc-status": "40"}, "three digits"),
    ({"sc-status": 4040}, "three digits"),
    ({"cs-method": "GET", "CommandLine": "x"}, "columns only"),
])
def test_events_no_nginx_line_is_are_refused(fields: dict[str, object], why: str) -> None:
    with pytest.raises(ValueError, match=why):
        access_line({"Channel": "webserver", **fields}, entry(), access_columns(entry()))


def test_escapes_are_the_column_text_as_written() -> None:
    line = access_line({"Channel": "webserver", "cs-uri-query": "a=\\x22x\\x5C", "cs-method": "GET"},
                       entry(), access_columns(entry()))
    assert line == ('192.0.2.1 - - [07/Dec/2026:10:00:00 +0000] "GET /?a=\\x22x\\x5C HTTP/1.1" - 0 '
                    '"-" "-"')
    assert matches(line, "query", "*\\x22*")
