"""``xml_unnamed_data``: a value a Windows event log record holds as an unnamed ``<Data>`` element.

Classic event sources (``ReportEvent``) write their values as insertion strings without names, and
the XML rendering of such a record holds them as ``<EventData><Data>v1</Data><Data>v2</Data>...
</EventData>``, in order (RPC Firewall's RPCFW records: zeronetworks/rpcfirewall
rpcMessages/rpcMessages.cpp, eleven strings). The Splunk Add-on for Microsoft Windows names only
``<Data Name='X'>`` elements (splunk-windows-channels.yml: "unnamed <Data> elements have no field
name"), but the record itself is the event's ``_raw`` (XmlWinEventLog), with the XML entities
Windows writes for ``&``, ``<`` and ``>`` (semantics xmlwineventlog_values_entity_encoded).

Query side: a test of the value at 1-based ``position`` is a regular expression on ``_raw`` that
skips the ``position - 1`` elements before it (``<Data>[^<]*</Data>``: a value never holds a raw
``<``) and matches the element's whole text.
Only whole-value equality with a plain value is exact that way: a value with ``&``, ``<`` or ``>``
(whose entity the text holds), a wildcard (which could match inside an entity), an empty value (an
empty element is also what a record without the value holds), and every other kind of test are
refused. The value's letters are written with their case partners as Sigma folds them. Render side: nothing; the renderer writes the record's ``_raw`` with the values in their
positions (``converter/events/unnamed_data.py``).
"""

from __future__ import annotations

from typing import Any

from sigma.rule import SigmaDetectionItem
from sigma.types import SigmaCasedString, SigmaNumber, SigmaRegularExpression, SigmaString, SigmaType

from backends.splunk.spl_text import glob_to_pcre

from converter.mapping.functions.tree import Leaf, Node, NotExact, QueryResult, describe, rewrite
from converter.mapping.table import FieldTarget

#: Characters Windows writes as entities in the XML text of a value.
XML_SPECIAL = frozenset("&<>")


class RecordTextRegex(SigmaRegularExpression):
    """A regex already written on the record's XML text (markup and entities as the record holds
    them): the value-encoding step (``converter/mapping/entities.py``) leaves it as it is."""


def _literal(value: SigmaType, field: str) -> SigmaString:
    """The plain string a value test compares the whole element with, or NotExact."""
    if isinstance(value, SigmaNumber) and not isinstance(value.number, bool):
        # "numbers": compared as text, the way the reference reads a number against a string
        # (its decimal text has no wildcard or backslash to escape).
        return SigmaString(str(value.number).lower())
    if isinstance(value, SigmaString):
        if value.contains_special():
            raise NotExact(
                f"{value.original!r} has a wildcard, which could match inside an XML entity of "
                f"the record's text: only a whole plain value is exact on {field}"
            )
        text = str(value)
        if not text:
            raise NotExact(
                "an empty value: a record without the value holds an empty element too"
            )
        if XML_SPECIAL & set(text):
            raise NotExact(
                f"{text!r} holds '&', '<' or '>', which the record's XML text writes as an entity"
            )
        return value
    raise NotExact(f"{describe(value)} is not a plain value test on an unnamed <Data> element")


def _value_pcre(value: SigmaString) -> str:
    """The PCRE of exactly ``value``, its letters with their case partners as Sigma folds them
    (``glob_to_pcre``'s explicit classes, never ``(?i)``: the fold of a caseless PCRE depends on
    its UTF mode)."""
    anchored = glob_to_pcre(value, isinstance(value, SigmaCasedString))
    head, tail = "(?s)^", "\\z"
    assert anchored.startswith(head) and anchored.endswith(tail), anchored
    return anchored[len(head):-len(tail)]


def query_xml_unnamed_data(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """A plain value -> a regex of ``_raw`` matching the ``position``-th unnamed ``<Data>`` element."""
    position = int(spec.param("position"))
    target = prefix + spec.target

    def handle(value: SigmaType) -> Node:
        literal = _literal(value, f"the unnamed <Data> element {position}")
        pattern = (
            "<EventData>"
            + "(?:<Data>[^<]*</Data>)" * (position - 1)
            + "<Data>" + _value_pcre(literal) + "</Data>"
        )
        return Leaf(target, RecordTextRegex(pattern))

    return rewrite(item, spec, prefix, handle)


def render_xml_unnamed_data(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """Nothing: the value is written in the record's ``_raw`` (``converter/events/unnamed_data.py``)."""
    return {}
