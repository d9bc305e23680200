"""The event side of a user's pySigma pipeline (``-p FILE.yml``) for ``sigport check``.

A user pipeline runs after the built-in table when a query is emitted: it can rename fields, add
a prefix, or add a condition such as ``index=sysmon``. The checker renders every event with the
built-in table, so without a mirror the event would still carry the built-in field names, and a
correct query would look wrong (or a wrong one right). This module reads the user's processing
items and applies, in the same order, the event-side counterpart of each one the renderer can
mirror exactly:

* ``FieldMappingTransformation`` / ``FieldPrefixMappingTransformation``: the event field is renamed
  (a one-to-many mapping, which the query ORs, puts the value in the first target field: a real
  event carries it in one of them);
* ``AddFieldnamePrefixTransformation`` / ``AddFieldnameSuffixTransformation``: likewise;
* ``AddConditionTransformation`` (plain values, not negated): the event carries the condition's
  field, as every event in, say, that index does;
* transformations without an event-side effect (logsource, state, output fields, custom
  attributes, failures, which stop the conversion itself) change nothing.

Any other item (value rewrites, detection-item conditions, query post-processing, templates...)
cannot be mirrored from its declaration alone. It is named in ``EventMirror.unmirrored`` and the
checker then calls an agreement "not proven" rather than equivalent, as it does for an emitter's
declared approximation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import (
    AddConditionTransformation,
    AddFieldnamePrefixTransformation,
    AddFieldnameSuffixTransformation,
    AddFieldTransformation,
    ChangeLogsourceTransformation,
    DetectionItemFailureTransformation,
    FieldMappingTransformation,
    FieldPrefixMappingTransformation,
    NestedProcessingTransformation,
    RemoveFieldTransformation,
    RuleFailureTransformation,
    SetCustomAttributeTransformation,
    SetFieldTransformation,
    SetStateTransformation,
)
from sigma.processing.transformations.failure import StrictFieldMappingFailure
from sigma.processing.transformations.fields import FieldFunctionTransformation

from converter.mapping.pipeline import builtin_pipelines, load_user_pipeline

__all__ = ["EventMirror", "mirror_for", "user_pipelines"]

Step = Callable[[dict[str, Any]], None]

# Items that never touch an event: they route (logsource), carry state, edit the rule's output
# field list or its metadata, or make the conversion fail (then there is nothing to check).
_NO_EVENT_EFFECT = (
    ChangeLogsourceTransformation,
    SetStateTransformation,
    SetCustomAttributeTransformation,
    AddFieldTransformation,
    RemoveFieldTransformation,
    SetFieldTransformation,
    RuleFailureTransformation,
    DetectionItemFailureTransformation,
    StrictFieldMappingFailure,
)


@dataclass(frozen=True)
class EventMirror:
    """The event-side steps of the user pipelines for one rule, and what could not be mirrored."""

    steps: tuple[Step, ...] = ()
    unmirrored: tuple[str, ...] = ()

    def apply(self, event: dict[str, Any]) -> dict[str, Any]:
        """A copy of a rendered (flat) event with every mirrored step applied in pipeline order."""
        if not self.steps:
            return event
        out = dict(event)
        for step in self.steps:
            step(out)
        return out

    def approximation(self) -> str | None:
        """The checker's 'not proven' reason, or None when every item was mirrored."""
        if not self.unmirrored:
            return None
        return "the user pipeline's " + "; ".join(self.unmirrored) + " cannot be mirrored on events"


def user_pipelines(specs: Sequence[str] | None) -> list[tuple[str, ProcessingPipeline]]:
    """The pipeline files among ``-p`` specs (built-in names are not user pipelines), loaded.

    Raises:
        PipelineError: a file cannot be read or is not a pySigma pipeline.
    """
    builtin = set(builtin_pipelines())
    return [(s, load_user_pipeline(s)) for s in specs or () if s not in builtin]


def mirror_for(pipelines: Iterable[tuple[str, ProcessingPipeline]], rule: Any) -> EventMirror:
    """The event mirror of ``pipelines`` (in order) for ``rule`` (a pySigma rule)."""
    steps: list[Step] = []
    unmirrored: list[str] = []
    for source, pipeline in pipelines:
        name = Path(source).name
        for item in pipeline.items:
            _mirror_item(item, pipeline, rule, f"{name}: ", steps, unmirrored, ())
        for kind, extra in (("postprocessing", pipeline.postprocessing_items),
                            ("finalizer", pipeline.finalizers)):
            for entry in extra:
                unmirrored.append(f"{name}: {kind} {type(entry).__name__}")
    return EventMirror(tuple(steps), tuple(unmirrored))


