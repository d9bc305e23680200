"""Reference evaluator: does a Sigma rule match one event, by Sigma's own semantics.

This is the oracle the equivalence proof compares every emitted query against, so it must not
share code with any emitter: it reads pySigma's parsed rule (``rule.detection.parsed_condition``,
whose leaves carry typed values with the modifiers already applied by pySigma, which is Sigma's
own modifier semantics) and builds its own matchers from ``SigmaString.iter_parts()``. It never
calls ``SigmaString.convert()`` or any backend escaping, and never imports ``backends/``.

Usage::

    compiled = compile_rule(rule)          # once per rule
    verdict = compiled.evaluate(event)     # many events -> Verdict(matched, unsupported, ...)

For many rules on many events, ``converter.ruleindex.index.RuleIndex`` evaluates only the rules an
event can match, with the same verdicts.

Every choice the Sigma specification leaves open is an entry of ``SIGMA_SEMANTICS``
(``converter.reference.semantics``) with the spec passage it rests on; the matcher code refers to
those entries by name in comments. Whatever cannot be evaluated faithfully (placeholders, time
modifiers, correlations, logsources without a membership rule) yields ``Verdict(matched=None,
unsupported=<reason>)``, never a silent ``False``. Evaluation is two-valued: a missing field fails
every value test, so ``not`` of it holds.

Layout: this module compiles the condition tree and holds the rule API; the leaf predicates are in
``converter.reference.predicates`` and what they test with (field access, case folding,
wildcards, bounded regexes, typed values) in ``converter.reference.values``.
Compiled predicates take ``(event, cache)``, where ``cache`` is a per-event dict of folded field
values (``converter.reference.fields.folded_texts``, folded by ``fields.fold``), so a field is
folded once per event however many tests and rules read it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError
from sigma.modifiers import SigmaBase64Modifier, SigmaBase64OffsetModifier, SigmaUTF16Modifier
from sigma.rule import SigmaDetectionItem, SigmaRule
from sigma.types import SigmaType

from backends.errors import SigportError
from converter.reference.logsources import LogsourceUnsupported, describe, membership
from converter.rules.shape import detection_items
from converter.reference.semantics import SIGMA_SEMANTICS, Fact
from converter.reference.fields import Event, FoldCache
from converter.reference.predicates import (
    Predicate,
    field_predicate,
    folded_predicate,
    keyword_predicate,
)
from converter.reference.regex import MATCH_TIME_LIMIT
from converter.reference.values import (
    FoldedSpec,
    Undecided,
    Unsupported,
    folded_matcher,
    folded_specs,
)

__all__ = [
    "MATCH_TIME_LIMIT",
    "SIGMA_SEMANTICS",
    "CompiledRule",
    "Fact",
    "ReferenceEvaluationError",
    "Undecided",
    "Verdict",
    "compile_rule",
    "evaluate_rule",
]


class ReferenceEvaluationError(SigportError):
    """Root of the reference evaluator's errors: it was handed something that is not a rule."""


@dataclass(frozen=True)
class Verdict:
    """Outcome of one rule on one event.

    Attributes:
        matched: True / False, or None when the rule cannot be evaluated.
        unsupported: why the rule cannot be evaluated (None when it can); set iff matched is None.
        logsource_ok: the event belongs to the rule's logsource.
    """

    matched: bool | None
    unsupported: str | None = None
    logsource_ok: bool = True


_MATCH = Verdict(True, None, True)
_NO_MATCH = Verdict(False, None, True)
_OUTSIDE = Verdict(False, None, False)


# ---------------------------------------------------------------------------------------------
# Condition tree


def _all(predicates: list[Predicate]) -> Predicate:
    if len(predicates) == 1:
        return predicates[0]
    if len(predicates) == 2:
        first, second = predicates
        return lambda event, cache: first(event, cache) and second(event, cache)
    frozen = tuple(predicates)

    def every(event: Event, cache: FoldCache) -> bool:
        for predicate in frozen:
            if not predicate(event, cache):
                return False
        return True

    return every


def _any(predicates: list[Predicate]) -> Predicate:
    if len(predicates) == 1:
        return predicates[0]
    if len(predicates) == 2:
        first, second = predicates
        return lambda event, cache: first(event, cache) or second(event, cache)
    frozen = tuple(predicates)

    def some(event: Event, cache: FoldCache) -> bool:
        for predicate in frozen:
            if predicate(event, cache):
                return True
        return False

    return some


