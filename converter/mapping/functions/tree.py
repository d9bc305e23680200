"""The building blocks the value functions' query sides share (``converter/mapping/functions/registry.py``).

A query side rewrites one pySigma detection item into tests on target fields. It builds a tiny
positive boolean tree (``Leaf`` leaves, ``Group`` AND/OR nodes, ``Const`` outcomes), simplified
while it is built (flattening, constant folding, duplicates dropped), then ``emit`` turns the tree
into pySigma detection items and nested detections. The only negations are pySigma's own negated
detection items (the ``neq`` modifier), obtained by pushing an item's negation down to its leaves
(De Morgan). A constant outcome is written as ``exists`` tests on one target field (``f exists and
f not exists`` is false, ``or`` true), which every backend renders soundly: an existence test is
never three-valued and needs no impossible value.

Where a test cannot be exact, a value handler raises ``NotExact``; ``guarded`` turns it into
``SigmaTransformationError`` naming the field, the function and the reason.

The second half reads Sigma values: strings as token lists (characters and wildcards), Sigma's
own glob and regex semantics on one string (``sigma_value_matches``), for functions that decide
a test on a closed vocabulary by evaluating it on every value the source can write.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sigma.conditions import ConditionAND, ConditionOR
from sigma.exceptions import SigmaTransformationError
from sigma.rule import SigmaDetection, SigmaDetectionItem
from sigma.types import (
    CompareOperators,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
    SigmaType,
    SpecialChars,
)

from converter.mapping.table import FieldTarget
from converter.reference.fields import fold

MANY, ONE = SpecialChars.WILDCARD_MULTI, SpecialChars.WILDCARD_SINGLE
Token = str | SpecialChars  # one character or one wildcard
QueryResult = SigmaDetectionItem | SigmaDetection
QueryFunction = Callable[[SigmaDetectionItem, FieldTarget, str], QueryResult]

# ---------------------------------------------------------------------------------------------
# A tiny positive boolean tree, simplified before it becomes pySigma detections


@dataclass(frozen=True)
class Leaf:
    """One value test on one target field (becomes a one-value detection item)."""

    field: str
    value: SigmaType
    negated: bool = False


@dataclass(frozen=True)
class Group:
    """AND (``conjunction``) or OR of child nodes."""

    conjunction: bool
    children: tuple[Any, ...]


@dataclass(frozen=True)
class Const:
    """A constant outcome (a value that can never, or always, match)."""

    value: bool


Node = Leaf | Group | Const
TRUE, FALSE = Const(True), Const(False)


def junction(conjunction: bool, children: list[Node]) -> Node:
    """AND/OR with flattening and constant folding (the neutral constant vanishes)."""
    out: list[Node] = []
    seen: set[str] = set()  # reprs of `out`, kept as it grows (rebuilding it was quadratic)
    for child in children:
        if isinstance(child, Const):
            if child.value is not conjunction:  # FALSE in an AND, TRUE in an OR
                return child
            continue
        grandchildren = (
            child.children
            if isinstance(child, Group) and child.conjunction is conjunction
            else (child,)
        )
        for c in grandchildren:  # drop duplicates (repr: pySigma values refuse mixed-type ==)
            key = repr(c)
            if key not in seen:
                seen.add(key)
                out.append(c)
    if not out:
        return Const(conjunction)
    return out[0] if len(out) == 1 else Group(conjunction, tuple(out))


def and_(*children: Node) -> Node:
    """AND of the children, simplified."""
    return junction(True, list(children))


def or_(*children: Node) -> Node:
    """OR of the children, simplified."""
    return junction(False, list(children))


def negate(node: Node) -> Node:
    """Push a negation down to the leaves (De Morgan), where pySigma can express it."""
    if isinstance(node, Const):
        return Const(not node.value)
    if isinstance(node, Leaf):
        if isinstance(node.value, SigmaExists):  # keep existence tests un-negated: flip them
            return Leaf(node.field, SigmaExists(not node.value.exists))
        return Leaf(node.field, node.value, not node.negated)
    return junction(not node.conjunction, [negate(c) for c in node.children])


class NotExact(Exception):
    """Raised by a value handler; turned into SigmaTransformationError with the item's source."""


