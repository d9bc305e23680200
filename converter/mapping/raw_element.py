"""Tests written on a record's ``_raw`` XML element, for values whose entities are in doubt.

Sysmon for Linux writes each value with libxml2, which escapes ``&``, ``<``, ``>``, ``"`` and a
carriage return as entities (semantics ``sysmon_linux_values_entities_unknown``), and whether the
Splunk add-on's field extraction decodes them is not established. The record itself, ``_raw``,
holds ``<Data Name="X">value</Data>`` as written. A test on field ``X`` becomes a regex on that
element here, one character of the decoded value at a time: an entity, or any character but
``&`` and ``<`` (``TOKEN``; the writer escapes both, so a match never runs past ``</Data>``).

* A Sigma string: its literal characters as the record holds them (letters with their case
  partners, as ``glob_to_pcre`` writes them), a wildcard as a run of tokens.
* A Sigma regex (no flags): rebuilt from Python's parse of it (``re`` syntax with PCRE's ASCII
  shorthand classes, as the reference reads it): a literal special character as its entity,
  every class or ``.`` as "one of the entities it matches, or a raw character it matches that
  is not ``&`` or ``<``", groups, alternatives and repeats kept, a leading ``^`` / ``\\A`` as
  the element's start, a trailing ``$`` / ``\\Z`` as its end. Anything else (lookarounds,
  backreferences, other anchors, flags, escapes of other letters) has no form here: ``None``.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from sigma.rule import SigmaDetectionItem
from sigma.types import SigmaCasedString, SigmaRegularExpression, SigmaString

from backends.splunk.semantics import SEMANTICS
from backends.splunk.spl_text import glob_to_pcre
from converter.mapping.functions.unnamed_data import RecordTextRegex

from backends.query.sre import sre_constants as _sre, sre_parse as _sre_parse

_PAIRS = SEMANTICS.typed("sysmon_linux_values_entities_unknown", tuple)
#: Character -> entity of libxml2's ``xmlEncodeSpecialChars``.
ENTITIES: dict[str, str] = dict(zip(_PAIRS[0::2], _PAIRS[1::2]))
#: One character of the decoded value in the element's text.
TOKEN = "(?:&(?:" + "|".join(re.escape(e[1:-1]) for e in ENTITIES.values()) + ");|[^&<])"
#: System elements of a Sysmon record (``<System><EventID>``, ...): no ``<Data Name>`` holds them.
SYSTEM_ELEMENTS = frozenset({"EventID", "EventCode", "Channel", "Computer"})

_CATEGORIES = {
    _sre.CATEGORY_DIGIT: "\\d", _sre.CATEGORY_NOT_DIGIT: "\\D",
    _sre.CATEGORY_SPACE: "\\s", _sre.CATEGORY_NOT_SPACE: "\\S",
    _sre.CATEGORY_WORD: "\\w", _sre.CATEGORY_NOT_WORD: "\\W",
}
#: Letters whose escape is one of the classes above; any other letter escape is refused.
_CLASS_ESCAPES = frozenset("dDsSwW")


class NoElementForm(ValueError):
    """The value has no form as a regex on the element (the reason is the message)."""


def on_raw_element(item: SigmaDetectionItem) -> bool:
    """Rewrite the item as regexes on ``_raw``'s ``<Data Name="X">`` element; False (the item
    left as it is) when its field is no such element or a value has no form here."""
    field = item.field
    if not field or field in SYSTEM_ELEMENTS or not re.fullmatch(r"\w+", field):
        return False
    try:
        patterns = [element_pattern(field, value) for value in item.value]
    except NoElementForm:
        return False
    item.value = [RecordTextRegex(p) for p in patterns]
    item.field = "_raw"
    return True


def element_pattern(field: str, value: Any) -> str:
    """The PCRE of ``<Data Name="field">`` whose text is ``value`` encoded (a string's whole
    value; a regex's match anywhere in it)."""
    head = f'<Data Name="{field}">'
    if isinstance(value, SigmaRegularExpression):
        return head + _regex_body(str(value.regexp), bool(value.flags)) + "</Data>"
    if not isinstance(value, SigmaString) or value.contains_placeholder():
        raise NoElementForm(f"{value!r} is no plain string or regex")
    encoded = copy.copy(value)
    encoded.s = tuple(  # type: ignore[assignment]  # pySigma keeps the parts as a tuple
        "".join(ENTITIES.get(c, c) for c in p) if isinstance(p, str) else p for p in value.s
    )
    anchored = glob_to_pcre(encoded, isinstance(value, SigmaCasedString), one=TOKEN)
    start, end = "(?s)^", SEMANTICS.typed("regex_end_of_subject", str)
    assert anchored.startswith(start) and anchored.endswith(end), anchored
    return head + anchored[len(start):-len(end)] + "</Data>"


def _regex_body(pattern: str, flagged: bool) -> str:
    """A Sigma regex as the element text between the tags, or NoElementForm."""
    if flagged:
        raise NoElementForm("a regex with flags")
    if any(c.isascii() and c.isalnum() and c not in _CLASS_ESCAPES
           for c in re.findall(r"\\(.)", pattern, re.DOTALL)):
        raise NoElementForm("a letter or digit escape")
    try:
        tree = _sre_parse.parse(pattern, re.ASCII)
    except Exception as error:  # noqa: BLE001 - any parse failure: no form
        raise NoElementForm(f"the regex does not parse: {error}") from None
    if tree.state.flags & (re.IGNORECASE | re.MULTILINE | re.DOTALL | re.VERBOSE):
        raise NoElementForm("inline flags")
    parsed = list(tree)
    start = bool(parsed) and parsed[0] in (
        (_sre.AT, _sre.AT_BEGINNING), (_sre.AT, _sre.AT_BEGINNING_STRING))
    if start:
        parsed = parsed[1:]
    end = TOKEN + "*"  # unanchored: any rest of the value
    if parsed and parsed[-1] == (_sre.AT, _sre.AT_END):
        parsed, end = parsed[:-1], "\\n?"  # '$' also holds before a final newline
    elif parsed and parsed[-1] == (_sre.AT, _sre.AT_END_STRING):
        parsed, end = parsed[:-1], ""
    return ("" if start else TOKEN + "*?") + _sequence(parsed) + end


def _sequence(items: Any) -> str:
    return "".join(_atom(op, av) for op, av in items)


def _atom(op: Any, av: Any) -> str:
    if op is _sre.LITERAL:
        char = chr(av)
        return f"(?:{ENTITIES[char]})" if char in ENTITIES else re.escape(char)
    if op is _sre.NOT_LITERAL:
        return _one("[^" + re.escape(chr(av)) + "]")
    if op is _sre.ANY:
        return _one("[^\\n]")
    if op is _sre.IN:
        return _one(_class_text(av))
    if op is _sre.BRANCH:
        return "(?:" + "|".join(_sequence(branch) for branch in av[1]) + ")"
    if op is _sre.SUBPATTERN:
        if av[1] or av[2]:
            raise NoElementForm("a group with flags")
        return "(?:" + _sequence(av[3]) + ")"
    if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):
        low, high, inner = av
        count = f"{{{low},}}" if high == _sre.MAXREPEAT else f"{{{low},{high}}}"
        return "(?:" + _sequence(inner) + ")" + count + ("?" if op is _sre.MIN_REPEAT else "")
    raise NoElementForm(f"the construct {op} has no form on the element here")


def _class_text(items: Any) -> str:
    """The Python class as PCRE text (``\\d``, ``\\s``, ``\\w`` are ASCII in both)."""
    out, negated = [], False
    for kind, arg in items:
        if kind is _sre.NEGATE:
            negated = True
        elif kind is _sre.LITERAL:
            out.append(re.escape(chr(arg)))
        elif kind is _sre.RANGE:
            out.append(re.escape(chr(arg[0])) + "-" + re.escape(chr(arg[1])))
        elif kind is _sre.CATEGORY and arg in _CATEGORIES:
            out.append(_CATEGORIES[arg])
        else:
            raise NoElementForm(f"a class item {kind}")
    return "[" + ("^" if negated else "") + "".join(out) + "]"


def _one(class_text: str) -> str:
    """One token that ``class_text`` matches on the decoded value: the entity of each special
    character it matches, or a raw character it matches other than ``&`` and ``<``."""
    members = [c for c in ENTITIES if re.fullmatch(class_text, c, re.ASCII)]
    entities = "".join(f"{ENTITIES[c]}|" for c in members)
    return f"(?:{entities}(?![&<]){class_text})"
