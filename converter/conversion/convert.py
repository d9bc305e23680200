"""Conversion: Sigma rules to one target's queries, accounting for every rule.

``Converter`` holds one target's backend and pipeline and turns each ``LoadedRule`` into a
``Conversion`` whose status is ``converted``, ``unsupported`` (with the reason: a feature the
target cannot express, a field the pipeline does not map, a logsource it does not cover) or
``error`` (with the reason). Nothing raises out of ``convert``: one bad rule never stops a batch.
"""

from __future__ import annotations

import copy
import pickle
from dataclasses import replace
from typing import Any, Iterator, Sequence

from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import (
    SigmaError,
    SigmaFeatureNotSupportedByBackendError,
    SigmaTransformationError,
)
from sigma.processing.pipeline import ProcessingPipeline

from backends import TARGETS, TargetSpec

from converter.errors import (
    ConverterError,
    PipelineError,
    UnknownTargetError,
    format_error,
    show_traceback,
)
from converter.mapping.partial import EXACT_WARNINGS
from converter.mapping.declared import DROPPED_FIELDS, TRIMMED_FIELDS
from converter.mapping.refusals import with_data_source
from converter.mapping.pipeline import TargetTraits, builtin_pipelines, resolve_pipelines
from converter.conversion.routing import PassState, memoize_logsource_conditions, routed
from converter.conversion.shared import SharedPass
from converter.rules.load import LoadedRule

from converter.conversion.result import CONVERTED, ERROR, UNSUPPORTED, Conversion

__all__ = [
    "CONVERTED", "ERROR", "UNSUPPORTED", "Conversion", "Converter", "convert_all", "convert_each",
    "get_target", "target_traits", "pipeline_for",
]


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
        # The targets that write regexes as wildcard values (KQL) are those whose wildcard
        # values on non-keyword fields go through query_string: they need the cased copies.
        cased_copies=spec.caseless_copies and spec.regex_globs,
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

    def convert(self, loaded: LoadedRule, *, copy_rule: bool = True,
                resume: PassState | None = None) -> Conversion:
        """Convert one loaded rule; never raises.

        Args:
            copy_rule: convert a copy of ``loaded.rule`` (the default, see ``copy_rule``), so
                the loaded rule stays as parsed for other targets and the reference. False
                hands the rule over: the pipeline mutates it in place. The batch path
                (``converter/conversion/batch.py``) passes False for the last target of a rule, saving
                the copy, which costs about as much as the conversion itself.
            resume: where a pass shared with other targets left ``loaded.rule`` (``convert_each``,
                ``converter.conversion.shared``): the pipeline goes on from there, and the
                outcome is the one of the rule before the pass (``copy_rule`` must be False).
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
        if resume is not None:
            route = routed(self.backend.last_processing_pipeline)
            if route is None or copy_rule or resume.rule is not loaded.rule:
                raise ValueError("a shared pass resumes on its own rule, in a routed pipeline")
            route.resume = resume
            try:
                return self._run(base, loaded.rule)
            finally:
                route.resume = None
        # Pipelines mutate the rule they process: every target works on its own copy.
        rule = _copy(loaded.rule) if copy_rule else loaded.rule
        return self._run(base, rule)

    def _run(self, base: Conversion, rule: Any) -> Conversion:
        """``rule`` (consumed) converted by the backend: the outcome on top of ``base``."""
        try:
            queries = self.backend.convert_rule(rule)
        except SigmaFeatureNotSupportedByBackendError as exc:
            # A backend's refusal knows no data source: name the one the rule was mapped for.
            reason = with_data_source(_reason(exc), rule)
            return replace(base, status=UNSUPPORTED, reason=reason, rule=rule)
        except SigmaTransformationError as exc:
            # Raised by the pipeline: unmapped field, uncovered logsource, inexpressible value.
            reason = with_data_source(_reason(exc), rule)
            return replace(base, status=UNSUPPORTED, reason=reason, rule=rule)
        except NotImplementedError as exc:
            return replace(
                base,
                status=UNSUPPORTED,
                reason=with_data_source(f"{self.spec.name} cannot express this: {exc}", rule),
                rule=rule,
            )
        except (SigmaError, ConverterError) as exc:
            return replace(base, status=ERROR, reason=_reason(exc), rule=rule)
        except Exception as exc:  # a backend bug must not stop the batch; report it instead
            show_traceback(exc, f"in the {self.spec.name} backend on {base.path}")
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
            trimmed=list((getattr(rule, "custom_attributes", None) or {}).pop(TRIMMED_FIELDS, [])),
            rule=rule,
            pipeline=applied,
        )


def convert_each(loaded: LoadedRule, converters: Sequence[Converter]) -> Iterator[Conversion]:
    """``loaded`` converted by each converter in turn (lazily), each on a rule object of its own.

    Pipelines mutate the rule they process, so every target works on its own object: copies
    made from one pickle of the rule, the last use consuming ``loaded.rule`` itself (the caller
    must not read it after). Targets whose pipelines apply the same items (EQL, KQL, kql-es and
    Lucene with ``ecs-windows``) share one pass over the rule up to where their items differ
    (``converter.conversion.shared``): the same conversions, the common work done once.
    """
    if loaded.rule is None or len(converters) <= 1:
        for converter in converters:
            yield converter.convert(loaded, copy_rule=False)
        return
    try:
        blob: bytes | None = pickle.dumps(loaded.rule, pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - an unpicklable custom attribute: copy_rule deep-copies
        blob = None
    groups = [] if blob is None else _shared_pass(converters).groups
    group_of = {index: group for group in groups for index in group}
    # One use of the loaded rule per target on its own and per group (at its first target);
    # the last use takes the rule itself, the others a copy.
    uses = [i for i in range(len(converters)) if i not in group_of or group_of[i][0] == i]
    states: dict[int, PassState] = {}
    for index, converter in enumerate(converters):
        group = group_of.get(index)
        if group is not None and group[0] == index:
            assert blob is not None  # groups are formed only when the rule can be copied
            rule = loaded.rule if index == uses[-1] else pickle.loads(blob)
            states.update(_shared_pass(converters).run(group, rule) or {})
        if index in states:
            # A pipeline never changes the rule's id or title: they are the loaded rule's.
            state = states.pop(index)
            yield converter.convert(LoadedRule(loaded.path, state.rule, None, loaded.text),
                                    copy_rule=False, resume=state)
        elif group is None and index == uses[-1]:
            yield converter.convert(loaded, copy_rule=False)
        elif blob is not None:  # before the last use, or its group's pass gave up
            copied = LoadedRule(loaded.path, pickle.loads(blob), None, loaded.text)
            yield converter.convert(copied, copy_rule=False)
        else:
            yield converter.convert(loaded, copy_rule=True)


#: The shared passes of recent lists of converters (``SharedPass`` remembers which items of
#: their pipelines are the same, found on first use).
_PASSES: dict[tuple[int, ...], tuple[Sequence[Converter], SharedPass]] = {}


def _shared_pass(converters: Sequence[Converter]) -> SharedPass:
    """The ``SharedPass`` of ``converters`` (built once per list of converter objects)."""
    key = tuple(id(c) for c in converters)
    found = _PASSES.get(key)
    if found is None or any(a is not b for a, b in zip(found[0], converters)):
        if len(_PASSES) >= 16:
            _PASSES.clear()
        found = _PASSES[key] = (
            list(converters),
            SharedPass([routed(c.backend.last_processing_pipeline) for c in converters]),
        )
    return found[1]


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
