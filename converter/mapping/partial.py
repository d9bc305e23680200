"""Partial evaluation of a rule on a data source that never records some of its fields.

Elastic Defend's process events have no ``process.pe.description``; a Splunk CIM dataset has no
field for Sysmon's ``Company``. On such a data source every event lacks the field, so every test
on it has one known value: the reference evaluator's verdict on an event without the field
(``converter.reference.evaluator.verdict_on_missing_fields``: a value test is false, ``null`` and
``exists: false`` are true, ``not`` flips them). ``UnrecordedFieldsTransformation`` replaces each
such detection item by that constant, simplifies the detections (AND / OR of items) and the
condition (``and``, ``or``, ``not``, ``1 of`` / ``all of`` patterns, Sigma filters' ``_``
detections), and leaves a conversion warning per detection naming the field, the data source and
what became of the detection. The rest converts as usual, and the query is exact on that data
source: ``check`` proves it on events the source could hold (``Checker`` removes the unrecorded
fields before asking the reference, as the renderer never writes them).

The whole rule is refused only when its condition becomes a constant: it would match every event
of the logsource, or none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionIdentifier,
    ConditionNOT,
    ConditionOR,
    ConditionSelector,
)
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaTransformationError
from sigma.processing.transformations.base import PreprocessingTransformation
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaDetections, SigmaRule
from sigma.types import SigmaFieldReference

from backends.common import EXACT_WARNINGS  # noqa: F401  (re-exported: its users import it from here)

from converter.mapping.declared import warn_on_rule
from converter.rules.conditions import FastCondition, use_fast_conditions


def _read_fields(item: SigmaDetectionItem) -> set[str]:
    """The fields a detection item reads: its own and any ``fieldref`` target."""
    out = {item.field} if item.field is not None else set()
    out.update(v.field for v in item.value if isinstance(v, SigmaFieldReference))
    return out


@dataclass
class _Touch:
    """One detection item decided as constant: which fields made it so, and its value."""

    fields: tuple[str, ...]
    value: bool


@dataclass
class Residual:
    """A rule's detections on events without some fields (``residual``)."""

    #: True / False when the whole condition became constant, else None.
    constant: bool | None
    #: The simplified conditions (condition text) and the detections they still name.
    conditions: list[str]
    kept: dict[str, SigmaDetection]
    #: Detections that became constant, and the constant tests of each touched detection.
    constants: dict[str, bool]
    touched: dict[str, list[_Touch]]


