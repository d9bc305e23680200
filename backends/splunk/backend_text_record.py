"""Keywords on logs whose record Splunk keeps as ``_raw`` in a shape that tells values apart.

A table entry declares such a logsource with a pipeline state:

* ``text_record: true``: the record is one line of text
  (``converter/mapping/tables/splunk-lines.yml``: sshd lines of /var/log/secure, Cisco IOS and
  JunOS syslog messages, the Apache error log). The Sigma event of such a log holds the line as
  its one value, so a keyword means "the line contains it" (the reference's "keywords" fact): a
  substring of ``_raw`` under Sigma's wildcards and case folding.
* ``auditd_record: true``: the record is a Linux audit line of ``key=value`` pairs
  (``splunk-linux.yml``, sourcetype ``linux:audit``), each value written between double quotes
  (never holding one: auditd writes such a string as hex) or bare (no space, no quote); the
  header's ``msg=audit(<time>:<serial>):`` stamp is no value. A keyword means "some value
  contains it": a PCRE that reads the line from its start, pair by pair, and finds the keyword
  inside one value (``auditd_keyword_regex``).

* ``json_record: true``: the record is one JSON object whose keys are the Sigma names (Zeek's
  JSON logs, ``splunk-zeek.yml``): a keyword means "some string value contains it". The PCRE reads
  the object from its start over whole strings (escapes as units), finds a string that no ``:``
  follows (a value, not a key) and the keyword inside it at a unit boundary
  (``json_keyword_regex``). Exact whatever the writer escapes only for keywords of printable
  ASCII characters no JSON writer escapes, and only when no number or boolean text can hold them.

A bare SPL term says none of these (it matches the indexed segments of ``_raw``, semantics
``search_bare_term_raw``); a PCRE over ``_raw`` does (``| regex`` without a field reads ``_raw``,
semantics ``regex_default_field``), written with ``glob_to_pcre``'s explicit case partners.
"""

from __future__ import annotations

from typing import Any

from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import SigmaCasedString, SigmaString, SpecialChars

from ..auditd_text import auditd_keyword_bodies, keyword_pattern, without_outer_stars
from .spl_text import glob_pcre_body, glob_to_pcre, spl_quote

#: The pipeline state that marks a logsource's records as text lines searched on ``_raw``.
TEXT_RECORD = "text_record"
#: The pipeline state that marks a logsource's records as Linux audit lines (``key=value``).
AUDITD_RECORD = "auditd_record"

# The audit line's grammar (pair starts, bare values, the header's stamp) is shared with the
# mapping functions that test a pair on the line: backends/auditd_text.py.

def is_text_record(pipeline: Any) -> bool:
    """True when the rule's processing pipeline set the state ``text_record`` and every record
    of its logsource is a text line (not several record kinds: ``backend_record_kinds.py``)."""
    state = getattr(pipeline, "state", None) or {}
    return bool(state.get(TEXT_RECORD)) and not state.get("record_kinds")


def keyword_regex(value: SigmaString) -> str:
    """The SPL-quoted PCRE for "``_raw`` contains ``value``" (wildcards and case as Sigma's)."""
    contained = SigmaString("*") + value + SigmaString("*")  # the sum is a plain SigmaString
    return spl_quote(glob_to_pcre(contained, isinstance(value, SigmaCasedString)))


def auditd_keyword_regex(value: SigmaString) -> str:
    """The SPL-quoted PCRE for "some value of the audit line contains ``value``".

    The line is read from its start over whole quoted values (``backends.auditd_text.OUTSIDE``), so a pair is only
    ever found where one starts; the keyword is then matched inside that pair's quoted value
    (wildcards within it) or, when it holds no space or quote, inside its bare value.

    Raises:
        SigmaFeatureNotSupportedByBackendError: the keyword holds a double quote, which no
            value of the line holds as written (its test would need the hex form).
    """
    text = "".join(p for p in value.s if isinstance(p, str))
    if '"' in text:
        raise SigmaFeatureNotSupportedByBackendError(
            f"the keyword {value.original!r} holds a double quote: auditd writes a value holding "
            "one as hex, so no value of the audit line contains it as written"
        )
    cased, inner = isinstance(value, SigmaCasedString), without_outer_stars(value)
    return spl_quote(keyword_pattern(*auditd_keyword_bodies(inner, cased, text), lookaround=True))


