"""The pipeline step for data sources whose field values keep XML entities (``value_encoding``).

The Splunk Windows add-ons extract ``XmlWinEventLog`` fields with regexes over the raw XML, so a
command line ``a & b`` is the field value ``a &amp; b`` (semantics entry
``xmlwineventlog_values_entity_encoded`` of ``backends/splunk/semantics.py``; the table's
``sources.<data source>.value_encoding: xml_text``). ``EntityEncodedValues`` writes every Sigma
string of a rule the way the add-on holds it, and every regex as a regex on that text
(``entity_regex``: entities where the pattern may match ``&``, ``<`` or ``>``, a match that
cannot start inside one); a regex with a construct that translation does not handle is kept
with a warning that it is exact only on values without ``&``, ``<`` and ``>`` (``check`` then
calls the query "not proven", never equivalent). Patterns whose SPL glob could match inside an
entity are left to the emitter, which tests them token by token (``backends/splunk/xml_text.py``).

``UnknownEntityCheck`` serves a source whose extraction may or may not decode the entities
(Sysmon for Linux, ``value_encoding: xml_text_unknown``): a test that reads alike on both texts
stays, a string or regex test that could read otherwise becomes a regex on the record's ``_raw``
(``converter/mapping/raw_element.py``), and anything else is flagged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sigma.processing.transformations.base import DetectionItemTransformation
from sigma.rule import SigmaDetectionItem
from sigma.types import (
    SigmaExpansion,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)

from backends.splunk.xml_text import NotTranslatable, encode_value, entity_regex
from converter.mapping.declared import warn_on_rule
from converter.mapping.functions.unnamed_data import RecordTextRegex
from converter.mapping.raw_element import ENTITIES as _UNKNOWN_ENTITIES
from backends.query.sre import sre_constants as _sre, sre_parse as _sre_parse
from converter.mapping.raw_element import on_raw_element


@dataclass
class EntityEncodedValues(DetectionItemTransformation):
    """Encode the rule's string values as XML text; keep or flag its regexes (see the module)."""

    data_source: str = ""

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> None:
        """Rewrite the item's values in place (its field and modifiers stay)."""
        detection_item.value = [self._value(v, detection_item) for v in detection_item.value]

    def _value(self, value: Any, item: SigmaDetectionItem) -> Any:
        if isinstance(value, SigmaExpansion):
            return SigmaExpansion([self._value(v, item) for v in value.values])
        if isinstance(value, SigmaString):
            return encode_value(value)
        if isinstance(value, RecordTextRegex):
            return value  # written on the XML text itself (xml_unnamed_data)
        if isinstance(value, SigmaRegularExpression):
            try:
                return SigmaRegularExpression(entity_regex(str(value.regexp)), value.flags)
            except NotTranslatable as reason:
                warn_on_rule(
                    self._rule,
                    f"{item.field or 'keyword'}: on data_source={self.data_source} the add-on's "
                    "values keep XML entities ('&' is '&amp;', '<' '&lt;', '>' '&gt;'), and this "
                    f"regex has no form on that text here ({reason}); it is kept as written, "
                    "exact only on values without '&', '<' and '>'",
                )
        return value

    def apply(self, rule: Any) -> None:
        """Remember the rule (warnings go on it), then visit its detection items."""
        self._rule = rule
        super().apply(rule)


#: The text of each entity after its "&": a literal placed freely can match inside one.
_ENTITY_BODIES = tuple(entity[1:] for entity in _UNKNOWN_ENTITIES.values())
#: Characters a regex must never match for its verdict to be the same on both texts: the
#: escaped characters and every character of an entity, in either case (checked caselessly).
_ENTITY_CHARS = frozenset("".join(_UNKNOWN_ENTITIES) + "".join(_UNKNOWN_ENTITIES.values()))


@dataclass
class UnknownEntityCheck(DetectionItemTransformation):
    """Flag each test whose verdict depends on whether the add-on decodes XML entities.

    Sysmon for Linux writes ``&``, ``<``, ``>``, ``"`` and a carriage return of a value as
    entities (``value_encoding: xml_text_unknown``), and how the Splunk add-on extracts fields
    from that XML is not established: it may hold the value as written (``a &amp; b``) or
    decoded (``a & b``). The query tests the decoded value; a test is flagged, with a warning
    that makes ``check`` call the query "not proven", when its verdict could differ between the
    two texts: a value holding one of those characters, a ``?`` (one character, where an entity
    is several), a literal after a wildcard that could begin inside an entity (a prefix of it
    ends like an entity, ``mp;`` or ``;``, or it lies within ``amp``, ``lt``, ``gt``, ``quot``
    or ``#13``, compared case-insensitively as search does, unless it ends the value), and
    every regular expression that could match one of the escaped characters or an entity's
    (``_regex_reads_alike``). A literal anchored at the start cannot begin inside an entity;
    other values read the same either way. With ``raw_data`` (the raw-search target, whose
    field names are the record's ``<Data Name="X">`` names) a flagged item is rewritten
    instead as regexes on that element of ``_raw``, which holds the record as written
    (``converter/mapping/raw_element.py``); only what has no such form keeps the warning.
    """

    data_source: str = ""
    #: The item's field names are the record's ``<Data Name="X">`` names and the query may test
    #: ``_raw`` (the raw-search target; not the CIM data models, whose names are the model's).
    raw_data: bool = False

    def apply(self, rule: Any) -> None:
        """Remember the rule (warnings go on it), then visit its detection items."""
        self._rule = rule
        super().apply(rule)

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> None:
        """Rewrite to ``_raw``, or else warn once, an item whose values could read differently
        on the entity text."""
        for value in detection_item.value:
            reason = _entity_dependence(value)
            if reason is not None:
                if self.raw_data and on_raw_element(detection_item):
                    return
                warn_on_rule(
                    self._rule,
                    f"{detection_item.field or 'keyword'}: on data_source={self.data_source} "
                    "the records' XML writes '&', '<', '>', '\"' and a carriage return as "
                    "entities, and whether the add-on's field extraction decodes them is not "
                    f"established; {reason}, so the query is exact only if it does",
                )
                return


