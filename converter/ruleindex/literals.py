"""Literal matching for the rule index: which necessary conditions hold on an event.

``LiteralIndex`` files slots (rule positions, or any hashable) under their conditions
(``converter.ruleindex.needs.Condition``: clauses of alternatives ``(field, kind, literal, cased)``)
and returns the slots whose conditions may hold, given a way to read a field's texts. Per field
and text the literals are found at once:

* ``equals`` by a dict lookup, ``number`` by a dict keyed by number (1.0 finds 1);
* ``startswith`` / ``endswith`` / ``contains``, when a field has more than ``SCAN_LIMIT``
  substring literals, in one pass of an Aho-Corasick automaton (``pyahocorasick``, optional);
  otherwise prefix and suffix tables by length and, for substrings, ``in`` one by one (a few) or
  buckets keyed by one 3-gram of each literal (many, without the automaton);
* each field remembers the slots of the texts it saw, within a character budget: event streams
  repeat values (service command lines, images, call traces).

Both matchers give the same slots (tests/converter/ruleindex/test_ruleindex.py runs with and without the automaton).
``converter.ruleindex.index.RuleIndex`` builds one ``LiteralIndex`` per logsource group.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Optional, TypeVar, Union

from converter.reference.fields import Folded, fold, scalars
from converter.ruleindex.needs import KINDS, Condition

try:  # optional C accelerator; the pure-Python matcher below gives the same candidates
    import ahocorasick as _ahocorasick
except ImportError:  # pragma: no cover - depends on the environment
    _ahocorasick = None

__all__ = ["LiteralIndex", "MEMO_CHARS", "MatchOptions", "Slot", "automaton_available"]

#: What a field matcher files: a caller's slot, or the key of one clause of a slot.
Slot = Hashable
#: The caller's slot type of one ``LiteralIndex`` (a rule position, a (rule, target) pair).
S = TypeVar("S", bound=Hashable)
#: What ``LiteralIndex.candidates_of`` reads of a field: its one text, or its texts.
Raw = Union[str, Sequence[str]]


#: Substring buckets of the pure-Python matcher are keyed by one n-gram of each literal.
GRAM = 3
#: Up to this many substring literals on a field are looked for one by one with ``in``.
SCAN_LIMIT = 12
#: Characters of field texts whose matching slots each field remembers, ``MEMO_OVERHEAD`` more
#: counted per text; when spent, the memo starts afresh. 0 disables it. The texts are the
#: events' own (folded) strings, so a full memo holds about this many bytes plus its entries.
MEMO_CHARS = 1 << 18
MEMO_OVERHEAD = 100


def _parse_number(text: str) -> int | float:
    """The number a SigmaNumber's text spells (``str`` of an int or a float)."""
    try:
        return int(text)
    except ValueError:
        return float(text)


def automaton_available() -> bool:
    """Whether ``pyahocorasick`` is installed (the index then uses it by default)."""
    return _ahocorasick is not None


@dataclass(frozen=True)
class MatchOptions:
    """How fields are matched (the slots found are the same whatever the options).

    Attributes:
        automaton: use ``pyahocorasick`` (None: when installed).
        memo: characters of field texts each field remembers the slots of (0: none).
        scan_limit: up to this many substring literals on a field are looked for with ``in``
            (0: the automaton takes every field, when it is used).
    """

    automaton: bool | None = None
    memo: int = MEMO_CHARS
    scan_limit: int = SCAN_LIMIT


# ---------------------------------------------------------------------------------------------
# One field: which literals occur in a text


