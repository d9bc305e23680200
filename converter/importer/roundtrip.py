"""Round-trip proof for ``sigport import elastic``: original query, imported Sigma rule, and the
EQL and KQL sigport converts that rule to must match the same events.

Events come from two places:

* built here from the imported rule's tree in Sigma field space (``tree_events``): for every OR
  branch an event meant to match, events meant to fail, and per-field mutations of the matching
  events (field removed, letter case swapped, a near-miss value), so case rules, wildcards,
  missing fields and negations are all exercised. For a taxonomy rule these are Sigma events
  (the record of the rule's logsource: Sysmon event 1 for Windows process creation,
  ``Linux-Sysmon/Operational`` event 1 for Linux, ...) rendered to ECS with the ``ecs-windows``
  table and the tables extending it, plus one rendered as event 5 (for process creation a process
  END, outside the logsource); for an ECS-named rule the events are ECS events themselves, so rules
  whose fields have no taxonomy name are exercised too;
* ``converter.generate.generator.generate_events(rule, seed=0)`` when that module is installed.

On every event the verdicts of (1) the ORIGINAL query text parsed by sigport's interpreter, (2) the
Sigma reference evaluator on the Sigma event, (3) sigport's EQL and (4) sigport's KQL of the
imported rule must agree. A target whose emitter refused the rule or declared an approximation
(e.g. KQL cannot match ``process.args`` case-insensitively) is "not proven" and left out of the
agreement; the reference and EQL are always required, since they define "same meaning". A
field's ``ignore_above`` limit is no such approximation: the original query has it too, so the
events decide it (every Elasticsearch query is interpreted with the Elastic Defend field model).
"""

from __future__ import annotations

import copy
import ipaddress
import random
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sigma.processing.pipeline import ProcessingPipeline
from sigma.rule import SigmaRule

from backends import TARGETS
from backends.common import is_limit_warning
from backends.query import ast
from backends.query.errors import QueryError
from backends.query.evaluate import compile_query
from backends.query.fields import FieldModel

from converter.conversion.convert import CONVERTED, Converter, get_target, target_traits
from converter.events.render import EventRenderer
from converter.mapping.loader import load_table
from converter.reference.evaluator import compile_rule
from converter.rules.load import LoadedRule
from converter.mapping.pipeline import PASSTHROUGH, passthrough_pipeline

#: Targets whose emitted query is interpreted in the proof.
ROUND_TRIP_TARGETS = ("eql", "kql")
#: Targets that must be proven for "verified" (EQL has exact operators for every Sigma item the
#: importer writes; KQL lacks regexes and case-insensitive matching on fields without .caseless).
REQUIRED_TARGETS = ("eql",)
#: The Sysmon process-creation record that a taxonomy process_creation event is rendered as.
SYSMON = "Microsoft-Windows-Sysmon/Operational"
#: Upper bound of events per rule (a rule with thousands of OR values still checks quickly).
MAX_EVENTS = 400


def ecs_passthrough_pipeline(target: str, data_source: str = "defend") -> ProcessingPipeline:
    """The built-in ``ecs`` pipeline for ``target`` (rules that keep ECS field names)."""
    return passthrough_pipeline(target_traits(get_target(target)), data_source)


class PassthroughConverter(Converter):
    """A ``Converter`` over the built-in ``ecs`` pipeline (``-p ecs``)."""

    def __init__(self, target: str) -> None:
        """Build the target's backend over the pass-through pipeline."""
        super().__init__(target, pipelines=[PASSTHROUGH])


@lru_cache(maxsize=None)
def _converter(target: str, taxonomy: bool) -> Converter:
    return Converter(target) if taxonomy else PassthroughConverter(target)


@lru_cache(maxsize=None)
def _renderer() -> EventRenderer:
    """The renderer of the importer's table and of the tables extending it (Linux, macOS, ...)."""
    from converter.importer.taxonomy import TABLE

    return EventRenderer.routed(load_table(TABLE))


