"""Conversion: Sigma rules to one target's queries, accounting for every rule.

``Converter`` holds one target's backend and pipeline and turns each ``LoadedRule`` into a
``Conversion`` whose status is ``converted``, ``unsupported`` (with the reason: a feature the
target cannot express, a field the pipeline does not map, a logsource it does not cover) or
``error`` (with the reason). Nothing raises out of ``convert``: one bad rule never stops a batch.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import (
    SigmaError,
    SigmaFeatureNotSupportedByBackendError,
    SigmaTransformationError,
)
from sigma.processing.pipeline import ProcessingPipeline

from backends import TARGETS, TargetSpec

from .errors import ConverterError, PipelineError, UnknownTargetError, format_error
from .pipeline import TargetTraits, builtin_pipelines, resolve_pipelines
from .rules import LoadedRule

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
        warnings: where the output is not exactly the rule, said by the emitter.
        rule: the parsed rule (not serialised).
        pipeline: the pipeline identifiers that applied, for tests and ``--verbose``.
    """

    path: str
    id: str
    title: str
    target: str
    status: str
    reason: str | None = None
    queries: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rule: Any = None
    pipeline: list[str] = field(default_factory=list)

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
    return TargetTraits(eql_category=spec.eql_category, caseless_subfields=spec.caseless_subfields)


def pipeline_for(
    spec: TargetSpec, pipelines: list[str] | None, options: dict[str, Any] | None
) -> ProcessingPipeline:
    """The processing pipeline for a target.

    Without ``pipelines`` the target's default built-in pipeline is used. When the user names only
    pipeline files, the default built-in runs first and the files after it (so a file can add an
    index or rename a field on top); naming a built-in replaces the default.
    """
    names = list(pipelines or [])
    if not any(n in builtin_pipelines() for n in names):
        names.insert(0, spec.pipeline)
    return resolve_pipelines(names, target_traits(spec), options)


class Converter:
    """Converts rules for one target (backend and pipeline built once)."""

    def __init__(
        self,
        target: str,
        pipelines: list[str] | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        """Set up the target's backend.

        Raises:
            UnknownTargetError: the target is not registered.
            PipelineError: a pipeline cannot be loaded.
        """
        self.spec = get_target(target)
        self.pipeline = pipeline_for(self.spec, pipelines, options)
        try:
            self.backend = self.spec.backend_class()(
                processing_pipeline=self.pipeline, **self.spec.backend_options
            )
        except SigmaError as exc:
            raise PipelineError(f"target {target}: {format_error(exc)}") from exc

    def convert(self, loaded: LoadedRule, *, copy_rule: bool = True) -> Conversion:
        """Convert one loaded rule; never raises.

        Args:
            copy_rule: convert a deep copy of ``loaded.rule`` (the default), so the loaded rule
                stays as parsed for other targets and the reference. False hands the rule over:
                the pipeline mutates it in place. The batch path (``converter/parallel.py``)
                passes False for the last target of a rule, saving the copy, which costs more
                than the conversion itself.
        """
        base = dict(path=loaded.path, id=loaded.id, title=loaded.title, target=self.spec.name)
        if loaded.error is not None or loaded.rule is None:
            reason = loaded.error.one_line() if loaded.error else "rule did not load"
            return Conversion(**base, status=ERROR, reason=reason)
        if isinstance(loaded.rule, SigmaCorrelationRule):
            return Conversion(
                **base,
                status=UNSUPPORTED,
                reason="correlation rules are not supported by sigport yet",
            )
        # Pipelines mutate the rule they process: every target works on its own copy.
        rule = copy.deepcopy(loaded.rule) if copy_rule else loaded.rule
        try:
            queries = self.backend.convert_rule(rule)
        except SigmaFeatureNotSupportedByBackendError as exc:
            return Conversion(**base, status=UNSUPPORTED, reason=_reason(exc), rule=rule)
        except SigmaTransformationError as exc:
            # Raised by the pipeline: unmapped field, uncovered logsource, inexpressible value.
            return Conversion(**base, status=UNSUPPORTED, reason=_reason(exc), rule=rule)
        except NotImplementedError as exc:
            return Conversion(
                **base,
                status=UNSUPPORTED,
                reason=f"{self.spec.name} cannot express this: {exc}",
                rule=rule,
            )
        except (SigmaError, ConverterError) as exc:
            return Conversion(**base, status=ERROR, reason=_reason(exc), rule=rule)
        except Exception as exc:  # a backend bug must not stop the batch; report it instead
            return Conversion(
                **base,
                status=ERROR,
                reason=f"internal error in the {self.spec.name} backend: "
                f"{type(exc).__name__}: {exc}",
                rule=rule,
            )
        applied = sorted(getattr(self.backend.last_processing_pipeline, "applied_ids", set()))
        return Conversion(
            **base,
            status=CONVERTED,
            queries=[str(q) for q in queries],
            warnings=list(getattr(self.backend, "warnings", [])),
            rule=rule,
            pipeline=applied,
        )


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
