"""Keywords on a logsource whose records come in several kinds, each searched on its own ``_raw``.

``product: linux`` alone (``splunk-lines.yml`` linux-any) names every Linux log: text lines
(syslog, the authentication log), Linux audit lines and Sysmon for Linux's XML records. A record
has exactly one kind, told by its sourcetype or source, so a keyword is exactly the OR over the
kinds of "the record is of this kind and its ``_raw`` holds the keyword as that kind writes
values" (pipeline state ``record_kinds``: a list of ``{guard: {field: value or [values]}, kind:
text_record | auditd_record | xml_record}``).

``xml_record``: Sysmon for Linux writes its record as XML with libxml2, which escapes ``&``, ``<``,
``>``, ``"`` and a carriage return in text as entities (semantics
``sysmon_linux_values_entities_unknown``); ``_raw`` holds the record as written (security_content
``sysmon_for_linux_eventid_1.yml`` example_log: ``<Event><System>...<EventID>1</EventID>...
<Data Name="CommandLine">...</Data>``). A value is the text of one element, so a keyword is found
after a tag's ``>`` and before the next ``<``, read in characters or whole entities (a wildcard
never stops inside an entity, the keyword never starts inside one). The System elements the Sigma
event does not hold (``Version``, ``Level``, ``Task``, ``Opcode``, ``Keywords``, ``EventRecordID``)
hold digits and ``0x`` hex only: a keyword must have a character outside those to be exact.
"""

from __future__ import annotations

import re
from typing import Any

from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import SigmaCasedString, SigmaString

from ..auditd_text import without_outer_stars
from .backend_text_record import auditd_keyword_regex, keyword_regex
from .semantics import SEMANTICS
from .spl_text import glob_pcre_body, spl_quote

#: The pipeline state that lists a logsource's record kinds (see the module docstring).
RECORD_KINDS = "record_kinds"

_PAIRS = SEMANTICS.typed("sysmon_linux_values_entities_unknown", tuple)
#: Character -> the entity libxml2 writes for it in text.
_ENTITIES: dict[str, str] = dict(zip(_PAIRS[0::2], _PAIRS[1::2]))
#: One character of a value in an element's text: a whole entity or a plain character.
_TOKEN = "(?:&(?:" + "|".join(re.escape(e[1:-1]) for e in _ENTITIES.values()) + ");|[^&<])"
#: What the System elements no Sigma field holds are made of (decimal and 0x-hex numbers).
_SYSTEM_NUMBER_TEXT = frozenset("0123456789abcdefABCDEFxX")
#: A guard's field and values: plain words (sourcetypes, sources).
_GUARD_VALUE = re.compile(r"[\w:./-]+")


def xml_keyword_regex(value: SigmaString) -> str:
    """The SPL-quoted PCRE for "the text of some element of the XML record contains ``value``".

    Raises:
        SigmaFeatureNotSupportedByBackendError: a keyword that a System number's text could hold.
    """
    text = "".join(p for p in value.s if isinstance(p, str))
    if set(text) <= _SYSTEM_NUMBER_TEXT:
        raise SigmaFeatureNotSupportedByBackendError(
            f"the keyword {value.original!r} could be part of a number of the record's System "
            "elements (Version, Level, Task, Opcode, Keywords, EventRecordID), which no Sigma "
            "field holds"
        )
    inner = without_outer_stars(value)
    encoded = SigmaString()
    encoded.s = tuple(  # type: ignore[assignment]  # pySigma keeps the parts as a tuple
        "".join(_ENTITIES.get(c, c) for c in p) if isinstance(p, str) else p for p in inner.s
    )
    body = glob_pcre_body(encoded, isinstance(value, SigmaCasedString), _TOKEN)
    return spl_quote(f"(?s)>{_TOKEN}*{body}{_TOKEN}*<")


_KIND_REGEX = {
    "text_record": keyword_regex,
    "auditd_record": auditd_keyword_regex,
    "xml_record": xml_keyword_regex,
}


def _guard(guard: dict[str, Any]) -> str:
    """The search expression of a kind's guard (``field="v"`` or ``field IN ("v", ...)``)."""
    parts = []
    for field, values in guard.items():
        items = values if isinstance(values, list) else [values]
        if not _GUARD_VALUE.fullmatch(field) or not all(
                _GUARD_VALUE.fullmatch(str(v)) for v in items):
            raise SigmaFeatureNotSupportedByBackendError(f"record kind guard {guard!r}: not plain")
        quoted = ", ".join(f'"{v}"' for v in items)
        parts.append(f'{field}="{items[0]}"' if len(items) == 1 else f"{field} IN ({quoted})")
    return " ".join(parts)


def kind_regexes(pipeline: Any, value: SigmaString) -> list[tuple[str, str]] | None:
    """(guard expression, SPL-quoted ``_raw`` PCRE) per record kind of the pipeline's logsource,
    or None when it declares no kinds."""
    state = getattr(pipeline, "state", None) or {}
    kinds = state.get(RECORD_KINDS)
    if not kinds:
        return None
    return [(_guard(kind["guard"]), _KIND_REGEX[kind["kind"]](value)) for kind in kinds]
