"""A rule index: evaluate many compiled Sigma rules on an event, touching only the candidates.

Evaluating every rule on every event costs the number of rules per event. The index cuts that
to the rules an event can match, in three steps per event:

1. **Routing**: the rules of the event's logsource, decided once per (``Channel``, ``EventID``)
   pair (``converter.reference.logsources`` membership depends on nothing else);
2. **Candidates**: each rule is filed under a necessary condition (``converter.ruleindex.needs``): at
   most two clauses, each a set of alternatives (field, equals / startswith / endswith /
   contains / number, literal) of which one must hold for the detection to be true. Per event
   and field, the literals present are found at once (``converter.ruleindex.literals``: a dict for
   equalities and numbers, an Aho-Corasick pass or prefix / suffix tables and ``in`` for the
   rest, remembered per distinct text); a rule is a candidate when each of its clauses holds.
   Rules without a condition are always candidates;
3. **Evaluation** of the candidates only, with the reference's compiled predicates, sharing one
   per-event cache of folded field values (the candidate step fills it).

The index never changes a verdict: a rule it skips provably does not match (the conditions are
sound, see ``converter.ruleindex.needs``; tests/converter/ruleindex/test_ruleindex.py compares with and without it). One
refinement: a rule whose pattern would run past the reference's time limit on an event that
lacks the rule's required literal is reported as not matching, which is then correct, instead of
undecided.

Usage::

    index = RuleIndex.build([compile_rule(r) for r in rules])
    for event in events:
        for rule in index.evaluate_all(event):   # the matching CompiledRules
            ...
    index.candidates(event)                      # positions worth evaluating
    index.matches(event)                         # positions that match
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

from converter.ruleindex.literals import MEMO_CHARS, SCAN_LIMIT, LiteralIndex, MatchOptions, automaton_available
from converter.reference.evaluator import CompiledRule, Verdict
from converter.reference.predicates import Predicate
from converter.reference.fields import (
    Event,
    FoldCache,
    Folded,
    field_getter,
    fold,
    folded_texts,
    keyword_texts,
    scalars,
    text_of,
)
from converter.reference.values import Undecided
from converter.ruleindex.needs import ANY_FIELD, Alt, Condition, conditions_of, rule_form

__all__ = ["ANY_FIELD", "Alt", "IndexStats", "LiteralIndex", "MatchOptions", "RuleIndex",
           "automaton_available"]

#: Distinct (Channel, EventID) routing keys remembered; beyond it routing is recomputed.
ROUTE_MEMO = 4096
#: How a field's texts are read (see ``_Group``); objects, compared by identity.
_PLAIN, _CASED, _KEYWORDS, _OTHER = "plain", "cased", "keywords", "other"


# ---------------------------------------------------------------------------------------------
# Sigma rules


def raw_texts(event: Event, name: str) -> tuple[str, ...]:
    """A field's texts as ``|cased`` values and regexes compare them (``text_of``, unfolded)."""
    if name == ANY_FIELD:
        return tuple(keyword_texts(event))
    texts = (text_of(v) for v in scalars(field_getter(name)(event)))
    return tuple(t for t in texts if t is not None)


def sigma_texts(event: Event, name: str, cased: bool, cache: FoldCache) -> Folded:
    """A field's texts as the reference compares them, folded unless ``cased``; the folded ones
    go to (and come from) the per-event cache the rules share."""
    if cased:
        return raw_texts(event, name)
    if name == ANY_FIELD:
        try:
            return cache[ANY_FIELD]
        except KeyError:
            folded = cache[ANY_FIELD] = tuple([fold(t) for t in keyword_texts(event)])
            return folded
    return folded_texts(event, name, cache)


def _mode(name: str, cased: bool) -> str:
    if name == ANY_FIELD:
        return _OTHER if cased else _KEYWORDS
    if "." in name:
        return _OTHER
    return _CASED if cased else _PLAIN


