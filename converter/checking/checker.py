"""The equivalence checker: does each emitted query match exactly the events the rule matches?

For one rule and a list of Sigma-taxonomy events:

1. the reference evaluator (``converter/reference/evaluator.py``) decides each event with Sigma's semantics;
2. for each target, the rule is converted, the query TEXT is parsed by that language's
   interpreter (``backends/<lang>/parser.py``) into the shared tree, the events are rendered in the
   target's schema by the same mapping table that built the query's pipeline, and the shared
   evaluator decides each rendered event;
3. every event where the two differ is a disagreement, explained by the leaf or operator that
   decided it on the target side.

A target is called equivalent only when it was converted, interpreted and agrees on every event;
otherwise ``equivalent`` is False (disagreement) or None (could not be checked, with the reason).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from backends import TARGETS, TargetSpec
from backends.common import declared_approximations

from converter.conversion.convert import CONVERTED, Conversion, Converter
from converter.events.render import EventRenderer, SampleEvent
from converter.mapping.index_mapping import field_model_for
from converter.mapping.loader import load_table
from converter.checking.dropped import WRITTEN_ALIKE, declared_reason, declared_twin
from converter.checking.limits import length_limits, limit_shows
from converter.checking.user_pipeline import EventMirror, mirror_for, user_pipelines
from converter.reference.evaluator import compile_rule
from converter.rules.load import LoadedRule


@dataclass
class Disagreement:
    """One event on which a target and the reference differ."""

    event: int
    reference: bool
    target: bool
    why: str

    def to_json(self) -> dict[str, Any]:
        """JSON form for reports."""
        return {"event": self.event, "reference": self.reference, "target": self.target, "why": self.why}


@dataclass
class TargetResult:
    """A target's verdicts on one rule's events."""

    target: str
    query: str | None
    matched: list[int] = field(default_factory=list)
    equivalent: bool | None = None
    reason: str | None = None
    disagreements: list[Disagreement] = field(default_factory=list)
    not_rendered: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: With several data sources (``converter.checking.sources``): the one this result is from,
    #: and every data source's verdict for the target.
    data_source: str | None = None
    data_sources: dict[str, bool | None] | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON form for reports (the schema documented in the README)."""
        out: dict[str, Any] = {
            "query": self.query,
            "matched": self.matched,
            "equivalent": self.equivalent,
            "reason": self.reason,
            "disagreements": [d.to_json() for d in self.disagreements],
            "not_rendered": self.not_rendered,
            "warnings": self.warnings,
        }
        if self.data_sources is not None:
            out["data_source"] = self.data_source
            out["data_sources"] = self.data_sources
        return out


@dataclass
class RuleResult:
    """Reference and target verdicts for one rule."""

    id: str
    title: str
    path: str
    events: list[SampleEvent]
    reference_matched: list[int] = field(default_factory=list)
    reference_unsupported: str | None = None
    expectation_failures: list[dict[str, Any]] = field(default_factory=list)
    targets: dict[str, TargetResult] = field(default_factory=dict)
    error: str | None = None
    #: The rule's logsource (``LoadedRule.logsource``), for the per-logsource summary.
    logsource: str = ""

    @property
    def equivalent(self) -> bool:
        """True when the reference meets every ``_expect`` and every target is equivalent."""
        return (
            self.error is None
            and not self.expectation_failures
            and self.reference_unsupported is None
            and all(t.equivalent is True for t in self.targets.values())
        )

    def to_json(self) -> dict[str, Any]:
        """JSON form for reports (the schema documented in the README)."""
        return {
            "id": self.id,
            "title": self.title,
            "path": self.path,
            "logsource": self.logsource,
            "events": len(self.events),
            "equivalent": self.equivalent,
            "error": self.error,
            "reference": {
                "matched": self.reference_matched,
                "unsupported": self.reference_unsupported,
                "expectation_failures": self.expectation_failures,
            },
            "targets": {name: t.to_json() for name, t in self.targets.items()},
        }


def default_targets() -> list[str]:
    """The targets sigport can check (those with an interpreter)."""
    return [name for name, spec in TARGETS.items() if spec.parser]


def _on_source(compiled: Any, event: dict[str, Any], hidden: tuple[str, ...], verdict: Any) -> Any:
    """The reference's verdict on ``event`` as a data source that never records ``hidden`` holds
    it: the logsource is still decided on the whole event (its EventID / Channel say which kind of
    event the source's own record stands for), the detection on the event without those fields."""
    from converter.reference.evaluator import Verdict
    from converter.reference.values import Undecided

    if verdict.matched is None or not compiled.in_logsource(event):
        return verdict
    try:
        matched = compiled.detection({k: v for k, v in event.items() if k not in hidden}, {})
    except Undecided as error:
        return compiled.undecided(error)
    return Verdict(bool(matched), None, True)


