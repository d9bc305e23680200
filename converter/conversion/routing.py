"""Pipeline routing: a pySigma pipeline's pass over a rule, calling only the items that may apply.

A built-in pipeline has hundreds of items, each guarded by the log source of one mapping-table
entry, and a corpus has few log sources. ``memoize_logsource_conditions`` makes a pipeline
remember each item's answer per log source (``_LogsourceMemo``) and routes its ``apply`` past
the items that cannot apply (``_RoutedApply``). A routed pass can also resume from a point that
a pass shared with other targets reached (``PassState``, ``converter.conversion.shared``).
"""

from __future__ import annotations

import bisect
import copy
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable

from sigma.exceptions import SigmaError
from sigma.processing.conditions import LogsourceCondition
from sigma.processing.pipeline import ProcessingItemBase, ProcessingPipeline
from sigma.processing.tracking import FieldMappingTracking
from sigma.rule import SigmaLogSource, SigmaRule

class _SourceKey:
    """The memo key of a rule's log source, computed once per ``SigmaLogSource`` object.

    Whether a ``LogsourceCondition`` matches a ``SigmaRule`` depends on the rule's log source
    alone: its class, category, product, service and definition (what its equality and
    containment compare). ``SigmaLogSource`` is frozen, and pySigma's transformations replace
    it rather than change it, so the key of the object last seen is still its key; one key
    serves every item of the pipeline for the rule.
    """

    __slots__ = ("source", "key")

    def __init__(self) -> None:
        """Start with no log source seen."""
        self.source: Any = _NOTHING
        self.key: tuple[Any, ...] | None = None

    def of(self, rule: Any) -> tuple[Any, ...] | None:
        """The key of ``rule``'s log source, or None when pySigma must decide itself."""
        if type(rule) is not SigmaRule and not isinstance(rule, SigmaRule):
            return None
        source = getattr(rule, "logsource", None)
        if source is self.source:
            return self.key
        if not isinstance(source, SigmaLogSource):
            return None
        key: tuple[Any, ...] | None = (
            type(source), source.category, source.product, source.service, source.definition
        )
        try:
            hash(key)
        except TypeError:  # an unhashable value where a string belongs: pySigma decides
            key = None
        self.source, self.key = source, key
        return key


_NOTHING = object()


class _LogsourceMemo:
    """An item's ``match_rule_conditions``, remembered per log source (see ``_SourceKey``).

    pySigma evaluates every item's rule conditions for every rule: about 90 items per rule for
    ecs-windows, a sixth of EQL conversion time in a profile, although a corpus has few
    distinct log sources. For an item guarded by log source conditions only, pySigma's answer
    for a log source is computed once and reused. The key is read at each call, so a
    transformation that changes a rule's log source is still seen by the items after it.
    """

    __slots__ = ("original", "keys", "answers")

    #: Distinct log sources remembered per item, a bound on memory for unusual inputs.
    LIMIT = 4096

    def __init__(self, original: Callable[[Any], bool], keys: _SourceKey) -> None:
        """Wrap ``original`` (the item's bound ``match_rule_conditions``)."""
        self.original = original
        self.keys = keys
        self.answers: dict[tuple[Any, ...], bool] = {}

    def __call__(self, rule: Any) -> bool:
        """The item's answer for ``rule``: remembered, or pySigma's."""
        key = self.keys.of(rule)
        if key is None:
            return self.original(rule)
        answer = self.answers.get(key)
        if answer is None:
            answer = self.original(rule)
            if len(self.answers) < self.LIMIT:
                self.answers[key] = answer
        return answer


def memoize_logsource_conditions(pipeline: ProcessingPipeline) -> int:
    """Remember the rule-condition answers of items guarded by log source conditions only, and
    route the pipeline's ``apply`` past the items that cannot apply to a rule's log source
    (``_RoutedApply``).

    Items with any other kind of rule condition (or none) are left as they are. Returns how
    many items remember their answers.
    """
    keys = _SourceKey()
    count = 0
    guarded = []
    # Items guarded alike share one memo: a table's entries guard hundreds of items with a few
    # dozen distinct log sources, so a log source new to the pipeline asks pySigma once per
    # distinct guard, not once per item (the routed plan asks every guarded item).
    memos: dict[tuple[Any, ...], _LogsourceMemo] = {}
    for item in pipeline.items:
        conditions = item.rule_conditions
        listed = list(conditions.values()) if isinstance(conditions, dict) else list(conditions)
        if not listed or any(type(c) is not LogsourceCondition for c in listed):
            guarded.append(False)
            continue
        if not isinstance(item.__dict__.get("match_rule_conditions"), _LogsourceMemo):
            guard = _guard(item)
            shared = None if guard is None else memos.get(guard)
            if shared is None:
                shared = _LogsourceMemo(item.match_rule_conditions, keys)
                if guard is not None:
                    memos[guard] = shared
            # An instance attribute shadows the method that ProcessingItem.apply calls.
            setattr(item, "match_rule_conditions", shared)
        memo = item.__dict__["match_rule_conditions"]
        guarded.append(True)
        keys = memo.keys  # one key object for the whole pipeline, even when memoized before
        count += 1
    if not isinstance(pipeline.__dict__.get("apply"), _RoutedApply):
        setattr(pipeline, "apply", _RoutedApply(pipeline, guarded, keys))
    return count