@dataclass
class UnrecordedFieldsTransformation(PreprocessingTransformation):
    """Evaluate tests on fields a data source never records, and simplify the rule.

    Attributes:
        data_source: the data source (named in warnings and refusals).
        logsource: the mapping table's logsource entry id.
        fields: ``(field, reason)`` for every Sigma field the source never records there.
    """

    data_source: str = ""
    logsource: str = ""
    fields: tuple[tuple[str, str], ...] = ()

    def apply(self, rule: SigmaRule | SigmaCorrelationRule) -> None:
        """Rewrite the rule's detections and conditions when it reads an unrecorded field."""
        super().apply(rule)
        if not isinstance(rule, SigmaRule) or not self.fields:
            return
        residual = self.residual(rule.detection)
        if residual is None:
            return
        unrecorded = dict(self.fields)
        old = rule.detection
        names = sorted({f for found in residual.touched.values() for t in found for f in t.fields})
        where = f"data_source={self.data_source} never records {', '.join(names)} for logsource {self.logsource}"
        why = "; ".join(f"{n}: {unrecorded[n]}" for n in names)
        if residual.constant is not None:
            always = residual.constant
            raise SigmaTransformationError(
                f"on this data source the whole condition is constant ({'true' if always else 'false'}"
                f": the rule would {'match every event' if always else 'never match'}): {where} ({why})",
                source=old.source,
            )
        for name, found in residual.touched.items():
            self._warn(rule, name, found, residual.constants.get(name))
        # Constant detections are gone from every condition; the rest keep their names.
        rule.detection = SigmaDetections(residual.kept, residual.conditions, old.source)
        use_fast_conditions(rule)
        self.processing_item_applied(rule)

    def residual(self, old: SigmaDetections) -> "Residual | None":
        """What the detections become on events without the fields (None: no test reads them).

        Raises:
            SigmaTransformationError: the reference cannot decide a test on a missing field.
        """
        unrecorded = dict(self.fields)
        if not any(
            _read_fields(item) & unrecorded.keys()
            for detection in old.detections.values()
            for item in _items(detection)
        ):
            return None
        constants: dict[str, bool] = {}
        kept: dict[str, SigmaDetection] = {}
        touched: dict[str, list[_Touch]] = {}
        for name, detection in old.detections.items():
            found: list[_Touch] = []
            result = self._detection(detection, old, unrecorded, found)
            if found:
                touched[name] = found
            if isinstance(result, bool):
                constants[name] = result
            else:
                kept[name] = result
        if not constants and not touched:
            return None
        conditions: list[str] = []
        always = False
        for condition in old.condition:
            tree = FastCondition(condition, old, old.source).parse(postprocess=False)
            value = _simplify(tree, old, constants)
            if value is True:
                always = True
            elif value is not False:
                conditions.append(value)
        constant = True if always else False if not conditions else None
        return Residual(constant, conditions, kept, constants, touched)

    def _detection(
        self,
        detection: SigmaDetection,
        detections: SigmaDetections,
        unrecorded: dict[str, str],
        found: list[_Touch],
    ) -> bool | SigmaDetection:
        """Simplify one (possibly nested) detection; a constant when it no longer depends on the
        event."""
        from converter.reference.evaluator import verdict_on_missing_fields

        conjunction = detection.item_linking is ConditionAND
        items: list[SigmaDetection | SigmaDetectionItem] = []
        for item in detection.detection_items:
            if isinstance(item, SigmaDetection):
                value: bool | SigmaDetection | SigmaDetectionItem = self._detection(
                    item, detections, unrecorded, found
                )
            elif _read_fields(item) & unrecorded.keys():
                try:
                    value = verdict_on_missing_fields(item, detections)
                except Exception as exc:  # noqa: BLE001 - the reference's own refusal reasons
                    raise SigmaTransformationError(
                        f"{item.field}: data_source={self.data_source} never records "
                        f"{', '.join(sorted(_read_fields(item) & unrecorded.keys()))}, and the "
                        f"reference cannot decide this test on a missing field ({exc})",
                        source=item.source,
                    ) from None
                found.append(_Touch(tuple(sorted(_read_fields(item) & unrecorded.keys())), value))
            else:
                value = item
            if isinstance(value, bool):
                if value is not conjunction:
                    return value  # a true member of an OR, a false member of an AND
                continue  # a true member of an AND, a false member of an OR: no effect
            items.append(value)
        if not items:
            return conjunction
        if len(items) == len(detection.detection_items):
            return detection
        return SigmaDetection(items, source=detection.source, item_linking=detection.item_linking)

    def _warn(self, rule: SigmaRule, name: str, found: list[_Touch], constant: bool | None) -> None:
        """One warning per touched detection: which tests became what, and the outcome."""
        fields = sorted({f for t in found for f in t.fields})
        tests = ", ".join(
            f"{'/'.join(t.fields)} test always {'true' if t.value else 'false'}" for t in found
        )
        if constant is None:
            outcome = f"detection {name!r} keeps only its other tests"
        elif constant:
            outcome = f"detection {name!r} always matches on that data"
        else:
            outcome = f"detection {name!r} can never match on that data"
        message = (
            f"data_source={self.data_source} never records {', '.join(fields)} for logsource "
            f"{self.logsource} ({tests}): {outcome}; the query is exact on that data source"
        )
        warn_on_rule(rule, message)
        attributes = getattr(rule, "custom_attributes", None)
        if attributes is not None:
            found_list = attributes.setdefault(EXACT_WARNINGS, [])
            if message not in found_list:
                found_list.append(message)


