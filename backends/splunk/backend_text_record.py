"""Keywords on logs whose record is one line of text, kept whole as Splunk's ``_raw``.

A table entry declares such a logsource with the pipeline state ``text_record: true``
(``converter/mapping/tables/splunk-lines.yml``: sshd lines of /var/log/secure, Cisco IOS and
JunOS syslog messages, the Apache error log). The Sigma event of such a log holds the line as its
one value, so a keyword means "the line contains it" (the reference's "keywords" fact): a
substring of ``_raw`` under Sigma's wildcards and case folding. A bare SPL term does not say that
(it matches the indexed segments of ``_raw``, semantics ``search_bare_term_raw``); an anchored PCRE
over all of ``_raw`` does (``| regex`` without a field reads ``_raw``, semantics
``regex_default_field``), written with ``glob_to_pcre``'s explicit case partners.
"""

from __future__ import annotations

from typing import Any

from sigma.types import SigmaCasedString, SigmaString

from .spl_text import glob_to_pcre, spl_quote

#: The pipeline state that marks a logsource's records as text lines searched on ``_raw``.
TEXT_RECORD = "text_record"


def is_text_record(pipeline: Any) -> bool:
    """True when the rule's processing pipeline set the state ``text_record``."""
    state = getattr(pipeline, "state", None) or {}
    return bool(state.get(TEXT_RECORD))


def keyword_regex(value: SigmaString) -> str:
    """The SPL-quoted PCRE for "``_raw`` contains ``value``" (wildcards and case as Sigma's)."""
    contained = SigmaString("*") + value + SigmaString("*")  # the sum is a plain SigmaString
    return spl_quote(glob_to_pcre(contained, isinstance(value, SigmaCasedString)))
