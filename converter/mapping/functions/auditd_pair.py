"""``auditd_pair``: a value the Linux audit line holds as a ``key=value`` pair that Splunk's
extraction does not name.

A user-space record writes its own pairs inside ``msg='...'`` (security_content
``data_sources/linux_auditd_service_stop.yml`` example_log: ``msg='unit=atd comm="systemd" ...'``),
and the search-time extraction reads ``msg='unit=atd`` as the field ``msg``: ``unit`` has no field
(the data source lists none). The line itself is ``_raw``, so a test of the pair's value is a PCRE
of ``_raw`` read from the line's start over whole quoted values (as keywords are,
``backends/splunk/backend_text_record.py``): a pair start (the line's start, a space, the ``'`` of
``msg='``, or the 0x1D of an enriched record), the key (parameter ``key``, default the Sigma
field), then the whole value between double quotes or bare up to the next separator.

Query side: a string (wildcards within the value, letters with their case partners) or a number
(its decimal text) -> that regex; a value with a double quote never matches as written (auditd
writes such a value as hex) and is refused, as are regexes, ``null`` / ``exists`` and field
references. Render side: nothing; the renderer writes the pair in the line
(``converter/events/auditd_line.py``).

Parameter ``grammar: fortios``: the line is a FortiOS log message instead (a FortiGate event
log's line kept whole in ``message``), whose string values are always quoted; the test is
``backends/fortios_text.py``'s, for a whole plain value only (a wildcard could run across an
escaped quote, whose writing the Log Message Reference does not state), and the renderer is
``converter/events/fortios_line.py``.
"""

from __future__ import annotations

import re
from typing import Any

from sigma.rule import SigmaDetectionItem
from sigma.types import SigmaCasedString, SigmaNumber, SigmaString, SigmaType

from backends.auditd_text import BARE, NOT_BARE, pair_pattern
from backends.fortios_text import UNREADABLE, fortios_pair_pattern
from backends.splunk.spl_text import glob_pcre_body

from converter.mapping.functions.tree import Leaf, Node, NotExact, QueryResult, describe, rewrite
from converter.mapping.functions.unnamed_data import RecordTextRegex
from converter.mapping.table import FieldTarget


def _string(value: SigmaType) -> SigmaString:
    """The string a pair's whole value is compared with, or NotExact."""
    if isinstance(value, SigmaNumber) and not isinstance(value.number, bool):
        return SigmaString(str(value.number).lower())  # "numbers": compared as text
    if isinstance(value, SigmaString) and not value.contains_placeholder():
        if '"' in "".join(p for p in value.s if isinstance(p, str)):
            raise NotExact(
                f"{value.original!r} holds a double quote: auditd writes such a value as hex"
            )
        return value
    raise NotExact(f"{describe(value)} is no plain value of an audit record's pair")


def _fortios_string(value: SigmaType) -> SigmaString:
    """The whole string value a FortiOS pair is compared with, or NotExact
    (``backends/fortios_text.py`` states which values the test reads exactly)."""
    if isinstance(value, SigmaNumber) and not isinstance(value.number, bool):
        return SigmaString(str(value.number).lower())  # "numbers": compared as text
    if not isinstance(value, SigmaString) or value.contains_placeholder():
        raise NotExact(f"{describe(value)} is no plain value of a FortiOS log line's pair")
    text = value
    if text.contains_special():
        raise NotExact(
            f"{str(text)!r} has a wildcard: on a FortiOS line it could run across a quote "
            "escaped inside the value, whose writing the FortiOS Log Message Reference does not "
            "state; only a whole plain value is exact"
        )
    plain = "".join(p for p in text.s if isinstance(p, str))  # no wildcard: the whole value
    if not plain or plain.startswith(" ") or UNREADABLE.search(plain):
        raise NotExact(
            f"{plain!r} is empty, starts with a space or holds a double quote, a backslash or a "
            "control character: the test of a FortiOS line's pair does not read it exactly "
            "(backends/fortios_text.py)"
        )
    return text


def query_auditd_pair(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """A value -> a regex of ``_raw`` matching the pair ``key=<value>`` of the audit line."""
    key = str(spec.param("key") or item.field)
    # Parameter lookaround: false spells the test without look-ahead assertions, for the
    # Elastic targets' Lucene RegExp (backends/auditd_text.py).
    lookaround = spec.param("lookaround") is not False
    target = prefix + spec.target

    if spec.param("grammar") == "fortios":
        def fortios(value: SigmaType) -> Node:
            text = _fortios_string(value)
            body = glob_pcre_body(text, isinstance(text, SigmaCasedString), '[^"]')
            return Leaf(target, RecordTextRegex(fortios_pair_pattern(re.escape(key), body)))

        return rewrite(item, spec, prefix, fortios)

    def handle(value: SigmaType) -> Node:
        text = _string(value)
        cased = isinstance(text, SigmaCasedString)
        quoted = glob_pcre_body(text, cased, '[^"]')
        literal = set("".join(p for p in text.s if isinstance(p, str)))
        bare = None if literal & NOT_BARE else glob_pcre_body(text, cased, BARE)
        return Leaf(target, RecordTextRegex(pair_pattern(key, quoted, bare, lookaround)))

    return rewrite(item, spec, prefix, handle)


def render_auditd_pair(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """Nothing: the pair is written in the record's ``_raw`` (``converter/events/auditd_line.py``)."""
    return {}
