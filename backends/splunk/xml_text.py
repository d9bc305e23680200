"""Sigma values as the Splunk Windows add-ons hold them: XML text with its entities kept.

The add-ons extract ``XmlWinEventLog`` fields with regexes over ``_raw``, so a value keeps the
entities Windows wrote for ``&``, ``<`` and ``>`` (semantics
``xmlwineventlog_values_entity_encoded``).
The pipeline encodes every Sigma value the same way (``encode_value``). Encoding is one-to-one
and character by character, so equality and ``startswith`` keep their meaning; but a pattern
part that follows a wildcard may start inside an entity (``*;*`` finds the ``;`` of ``&amp;``),
and ``?`` is one character of the decoded value, not of the text. Such values are tested token by
token instead (``has_entity_hazard``, ``TOKEN``); a regex becomes a regex on the text
(``entity_regex``), or raises ``NotTranslatable`` with the construct it cannot carry over.
"""

from __future__ import annotations

import copy
import re

from sigma.types import SigmaString, SpecialChars

from .semantics import SEMANTICS

#: The pipeline state ``value_encoding`` of a rule whose values are such XML text.
XML_TEXT = "xml_text"

_PAIRS = SEMANTICS.typed("xmlwineventlog_values_entity_encoded", tuple)
#: Each encoded character and the entity the add-on's value holds for it.
ENTITIES: dict[str, str] = dict(zip(_PAIRS[0::2], _PAIRS[1::2]))
_ENCODE = str.maketrans(ENTITIES)

#: One character of the decoded value in the encoded text: an entity, or any other character
#: (a literal ``&`` never occurs in the text, ``<`` and ``>`` neither).
TOKEN = "(?:&(?:" + "|".join(e[1:-1] for e in ENTITIES.values()) + ");|[^&])"

#: The text that follows ``&`` inside an entity, and each of its suffixes: a pattern part after
#: a wildcard that starts with one of them (compared ignoring case, as search does), or that is
#: a start of one and is followed by a wildcard, may match the rest of an entity.
_ENTITY_TAILS = tuple(sorted({e[i:] for e in ENTITIES.values() for i in range(1, len(e))}))
_TAIL_STARTS = frozenset(t[:j] for t in _ENTITY_TAILS for j in range(1, len(t)))

#: The positions inside an entity, as fixed-width lookbehinds (PCRE and Python both take them).
_INSIDE = "".join(
    f"(?<!{re.escape(e[:i])})" for e in ENTITIES.values() for i in range(1, len(e))
)


def encode(text: str) -> str:
    """``text`` as the add-on's field value holds it."""
    return text.translate(_ENCODE)


def encode_value(value: SigmaString) -> SigmaString:
    """A Sigma string with its literal parts encoded (wildcards and placeholders kept)."""
    if not any(isinstance(p, str) and any(c in ENTITIES for c in p) for p in value.s):
        return value
    out = copy.copy(value)
    parts = tuple(encode(p) if isinstance(p, str) else p for p in value.s)
    out.s = parts  # type: ignore[assignment]  # pySigma keeps the parts as a tuple
    return out


def has_entity_hazard(value: SigmaString) -> bool:
    """True when an SPL glob of the (encoded) value could match other text than the decoded
    value's: it has a ``?``, or a literal part after a wildcard could begin inside an entity
    (it starts with an entity's rest, or is a start of one and a wildcard follows it)."""
    parts = list(value.iter_parts())
    if SpecialChars.WILDCARD_MULTI not in parts and SpecialChars.WILDCARD_SINGLE not in parts:
        return False  # no wildcard (most values): nothing below can answer True
    for k, part in enumerate(parts):
        if part is SpecialChars.WILDCARD_SINGLE:
            return True
        if not isinstance(part, str) or k == 0 or parts[k - 1] is not SpecialChars.WILDCARD_MULTI:
            continue
        lowered = part.lower()
        if lowered.startswith(_ENTITY_TAILS):
            return True
        if lowered in _TAIL_STARTS and k + 1 < len(parts) and not isinstance(parts[k + 1], str):
            return True
    return False


class NotTranslatable(ValueError):
    """A regex construct with no token-by-token form here (the reason is the message)."""


#: Escapes of classes that hold '&', '<' and '>' (outside a class: one token of them).
_WIDE_CLASSES = frozenset("WSDHVN")
#: Escapes kept as written: they match none of '&', '<', '>' or are assertions.
_KEPT = frozenset("dwshvbBAzZGKRtnrfae") | frozenset("\\^$.|?*+()[]{}-/'\"!#%,:;=@`~_ ")
#: Escapes left unsupported: their characters are not known without more parsing.
_REFUSED = {"Q": "\\Q...\\E", "o": "\\o{}", "p": "\\p{}", "P": "\\P{}", "X": "\\X",
            "C": "\\C", "c": "\\c", "g": "\\g", "k": "\\k", "u": "\\u"}
_ANY_ENTITY = "&(?:" + "|".join(e[1:-1] for e in ENTITIES.values()) + ");"


def _wide(atom: str, members: "set[str] | frozenset[str]" = frozenset(ENTITIES)) -> str:
    """An atom that may match some of '&', '<', '>' (``members``), token by token."""
    if not members:
        return atom
    if set(members) == set(ENTITIES):
        return f"(?:{_ANY_ENTITY}|(?!&){atom})"
    return "(?:" + "|".join(ENTITIES[c] for c in sorted(members)) + f"|(?!&){atom})"


