"""The Linux audit line's grammar as regular expressions: where a ``key=value`` pair starts, what a
value is, and which pair is the header's stamp.

auditd writes one line per record: ``type=<TYPE> msg=audit(<seconds>.<ms>:<serial>):`` and then
the record's pairs separated by spaces, each value between double quotes (never holding one:
auditd writes a string holding a quote, a space, a control character or a byte above 0x7E as
bare hex digits, the kernel's ``audit_log_n_untrustedstring``) or bare; a user-space record
writes its own pairs inside ``msg='...'``, and an enriched record appends its interpreted pairs
after a 0x1D group separator. Both the Splunk emitter (a PCRE of ``_raw``,
``backends/splunk/backend_text_record.py``) and the mapping functions that test a pair or a
keyword on a line kept whole (``converter/mapping/functions/auditd_pair.py``: Splunk's ``_raw``,
the Custom Logs integration's ``message`` on Elastic) read the line with these pieces.

Two spellings of the same tests:

* ``lookaround=True``: PCRE with look-ahead assertions (Splunk's ``| regex``);
* ``lookaround=False``: no assertion, so that a Lucene RegExp (EQL ``regex``, Lucene ``/.../``,
  ES|QL ``RLIKE``) can spell it exactly (``backends/lucene/pcre.py`` refuses look-arounds and
  anchors inside the pattern). The value's end is the top-level alternative's end (``\\Z``), and
  the header's stamp is excluded by key: no pair key is ``msg`` but the header's
  (``msg=audit(...):``) and a user-space record's ``msg='`` (whose bare value is empty: the
  ``'`` starts its pairs), so "a key other than ``msg``" reads the same values on every line
  auditd writes. A Sigma event holding a ``msg`` value of its own is no such line: the Elastic
  renderer refuses it (``converter/events/text_lines.py``).

Values are written with ``glob_pcre_body`` by the caller (letters with their case partners).
"""

from __future__ import annotations

import copy

from sigma.types import SigmaString, SpecialChars

from .splunk.spl_text import glob_pcre_body

#: Outside a quoted value: any character but a double quote, or a whole quoted value.
OUTSIDE = '(?:[^"]|"[^"]*")*'
#: What starts a pair: the separating space, the single quote that opens a user-space record's
#: msg='...' pairs, or the group separator before an enriched record's interpreted pairs.
PAIR_START = "[ '\\x1d]"
#: From the line's start to a pair's key (the line's first pair, or one after a pair start
#: outside every quoted value).
LINE_START = f"(?s)^(?:{OUTSIDE}{PAIR_START})?"
#: One character of a key or of a bare value (no separator, no quote, no group separator).
BARE = "[^ \"'\\x1d]"
#: A key (one word up to its '='), not the header's msg=audit(...): stamp (look-ahead).
KEY_LOOKAHEAD = "(?!msg=audit\\()[^ =\"'\\x1d]+="
#: One character of a key: a bare character but '='.
_KEY_CHAR = "[^ =\"'\\x1d]"
#: A key other than ``msg`` (no look-ahead): it differs from ``msg`` at one of its first three
#: characters, or is longer.
KEY_NOT_MSG = (
    "(?:"
    + "|".join((
        f"[^m =\"'\\x1d]{_KEY_CHAR}*",
        f"m(?:[^s =\"'\\x1d]{_KEY_CHAR}*)?",
        f"ms(?:[^g =\"'\\x1d]{_KEY_CHAR}*)?",
        f"msg{_KEY_CHAR}+",
    ))
    + ")="
)
#: Characters no bare value holds.
NOT_BARE = frozenset(" \"'\x1d")


def pair_pattern(key: str, quoted_body: str, bare_body: str | None, lookaround: bool) -> str:
    """The regex of "the line holds the pair ``key=<value>``": ``quoted_body`` is the whole
    value between double quotes (``[^"]`` for a wildcard), ``bare_body`` the whole bare value
    (``BARE`` for a wildcard), or None when the value holds a separator (no bare value does).
    ``key`` is a regex of the key itself (escaped by the caller)."""
    quoted = f'"{quoted_body}"'
    if lookaround:
        branches = [quoted]
        if bare_body is not None:
            # The bare value ends at a separator or at the end of the line ((?![\s\S]): \z,
            # which Python's re, validating the pattern, does not know).
            branches.append(bare_body + "(?=[ '\\x1d]|(?![\\s\\S]))")
        return f"{LINE_START}{key}=(?:{'|'.join(branches)})"
    if bare_body is None:
        return f"{LINE_START}{key}={quoted}"
    # Two top-level alternatives: the bare value's end is a separator or the line's end (\Z
    # ends the alternative, where a Lucene RegExp's implicit anchor is).
    start = LINE_START[len("(?s)"):]
    return f"{LINE_START}{key}={quoted}|{start}{key}={bare_body}(?:{PAIR_START}.*)?\\Z"


def keyword_pattern(quoted_body: str, bare_body: str | None, lookaround: bool) -> str:
    """The regex of "some value of the line contains it": ``quoted_body`` matches the keyword
    inside a quoted value (runs of ``[^"]`` around it), ``bare_body`` inside a bare one (runs of
    ``BARE``), None when the keyword holds a separator. The header's stamp is no value."""
    branches = [quoted_body] if bare_body is None else [quoted_body, bare_body]
    key = KEY_LOOKAHEAD if lookaround else KEY_NOT_MSG
    return f"{LINE_START}{key}(?:{'|'.join(branches)})"


def without_outer_stars(value: SigmaString) -> SigmaString:
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


def auditd_keyword_bodies(inner: SigmaString, cased: bool, text: str) -> tuple[str, str | None]:
    """The keyword ``inner`` (its outer ``*`` removed, ``text`` its literal characters) inside a
    quoted value and inside a bare one (None when it holds a separator, which no bare value
    does), for ``backends.auditd_text.keyword_pattern``."""
    quoted = '"[^"]*' + glob_pcre_body(inner, cased, '[^"]') + '[^"]*"'
    if NOT_BARE & set(text):
        return quoted, None
    return quoted, f"{BARE}*" + glob_pcre_body(inner, cased, BARE) + f"{BARE}*"
