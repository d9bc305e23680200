"""Necessary literals of Sigma rules: what must occur in an event for a detection to be true.

``converter.ruleindex.index`` indexes rules by these conditions. A clause (a ``Need``) is a set of
alternatives ``Alt(field, kind, literal, cased)``, true when at least one alternative holds on the
event, where an alternative holds when some text of ``field`` (folded with
``converter.reference.fields.fold`` unless ``cased``) ``equals`` / ``startswith`` / ``endswith`` /
``contains`` ``literal``, or (``number``) the field is a number equal to it or a string spelling
it. A condition (``Condition``) is at most
``MAX_CLAUSES`` clauses that all hold whenever the detection is true, chosen as the most selective
by a cost estimate (kind, literal length, how many rules test the literal). ``None`` means "no
cheap condition": the rule is evaluated on every event of its logsource.

Soundness is the point: a derived condition must hold on every event the reference evaluator
(``converter.reference.evaluator``) matches, so skipping a rule whose condition fails never changes a
verdict. Each leaf mirrors exactly how ``converter.reference.values`` compares:

* a case-insensitive string (plain, wildcards, contains / startswith / endswith, and the windash,
  base64, base64offset, utf16 values pySigma's modifiers produce) is matched on the whole value
  folded, with each literal part of the pattern folded on its own (``glob``); so the first
  literal part folded is a prefix, the last a suffix and every part a substring of the folded
  value (``fold`` maps each code point on its own, so folding a part and folding the value
  agree on every character);
* a ``|cased`` string gives the same alternatives on the raw value;
* a regular expression runs ``search`` on the raw value: the literal runs its top-level sequence
  requires (``regex_literals``) must occur; under ``|i`` only runs of ASCII characters that no
  other character matches case-insensitively except ones folding to the same character;
* a keyword is searched in every text of the event (pseudo-field ``ANY_FIELD``);
* an ``and`` needs any one child's condition (the most selective is chosen), an ``or`` the union
  of its children's, a ``not`` nothing; numbers, booleans, nulls, ``exists``, comparisons, CIDR
  blocks and field references give no condition.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any, NamedTuple, Optional

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.types import (
    SigmaCasedString,
    SigmaExpansion,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
    SigmaTimestampPart,
    SpecialChars,
)

from converter.reference.fields import fold
from converter.reference.values import Unsupported, regex_flags, regex_source, string_parts

from backends.query.sre import sre_constants as _sre, sre_parse as _sre_parse

#: The pseudo-field of keyword (unbound) searches: every text of the event. A NUL cannot occur
#: in a Sigma field name, so it never clashes with one.
ANY_FIELD = "\x00any"
KINDS = ("equals", "startswith", "endswith", "contains", "number")


class Alt(NamedTuple):
    """One alternative of a necessary condition (see the module docstring)."""

    field: str
    kind: str
    literal: str
    cased: bool = False


Need = frozenset  # frozenset[Alt]: a clause, true when one of its alternatives holds
#: A necessary condition: clauses that all hold whenever the detection is true (None: none).
Condition = tuple  # tuple[Need, ...]
#: A reduced condition tree: ("and" | "or", [Form, ...]) or ("leaf", Need | None).
Form = tuple


# ---------------------------------------------------------------------------------------------
# Leaves


def _string_form(field: str, value: SigmaString, search: bool) -> Form:
    """The alternatives a Sigma string gives: AND of prefix / suffix / substring conditions."""
    try:
        parts = string_parts(value)
    except Unsupported:  # a placeholder: the rule is unsupported anyway
        return ("leaf", None)
    cased = isinstance(value, SigmaCasedString)
    fold_ = (lambda s: s) if cased else fold
    many = SpecialChars.WILDCARD_MULTI
    if search:  # keywords: leading and trailing '*' add nothing to a substring search
        items = list(parts)
        while items and items[0] is many:
            items.pop(0)
        while items and items[-1] is many:
            items.pop()
        literals = [fold_(p) for p in items if isinstance(p, str)]
        if not items or not literals:
            return ("leaf", None)  # '*' alone, or only '?': any text (or none) may match
        return ("and", [("leaf", frozenset({Alt(field, "contains", lit, cased)}))
                        for lit in literals])
    texts = [p for p in parts if isinstance(p, str)]
    if len(texts) == len(parts):  # no wildcard
        return ("leaf", frozenset({Alt(field, "equals", fold_("".join(texts)), cased)}))
    children: list[Form] = []
    for position, part in enumerate(parts):
        if not isinstance(part, str):
            continue
        if position == 0:
            kind = "startswith"
        elif position == len(parts) - 1:
            kind = "endswith"
        else:
            kind = "contains"
        children.append(("leaf", frozenset({Alt(field, kind, fold_(part), cased)})))
    return ("and", children) if children else ("leaf", None)


#: ASCII characters that a case-insensitive ``re`` / ``regex`` match lets stand for a character
#: whose ``fold`` is not their own fold (ı for i, ſ for s; checked over all of
#: Unicode by tests/converter/ruleindex/test_ruleindex.py). Under ``|i`` a literal run is split at them.
_CASELESS_UNSAFE = frozenset("iIsS")


def regex_literals(pattern: str, flags: int = 0) -> tuple[list[str], bool]:
    """Literal runs that every match of ``pattern`` contains, and whether they are folded.

    Only the top-level sequence is read: consecutive literal characters form a run; a group
    without flag changes and a repeat of at least one contribute their own runs; anything else
    (classes, alternations, optional parts, assertions, backreferences) ends a run. Under
    IGNORECASE the runs are lowercased and restricted to safe ASCII characters.

    Returns:
        ``(runs, folded)``; ``runs`` is empty when nothing is required or the pattern does not
        parse.
    """
    try:
        parsed = _sre_parse.parse(pattern, flags)
    except Exception:  # noqa: BLE001 - any parse failure: no literal (the rule is refused anyway)
        return [], False
    caseless = bool((parsed.state.flags | flags) & re.IGNORECASE)
    runs: list[str] = []
    _collect(parsed, runs, caseless)
    if caseless:
        safe: list[str] = []
        for run in runs:
            for piece in re.split("[^\x00-\x7f]|[iIsS]", run):
                if piece:
                    safe.append(piece.lower())
        runs = safe
    return [r for r in runs if r], caseless


def _collect(sub: Any, runs: list[str], caseless: bool) -> None:
    run: list[str] = []
    for op, av in sub:
        if op is _sre.LITERAL:
            run.append(chr(av))
            continue
        runs.append("".join(run))
        run = []
        if op is _sre.SUBPATTERN:
            _group, add_flags, del_flags, inner = av
            if not add_flags and not del_flags:
                _collect(inner, runs, caseless)
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) or op is getattr(
            _sre, "POSSESSIVE_REPEAT", None
        ):
            low, _high, inner = av
            if low >= 1:
                _collect(inner, runs, caseless)
        elif op is getattr(_sre, "ATOMIC_GROUP", None):
            _collect(av, runs, caseless)
    runs.append("".join(run))


def _regex_form(field: str, value: SigmaRegularExpression) -> Form:
    try:
        source = regex_source(value)
    except Unsupported:
        return ("leaf", None)
    runs, folded = regex_literals(source, regex_flags(value))
    if not runs:
        return ("leaf", None)
    return ("and", [("leaf", frozenset({Alt(field, "contains", run, not folded)}))
                    for run in runs])


def _value_form(field: str, value: Any, search: bool) -> Form:
    """The Form of one value of a field (or of a keyword when ``search``)."""
    if isinstance(value, SigmaExpansion):  # windash / base64offset variants are OR-ed
        return ("or", [_value_form(field, v, search) for v in value.values])
    if isinstance(value, SigmaString):
        return _string_form(field, value, search)
    if isinstance(value, SigmaRegularExpression):  # searched in the raw text (also keywords)
        return _regex_form(field, value)
    if isinstance(value, SigmaTimestampPart):  # time modifiers: the rule is unsupported
        return ("leaf", None)
    if isinstance(value, SigmaNumber):
        # value_test: a keyword number is searched as its text in each folded text; a field
        # number equals a numeric value (1.0 equals 1) or a string equal to its folded text.
        text = str(value.number).lower()
        return ("leaf", frozenset({Alt(field, "contains" if search else "number", text, False)}))
    # Booleans, null, exists, comparisons, CIDR and field references: no literal is required.
    return ("leaf", None)


def sigma_form(node: Any) -> Form:
    """Reduce a node of pySigma's condition tree to a Form (before choosing per AND)."""
    if isinstance(node, ConditionAND):
        return ("and", [sigma_form(a) for a in node.args])
    if isinstance(node, ConditionOR):
        return ("or", [sigma_form(a) for a in node.args])
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return _value_form(node.field, node.value, search=False)
    if isinstance(node, ConditionValueExpression):
        return _value_form(ANY_FIELD, node.value, search=True)
    if isinstance(node, ConditionNOT):
        return ("leaf", None)
    return ("leaf", None)


