"""What one SPL search term needs, decided outside the emitter class: the field name as SPL
writes it (``spl_field``), whether a value needs the exact regex test (remembered per value), the
values a processing pipeline added (the shipper's constants) and the regex tests that may be true
on the tstats fill string (``RegexHazard``, decided only when read).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import SigmaString

from backends.common import refuse_empty_field
from backends.query.errors import QueryError
from backends.query.matching import pcre_regex

from .semantics import SEMANTICS
from .spl_text import fill_pattern_matches, needs_exact_test


# Field names: the shape SPL search takes bare, and the words it reserves (semantics table). SPL1
# documents no quoting of other names in search, so they are refused, never written.
_FIELD_NAME = re.compile(str(SEMANTICS.get("search_field_name")) + r"\Z")
_RESERVED = SEMANTICS.typed("search_reserved_words", frozenset)


def spl_field(name: str) -> str:
    """``name`` as written in SPL (search, regex, rex, eval, tstats, table): bare, or refused.

    Raises:
        SigmaFeatureNotSupportedByBackendError: the name is empty, not of the shape in the
            ``search_field_name`` entry, or a reserved word (``search_reserved_words``).
    """
    if not _FIELD_NAME.match(refuse_empty_field(name)):
        raise SigmaFeatureNotSupportedByBackendError(
            f"field name {name!r} cannot be written in SPL: only letters, digits, '_' and '.' "
            "are valid and SPL search has no quoting for others (semantics entry "
            "search_field_name)"
        )
    if name in _RESERVED:
        raise SigmaFeatureNotSupportedByBackendError(
            f"field name {name!r} is an SPL search keyword (semantics entry search_reserved_words)"
        )
    return name


def multivalued(name: str | None, declared: frozenset[str] = frozenset()) -> bool:
    """True for a field named with a JSON array's ``{}`` (semantics json_array_fields), or one
    the rule's mapping entry declares multivalue (``declared``: state ``multivalue_fields``,
    e.g. Zeek's ``answers``, which the add-on aliases from ``answers{}``): one value per
    element, so a test on it must read every value (``mvfind``, not ``| regex``, whose reading
    of several values is not documented)."""
    return name is not None and ("{}" in name or name in declared)


def declared_multivalue(backend: Any) -> frozenset[str]:
    """The multivalue fields the rule's pipeline declares (state ``multivalue_fields``)."""
    state = getattr(getattr(backend, "last_processing_pipeline", None), "state", None) or {}
    return frozenset(state.get("multivalue_fields") or ())


def remembered_needs_exact_test(value: SigmaString, folding: bool) -> bool:
    """``needs_exact_test``, remembered per value text: it folds every letter of the value
    under several readings, and a corpus tests the same values again and again (each rule's
    conditions, its base filter, the CIM WHERE split)."""
    try:
        key = (type(value), tuple(value.s), folding)
        found = _NEEDS_EXACT.get(key)
    except TypeError:  # a part that is not hashable (a custom placeholder): decide it
        return needs_exact_test(value, folding=folding)
    if found is None:
        found = needs_exact_test(value, folding=folding)
        if len(_NEEDS_EXACT) >= _NEEDS_EXACT_LIMIT:
            _NEEDS_EXACT.clear()
        _NEEDS_EXACT[key] = found
    return found


_NEEDS_EXACT: dict[tuple[Any, ...], bool] = {}
_NEEDS_EXACT_LIMIT = 65536


def shipper_values(rule: Any) -> frozenset[int]:
    """Identities of the values of the detections a processing pipeline added to ``rule`` (the
    shipper's constants: ``source``, ``EventCode``).

    pySigma's AddConditionTransformation names such a detection ``_cond_...`` and records itself
    on it or on the rule (sigport's items are ``<table>-conditions``); sigport's SourceVariantsTransformation (item ``<table>-variants``, recorded on the
    rule) names it ``guard_<branch>__`` after prefixing every rule detection with its branch.
    Both marks are required, so a rule's own detection named ``_cond_x`` or ``guard_x`` never
    counts. Values are matched by identity: conditions (and the base filter's copies of them)
    hold the detection items' value objects.
    """
    detections = getattr(getattr(rule, "detection", None), "detections", None) or {}
    applied = [str(i) for i in getattr(rule, "applied_processing_items", ()) or ()]
    variants = any(i.endswith("-variants") for i in applied)
    conditions = any(i.endswith("-conditions") for i in applied)
    out: set[int] = set()
    for name, detection in detections.items():
        added = name.startswith("_cond_") and (
            conditions or getattr(detection, "applied_processing_items", None)
        )
        if added or (name.startswith("guard_") and variants):
            todo = list(detection.detection_items)
            while todo:
                item = todo.pop()
                if hasattr(item, "detection_items"):
                    todo.extend(item.detection_items)
                else:
                    out.update(id(v) for v in getattr(item, "value", ()) or ())
    return frozenset(out)


@dataclass(frozen=True)
class RegexHazard:
    """A regex test that is a fill hazard if it finds a match in the fill string.

    Decided only when asked (``holds``): the hazards are read by the CIM layout alone, and only
    up to the first that holds, while compiling every regex of a conversion to decide them all
    was a third of Splunk's conversion time. Equal patterns are one hazard (as their message).
    """

    pattern: str
    fill: str

    @property
    def message(self) -> str:
        """The hazard's text (as ``_fill_hazard`` records it)."""
        return f"the regex {self.pattern!r} matches {self.fill!r}"

    def holds(self) -> bool:
        """True when the regex finds a match in the fill string, or cannot be decided here."""
        return regex_finds(self.pattern, self.fill)


@dataclass(frozen=True)
class ValueHazard:
    """A search value that is a fill hazard if its term is true on the fill string
    (``spl_text.matches_fill``), decided only when asked, as ``RegexHazard``: deciding every
    value of every conversion compiled a regex per distinct value, though only the CIM layout
    reads the hazards. Equal values (the same message and pattern) are one hazard.
    """

    message: str
    #: ``spl_text.fill_pattern`` of the value (None: a placeholder, which counts as true).
    pattern: tuple[str, int] | None
    fill: str

    def holds(self) -> bool:
        """True when the value's term is true on the fill string."""
        return fill_pattern_matches(self.pattern, self.fill)


def regex_finds(pattern: str, text: str) -> bool:
    """``pcre_regex(pattern)`` finds a match in ``text``; True when it cannot be decided.

    Decided by the pattern's ``tester``: a string of character sets (most Sigma regexes) is
    tested as strings, the interpreter's own verdict (``plain_regex``), without compiling it in
    the regex engine, which was most of a cold CIM conversion's time (4.4 -> 0.8 CPU s on the
    3,810 patterns of ``rules/windows/process_creation``); the others run the regex as before.
    """
    key = (pattern, text)
    found = _REGEX_FINDS.get(key)
    if found is None:
        try:
            found = pcre_regex(pattern).tester(False)(text)
        except QueryError:
            found = True  # not decidable here: count it
        if len(_REGEX_FINDS) >= _REGEX_FINDS_LIMIT:
            _REGEX_FINDS.clear()
        _REGEX_FINDS[key] = found
    return found


#: ``regex_finds`` answers: the same pattern recurs across a rule's branches and targets.
_REGEX_FINDS: dict[tuple[str, str], bool] = {}
_REGEX_FINDS_LIMIT = 16384
