"""Event access for the reference evaluator: reading a field, its scalars and its texts.

Every reading follows an entry of ``SIGMA_SEMANTICS`` (``converter.reference.semantics``):
"field_names" (exact key, then a dotted path into nested objects), "object_lists" (a list on
that path is read element by element), "multi_valued" (lists are flattened), "numbers" (numbers and booleans compare as their text; ``number_of`` reads a string as a
number only when it is an ASCII decimal), "string_case" (``fold``), "keywords" (every scalar anywhere in the event).

Case folding is ``fold`` ("string_case"): each code point's Unicode simple lowercase mapping, so a
folded string has the length of the original and a ``?`` still stands for one character.

The per-event cache of folded values (``FoldCache``) is a plain dict from field name to the
field's folded texts (``folded_texts``); the rule index (``converter.ruleindex.index``) fills the same
cache while it looks for candidate rules, and the rules then reuse it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Union

from converter.reference.logsources import TAG_CHANNELS

Event = Mapping[str, Any]
#: A field's texts as compared case-insensitively: one folded string (the common case of a
#: single string value), or a tuple of them (a list, a number, a boolean; empty when missing).
Folded = Union[str, tuple[str, ...]]
FoldCache = dict[str, Folded]

MISSING: Any = object()  # sentinel: the key is absent (distinct from a JSON null)

_CAPITAL_I_DOT = "\u0130"  # İ: str.lower gives "i" + U+0307, its simple lowercase is "i"
_CAPITAL_SIGMA = "\u03a3"  # Σ: str.lower gives ς at the end of a word, its simple lowercase is σ


def fold(text: str) -> str:
    """``text`` with every code point replaced by its Unicode simple lowercase ("string_case").

    Equal to mapping Java's ``Character.toLowerCase(int)`` over the code points (what a
    ``lowercase`` normalizer indexes). Python's ``str.lower`` differs in exactly two places,
    both undone here: U+0130 (İ), the one code point whose full lowercase is two characters, and
    the final-sigma rule that lowers a word-final Σ to ς (tests/test_reference.py checks every
    code point). The result always has ``len(text)`` characters.
    """
    if text.isascii():
        return text.lower()
    return text.replace(_CAPITAL_I_DOT, "i").replace(_CAPITAL_SIGMA, "\u03c3").lower()


def field_getter(name: str) -> Callable[[Event], Any]:
    """Return a reader for field ``name`` ("field_names": exact key, then the dotted path; a
    list on the path is read element by element, "object_lists")."""
    if "." not in name:
        return lambda event: event.get(name, MISSING)
    path = tuple(name.split("."))

    def get(event: Event) -> Any:
        value = event.get(name, MISSING)
        if value is not MISSING:
            return value
        return path_value(event, path)

    return get


def path_value(node: Any, path: tuple[str, ...], start: int = 0) -> Any:
    """The value at ``path[start:]`` below ``node`` ("object_lists"), or ``MISSING``.

    Objects are entered by key. A list met on the way is read element by element: each element
    (a nested list again element by element) continues the rest of the path, a scalar element
    has no keys and adds nothing, and the values found are returned as one list (``MISSING``
    when no element holds the rest of the path, so an empty list holds no field below it).
    """
    for i in range(start, len(path)):
        if isinstance(node, (list, tuple)):
            found = [v for item in node if (v := path_value(item, path, i)) is not MISSING]
            return found if found else MISSING
        if not isinstance(node, Mapping):
            return MISSING
        node = node.get(path[i], MISSING)
        if node is MISSING:
            return MISSING
    return node


def scalars(value: Any) -> Iterator[Any]:
    """Yield the non-null scalars of a field value, flattening lists ("multi_valued")."""
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from scalars(item)
    elif value is not None and value is not MISSING:
        yield value


def event_scalars(value: Any) -> Iterator[Any]:
    """Yield every scalar anywhere in an event, for keyword searches (the objects inside a list
    included: "keywords" reads the whole event, "object_lists")."""
    if isinstance(value, Mapping):
        for item in value.values():
            yield from event_scalars(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from event_scalars(item)
    elif value is not None and value is not MISSING:
        yield value


def text_of(value: Any) -> str | None:
    """The string a scalar event value is compared as ("numbers"); None for objects."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):  # JSON true/false, spelled as Sigma's YAML would write them
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return None


#: SIGMA_SEMANTICS["number_text"]: the decimal forms of the YAML 1.2 core schema's int and float,
#: in ASCII digits. Not a number: whitespace around it, ``_`` separators, other scripts' digits
#: (``str.isdecimal``), ``inf`` / ``nan``, ``0x`` / ``0o`` forms.
_DECIMAL = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_INTEGER = re.compile(r"[-+]?[0-9]+")


def number_of(value: Any) -> int | float | None:
    """The numeric reading of an event value for gt/gte/lt/lte ("number_text"): a JSON number
    (finite), or a string that is an ASCII decimal as a whole; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        if _INTEGER.fullmatch(value):
            return int(value)
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def fold_value(value: Any) -> Folded:
    """Fold a raw field value (``MISSING`` included) for case-insensitive string tests."""
    if type(value) is str:
        return fold(value)
    if value is MISSING or value is None:
        return ()
    texts = (text_of(v) for v in scalars(value))
    return tuple(fold(t) for t in texts if t is not None)


def folded_texts(event: Event, name: str, cache: FoldCache) -> Folded:
    """The folded texts of field ``name``, computed once per event into ``cache``.

    Args:
        event: the event.
        name: a Sigma field name (exact key, else dotted path).
        cache: the per-event cache (a fresh dict per event).
    """
    try:
        return cache[name]
    except KeyError:
        pass
    value = event.get(name, MISSING)
    if value is MISSING and "." in name:
        value = field_getter(name)(event)
    folded = cache[name] = fold_value(value)
    return folded


def keyword_values(event: Event) -> Iterator[Any]:
    """The top-level values a keyword search looks at ("keywords"): all of them but a sigport
    logsource tag in ``Channel`` (``okta/okta``), which the tagged taxonomy events carry by
    convention and the log record never holds, so a keyword such as ``okta`` is not found in it."""
    for key, value in event.items():
        if key == "Channel" and type(value) is str and value in TAG_CHANNELS:
            continue
        yield value


def keyword_texts(event: Event) -> list[str]:
    """Every text a keyword search looks at ("keywords"), unfolded: each scalar anywhere in the
    event (inside the objects of a list too) as ``text_of`` renders it."""
    out: list[str] = []
    for value in keyword_values(event):
        kind = type(value)
        if kind is str:  # the common cases first, without the generators below
            out.append(value)
        elif kind is int or kind is float:  # not bool: text_of spells those true / false
            out.append(str(value))
        elif value is not None:
            for item in event_scalars(value):
                text = text_of(item)
                if text is not None:
                    out.append(text)
    return out