def _record(rule: Any) -> tuple[EventRenderer, dict[str, Any]]:
    """The renderer (of the table that covers a taxonomy rule's logsource) and the Sigma-side
    record kind (``Channel``, ``EventID``) of that logsource: the first ``events`` entry of the
    table entry (Sysmon event 1 for Windows process creation, ``Linux-Sysmon/Operational``
    event 1 for Linux, ...)."""
    logsource = rule.logsource
    routed = _renderer().route(logsource.product, logsource.category, logsource.service)
    if routed is None or not routed[1].events:
        return _renderer(), {"EventID": 1, "Channel": SYSMON}
    return routed[0], dict(routed[1].events[0])


# --- event generation -----------------------------------------------------------------------------


def _swapcase(text: str, rng: random.Random) -> str:
    return "".join(c.swapcase() if rng.random() < 0.5 else c for c in text)


def _positive(leaf: ast.Leaf, rng: random.Random) -> Any:
    """A value meant to satisfy ``leaf`` (the caller checks; a miss only weakens a test)."""
    if isinstance(leaf, ast.Equals):
        value = leaf.value
        if isinstance(value, str) and not (leaf.case_sensitive and not leaf.lowercase_value):
            return _swapcase(value, rng)
        return value
    if isinstance(leaf, ast.Glob):
        out = []
        for part in leaf.parts:
            if part is ast.Wildcard.ANY:
                out.append(rng.choice(["", "x", "Ab\\c ", "*"]))
            elif part is ast.Wildcard.ONE:
                out.append(rng.choice(["k", "7", "?"]))
            else:
                out.append(part)
        text = "".join(out)
        return text if leaf.case_sensitive and not leaf.lowercase_value else _swapcase(text, rng)
    if isinstance(leaf, ast.Exists):
        return rng.choice(["present", ""])
    if isinstance(leaf, ast.Cidr):
        network = ipaddress.ip_network(leaf.network, strict=False)
        return str(network.network_address + (1 if network.num_addresses > 1 else 0))
    if isinstance(leaf, ast.Compare):
        delta = {ast.CompareOp.GT: 1, ast.CompareOp.LT: -1}.get(leaf.op, 0)
        return leaf.value + delta if isinstance(leaf.value, (int, float)) else leaf.value
    if isinstance(leaf, ast.Regex):
        return _regex_example(leaf.pattern, leaf.case_sensitive)
    return "value"


@lru_cache(maxsize=4096)
def _regex_example(pattern: str, case_sensitive: bool) -> str:
    """A one-line string the Lucene pattern matches, else ``""`` (the event is still compared).

    Found by the event generator's regex walker (``converter.generate.regex``) with a fixed
    seed, so an import gives the same events on every run and every install.
    """
    from converter.generate.regex import RegexUnsupported, regex_example
    from converter.importer.regex import LuceneRegexError, lucene_to_pcre

    try:
        pcre, _ = lucene_to_pcre(pattern, case_sensitive)
        text = regex_example(pcre, 0, random.Random(0))
    except (LuceneRegexError, RegexUnsupported):
        return ""
    return text if "\n" not in text else ""


def _negatives(leaf: ast.Leaf, good: Any) -> list[Any]:
    """Candidate values meant to fail ``leaf``."""
    if isinstance(good, bool):
        return [not good]
    if isinstance(good, (int, float)):
        return [good + 1, good - 1, good + 1000]
    text = str(good)
    mid = len(text) // 2
    near = text[:mid] + ("q" if text[mid:mid + 1] != "q" else "z") + text[mid + 1:] if text else "z"
    return [near, "zz" + text[:-1], "", "unrelated", "203.0.113.9"]


def _satisfy(node: ast.Node, want: bool, event: dict[str, Any], rng: random.Random) -> None:
    """Write fields into ``event`` aiming to make ``node`` evaluate to ``want``."""
    if isinstance(node, ast.Not):
        _satisfy(node.child, not want, event, rng)
    elif isinstance(node, (ast.And, ast.Or)):
        all_children = (isinstance(node, ast.And)) == want
        if all_children:
            for child in node.children:
                _satisfy(child, want, event, rng)
        else:
            _satisfy(rng.choice(node.children), want, event, rng)
    elif isinstance(node, ast.Leaf):
        if node.field in event:
            return  # first writer wins; the verdicts are compared whatever the outcome
        if want:
            event[node.field] = _positive(node, rng)
            return
        if isinstance(node, ast.Exists) or rng.random() < 0.3:
            return  # a missing field fails every value test
        test = compile_query(node)
        for candidate in _negatives(node, _positive(node, rng)):
            if not test({node.field: candidate}):
                event[node.field] = candidate
                return


