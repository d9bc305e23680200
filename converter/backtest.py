"""``sigport backtest``: every rule and every target's query over a large stream of real events.

Where ``check`` proves a rule on a handful of hand-written events, the backtest replays whole event
collections (the OTRF Security-Datasets archives, ``.evtx`` exports, JSON lines) against a whole
rule directory. Per rule it counts the reference evaluator's hits and each target's hits on the
rendered event, and records every event where a target and the reference disagree.

Built for volume (hundreds of thousands of events, thousands of rules):

* rules are loaded, converted and interpreted once, in parallel (``_prepare_chunk``); the parsed
  trees and pySigma rules are plain picklable objects handed to the evaluation workers;
* events are streamed (``converter.inputs``) in batches to workers that compiled every rule and
  query once (``_Engine``), with a bounded number of batches in flight, so memory stays flat
  however large the input is;
* an event reaches only the rules of its logsource: membership is decided once per
  (``Channel``, ``EventID``) pair, and rules with the same members share one routing group;
* an event is rendered once per target schema (``ecs``, ``splunk-sysmon``, ...), not per rule;
* a literal that must occur in some field for a tree to be true (``_need``) skips the full
  evaluation of trees that provably cannot match; the skip never changes a count (tested by
  running with ``prefilter=False``).

Equivalence per rule and target follows ``converter.equivalence.Checker`` exactly (same
converters, interpreters, field models and renderers; same reasons), only over the streamed events.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from .convert import CONVERTED
from .equivalence import Checker
from .reference import CompiledRule, compile_rule
from .rules import expand_paths, load_rules

__all__ = ["BacktestReport", "RuleTally", "TargetTally", "run_backtest"]

#: Disagreement examples kept per rule and target (the count is always complete).
MAX_EXAMPLES = 5
#: Events per batch sent to a worker: large enough to amortise pickling, small enough to stream.
BATCH_SIZE = 500
#: Rule files per preparation task.
PREPARE_CHUNK = 16
#: Distinct (Channel, EventID) routing keys remembered; beyond it membership is recomputed.
ROUTE_MEMO = 4096


# ---------------------------------------------------------------------------------------------
# Report


@dataclass
class TargetTally:
    """One target's counts on one rule over the whole event stream."""

    query: str | None = None
    hits: int = 0
    equivalent: bool | None = None
    reason: str | None = None
    disagreements: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON form (``hits``, ``equivalent``, ``reason``, ``disagreements``, ``examples``)."""
        return {
            "hits": self.hits,
            "equivalent": self.equivalent,
            "reason": self.reason,
            "disagreements": self.disagreements,
            "examples": self.examples,
            "query": self.query,
            "warnings": self.warnings,
        }


@dataclass
class RuleTally:
    """Reference and target counts for one rule."""

    id: str
    title: str
    path: str
    events: int = 0
    reference_hits: int | None = 0
    reference_unsupported: str | None = None
    error: str | None = None
    targets: dict[str, TargetTally] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON form; ``events`` is how many events of the rule's logsource it saw."""
        return {
            "id": self.id,
            "title": self.title,
            "path": self.path,
            "events": self.events,
            "error": self.error,
            "reference": {"hits": self.reference_hits, "unsupported": self.reference_unsupported},
            "targets": {name: t.to_json() for name, t in self.targets.items()},
        }


@dataclass
class BacktestReport:
    """The outcome of a backtest: per-rule tallies plus throughput."""

    events: int
    rules: list[RuleTally]
    targets: list[str]
    elapsed_s: float
    workers: int = 1
    #: Of ``elapsed_s``, the time spent loading, converting and interpreting the rules.
    prepare_s: float = 0.0
    #: Per mapping table: events of a routed logsource it could not render (count, first one).
    render_errors: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def events_per_s(self) -> float:
        """Events processed per second of wall time (preparation included)."""
        return self.events / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        """``{"events", "rules": [...], "elapsed_s", "events_per_s", "targets", "workers"}``."""
        return {
            "events": self.events,
            "targets": self.targets,
            "workers": self.workers,
            "rules": [r.to_json() for r in self.rules],
            "elapsed_s": round(self.elapsed_s, 3),
            "prepare_s": round(self.prepare_s, 3),
            "events_per_s": round(self.events_per_s, 1),
            "render_errors": self.render_errors,
        }

    def summary(self) -> dict[str, Any]:
        """Totals per target: rules equivalent / differing / not checked, hits, disagreements."""
        out: dict[str, Any] = {}
        for name in self.targets:
            tallies = [r.targets[name] for r in self.rules if name in r.targets]
            out[name] = {
                "equivalent": sum(1 for t in tallies if t.equivalent is True),
                "differs": sum(1 for t in tallies if t.equivalent is False),
                "not_checked": sum(1 for t in tallies if t.equivalent is None),
                "hits": sum(t.hits for t in tallies),
                "disagreements": sum(t.disagreements for t in tallies),
            }
        return out