def _compile_or(args: list[Any]) -> Predicate:
    """Compile an OR. Case-insensitive string tests on one field become one predicate (the field
    is read once and the literals are checked as a set, a prefix tuple, a suffix tuple and a
    loop), placed where the field's first test was; OR-ed keywords share one pass over the event.
    Literal tests thereby run before the wildcard patterns of their field: an OR is true as soon
    as any member is, so only a time-limited pattern's "undecided" can change, to a decided True.
    """
    slots: list[Any] = []  # a compiled predicate, or a field name whose specs gather below
    by_field: dict[str, list[FoldedSpec]] = {}
    keywords: list[SigmaType] = []
    for arg in args:
        if isinstance(arg, ConditionValueExpression):
            keywords.append(arg.value)
            continue
        if isinstance(arg, ConditionFieldEqualsValueExpression):
            specs = folded_specs(arg.value)
            if specs is not None:
                if arg.field not in by_field:
                    by_field[arg.field] = []
                    slots.append(arg.field)
                by_field[arg.field].extend(specs)
                continue
        slots.append(_compile_node(arg))
    predicates = [
        folded_predicate(s, folded_matcher(by_field[s])) if isinstance(s, str) else s
        for s in slots
    ]
    return _any(predicates + ([keyword_predicate(keywords)] if keywords else []))


def _compile_node(node: object) -> Predicate:
    """Compile one node of pySigma's post-processed condition tree into a predicate."""
    if isinstance(node, ConditionAND):
        return _all([_compile_node(arg) for arg in node.args])
    if isinstance(node, ConditionOR):
        return _compile_or(list(node.args))
    if isinstance(node, ConditionNOT):
        inner = _compile_node(node.args[0])
        return lambda event, cache: not inner(event, cache)
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return field_predicate(node.field, node.value)
    if isinstance(node, ConditionValueExpression):
        return keyword_predicate([node.value])
    raise Unsupported(f"condition node {type(node).__name__} has no reference semantics")


def _refuse_known_modifier_bugs(rule: SigmaRule) -> None:
    """Refuse modifier chains whose pySigma 1.5.1 output contradicts the spec.

    ``utf16`` then ``base64``/``base64offset``: pySigma puts U+FEFF in the string and base64
    encodes its UTF-8 form (EF BB BF), where the modifiers appendix requires the UTF-16 byte
    order mark FF FE; evaluating pySigma's value would prove the wrong bytes.
    """
    for detection in rule.detection.detections.values():
        for item in detection_items(detection):
            chain = item.modifiers
            if SigmaUTF16Modifier in chain and any(
                m in (SigmaBase64Modifier, SigmaBase64OffsetModifier)
                for m in chain[chain.index(SigmaUTF16Modifier):]
            ):
                raise Unsupported(
                    f"{item.field or 'keyword'}|utf16|base64*: pySigma 1.5.1 encodes the byte "
                    "order mark as UTF-8 (EF BB BF) instead of FF FE"
                )


def _compile_detection(rule: SigmaRule) -> tuple[Predicate, tuple[Any, ...]]:
    """Compile all of a rule's conditions (a list of conditions is OR-ed, rules spec); return
    the predicate and the parsed condition trees."""
    _refuse_known_modifier_bugs(rule)
    trees = []
    for condition in rule.detection.parsed_condition:
        tree = condition.parsed  # re-parsed on every access: done once, here
        if tree is None:
            raise Unsupported(f"condition {condition.condition!r} selects no detection")
        trees.append(tree)
    return _any([_compile_node(tree) for tree in trees]), tuple(trees)


# ---------------------------------------------------------------------------------------------
# Rules


