"""Shapes of a rule that pySigma accepts without complaint but cannot mean anything, refused.

pySigma checks much of a rule's structure, but not all of it: a ``condition`` that is a number
or a mapping, a field name that YAML read as a number, a ``|re`` value that is a number, and a
``1 of pattern*`` that names no search identifier all load without error, then fail deep inside
a backend (a ``TypeError``: an "internal error" that stops ``check``) or, worse, convert: an
``n of`` selector that selects nothing is dropped from the condition, so ``condition: 1 of
selection*`` with no ``selection...`` identifier became a query matching every event of the
logsource. Each is refused here, as a rule error naming what is wrong.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from typing import Iterator

from sigma.conditions import ConditionItem, ConditionSelector
from sigma.exceptions import SigmaConditionError, SigmaError, SigmaValueError
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import SigmaExpansion, SigmaRegularExpression, SigmaString, SigmaType


class ShapeError(ValueError):
    """A rule document of a shape no Sigma rule has.

    Attributes:
        key: the YAML key whose value is wrong (to find its line), or None.
    """

    def __init__(self, message: str, key: str | None = None, within: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        #: The YAML key under which ``key`` is looked for (its search identifier), or None.
        self.within = within


def check_shape(document: dict[object, object]) -> None:
    """Refuse the shapes of one YAML document that pySigma would not refuse itself.

    Raises:
        ShapeError: the condition is not a string or a list of strings, or a field name in a
            search identifier is not a string (``5: value``, ``null: value``, ``'': value``).
    """
    detection = document.get("detection")
    if not isinstance(detection, dict):
        return  # pySigma says what is wrong with a missing or non-mapping detection
    condition = detection.get("condition")
    conditions = condition if isinstance(condition, list) else [condition]
    if "condition" in detection and not all(isinstance(c, str) for c in conditions):
        bad = next(c for c in conditions if not isinstance(c, str))
        raise ShapeError(f"the condition must be a string or a list of strings, not "
                         f"{_kind(bad)} ({bad!r:.60})", "condition")
    for name, selection in detection.items():
        if name == "condition":
            continue
        for field in _field_names(selection):
            if not isinstance(field, str) or not field.strip():
                raise ShapeError(f"search identifier {name!r} has the field name {field!r}, "
                                 f"{'an empty string' if field == '' else _kind(field)}: a "
                                 "field name is a non-empty string (quote it)",
                                 str(name) if isinstance(name, str) else None)
        for field, value in _values(selection):
            if isinstance(value, list):
                # pySigma flattened it silently (sel: [[a]] became the keyword a); the
                # specification's detection schema allows no list inside a search identifier's
                # list nor inside a field's list of values.
                identifier = str(name) if isinstance(name, str) else None
                raise ShapeError(
                    f"search identifier {name!r}: {field or 'a keyword'} has a list inside a list "
                    f"({value!r:.60}): a search identifier is a map, or a list of keywords or of "
                    "maps, and a field's values are one list",
                    field if field is not None else identifier,
                    identifier if field is not None else None)
            if isinstance(value, (datetime.date, bytes, dict)):
                # pySigma refuses these as "Unsupported type: <class 'datetime.date'>", with no
                # line; YAML reads an unquoted 2024-01-01 as a date and !!binary as bytes.
                identifier = str(name) if isinstance(name, str) else None
                what, shown = _YAML_READS[next(t for t in _YAML_READS if isinstance(value, t))]
                raise ShapeError(
                    f"search identifier {name!r}: {field or 'a keyword'} has a value YAML reads "
                    f"as {what}: a Sigma value is a string, a number, a boolean or null"
                    + (f" (quote it for the text {str(value)!r})" if shown else ""),
                    field if field is not None else identifier,
                    identifier if field is not None else None)
            if isinstance(value, float) and not math.isfinite(value):
                identifier = str(name) if isinstance(name, str) else None
                spelled = ".nan" if math.isnan(value) else ("-.inf" if value < 0 else ".inf")
                what = "not a number (NaN)" if math.isnan(value) else "infinity"
                # pySigma refuses it as "Invalid number", naming neither the line nor the value.
                raise ShapeError(
                    f"search identifier {name!r}: {field or 'a keyword'} has the value "
                    f"{spelled}, which YAML reads as {what}: a Sigma number is finite (quote it "
                    f"for the text {spelled!r})",
                    field if field is not None else identifier,
                    identifier if field is not None else None)


#: Values YAML reads from plain scalars or tags that are no Sigma value: what each is, and
#: whether quoting the scalar gives the text the author meant (a date, a timestamp).
_YAML_READS: dict[type, tuple[str, bool]] = {
    datetime.datetime: ("a timestamp", True),
    datetime.date: ("a date", True),
    bytes: ("binary data (!!binary)", False),
    dict: ("a mapping", False),
}


def _values(selection: object) -> Iterator[tuple[str | None, object]]:
    """``(field, value)`` of every value of a search identifier (field None for a keyword)."""
    for item in selection if isinstance(selection, list) else [selection]:
        if isinstance(item, dict):
            for field, value in item.items():
                for one in value if isinstance(value, list) else [value]:
                    yield (field if isinstance(field, str) else None), one
        else:
            yield None, item


def _field_names(selection: object) -> Iterator[object]:
    """The keys of a search identifier's mappings (a mapping, or a list of mappings)."""
    for item in selection if isinstance(selection, list) else [selection]:
        if isinstance(item, dict):
            yield from item.keys()