# ---------------------------------------------------------------------------------------------
# Necessary conditions: a literal that must occur in a field for a tree to hold
#
# A condition is a set of alternatives (field, fold, literal): the tree can only be true if for at
# least one alternative some value of `field` contains `literal` (after str.lower when `fold`).
# None means "no cheap condition" (always evaluate); an empty set means "never true". Soundness:
# an And is true only if each child is, so any child's condition is necessary; an Or needs one of
# its children, so the union of all children's conditions is (and there is none if one child has
# none); a Not has none. Leaves mirror exactly how the evaluators fold and compare.

Alt = tuple[str, bool, str]
#: The pseudo-field of keyword (unbound) searches: every scalar of the event. A NUL cannot occur
#: in a Sigma or query field name, so it never clashes with one.
ANY_FIELD = "\x00any"
Need = frozenset  # frozenset[Alt]
Form = tuple  # ("and" | "or", [Form]) or ("leaf", Need | None)


def _longest(parts: Iterable[Any]) -> str | None:
    """The longest literal run of merged glob parts (wildcards break runs)."""
    best, run = "", ""
    for part in parts:
        if isinstance(part, str):
            run += part
        else:
            best, run = max(best, run, key=len), ""
    best = max(best, run, key=len)
    return best or None


def _sigma_form(node: Any) -> Form:
    """Reduce pySigma's condition tree to a Form (reference side, ``converter.reference``)."""
    from sigma.conditions import (
        ConditionAND,
        ConditionFieldEqualsValueExpression,
        ConditionOR,
        ConditionValueExpression,
    )

    if isinstance(node, ConditionAND):
        return ("and", [_sigma_form(a) for a in node.args])
    if isinstance(node, ConditionOR):
        return ("or", [_sigma_form(a) for a in node.args])
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return ("leaf", _sigma_value_need(node.field, node.value))
    if isinstance(node, ConditionValueExpression):
        # A keyword is searched (same folding) in every scalar of the event ("keywords").
        return ("leaf", _sigma_value_need(ANY_FIELD, node.value))
    return ("leaf", None)  # NOT, anything else: no cheap condition


def _sigma_value_need(name: str, value: Any) -> Need | None:
    """Reference leaves: a Sigma string matches the whole (str.lower-folded unless cased) value, so
    each of its literal runs, folded the same way, occurs in the folded value."""
    from sigma.types import Placeholder, SigmaCasedString, SigmaExpansion, SigmaString

    if isinstance(value, SigmaExpansion):  # windash / base64offset variants are OR-ed
        needs = [_sigma_value_need(name, v) for v in value.values]
        return None if any(n is None for n in needs) else frozenset().union(*needs)
    if not isinstance(value, SigmaString):
        return None
    parts = list(value.iter_parts())
    if any(isinstance(p, Placeholder) for p in parts):
        return None
    literal = _longest(parts)
    if literal is None:
        return None
    fold = not isinstance(value, SigmaCasedString)
    return frozenset({(name, fold, literal.lower() if fold else literal)})


def _tree_form(node: Any) -> Form:
    """Reduce a query tree (``backends/query/ast.py``) to a Form (target side)."""
    from backends.query import ast

    if isinstance(node, ast.And):
        return ("and", [_tree_form(c) for c in node.children])
    if isinstance(node, ast.Or):
        return ("or", [_tree_form(c) for c in node.children])
    if isinstance(node, ast.Const) and node.value is False:
        return ("leaf", frozenset())
    if isinstance(node, (ast.Glob, ast.Equals)):
        # evaluate.py: fold = not case_sensitive or lowercase_value; the value is str.lower-ed
        # whole and the pattern's literal parts one by one, then compared (fullmatch / ==).
        fold = (not node.case_sensitive) or node.lowercase_value
        if isinstance(node, ast.Glob):
            literal = _longest(node.parts)
        else:
            literal = node.value if type(node.value) is str else None
        if not literal:
            return ("leaf", None)
        return ("leaf", frozenset({(node.field, fold, literal.lower() if fold else literal)}))
    if isinstance(node, ast.Keyword):
        # evaluate.py: fullmatch of the (folded) glob on each text of the event or of the
        # listed fields, so each literal run occurs in one of them.
        literal = _longest(node.parts)
        if not literal:
            return ("leaf", None)
        fold = not node.case_sensitive
        literal = literal.lower() if fold else literal
        return ("leaf", frozenset((f, fold, literal) for f in node.fields or (ANY_FIELD,)))
    if isinstance(node, ast.Regex) and node.dialect is ast.RegexDialect.LUCENE and not node.flags:
        literal = _lucene_literal(node.pattern)
        return ("leaf", None if literal is None else frozenset({(node.field, True, literal)}))
    return ("leaf", None)