def rule_form(conditions: Iterable[Any]) -> Form:
    """The Form of a rule's detection: its conditions are OR-ed."""
    return ("or", [sigma_form(tree) for tree in conditions])


# ---------------------------------------------------------------------------------------------
# Choosing per AND

#: Rough share of field values that pass a test of each kind before the literal's length counts
#: (an equality is rarer than a prefix or suffix, which is rarer than a substring).
KIND_WEIGHT = {"equals": 0.15, "number": 0.15, "startswith": 0.5, "endswith": 0.5,
               "contains": 1.0}
#: Each literal character divides the estimated share by this much, up to ``LENGTH_CAP``.
LENGTH_FACTOR = 0.6
LENGTH_CAP = 14
#: A literal that many rules test is likely common in events too (``\\cmd.exe``, ``.exe``), and
#: one that most rules of a set test is a constant of their logsource (``event.category:
#: process``): the estimate grows by ``count / RULES_SCALE`` plus ``SHARE_WEIGHT`` times the
#: share of rules testing it.
RULES_SCALE = 25.0
SHARE_WEIGHT = 20.0
_TOTAL = ("", "")  # key of the number of Forms counted (no field is named "")


def alt_cost(alt: Alt, freq: Counter) -> float:
    """Estimated share of events on which ``alt`` holds (a score: lower is more selective,
    1.0 and more is "nearly every event")."""
    weight = KIND_WEIGHT[alt.kind] * LENGTH_FACTOR ** min(len(alt.literal), LENGTH_CAP)
    count, total = freq[(alt.field, alt.literal)], freq[_TOTAL]
    # Beyond the one rule a literal has anyway (which in a set of two is half of it).
    share = (count - 1) / total if total else 0.0
    return weight * (1.0 + count / RULES_SCALE + SHARE_WEIGHT * share)


