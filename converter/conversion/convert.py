"""Conversion: Sigma rules to one target's queries, accounting for every rule.

``Converter`` holds one target's backend and pipeline and turns each ``LoadedRule`` into a
``Conversion`` whose status is ``converted``, ``unsupported`` (with the reason: a feature the
target cannot express, a field the pipeline does not map, a logsource it does not cover) or
``error`` (with the reason). Nothing raises out of ``convert``: one bad rule never stops a batch.
"""

from __future__ import annotations

import bisect
import copy
import pickle
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, Sequence

from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import (
    SigmaError,
    SigmaFeatureNotSupportedByBackendError,
    SigmaTransformationError,
)
from sigma.processing.conditions import LogsourceCondition
from sigma.processing.pipeline import ProcessingPipeline
from sigma.processing.tracking import FieldMappingTracking
from sigma.rule import SigmaLogSource, SigmaRule

from backends import TARGETS, TargetSpec

from converter.errors import ConverterError, PipelineError, UnknownTargetError, format_error
from converter.mapping.partial import EXACT_WARNINGS
from converter.mapping.transformations import DROPPED_FIELDS
from converter.mapping.pipeline import TargetTraits, builtin_pipelines, resolve_pipelines
from converter.rules.load import LoadedRule

CONVERTED = "converted"
UNSUPPORTED = "unsupported"
ERROR = "error"


@dataclass
class Conversion:
    """The outcome of converting one rule for one target.

    Attributes:
        path: the rule's file.
        id: the rule's id ("" when it failed to load).
        title: the rule's title.
        target: the target name.
        status: ``converted``, ``unsupported`` or ``error``.
        reason: why it is not converted (None when converted).
        queries: the emitted queries (a rule with several conditions gives several).
        warnings: where the output is not exactly the rule, said by the emitter, and the
            facts of the data source the query relies on (``exact_warnings``).
        exact_warnings: the warnings that state what the data source never records (partial
            evaluation, ``converter/mapping/partial.py``): the query is exact on that data source.
        rule: the parsed rule (not serialised).
        pipeline: the pipeline identifiers that applied, for tests and ``--verbose``.
        alternatives: for a rule refused on the data source in force, the other data sources
            on which it converts, when the batch path tried them (``convert_paths(...,
            alternatives=True)``); None when nobody tried (``converter.conversion.datasource``).
        dropped: the Sigma fields whose test the shipper's deleted values make approximate
            (``DroppedValueCheck``), each with those values; its warnings are among ``warnings``.
    """

    path: str
    id: str
    title: str
    target: str
    status: str
    reason: str | None = None
    queries: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    exact_warnings: list[str] = field(default_factory=list)
    rule: Any = None
    pipeline: list[str] = field(default_factory=list)
    alternatives: tuple[str, ...] | None = None
    dropped: dict[str, list[str]] = field(default_factory=dict)

    @property
    def output(self) -> str | None:
        """The queries as one text (one per line), or None."""
        return "\n".join(self.queries) if self.queries else None

    def to_report(self) -> dict[str, Any]:
        """The report entry (``{"path", "id", "target", "status", "reason", "output"}``)."""
        return {
            "path": self.path,
            "id": self.id,
            "title": self.title,
            "target": self.target,
            "status": self.status,
            "reason": self.reason,
            "output": self.output,
            "warnings": list(self.warnings),
        }


def get_target(name: str) -> TargetSpec:
    """The registered target ``name``.

    Raises:
        UnknownTargetError: naming the known targets.
    """
    if name not in TARGETS:
        raise UnknownTargetError(
            f"unknown target {name!r}",
            hint=f"known targets: {', '.join(TARGETS)} (see `sigport list targets`)",
        )
    return TARGETS[name]


def target_traits(spec: TargetSpec) -> TargetTraits:
    """What the pipeline needs to know about a target."""
    return TargetTraits(
        eql_category=spec.eql_category,
        caseless_subfields=spec.caseless_subfields,
        caseless_copies=spec.caseless_copies,
        regex_globs=spec.regex_globs,
    )


def pipeline_for(
    spec: TargetSpec,
    pipelines: list[str] | None,
    options: dict[str, Any] | None,
    field_model: Any = None,
) -> ProcessingPipeline:
    """The processing pipeline for a target.

    Without ``pipelines`` the target's default built-in pipeline is used. When the user names only
    pipeline files, the default built-in runs first and the files after it (so a file can add an
    index or rename a field on top); naming a built-in replaces the default. ``field_model``
    (a ``FieldModel``) replaces the one of ``options["mapping"]`` or of the data source.
    """
    names = list(pipelines or [])
    if not any(n in builtin_pipelines() for n in names):
        names.insert(0, spec.pipeline)
    return resolve_pipelines(names, target_traits(spec), options, field_model)


