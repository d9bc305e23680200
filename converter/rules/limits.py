"""Limits on what one rule may cost, checked on the parsed YAML before pySigma builds the rule.

pySigma expands some constructs eagerly when it builds a rule: ``|windash`` turns each value into
5^n variants (n: the dashes and slashes it rewrites), so 12 dashes in a 200-byte rule are 244
million values; ``1 of s*`` over 100,000 selections builds a condition of 100,000 branches that
every emitter and evaluator then walks; a deeply parenthesised condition is parsed by a
recursive grammar in time that grows with every level. Each limit below is far above the largest
SigmaHQ rule (measured on the corpus: 295 KB, 4,432 values, 34 search identifiers, 25 windash
variants of one value) and turns the hostile case into one error naming the limit.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from backends.errors import SigportError

__all__ = [
    "MAX_CONDITION_DEPTH",
    "MAX_CONDITION_TOKENS",
    "MAX_DETECTION_VALUES",
    "MAX_RULE_CHARS",
    "MAX_SEARCH_IDENTIFIERS",
    "LimitExceeded",
    "check_document",
    "check_size",
]

#: Characters one rule file may hold (the largest SigmaHQ rule is 295 KB).
MAX_RULE_CHARS = 1 << 20
#: Values a rule's detection may hold once modifiers that expand values (``windash``,
#: ``base64offset``) are applied.
MAX_DETECTION_VALUES = 20_000
#: Search identifiers (selections, filters) in one detection.
MAX_SEARCH_IDENTIFIERS = 1_000
#: Words and parentheses in one condition: pySigma's condition grammar takes about a millisecond
#: per operand (20,000 ``or``-ed operands, 140 KB, take 19 s). The longest SigmaHQ condition
#: has 83.
MAX_CONDITION_TOKENS = 1_000
#: How deeply a condition may nest. pySigma, the emitters and the reference evaluator all
#: recurse over the condition tree (and ``copy.deepcopy`` takes about five stack frames per level),
#: so a tree nested ~150 levels deep exhausts Python's default recursion limit somewhere later.
#: Real rules nest fewer than ten levels. Parentheses count as written: pySigma drops redundant
#: ones only after parsing them, one recursive grammar level each.
MAX_CONDITION_DEPTH = 64

#: What pySigma's ``windash`` rewrites (``SigmaWindowsDashModifier``), and into how many forms.
_WINDASH = re.compile(r"\B[-/]\b")
_WINDASH_FORMS = 5
#: A word or a parenthesis of a condition.
_TOKEN = re.compile(r"[()]|[^\s()]+")
#: ``base64offset`` writes each value at its three offsets.
_BASE64_OFFSETS = 3


class LimitExceeded(SigportError, ValueError):
    """A rule exceeds one of the limits, or has a shape Sigma leaves undefined; ``key`` is the
    YAML key to point at (None: the file). Rule input: the loader adds file, line and column."""

    def __init__(self, message: str, key: str | None = None) -> None:
        self.key = key
        super().__init__(message)


def check_size(text: str) -> None:
    """Refuse a rule file longer than ``MAX_RULE_CHARS`` before it is parsed.

    Raises:
        LimitExceeded: the file is too long.
    """
    if len(text) > MAX_RULE_CHARS:
        raise LimitExceeded(f"the rule file has {len(text):,} characters; sigport reads at most "
                            f"{MAX_RULE_CHARS:,} (MAX_RULE_CHARS)")


def check_document(document: dict[str, Any]) -> None:
    """Refuse a rule document whose detection exceeds a limit, or holds an empty value list or a
    null keyword (undefined in Sigma; pySigma builds conditions no backend can convert).

    Raises:
        LimitExceeded: naming the limit and the key concerned.
    """
    detection = document.get("detection")
    if not isinstance(detection, dict):
        return  # pySigma reports a missing or malformed detection
    identifiers = [k for k in detection if k not in ("condition", "timeframe")]
    if len(identifiers) > MAX_SEARCH_IDENTIFIERS:
        raise LimitExceeded(f"the detection has {len(identifiers):,} search identifiers; sigport "
                            f"accepts at most {MAX_SEARCH_IDENTIFIERS:,} (MAX_SEARCH_IDENTIFIERS)",
                            "detection")
    total = 0
    for name in identifiers:
        for key, values in _items(detection[name]):
            if values == []:
                raise LimitExceeded(
                    f"{key or name!r} has an empty list of values, which Sigma does not define "
                    "(pySigma reads it as 'the field is missing', a list as 'any of'); write "
                    "'null' to match a missing field, or give values", key or name)
            if not key and (values is None or (isinstance(values, list) and None in values)):
                raise LimitExceeded(
                    f"search identifier {name!r} has a keyword value null, which Sigma does not "
                    "define (a keyword is a string or number searched in the whole event); "
                    "write 'Field: null' to match a missing field", name)
            total += _expanded_count(key, values)
            if total > MAX_DETECTION_VALUES:
                raise LimitExceeded(
                    f"the detection expands to more than {MAX_DETECTION_VALUES:,} values (at "
                    f"{key or name!r}); sigport accepts at most {MAX_DETECTION_VALUES:,} "
                    "(MAX_DETECTION_VALUES)", key or name)
    conditions = detection.get("condition")
    for condition in conditions if isinstance(conditions, list) else [conditions]:
        if isinstance(condition, str):
            depth = _paren_depth(condition)
            if depth > MAX_CONDITION_DEPTH:
                raise LimitExceeded(f"the condition nests {depth} levels of parentheses; sigport "
                                    f"accepts at most {MAX_CONDITION_DEPTH} (MAX_CONDITION_DEPTH)",
                                    "condition")
            tokens = len(_TOKEN.findall(condition))
            if tokens > MAX_CONDITION_TOKENS:
                raise LimitExceeded(f"the condition has {tokens:,} words and parentheses; sigport "
                                    f"accepts at most {MAX_CONDITION_TOKENS:,} "
                                    "(MAX_CONDITION_TOKENS)", "condition")


def _items(selection: Any) -> list[tuple[str, Any]]:
    """(key, values) of a search identifier: a map, a list of maps, or keyword values."""
    if isinstance(selection, dict):
        return [(str(k), v) for k, v in selection.items()]
    if isinstance(selection, list):
        out: list[tuple[str, Any]] = []
        for item in selection:
            out.extend(_items(item) if isinstance(item, dict) else [("", item)])
        return out
    return [("", selection)]


def _expanded_count(key: str, values: Any) -> int:
    """How many values pySigma builds for one key's value(s), counted without building them.

    An upper bound, modifier by modifier in order: each ``windash`` multiplies the count by 5 per
    dash it can rewrite (its variants keep the dashes' places, so a second ``windash`` rewrites
    as many again), each ``base64offset`` by 3; a ``windash`` after a ``base64`` encoding counts
    the ``/`` of the encoded texts, which are base64 digits (of the value as written: a
    ``windash`` before the encoding changes a few bytes of each variant, which this ignores).
    """
    modifiers = key.split("|")[1:]
    count = 0
    for value in values if isinstance(values, list) else [values]:
        n = 1
        texts = [value] if isinstance(value, str) else []
        for modifier in modifiers:
            if modifier == "windash":
                dashes = max((len(_WINDASH.findall(t)) for t in texts), default=0)
                # Capped exponent: the count only has to exceed the limit, not be exact.
                n *= _WINDASH_FORMS ** min(dashes, 16)
            elif modifier in ("base64", "base64offset"):
                n *= _BASE64_OFFSETS if modifier == "base64offset" else 1
                texts = _encoded(texts)
            if n > MAX_DETECTION_VALUES:
                break
        count += n
    return count


def _encoded(texts: list[str]) -> list[str]:
    """The base64 texts a ``base64`` / ``base64offset`` can make of ``texts``: each at the three
    offsets, from its UTF-8 and UTF-16 bytes (``wide`` / ``utf16*`` before it)."""
    out: list[str] = []
    for text in texts:
        for data in (text.encode("utf-8", "surrogatepass"), text.encode("utf-16-le", "surrogatepass")):
            out.extend(base64.b64encode(b"\0" * shift + data).decode("ascii") for shift in range(3))
    return out


def _paren_depth(condition: str) -> int:
    deepest = depth = 0
    for char in condition:
        if char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth -= 1
    return deepest