def emit(node: Node, item: SigmaDetectionItem, fallback: str) -> QueryResult:
    """Turn a simplified tree into pySigma detection items / nested detections."""
    if isinstance(node, Const):
        # f exists AND f not exists: false under every backend's semantics (and OR: true).
        node = Group(
            not node.value,
            (Leaf(fallback, SigmaExists(True)), Leaf(fallback, SigmaExists(False))),
        )
    if isinstance(node, Leaf):
        return SigmaDetectionItem(
            node.field, [], [node.value], negated=node.negated, source=item.source
        )
    # Merge sibling plain tests of one field into one multi-value item (field in (a, b);
    # cidrMatch(field, a, b) for CIDR blocks).
    merged: dict[str, list[SigmaType]] = {}
    rest: list[Node] = []
    for child in node.children:
        if (
            isinstance(child, Leaf)
            and not child.negated
            and isinstance(child.value, (SigmaString, SigmaNumber, SigmaCIDRExpression))
        ):
            merged.setdefault(child.field, []).append(child.value)
        else:
            rest.append(child)
    linking = ConditionAND if node.conjunction else ConditionOR
    parts: list[QueryResult] = [
        SigmaDetectionItem(name, [], values, value_linking=linking, source=item.source)
        for name, values in merged.items()
    ]
    parts += [emit(child, item, fallback) for child in rest]
    if len(parts) == 1:
        return parts[0]
    return SigmaDetection(parts, source=item.source, item_linking=linking)


def rewrite(
    item: SigmaDetectionItem, spec: FieldTarget, prefix: str, handler: Callable[[SigmaType], Node]
) -> QueryResult:
    """Apply ``handler`` to every value, link the results as the item does, emit detections."""
    values = item.value or [SigmaNull()]  # pySigma: an item without values is a null test

    def expand(value: SigmaType) -> Node:
        if isinstance(value, SigmaExpansion):  # windash/base64offset variants are always OR-ed
            return or_(*[expand(v) for v in value.values])
        if isinstance(value, SigmaFieldReference):
            raise NotExact(
                f"field reference to {value.field!r}: the referenced field is not mapped through "
                f"the same function, so the two targets cannot be compared"
            )
        return handler(value)

    nodes = guarded(item, spec, prefix, lambda: [expand(v) for v in values])
    node = and_(*nodes) if item.value_linking is ConditionAND else or_(*nodes)
    if item.negated:
        node = negate(node)
    return emit(node, item, prefix + spec.targets[0])


def guarded(
    item: SigmaDetectionItem, spec: FieldTarget, prefix: str, work: Callable[[], Any]
) -> Any:
    """Run ``work``; a ``NotExact`` becomes a SigmaTransformationError naming field and reason."""
    try:
        return work()
    except NotExact as reason:
        targets = ", ".join(prefix + t for t in spec.targets)
        raise SigmaTransformationError(
            f"{spec.sigma} is mapped by function {spec.function} to {targets}; no exact query "
            f"exists: {reason}",
            source=item.source,
        ) from None


# ---------------------------------------------------------------------------------------------
# Sigma strings as token lists


def to_tokens(value: SigmaString) -> list[Token]:
    """The characters and wildcards of a Sigma string; placeholders cannot be inspected."""
    out: list[Token] = []
    for part in value.s:
        if isinstance(part, str):
            out.extend(part)
        elif isinstance(part, SpecialChars):
            out.append(part)
        else:
            raise NotExact("placeholders must be resolved before a value function applies")
    return out


def make_string(tokens: list[Token], cased: bool = False) -> SigmaString:
    """Build a Sigma string from tokens (``original`` escaped so it re-parses to the same).

    ``cased`` for values the shipper stores in one case (lowercased digests, Defend's integrity
    level names, ``value_map`` targets): the caller passes the tokens in that case, so a
    case-sensitive match is exact, and targets that match case-sensitively anyway (KQL, Lucene
    keyword fields) need no approximation.
    """
    out: SigmaString = SigmaCasedString() if cased else SigmaString()
    parts: list[Any] = []
    for token in tokens:
        if isinstance(token, str) and parts and isinstance(parts[-1], str):
            parts[-1] += token
        else:
            parts.append(token)
    out.s = parts
    out.original = "".join(
        ("\\" + t if t in "*?\\" else t) if isinstance(t, str) else ("*" if t is MANY else "?")
        for t in tokens
    )
    return out