class _FieldMatcher:
    """The alternatives on one (field, cased): which slots' literals hold on a text."""

    __slots__ = ("cased", "fold", "equals", "numbers", "present", "automaton", "prefixes",
                 "suffixes", "buckets", "gram_keys", "short", "memo", "raw_memo", "budget", "limit")

    def __init__(self, alts: list[tuple[str, str, Slot]], options: MatchOptions,
                 cased: bool = False, folding: Callable[[str], str] = fold) -> None:
        self.cased = cased
        #: How a raw text is folded before its literals are looked for (``raw_lookup``).
        self.fold = folding
        memo = options.memo
        automaton = automaton_available() if options.automaton is None else options.automaton
        self.memo: dict[str, tuple[Slot, ...]] = {}  # by text as given
        self.raw_memo: dict[str, tuple[Slot, ...]] = {}  # by raw text, folded on a miss
        self.budget = self.limit = memo
        by_kind: dict[str, dict[str, list[Slot]]] = {k: {} for k in KINDS}
        present: set[Slot] = set()
        for kind, literal, slot in alts:
            if literal == "" and kind != "equals":
                present.add(slot)  # "" starts, ends and is in every text
            else:
                by_kind[kind].setdefault(literal, []).append(slot)
        # A number equals a string spelling it (folded), and an int or float of its value.
        for literal, slots in by_kind["number"].items():
            by_kind["equals"].setdefault(literal, []).extend(slots)
        self.equals = {lit: tuple(s) for lit, s in by_kind["equals"].items()}
        self.numbers: dict[Any, tuple[Slot, ...]] = {}
        for literal, slots in by_kind["number"].items():
            number = _parse_number(literal)
            self.numbers[number] = self.numbers.get(number, ()) + tuple(slots)
        self.present = tuple(present)
        self.automaton: Any = None
        self.prefixes: tuple[tuple[int, dict[str, tuple[Slot, ...]]], ...] = ()
        self.suffixes: tuple[tuple[int, dict[str, tuple[Slot, ...]]], ...] = ()
        self.buckets: dict[str, tuple[tuple[str, tuple[Slot, ...]], ...]] = {}
        self.gram_keys: frozenset[str] = frozenset()
        self.short: tuple[tuple[str, tuple[Slot, ...]], ...] = ()
        # A handful of substrings is found faster by ``in`` (CPython's fast search skips ahead)
        # than by an automaton, which visits every character.
        many = len(by_kind["contains"]) > options.scan_limit
        # scan_limit 0: the automaton (when used) takes every field, prefixes and suffixes too.
        if automaton and _ahocorasick is not None and (many or options.scan_limit <= 0):
            self._build_automaton(by_kind)
        else:
            self._build_tables(by_kind, grams=many)

    def _build_automaton(self, by_kind: dict[str, dict[str, list[Slot]]]) -> None:
        payload: dict[str, list[tuple[Slot, ...]]] = {}
        for position, kind in enumerate(("contains", "startswith", "endswith")):
            for literal, slots in by_kind[kind].items():
                entry = payload.setdefault(literal, [(), (), ()])
                entry[position] = tuple(slots)
        if not payload:
            return
        automaton = _ahocorasick.Automaton()
        for literal, (contains, starts, ends) in payload.items():
            automaton.add_word(literal, (len(literal) - 1, contains, starts, ends))
        automaton.make_automaton()
        self.automaton = automaton

    def _build_tables(self, by_kind: dict[str, dict[str, list[Slot]]], grams: bool) -> None:
        def by_length(table: dict[str, list[Slot]]) -> tuple[tuple[int, dict], ...]:
            lengths: dict[int, dict[str, tuple[Slot, ...]]] = {}
            for literal, slots in table.items():
                lengths.setdefault(len(literal), {})[literal] = tuple(slots)
            return tuple(sorted(lengths.items()))

        self.prefixes = by_length(by_kind["startswith"])
        self.suffixes = by_length(by_kind["endswith"])
        contains = by_kind["contains"]
        if not grams:
            self.short = tuple((literal, tuple(slots)) for literal, slots in contains.items())
            return
        # File each literal under its n-gram shared by the fewest literals, so that a text's
        # n-grams meet small buckets.
        counts: Counter = Counter()
        for literal in contains:
            counts.update({literal[i:i + GRAM] for i in range(len(literal) - GRAM + 1)})
        buckets: dict[str, list[tuple[str, tuple[Slot, ...]]]] = {}
        short = []
        for literal, slots in contains.items():
            if len(literal) < GRAM:
                short.append((literal, tuple(slots)))
                continue
            keys = [literal[i:i + GRAM] for i in range(len(literal) - GRAM + 1)]
            key = min(keys, key=lambda g: counts[g])
            buckets.setdefault(key, []).append((literal, tuple(slots)))
        self.buckets = {k: tuple(v) for k, v in buckets.items()}
        self.gram_keys = frozenset(self.buckets)
        self.short = tuple(short)

    def number_hits(self, value: Any, out: set[Slot]) -> None:
        """Add to ``out`` the slots of the numbers equal to a raw field value (an int or a float,
        or a list of them): Python's equal numbers hash alike, so 1.0 finds 1."""
        for item in scalars(value):
            if type(item) is int or type(item) is float:
                found = self.numbers.get(item)
                if found:
                    out.update(found)

    def hits(self, texts: Folded, out: set[Slot]) -> None:
        """Add to ``out`` the slots with an alternative holding on one of ``texts``."""
        if type(texts) is str:
            texts = (texts,)  # type: ignore[assignment]
        memo = self.memo
        for text in texts:
            found = memo.get(text)
            if found is None:
                found = self.lookup(text)
            if found:
                out.update(found)

    def lookup(self, text: str) -> tuple[Slot, ...]:
        """The slots with an alternative holding on ``text`` (already folded unless the field is
        cased), remembered within the budget."""
        found = self._text(text)
        self._remember(self.memo, text, found)
        return found

    def raw_lookup(self, raw: str) -> tuple[Slot, ...]:
        """The slots of a folded field's raw text: folded here (with the matcher's ``fold``),
        remembered under the raw text (``raw_memo``), so that a text seen before is found
        without folding it again."""
        found = self._text(self.fold(raw))
        self._remember(self.raw_memo, raw, found)
        return found

    def _remember(self, memo: dict[str, tuple[Slot, ...]], text: str,
                  found: tuple[Slot, ...]) -> None:
        # Event streams repeat values (the same service command lines, images, call traces):
        # remember each text's slots within a budget of characters, starting afresh when it is
        # spent so that the values frequent now are the ones remembered.
        cost = len(text) + MEMO_OVERHEAD
        if cost <= self.limit >> 4:
            if cost > self.budget:
                self.memo.clear()
                self.raw_memo.clear()
                self.budget = self.limit
            self.budget -= cost
            memo[text] = found

    def _text(self, text: str) -> tuple[Slot, ...]:
        out: set[Slot] = set()
        found = self.equals.get(text)
        if found:
            out.update(found)
        if self.present:
            out.update(self.present)
        if self.automaton is not None:
            last = len(text) - 1
            for end, (length, contains, starts, ends) in self.automaton.iter(text):
                if contains:
                    out.update(contains)
                if starts and end == length:
                    out.update(starts)
                if ends and end == last:
                    out.update(ends)
            return tuple(out)
        for length, table in self.prefixes:
            found = table.get(text[:length])
            if found:
                out.update(found)
        for length, table in self.suffixes:
            found = table.get(text[-length:])
            if found:
                out.update(found)
        if self.buckets:
            grams = {text[i:i + GRAM] for i in range(len(text) - GRAM + 1)}
            for gram in grams.intersection(self.gram_keys):
                for literal, slots in self.buckets[gram]:
                    if literal in text:
                        out.update(slots)
        for literal, slots in self.short:
            if literal in text:
                out.update(slots)
        return tuple(out)


