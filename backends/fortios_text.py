"""The FortiOS log line's grammar as a regular expression: where a ``key="value"`` pair of a
string field is, read without tracking the line's other values.

FortiOS writes a log message as ``key=value`` pairs separated by one space (FortiOS Log Message
Reference, "Log schema structure" and every message's example; community.fortinet.com article
387138 prints ``logid="0100044547"`` lines), and since FortiOS 5.6.0 "the value of every string
type field is now enclosed in double quotes" (Log Message Reference 5.6.14, "What's new");
numbers (``uint32`` ``cfgtid``) are bare. The reference does not say how a double quote or a
backslash inside a string value is written; Elastic's FortiGate integration reads such values
as written after a backslash (elastic/integrations pull 18156, "escaped quotes in key/value
pairs"). So the test below rests only on this: no string value holds a double quote as written
(it is escaped, or the line could be read by no parser at all).

The test of ``key`` holding the whole string value ``v`` is "the line holds ``key="v"`` at its
start or after a space", with ``v`` holding no double quote, no backslash, no control character,
not empty and not starting with a space (the caller refuses others). It is exact without
following the quotes of the line's other values:

* the double quote after ``key=`` is the line's; a quote escaped inside a value follows a
  backslash, not ``=``. If it opens a value, ``key=`` before it is that pair's key (the space
  before the key is the pair separator) and ``v`` runs to the next double quote, which follows
  no backslash (``v`` holds none) and so closes the value: ``v`` is the whole value.
* if it closes a value (a value ending in `` key=``), what follows is the separating space, and
  ``v`` starts with no space: no match.

Spelled with no look-around and no anchor inside the pattern, so that a Lucene RegExp (EQL
``regex``, Lucene ``/.../``, ES|QL ``RLIKE``) spells it exactly (``backends/lucene/pcre.py``).
"""

from __future__ import annotations

import re

#: What a tested string value may not hold (see the module docstring): the quote and the
#: backslash, whose writing the reference does not state, and control characters.
UNREADABLE = re.compile(r'["\\\x00-\x1f\x7f]')


def fortios_pair_pattern(key: str, quoted_body: str) -> str:
    """The regex of "the line holds the string pair ``key="<value>"``": ``quoted_body`` is the
    whole value (letters with their case partners, written by the caller), ``key`` the regex of
    the key (escaped by the caller)."""
    return f'(?s)^(?:.* )?{key}="{quoted_body}"'
