"""What a mapping pipeline declares about a rule besides its query: warnings, and the fields
whose values the shipper changes so that no query can be exact.

A transformation cannot return a warning with the detection items it rewrites, so it leaves it
on the rule being converted (``warn_on_rule``), where the backend reads it
(``backends.common.WarningsMixin``). The declared approximations that ``check`` must recognise
on events travel the same way as data: the fields whose values the shipper deletes
(``DroppedValueCheck``, ``DROPPED_FIELDS``) and those it trims (``TRIMMED_FIELDS``);
``Converter`` moves both to the ``Conversion``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from backends.common import PIPELINE_WARNINGS
from sigma.exceptions import SigmaTransformationError
from sigma.processing.transformations.base import DetectionItemTransformation
from sigma.rule import SigmaDetectionItem, SigmaRule


#: Where a transformation leaves a warning for the backend (``backends.common.WarningsMixin``
#: reads it): the rule's custom attributes travel with the rule object being converted, while the
#: pipeline a transformation points to may be a component of the combined one the backend runs.
RULE_WARNINGS = PIPELINE_WARNINGS
#: Where ``DroppedValueCheck`` lists the fields it warned about, with the values the shipper
#: deletes (``Converter`` moves them to ``Conversion.dropped``).
DROPPED_FIELDS = "sigport_dropped_fields"
#: The Sigma fields whose values the shipper trims where a test was converted as a declared
#: approximation (``functions/trim.py``; ``Converter`` moves them to ``Conversion.trimmed``).
TRIMMED_FIELDS = "sigport_trimmed_fields"


def warn_on_rule(rule: Any, message: str) -> None:
    """Record a conversion warning on the rule being converted (read back by the backend)."""
    attributes = getattr(rule, "custom_attributes", None)
    if attributes is None:
        return
    found = attributes.setdefault(RULE_WARNINGS, [])
    if message not in found:
        found.append(message)


@dataclass
class DroppedValueCheck(DetectionItemTransformation):
    """Flag a test the shipper's deletion of some values makes inexact (``sources.drop_values``).

    The Windows integration and Winlogbeat delete every event-data value equal to ``""``, ``"-"``
    or the all-zero GUID before indexing, so the target sees a missing field where the source
    wrote one of them. A detection item whose Sigma verdict on such a value differs from its
    verdict on a missing field (``X: ''``, ``X|contains: '-'``, ``X: null``, ``X|exists: true``)
    has no exact query on that data: the target cannot tell the value from its absence. The query
    is still emitted (it is exact on every other value, and a user of that data has no better one)
    with a warning naming the field and the value, so ``check`` calls it "not proven" and never
    equivalent, nor "differs" on an event that shows only this difference (``DROPPED_FIELDS``). Items that answer alike on the deleted values and on a missing field (the common
    ``endswith``/``contains`` of real text) are untouched; fields read from the record's System
    section (``exempt``) are never deleted. An item whose verdict on those values cannot be
    decided is refused.
    """

    data_source: str = ""
    values: tuple[str, ...] = ()
    exempt: frozenset[str] = field(default_factory=frozenset)

    def apply(self, rule: Any) -> None:
        """Visit the rule's detection items, then warn for each field whose deleted values the
        rule's condition as a whole can tell from a missing field (``condition_tells_apart``):
        ``CommandLine: dllhost`` and ``not CommandLine: null`` never differ on ``''``, as the
        selection is false there either way."""
        from converter.mapping.functions.tree import condition_tells_apart

        self._pending: dict[str, tuple[list[str], list[str]]] = {}
        super().apply(rule)
        for name, (differ, messages) in self._pending.items():
            if isinstance(rule, SigmaRule) and not any(
                condition_tells_apart(rule, name, v) for v in differ
            ):
                continue
            for message in messages:
                warn_on_rule(rule, message)
            # The same fact as data, for ``check``: an event that disagrees only because the
            # data source writes it like one with this field missing (or holding another deleted
            # value) shows this declared difference, not a defect (converter/checking/dropped.py).
            attributes = getattr(rule, "custom_attributes", None)
            if attributes is not None:
                attributes.setdefault(DROPPED_FIELDS, {})[name] = list(self.values)
        self._pending = {}

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> None:
        """Warn for an item whose verdict on a deleted value differs from a missing field's."""
        from converter.mapping.functions.tree import NotExact, item_verdict

        name = detection_item.field
        if name is None or name in self.exempt or not self.values:
            return None
        shown = ", ".join(repr(v) for v in self.values)
        try:
            missing = item_verdict(detection_item, None)
            differ = [v for v in self.values if item_verdict(detection_item, v) is not missing]
        except NotExact as reason:
            raise SigmaTransformationError(
                f"{name}: on data_source={self.data_source} the shipper deletes the values {shown}"
                f" before indexing, and whether this test is true on them cannot be decided "
                f"({reason})",
                source=detection_item.source,
            ) from None
        if differ:
            pending = self._pending.setdefault(name, ([], []))
            pending[0].extend(v for v in differ if v not in pending[0])
            pending[1].append(
                f"{name}: on data_source={self.data_source} the shipper deletes the values {shown}"
                f" before indexing, so the target sees a missing field where the source wrote "
                f"{' or '.join(repr(v) for v in differ)}; this test is "
                f"{'true' if not missing else 'false'} on {differ[0]!r} but "
                f"{'true' if missing else 'false'} on a missing field, and the query cannot tell "
                "them apart",
            )
        return None