#: The pipeline state that marks a logsource's records as JSON objects keyed by Sigma names.
JSON_RECORD = "json_record"
#: Characters every JSON writer writes as themselves (printable ASCII but the quote and backslash
#: JSON escapes, the solidus some writers escape, and '<', '>', '&', "'" that HTML-safe writers
#: write as \u escapes).
_JSON_PLAIN = frozenset(chr(c) for c in range(0x20, 0x7F)) - set('"\\/<>&\'')
#: Characters of a JSON number's or boolean's text (the reference reads those as text too).
_JSON_SCALAR_TEXT = frozenset("0123456789+-.eEtruefalsTRUEFALS")
#: One character unit of a JSON string: a plain character or an escape sequence.
_JSON_UNIT = '(?:[^"\\\\]|\\\\.)'


def _json_partners(body: str) -> str:
    """``body`` with each non-ASCII case partner (``(?:k|K|\u212a)``) also allowed as the
    ``\\uXXXX`` escape an ASCII-only writer uses for it."""
    out = []
    for ch in body:
        if ord(ch) > 0x7F:
            hexes = "".join(f"[{d.lower()}{d.upper()}]" if d.isalpha() else d
                            for d in f"{ord(ch):04x}")
            out.append(f"{ch}|\\\\u{hexes}")
        else:
            out.append(ch)
    return "".join(out)


def json_keyword_regex(value: SigmaString) -> str:
    """The SPL-quoted PCRE for "some string value of the JSON object contains ``value``".

    Raises:
        SigmaFeatureNotSupportedByBackendError: a keyword with a character some writer escapes,
            with ``?`` (one character may be several escaped ones), or one that a number's or a
            boolean's text could hold (the regex reads strings only).
    """
    text = "".join(p for p in value.s if isinstance(p, str))
    if not set(text) <= _JSON_PLAIN or SpecialChars.WILDCARD_SINGLE in value.s:
        raise SigmaFeatureNotSupportedByBackendError(
            f"the keyword {value.original!r} holds a character a JSON writer may escape (a "
            "quote, backslash, '/', '<', '>', '&', a control or non-ASCII character) or a '?' "
            "(one character of the value may be an escape of several): no PCRE of the JSON "
            "text is exactly 'some value contains it'"
        )
    if set(text) <= _JSON_SCALAR_TEXT:
        raise SigmaFeatureNotSupportedByBackendError(
            f"the keyword {value.original!r} could be part of a number's or a boolean's text, "
            "which the JSON record writes unquoted: the PCRE reads string values only"
        )
    body = _json_partners(
        glob_pcre_body(without_outer_stars(value), isinstance(value, SigmaCasedString), _JSON_UNIT))
    regex = (f'(?s)^(?:[^"]|"{_JSON_UNIT}*")*"{_JSON_UNIT}*{body}{_JSON_UNIT}*"'
             "(?![ \\t\\r\\n]*:)")
    return spl_quote(regex)


def raw_keyword_regex(pipeline: Any, value: SigmaString) -> str | None:
    """The exact ``_raw`` PCRE of a keyword on this pipeline's records, or None (no state)."""
    state = getattr(pipeline, "state", None) or {}
    if state.get(TEXT_RECORD):
        return keyword_regex(value)
    if state.get(AUDITD_RECORD):
        return auditd_keyword_regex(value)
    if state.get(JSON_RECORD):
        return json_keyword_regex(value)
    return None