def glob_matches(tokens: list[Token], text: str, cased: bool) -> bool:
    """Whole-value Sigma glob match (``*`` any run, ``?`` one character); folded unless cased.

    Unless ``cased``, both sides are folded as the reference folds them
    (``converter.reference.fields.fold``, "string_case": simple lowercase per code point, so
    ``İ`` matches ``i``), not with ``str.lower``, which lowers ``İ`` to two characters: a
    vocabulary decision must answer as the reference does on the same text.

    A greedy two-pointer match with backtracking to the last ``*`` (no regex: the pipeline asks
    this for every value of a rule on a few short texts, and compiling a pattern each time cost
    more than the whole conversion)."""
    if not cased:
        text = fold(text)
    # Every character of the pattern's text and every ``?`` takes one character of the text
    # (``*`` takes any run): a pattern needing more than the text has never matches. Decided
    # first, as the texts asked about are mostly short (a shipper's deleted values: "", "-").
    need = 0
    for t in tokens:
        if isinstance(t, str):
            need += len(t)  # fold keeps the length
        elif t is ONE:
            need += 1
    if need > len(text):
        return False
    pattern: list[Token] = []
    for t in tokens:
        if isinstance(t, str):
            pattern.extend(t if cased else fold(t))
        else:
            pattern.append(t)
    i = j = 0
    star, mark = -1, 0
    while j < len(text):
        if i < len(pattern) and pattern[i] is not MANY and (pattern[i] is ONE or pattern[i] == text[j]):
            i, j = i + 1, j + 1
        elif i < len(pattern) and pattern[i] is MANY:
            star, mark, i = i, j, i + 1
        elif star != -1:
            mark += 1
            i, j = star + 1, mark
        else:
            return False
    while i < len(pattern) and pattern[i] is MANY:
        i += 1
    return i == len(pattern)


def regex_text(value: SigmaRegularExpression) -> str:
    """The pattern text: pySigma keeps regex ``*``/``?`` as wildcard parts of a SigmaString."""
    return "".join(
        p if isinstance(p, str) else ("*" if p is MANY else "?") for p in to_tokens(value.regexp)
    )


# Sigma's comparisons (gt/gte/lt/lte) read a decimal string as a number, as the reference does.
_COMPARE: dict[Any, Callable[[float, float], bool]] = {
    CompareOperators.LT: lambda a, b: a < b,
    CompareOperators.LTE: lambda a, b: a <= b,
    CompareOperators.GT: lambda a, b: a > b,
    CompareOperators.GTE: lambda a, b: a >= b,
}


def _number_of(text: str) -> int | float | None:
    for parse in (int, float):
        try:
            return parse(text.strip())
        except ValueError:
            continue
    return None


def sigma_value_matches(value: SigmaType, text: str) -> bool:
    """Sigma's test of one value on one present string value (the reference's semantics).

    Used to decide a test on every value of a closed vocabulary (integrity levels, ``value_map``
    tables) and on the values a shipper deletes (``drop_values``).

    Raises:
        NotExact: a regex Python cannot compile, a field reference or a placeholder: no verdict.
    """
    if isinstance(value, SigmaExpansion):
        return any(sigma_value_matches(v, text) for v in value.values)
    if isinstance(value, SigmaString):
        return glob_matches(to_tokens(value), text, isinstance(value, SigmaCasedString))
    if isinstance(value, SigmaRegularExpression):
        # The reference's engine: its reading of the pattern (PCRE's ASCII shorthand classes)
        # and its time limit. A plain re.search backtracked without end on a hostile pattern
        # ('^(?:(\{?0?0?|0{0,3}-?)+)+x' on a deleted zero GUID): conversion hung.
        from converter.reference.values import Undecided, Unsupported, compiled_regex

        flags = 0
        for flag in value.flags:
            flags |= SigmaRegularExpression.sigma_to_python_flags[flag]
        try:
            return compiled_regex(regex_text(value), flags).search(text)
        except Unsupported as exc:
            raise NotExact(f"the regular expression cannot be evaluated here ({exc})") from None
        except Undecided as exc:
            raise NotExact(f"the regular expression cannot be decided on {text!r} ({exc})") from None
    if isinstance(value, SigmaNumber):
        return text.lower() == str(value.number).lower()
    if isinstance(value, SigmaBool):
        return text.lower() == str(value.boolean).lower()
    if isinstance(value, SigmaCompareExpression):
        number = _number_of(text)
        op = _COMPARE.get(value.op)
        return number is not None and op is not None and op(number, value.number.number)
    if isinstance(value, SigmaCIDRExpression):
        try:
            address = ipaddress.ip_address(text.strip())
        except ValueError:
            return False
        network = value.network
        return address.version == network.version and address in network
    raise NotExact(f"{describe(value)} has no verdict on a single value")