class _Group:
    """The evaluable rules of one set of logsources, with their literal index."""

    __slots__ = ("members", "index", "fields")

    def __init__(self, members: tuple[int, ...], conditions: Sequence[Optional[Condition]],
                 options: MatchOptions) -> None:
        self.members = members
        self.index: LiteralIndex[int] = LiteralIndex(((i, conditions[i]) for i in members),
                                                     options)
        # (field, mode, matcher): _PLAIN / _CASED for a folded / cased key of the event itself,
        # _KEYWORDS for the folded keyword pseudo-field, _OTHER for dotted (nested) names and
        # cased keywords.
        self.fields = tuple((name, _mode(name, cased), matcher)
                            for name, cased, matcher in self.index.fields)


@dataclass(frozen=True)
class IndexStats:
    """What an index holds.

    Attributes:
        rules: rules given to ``build``.
        evaluable: rules the reference can evaluate (the others are never candidates).
        indexed: evaluable rules filed under a literal condition.
        always: evaluable rules without one (evaluated on every event of their logsource).
        literals: alternatives filed, over all rules.
        automaton: whether ``pyahocorasick`` is used.
    """

    rules: int
    evaluable: int
    indexed: int
    always: int
    literals: int
    automaton: bool


class RuleIndex:
    """Compiled Sigma rules indexed by the literals they need; build with ``RuleIndex.build``.

    Positions are indexes into ``rules`` (the sequence given to ``build``). Rules the reference
    cannot evaluate (``CompiledRule.unsupported``) are never candidates and never match: their
    verdict is ``None`` on every event of their logsource, whatever the index does.
    """

    def __init__(self, rules: Sequence[CompiledRule], conditions: Sequence[Optional[Condition]],
                 route: bool = True, options: MatchOptions | None = None) -> None:
        self.rules = tuple(rules)
        self.conditions = tuple(conditions)
        self.route = route
        self.options = options or MatchOptions()
        self._evaluable = tuple(
            i for i, r in enumerate(self.rules) if r.unsupported is None and r.detection is not None
        )
        self._detections: tuple[Optional[Predicate], ...] = tuple(r.detection for r in self.rules)
        self._routes: dict[Any, Optional[_Group]] = {}
        self._groups: dict[tuple[int, ...], _Group] = {}
        self._everything: Optional[_Group] = None

    @classmethod
    def build(cls, rules: Sequence[CompiledRule], *, route: bool = True,
              automaton: bool | None = None, prefilter: bool = True,
              memo: int = MEMO_CHARS, scan_limit: int = SCAN_LIMIT) -> RuleIndex:
        """Index compiled rules.

        Args:
            rules: rules from ``converter.reference.evaluator.compile_rule``.
            route: only rules of the event's logsource are candidates (as ``evaluate`` decides);
                with False every evaluable rule is considered, as ``detection_matches`` does.
            automaton: use ``pyahocorasick`` for substring literals (None: when installed).
            prefilter: file rules under their literals; False makes every rule a candidate (to
                measure or check the index against plain evaluation).
            memo: characters of field texts whose matching literals each field remembers
                (streams repeat values); 0 disables it.
            scan_limit: up to this many substring literals on a field are looked for one by
                one with ``in`` (the automaton, or 3-gram buckets, beyond).

        Returns:
            The ``RuleIndex``; per-logsource literal tables are built on first use.
        """
        forms = [
            rule_form(r.conditions) if prefilter and r.unsupported is None and r.conditions
            else None
            for r in rules
        ]
        return cls(rules, conditions_of(forms), route, MatchOptions(automaton, memo, scan_limit))

    @property
    def stats(self) -> IndexStats:
        """Counts of what the index holds (see ``IndexStats``)."""
        evaluable = self._evaluable
        indexed = sum(1 for i in evaluable if self.conditions[i] is not None)
        literals = sum(len(c) for i in evaluable for c in self.conditions[i] or ())
        automaton = self.options.automaton
        return IndexStats(len(self.rules), len(evaluable), indexed, len(evaluable) - indexed,
                          literals, automaton_available() if automaton is None
                          else bool(automaton and automaton_available()))

    # -- routing ------------------------------------------------------------------------------

    def _group(self, event: Event) -> Optional[_Group]:
        if not self.route:
            if self._everything is None:
                self._everything = _Group(self._evaluable, self.conditions, self.options)
            return self._everything
        key = (event.get("Channel"), event.get("EventID"))
        try:
            return self._routes[key]
        except KeyError:
            group = self._members_group(event)
            if len(self._routes) < ROUTE_MEMO:
                self._routes[key] = group
            return group
        except TypeError:  # an unhashable (list-valued) Channel or EventID
            return self._members_group(event)

    def _members_group(self, event: Event) -> Optional[_Group]:
        members = tuple(i for i in self._evaluable if self.rules[i].in_logsource(event))
        if not members:
            return None
        group = self._groups.get(members)
        if group is None:
            group = self._groups[members] = _Group(members, self.conditions, self.options)
        return group

    def members(self, event: Event) -> tuple[int, ...]:
        """Positions of the evaluable rules of the event's logsource (all of them unrouted)."""
        group = self._group(event)
        return () if group is None else group.members

    # -- candidates and evaluation ------------------------------------------------------------

    def candidates(self, event: Event, cache: FoldCache | None = None) -> list[int]:
        """Positions of the rules worth evaluating on ``event``, in ascending order; every other
        rule provably does not match it.

        Args:
            event: a flat event.
            cache: the per-event fold cache to fill and share with the rules' evaluation.
        """
        group = self._group(event)
        if group is None:
            return []
        if cache is None:
            cache = {}
        found: set[Any] = set()
        for name, mode, matcher in group.fields:
            if mode is _PLAIN:
                value = event.get(name)
                if type(value) is str:  # the common case: the memo knows the text, unfolded
                    hit = matcher.raw_memo.get(value)
                    if hit is None:
                        hit = matcher.raw_lookup(value)
                    if hit:
                        found.update(hit)
                elif value is not None:  # a list, a number, a boolean
                    texts = folded_texts(event, name, cache)
                    if texts:
                        matcher.hits(texts, found)
                    if matcher.numbers:  # numeric values: EventID 4732 or 4732.0
                        matcher.number_hits(value, found)
            elif mode is _CASED:
                value = event.get(name)
                if type(value) is str:  # raw texts are memoised as they are
                    hit = matcher.memo.get(value)
                    if hit is None:
                        hit = matcher.lookup(value)
                    if hit:
                        found.update(hit)
                elif value is not None:
                    matcher.hits(raw_texts(event, name), found)
            elif mode is _KEYWORDS:
                memo = matcher.raw_memo
                for text in keyword_texts(event):
                    hit = memo.get(text)
                    if hit is None:
                        hit = matcher.raw_lookup(text)
                    if hit:
                        found.update(hit)
            else:  # a dotted name that may be a nested path, or cased keywords
                texts = sigma_texts(event, name, matcher.cased, cache)
                if texts or type(texts) is str:
                    matcher.hits(texts, found)
                if matcher.numbers:
                    value = field_getter(name)(event)
                    if type(value) is not str and value is not None:
                        matcher.number_hits(value, found)
        return sorted(group.index.settle(found))

    def matches(self, event: Event, undecided: dict[int, Verdict] | None = None) -> list[int]:
        """Positions of the rules that match ``event``, in ascending order.

        Args:
            event: a flat event.
            undecided: when given, receives the ``Verdict(None, ...)`` of each candidate whose
                evaluation ran past the reference's time limit (those are not in the result).
        """
        cache: FoldCache = {}
        detections = self._detections
        out = []
        for i in self.candidates(event, cache):
            try:
                if detections[i](event, cache):  # type: ignore[misc]
                    out.append(i)
            except Undecided as error:
                if undecided is not None:
                    undecided[i] = self.rules[i].undecided(error)
        return out

    def evaluate_all(self, event: Event) -> list[CompiledRule]:
        """The rules that match ``event`` (routing, candidates, then evaluation)."""
        rules = self.rules
        return [rules[i] for i in self.matches(event)]