def _kind(value: object) -> str:
    names = {type(None): "null", bool: "a boolean", int: "a number", float: "a number",
             dict: "a mapping", list: "a list"}
    return names.get(type(value), f"a {type(value).__name__}")


def rule_error(rule: SigmaRule) -> SigmaError | None:
    """What is wrong with a loaded rule that pySigma did not refuse, or None.

    A ``|re`` whose value is not a string (YAML read ``123`` as a number: pySigma keeps the
    number as the pattern, and every backend fails on it), and a ``1 of`` / ``all of`` selector
    whose pattern matches no search identifier (pySigma drops it from the condition, so the
    query would match without it).
    """
    for name, detection in rule.detection.detections.items():
        for item in detection_items(detection):
            for value in item.value:
                if isinstance(value, SigmaRegularExpression) and \
                        not isinstance(value.regexp, (str, SigmaString)):
                    return SigmaValueError(
                        f"search identifier {name!r}: {item.field or 'keyword'}|re has the value "
                        f"{value.regexp!r}, {_kind(value.regexp)}: a regular expression is a "
                        "string (quote it)")
    for condition in rule.detection.condition:
        tree = _parse_tree(condition, rule)
        for selector in _selectors(tree):
            if not selector.resolve_referenced_detections(rule.detection):
                which = "them" if selector.pattern == "them" else repr(selector.pattern)
                return SigmaConditionError(
                    f"condition {condition!r}: {which} matches no search identifier (of "
                    f"{', '.join(sorted(rule.detection.detections))}; an identifier starting "
                    "with '_' is matched only by a pattern starting with '_'), so the selector "
                    "would be dropped from the query")
    return None


def _parse_tree(condition: str, rule: SigmaRule) -> object:
    from converter.rules.conditions import FastCondition

    return FastCondition(condition, rule.detection).parse(postprocess=False)


def _selectors(tree: object) -> Iterator[ConditionSelector]:
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ConditionSelector):
            yield node
        elif isinstance(node, ConditionItem):
            stack.extend(node.args)


def lower_logsource(rule: SigmaRule) -> None:
    """Read the rule's logsource category, product and service in lower case, in place.

    The Sigma rules specification (LogSource) says their values "are in lower case"; pySigma's
    pipelines compare them as written, while the reference and the event generator look them
    up in lower case. Lowering them once here makes every part route ``product: Windows`` as
    ``windows`` (before, it converted on no target while the reference gave it Windows events).
    """
    source = rule.logsource

    def lower(value: str | None) -> str | None:
        return value.lower() if isinstance(value, str) else value

    category, product, service = (lower(source.category), lower(source.product),
                                  lower(source.service))
    if (category, product, service) != (source.category, source.product, source.service):
        rule.logsource = dataclasses.replace(source, category=category, product=product,
                                             service=service)


def flatten_expansions(rule: SigmaRule) -> None:
    """Make every value expansion of the rule flat, in place.

    Two value-expanding modifiers on one field (``|windash|windash``, ``|base64offset|windash``,
    ...) make pySigma nest one ``SigmaExpansion`` in another: the variants of each variant.
    Every backend expects the variants to be plain values (a nested one was an
    ``AttributeError``, an internal error, on every target). An expansion means "any of its
    variants", so a nested one means any of the variants of the variants: the flat list of them.
    """
    for detection in rule.detection.detections.values():
        for item in detection_items(detection):
            if any(isinstance(v, SigmaExpansion) for v in item.value):
                item.value = [_flat(v) for v in item.value]


def _flat(value: SigmaType) -> SigmaType:
    """``value`` with the expansions nested in it replaced by their variants."""
    if not isinstance(value, SigmaExpansion):
        return value
    leaves: list[SigmaType] = []
    stack = list(reversed(value.values))
    while stack:  # depth-first, in order: the variants keep pySigma's order
        item = stack.pop()
        if isinstance(item, SigmaExpansion):
            stack.extend(reversed(item.values))
        else:
            leaves.append(item)
    return SigmaExpansion(leaves)


def detection_items(detection: SigmaDetection) -> Iterator[SigmaDetectionItem]:
    """Every detection item of a search identifier, however its detections nest."""
    for item in detection.detection_items:
        if isinstance(item, SigmaDetection):
            yield from detection_items(item)
        else:
            yield item