def need_cost(need: Optional[Need], freq: Counter) -> float:
    """Estimated share of events on which a clause holds (a score, see ``alt_cost``)."""
    if need is None:
        return float("inf")
    return sum(alt_cost(a, freq) for a in need)


def clauses_of(form: Form, freq: Counter) -> list[Need]:
    """Necessary clauses of a Form, all of which hold on a match: an AND gathers its children's;
    an OR distributes (``(a and b) or c`` needs ``a or c`` and ``b or c``): each way of taking
    one clause per child gives their union, over the ``OR_CHOICES`` most selective clauses of
    each child while the ways stay at most ``OR_WAYS`` (otherwise the most selective clause of
    each); an OR has none when a child has none. A leaf's alternatives are one clause."""
    kind, payload = form
    if kind == "leaf":
        return [] if payload is None else [payload]
    children = [clauses_of(child, freq) for child in payload]
    if kind == "or" and len(children) == 1:
        return children[0]
    if kind == "or":
        if not children or any(not c for c in children):
            return []
        ranked = [sorted(c, key=lambda n: need_cost(n, freq)) for c in children]
        ways = 1
        for clauses in ranked:
            ways *= min(len(clauses), OR_CHOICES)
        if ways > OR_WAYS:
            return [frozenset().union(*(clauses[0] for clauses in ranked))]
        return [frozenset().union(*choice)
                for choice in itertools.product(*(c[:OR_CHOICES] for c in ranked))]
    out: list[Need] = []
    for clauses in children:
        out.extend(c for c in clauses if c not in out)
    return out


#: An OR combines at most this many clauses of each child, in at most ``OR_WAYS`` unions.
OR_CHOICES = 2
OR_WAYS = 16


#: Clauses kept per rule: a rule is a candidate when each has an alternative holding. Two catch
#: the common "parent image and command line" rules; more add little and cost lookups.
MAX_CLAUSES = 2


def condition_of(form: Form, freq: Counter, max_clauses: int = MAX_CLAUSES) -> Optional[Condition]:
    """The most selective clauses of a Form (at most ``max_clauses``), or None without any."""
    clauses = sorted(clauses_of(form, freq), key=lambda n: need_cost(n, freq))
    if not clauses:
        return None
    # A clause that holds on (nearly) every event only adds lookups.
    return (clauses[0],) + tuple(c for c in clauses[1:max_clauses] if need_cost(c, freq) < 1.0)


