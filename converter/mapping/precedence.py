"""Which of two logsource entries a rule selecting both is converted with: the narrower one.

A rule's logsource can select two entries of one pipeline: ``{product: windows, category:
process_creation, service: sysmon}`` selects the process-creation entry (Sysmon event 1) and the
Sysmon channel entry (every Sysmon record). The rule's records are those of both: the Sigma
taxonomy's category *and* service (``converter.reference.logsources.membership``). When the
records of one entry are provably among the other's, those are exactly the rule's records, so
that entry alone converts the rule; otherwise the rule is refused as ambiguous, naming both
(``converter.mapping.refusals.AmbiguousLogsourceFailure``).

Entry A is **narrower** than entry B when, as the tables state them:

* neither is ``exact`` (it selects rules by their whole logsource);
* both query the same records: the same schema, data model, index patterns, backend state
  (a Splunk data model, a Kusto table), field prefix and case-sensitivity of conditions;
* B has no variants, and each variant of A (another kind of source event with its own
  conditions, ``converter.mapping.variants``) lies outside B: some condition and some key of
  each of its ``events`` criteria hold another single value than B's. The rule is then converted
  with A's first kind alone (the pipeline's ``-variants-within`` step);
* A's query conditions hold every condition of B with the same value, and more (A's query is
  B's with more tests: an EQL event category B does not set is one);
* every event A covers (its ``events`` criteria) is one B covers: each criterion of A holds all
  of some criterion of B.

Entry A is also narrower than B through **one of its variants** V (Security 4688 beside Sysmon 1 in
Splunk's process-creation entry, against the Security channel entry) when, in one scope, B has no
variants, V's conditions hold every condition of B with the same value and more, each of V's
``events`` criteria holds all of some criterion of B, and A's first kind and every other variant
lie outside B (as above). The rule is then converted with V alone (``variant_only``).

The case-sensitivity of conditions decides the scope only where B has a string condition A must
hold alike (Sentinel's SecurityEvent: the Security channel entry has no condition at all).

Equal entries (each narrower than the other by these tests) are not ordered: the rule stays
refused. Nothing else (the order of the tables, an entry's data source) chooses an entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from sigma.processing.conditions import LogsourceCondition
from sigma.processing.pipeline import ProcessingItem

from converter.mapping.table import LogsourceMapping, MappingTable
from converter.mapping.variants import SourceVariantsTransformation

#: One entry of a pipeline: (its table, the data source it is built for, the entry).
Owned = tuple[MappingTable, Any, LogsourceMapping]


def _scope(table: MappingTable, data_source: Any, entry: LogsourceMapping) -> tuple[Any, ...]:
    """What decides which records an entry's query reads, besides its conditions."""
    facts = table.sources.get(str(data_source or ""), {}) or {}
    return (
        table.schema,
        repr(sorted(table.datamodel.items())),
        repr(entry.index.get(str(data_source or ""))),
        repr(facts.get("index")),
        repr(sorted(entry.state.items())),
        entry.field_prefix,
    )


def _cased_alike(entry_a: LogsourceMapping, entry_b: LogsourceMapping) -> bool:
    """Whether B's string conditions, which A must hold, compare alike in both entries (B
    without any string condition: nothing to compare)."""
    strings = any(isinstance(v, str) or isinstance(v, list) and any(isinstance(x, str) for x in v)
                  for v in entry_b.conditions.values())
    return not strings or entry_a.conditions_cased == entry_b.conditions_cased


def _holds(wider: dict[str, Any], narrower: dict[str, Any]) -> bool:
    """Every key of ``wider`` is in ``narrower`` with the same value."""
    return all(key in narrower and narrower[key] == value for key, value in wider.items())


def narrower(a: Owned, b: Owned) -> bool:
    """True when entry ``a``'s records are provably among entry ``b``'s, and fewer (module
    docstring)."""
    return _scope(*a) == _scope(*b) and _narrower_query(a[2], b[2])


def _narrower_query(entry_a: LogsourceMapping, entry_b: LogsourceMapping) -> bool:
    """``narrower`` for two entries of one scope (``_scope``): through A's first kind of event
    or one of its variants (``kind_within``)."""
    return _primary_within(entry_a, entry_b) or _variant_within(entry_a, entry_b) is not None


def kind_within(entry_a: LogsourceMapping, entry_b: LogsourceMapping) -> int | None:
    """For an entry A narrower than B: None when A's first kind of event lies within B, else the
    position of the variant that does (module docstring)."""
    return None if _primary_within(entry_a, entry_b) else _variant_within(entry_a, entry_b)