#: Lucene RegExp operator characters; any other character is itself
#: (https://www.elastic.co/guide/en/elasticsearch/reference/current/regexp-syntax.html).
_LUCENE_OPERATORS = set('.?+*|{}[]()"\\#@&<>~')


def _lucene_literal(pattern: str) -> str | None:
    """The longest lowercased literal a Lucene regex built of ASCII characters, ``[xX]`` case
    pairs, ``\\c`` escapes, ``.`` and ``.*`` requires; None for any other construct.

    Sound for ``fold=True``: a run of ASCII tokens matches a substring s whose ``str.lower`` is the
    run's literal, and lowercasing a whole value maps ASCII characters context-free, so the
    lowered value contains it (also when the evaluator lowercases the value first)."""
    runs, run, i = [], "", 0
    while i < len(pattern):
        ch = pattern[i]
        token: str | None
        if ch == ".":
            token, i = None, i + (2 if pattern[i + 1 : i + 2] == "*" else 1)
        elif ch == "\\" and i + 1 < len(pattern):
            token, i = pattern[i + 1], i + 2
        elif ch == "[" and pattern[i + 3 : i + 4] == "]" and pattern[i + 1 : i + 3].isalpha():
            low, high = pattern[i + 1], pattern[i + 2]
            if low.lower() != high.lower():
                return None
            token, i = low.lower(), i + 4
        elif ch in _LUCENE_OPERATORS:
            return None
        else:
            token, i = ch, i + 1
        if i < len(pattern) and pattern[i] in "?+*{":
            return None  # a quantified token is not required
        if token is None or not token.isascii():
            runs.append(run)
            run = ""
        else:
            run += token.lower()
    runs.append(run)
    best = max(runs, key=len)
    return best or None


def _reduce(form: Form, freq: Counter) -> Need | None:
    """The cheapest sound necessary condition of a Form: for an And, the child whose
    alternatives are rarest across all rules (a logsource constant such as
    ``event.category: process`` occurs in every rule and selects nothing)."""
    kind, payload = form
    if kind == "leaf":
        return payload
    needs = [_reduce(child, freq) for child in payload]
    if kind == "or":
        return None if any(n is None for n in needs) else frozenset().union(*needs)
    known = [n for n in needs if n is not None]
    if not known:
        return None

    def cost(need: Need) -> tuple[int, int, int]:
        if not need:
            return (-1, 0, 0)
        return (max(freq[a] for a in need), -min(len(a[2]) for a in need), len(need))

    return min(known, key=cost)


def _leaves(form: Form) -> set[Alt]:
    kind, payload = form
    if kind == "leaf":
        return set(payload or ())
    return set().union(*(_leaves(c) for c in payload)) if payload else set()


def _needs(forms: list[Form | None]) -> list[Need | None]:
    """Necessary conditions of several Forms, choosing by how often each alternative occurs."""
    freq: Counter = Counter()
    for form in forms:
        if form is not None:
            freq.update(_leaves(form))
    return [None if f is None else _reduce(f, freq) for f in forms]


# ---------------------------------------------------------------------------------------------
# Preparation (load, convert, interpret), in parallel over rule files


@dataclass
class _PreparedTarget:
    query: str | None
    tree: Any = None
    reason: str | None = None
    parse_failed: bool = False
    warnings: list[str] = field(default_factory=list)


@dataclass
class _PreparedRule:
    id: str
    title: str
    path: str
    rule: Any = None
    error: str | None = None
    unsupported: str | None = None
    targets: dict[str, _PreparedTarget] = field(default_factory=dict)


_PREP: dict[str, Any] = {}