def _label(prefix: str, item: ProcessingItem) -> str:
    return f"{prefix}{type(item.transformation).__name__}" + (f" ({item.identifier})" if item.identifier else "")


def _mirror_item(
    item: ProcessingItem,
    pipeline: ProcessingPipeline,
    rule: Any,
    prefix: str,
    steps: list[Step],
    unmirrored: list[str],
    outer_fields: tuple[ProcessingItem, ...],
) -> None:
    """Append ``item``'s event-side step (or its name to ``unmirrored``)."""
    transformation = item.transformation
    if isinstance(transformation, _NO_EVENT_EFFECT):
        return
    try:
        # Items of a loaded pipeline already know their pipeline (pySigma sets it on load).
        applies = item.match_rule_conditions(rule)
    except Exception:  # noqa: BLE001 - a state condition needs the conversion's own pipeline run
        unmirrored.append(_label(prefix, item) + " with a rule condition that depends on state")
        return
    if not applies:
        return
    if item.detection_item_conditions or item.detection_item_condition_expression is not None:
        # Which detection items it touches depends on their values, not on the event's fields.
        unmirrored.append(_label(prefix, item) + " with detection-item conditions")
        return
    guards = outer_fields + ((item,) if _has_field_conditions(item) else ())
    if isinstance(transformation, NestedProcessingTransformation):
        nested = transformation._nested_pipeline
        for inner in nested.items:
            _mirror_item(inner, pipeline, rule, prefix, steps, unmirrored, guards)
        return
    rename = _renamer(transformation)
    if rename is not None:
        steps.append(_rename_step(rename, guards))
        return
    if isinstance(transformation, AddConditionTransformation):
        step = _condition_step(transformation)
        if step is not None:
            steps.append(step)
            return
    unmirrored.append(_label(prefix, item))


def _has_field_conditions(item: ProcessingItem) -> bool:
    return bool(item.field_name_conditions) or item.field_name_condition_expression is not None


def _renamer(transformation: Any) -> Callable[[str], str | None] | None:
    """The field-name function of a renaming transformation (None: not a plain rename)."""
    if isinstance(transformation, FieldFunctionTransformation):
        return None  # an arbitrary Python function: not declared data
    if isinstance(transformation, FieldPrefixMappingTransformation):
        mapping = transformation.mapping

        def by_prefix(name: str) -> str | None:
            for old, new in mapping.items():
                if old is not None and name.startswith(old):
                    target = new[0] if isinstance(new, list) else new
                    return target + name[len(old):]
            return None

        return by_prefix
    if isinstance(transformation, FieldMappingTransformation):
        mapping = transformation.mapping

        def by_name(name: str) -> str | None:
            new = mapping.get(name)
            if new is None:
                return None
            return new[0] if isinstance(new, list) and new else (new if isinstance(new, str) else None)

        return by_name
    if isinstance(transformation, AddFieldnamePrefixTransformation):
        prefix = transformation.prefix
        return lambda name: prefix + name
    if isinstance(transformation, AddFieldnameSuffixTransformation):
        suffix = transformation.suffix
        return lambda name: name + suffix
    return None


def _rename_step(rename: Callable[[str], str | None], guards: tuple[ProcessingItem, ...]) -> Step:
    def step(event: dict[str, Any]) -> None:
        for name in list(event):
            if name == "_raw" or not all(g.match_field_name(name) for g in guards):
                continue
            new = rename(name)
            if new is not None and new != name:
                event[new] = event.pop(name)

    return step


def _condition_step(transformation: AddConditionTransformation) -> Step | None:
    """Events carry a positive plain-valued added condition; anything else is not mirrored."""
    if transformation.template or transformation.negated:
        return None
    values: dict[str, Any] = {}
    for name, value in transformation.conditions.items():
        first = (value[0] if value else None) if isinstance(value, list) else value
        if isinstance(first, bool) or not isinstance(first, (str, int)):
            return None
        if isinstance(first, str) and any(c in first for c in "*?\\"):
            return None  # a wildcard pattern: no single value stands for it
        values[name] = first

    def step(event: dict[str, Any]) -> None:
        event.update(values)

    return step