def _variant_within(entry_a: LogsourceMapping, entry_b: LogsourceMapping) -> int | None:
    """The position of A's one variant whose records lie within B's, A's first kind and other
    variants lying outside B; None when there is no such single variant."""
    if entry_a is entry_b or not entry_a.variants or entry_b.variants or entry_a.exact \
            or entry_b.exact or not entry_b.events or not _cased_alike(entry_a, entry_b):
        return None
    if entry_b.eql_category is not None and entry_a.eql_category != entry_b.eql_category:
        return None
    query_b = dict(entry_b.conditions)
    if entry_b.eql_category is not None:
        query_b["\0category"] = entry_b.eql_category

    def within(conditions: dict[str, Any], events: Sequence[dict[str, Any]]) -> bool:
        query = dict(conditions)
        if entry_a.eql_category is not None:
            query["\0category"] = entry_a.eql_category
        return (_holds(query_b, query) and not _holds(query, query_b) and bool(events)
                and all(any(_holds(wide, each) for wide in entry_b.events) for each in events))

    def outside(conditions: dict[str, Any], events: Sequence[dict[str, Any]]) -> bool:
        return _disjoint(conditions, entry_b.conditions) and all(
            _disjoint(each, wide) for each in events for wide in entry_b.events)

    inside = [n for n, v in enumerate(entry_a.variants) if within(dict(v.conditions), v.events)]
    if len(inside) != 1:
        return None
    (chosen_kind,) = inside
    others = [(dict(v.conditions), v.events) for n, v in enumerate(entry_a.variants)
              if n != chosen_kind]
    if not all(outside(c, e) for c, e in [(dict(entry_a.conditions), entry_a.events), *others]):
        return None
    return chosen_kind


def _primary_within(entry_a: LogsourceMapping, entry_b: LogsourceMapping) -> bool:
    """``narrower`` through A's first kind of event (module docstring)."""
    if entry_a is entry_b or entry_b.variants or entry_a.exact or entry_b.exact:
        return False
    if not _cased_alike(entry_a, entry_b):
        return False
    if entry_b.eql_category is not None and entry_a.eql_category != entry_b.eql_category:
        return False
    query_a = dict(entry_a.conditions)
    query_b = dict(entry_b.conditions)
    if entry_a.eql_category is not None:
        query_a["\0category"] = entry_a.eql_category
    if entry_b.eql_category is not None:
        query_b["\0category"] = entry_b.eql_category
    if not _holds(query_b, query_a) or _holds(query_a, query_b):
        return False
    if not entry_a.events or not entry_b.events:
        return False
    if not all(any(_holds(wide, each) for wide in entry_b.events) for each in entry_a.events):
        return False
    # A's other kinds of source event (Security 4688 beside Sysmon 1) must lie outside B: the
    # rule is then converted with A's first kind alone (``primary_only``).
    return all(_disjoint(variant.conditions, entry_b.conditions)
               and all(_disjoint(each, wide) for each in variant.events for wide in entry_b.events)
               for variant in entry_a.variants)


def _disjoint(one: dict[str, Any], other: dict[str, Any]) -> bool:
    """True when a key both name holds a single value in each, and the values differ even
    compared caselessly (no record holds both)."""
    def folded(value: Any) -> Any:
        return value.casefold() if isinstance(value, str) else value

    return any(
        key in other and not isinstance(value, (list, tuple, dict))
        and not isinstance(other[key], (list, tuple, dict))
        and folded(value) != folded(other[key]) and str(value) != str(other[key])
        for key, value in one.items()
    )


def narrower_pairs(owned: Sequence[Owned]) -> tuple[tuple[int, int], ...]:
    """``(i, j)`` for each entry ``i`` of ``owned`` narrower than entry ``j`` whose logsources
    can both be selected by one rule (their ``match`` parts do not contradict)."""
    # Only entries of one scope are compared (a pipeline holds hundreds of entries).
    scopes: dict[tuple[Any, ...], list[int]] = {}
    for position, item in enumerate(owned):
        if item[2].events and not item[2].exact:
            scopes.setdefault(_scope(*item), []).append(position)
    parts = [tuple(item[2].match.get(k) for k in ("product", "category", "service"))
             for item in owned]
    out = []
    for group in scopes.values():
        for i in group:
            pa, ca, sa = parts[i]
            for j in group:
                pb, cb, sb = parts[j]
                if pa and pb and pa != pb or ca and cb and ca != cb or sa and sb and sa != sb:
                    continue  # no rule selects both
                if _narrower_query(owned[i][2], owned[j][2]):
                    out.append((i, j))
    return tuple(sorted(out))


def primary_only(variants: SourceVariantsTransformation) -> SourceVariantsTransformation:
    """An entry's variants step with its first kind of source event alone."""
    return SourceVariantsTransformation(
        primary=variants.primary, primary_conditions=variants.primary_conditions, variants=(),
        cased=variants.cased,
    )