def _init_prepare(options: dict[str, Any]) -> None:
    """Pool initializer: one ``Checker`` (converters, field models) per preparing process."""
    _PREP["checker"] = _checker(options)


def _checker(options: dict[str, Any]) -> Checker:
    return Checker(options["targets"], options["pipelines"], options["data_source"],
                   options["field_model"])


def _prepare_chunk(paths: list[str]) -> list[_PreparedRule]:
    """Load, convert and interpret the rules of some files, as ``Checker._check_target`` does."""
    from backends import TARGETS
    from backends.query.ast import Or
    from backends.query.errors import QueryError, QueryParseError, UnsupportedQueryError

    checker: Checker = _PREP["checker"]
    out = []
    for loaded in load_rules(paths):
        item = _PreparedRule(loaded.id, loaded.title, loaded.path, loaded.rule)
        if loaded.error is not None or loaded.rule is None:
            item.error = loaded.error.one_line() if loaded.error else "rule did not load"
            out.append(item)
            continue
        item.unsupported = compile_rule(loaded.rule).unsupported
        for name in checker.targets:
            spec, conversion = TARGETS[name], checker.converters[name].convert(loaded)
            target = _PreparedTarget(conversion.output, warnings=list(conversion.warnings))
            item.targets[name] = target
            parse = spec.parse_function()
            if conversion.status != CONVERTED:
                target.reason = f"not converted ({conversion.status}): {conversion.reason}"
                continue
            if parse is None:
                target.reason = f"not checked: {spec.no_interpreter_reason}"
                continue
            try:
                trees = [parse(q, fields=checker.models.get(name)) for q in conversion.queries]
            except QueryParseError as exc:
                target.parse_failed = True
                target.reason = (f"the emitted query does not parse: {exc.reason} "
                                 f"(line {exc.line}, column {exc.column})")
                continue
            except UnsupportedQueryError as exc:
                target.reason = f"not checked: the interpreter cannot evaluate this query: {exc}"
                continue
            except QueryError as exc:
                target.reason = f"not checked: {exc}"
                continue
            # Compiled in the evaluating workers only (a failure is reported from there).
            target.tree = trees[0] if len(trees) == 1 else Or(tuple(trees))
        out.append(item)
    return out


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _prepare(rule_paths: list[str], options: dict[str, Any], workers: int) -> list[_PreparedRule]:
    files = list(expand_paths(rule_paths))
    if workers <= 1 or len(files) <= PREPARE_CHUNK:
        _init_prepare(options)
        return [r for chunk in _chunks(files, PREPARE_CHUNK) for r in _prepare_chunk(chunk)]
    with _context().Pool(workers, _init_prepare, (options,)) as pool:
        parts = pool.imap(_prepare_chunk, _chunks(files, PREPARE_CHUNK))
        return [r for part in parts for r in part]


def _context() -> Any:
    # fork shares the prepared rules with the workers without pickling them (Linux); elsewhere
    # the platform default (spawn) pickles them, which works too.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


# ---------------------------------------------------------------------------------------------
# Evaluation engine (one per worker)


def _sigma_texts(event: dict[str, Any], name: str) -> list[str]:
    """Texts the reference compares for field ``name`` (``reference._field_getter``, ``_text``):
    the exact key, else the dotted path; lists flattened; null and objects skipped."""
    if name == ANY_FIELD:
        value: Any = list(_nested_values(event))
    else:
        value = event.get(name, None)
        if type(value) is str:  # the common case, without the walk below
            return [value]
    if value is None and name not in event and "." in name:
        node: Any = event
        for part in name.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        value = node
    out: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, str):
            out.append(item)
        elif isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, (int, float)):
            out.append(str(item))
    return out


def _nested_values(value: Any) -> Iterator[Any]:
    """Every value inside objects, recursively (lists are flattened by the callers)."""
    for item in value.values():
        if isinstance(item, dict):
            yield from _nested_values(item)
        elif isinstance(item, (list, tuple)):
            for element in item:
                if isinstance(element, dict):
                    yield from _nested_values(element)
                else:
                    yield element
        else:
            yield item


def _tree_texts(event: dict[str, Any], name: str) -> list[str]:
    """Texts the shared evaluator compares for field ``name`` (``lookup`` + ``scalar_text``;
    ``iter_strings`` of the whole event for keywords)."""
    from backends.query.matching import iter_strings, lookup, scalar_text

    if name == ANY_FIELD:
        return list(iter_strings(event))
    return [scalar_text(v) for v in lookup(event, name) or ()]


