"""Generate test events from a rule's own detection: positives and near misses.

``generate_events(rule)`` solves pySigma's parsed condition tree for the ways to make it true (one
event per OR branch, list value and windash/base64offset variant: an AND makes every child true,
an OR one child, a NOT makes its child false) and derives near misses from those events: case
flips, one character added or removed at every anchor and wildcard boundary, the value wrapped in
spaces/quotes/backslashes/wildcard characters, a required field removed, a filter (``not``)
branch triggered, the event moved to another logsource. Wildcards are filled with awkward text
(quotes, backslashes, literal ``*``/``?``, non-ASCII letters) so escaping bugs surface.

The generator's intention goes in ``SampleEvent.note``; ``SampleEvent.expect`` is always the
reference evaluator's verdict (``converter.reference.evaluator``), and a note says when the two differ.
Events are Sigma-taxonomy (flat Sysmon names) and carry ``EventID``/``Channel`` of the rule's
logsource (``converter.reference.logsources``); a rule whose logsource has no membership rule yields none.

The work is split by concern: ``generate_plan`` (condition tree -> plans), ``generate_regex``
(an example string for a regex), ``generate_values`` (plans -> events, near-miss mutations),
``hostile.py`` (near misses with non-ASCII case partners, values past every field limit,
trailing newlines, number-like text), ``kinds.py`` (the event kinds of a logsource); this
module picks the logsource's event kinds and orders positives and near misses. The helpers' public
names are re-exported here.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import replace
from functools import partial
from typing import Any, Callable, TypeVar

from sigma.correlations import SigmaCorrelationRule
from sigma.rule import SigmaRule
from sigma.types import SigmaFieldReference

from converter.events.render import SampleEvent
from converter.generate.arrays import array_variants
from converter.generate.plan import (
    ABSENT,
    MAX_ALTERNATIVES,
    MULTI,
    SINGLE,
    Fixed,
    Glob,
    Lit,
    Parts,
    Plan,
    Rx,
    _label,
    _not_nodes,
    describe,
    regexes,
    solve,
)
from converter.generate.hostile import (
    hostile_mutations,
    long_positives,
    long_value_length,
    presence_mutations,
)
from converter.generate.regex import RegexUnsupported, regex_example
from converter.generate.values import (
    COMPANIONS,
    PRODUCT_COMPANIONS,
    FILLERS,
    KEYWORD_CARRIERS,
    SECURITY_4688_FIELDS,
    SYSMON_REGISTRY_VOCABULARIES,
    SINGLES,
    VOCABULARIES,
    Context,
    _mutations,
    fill,
    realize,
    satisfies,
)
from converter.generate.kinds import kind_companions, logsource_kinds, record_lacks, wrong_logsource
from converter.reference.logsources import LogsourceUnsupported
from converter.reference.evaluator import compile_rule

__all__ = [
    "ABSENT",
    "COMPANIONS",
    "DEFAULT_COUNT",
    "FILLERS",
    "MAX_ALTERNATIVES",
    "MULTI",
    "SINGLE",
    "SINGLES",
    "Context",
    "Fixed",
    "Glob",
    "Lit",
    "Parts",
    "Plan",
    "RegexUnsupported",
    "Rx",
    "describe",
    "fill",
    "generate_events",
    "realize",
    "regex_example",
    "satisfies",
    "solve",
]

DEFAULT_COUNT = 40
NEAR_MISS_BASES = 6  # positives whose literals are mutated into near misses


# ---------------------------------------------------------------------------------------------
# Public API


T = TypeVar("T")


def _interleave(groups: Iterable[Iterable[T]]) -> Iterator[T]:
    """The first item of each group, then the second of each, and so on (a group that runs out
    drops out), taken from each group only as the output is read."""
    live = [iter(g) for g in groups]
    while live:
        still = []
        for group in live:
            for item in group:  # its next item, if any
                yield item
                still.append(group)
                break
        live = still


Item = tuple[dict[str, Any], str, frozenset[Any], Context]  # event, label, touched, context
#: An ``Item`` not made yet: the event comes from calling the first member (None: no event).
Pending = tuple[Callable[[], "dict[str, Any] | None"], str, frozenset[Any], Context]


def _given(event: dict[str, Any]) -> dict[str, Any]:
    return event


def _by_kind(pending: list[tuple[str, Pending]]) -> Iterator[Item]:
    """The near misses whose event can be made, interleaved by kind (the kinds in the order of
    their first such near miss), each event made only when it is read.

    A ``contains|all`` of ``n`` values has about ``20 n`` near misses, each event ``O(n)`` to
    make, and only the first few tens become events: making them all cost the square of ``n``
    (200 values: 14 of a rule's 15 CPU s of generation). What is read is what making them all,
    dropping those without an event and interleaving the rest by kind gave; only the order of
    the kinds needs an event made ahead of reading: the first of each kind that has one.
    """
    made: dict[int, Item | None] = {}

    def make(i: int) -> Item | None:
        if i not in made:
            produce, label, touched, ctx = pending[i][1]
            event = produce()
            made[i] = None if event is None else (event, label, touched, ctx)
        return made[i]

    members: dict[str, list[int]] = {}
    kinds: list[str] = []  # in the order of their first near miss with an event
    for i, (kind, _) in enumerate(pending):
        members.setdefault(kind, []).append(i)
        if kind not in kinds and make(i) is not None:
            kinds.append(kind)

    def stream(kind: str) -> Iterator[Item]:
        for i in members[kind]:
            item = make(i)
            if item is not None:
                yield item

    return _interleave(stream(kind) for kind in kinds)


class _Generator:
    """One rule's generation state: its logsource kinds, plans, positives and near misses."""

    def __init__(self, rule: SigmaRule, kinds: list[dict[str, Any]], seed: int,
                 long_length: int) -> None:
        source = rule.logsource
        self.long_length = long_length
        self.logsource = (source.product, source.category, source.service)
        self.kinds, self.seed = kinds, seed
        # The logsource's other event ids on the same channels (registry_event: 13 and 14 besides
        # 12), for plans testing a field the main id's record lacks.
        channels = {k.get("Channel") for k in kinds}
        self.other_ids = [k for k in logsource_kinds(*self.logsource, every_id=True)
                          if k.get("Channel") in channels and k not in kinds]
        self.rng = random.Random(f"{seed}:{rule.id or rule.title}")
        category = (source.category or "").lower()
        self.companions = {**COMPANIONS.get(category, {}),
                           **PRODUCT_COMPANIONS.get(((source.product or "").lower(), category), {})}
        self.carrier = next((c for c in KEYWORD_CARRIERS if c in self.companions), "Message")
        self.trees = [c.parsed for c in rule.detection.parsed_condition]  # parsed once
        self.plans = [p for tree in self.trees for p in solve(tree, True)][:MAX_ALTERNATIVES]
        self.long: list[Item] = []  # the long positives, set by ``ordered``
        # Near misses that trigger a filter: (merged plan, event, the filter's fields).
        self.triggered: list[tuple[Plan, Item, frozenset[str | None]]] = []

    def context(self, plan: Plan, index: int) -> Context:
        """Process creation: mostly Sysmon 1; every fifth plan Security 4688, when 4688 records
        carry every field the plan tests."""
        fields = {lit.field for lit in plan if lit.positive}
        # A |fieldref names a second field the record must carry (OriginalFileName: no 4688).
        fields |= {lit.value.field for lit in plan
                   if lit.positive and isinstance(lit.value, SigmaFieldReference)}
        # When 4688 is the only kind, a plan testing fields it lacks keeps it (and ``realize``
        # makes no event for the plan: such a record has no such field).
        usable = [k for k in self.kinds
                  if k.get("EventID") != 4688 or fields <= SECURITY_4688_FIELDS] or self.kinds
        kind = self.carrying(usable[1] if len(usable) > 1 and index % 5 == 4 else usable[0], plan)
        companions = self.companions
        if kind.get("EventID") == 4688:  # 4688 records carry the label SID, not the name
            companions = {k: v for k, v in companions.items() if k in SECURITY_4688_FIELDS}
            if "IntegrityLevel" in companions:
                companions["IntegrityLevel"] = "S-1-16-8192"
        return Context(kind, {**companions, **kind_companions(kind)}, self.carrier)

    def switched(self, ctx: Context, plan: Plan) -> Context:
        """``ctx``, or the context of the logsource's id whose record carries the plan's fields."""
        kind = self.carrying(ctx.base, plan)
        if kind is ctx.base:
            return ctx
        return replace(ctx, base=kind, companions={**ctx.companions, **kind_companions(kind)})

    def fixed_spelling(self, field: str | None) -> bool:
        """Whether the field's values are words of one fixed spelling in this logsource's
        records (Sysmon's registry EventType)."""
        registry = (self.logsource[1] or "").lower().startswith("registry_")
        return registry and field in SYSMON_REGISTRY_VOCABULARIES

    def vocabulary(self, field: str | None) -> tuple[str, ...] | None:
        """The closed list of values a field takes in this logsource's records, if any."""
        if self.fixed_spelling(field):
            return SYSMON_REGISTRY_VOCABULARIES[field or ""]
        return VOCABULARIES.get(field or "")

    def carrying(self, kind: dict[str, Any], plan: Plan) -> dict[str, Any]:
        """``kind``, or another id of the logsource when the plan tests a field (positively or
        not: a negated ``null`` writes it) that the record of ``kind`` never carries (Details in a
        Sysmon 12 record: a 13 record carries it)."""
        fields = {lit.field for lit in plan}
        if not fields & record_lacks(kind):
            return kind
        return next((k for k in self.other_ids if not fields & record_lacks(k)), kind)

    def positives(self, limit: int) -> list[tuple[int, Plan, Item]]:
        """One event per plan (the first ``limit`` plans: no more can be shown); plans with
        negated fields also with those fields present."""
        out = []
        for i, plan in enumerate(self.plans[:max(limit, DEFAULT_COUNT)]):
            touched = frozenset(lit.field for lit in plan)
            label = "positive: " + _label(plan)
            if i == 0 and len(self.kinds) > 1:  # the first way to match in the other event kind
                ctx = self.context(plan, 4)
                event = realize(plan, ctx, f"{self.seed}:0")
                if event is not None and event.get("EventID") != self.kinds[0].get("EventID"):
                    out.append((i, plan, (event, label + " (second event kind)", touched, ctx)))
            ctx = self.context(plan, i)
            for present in (False, True) if any(not lit.positive for lit in plan) else (False,):
                event = realize(plan, ctx, f"{self.seed}:{i}", present)
                if event is not None:
                    suffix = " (negated fields present)" if present else ""
                    out.append((i, plan, (event, label + suffix, touched, ctx)))
        return out

    def near_misses(self, index: int, plan: Plan, base: Item) -> list[tuple[str, Pending]]:
        """Mutations of one positive, each with its kind, events not made yet (``ordered``
        makes only those it needs). Every choice that draws from the rule's random generator
        (``_mutations``, ``hostile_mutations``) is made here, in the same order as when every
        event was made at once, so the events are the same."""
        event, _, touched, ctx = base
        key = f"{self.seed}:{index}"
        out: list[tuple[str, Pending]] = []
        for j, lit in enumerate(plan):
            if not lit.positive:
                # A negated null / exists test (`not Image: null`): the field's value made
                # long, which an exists query misses, or null, which Sigma's exists counts
                # as present.
                for value, keep, what in presence_mutations(lit, self.long_length):
                    mutated = plan[:j] + (replace(lit, value=value, positive=True),) + plan[j + 1:]
                    tag = "positive" if keep else "near miss"
                    out.append((what.split()[0], (partial(realize, mutated, ctx, key),
                                                  f"{tag}: {describe(lit)}: {what}", touched, ctx)))
                continue
            mutations = itertools.chain(
                _mutations(lit, self.rng, self.vocabulary(lit.field)),
                # A word of a fixed spelling (Sysmon's registry EventType): no case partners,
                # padding or newlines, which no Sysmon record holds.
                () if self.fixed_spelling(lit.field)
                else hostile_mutations(lit, self.long_length, self.rng))
            for value, keep, what in mutations:
                mutated = plan[:j] + (replace(lit, value=value),) + plan[j + 1:]
                kind = "boundary" if what.startswith(("first", "last")) else what.split()[0]
                tag = "positive" if keep else "near miss"
                out.append((kind, (partial(realize, mutated, ctx, key),
                                    f"{tag}: {describe(lit)}: {what}", touched, ctx)))
            if lit.field and lit.field not in ("EventID", "Channel") and lit.field in event:
                dropped = {k: v for k, v in event.items() if k != lit.field}
                out.append(("removed", (partial(_given, dropped),
                                        f"near miss: {lit.field} removed", touched, ctx)))
        for node in (n for tree in self.trees for n in _not_nodes(tree)):
            if not any(lit.origin == id(node) for lit in plan):
                continue  # this positive does not go through that filter
            for fplan in solve(node.args[0], True)[:3]:
                merged = tuple(lit for lit in plan if lit.origin != id(node)) + fplan
                fctx = self.switched(ctx, merged)
                # Made now: ``long_positives`` reads every triggered filter.
                triggered = realize(merged, fctx, key)
                if triggered is not None:
                    label = f"near miss: {fplan[0].selection} triggered: {_label(fplan)}"
                    fields = touched | {lit.field for lit in fplan}
                    out.append(("filter", (partial(_given, triggered), label, fields, fctx)))
                    self.triggered.append((merged, (triggered, label, fields, fctx),
                                           frozenset(lit.field for lit in fplan)))
        elsewhere = wrong_logsource(*self.logsource)
        if elsewhere is not None:
            moved = {k: v for k, v in event.items() if k not in ("EventID", "Channel")}
            out.append(("logsource", (partial(_given, {**moved, **elsewhere}),
                                      "near miss: wrong logsource", touched, ctx)))
        return out

    def ordered(self, limit: int) -> Iterator[Item]:
        """A plain positive, a near miss, a still-matching variant (case flip...), and again;
        each near miss made as it is read."""
        positives = self.positives(limit)
        pending: list[tuple[str, Pending]] = []
        # Near misses from a few positives spread over the first plans, whatever the count.
        first = [p for p in positives if p[0] < DEFAULT_COUNT]
        for index, plan, item in first[::max(1, len(first) // NEAR_MISS_BASES)][:NEAR_MISS_BASES]:
            pending += self.near_misses(index, plan, item)
        for_misses, for_variants = itertools.tee(_by_kind(pending))
        misses = (m for m in for_misses if not m[1].startswith("positive"))
        variants = (m for m in for_variants if m[1].startswith("positive"))
        self.long = self.long_positives(positives)
        return _interleave([[item for _, _, item in positives], misses, variants])

    def long_positives(self, positives: list[tuple[int, Plan, Item]]) -> list[Item]:
        """The positives, and the near misses that trigger a filter, with one field's value past
        every field limit, every test of the plan on it kept (``hostile.long_positives``): one per
        field and set of tests of it, over all plans (a list of 40 ``endswith`` values gets one
        for each value). A triggered filter gets them for the fields the filter tests: with the
        value not indexed, a target's filter no longer fires where Sigma's does."""
        entries: list[tuple[Plan, Item, str, frozenset[str | None] | None]] = [
            (plan, item, "positive", None) for _, plan, item in positives
        ]
        entries += [(plan, item, "near miss", fields) for plan, item, fields in self.triggered]
        out: list[Item] = []
        seen: set[tuple[str, frozenset[str]]] = set()
        for plan, (event, label, touched, ctx), tag, fields in entries:
            for field, value, what in long_positives(plan, event, self.long_length):
                # The tests of the field, as text: a pySigma value (SigmaNull) is not hashable.
                key = (field, frozenset(describe(lit) for lit in plan if lit.field == field))
                if key in seen or self.fixed_spelling(field) or (
                    fields is not None and field not in fields
                ):
                    continue
                seen.add(key)
                tests = ", ".join(sorted(key[1]))
                head = label.split(":", 1)[1].strip() if tag == "near miss" else tests
                out.append(({**event, field: value}, f"{tag}: {head}: {what}", touched, ctx))
        return out


def generate_events(
    rule: SigmaRule | SigmaCorrelationRule,
    count: int | None = None,
    seed: int = 0,
    carries: Callable[[dict[str, Any]], bool] | None = None,
    field_model: Any = None,
) -> list[SampleEvent]:
    """Generate positives and near misses for one rule, most informative first.

    Args:
        rule: a parsed pySigma rule (before any target pipeline); a correlation rule gets [].
        count: how many events at most (default ``DEFAULT_COUNT``), besides the long positives
            (``hostile.long_positives``: at most ``count`` more), which come on top so that no
            near miss gives way to them.
        seed: fillers and choices are drawn from it; the same seed gives the same events.
        carries: which event kinds (``{"EventID": 4688, "Channel": "Security"}``) the targets'
            data sources can hold; the others are not generated (Sentinel's SecurityEvent holds
            no Sysmon record), unless none of the logsource's kinds is carried or no event of
            a carried kind can be made.
        field_model: a user's ``FieldModel`` (``--mapping``): long values then also pass its
            ``ignore_above`` limits, besides the built-in models'.

    Returns:
        ``SampleEvent``s whose ``expect`` is the reference verdict and whose ``note`` says what the
        event was meant to be. [] for rules the reference cannot evaluate or whose logsource has
        no membership rule.
    """
    compiled = compile_rule(rule)
    if compiled.unsupported is not None or not isinstance(rule, SigmaRule):
        return []
    try:
        kinds = logsource_kinds(rule.logsource.product, rule.logsource.category,
                                  rule.logsource.service)
    except LogsourceUnsupported:
        return []
    if not kinds:
        return []
    carried = [k for k in kinds if carries(k)] if carries is not None else kinds
    if carries is not None and not carried:
        # No target holds the logsource's main event ids: the kinds of its other ids they hold.
        others = [k for k in logsource_kinds(rule.logsource.product, rule.logsource.category,
                                               rule.logsource.service, every_id=True)
                  if carries(k)]
        kinds = carried = others or kinds
    long_length = long_value_length(field_model)
    if carried and carried != kinds:
        # When no event of a carried kind can be made (a 4688 record lacks a field every branch
        # needs), the usual events: the target cannot be asked about them, and says so.
        return _generate(rule, compiled, carried, count, seed, long_length) or _generate(
            rule, compiled, kinds, count, seed, long_length
        )
    return _generate(rule, compiled, kinds, count, seed, long_length)


def why_none_generated(rule: SigmaRule | SigmaCorrelationRule) -> str:
    """Why ``generate_events`` made no event for ``rule``, for the error that says so: the
    reference refuses it, a regular expression has no example (a construct the generator does
    not model), or its logsource."""
    refused = compile_rule(rule).unsupported
    if refused:
        return f"the reference cannot evaluate the rule ({refused})"
    if isinstance(rule, SigmaRule):
        for field, rx in regexes(rule.detection.detections):
            try:
                regex_example(rx.source, rx.flags, random.Random(0))
            except RegexUnsupported as exc:
                return (f"the generator writes no example of the regular expression "
                        f"{rx.source!r} of {field or 'a keyword'}: {exc}")
    return "see its logsource"


def _generate(rule: SigmaRule, compiled: Any, kinds: list[dict[str, Any]], count: int | None,
              seed: int, long_length: int) -> list[SampleEvent]:
    """The events of ``generate_events`` for these event kinds (the main one first)."""
    limit = DEFAULT_COUNT if count is None else max(count, 0)
    out: list[SampleEvent] = []
    seen: set[str] = set()
    generator = _Generator(rule, kinds, seed, long_length)
    ordered = generator.ordered(limit)
    # The long positives come on top of the count (at most as many again): each is the event
    # that shows what a field's length limit does to one test, and none displaces a near miss.
    for items, extra in ((ordered, limit), (generator.long, min(limit, len(generator.long)))):
        cap = len(out) + extra
        for event, label, touched, ctx in items:
            if len(out) >= cap:
                break
            key = json.dumps(event, sort_keys=True, default=str)
            verdict = compiled.evaluate(event)
            if key in seen or verdict.unsupported is not None:
                continue
            seen.add(key)
            companions = {k: v for k, v in ctx.companions.items() if k not in touched}
            fields = _with_companions(event, companions, compiled, verdict.matched)
            intended = label.startswith("positive")
            note = label if intended == verdict.matched else (
                f"{label} [reference: {'match' if verdict.matched else 'no match'}]")
            out.append(SampleEvent(fields, bool(verdict.matched), note, source="generated"))
    # The same events as records with arrays of objects hold them (Okta target[], ...).
    return out + array_variants(out, rule.logsource.product, rule.logsource.service,
                                compiled.evaluate)


def _with_companions(event: dict[str, Any], companions: dict[str, Any], compiled: Any,
                     matched: bool | None) -> dict[str, Any]:
    """Add the logsource's neutral fields that the event lacks, keeping the reference verdict."""
    extra = {k: v for k, v in companions.items() if k not in event}
    if not extra:
        return event
    full = {**event, **extra}
    if compiled.evaluate(full).matched == matched:
        return full
    out = dict(event)
    for key, value in extra.items():  # one at a time: keep those that change nothing
        trial = {**out, key: value}
        if compiled.evaluate(trial).matched == matched:
            out = trial
    return out