class Converter:
    """Converts rules for one target (backend and pipeline built once)."""

    def __init__(
        self,
        target: str,
        pipelines: list[str] | None = None,
        options: dict[str, Any] | None = None,
        field_model: Any = None,
    ) -> None:
        """Set up the target's backend.

        Args:
            field_model: a ``FieldModel`` for the Elasticsearch pipelines, instead of the
                ``--mapping`` file in ``options`` or the data source's own (``sigport mapping``
                converts with a model that proposes the multi-fields it writes).

        Raises:
            UnknownTargetError: the target is not registered.
            PipelineError: a pipeline cannot be loaded.
        """
        self.spec = get_target(target)
        self.pipeline = pipeline_for(self.spec, pipelines, options, field_model)
        try:
            self.backend = self.spec.backend_class()(
                processing_pipeline=self.pipeline, **self.spec.backend_options
            )
            # The pipeline the backend applies to every rule (backend + ours + output format), as
            # its first convert_rule would build it; built here so that it is built once.
            self.backend.init_processing_pipeline()
        except SigmaError as exc:
            raise PipelineError(f"target {target}: {format_error(exc)}") from exc
        memoize_logsource_conditions(self.backend.last_processing_pipeline)

    def convert(self, loaded: LoadedRule, *, copy_rule: bool = True) -> Conversion:
        """Convert one loaded rule; never raises.

        Args:
            copy_rule: convert a copy of ``loaded.rule`` (the default, see ``copy_rule``), so
                the loaded rule stays as parsed for other targets and the reference. False
                hands the rule over: the pipeline mutates it in place. The batch path
                (``converter/conversion/batch.py``) passes False for the last target of a rule, saving
                the copy, which costs about as much as the conversion itself.
        """
        # Every outcome below is this rule and target with its status (replace() copies it).
        base = Conversion(path=loaded.path, id=loaded.id, title=loaded.title,
                          target=self.spec.name, status=ERROR)
        if loaded.error is not None or loaded.rule is None:
            reason = loaded.error.one_line() if loaded.error else "rule did not load"
            return replace(base, status=ERROR, reason=reason)
        if isinstance(loaded.rule, SigmaCorrelationRule):
            return replace(
                base,
                status=UNSUPPORTED,
                reason="correlation rules are not supported by sigport yet",
            )
        # Pipelines mutate the rule they process: every target works on its own copy.
        rule = _copy(loaded.rule) if copy_rule else loaded.rule
        try:
            queries = self.backend.convert_rule(rule)
        except SigmaFeatureNotSupportedByBackendError as exc:
            return replace(base, status=UNSUPPORTED, reason=_reason(exc), rule=rule)
        except SigmaTransformationError as exc:
            # Raised by the pipeline: unmapped field, uncovered logsource, inexpressible value.
            return replace(base, status=UNSUPPORTED, reason=_reason(exc), rule=rule)
        except NotImplementedError as exc:
            return replace(
                base,
                status=UNSUPPORTED,
                reason=f"{self.spec.name} cannot express this: {exc}",
                rule=rule,
            )
        except (SigmaError, ConverterError) as exc:
            return replace(base, status=ERROR, reason=_reason(exc), rule=rule)
        except Exception as exc:  # a backend bug must not stop the batch; report it instead
            return replace(
                base,
                status=ERROR,
                reason=f"internal error in the {self.spec.name} backend: "
                f"{type(exc).__name__}: {exc}",
                rule=rule,
            )
        applied = sorted(getattr(self.backend.last_processing_pipeline, "applied_ids", set()))
        return replace(
            base,
            status=CONVERTED,
            queries=[str(q) for q in queries],
            warnings=list(getattr(self.backend, "warnings", [])),
            exact_warnings=list((getattr(rule, "custom_attributes", None) or {}).pop(EXACT_WARNINGS, ())),
            dropped=dict((getattr(rule, "custom_attributes", None) or {}).pop(DROPPED_FIELDS, {})),
            rule=rule,
            pipeline=applied,
        )


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
    for item in pipeline.items:
        conditions = item.rule_conditions
        listed = list(conditions.values()) if isinstance(conditions, dict) else list(conditions)
        if not listed or any(type(c) is not LogsourceCondition for c in listed):
            guarded.append(False)
            continue
        if not isinstance(item.__dict__.get("match_rule_conditions"), _LogsourceMemo):
            # An instance attribute shadows the method that ProcessingItem.apply calls.
            setattr(item, "match_rule_conditions",
                    _LogsourceMemo(item.match_rule_conditions, keys))
        memo = item.__dict__["match_rule_conditions"]
        guarded.append(True)
        keys = memo.keys  # one key object for the whole pipeline, even when memoized before
        count += 1
    if not isinstance(pipeline.__dict__.get("apply"), _RoutedApply):
        setattr(pipeline, "apply", _RoutedApply(pipeline, guarded, keys))
    return count


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
    """

    __slots__ = ("pipeline", "items", "size", "guarded", "keys", "plans")

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

    def _plan(self, key: tuple[Any, ...], rule: Any) -> tuple[int, ...]:
        """The positions of the items worth calling for a rule whose log source has ``key``."""
        plan = self.plans.get(key)
        if plan is None:
            plan = tuple(
                i for i, item in enumerate(self.items)
                if not self.guarded[i] or item.match_rule_conditions(rule)
            )
            if len(self.plans) < self.LIMIT:
                self.plans[key] = plan
        return plan

    def __call__(self, rule: Any) -> Any:
        """Apply the pipeline to ``rule`` (in place, as pySigma does) and return it."""
        pipeline = self.pipeline
        key = self.keys.of(rule)
        if key is None or pipeline.items is not self.items or len(self.items) != self.size:
            return ProcessingPipeline.apply(pipeline, rule)  # pySigma decides item by item
        items = self.items
        applied = pipeline.applied = [False] * self.size
        applied_ids = pipeline.applied_ids = set()
        pipeline.field_name_applied_ids = defaultdict(set)
        pipeline.field_mappings = FieldMappingTracking()
        pipeline.state = dict()
        plan = self._plan(key, rule)
        position = 0
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
            key, plan = now, self._plan(now, rule)
            position = bisect.bisect_right(plan, index)
        return rule


def convert_each(loaded: LoadedRule, converters: Sequence[Converter]) -> Iterator[Conversion]:
    """``loaded`` converted by each converter in turn (lazily), the rule copied for all but
    the last: pipelines mutate the rule they process, so each target before the last works on
    a copy, and the last one consumes ``loaded.rule`` itself (the caller must not read it
    after). The copies come from one pickle of the rule, each a ``pickle.loads`` of it."""
    if loaded.rule is None or len(converters) <= 1:
        for converter in converters:
            yield converter.convert(loaded, copy_rule=False)
        return
    try:
        blob: bytes | None = pickle.dumps(loaded.rule, pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - an unpicklable custom attribute: copy_rule deep-copies
        blob = None
    last = len(converters) - 1
    for index, converter in enumerate(converters):
        if index == last:
            yield converter.convert(loaded, copy_rule=False)
        elif blob is None:
            yield converter.convert(loaded, copy_rule=True)
        else:
            copied = LoadedRule(loaded.path, pickle.loads(blob), None, loaded.text)
            yield converter.convert(copied, copy_rule=False)


def _copy(rule: Any) -> Any:
    """A private copy of a parsed rule, for one target's pipeline to mutate.

    A pickle round trip builds the same objects as ``copy.deepcopy`` (neither pySigma nor sigport
    defines ``__deepcopy__`` or ``__reduce__`` hooks, so both go through ``__reduce_ex__``) in
    about two thirds of the time; a rule that cannot be pickled (a custom attribute holding an
    unpicklable object) is deep-copied.
    """
    try:
        return pickle.loads(pickle.dumps(rule, pickle.HIGHEST_PROTOCOL))
    except Exception:  # noqa: BLE001 - whatever pickling refuses, deepcopy may still copy
        return copy.deepcopy(rule)


def _reason(exc: BaseException) -> str:
    """A one-line reason without pySigma's appended source path."""
    if isinstance(exc, SigmaError) and exc.args:
        text = str(exc.args[0])
    else:
        text = str(exc)
    return " ".join(text.split())


def convert_all(
    loaded: list[LoadedRule],
    targets: list[str],
    pipelines: list[str] | None = None,
    options: dict[str, Any] | None = None,
    progress: Any = None,
) -> list[Conversion]:
    """Convert every loaded rule for every target, in rule order then target order.

    Args:
        progress: optional callable invoked once per (rule, target) done, for progress bars.

    Raises:
        UnknownTargetError, PipelineError: before any rule is converted.
    """
    converters = [Converter(t, pipelines, options) for t in targets]
    out: list[Conversion] = []
    for item in loaded:
        for converter in converters:
            out.append(converter.convert(item))
            if progress is not None:
                progress()
    return out