def _guard(item: Any) -> tuple[Any, ...] | None:
    """What pySigma's ``match_rule_conditions`` reads of an item guarded by log source
    conditions only, or None when the answer may depend on more.

    pySigma links the conditions' answers (``rule_condition_linking``, e.g. ``all``) and may
    negate the result; a ``LogsourceCondition`` answers from its ``logsource`` alone (containment
    of the rule's log source, which compares category, product, service and definition: the
    fields that make ``SigmaLogSource`` equal and hashable). Two items with equal guards give
    the same answer for every rule. An item of a class that overrides ``match_rule_conditions``,
    or with a condition expression, is left with a memo of its own.
    """
    if getattr(type(item), "match_rule_conditions", None) is not \
            ProcessingItemBase.match_rule_conditions:
        return None
    conditions = item.rule_conditions
    if getattr(item, "rule_condition_expression", None) is not None or \
            not isinstance(conditions, list):
        return None
    try:
        guard = (item.rule_condition_linking, bool(item.rule_condition_negation),
                 tuple(c.logsource for c in conditions))
        hash(guard)
    except (AttributeError, TypeError):  # an unhashable definition: a memo of its own
        return None
    if any(type(c.logsource) is not SigmaLogSource for c in conditions):
        return None
    return guard


class Tracking:
    """What a pipeline pass records besides the rule: pySigma's ``applied_ids``, field name
    tracking, field mappings and state (``ProcessingPipeline.apply`` resets them per rule).

    The items' transformations write them into their own pipeline's attributes; a pass shared by
    several pipelines (``converter.conversion.shared``) installs one ``Tracking`` in the pipeline
    whose items it calls, and each target's pipeline resumes with a copy of it.
    """

    __slots__ = ("applied_ids", "field_name_applied_ids", "field_mappings", "state")

    def __init__(self) -> None:
        """Empty, as ``ProcessingPipeline.apply`` starts."""
        self.applied_ids: set[str] = set()
        self.field_name_applied_ids: defaultdict[str, set[str]] = defaultdict(set)
        self.field_mappings = FieldMappingTracking()
        self.state: dict[str, Any] = {}

    def copy(self) -> Tracking:
        """An independent copy (the state's values themselves are shared, as a pipeline's state
        holds its ``SetStateTransformation`` values themselves)."""
        out = Tracking()
        out.applied_ids = set(self.applied_ids)
        out.field_name_applied_ids = defaultdict(
            set, {name: set(ids) for name, ids in self.field_name_applied_ids.items()})
        out.field_mappings = _copy_mappings(self.field_mappings)
        out.state = dict(self.state)
        return out

    def install(self, pipeline: ProcessingPipeline) -> None:
        """Make ``pipeline`` record into this tracking."""
        pipeline.applied_ids = self.applied_ids
        pipeline.field_name_applied_ids = self.field_name_applied_ids
        pipeline.field_mappings = self.field_mappings
        pipeline.state = self.state


def _copy_mappings(mappings: FieldMappingTracking) -> FieldMappingTracking:
    """A copy of pySigma's field mapping tracker: its two maps of sets, copied set by set
    (``copy.deepcopy`` for anything else, e.g. a subclass or a pySigma that adds attributes)."""
    if type(mappings) is not FieldMappingTracking or vars(mappings).keys() != {"data",
                                                                               "target_fields"}:
        return copy.deepcopy(mappings)
    out = FieldMappingTracking()
    out.data = {source: set(targets) for source, targets in mappings.data.items()}
    out.target_fields = defaultdict(
        set, {target: set(sources) for target, sources in mappings.target_fields.items()})
    return out


@dataclass
class PassState:
    """Where a pass over one rule object stands, for a routed pipeline to resume from it.

    Attributes:
        rule: the rule object the pass is over (a resume applies to this object only).
        key: the rule's log source key (``_SourceKey``) after the last item done.
        last: the pipeline's position of the last item done (-1: none).
        applied: the pipeline's positions of the items done that applied.
        tracking: what the pass recorded so far (owned by this state).
        error: the pySigma error an item raised: the resumed pass raises it.
    """

    rule: Any
    key: tuple[Any, ...]
    last: int = -1
    applied: list[int] = field(default_factory=list)
    tracking: Tracking = field(default_factory=Tracking)
    error: SigmaError | None = None