def _decider(compiled: Any, hidden: tuple[str, ...]) -> Callable[[dict[str, Any]], bool | None]:
    """The reference's verdict on a Sigma event as the data source that never records ``hidden``
    holds it (``_on_source``)."""

    def decide(fields: dict[str, Any]) -> bool | None:
        verdict = compiled.evaluate(fields)
        return _on_source(compiled, fields, hidden, verdict).matched if hidden else verdict.matched

    return decide


class _Converters(dict):  # type: ignore[type-arg]
    """The checker's converters, each built the first time it is asked for (``checker[t]``).

    Building one runs its pipelines' resolution (0.3 CPU s for the eight targets); a backtest
    whose rules' queries all come from its cache converts nothing, and its parent and workers
    never need one."""

    def __init__(self, targets: list[str], pipelines: list[str] | None,
                 options: dict[str, Any] | None) -> None:
        super().__init__()
        self._targets, self._pipelines, self._options = set(targets), pipelines, options

    def __missing__(self, name: str) -> Converter:
        if name not in self._targets:
            raise KeyError(name)
        converter = self[name] = Converter(name, self._pipelines, self._options)
        return converter


class Checker:
    """Checks rules against events for a set of targets (converters and parsers built once)."""

    def __init__(
        self,
        targets: list[str] | None = None,
        pipelines: list[str] | None = None,
        data_source: str | None = None,
        mapping: str | Path | None = None,
    ) -> None:
        """Prepare converters, renderers and field models.

        Args:
            targets: target names (default: every target with an interpreter).
            pipelines: extra pipelines, as for ``convert``.
            data_source: the Elastic data source (``defend``, ``windows``, ``winlogbeat``).
            mapping: the user's Elasticsearch mapping or template JSON file (``--mapping``): the
                conversion targets its fields and the interpreters lower with it
                (``converter.mapping.index_mapping``).

        Raises:
            PipelineError: the mapping file is unusable (before any work).
        """
        self.targets = targets or default_targets()
        self.data_source = data_source
        options: dict[str, Any] | None = {"data_source": data_source} if data_source else None
        if mapping is not None:
            field_model_for(data_source, mapping)  # a bad file fails here, once, with its name
            options = {**(options or {}), "mapping": str(mapping)}
        self.converters: dict[str, Converter] = _Converters(self.targets, pipelines, options)
        if pipelines or mapping is not None:
            # A user's pipeline file or mapping can be unusable: fail here, before any work.
            for name in self.targets:
                self.converters[name]
        # Pipeline files run after the built-in table: their renames and added conditions are
        # mirrored on the rendered events (converter.checking.user_pipeline), per rule.
        self.user_pipelines = user_pipelines(pipelines)
        self.renderers: dict[str, EventRenderer] = {}
        self.models: dict[str, Any] = {}
        for name in self.targets:
            spec = TARGETS[name]
            self.renderers[name] = EventRenderer.routed(load_table(spec.pipeline), data_source)
            if spec.field_model:
                # Read as the interpreters read it: a field whose mapping sets a parameter they
                # do not model (null_value, coerce: false ...) is not checked.
                self.models[name] = field_model_for(
                    self.renderers[name].data_source, mapping).for_interpreters()
            if mapping is not None and spec.schema == "ecs":
                # The fields the user's ingest pipeline writes (sigport mapping's copies) are in
                # every document of the index, whichever Elastic target queries it.
                model = field_model_for(self.renderers[name].data_source, mapping)
                self.renderers[name].set_copies(model.copies(), model.cased_copies())

    def check(self, loaded: LoadedRule, events: list[SampleEvent]) -> RuleResult:
        """Check one rule on its events; never raises for a bad rule (it becomes ``error``)."""
        result = RuleResult(loaded.id, loaded.title, loaded.path, events)
        if loaded.error is not None or loaded.rule is None:
            result.error = loaded.error.one_line() if loaded.error else "rule did not load"
            return result
        compiled = compile_rule(loaded.rule)
        verdicts = [compiled.evaluate(e.fields) for e in events]
        reasons = sorted({v.unsupported for v in verdicts if v.unsupported})
        if reasons:
            result.reference_unsupported = "; ".join(reasons)
        result.reference_matched = [i for i, v in enumerate(verdicts) if v.matched]
        for i, (event, verdict) in enumerate(zip(events, verdicts)):
            if event.expect is not None and verdict.matched is not None and event.expect != verdict.matched:
                result.expectation_failures.append(
                    {"event": i, "expected": event.expect, "reference": verdict.matched}
                )
        mirror = mirror_for(self.user_pipelines, loaded.rule) if self.user_pipelines else EventMirror()
        seen: dict[tuple[str, ...], list[Any]] = {(): verdicts}
        for name in self.targets:
            conversion = self.converters[name].convert(loaded)
            hidden = self._unrecorded(name, loaded.rule, events)
            if hidden not in seen:
                # The data source never records these fields (the renderer never writes them):
                # the events it can hold are these events without them, and the reference
                # decides those (partial evaluation, converter/mapping/partial.py).
                seen[hidden] = [
                    _on_source(compiled, e.fields, hidden, v) for e, v in zip(events, verdicts)
                ]
            result.targets[name] = self._check_target(
                TARGETS[name], conversion, events, seen[hidden], result.reference_unsupported, mirror,
                _decider(compiled, hidden),
            )
        return result

    def carries(self, kind: dict[str, Any]) -> bool:
        """True when some target's data source can hold an event of this kind (its EventID and
        Channel): ``generate_events`` makes no events that no target could be asked about."""
        return any(renderer.carries(kind) for renderer in self.renderers.values())

    def _unrecorded(self, target: str, rule: Any, events: list[SampleEvent]) -> tuple[str, ...]:
        """The Sigma fields of these events that the target's data source never records for the
        rule's logsource (mapping table ``unrecorded``)."""
        source = getattr(rule, "logsource", None)
        if source is None:
            return ()
        routed = self.renderers[target].route(source.product, source.category, source.service)
        if routed is None:
            return ()
        renderer, entry = routed
        fields = set(entry.unrecorded_fields(renderer.data_source))
        present = {k for e in events for k in e.fields} & fields
        return tuple(sorted(present))

    def _check_target(
        self,
        spec: TargetSpec,
        conversion: Conversion,
        events: list[SampleEvent],
        verdicts: list[Any],
        reference_unsupported: str | None,
        mirror: EventMirror,
        decide: Callable[[dict[str, Any]], bool | None] | None = None,
    ) -> TargetResult:
        """The target's verdicts on the events, compared with the reference's ``verdicts``;
        ``decide`` is the reference's verdict on another Sigma event (for ``declared_twin``)."""
        from backends.query.ast import Or, describe
        from backends.query.errors import QueryError, QueryParseError, UnsupportedQueryError
        from backends.query.evaluate import matches
        from backends.query.explain import explain

        out = TargetResult(spec.name, conversion.output, warnings=list(conversion.warnings))
        # Warnings that state a fact of the data source (partial evaluation) leave the query
        # exact on that data: only the others are the emitter's declared approximations.
        # A length-limit warning is proven from the events instead (see ``length_limits``).
        approximate = declared_approximations(out.warnings, conversion.exact_warnings)
        unmirrored = mirror.approximation()
        if conversion.status != CONVERTED:
            out.reason = f"not converted ({conversion.status}): {conversion.reason}"
            return out
        parse = spec.parse_function()
        if parse is None:
            out.reason = f"not checked: {spec.no_interpreter_reason}"
            return out
        try:
            trees = [parse(q, fields=self.models.get(spec.name)) for q in conversion.queries]
        except QueryParseError as exc:
            # Our own output does not parse in our model of the language: a real defect.
            out.equivalent = False
            out.reason = f"the emitted query does not parse: {exc.reason} (line {exc.line}, column {exc.column})"
            return out
        except UnsupportedQueryError as exc:
            out.reason = f"not checked: the interpreter cannot evaluate this query: {exc}"
            return out
        except QueryError as exc:
            out.reason = f"not checked: {exc}"
            return out
        tree = trees[0] if len(trees) == 1 else Or(tuple(trees))
        renderer = self.renderers[spec.name]
        over_limit: dict[Any, set[int]] = {leaf: set() for leaf in length_limits(tree)}
        # Whether an event the rule matches reached the target, and why one could not.
        shown, unrenderable = False, None
        declared: list[int] = []
        #: Why an event could not be evaluated (the first one), reported only when no other
        #: event disagrees: one event showing a difference makes the target "differs".
        failed: str | None = None
        for i, (event, verdict) in enumerate(zip(events, verdicts)):
            try:
                # Every spelling the data source may write the event in (Defend's registry
                # hives): the query must agree with the rule on each of them.
                renderings = [mirror.apply(r) for r in renderer.render_sample_all(event)]
                why_not = (
                    f"no logsource of mapping table {renderer.table.name} covers its "
                    "EventID/Channel"
                )
            except ValueError as exc:
                # A value the shipper could not have written (e.g. an integrity level outside the
                # data source's vocabulary): there is no target event to evaluate.
                renderings, why_not = [], f"the value cannot be written by the shipper: {exc}"
            if not renderings:
                # The data source cannot carry this event (another record kind, a value its
                # shipper cannot write): the query is never asked about it, so the event is no
                # evidence either way, even when the rule matches it.
                out.not_rendered.append(i)
                if verdict.matched and unrenderable is None:
                    unrenderable = why_not
                continue
            if verdict.matched:
                shown = True
            for rendered in renderings:
                try:
                    hit = matches(tree, rendered)
                except QueryError as exc:
                    # No verdict on this event; a disagreement on another one still stands.
                    failed = failed or f"evaluating event {i} failed: {exc}"
                    break
                for leaf, seen in over_limit.items():
                    # One event showing the limit is enough (only "none" counts below): the
                    # leaves of a contains|all of 200 values were each re-proven on every long
                    # event, a whole-query evaluation per leaf and event.
                    if not seen and limit_shows(tree, leaf, rendered, hit):
                        seen.add(i)
                if hit and i not in out.matched:
                    out.matched.append(i)
                if verdict.matched is not None and hit != verdict.matched:
                    if decide is not None and declared_twin(
                        event, hit, conversion.dropped, renderer, decide, conversion.trimmed
                    ) is not None:
                        # The data source writes this event like one the rule decides the other
                        # way, on a field the pipeline declared (a deleted value, a trimmed
                        # edge): no query can answer both, and the emitter said so.
                        declared.append(i)
                        break
                    out.disagreements.append(
                        Disagreement(i, bool(verdict.matched), hit, explain(tree, rendered))
                    )
                    break  # one disagreement per event
        if out.disagreements:
            # Before the undecided events: an event the reference decides and the target
            # answers otherwise is a difference whatever the other events show.
            out.equivalent = False
            out.reason = f"{len(out.disagreements)} of {len(events)} events disagree"
            if unmirrored:
                out.reason += f" ({unmirrored}: the difference may come from it)"
            return out
        if failed:
            out.reason = f"not checked: {failed}"
            return out
        if reference_unsupported:
            out.reason = f"not checked: the reference cannot evaluate the rule: {reference_unsupported}"
            return out
        if declared:
            # Never "equivalent", and not "differs" either: the difference these events show is
            # the one the emitter declared, which no query on this data source avoids.
            # With no declaration the difference is a JSON null, which every data source writes
            # as a missing field (``dropped.declared_twin``).
            out.reason = declared_reason(
                approximate,
                f"{'event' if len(declared) == 1 else 'events'} " + ", ".join(map(str, declared)),
                f": {WRITTEN_ALIKE}",
            )
        elif unrenderable is not None and not shown:
            # Every event the rule matches is one the data source cannot carry: agreeing on the
            # others (all non-matches) shows nothing about the query's positives.
            out.reason = (
                f"not proven: no event the rule matches can be written as {spec.schema} data of "
                f"this data source ({unrenderable})"
            )
        elif not shown:
            # No event here is one the rule matches: agreeing on non-matches alone says nothing
            # of the query's positives (a query matching nothing at all would agree).
            out.reason = "not proven: no event here is one the rule matches"
        elif approximate:
            # The emitter itself says the query is approximate; agreeing on these events does not
            # make it equivalent, so it is not called so.
            out.reason = (
                "not proven: the emitter declared its output approximate ("
                + "; ".join(approximate)
                + "), and no event here shows the difference"
            )
        elif unproven := [leaf for leaf, seen in over_limit.items() if not seen]:
            # A length-limited field: values over the limit are not indexed, so the target's
            # verdict on them is only known from an event where such a value changes the query's
            # verdict (and the target agreed on it); one deciding the leaf alone may be masked by
            # the rest of the query.
            leaf = unproven[0]
            out.reason = (
                f"not proven: {leaf.limited_by or leaf.field} indexes values of at most "
                f"{leaf.max_length} characters (ignore_above), and no event here has a longer "
                f"{leaf.field} value that decides {describe(leaf)} and with it the query"
            )
        elif unmirrored:
            # The events were not rendered the way the user's pipeline shapes the query.
            out.reason = f"not proven: {unmirrored}, and no event here shows a difference"
        else:
            out.equivalent = True
        return out