def tree_events(tree: ast.Node, seed: int = 0, per_kind: int = 12) -> list[dict[str, Any]]:
    """Events in the tree's field space: matching attempts, failing attempts and mutations."""
    rng = random.Random(seed)
    positives: list[dict[str, Any]] = []
    negatives: list[dict[str, Any]] = []
    width = max(_max_or_width(tree), 1)
    for _ in range(min(per_kind + width, 40)):
        event: dict[str, Any] = {}
        _satisfy(tree, True, event, rng)
        if event not in positives:
            positives.append(event)
    for _ in range(per_kind):
        event = {}
        _satisfy(tree, False, event, rng)
        if event not in negatives:
            negatives.append(event)
    mutated: list[dict[str, Any]] = []
    for event in positives[:8]:
        for name, value in event.items():
            removed = {k: v for k, v in event.items() if k != name}
            mutated.append(removed)
            if isinstance(value, str):
                if value.swapcase() != value:
                    mutated.append({**event, name: value.swapcase()})
                for candidate in _negatives(ast.Exists(field=name), value)[:2]:
                    mutated.append({**event, name: candidate})
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                mutated.append({**event, name: value + 1})
                mutated.append({**event, name: str(value)})
    out: list[dict[str, Any]] = []
    for event in positives + negatives + mutated:
        if event not in out:
            out.append(event)
    return out[:MAX_EVENTS]


def _max_or_width(node: ast.Node) -> int:
    if isinstance(node, (ast.And, ast.Or)):
        own = len(node.children) if isinstance(node, ast.Or) else 0
        return max([own, *(_max_or_width(c) for c in node.children)])
    if isinstance(node, ast.Not):
        return _max_or_width(node.child)
    return 0


def _generated(loaded: LoadedRule) -> list[dict[str, Any]]:
    """Sigma events from ``converter.generate.generator`` when that module exists (another helper's)."""
    try:
        from converter.generate.generator import generate_events  # type: ignore[import-not-found]
    except ImportError:
        return []
    if not isinstance(loaded.rule, SigmaRule):  # the generator reads a detection rule
        return []
    try:
        events = generate_events(loaded.rule, seed=0)
    except Exception:  # its failures must not hide the rest of the proof
        return []
    out = []
    for event in events or []:
        fields_ = getattr(event, "fields", event)
        if isinstance(fields_, dict):
            out.append(dict(fields_))
    return out


# --- the proof ------------------------------------------------------------------------------------


@dataclass
class RoundTrip:
    """The outcome of one rule's round trip.

    Attributes:
        verified: every required verdict agreed on every event.
        reason: why not (None when verified), or a note on targets not proven.
        queries: the queries sigport emitted per target (None where refused).
        events: how many events were compared.
    """

    verified: bool
    reason: str | None
    queries: dict[str, str | None] = field(default_factory=dict)
    events: int = 0


def _short(event: dict[str, Any]) -> str:
    text = ", ".join(f"{k}={v!r}" for k, v in event.items() if k not in {"Channel"})
    return text if len(text) < 300 else text[:297] + "..."


