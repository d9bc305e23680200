"""Splunk's ``_raw`` of a Windows event-log record: the record's XML text, as the Splunk add-ons
read it, written from a Sigma event (``raw_xml``), and its values as XML text (``xml_escaped``).

Every Splunk rendering of a Windows event writes this text, so it is on the renderer's hot path:
values with nothing to escape skip the replacements, and field names are quoted once. Within
``one_record`` (the backtest's parent rendering one event for every target schema), the text of
an event is written once and the same string is shared by every rendering that holds it.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator
from xml.sax.saxutils import escape, quoteattr

#: Distinct field names whose quoted form is remembered.
NAME_MEMO = 65536


def xml_escaped(value: Any) -> Any:
    """A string (or each string of a list) as XML text: ``&``, ``<``, ``>`` as entities."""
    if isinstance(value, list):
        return [xml_escaped(v) for v in value]
    return _escaped(value) if isinstance(value, str) else value


def _escaped(text: str, extra: dict[str, str] | None = None) -> str:
    """``escape(text, extra)``, skipping its replacements on text that holds nothing to escape
    (most values: the rendering of a Splunk record escapes every value of the event)."""
    if extra or type(text) is not str or "&" in text or "<" in text or ">" in text:
        return escape(text, extra or {})
    return text


#: ``<Data Name="...">`` of the event's field names (a handful of names, for every event).
_DATA_OPEN: dict[str, str] = {}


def _data_open(name: str) -> str:
    found = _DATA_OPEN.get(name)
    if found is None:
        found = f"<Data Name={quoteattr(name)}>"
        if len(_DATA_OPEN) < NAME_MEMO:
            _DATA_OPEN[name] = found
    return found


#: The record's ``<System>`` fields: not written as ``<Data>``.
_SYSTEM = frozenset({"EventID", "Channel"})


#: What libxml2's text writer escapes (xmlEncodeSpecialChars, used by Sysmon for Linux's
#: outputxml.c for every value), beyond the '&', '<' and '>' that Windows escapes too.
_LIBXML2_MORE = {'"': "&quot;", "\r": "&#13;"}


#: Inside ``one_record``: the texts written so far, ``libxml2`` -> (event, text); else None.
_ONE: dict[bool, tuple[dict[str, Any], str]] | None = None


@contextmanager
def one_record() -> Iterator[None]:
    """Within the block, ``raw_xml`` of an event it has written for the same ``libxml2`` (the
    same dict object, which the caller leaves unchanged in the block) returns that text again.

    The backtest's parent renders each event for every target schema (``splunk-sysmon`` and
    ``splunk-cim`` both write ``_raw``): the text is written once, and one string, not two
    equal ones, is pickled to the shards (all Windows rules over the OTRF events: a fifth of the
    bytes handed to each shard)."""
    global _ONE
    saved, _ONE = _ONE, {}
    try:
        yield
    finally:
        _ONE = saved


def raw_xml(event: dict[str, Any], libxml2: bool = False) -> str:
    """A Windows-event-log XML rendering of a Sigma event, as Splunk's ``_raw`` holds it
    (``libxml2``: a Sysmon for Linux record, whose values also escape '"' and a carriage
    return)."""
    if _ONE is not None:
        found = _ONE.get(libxml2)
        if found is not None and found[0] is event:
            return found[1]
        text = _raw_xml(event, libxml2)
        _ONE[libxml2] = (event, text)
        return text
    return _raw_xml(event, libxml2)


def _raw_xml(event: dict[str, Any], libxml2: bool) -> str:
    extra = _LIBXML2_MORE if libxml2 else {}
    # A null is no text of the record (every other field of the rendering leaves it out too);
    # it was written as the word "None", which a keyword search then found. A JSON object, or
    # an array inside the field's array, has no text in a <Data> element (the record's values
    # are texts): nothing is written, never its Python repr ("[['a']]", "{'b': 1}").
    parts: list[str] = []
    opens = _DATA_OPEN
    for k, values in event.items():
        if k in _SYSTEM:
            continue
        head = opens.get(k) if type(k) is str else None
        if head is None:
            head = _data_open(k if type(k) is str else str(k))
        if type(values) is str and not extra:
            # Most fields: one text (what the loop below does with it, without the loop).
            if "&" in values or "<" in values or ">" in values:
                values = escape(values)
            parts += (head, values, "</Data>")
            continue
        for v in values if isinstance(values, list) else (values,):
            if v is None or isinstance(v, (list, dict)):
                continue
            text = str(v)
            # ``_escaped`` inlined (every value of every Splunk rendering passes here).
            if extra or type(text) is not str or "&" in text or "<" in text or ">" in text:
                text = escape(text, extra)
            parts += (head, text, "</Data>")
    data = "".join(parts)
    system = (
        f"<System><EventID>{escape(str(event.get('EventID', '')))}</EventID>"
        f"<Channel>{escape(str(event.get('Channel', '')))}</Channel></System>"
    )
    return f"<Event>{system}<EventData>{data}</EventData></Event>"