class CompiledRule:
    """A Sigma rule compiled to closures: build with ``compile_rule``, call ``evaluate``.

    Attributes:
        rule_id: the rule's ``id`` as a string, or None.
        title: the rule's title.
        logsource: the logsource as ``product/category/service``.
        unsupported: why the rule cannot be evaluated, or None.
        member: the logsource membership predicate of a flat event (None if unknown).
        detection: the low-level detection predicate ``detection(event, cache)`` (None when
            unsupported); ``cache`` is a fresh dict per event, shareable between rules; it
            raises ``Undecided`` past the time limit. ``evaluate`` wraps both.
        conditions: pySigma's parsed condition trees (OR-ed), for ``converter.ruleindex.index``.
    """

    __slots__ = ("rule_id", "title", "logsource", "unsupported", "member", "detection",
                 "conditions", "_refusals")

    def __init__(
        self,
        rule_id: str | None,
        title: str,
        logsource: str,
        unsupported: str | None,
        member: Callable[[Event], bool] | None,
        detection: Predicate | None,
        conditions: tuple[Any, ...] = (),
    ) -> None:
        self.rule_id = rule_id
        self.title = title
        self.logsource = logsource
        self.unsupported = unsupported
        self.member = member
        self.detection = detection
        self.conditions = conditions
        # Pre-built verdicts: evaluate() allocates nothing.
        self._refusals = (Verdict(None, unsupported, False), Verdict(None, unsupported, True))

    def in_logsource(self, event: Event) -> bool:
        """Return whether ``event`` belongs to the rule's logsource (False if unknown)."""
        return self.member is not None and self.member(event)

    def detection_matches(self, event: Event) -> bool | None:
        """Evaluate the detection alone, ignoring the logsource; None if it is unsupported or a
        match ran past the time limit."""
        if self.detection is None:
            return None
        try:
            return self.detection(event, {})
        except Undecided:
            return None

    def evaluate(self, event: Event, cache: FoldCache | None = None) -> Verdict:
        """Evaluate the rule on one flat event.

        Args:
            event: the event.
            cache: a per-event fold cache to share between the rules evaluated on this event
                (a new one when None); never reuse it for another event.

        Returns:
            ``Verdict(True/False, None, logsource_ok)`` when the rule is evaluable; an event
            outside the logsource never matches. ``Verdict(None, reason, logsource_ok)`` when
            the rule is unsupported, or when one of its matches ran past ``MATCH_TIME_LIMIT``
            on this event.
        """
        member = self.member is not None and self.member(event)
        if self.unsupported is not None:
            return self._refusals[member]
        if not member:
            return _OUTSIDE
        try:
            matched = self.detection(event, {} if cache is None else cache)  # type: ignore[misc]
        except Undecided as error:
            return self.undecided(error)
        return _MATCH if matched else _NO_MATCH

    def undecided(self, error: Undecided) -> Verdict:
        """The verdict of an evaluation that raised ``Undecided`` (naming this rule)."""
        return Verdict(None, f"rule {self.rule_id or self.title!r}: {error}", True)

    def __repr__(self) -> str:
        state = f"unsupported={self.unsupported!r}" if self.unsupported else "ok"
        return f"CompiledRule({self.rule_id or self.title!r}, {self.logsource}, {state})"


def compile_rule(rule: SigmaRule | SigmaCorrelationRule) -> CompiledRule:
    """Compile a pySigma rule (parsed, before any target pipeline) for repeated evaluation.

    Args:
        rule: a ``SigmaRule`` from ``SigmaCollection``; a ``SigmaCorrelationRule`` compiles to
            an unsupported rule. Compile before handing the rule to a backend, which may apply
            its processing pipeline to it.

    Returns:
        A ``CompiledRule``; check ``.unsupported`` for rules that cannot be evaluated.

    Raises:
        ReferenceEvaluationError: ``rule`` is not a pySigma rule.
    """
    if isinstance(rule, SigmaCorrelationRule):
        return CompiledRule(
            str(rule.id) if rule.id else None, rule.title, "-", "correlation rules aggregate "
            "several events and cannot be evaluated on one event", None, None,
        )
    if not isinstance(rule, SigmaRule):
        raise ReferenceEvaluationError(
            f"expected a pySigma SigmaRule, got {type(rule).__name__}; load rules with "
            "SigmaCollection.from_yaml"
        )
    source = rule.logsource
    reasons: list[str] = []
    if rule.errors:
        reasons.append("rule failed to load: " + "; ".join(str(e) for e in rule.errors))
    member: Callable[[Event], bool] | None = None
    try:
        member = membership(source.product, source.category, source.service)
    except LogsourceUnsupported as error:
        reasons.append(str(error))
    detection: Predicate | None = None
    conditions: tuple[Any, ...] = ()
    if not rule.errors:
        try:
            detection, conditions = _compile_detection(rule)
        except Unsupported as error:
            reasons.append(str(error))
        except SigmaError as error:  # e.g. the retired "| count()" pipe syntax
            reasons.append(f"pySigma cannot parse the condition: {error}")
    return CompiledRule(
        str(rule.id) if rule.id else None,
        rule.title,
        describe(source.product, source.category, source.service),
        "; ".join(reasons) or None,
        member,
        detection,
        conditions,
    )


def verdict_on_missing_fields(item: SigmaDetectionItem, detections: Any) -> bool:
    """The reference's verdict of one detection item on an event that holds none of the fields
    it reads (its own field and, for ``fieldref``, the referenced one): the value every event of a
    data source that never records such a field gives it ("missing_field").

    Args:
        item: a field-bound detection item of a parsed rule.
        detections: the rule's ``SigmaDetections`` (pySigma's condition builder needs it).

    Raises:
        Unsupported: the item cannot be evaluated by the reference (placeholders, ...).
    """
    node = copy.copy(item).postprocess(detections)
    if node is None:
        raise Unsupported(f"detection item on {item.field!r} builds no condition")
    return bool(_compile_node(node)({}, {}))


def evaluate_rule(rule: SigmaRule | SigmaCorrelationRule, event: Event) -> Verdict:
    """Evaluate one rule on one event (compiles every call; use ``compile_rule`` for bulk)."""
    return compile_rule(rule).evaluate(event)
