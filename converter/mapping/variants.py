"""One OR branch per kind of source event: a logsource whose rows come from two event kinds.

Some logsources are filled by two kinds of source event with different field names (Sysmon 1
and Security 4688 for process creation on the windows data source). A table entry's ``variants``
list the other kinds; ``SourceVariantsTransformation`` copies the rule's detections once per
kind, renames each copy with that kind's fields, guards each copy with its kind's conditions and
ORs them, so one query covers every kind exactly.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from sigma.conditions import ConditionAND, ConditionOR
from sigma.correlations import SigmaCorrelationRule
from sigma.processing.transformations.base import PreprocessingTransformation
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaDetections, SigmaRule
from sigma.types import SigmaExists, SigmaFieldReference, SigmaNull

from converter.rules.conditions import use_fast_conditions


_CONDITION_TOKEN = re.compile(r"\(|\)|[^\s()]+")
_QUANTIFIERS = {"1", "any", "all"}
_OPERATORS = {"and", "or", "not"}


def _prefixed(prefix: str, name: str) -> str:
    """``sel`` -> ``p__sel``; ``_filter`` -> ``_p__filter`` (still hidden from ``them``)."""
    return f"_{prefix}{name[1:]}" if name.startswith("_") else f"{prefix}{name}"


def rewrite_condition(condition: str, prefix: str) -> str:
    """Rename every search identifier and pattern of a Sigma condition into a variant's namespace.

    ``them`` becomes ``<prefix>*``, which covers the variant's own detections and, like ``them``,
    none whose name starts with ``_``.
    """
    tokens = _CONDITION_TOKEN.findall(condition)
    out: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.lower() in _QUANTIFIERS and i + 2 < len(tokens) and tokens[i + 1].lower() == "of":
            target = tokens[i + 2]
            out += [token, "of", f"{prefix}*" if target.lower() == "them" else _prefixed(prefix, target)]
            i += 3
            continue
        out.append(token if token in "()" or token.lower() in _OPERATORS else _prefixed(prefix, token))
        i += 1
    return " ".join(out)


def _constant(name: str, value: bool) -> SigmaDetection:
    """A detection with a fixed outcome: ``name`` exists and/or (``value``) does not exist."""
    return SigmaDetection(
        [
            SigmaDetectionItem(name, [], [SigmaExists(True)]),
            SigmaDetectionItem(name, [], [SigmaExists(False)]),
        ],
        item_linking=ConditionOR if value else ConditionAND,
    )


def _on_missing_field(item: SigmaDetectionItem) -> bool:
    """What a detection item decides on an event that lacks its field (Sigma semantics): value
    tests are false, ``null`` is true, ``exists: false`` is true; ``neq`` negates."""
    outcomes = [
        True if isinstance(v, SigmaNull) else (not v.exists) if isinstance(v, SigmaExists) else False
        for v in (item.value or [SigmaNull()])
    ]
    result = all(outcomes) if item.value_linking is ConditionAND else any(outcomes)
    return (not result) if getattr(item, "negated", False) else result


@dataclass
class SourceVariantsTransformation(PreprocessingTransformation):
    """One OR branch per kind of source event, each with its own conditions and field names.

    The rule's detections are copied once per branch under a branch prefix, the condition becomes
    ``(primary guard and C) or (variant guard and C')``, and in a variant's copy every field is
    renamed (or mapped through a value function) with the variant's table. A Sigma field the
    variant's events never carry is missing there: its items become constants, decided as the
    reference decides on a missing field (a value test false, a ``null`` test true). The primary
    branch keeps Sigma names; the table's normal items map them afterwards.
    """

    primary: str = "primary"
    primary_conditions: tuple[tuple[str, Any], ...] = ()
    variants: tuple[Any, ...] = ()
    cased: bool = False
    #: False: no branch of the first kind (a rule whose records are one variant's alone,
    #: ``converter.mapping.precedence.variant_only``).
    primary_branch: bool = True

    def _guard(self, conditions: tuple[tuple[str, Any], ...]) -> SigmaDetection:
        suffix = "|cased" if self.cased else ""
        return SigmaDetection.from_definition(
            {(k + suffix if isinstance(v, str) else k): v for k, v in conditions}
        )

    def _map_variant(self, detection: SigmaDetection, variant: Any) -> SigmaDetection:
        from converter.mapping.functions.registry import QUERY_FUNCTIONS

        targets = variant.field_targets()
        items: list[SigmaDetection | SigmaDetectionItem] = []
        for item in detection.detection_items:
            if isinstance(item, SigmaDetection):
                items.append(self._map_variant(item, variant))
                continue
            if item.field is None:
                items.append(item)
                continue
            target = targets.get(item.field)
            if target is None:
                # The variant's events never carry this field: decide the item as on a missing
                # field (a value test is false, a `null` test true), as the reference does.
                items.append(_constant(item.field, _on_missing_field(item)))
            elif target.function is None:
                item.field = target.target
                refs = [v for v in item.value if isinstance(v, SigmaFieldReference)]
                if any(targets.get(v.field) is None for v in refs):
                    # A field this variant's events never carry: the comparison is false (the
                    # reference's fieldref on a missing field), as for a value test above.
                    items.append(_constant(item.field, bool(getattr(item, "negated", False))))
                    continue
                for ref in refs:
                    # The referenced field is renamed as the tested one (4688's ParentImage is
                    # ParentProcessName): it was left under its Sysmon name, which 4688 lacks.
                    ref_target = targets[ref.field]
                    if ref_target.function is None:
                        ref.field = ref_target.target
                items.append(item)
            else:
                items.append(QUERY_FUNCTIONS[target.function](item, target, ""))
        return SigmaDetection(items, source=detection.source, item_linking=detection.item_linking)

    def apply(self, rule: SigmaRule | SigmaCorrelationRule) -> None:
        """Rebuild the rule's detections and condition with one branch per source kind."""
        super().apply(rule)
        if not isinstance(rule, SigmaRule):
            return
        old = rule.detection
        branches = [(f"{self.primary}__", self.primary_conditions, None)] * self.primary_branch + [
            (f"{v.id.replace('-', '_')}__", tuple(v.conditions.items()), v) for v in self.variants
        ]
        detections: dict[str, SigmaDetection] = {}
        for prefix, conditions, variant in branches:
            for name, detection in old.detections.items():
                if variant is None:
                    # The primary branch keeps the detection as it is (Sigma names): the
                    # variants below copy it before anything maps its fields, so it needs no
                    # copy of its own (the rule itself is already this target's copy).
                    detections[_prefixed(prefix, name)] = detection
                    continue
                # Detections link back to their rule: share the rule and the old detections
                # section instead of copying the whole rule once per branch.
                copied = copy.deepcopy(detection, {id(old): old, id(rule): rule})
                detections[_prefixed(prefix, name)] = self._map_variant(copied, variant)
            detections[f"guard_{prefix}"] = self._guard(conditions)
        conditions = [
            " or ".join(
                f"(guard_{prefix} and ({rewrite_condition(cond, prefix)}))"
                for prefix, _, _ in branches
            )
            for cond in old.condition
        ]
        rule.detection = SigmaDetections(detections, conditions, old.source)
        use_fast_conditions(rule)
        self.processing_item_applied(rule)