class LiteralIndex(Generic[S]):
    """Slots (any hashable: a rule position, a (rule, target) pair) filed under their necessary
    conditions. ``candidates`` returns the slots whose condition may hold on an event.

    A condition is a tuple of clauses (``converter.ruleindex.needs.Condition``); a slot is a
    candidate when every clause has an alternative holding. A slot with one clause is filed as
    itself; with several, as ``(slot, clause number)`` pairs counted per event.

    Args:
        items: ``(slot, condition)`` pairs; a condition of None makes the slot always a
            candidate.
        options: how fields are matched (``MatchOptions``).
        folding: how the literals' folded fields fold a raw text (``candidates_of``; the
            reference's ``fold`` unless the literals were folded otherwise).
    """

    def __init__(self, items: Iterable[tuple[S, Optional[Condition]]],
                 options: MatchOptions | None = None,
                 folding: Callable[[str], str] = fold) -> None:
        options = options or MatchOptions()
        always: list[S] = []
        by_field: dict[tuple[str, bool], list[tuple[str, str, Slot]]] = {}
        # Per number of clauses, per clause number: the clause keys -> their slots.
        joins: dict[int, list[dict[Any, S]]] = {}
        multi: set[Any] = set()
        self.literals = 0
        for slot, condition in items:
            if condition is None:
                always.append(slot)
                continue
            keys = [slot] if len(condition) == 1 else [(_CLAUSE, slot, n) for n in
                                                       range(len(condition))]
            if len(keys) > 1:
                for slot_of, key in zip(joins.setdefault(len(keys), [{} for _ in keys]), keys):
                    slot_of[key] = slot
                multi.update(keys)
            for key, clause in zip(keys, condition):
                for alt in clause:
                    by_field.setdefault((alt.field, alt.cased), []).append(
                        (alt.kind, alt.literal, key))
                    self.literals += 1
        self.always = tuple(always)
        self.multi = frozenset(multi)
        #: The slots filed under several clauses, grouped by their number of clauses: per
        #: clause number, (its keys, key -> slot). A slot is a candidate when it is found under
        #: every clause number of its group (``settle``).
        self.joins: tuple[tuple[tuple[frozenset[Any], dict[Any, S]], ...], ...] = tuple(
            tuple((frozenset(slot_of), slot_of) for slot_of in maps) for maps in joins.values())
        #: (field, cased, matcher), the folded fields first.
        self.fields = tuple(
            (name, cased, _FieldMatcher(alts, options, cased, folding))
            for (name, cased), alts in sorted(by_field.items(), key=lambda kv: kv[0][1])
        )

    def settle(self, found: set[Any]) -> set[S]:
        """Turn the keys hit on an event into candidate slots (in place): a slot filed under
        several clauses is a candidate when all of them were hit."""
        if self.multi:
            clauses = found & self.multi
            if clauses:
                found -= clauses
                # Set operations rather than a loop over the clauses hit: a clause every event
                # of a logsource meets (Splunk's source) is hit for nearly every slot.
                for maps in self.joins:
                    slots: set[Any] | None = None
                    for keys, slot_of in maps:
                        hit = set(map(slot_of.__getitem__, clauses & keys))
                        slots = hit if slots is None else slots & hit
                        if not slots:
                            break
                    if slots:
                        found |= slots
        found.update(self.always)
        return found

    def candidates(self, texts: Callable[[str, bool], Folded],
                   values: Callable[[str], Any] | None = None) -> set[S]:
        """Slots that may be true on an event.

        Args:
            texts: ``texts(field, cased)`` gives the field's texts (folded with
                ``converter.reference.fields.fold`` unless ``cased``).
            values: ``values(field)`` gives the field's raw value, for ``number`` alternatives
                (without it their slots are always candidates).
        """
        found: set[Any] = set()
        for name, cased, matcher in self.fields:
            texts_ = texts(name, cased)
            if texts_ or type(texts_) is str:
                matcher.hits(texts_, found)
            if matcher.numbers:
                if values is None:
                    for slots in matcher.numbers.values():
                        found.update(slots)
                else:
                    matcher.number_hits(values(name), found)
        return self.settle(found)

    def candidates_of(self, raw: Callable[[str], Optional[Raw]]) -> set[S]:
        """``candidates`` on an event whose texts ``raw(field)`` gives unfolded: the field's one
        text (a ``str``), its texts (a sequence) or None. Folded fields fold them with the
        index's ``folding``; a field's one text is looked up in the memo by the text as given
        (the common case: the literals found without folding or copying it again). Number
        alternatives are always candidates, as in ``candidates`` without ``values``.
        """
        found: set[Any] = set()
        for name, cased, matcher in self.fields:
            texts = raw(name)
            if type(texts) is str:
                if cased:
                    hit = matcher.memo.get(texts)
                    if hit is None:
                        hit = matcher.lookup(texts)
                else:
                    hit = matcher.raw_memo.get(texts)
                    if hit is None:
                        hit = matcher.raw_lookup(texts)
                if hit:
                    found.update(hit)
            elif texts:
                matcher.hits(tuple(texts) if cased else tuple(map(matcher.fold, texts)), found)
            if matcher.numbers:
                for slots in matcher.numbers.values():
                    found.update(slots)
        return self.settle(found)

#: First item of the key ``(_CLAUSE, slot, number)`` of one clause of a slot filed under several
#: clauses: a private object, so no caller's slot (a tuple too, possibly) can equal such a key.
_CLAUSE = object()