def form_leaves(form: Form) -> Iterable[Alt]:
    """Every alternative a Form mentions (to count how many rules test each literal)."""
    kind, payload = form
    if kind == "leaf":
        yield from payload or ()
    else:
        for child in payload:
            yield from form_leaves(child)


def literal_frequency(forms: Iterable[Optional[Form]]) -> Counter:
    """How many rules mention each (field, literal)."""
    freq: Counter = Counter()
    for form in forms:
        if form is not None:
            freq.update({(a.field, a.literal) for a in form_leaves(form)})
            freq[_TOTAL] += 1
    return freq


#: Clauses a tree keeps on its own (``own_clauses``), among which a group chooses
#: (``choose_conditions``).
OWN_CLAUSES = 8
#: A clause more than this share of a group's slots have is taken for a constant of their
#: logsource (Splunk's ``source``, Kusto's ``$table``, an ECS ``event.category``): it holds on
#: (nearly) every event the group routes, and is chosen only when a slot has no other.
COMMON_SHARE = 0.5
#: Fewer slots than this tell nothing about what is common.
COMMON_MIN = 4
#: Clauses a slot is filed under by ``choose_conditions``: a slot is a candidate when each holds,
#: so each one more is a sharper filter (at the price of one key more per event it holds on).
GROUP_CLAUSES = 3


def own_clauses(form: Optional[Form], limit: int = OWN_CLAUSES) -> Optional[tuple[Need, ...]]:
    """The necessary clauses of one Form costed on their own (no other rule's literals count),
    cheapest first, at most ``limit``; None without any. What a rule's own entry can keep: it
    does not depend on which rules are prepared or routed together."""
    if form is None:
        return None
    freq: Counter = Counter()
    kept: list[Need] = []
    for clause in sorted(clauses_of(form, freq), key=lambda n: need_cost(n, freq)):
        # A clause that another one implies adds nothing to it (``ndows\\system32\\`` beside
        # ``:\\windows\\system32\\kernelbase.dll+``, which the cost estimate ranks alike as
        # it counts at most ``LENGTH_CAP`` characters): the place goes to another clause.
        if not any(_implies(other, clause) for other in kept):
            kept = [other for other in kept if not _implies(clause, other)]
            kept.append(clause)
    return tuple(kept[:limit]) or None


def _implies(need: Need, other: Need) -> bool:
    """Whether ``other`` holds whenever ``need`` does: each alternative of ``need`` implies one
    of ``other``'s (same field and casing, hence literals folded alike)."""
    return all(any(_alt_implies(a, b) for b in other) for a in need)


def _alt_implies(a: Alt, b: Alt) -> bool:
    """Whether a text holding ``a`` holds ``b``."""
    if a.field != b.field or a.cased != b.cased:
        return False
    if a.kind == "number" or b.kind == "number":
        return a == b
    if b.kind == "contains":
        return b.literal in a.literal
    if b.kind == "startswith":
        return a.kind in ("startswith", "equals") and a.literal.startswith(b.literal)
    if b.kind == "endswith":
        return a.kind in ("endswith", "equals") and a.literal.endswith(b.literal)
    return a.kind == "equals" and a.literal == b.literal


def choose_conditions(owns: list[Optional[tuple[Need, ...]]],
                      max_clauses: int = GROUP_CLAUSES) -> list[Optional[Condition]]:
    """Conditions for slots that a group evaluates together, from each slot's ``own_clauses``
    (cheapest first).

    A clause more than ``COMMON_SHARE`` of the slots have (with ``COMMON_MIN`` slots or more) is
    taken for a constant of their logsource and left out while the slot has another; a slot is
    filed under its first ``max_clauses`` of the rest. Any subset of a slot's necessary clauses
    is a sound condition: the choice changes which events are evaluated, never a verdict."""
    counts: Counter = Counter()
    total = 0
    for clauses in owns:
        if clauses is not None:
            counts.update(clauses)
            total += 1
    limit = COMMON_SHARE * total if total >= COMMON_MIN else float("inf")
    out: list[Optional[Condition]] = []
    for clauses in owns:
        if clauses is None:
            out.append(None)
            continue
        rare = tuple(c for c in clauses if counts[c] <= limit)[:max_clauses]
        out.append(rare or clauses[:1])
    return out


def conditions_of(forms: list[Optional[Form]],
                  max_clauses: int = MAX_CLAUSES) -> list[Optional[Condition]]:
    """Necessary conditions of several Forms, costed with literal frequencies across them."""
    freq = literal_frequency(forms)
    return [None if f is None else condition_of(f, freq, max_clauses) for f in forms]
