"""Generator, part 1: a rule's condition tree as plans (the literal tests an event must pass).

``solve(node, want)`` lists the ways to make a pySigma condition node evaluate to ``want``: an
AND makes every child true, an OR one child, a NOT makes its child false; a list value, a
windash or base64offset expansion gives one alternative per value. Each way is a ``Plan``, a tuple
of ``Lit`` (field, value, positive). Used by ``converter.generate.generator``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Union

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionIdentifier,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.rule import SigmaDetection, SigmaDetectionItem
from sigma.types import (
    Placeholder,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)

MAX_ALTERNATIVES = 256  # per condition node: a 500-value list still yields its first 256 values

MULTI, SINGLE = SpecialChars.WILDCARD_MULTI, SpecialChars.WILDCARD_SINGLE
Parts = tuple[Union[str, SpecialChars], ...]
ABSENT: Any = object()  # Fixed(ABSENT): the field is removed


@dataclass(frozen=True)
class Glob:
    """A Sigma string as literal runs and wildcards (case-insensitive unless ``cased``)."""

    parts: Parts
    cased: bool = False


@dataclass(frozen=True)
class Rx:
    """A regular expression with its Python flags."""

    source: str
    flags: int


@dataclass(frozen=True)
class Fixed:
    """An exact event value (a near miss's mutated value; ``ABSENT`` removes the field)."""

    value: Any


@dataclass(frozen=True)
class Lit:
    """One leaf requirement: ``field`` (None: keyword) must (``positive``) or must not match."""

    field: str | None
    value: Any  # Glob | Rx | Fixed | a pySigma value type
    positive: bool
    origin: int = 0  # id of the nearest enclosing NOT node, to drop it when that filter fires
    selection: str = ""  # the detection identifier it comes from, for notes


Plan = tuple[Lit, ...]


# ---------------------------------------------------------------------------------------------
# Condition tree -> plans (lists of literals)


def _parts(value: SigmaString) -> Parts | None:
    """Merged literal/wildcard parts; None for placeholders (no value to generate)."""
    out: list[str | SpecialChars] = []
    for part in value.iter_parts():
        if isinstance(part, Placeholder):
            return None
        if isinstance(part, str) and out and isinstance(out[-1], str):
            out[-1] += part
        else:
            out.append(part)
    return tuple(out)


_RX_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: re.I,
    SigmaRegularExpressionFlag.MULTILINE: re.M,
    SigmaRegularExpressionFlag.DOTALL: re.S,
}


def _lit_values(value: Any, keyword: bool) -> list[Any]:
    """The generator's values for one Sigma value: expansions become one value per variant."""
    if isinstance(value, SigmaExpansion):
        return [v for item in value.values for v in _lit_values(item, keyword)]
    if isinstance(value, SigmaString):
        parts = _parts(value)
        if parts is None:
            return []
        if keyword:  # a keyword is found anywhere: model it as contains
            parts = (MULTI, *parts, MULTI)
        return [Glob(parts, isinstance(value, SigmaCasedString))]
    if isinstance(value, SigmaRegularExpression):
        parts = _parts(value.regexp)
        if parts is None:
            return []
        source = "".join(p if isinstance(p, str) else ("*" if p is MULTI else "?") for p in parts)
        flags = 0
        for flag in value.flags:
            flags |= _RX_FLAGS[flag]
        return [Rx(source, flags)]
    return [value]


def regexes(detections: Any) -> Iterator[tuple[str, Rx]]:
    """(field, Rx) of each regular expression of a rule's detections (``rule.detection.
    detections``), as the generator reads it; a keyword's field is ''."""
    stack = list(detections.values())
    while stack:
        node = stack.pop()
        if isinstance(node, SigmaDetection):
            stack.extend(node.detection_items)
        elif isinstance(node, SigmaDetectionItem):
            for value in node.value:
                if isinstance(value, SigmaRegularExpression):
                    yield from ((node.field or "", rx) for rx in _lit_values(value, False)
                                if isinstance(rx, Rx))