def round_trip(
    original: ast.Node, loaded: LoadedRule, sigma_tree: ast.Node, taxonomy: bool
) -> RoundTrip:
    """Compare original query, Sigma reference and sigport's EQL/KQL on generated events.

    Args:
        original: the original query's tree (ECS fields), from sigport's interpreter.
        loaded: the imported Sigma rule, loaded from the written YAML text.
        sigma_tree: the imported rule's tree in its own field space (taxonomy or ECS names).
        taxonomy: the rule uses Sigma taxonomy fields (events are rendered to ECS).
    """
    if loaded.rule is None:
        return RoundTrip(False, loaded.error.one_line() if loaded.error else "rule did not load")
    reference = compile_rule(loaded.rule)
    if reference.unsupported and taxonomy:
        return RoundTrip(False, f"the reference evaluator cannot evaluate it: {reference.unsupported}")
    if not taxonomy and reference.detection_matches({}) is None:
        return RoundTrip(False, f"the reference evaluator cannot evaluate it: {reference.unsupported}")
    model = FieldModel.builtin("defend")
    queries: dict[str, str | None] = {}
    predicates = {}
    not_proven: list[str] = []
    for target in ROUND_TRIP_TARGETS:
        conv = _converter(target, taxonomy).convert(copy.deepcopy(loaded))
        if conv.status != CONVERTED or len(conv.queries) != 1:
            queries[target] = None
            reason = conv.reason or "several queries"
            if target in REQUIRED_TARGETS:
                return RoundTrip(False, f"sigport {target} cannot convert it: {reason}", queries)
            not_proven.append(f"{target}: {reason}")
            continue
        text = conv.queries[0]
        queries[target] = text
        spec = TARGETS[target]
        parse = spec.parse_function()
        if parse is None:  # every round-trip target has an interpreter today
            return RoundTrip(False, f"sigport has no {target} interpreter", queries)
        try:
            tree = parse(text, fields=model) if spec.field_model else parse(text)
        except QueryError as exc:
            # sigport's emitter and interpreter disagree on the syntax: a sigport bug, reported.
            problem = f"sigport's {target} query is rejected by its {target} interpreter: " + (
                str(exc).splitlines()[0]
            )
            if target in REQUIRED_TARGETS:
                return RoundTrip(False, problem, queries)
            not_proven.append(problem)
            continue
        # A length-limit warning is no approximation of the original query, which runs on the
        # same fields with the same limits: the events decide it (both interpreters apply it).
        approximate = [w for w in conv.warnings if not is_limit_warning(w)]
        if approximate:
            if target in REQUIRED_TARGETS:
                return RoundTrip(False, f"sigport {target} approximates it: {approximate[0]}", queries)
            not_proven.append(f"{target}: {approximate[0]}")
            continue
        predicates[target] = compile_query(tree)
    original_test = compile_query(original)
    pairs = _event_pairs(loaded, sigma_tree, taxonomy)
    for sigma_event, ecs_event in pairs:
        verdicts = {"original": bool(original_test(ecs_event))}
        if taxonomy:
            verdicts["sigma"] = reference.evaluate(sigma_event).matched is True
        else:
            verdicts["sigma"] = reference.detection_matches(sigma_event) is True
        for target, predicate in predicates.items():
            verdicts[target] = bool(predicate(ecs_event))
        if len(set(verdicts.values())) > 1:
            shown = ", ".join(f"{k}={v}" for k, v in verdicts.items())
            return RoundTrip(
                False, f"round trip differs ({shown}) on event {{{_short(sigma_event)}}}", queries,
                len(pairs),
            )
    note = ("not proven for " + "; ".join(not_proven)) if not_proven else None
    return RoundTrip(True, note, queries, len(pairs))


def _event_pairs(
    loaded: LoadedRule, sigma_tree: ast.Node, taxonomy: bool
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(Sigma-side event, ECS event) pairs to compare on."""
    raw = tree_events(sigma_tree) + _generated(loaded)
    pairs = []
    if not taxonomy:
        return [(e, e) for e in raw]
    renderer, record = _record(loaded.rule)
    seen: list[dict[str, Any]] = []
    for fields_ in raw:
        sigma_event = {**record, **fields_}
        candidates = [sigma_event]
        if not seen:
            candidates.append({**sigma_event, "EventID": 5})  # a process END: outside the logsource
        for candidate in candidates:
            if candidate in seen:
                continue
            seen.append(candidate)
            rendered = renderer.render(candidate)
            if rendered is not None:
                pairs.append((candidate, rendered))
    return pairs
