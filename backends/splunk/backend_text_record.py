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

import copy
from typing import Any

from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import SigmaCasedString, SigmaString, SpecialChars

from .spl_text import glob_pcre_body, glob_to_pcre, spl_quote

#: The pipeline state that marks a logsource's records as text lines searched on ``_raw``.
TEXT_RECORD = "text_record"
#: The pipeline state that marks a logsource's records as Linux audit lines (``key=value``).
AUDITD_RECORD = "auditd_record"

#: Outside a quoted value: any character but a double quote, or a whole quoted value.
_OUTSIDE = '(?:[^"]|"[^"]*")*'
#: What starts a pair: the line's start, the separating space, the single quote that opens a
#: user-space record's msg='...' pairs, or the group separator before an enriched record's
#: interpreted pairs.
_PAIR_START = "[ '\\x1d]"
#: From the line's start to a pair's key (the line's first pair, or one after a pair start
#: outside every quoted value).
AUDITD_LINE_START = f"(?s)^(?:{_OUTSIDE}{_PAIR_START})?"
#: A key (one word up to its '='), not the header's msg=audit(...): stamp.
_KEY = "(?!msg=audit\\()[^ =\"'\\x1d]+="
#: One character of a bare value.
AUDITD_BARE = "[^ \"'\\x1d]"


def _inner(value: SigmaString) -> SigmaString:
    """``value`` without its leading and trailing ``*`` (the regexes put a run of value
    characters on both sides already; two adjacent runs would only make the match slower)."""
    parts = list(value.s)
    while parts and parts[0] is SpecialChars.WILDCARD_MULTI:
        parts.pop(0)
    while parts and parts[-1] is SpecialChars.WILDCARD_MULTI:
        parts.pop()
    inner = copy.copy(value)
    inner.s = tuple(parts)  # type: ignore[assignment]  # pySigma keeps the parts as a tuple
    return inner


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

    The line is read from its start over whole quoted values (``_OUTSIDE``), so a pair is only
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
    cased, inner = isinstance(value, SigmaCasedString), _inner(value)
    quoted = '"[^"]*' + glob_pcre_body(inner, cased, '[^"]') + '[^"]*"'
    branches = [quoted]
    if not set(text) & set(" '\x1d"):
        bare = AUDITD_BARE
        branches.append(f"{bare}*" + glob_pcre_body(inner, cased, bare) + f"{bare}*")
    regex = f"{AUDITD_LINE_START}{_KEY}(?:{'|'.join(branches)})"
    return spl_quote(regex)


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
        glob_pcre_body(_inner(value), isinstance(value, SigmaCasedString), _JSON_UNIT))
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