class _RoutedApply:
    """``ProcessingPipeline.apply`` that calls only the items that may apply to the rule.

    A corpus has few log sources and a built-in pipeline has hundreds of items, each guarded by
    the log source of one mapping-table entry: calling every item for every rule, only to have
    nearly all of them decline, was about a third of the pipeline's time. For each log source
    key (``_SourceKey``) the items worth calling are listed once: the unguarded ones and the
    guarded ones whose remembered answer (``_LogsourceMemo``) is yes. An item that declines
    leaves the rule as it was, so the key can change only when an item applies: then it is read
    again, and the walk goes on with the new key's list past that item. Everything else is
    what pySigma's ``apply`` does (``applied``, ``applied_ids``, the state and trackers reset).

    ``resume``, when set to a ``PassState`` for the very rule object the next call gets, makes
    that call go on from where the state stands instead of from the first item (it is cleared
    by the call, whatever the rule).
    """

    __slots__ = ("pipeline", "items", "size", "guarded", "keys", "plans", "resume", "unguarded",
                 "groups")

    #: Distinct log sources whose item lists are remembered (as ``_LogsourceMemo.LIMIT``).
    LIMIT = 4096

    def __init__(self, pipeline: ProcessingPipeline, guarded: list[bool], keys: _SourceKey) -> None:
        """Route ``pipeline``; ``guarded[i]``: item ``i`` answers through a log source memo."""
        self.pipeline = pipeline
        self.items = pipeline.items
        self.size = len(pipeline.items)
        self.guarded = guarded
        self.keys = keys
        self.plans: dict[tuple[Any, ...], tuple[int, ...]] = {}
        self.resume: PassState | None = None
        # The guarded items by the memo they answer through (items guarded alike share one,
        # ``_guard``): a plan asks each memo once, not each item.
        self.unguarded = [i for i, flag in enumerate(guarded) if not flag]
        by_memo: dict[int, list[int]] = {}
        for i, flag in enumerate(guarded):
            if flag:
                by_memo.setdefault(id(self.items[i].__dict__["match_rule_conditions"]), []).append(i)
        self.groups = list(by_memo.values())

    def routable(self) -> bool:
        """Whether the pipeline still has the items it was routed with (nobody changed them)."""
        return self.pipeline.items is self.items and len(self.items) == self.size

    def plan(self, key: tuple[Any, ...], rule: Any) -> tuple[int, ...]:
        """The positions of the items worth calling for a rule whose log source has ``key``."""
        plan = self.plans.get(key)
        if plan is None:
            items = self.items
            chosen = list(self.unguarded)
            for group in self.groups:
                if items[group[0]].match_rule_conditions(rule):
                    chosen.extend(group)
            plan = tuple(sorted(chosen))
            if len(self.plans) < self.LIMIT:
                self.plans[key] = plan
        return plan

    def __call__(self, rule: Any) -> Any:
        """Apply the pipeline to ``rule`` (in place, as pySigma does) and return it."""
        start, self.resume = self.resume, None
        pipeline = self.pipeline
        key = self.keys.of(rule)
        if start is not None and start.rule is rule and start.error is not None:
            raise start.error
        if key is None or not self.routable():
            return ProcessingPipeline.apply(pipeline, rule)  # pySigma decides item by item
        items = self.items
        applied = pipeline.applied = [False] * self.size
        if start is not None and start.rule is rule and start.key == key:
            tracking = start.tracking
            for index in start.applied:
                applied[index] = True
            plan = self.plan(key, rule)
            position = bisect.bisect_right(plan, start.last)
        else:  # a stale state (its conversion stopped before the pass) is for another rule
            tracking = Tracking()
            plan = self.plan(key, rule)
            position = 0
        tracking.install(pipeline)
        applied_ids = tracking.applied_ids
        while position < len(plan):
            index = plan[position]
            item = items[index]
            position += 1
            if not item.apply(rule):
                continue
            applied[index] = True
            if item.identifier:
                applied_ids.add(item.identifier)
            now = self.keys.of(rule)
            if now == key:
                continue
            if now is None:  # no key any more: the rest item by item, as pySigma does
                for later in range(index + 1, self.size):
                    if items[later].apply(rule):
                        applied[later] = True
                        name = items[later].identifier
                        if name:
                            applied_ids.add(name)
                return rule
            key, plan = now, self.plan(now, rule)
            position = bisect.bisect_right(plan, index)
        return rule


def routed(pipeline: ProcessingPipeline) -> _RoutedApply | None:
    """The routed ``apply`` of a pipeline ``memoize_logsource_conditions`` routed, or None."""
    route = pipeline.__dict__.get("apply")
    return route if isinstance(route, _RoutedApply) else None