def item_verdict(item: SigmaDetectionItem, value: str | None) -> bool:
    """Sigma's verdict of a whole detection item on one string value of its field (None: missing).

    Raises:
        NotExact: some value of the item has no verdict on a single value (a field reference, a
            placeholder, a regex Python cannot compile).
    """

    values = item.value or [SigmaNull()]
    linking = all if item.value_linking is ConditionAND else any
    return linking(value_verdict(v, value) for v in values) is not item.negated


def value_verdict(test: SigmaType, value: str | None) -> bool:
    """Sigma's verdict of one value of a detection item on one string (None: missing)."""
    if isinstance(test, SigmaNull):
        return value is None
    if isinstance(test, SigmaExists):
        return (value is not None) is test.exists
    if value is None and not isinstance(test, SigmaFieldReference):
        return False  # a value test on a missing field
    if value is None:
        raise NotExact(f"{describe(test)} compares two fields")
    return sigma_value_matches(test, value)


#: Most tests on other fields ``condition_tells_apart`` enumerates (2**n assignments).
MAX_FREE_TESTS = 14


def evaluate_condition(node: Any, leaf: Callable[[Any], bool]) -> bool:
    """A parsed Sigma condition's verdict, each field test (leaf) answered by ``leaf``."""
    from sigma.conditions import ConditionNOT

    if isinstance(node, ConditionAND):
        return all(evaluate_condition(a, leaf) for a in node.args)
    if isinstance(node, ConditionOR):
        return any(evaluate_condition(a, leaf) for a in node.args)
    if isinstance(node, ConditionNOT):
        return not evaluate_condition(node.args[0], leaf)
    return leaf(node)


def condition_tells_apart(rule: Any, name: str, value: str) -> bool:
    """Whether some event gets a different verdict from ``rule`` when field ``name`` holds
    ``value`` than when it is missing (all else equal).

    Tests on ``name`` become constants (their verdicts on ``value`` and on a missing field); every
    other test is taken as a free boolean, so the answer is False only when the two conditions
    agree on every combination, a superset of the combinations events can make. True (a
    possible difference) when that cannot be decided: a keyword, a field reference to ``name``,
    a test with no single-value verdict, or more than ``MAX_FREE_TESTS`` other tests.
    """
    from itertools import product

    from sigma.conditions import ConditionFieldEqualsValueExpression, ConditionNOT

    for condition in rule.detection.parsed_condition:
        tree = condition.parsed
        free: dict[int, int] = {}  # id(leaf) -> position in an assignment
        stack = [tree]
        while stack:
            node = stack.pop()
            if isinstance(node, (ConditionAND, ConditionOR, ConditionNOT)):
                stack.extend(node.args)
            elif not isinstance(node, ConditionFieldEqualsValueExpression):
                return True  # a keyword (any field) or a node of another kind
            elif isinstance(node.value, SigmaFieldReference) and node.value.field == name:
                return True
            elif node.field != name:
                free.setdefault(id(node), len(free))
        if len(free) > MAX_FREE_TESTS:
            return True

        def verdict(held: str | None, bits: tuple[bool, ...]) -> bool:
            return evaluate_condition(tree, lambda node: value_verdict(node.value, held)
                                      if node.field == name else bits[free[id(node)]])

        try:
            for bits in product((False, True), repeat=len(free)):
                if verdict(value, bits) != verdict(None, bits):
                    return True
        except NotExact:
            return True
    return False


def describe(value: SigmaType) -> str:
    """A short human name of a Sigma value's kind, for error messages."""
    kinds = {
        SigmaRegularExpression: "a regular expression (re)",
        SigmaCompareExpression: "a numeric comparison (gt/gte/lt/lte)",
        SigmaNumber: "a number",
        SigmaFieldReference: "a field reference (fieldref)",
        SigmaCIDRExpression: "a CIDR network (cidr)",
        SigmaBool: "a boolean",
    }
    for kind, text in kinds.items():
        if isinstance(value, kind):
            return text
    return f"a {type(value).__name__} value"