def _items(detection: SigmaDetection) -> list[SigmaDetectionItem]:
    """Every detection item of a detection, nested ones included."""
    out: list[SigmaDetectionItem] = []
    for item in detection.detection_items:
        out.extend(_items(item) if isinstance(item, SigmaDetection) else [item])
    return out


def _simplify(node: Any, detections: SigmaDetections, constants: dict[str, bool]) -> bool | str:
    """Simplify a parsed (not post-processed) condition: a constant, or condition text."""
    if isinstance(node, ConditionIdentifier):
        return constants.get(node.identifier, node.identifier)
    if isinstance(node, ConditionSelector):
        # pySigma's own resolution of `1 of x*` / `all of them` (filters' `_` names included).
        members = [ConditionIdentifier([i.identifier]) for i in node.resolve_referenced_detections(detections)]
        return _combine(node.cond_class is ConditionAND, [_simplify(m, detections, constants) for m in members])
    if isinstance(node, ConditionNOT):
        inner = _simplify(node.args[0], detections, constants)
        return (not inner) if isinstance(inner, bool) else f"not ({inner})"
    if isinstance(node, (ConditionAND, ConditionOR)):
        return _combine(
            isinstance(node, ConditionAND), [_simplify(a, detections, constants) for a in node.args]
        )
    raise SigmaTransformationError(f"condition element {type(node).__name__} cannot be simplified")


def _combine(conjunction: bool, parts: list[bool | str]) -> bool | str:
    """AND / OR of simplified parts."""
    texts: list[str] = []
    for part in parts:
        if part is (not conjunction):
            return part
        if part is conjunction:
            continue
        texts.append(str(part))
    if not texts:
        return conjunction
    if len(texts) == 1:
        return texts[0]
    return (" and " if conjunction else " or ").join(f"({t})" for t in texts)



@dataclass
class SharedRowsTransformation(PreprocessingTransformation):
    """Refuse a rule that could match a row another kind of source event writes to the same
    dataset.

    A data-model dataset (CIM ``Endpoint.Registry``) holds the rows of several source events
    (Sysmon 12, 13 and 14), and where no documented field tells them apart the query cannot
    select the rule's kind. Rows of the other kinds never carry ``fields`` (Sysmon 12 and 14 have
    no ``Details``), so the query is exact on the dataset when the rule can never match an event
    without those fields: its condition, evaluated as on missing fields (``residual``), is the
    constant false. Any other rule is refused with ``reason``.

    Attributes:
        logsource: the mapping table's logsource entry id.
        fields: the Sigma fields the other kinds' rows never carry.
        reason: what the dataset holds (named in refusals).
    """

    logsource: str = ""
    fields: tuple[str, ...] = ()
    reason: str = ""

    def apply(self, rule: SigmaRule | SigmaCorrelationRule) -> None:
        """Let the rule through only when no row without ``fields`` can match it."""
        super().apply(rule)
        if not isinstance(rule, SigmaRule) or not self.fields:
            return
        probe = UnrecordedFieldsTransformation(
            logsource=self.logsource, fields=tuple((name, self.reason) for name in self.fields)
        )
        residual = probe.residual(rule.detection)
        if residual is not None and residual.constant is False:
            return
        missing = ", ".join(self.fields)
        if residual is None:
            how = f"it tests no {missing}"
        elif residual.constant:
            how = f"it matches every event without {missing}"
        else:
            how = f"without {missing} it still matches when {' or '.join(residual.conditions)}"
        raise SigmaTransformationError(
            f"logsource {self.logsource}: {self.reason}; this rule could match such a row ({how})",
            source=rule.source,
        )