def variant_only(variants: SourceVariantsTransformation, kind: int) -> SourceVariantsTransformation:
    """An entry's variants step with its variant at position ``kind`` alone (no first kind)."""
    return SourceVariantsTransformation(
        primary=variants.primary, primary_conditions=variants.primary_conditions,
        variants=(variants.variants[kind],), cased=variants.cased, primary_branch=False,
    )


def chosen(hits: Sequence[int], pairs: Sequence[tuple[int, int]]) -> list[int]:
    """The entries of ``hits`` (positions) that no other hit is narrower than."""
    beaten = {j for i, j in pairs if i in hits and j in hits}
    return [h for h in hits if h not in beaten]


def _yielding(entry: LogsourceMapping, unless: tuple[LogsourceCondition, ...],
              also: tuple[LogsourceCondition, ...] = ()) -> YieldingLogsourceCondition:
    """The condition of one of ``entry``'s items (each item needs its own: pySigma sets its
    pipeline)."""
    return YieldingLogsourceCondition(
        category=entry.match.get("category"), product=entry.match.get("product"),
        service=entry.match.get("service"), unless=unless, also=also)


def yield_to_narrower(owned: Sequence[Owned], selects: Sequence[LogsourceCondition],
                      guarded: Sequence[list[ProcessingItem]],
                      items: list[ProcessingItem]) -> tuple[tuple[int, int], ...]:
    """Make the items of each entry (``guarded``, by position in ``owned``; ``selects``: the
    entry's rule condition, ``converter.mapping.items.logsource_condition``) skip a rule that a
    narrower entry also selects, and a narrower entry's variants step (``items``: the
    pipeline's list) give way, for such a rule, to one with its first kind of source event
    alone. Returns the narrower pairs, for ``AmbiguousLogsourceFailure``."""
    pairs = narrower_pairs(owned)
    for position, own_items in enumerate(guarded):
        entry = owned[position][2]
        yields = tuple(selects[i] for i, j in pairs if j == position)
        wider = tuple(selects[j] for i, j in pairs if i == position)
        own = selects[position]
        for item in own_items:
            step = item.transformation
            kinds = step if isinstance(step, SourceVariantsTransformation) and wider else None
            if not yields and kinds is None or not isinstance(item.rule_conditions, list):
                continue
            unless = yields + (wider if kinds is not None else ())
            item.rule_conditions = [
                _yielding(entry, unless) if c == own else c for c in item.rule_conditions]
            if kinds is not None:
                # With a wider entry, the rule's records are this entry's one kind of source
                # event that lies within it (its other kinds lie outside the wider entry).
                at = next(n for n, i in enumerate(items) if i is item)
                by_kind: dict[int | None, list[LogsourceCondition]] = {}
                for i, j in pairs:
                    if i == position:
                        by_kind.setdefault(kind_within(entry, owned[j][2]), []).append(selects[j])
                for offset, (kind, selecting) in enumerate(sorted(
                        by_kind.items(), key=lambda pair: -1 if pair[0] is None else pair[0])):
                    items.insert(at + 1 + offset, ProcessingItem(
                        identifier=f"{item.identifier}-within"
                                   + ("" if kind is None else f"-{kind}"),
                        transformation=primary_only(kinds) if kind is None
                        else variant_only(kinds, kind),
                        rule_conditions=[_yielding(entry, yields, tuple(selecting))],
                    ))
    return pairs


def preferred(owned: Sequence[Owned]) -> int:
    """Of the entries one rule selects, the position of the one it is converted with: the one
    left when the others are wider, else the first (the pipeline refuses the rule then)."""
    if len(owned) < 2:
        return 0
    left = chosen(list(range(len(owned))), narrower_pairs(owned))
    return left[0] if len(left) == 1 else 0


@dataclass
class YieldingLogsourceCondition(LogsourceCondition):
    """The condition of an entry's items beside a narrower or wider entry: it selects a rule of
    the entry's logsource unless the rule's logsource also selects one of ``unless`` (a narrower
    entry converts it), and, when ``also`` is given, only if it selects one of ``also`` too (the
    narrower entry's own step for a rule of a wider entry's logsource)."""

    unless: tuple[LogsourceCondition, ...] = ()
    also: tuple[LogsourceCondition, ...] = ()

    def match(self, rule: Any) -> bool:
        """True for a rule of this logsource that no ``unless`` entry (and some ``also`` entry,
        when given) selects."""
        if not super().match(rule) or any(n.match(rule) for n in self.unless):
            return False
        return not self.also or any(n.match(rule) for n in self.also)