def _clash(plan: Plan, chosen: list[Lit]) -> int:
    """How badly a plan contradicts literals already chosen: the same test with the other
    polarity is a sure conflict, a test of the same field with the other polarity a likely one."""
    score = 0
    for lit in plan:
        for other in chosen:
            if lit.field == other.field and lit.positive != other.positive:
                # Values of two kinds are never the same test (pySigma's SigmaNumber raises
                # when compared with anything but a number: number keywords beside strings).
                same = type(lit.value) is type(other.value) and lit.value == other.value
                score += 100 if same else 1
    return score


def _cover(children: list[list[Plan]]) -> list[Plan]:
    """AND of alternatives without a cartesian product: every alternative of every child shows
    up once, the other children taking a base alternative that contradicts the rest least."""
    if any(not c for c in children):
        return []
    base: list[Plan] = []
    for alternatives in children:
        chosen = [lit for plan in base for lit in plan]
        base.append(min(alternatives[:16], key=lambda plan: _clash(plan, chosen)))
    out = [tuple(lit for plan in base for lit in plan)]
    for i, alternatives in enumerate(children):
        for alt in alternatives[1:]:
            if len(out) >= MAX_ALTERNATIVES:
                return out
            out.append(tuple(lit for plan in (*base[:i], alt, *base[i + 1:]) for lit in plan))
    return out


def solve(node: object, want: bool, origin: int = 0) -> list[Plan]:
    """The ways to make ``node`` evaluate to ``want``, each a tuple of literals."""
    if isinstance(node, ConditionNOT):
        return solve(node.args[0], not want, id(node))
    if isinstance(node, (ConditionAND, ConditionOR)):
        children = [solve(arg, want, origin) for arg in node.args]
        if isinstance(node, ConditionAND) == want:  # AND true / OR false: all children
            return _cover(children)
        return [plan for alts in children for plan in alts][:MAX_ALTERNATIVES]
    if isinstance(node, (ConditionFieldEqualsValueExpression, ConditionValueExpression)):
        field, name = getattr(node, "field", None), _name(node)
        values = _lit_values(node.value, field is None)
        if want:
            each: list[Plan] = [(Lit(field, v, True, origin, name),) for v in values]
            return each[:MAX_ALTERNATIVES]
        return [tuple(Lit(field, v, False, origin, name) for v in values)] if values else []
    return []


def _not_nodes(node: object) -> Iterator[ConditionNOT]:
    if isinstance(node, ConditionNOT):
        yield node
    for arg in getattr(node, "args", None) or ():
        if not isinstance(arg, str):
            yield from _not_nodes(arg)


def _name(node: object) -> str:
    """The detection identifier a condition node came from, for notes."""
    for _ in range(4):  # leaf -> detection item -> detection -> identifier
        if isinstance(node, ConditionIdentifier):
            return str(node.identifier)
        node = getattr(node, "parent", None)
    return "filter"


def describe(lit: Lit) -> str:
    """A short text of one literal for notes: ``Image=*\\cmd.exe``."""
    v = lit.value
    if isinstance(v, Glob):
        text = "".join(p if isinstance(p, str) else ("*" if p is MULTI else "?") for p in v.parts)
        text += "|cased" if v.cased else ""
    elif isinstance(v, Rx):
        text = f"/{v.source}/"
    elif isinstance(v, Fixed):
        text = "<absent>" if v.value is ABSENT else json.dumps(v.value, ensure_ascii=False)
    elif isinstance(v, SigmaNull):
        text = "null"
    elif isinstance(v, SigmaExists):
        text = "exists" if v.exists else "not exists"
    elif isinstance(v, SigmaFieldReference):
        text = f"fieldref({v.field})"
    elif isinstance(v, SigmaCompareExpression):
        text = f"{v.op.name.lower()} {v.number.number}"
    elif isinstance(v, SigmaCIDRExpression):
        text = str(v.network)
    else:
        text = str(getattr(v, "number", getattr(v, "boolean", v)))
    text = f"{lit.field}={text}" if lit.field else f"keyword {text}"
    return text if lit.positive else f"not {text}"


def _label(plan: Plan) -> str:
    text = ", ".join(describe(lit) for lit in plan)
    return text if len(text) <= 160 else text[:157] + "..."