class _Index:
    """Candidates by required literal: slots whose condition holds on an event, plus the
    slots without a condition. A slot is any hashable (a rule index, a (rule, target) pair)."""

    def __init__(self, items: list[tuple[Any, Need | None]], texts: Callable) -> None:
        self.always: set[Any] = set()
        self.texts = texts
        # field -> fold -> literal -> slots
        self.fields: dict[str, dict[bool, dict[str, list[Any]]]] = {}
        for slot, need in items:
            if need is None or any("\x00" in alt[2] for alt in need):
                self.always.add(slot)
                continue
            for name, fold, literal in need:
                by_fold = self.fields.setdefault(name, {})
                by_fold.setdefault(fold, {}).setdefault(literal, []).append(slot)

    def candidates(self, event: dict[str, Any]) -> set[Any]:
        """Slots that must be evaluated on ``event`` (every other slot is false on it)."""
        out = set(self.always)
        for name, by_fold in self.fields.items():
            texts = self.texts(event, name)
            if not texts:
                continue
            # NUL never occurs in a literal (checked above), so one search over the joined
            # values is the same as a search in each.
            joined = "\x00".join(texts)
            for fold, literals in by_fold.items():
                haystack = joined.lower() if fold else joined
                for literal, slots in literals.items():
                    if literal in haystack:
                        out.update(slots)
        return out


class _Group:
    """The rules of one set of logsources, with their candidate indexes."""

    def __init__(self, engine: "_Engine", members: tuple[int, ...]) -> None:
        self.members = members
        self.reference = _Index([(i, engine.ref_needs[i]) for i in members], _sigma_texts)
        # schema -> (renderer, index over (rule, target) slots, slots by rule)
        self.schemas: dict[Any, tuple[Any, _Index, dict[int, list[str]]]] = {}
        for schema, renderer in engine.renderers.items():
            items, by_rule = [], {}
            for i in members:
                names = [t for t in engine.trees[i] if engine.schema_of[t] == schema]
                for t in names:
                    items.append(((i, t), engine.tree_needs[(i, t)]))
                if names:
                    by_rule[i] = names
            if items:
                self.schemas[schema] = (renderer, _Index(items, _tree_texts), by_rule)