def _entity_dependence(value: Any) -> str | None:
    """Why a Sigma value's verdict could differ on entity-encoded text, or None."""
    if isinstance(value, SigmaExpansion):
        return next((r for r in map(_entity_dependence, value.values) if r is not None), None)
    if isinstance(value, SigmaRegularExpression):
        multiline = SigmaRegularExpressionFlag.MULTILINE in value.flags
        if _regex_reads_alike(str(value.regexp), multiline):
            return None
        return f"the regular expression {str(value.regexp)!r} may match inside an entity"
    if not isinstance(value, SigmaString):
        return None
    floating = False  # the literal follows a wildcard: it can start anywhere
    parts = list(value.s)
    for index, part in enumerate(parts):
        if part == SpecialChars.WILDCARD_SINGLE:
            return f"'?' in {str(value)!r} is one character, an entity several"
        if part == SpecialChars.WILDCARD_MULTI:
            floating = True
            continue
        if not isinstance(part, str):
            continue  # a placeholder: refused or expanded elsewhere
        special = next((c for c in part if c in _UNKNOWN_ENTITIES), None)
        if special is not None:
            return (f"the value {str(value)!r} holds {special!r}, written "
                    f"{_UNKNOWN_ENTITIES[special]}")
        # Floating, it can begin inside an entity and end at or past its ';' (a prefix of the
        # literal is a suffix of an entity), or lie inside one (unless it ends the value: the
        # text ends with a character or an entity's ';'). The literal holds no '&', so it can
        # never begin before an entity and reach into it.
        folded, last = part.lower(), index == len(parts) - 1
        if floating and (_prefix_ends_an_entity(folded)
                         or not last and any(folded in b for b in _ENTITY_BODIES)):
            return f"{part!r} in {str(value)!r} could match inside an entity"
        floating = False
    return None


def _prefix_ends_an_entity(folded: str) -> bool:
    """True when some prefix of the (case-folded) literal is a suffix of an entity's text after
    its '&' ("mp;", ";", "#13;", ...): placed there, the literal starts inside the entity."""
    return any(folded[: i + 1] and body.endswith(folded[: i + 1])
               for i, char in enumerate(folded) if char == ";" for body in _ENTITY_BODIES)


#: Regex escapes kept by the analysis: a backslash before punctuation only (a letter or digit
#: escape is a class, an anchor or a code that PCRE and Python's parser may read differently).
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)


def _regex_reads_alike(pattern: str, multiline: bool = False) -> bool:
    """True when a regex's verdict cannot differ between a value and its entity-encoded text.

    Sufficient condition, checked on Python's parse of the pattern: every character the regex
    can match is neither an escaped character nor a character of an entity (compared in both
    cases), and its only assertion is the start of the text (not of a line, which depends on
    the engine's newline characters). Then a match lies wholly outside
    the entities on the encoded text, and each match on one text is a match on the other at
    the same place among the unescaped characters. Classes such as ``\\s`` (a carriage
    return), ``\\d`` (the 1 and 3 of ``&#13;``), ``.`` and negations always fail the test.
    Anything the parse may read otherwise than Splunk's PCRE (letter escapes, ``{,n}``,
    POSIX classes, inline comments and flags, every group but ``(?:``) fails it too.
    """
    if any(not esc.isascii() or esc.isalnum() for esc in _ESCAPE.findall(pattern)):
        return False
    if "{," in pattern or "[:" in pattern or "(?" in pattern.replace("(?:", ""):
        return False
    try:
        parsed = _sre_parse.parse(pattern, 0)
    except Exception:  # noqa: BLE001 - any parse failure: keep the warning
        return False
    return _matches_only_safe(parsed, multiline)


def _safe_char(code: int) -> bool:
    char = chr(code)
    return not {char, char.lower(), char.upper()} & _ENTITY_CHARS


def _matches_only_safe(sub: Any, multiline: bool) -> bool:
    """Walk a parsed pattern; see ``_regex_reads_alike`` for what is kept."""
    for op, av in sub:
        if op is _sre.LITERAL:
            ok = _safe_char(av)
        elif op is _sre.IN:
            ok = all(
                kind is _sre.LITERAL and _safe_char(arg)
                or kind is _sre.RANGE and all(_safe_char(c) for c in range(arg[0], arg[1] + 1))
                for kind, arg in av
            )
        elif op is _sre.BRANCH:
            ok = all(_matches_only_safe(branch, multiline) for branch in av[1])
        elif op is _sre.SUBPATTERN:
            ok = not av[1] and not av[2] and _matches_only_safe(av[3], multiline)
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) or op is getattr(
            _sre, "POSSESSIVE_REPEAT", None
        ):
            ok = _matches_only_safe(av[2], multiline)
        elif op is getattr(_sre, "ATOMIC_GROUP", None):
            ok = _matches_only_safe(av, multiline)
        elif op is _sre.AT:
            ok = av is _sre.AT_BEGINNING_STRING or av is _sre.AT_BEGINNING and not multiline
        else:  # any character, classes, negations, lookarounds, backreferences
            ok = False
        if not ok:
            return False
    return True