def _escape(pattern: str, i: int) -> tuple[str, str | None, int]:
    """The escape at ``pattern[i]``: (its text, the one character it stands for or None, next)."""
    if i + 1 >= len(pattern):
        raise NotTranslatable("a trailing backslash")
    ch = pattern[i + 1]
    if ch == "x":
        m = re.match(r"\\x(?:\{([0-9a-fA-F]+)\}|([0-9a-fA-F]{1,2}))", pattern[i:])
        if not m:
            raise NotTranslatable("a \\x escape of this form")
        return m.group(0), chr(int(m.group(1) or m.group(2), 16)), i + len(m.group(0))
    if ch in _REFUSED:
        raise NotTranslatable(f"it uses {_REFUSED[ch]}")
    if ch.isdigit():
        if ch == "0" or pattern[i + 2 : i + 3].isdigit():
            raise NotTranslatable("an octal escape or a backreference past \\9")
        return pattern[i : i + 2], None, i + 2  # a backreference: equal text, equal values
    if ch in ENTITIES:
        return pattern[i : i + 2], ch, i + 2
    if ch in _KEPT or ch in _WIDE_CLASSES:
        return pattern[i : i + 2], None, i + 2
    raise NotTranslatable(f"it uses \\{ch}")


def _class(pattern: str, i: int) -> tuple[str, int]:
    """The class at ``pattern[i] == '['``, token by token; returns (text, next index)."""
    j = i + 1
    negated = pattern.startswith("^", j)
    j += negated
    members: set[str] = set()
    first = True
    previous: str | None = None  # the last single character, a range's possible start
    while j < len(pattern) and (first or pattern[j] != "]"):
        first = False
        if pattern.startswith("[:", j):
            raise NotTranslatable("it uses a POSIX class")
        if pattern[j] == "-" and previous is not None and pattern[j + 1 : j + 2] not in ("]", ""):
            if pattern[j + 1] == "\\":
                _, high, j = _escape(pattern, j + 1)
                if high is None:
                    raise NotTranslatable("a class range ending in a class escape")
            else:
                high, j = pattern[j + 1], j + 2
            members.update(c for c in ENTITIES if previous <= c <= high)
            previous = None
            continue
        if pattern[j] == "\\":
            text, char, j = _escape(pattern, j)
            if text[1] in _WIDE_CLASSES:
                members.update(ENTITIES)
            previous = char
            if char is not None and char in ENTITIES:
                members.add(char)
            continue
        previous = pattern[j]
        if previous in ENTITIES:
            members.add(previous)
        j += 1
    if j >= len(pattern):
        raise NotTranslatable("an unterminated class")
    text = pattern[i : j + 1]
    matched = set(ENTITIES) - members if negated else members
    return _wide(text, matched), j + 1


def _group(pattern: str, i: int) -> tuple[str, int]:
    """The opening of the group at ``pattern[i] == '('``; lookbehinds are refused (they could
    see the end of an entity before a token)."""
    rest = pattern[i:]
    if rest.startswith(("(?<=", "(?<!")):
        raise NotTranslatable("it uses a lookbehind")
    if rest.startswith("(?#"):
        end = pattern.find(")", i)
        return "", (len(pattern) if end < 0 else end + 1)
    m = re.match(r"\((?:\?(?:P?<[A-Za-z_]\w*>|'[A-Za-z_]\w*'|[:=!>|]|[imsnU-]+[:)]))?", rest)
    if not m or (m.group(0) == "(" and rest.startswith("(?")) or rest.startswith("(*"):
        raise NotTranslatable("a group construct of this form")
    return m.group(0), i + len(m.group(0))


def entity_regex(pattern: str) -> str:
    """``pattern`` (a PCRE on the decoded value) as a PCRE on the add-on's encoded text.

    Every construct that may match ``&``, ``<`` or ``>`` matches their entities instead, and
    never a bare ``&`` (``(?!&)``), so a match proceeds token by token; the start guard keeps it
    from beginning inside an entity. Then it matches the text exactly where the pattern matches
    the value. Raises ``NotTranslatable`` (with the reason) for what is not handled: lookbehinds,
    POSIX classes, ``\\p``, ``\\Q``, octal escapes, ``(?x)``, recursion and conditionals.
    """
    if re.search(r"\(\?[a-zA-Z-]*x", pattern):
        raise NotTranslatable("it uses extended mode (?x)")
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            text, char, i = _escape(pattern, i)
            if char is not None and char in ENTITIES:
                out.append(f"(?:{ENTITIES[char]})")  # one atom: a quantifier takes it whole
            else:
                out.append(_wide(text) if text[1] in _WIDE_CLASSES else text)
        elif c == "[":
            text, i = _class(pattern, i)
            out.append(text)
        elif c == "(":
            text, i = _group(pattern, i)
            out.append(text)
        else:
            out.append(_wide(c) if c == "." else f"(?:{ENTITIES[c]})" if c in ENTITIES else c)
            i += 1
    return guard_regex("".join(out))


_LEADING_FLAGS = re.compile(r"(?:\(\?[a-zA-Z]+\))*")


def guard_regex(pattern: str) -> str:
    """``pattern`` so that its match cannot start inside an entity; leading inline flags stay
    first."""
    flags = _LEADING_FLAGS.match(pattern)
    head = flags.group(0) if flags else ""
    return f"{head}{_INSIDE}(?:{pattern[len(head):]})"