class _Engine:
    """Every rule and query compiled once; evaluates batches of events into count deltas."""

    def __init__(self, prepared: list[_PreparedRule], options: dict[str, Any]) -> None:
        from backends.query.evaluate import compile_query

        checker = _checker(options)
        self.max_examples = options["max_examples"]
        prefilter = options["prefilter"]
        self.compiled: list[CompiledRule | None] = []
        self.compile_failed: dict[tuple[int, str], str] = {}
        self.trees: list[dict[str, Any]] = []  # rule -> target -> tree
        self.preds: dict[tuple[int, str], Any] = {}
        self.renderers: dict[Any, Any] = {}
        self.schema_of: dict[str, Any] = {}
        for name, renderer in checker.renderers.items():
            key = (renderer.table.name, renderer.data_source)
            self.renderers.setdefault(key, renderer)
            self.schema_of[name] = key
        ref_forms: list[Form | None] = []
        tree_forms: list[tuple[tuple[int, str], Form]] = []
        for i, item in enumerate(prepared):
            compiled = compile_rule(item.rule) if item.rule is not None else None
            self.compiled.append(compiled)
            ok = compiled is not None and compiled.unsupported is None
            ref_forms.append(_rule_form(item.rule) if ok and prefilter else None)
            trees = {}
            for name, target in item.targets.items():
                if target.tree is None:
                    continue
                try:
                    self.preds[(i, name)] = compile_query(target.tree)
                except Exception as exc:  # noqa: BLE001 - PatternSyntaxError and the like
                    reason = f"not checked: the evaluator cannot compile the query: {exc}"
                    self.compile_failed[(i, name)] = reason
                    continue
                trees[name] = target.tree
                if prefilter:
                    tree_forms.append(((i, name), _tree_form(target.tree)))
            self.trees.append(trees)
        self.ref_needs = _needs(ref_forms)
        tree_needs = _needs([f for _, f in tree_forms])
        self.tree_needs: dict[tuple[int, str], Need | None] = {
            (i, t): None for i, trees in enumerate(self.trees) for t in trees
        }
        self.tree_needs.update({slot: need for (slot, _), need in zip(tree_forms, tree_needs)})
        self.routes: dict[Any, _Group | None] = {}
        self.groups: dict[tuple[int, ...], _Group] = {}
        self.failed: set[tuple[int, str]] = set()

    def _group(self, event: dict[str, Any]) -> _Group | None:
        """The routing group of an event, decided once per (Channel, EventID)."""
        key = (event.get("Channel"), event.get("EventID"))
        try:
            return self.routes[key]
        except KeyError:
            pass
        except TypeError:  # an unhashable Channel/EventID: decide for this event alone
            return self._members_group(event)
        group = self._members_group(event)
        if len(self.routes) < ROUTE_MEMO:
            self.routes[key] = group
        return group

    def _members_group(self, event: dict[str, Any]) -> _Group | None:
        members = tuple(
            i for i, c in enumerate(self.compiled) if c is not None and c.in_logsource(event)
        )
        if not members:
            return None
        if members not in self.groups:
            self.groups[members] = _Group(self, members)
        return self.groups[members]

    def run(self, batch: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
        """Evaluate a batch; return ``{"events", "routed": {rule: n}, "ref": {rule: hits},
        "hits": {(rule, t): n}, "dis": {(rule, t): [count, examples]}, "failed": {...}}``."""
        delta: dict[str, Any] = {"events": len(batch), "routed": Counter(), "ref": Counter(),
                                 "hits": Counter(), "dis": {}, "failed": dict(self.compile_failed),
                                 "render_errors": {}}
        for source, event in batch:
            group = self._group(event)
            if group is not None:
                self._event(group, source, event, delta)
        return delta

    def _event(self, group: _Group, source: str, event: dict[str, Any], delta: dict) -> None:
        from backends.query.errors import QueryError
        from backends.query.evaluate import explain

        delta["routed"].update(group.members)
        matched: set[int] = set()
        for i in group.reference.candidates(event):
            compiled = self.compiled[i]
            if compiled is not None and compiled.unsupported is None and compiled.evaluate(event).matched:
                matched.add(i)
        delta["ref"].update(matched)
        for schema, (renderer, index, by_rule) in group.schemas.items():
            try:
                rendered = renderer.render(event)
                why = (f"the {renderer.table.schema} data has no such event: no logsource "
                       f"of mapping table {renderer.table.name} covers its EventID/Channel")
            except ValueError as exc:
                # A value the shipper could not write (e.g. an integrity level outside Elastic
                # Defend's vocabulary): no target of this schema sees the event.
                rendered, why = None, f"the event cannot be rendered for {renderer.table.name}: {exc}"
                entry = delta["render_errors"].setdefault(renderer.table.name, [0, source, str(exc)])
                entry[0] += 1
            if rendered is None:
                for i in matched & by_rule.keys():
                    for t in by_rule[i]:
                        self._disagree(delta, (i, t), source, True, False, why)
                continue
            candidates = index.candidates(rendered)
            for slot in candidates:
                if slot in self.failed:
                    continue
                try:
                    hit = self.preds[slot](rendered) is True
                except QueryError as exc:
                    self.failed.add(slot)
                    delta["failed"][slot] = f"not checked: evaluating event {source} failed: {exc}"
                    continue
                if hit:
                    delta["hits"][slot] += 1
                if hit != (slot[0] in matched) and self._reference_ok(slot[0]):
                    tree = self.trees[slot[0]][slot[1]]
                    self._disagree(delta, slot, source, not hit, hit, explain(tree, rendered))
            for i in matched & by_rule.keys():  # reference hits the prefilter ruled out
                for t in by_rule[i]:
                    if (i, t) not in candidates and (i, t) not in self.failed:
                        why = explain(self.trees[i][t], rendered)
                        self._disagree(delta, (i, t), source, True, False, why)

    def _reference_ok(self, i: int) -> bool:
        compiled = self.compiled[i]
        return compiled is not None and compiled.unsupported is None

    def _disagree(self, delta: dict, slot: tuple[int, str], source: str, ref: bool, hit: bool,
                  why: str) -> None:
        entry = delta["dis"].setdefault(slot, [0, []])
        entry[0] += 1
        if len(entry[1]) < self.max_examples:
            entry[1].append({"event": source, "reference": ref, "target": hit, "why": why})


def _rule_form(rule: Any) -> Form | None:
    """The Form of a rule's detection: its conditions are OR-ed (``reference._compile_detection``)."""
    try:
        return ("or", [_sigma_form(c.parsed) for c in rule.detection.parsed_condition])
    except Exception:  # noqa: BLE001 - a rule pySigma cannot parse here gets no prefilter
        return None


_WORKER: dict[str, _Engine] = {}


def _init_worker(prepared: list[_PreparedRule], options: dict[str, Any]) -> None:
    """Pool initializer: compile every rule and query once in this worker."""
    _WORKER["engine"] = _Engine(prepared, options)


def _run_batch(batch: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    return _WORKER["engine"].run(batch)


# ---------------------------------------------------------------------------------------------
# Driver


def _batches(
    events_paths: Iterable[str | Path], input_format: str | None
) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Stream (source, normalised event) pairs in batches (``converter.inputs``).

    Raises:
        InputError: unreadable input, or a record that has no Sigma representation.
    """
    from .inputs import InputError, iter_raw
    from .normalise import normalise_owned

    batch: list[tuple[str, dict[str, Any]]] = []
    for path in events_paths:
        for source, raw in iter_raw(path, input_format):
            try:
                # The reader's dicts are ours: normalise in place, saving a copy per event.
                batch.append((source, normalise_owned(raw)))
            except ValueError as exc:
                raise InputError(f"cannot normalise event: {exc}", path=source) from exc
            if len(batch) >= BATCH_SIZE:
                yield batch
                batch = []
    if batch:
        yield batch


class _Merger:
    """Accumulates worker deltas into per-rule tallies."""

    def __init__(self, prepared: list[_PreparedRule], max_examples: int) -> None:
        self.events = 0
        self.max_examples = max_examples
        self.routed: Counter = Counter()
        self.ref: Counter = Counter()
        self.hits: Counter = Counter()
        self.dis: dict[tuple[int, str], list[Any]] = {}
        self.failed: dict[tuple[int, str], str] = {}
        self.render_errors: dict[str, list[Any]] = {}

    def add(self, delta: dict[str, Any]) -> None:
        self.events += delta["events"]
        self.routed.update(delta["routed"])
        self.ref.update(delta["ref"])
        self.hits.update(delta["hits"])
        for table, (count, source, message) in delta["render_errors"].items():
            entry = self.render_errors.setdefault(table, [0, source, message])
            entry[0] += count
        for slot, reason in delta["failed"].items():
            self.failed.setdefault(slot, reason)
        for slot, (count, examples) in delta["dis"].items():
            entry = self.dis.setdefault(slot, [0, []])
            entry[0] += count
            entry[1].extend(examples[: self.max_examples - len(entry[1])])


def _tallies(prepared: list[_PreparedRule], merged: _Merger) -> list[RuleTally]:
    """Per-rule results with ``Checker``'s verdict rules applied to the merged counts."""
    out = []
    for i, item in enumerate(prepared):
        tally = RuleTally(item.id, item.title, item.path, merged.routed[i], error=item.error)
        out.append(tally)
        if item.error is not None:
            tally.reference_hits = None
            continue
        tally.reference_unsupported = item.unsupported
        tally.reference_hits = None if item.unsupported else merged.ref[i]
        for name, target in item.targets.items():
            t = TargetTally(target.query, merged.hits[(i, name)], reason=target.reason,
                            warnings=target.warnings)
            tally.targets[name] = t
            count, examples = merged.dis.get((i, name), (0, []))
            if target.tree is None or target.reason:
                t.equivalent = False if target.parse_failed else None
            elif (i, name) in merged.failed:
                t.reason, t.disagreements, t.hits = merged.failed[(i, name)], 0, 0
            elif item.unsupported:
                t.reason = f"not checked: the reference cannot evaluate the rule: {item.unsupported}"
            elif count:
                t.equivalent, t.disagreements, t.examples = False, count, examples
                t.reason = f"{count} of {tally.events} events disagree"
            elif not tally.events:
                t.reason = "not checked: no event of the rule's logsource in the input"
            elif target.warnings:
                t.reason = ("not proven: the emitter declared its output approximate ("
                            + "; ".join(target.warnings) + "), and no event here shows the difference")
            else:
                t.equivalent = True
    return out


def run_backtest(
    rule_paths: Iterable[str | Path],
    events_paths: Iterable[str | Path],
    targets: list[str] | None = None,
    data_source: str | None = None,
    input_format: str | None = None,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
    *,
    pipelines: list[str] | None = None,
    field_model: Any = None,
    max_examples: int = MAX_EXAMPLES,
    prefilter: bool = True,
) -> BacktestReport:
    """Backtest rules on a stream of events for every target.

    Args:
        rule_paths: rule files or directories.
        events_paths: events files, directories or archives (anything ``converter.inputs`` reads).
        targets: target names (default: every target with an interpreter).
        data_source: the Elastic data source (``defend``, ``windows``, ``winlogbeat``).
        input_format: force the input format instead of detecting it.
        workers: processes evaluating events (1: everything in this process).
        progress: called with the number of events done so far after each batch.
        pipelines: extra pipelines, as for ``convert``.
        field_model: a ``FieldModel`` replacing the built-in one.
        max_examples: disagreement examples kept per rule and target.
        prefilter: skip evaluations a required literal rules out (never changes a count).

    Returns:
        The ``BacktestReport``.

    Raises:
        RuleLoadError: a rule path does not exist.
        UnknownTargetError, PipelineError: a bad target or pipeline (before any work).
        converter.inputs.InputError: an events input cannot be read.
    """
    started = time.perf_counter()
    options = {"targets": targets, "pipelines": pipelines, "data_source": data_source,
               "field_model": field_model, "max_examples": max_examples, "prefilter": prefilter}
    target_names = _checker(options).targets  # validates targets and pipelines up front
    options["targets"] = target_names
    prepared = _prepare([str(p) for p in rule_paths], options, workers)
    prepare_s = time.perf_counter() - started
    merged = _Merger(prepared, max_examples)
    batches = _batches(list(events_paths), input_format)
    if workers <= 1:
        engine = _Engine(prepared, options)
        for batch in batches:
            merged.add(engine.run(batch))
            if progress is not None:
                progress(merged.events)
    else:
        with _context().Pool(workers, _init_worker, (prepared, options)) as pool:
            pending: deque = deque()
            for batch in batches:
                pending.append(pool.apply_async(_run_batch, (batch,)))
                # Bounded in-flight work: the reader never runs ahead of the workers.
                while len(pending) > 2 * workers:
                    _collect(pending.popleft(), merged, progress)
            while pending:
                _collect(pending.popleft(), merged, progress)
    render_errors = {table: {"events": count, "first": source, "error": message}
                     for table, (count, source, message) in merged.render_errors.items()}
    return BacktestReport(merged.events, _tallies(prepared, merged), target_names,
                          time.perf_counter() - started, max(1, workers), prepare_s,
                          render_errors)


def _collect(result: Any, merged: _Merger, progress: Callable[[int], None] | None) -> None:
    merged.add(result.get())
    if progress is not None:
        progress(merged.events)


def print_report(report: BacktestReport, console: Any = None) -> None:
    """Print a backtest as rich tables: the rules with hits or disagreements, then totals."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"Backtest: {report.events:,} events, {len(report.rules)} rules")
    for column in ("rule", "events", "reference", *report.targets):
        table.add_column(column, overflow="fold")
    for rule in report.rules:
        busy = rule.reference_hits or any(t.hits or t.disagreements for t in rule.targets.values())
        if not busy and rule.error is None:
            continue
        cells = [escape(rule.title or rule.path), str(rule.events),
                 "[red]error[/]" if rule.error else str(rule.reference_hits)]
        for name in report.targets:
            t = rule.targets.get(name)
            if t is None:
                cells.append("-")
            elif t.disagreements:
                cells.append(f"[red]{t.hits} ({t.disagreements} differ)[/]")
            else:
                cells.append(str(t.hits) if t.equivalent is not None else f"[yellow]{t.hits}?[/]")
        table.add_row(*cells)
    console.print(table)
    for rule in report.rules:
        for name, t in rule.targets.items():
            for example in t.examples:
                console.print(f"  [red]{name}[/] {escape(rule.title)} @ {escape(example['event'])}: "
                              f"reference {example['reference']}, {name} {example['target']}: "
                              f"{escape(example['why'])}")
    totals = Table(title="Per target")
    for column in ("target", "equivalent", "differs", "not checked", "hits", "disagreements"):
        totals.add_column(column)
    for name, t in report.summary().items():
        totals.add_row(name, *(str(t[k]) for k in ("equivalent", "differs", "not_checked", "hits",
                                                    "disagreements")))
    console.print(totals)
    for table_name, info in report.render_errors.items():
        console.print(f"[yellow]{info['events']} events not renderable for {table_name}[/] "
                      f"(first {escape(info['first'])}: {escape(info['error'])})")
    console.print(f"{report.events:,} events in {report.elapsed_s:.1f} s "
                  f"({report.prepare_s:.1f} s preparing rules), {report.events_per_s:,.0f} events/s")
