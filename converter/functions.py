"""The mapping tables' value functions, each implemented in both directions.

A table entry ``{function: NAME, to: ..., ...params}`` (``converter/mappings/README.md``, section
"Functions", is the specification) maps a Sigma field through a function instead of a rename:

* the QUERY side (``QUERY_FUNCTIONS``) rewrites a pySigma detection item on the Sigma field, with
  its modifiers already applied, into a detection item or nested detection on the target field(s)
  that matches exactly the events the original matches, on events written by the render side;
* the RENDER side (``RENDER_FUNCTIONS``) writes a Sigma field's event value as target fields;
* ``ALIAS_FUNCTIONS`` normalise non-Sysmon records (Security 4688) to Sigma field values.

Where the README says a test cannot be exact, the query side raises
``SigmaTransformationError`` naming the field, the function and the reason. Replacements are
positive AND/OR combinations; the only negations are pySigma's own negated detection items (the
``neq`` modifier), obtained by pushing an item's negation down to its leaves (De Morgan). A
constant outcome is written as ``exists`` tests on one target field (``f exists and f not exists``
is false, ``or`` true), which every backend renders soundly: an existence test is never
three-valued and needs no impossible value.

Exactness holds on the value domain each function documents (e.g. ``User`` is ``DOMAIN\\name``):
values outside it are ones the shipper cannot represent, and the tests say which.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sigma.conditions import ConditionAND, ConditionOR
from sigma.exceptions import SigmaTransformationError
from sigma.rule import SigmaDetection, SigmaDetectionItem
from sigma.types import (
    SigmaCasedString,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaType,
    SpecialChars,
)

from .mapping import FieldTarget

__all__ = ["ALIAS_FUNCTIONS", "QUERY_FUNCTIONS", "RENDER_FUNCTIONS"]

MANY, ONE = SpecialChars.WILDCARD_MULTI, SpecialChars.WILDCARD_SINGLE
Token = str | SpecialChars  # one character or one wildcard
QueryResult = SigmaDetectionItem | SigmaDetection

# ---------------------------------------------------------------------------------------------
# A tiny positive boolean tree, simplified before it becomes pySigma detections


@dataclass(frozen=True)
class _Test:
    """One value test on one target field (becomes a one-value detection item)."""

    field: str
    value: SigmaType
    negated: bool = False


@dataclass(frozen=True)
class _Group:
    """AND (``conjunction``) or OR of child nodes."""

    conjunction: bool
    children: tuple[Any, ...]


@dataclass(frozen=True)
class _Const:
    """A constant outcome (a value that can never, or always, match)."""

    value: bool


Node = _Test | _Group | _Const
TRUE, FALSE = _Const(True), _Const(False)


def _junction(conjunction: bool, children: list[Node]) -> Node:
    """AND/OR with flattening and constant folding (the neutral constant vanishes)."""
    out: list[Node] = []
    for child in children:
        if isinstance(child, _Const):
            if child.value is not conjunction:  # FALSE in an AND, TRUE in an OR
                return child
            continue
        grandchildren = (
            child.children
            if isinstance(child, _Group) and child.conjunction is conjunction
            else (child,)
        )
        for c in grandchildren:  # drop duplicates (repr: pySigma values refuse mixed-type ==)
            if repr(c) not in {repr(o) for o in out}:
                out.append(c)
    if not out:
        return _Const(conjunction)
    return out[0] if len(out) == 1 else _Group(conjunction, tuple(out))


def _and(*children: Node) -> Node:
    return _junction(True, list(children))


def _or(*children: Node) -> Node:
    return _junction(False, list(children))


def _negate(node: Node) -> Node:
    """Push a negation down to the leaves (De Morgan), where pySigma can express it."""
    if isinstance(node, _Const):
        return _Const(not node.value)
    if isinstance(node, _Test):
        if isinstance(node.value, SigmaExists):  # keep existence tests un-negated: flip them
            return _Test(node.field, SigmaExists(not node.value.exists))
        return _Test(node.field, node.value, not node.negated)
    return _junction(not node.conjunction, [_negate(c) for c in node.children])


class _NotExact(Exception):
    """Raised by a value handler; turned into SigmaTransformationError with the item's source."""


def _emit(node: Node, item: SigmaDetectionItem, fallback: str) -> QueryResult:
    """Turn a simplified tree into pySigma detection items / nested detections."""
    if isinstance(node, _Const):
        # f exists AND f not exists: false under every backend's semantics (and OR: true).
        node = _Group(
            not node.value,
            (_Test(fallback, SigmaExists(True)), _Test(fallback, SigmaExists(False))),
        )
    if isinstance(node, _Test):
        return SigmaDetectionItem(
            node.field, [], [node.value], negated=node.negated, source=item.source
        )
    # Merge sibling plain tests of one field into one multi-value item (field in (a, b)).
    merged: dict[str, list[SigmaType]] = {}
    rest: list[Node] = []
    for child in node.children:
        if (
            isinstance(child, _Test)
            and not child.negated
            and isinstance(child.value, (SigmaString, SigmaNumber))
        ):
            merged.setdefault(child.field, []).append(child.value)
        else:
            rest.append(child)
    linking = ConditionAND if node.conjunction else ConditionOR
    parts: list[QueryResult] = [
        SigmaDetectionItem(name, [], values, value_linking=linking, source=item.source)
        for name, values in merged.items()
    ]
    parts += [_emit(child, item, fallback) for child in rest]
    if len(parts) == 1:
        return parts[0]
    return SigmaDetection(parts, source=item.source, item_linking=linking)


def _rewrite(
    item: SigmaDetectionItem, spec: FieldTarget, prefix: str, handler: Callable[[SigmaType], Node]
) -> QueryResult:
    """Apply ``handler`` to every value, link the results as the item does, emit detections."""
    values = item.value or [SigmaNull()]  # pySigma: an item without values is a null test

    def expand(value: SigmaType) -> Node:
        if isinstance(value, SigmaExpansion):  # windash/base64offset variants are always OR-ed
            return _or(*[expand(v) for v in value.values])
        if isinstance(value, SigmaFieldReference):
            raise _NotExact(
                f"field reference to {value.field!r}: the referenced field is not mapped through "
                f"the same function, so the two targets cannot be compared"
            )
        return handler(value)

    nodes = _guarded(item, spec, prefix, lambda: [expand(v) for v in values])
    node = _and(*nodes) if item.value_linking is ConditionAND else _or(*nodes)
    if item.negated:
        node = _negate(node)
    return _emit(node, item, prefix + spec.targets[0])


def _guarded(
    item: SigmaDetectionItem, spec: FieldTarget, prefix: str, work: Callable[[], Any]
) -> Any:
    """Run ``work``; a ``_NotExact`` becomes a SigmaTransformationError naming field and reason."""
    try:
        return work()
    except _NotExact as reason:
        targets = ", ".join(prefix + t for t in spec.targets)
        raise SigmaTransformationError(
            f"{spec.sigma} is mapped by function {spec.function} to {targets}; no exact query "
            f"exists: {reason}",
            source=item.source,
        ) from None


# ---------------------------------------------------------------------------------------------
# Sigma strings as token lists


def _tokens(value: SigmaString) -> list[Token]:
    """The characters and wildcards of a Sigma string; placeholders cannot be inspected."""
    out: list[Token] = []
    for part in value.s:
        if isinstance(part, str):
            out.extend(part)
        elif isinstance(part, SpecialChars):
            out.append(part)
        else:
            raise _NotExact("placeholders must be resolved before a value function applies")
    return out


def _string(tokens: list[Token], cased: bool = False) -> SigmaString:
    """Build a Sigma string from tokens (``original`` escaped so it re-parses to the same).

    ``cased`` for values the shipper stores in one case (lowercased digests, Defend's integrity
    level names): the value is lowercased here, so a case-sensitive match is exact, and targets
    that match case-sensitively anyway (KQL, Lucene keyword fields) need no approximation.
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


def _is_plain_string(value: SigmaType) -> bool:
    """A case-insensitive Sigma string (not ``cased``)."""
    return isinstance(value, SigmaString) and not isinstance(value, SigmaCasedString)


def _glob_matches(tokens: list[Token], text: str, cased: bool) -> bool:
    """Whole-value Sigma glob match (``*`` any run, ``?`` one character); lower() unless cased."""
    pattern = "".join(
        re.escape(t) if isinstance(t, str) else (".*" if t is MANY else ".") for t in tokens
    )
    fold = (lambda s: s) if cased else str.lower
    return re.fullmatch(fold(pattern), fold(text), re.DOTALL) is not None


def _regex_text(value: SigmaRegularExpression) -> str:
    """The pattern text: pySigma keeps regex ``*``/``?`` as wildcard parts of a SigmaString."""
    return "".join(
        p if isinstance(p, str) else ("*" if p is MANY else "?") for p in _tokens(value.regexp)
    )


# ---------------------------------------------------------------------------------------------
# Query side


def _query_rename(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """``copy`` (and the default of ``to_string`` for strings): the same test on the target."""
    return _rewrite(item, spec, prefix, lambda v: _Test(prefix + spec.target, v))


_DECIMAL = re.compile(r"(?:0|-?[1-9][0-9]*)")
_LONG = (-(2**63), 2**63 - 1)


def _query_to_integer(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """Numeric tests on a ``long`` field; exact on canonical decimal values (Sysmon's)."""
    target = prefix + spec.target

    def handle(value: SigmaType) -> Node:
        if isinstance(value, (SigmaNull, SigmaExists, SigmaCompareExpression)):
            return _Test(target, value)  # gt/gte/lt/lte: Sigma compares numerically too
        if isinstance(value, SigmaNumber) and isinstance(value.number, int):
            return _Test(target, SigmaNumber(value.number))
        if isinstance(value, SigmaString):
            tokens = _tokens(value)
            text = "".join(t for t in tokens if isinstance(t, str))
            if len(text) != len(tokens):
                raise _NotExact(
                    f"wildcards (contains/startswith/endswith or * ?) in {value.original!r} "
                    "cannot be tested on a long field"
                )
            if not _DECIMAL.fullmatch(text) or not _LONG[0] <= int(text) <= _LONG[1]:
                raise _NotExact(
                    f"{text!r} is not a canonical decimal integer: a long field holds only numbers"
                )
            return _Test(target, SigmaNumber(int(text)))
        raise _NotExact(f"{_describe(value)} cannot be tested on a long field")

    return _rewrite(item, spec, prefix, handle)


def _query_to_string(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """String tests stay as they are (the text is the same); an integer becomes its text."""
    target = prefix + spec.target

    def handle(value: SigmaType) -> Node:
        if isinstance(value, (SigmaString, SigmaRegularExpression, SigmaNull, SigmaExists)):
            return _Test(target, value)
        if isinstance(value, SigmaNumber) and isinstance(value.number, int):
            return _Test(target, _string(list(str(value.number))))
        raise _NotExact(
            f"{_describe(value)} cannot be tested exactly on a keyword field (compares text)"
        )

    return _rewrite(item, spec, prefix, handle)


def _has_case(tokens: list[Token]) -> bool:
    return any(isinstance(t, str) and (t.lower() != t or t.upper() != t) for t in tokens)


def _query_lowercase(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """The target holds the lowercased value; case-insensitive tests are lowercased too."""
    target = prefix + spec.target

    def handle(value: SigmaType) -> Node:
        if isinstance(value, SigmaCasedString):
            tokens = _tokens(value)
            if _has_case(tokens):
                raise _NotExact(
                    f"case-sensitive value {value.original!r}: the original case is gone in the "
                    "lowercased target"
                )
            return _Test(target, value)
        if isinstance(value, SigmaString):
            return _Test(
                target, _string([t.lower() if isinstance(t, str) else t for t in _tokens(value)], cased=True)
            )
        if isinstance(value, SigmaRegularExpression):
            if SigmaRegularExpressionFlag.IGNORECASE not in value.flags:
                raise _NotExact(
                    "a case-sensitive regular expression needs the original case; "
                    "add the |i modifier"
                )
            return _Test(target, value)
        return _Test(target, value)  # numbers, null, exists, compare, cidr: case plays no role

    return _rewrite(item, spec, prefix, handle)


def _query_any_of(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """The same test on each ``to`` field, OR-ed: the renderer fills exactly one of them."""
    targets = [prefix + t for t in spec.targets]

    def handle(value: SigmaType) -> Node:
        if isinstance(value, SigmaNull) or (isinstance(value, SigmaExists) and not value.exists):
            return _and(*[_Test(t, value) for t in targets])  # missing = missing from every one
        return _or(*[_Test(t, value) for t in targets])

    return _rewrite(item, spec, prefix, handle)


def _query_split_domain_user(
    item: SigmaDetectionItem, spec: FieldTarget, prefix: str
) -> QueryResult:
    """``DOMAIN\\name`` split into two fields; see ``_split_glob`` for the cut rule."""
    if len(spec.targets) != 2:
        raise SigmaTransformationError(
            f"{spec.sigma}: split_domain_user needs two targets (domain, name)", source=item.source
        )
    domain, name = (prefix + t for t in spec.targets)

    def handle(value: SigmaType) -> Node:
        if isinstance(value, SigmaNull) or (isinstance(value, SigmaExists) and not value.exists):
            return _and(_Test(domain, value), _Test(name, value))
        if isinstance(value, SigmaExists):
            return _or(_Test(domain, value), _Test(name, value))
        if isinstance(value, SigmaString):
            return _split_glob(_tokens(value), isinstance(value, SigmaCasedString), domain, name)
        if isinstance(value, SigmaRegularExpression):
            raise _NotExact(
                "a regular expression cannot be split at the backslash between domain and name"
            )
        raise _NotExact(f"{_describe(value)} cannot be tested on a split DOMAIN\\name value")

    return _rewrite(item, spec, prefix, handle)


def _split_glob(tokens: list[Token], cased: bool, domain: str, name: str) -> Node:
    """Sigma glob P on ``D\\N`` (D, N backslash-free, not both empty) as tests on D and N.

    The value's single backslash is matched by exactly one token of P: a literal ``\\`` (then it
    must be P's only one: P1\\P2 gives D ~ P1, N ~ P2), a ``*`` (P1*P2 gives D ~ P1*, N ~ *P2) or a
    ``?`` (D ~ P1, N ~ P2). The match is the OR over these cuts. An empty part is not written by
    the renderer, so "D ~ ''" is "domain missing", and a part of only ``*`` accepts anything.
    """
    backslashes = [i for i, t in enumerate(tokens) if t == "\\"]
    if len(backslashes) > 1:
        return FALSE  # two literal backslashes cannot both meet the value's single one
    star: list[Token] = [MANY]
    cuts: list[tuple[list[Token], list[Token]]] = []
    if backslashes:
        i = backslashes[0]
        cuts.append((tokens[:i], tokens[i + 1 :]))
    else:
        for i, t in enumerate(tokens):
            if t is MANY:  # the star keeps covering both sides of the backslash
                cuts.append((tokens[:i] + star, star + tokens[i + 1 :]))
            elif t is ONE:
                cuts.append((tokens[:i], tokens[i + 1 :]))
    present = {True: SigmaExists(True), False: SigmaNull()}
    alternatives: list[Node] = []
    for left, right in cuts:
        sides = [(_side(left), domain, left), (_side(right), name, right)]
        if all(kind == "empty" for kind, _, _ in sides):
            continue  # the value "\" renders nothing at all: it is indistinguishable from missing
        tests: list[Node] = []
        for kind, target, part in sides:
            if kind == "glob":
                tests.append(_Test(target, _string(part, cased)))
            elif kind == "empty":
                tests.append(_Test(target, present[False]))
        if not any(kind == "glob" for kind, _, _ in sides):
            # Only "any"/"empty" sides: the value must still be present (not a missing User).
            others = [target for kind, target, _ in sides if kind == "any"]
            if len(others) == 2:
                tests.append(_or(*[_Test(t, present[True]) for t in others]))
            else:
                tests.append(_Test(others[0], present[True]))
        alternatives.append(_and(*tests))
    return _or(*alternatives)


def _side(part: list[Token]) -> str:
    """Classify one side of a cut: 'empty' (only ''), 'any' (only stars), else 'glob'."""
    if not part:
        return "empty"
    return "any" if all(t is MANY for t in part) else "glob"


_HEX = re.compile(r"[0-9a-fA-F]+")
_DIGEST_LENGTH = {"md5": 32, "sha1": 40, "sha256": 64, "imphash": 32}
# The longest run of hex digits inside a Sysmon algorithm name is "A256" (SHA256): a bare hex
# string of 5 or more digits can therefore only sit inside a digest.
_MIN_BARE_HEX = 5


def _hash_targets(spec: FieldTarget, prefix: str) -> dict[str, str]:
    algorithms = spec.param("algorithms") or list(_DIGEST_LENGTH)
    if len(algorithms) != len(spec.targets):
        raise SigmaTransformationError(f"{spec.sigma}: hashes needs one target per algorithm")
    return {str(a).lower(): prefix + t for a, t in zip(algorithms, spec.targets, strict=True)}


def _query_hashes(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """``contains 'ALG=HEX'`` and bare ``contains 'HEX'`` on the split, lowercased digests."""
    fields = _hash_targets(spec, prefix)

    def handle(value: SigmaType) -> Node:
        if isinstance(value, SigmaNull) or (isinstance(value, SigmaExists) and not value.exists):
            return _and(*[_Test(f, value) for f in fields.values()])
        if isinstance(value, SigmaExists):
            return _or(*[_Test(f, value) for f in fields.values()])
        if isinstance(value, SigmaCasedString):
            raise _NotExact("case-sensitive match: the digests are lowercased by the shipper")
        if not isinstance(value, SigmaString):
            raise _NotExact(
                f"{_describe(value)}: the raw Hashes string is not kept, only contains is exact"
            )
        tokens = _tokens(value)
        inner = tokens[1:-1]
        if (
            len(tokens) < 3
            or tokens[0] is not MANY
            or tokens[-1] is not MANY
            or not all(isinstance(t, str) for t in inner)
        ):
            raise _NotExact(
                f"{value.original!r}: only contains without inner wildcards is exact (the shipper "
                "drops the raw string, its key order and the algorithm set)"
            )
        text = "".join(str(t) for t in inner)
        if "=" in text:
            algorithm, digest = text.split("=", 1)
            field = fields.get(algorithm.lower())
            if field is None:
                raise _NotExact(
                    f"{algorithm!r} is not one of the mapped algorithms {', '.join(fields)}"
                )
            full = _DIGEST_LENGTH.get(algorithm.lower())
            _check_digest(digest, text)
            pattern = list(digest.lower()) + ([] if len(digest) == full else [MANY])
            return _Test(field, _string(pattern, cased=True))
        if len(text) < _MIN_BARE_HEX:
            raise _NotExact(
                f"{text!r}: fewer than {_MIN_BARE_HEX} hex digits may sit inside an algorithm name"
            )
        _check_digest(text, text)
        return _or(*[_Test(f, _string([MANY, *text.lower(), MANY], cased=True)) for f in fields.values()])

    return _rewrite(item, spec, prefix, handle)


def _check_digest(digest: str, text: str) -> None:
    if not _HEX.fullmatch(digest):
        raise _NotExact(
            f"{text!r}: a digest must be hex digits only (several pairs lose their order)"
        )
    if not digest.strip("0"):
        raise _NotExact(f"{text!r}: all-zero digests are dropped by the shipper")


# Defend's closed vocabulary (custom_token.yml) with the Sysmon name and the mandatory-label SID.
INTEGRITY_LEVELS = (
    ("system", "System", "S-1-16-16384"),
    ("high", "High", "S-1-16-12288"),
    ("medium", "Medium", "S-1-16-8192"),
    ("low", "Low", "S-1-16-4096"),
    ("untrusted", "Untrusted", "S-1-16-0"),
)


def _sigma_value_matches(value: SigmaType, text: str) -> bool:
    """Sigma's test of one value on one string (for the closed integrity vocabulary)."""
    if isinstance(value, SigmaExpansion):
        return any(_sigma_value_matches(v, text) for v in value.values)
    if isinstance(value, SigmaString):
        return _glob_matches(_tokens(value), text, isinstance(value, SigmaCasedString))
    if isinstance(value, SigmaRegularExpression):
        flags = 0
        for flag in value.flags:
            flags |= SigmaRegularExpression.sigma_to_python_flags[flag]
        return re.search(_regex_text(value), text, flags) is not None
    if isinstance(value, SigmaNumber):
        return text.lower() == str(value.number).lower()
    raise _NotExact(f"{_describe(value)} cannot be evaluated on the integrity-level vocabulary")


def _query_integrity_level_name(
    item: SigmaDetectionItem, spec: FieldTarget, prefix: str
) -> QueryResult:
    """Evaluate the whole item on both source forms of each level; keep the levels it accepts.

    The target keeps the level but not its form (Sysmon name or label SID), so a level is exact
    only when the item accepts both forms or neither: ``IntegrityLevel: High`` alone is an error,
    ``['High', 'S-1-16-12288']`` (as SigmaHQ writes it) is ``high``. A missing field stays missing.
    """
    target = prefix + spec.target
    linking = all if item.value_linking is ConditionAND else any
    values = item.value or [SigmaNull()]

    def accepts(form: str | None) -> bool:  # None: the field is missing
        def one(value: SigmaType) -> bool:
            if isinstance(value, SigmaNull):
                return form is None
            if isinstance(value, SigmaExists):
                return (form is not None) is value.exists
            if isinstance(value, SigmaCasedString):
                raise _NotExact(
                    "case-sensitive match: the original case is gone in the lowercase names"
                )
            return form is not None and _sigma_value_matches(value, form)

        return linking(one(v) for v in values) is not item.negated

    def levels() -> list[str]:
        out = []
        for name, *forms in INTEGRITY_LEVELS:
            verdicts = {form: accepts(form) for form in forms}
            if len(set(verdicts.values())) > 1:
                raise _NotExact(
                    f"the rule tells the forms of level {name!r} apart "
                    f"({', '.join(f'{f}: {v}' for f, v in verdicts.items())}) but the target "
                    "keeps only the level; list both forms in the rule"
                )
            if verdicts[forms[0]]:
                out.append(name)
        return out

    names = _guarded(item, spec, prefix, levels)
    present = (
        _Test(target, SigmaExists(True))
        if len(names) == len(INTEGRITY_LEVELS)  # every value the field can hold
        else _or(*[_Test(target, _string(list(n), cased=True)) for n in names])
    )
    missing = (
        _Test(target, SigmaNull()) if _guarded(item, spec, prefix, lambda: accepts(None)) else FALSE
    )
    return _emit(_or(present, missing), item, target)


def _describe(value: SigmaType) -> str:
    kinds = {
        SigmaRegularExpression: "a regular expression (re)",
        SigmaCompareExpression: "a numeric comparison (gt/gte/lt/lte)",
        SigmaNumber: "a number",
        SigmaFieldReference: "a field reference (fieldref)",
    }
    for kind, text in kinds.items():
        if isinstance(value, kind):
            return text
    return f"a {type(value).__name__} value"


QUERY_FUNCTIONS: dict[str, Callable[[SigmaDetectionItem, FieldTarget, str], QueryResult]] = {
    "copy": _query_rename,
    "to_integer": _query_to_integer,
    "to_string": _query_to_string,
    "lowercase": _query_lowercase,
    "any_of": _query_any_of,
    "split_domain_user": _query_split_domain_user,
    "hashes": _query_hashes,
    "integrity_level_name": _query_integrity_level_name,
}


# ---------------------------------------------------------------------------------------------
# Render side: a Sigma field's event value -> {target field: value}; {} writes nothing


def _each(value: Any, convert: Callable[[Any], Any]) -> Any:
    """Apply ``convert`` to a scalar or to each element of a multi-valued field.

    ``convert`` returns None for "not written"; a list keeps its written elements only.
    """
    if isinstance(value, (list, tuple)):
        out = [c for c in (convert(v) for v in value if v is not None) if c is not None]
        return out or None
    return None if value is None else convert(value)


def _written(field: str, value: Any) -> dict[str, Any]:
    return {} if value is None else {field: value}


def _scalar_string(value: Any, spec: FieldTarget) -> str | None:
    """The single string a splitting function reads; None when the field is missing."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{spec.sigma}: {spec.function} expects one string, got {value!r}")
    return value


def render_basename(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """The part after the last backslash; nothing when there is no backslash or nothing after it.

    Elastic's ingest script returns "" for a value without a backslash and the processor then
    sets nothing; an empty base name is not written either.
    """

    def base(v: Any) -> str | None:
        text = str(v)
        return text.rsplit("\\", 1)[1] or None if "\\" in text else None

    return _written(spec.target, _each(value, base))


def render_copy(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """The same value under the target name."""
    return _written(spec.target, value)


def _to_long(value: Any) -> int | None:
    """Elastic ``convert`` to long of a decimal value; None (not written) when that fails."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]+", value):
        number = int(value)
    else:
        return None
    return number if _LONG[0] <= number <= _LONG[1] else None


def render_to_integer(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """``int(value)`` of a decimal string or an int; anything else is not written.

    The table converts with ``ignore_failure``. Elastic's ``convert`` to long would also read a
    ``0x`` hex string (https://www.elastic.co/docs/reference/enrich-processor/convert-processor),
    but a Sigma-taxonomy ``ProcessId`` is decimal (Sysmon) and Security 4688 hex ids reach the
    Sigma layer already converted by ``hex_to_integer``; reading hex here would make the numeric
    query match a value that Sigma's own number test rejects (``500`` vs ``"0x1f4"``).
    """
    return _written(spec.target, _each(value, _to_long))


def render_to_string(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """``str(value)`` (EventID 1 -> event.code "1")."""
    return _written(spec.target, _each(value, lambda v: v if isinstance(v, str) else str(v)))


def render_lowercase(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """The value lowercased (non-strings unchanged)."""
    return _written(spec.target, _each(value, lambda v: v.lower() if isinstance(v, str) else v))


def render_any_of(value: Any, spec: FieldTarget, chosen: str | None = None) -> dict[str, Any]:
    """The value, unchanged, under exactly one of the targets.

    Args:
        value: the Sigma field's value.
        spec: the mapping entry.
        chosen: the target the source event uses (``event_render[].fields``); default the first.

    Raises:
        ValueError: ``chosen`` is not one of the entry's targets.
    """
    target = chosen or spec.targets[0]
    if target not in spec.targets:
        raise ValueError(f"{spec.sigma}: {target!r} is not one of {', '.join(spec.targets)}")
    return _written(target, value)


def render_split_domain_user(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """``DOMAIN\\name`` -> domain and name; only for exactly one backslash; empty parts omitted."""
    text = _scalar_string(value, spec)
    if text is None or text.count("\\") != 1:
        return {}
    out = {}
    for target, part in zip(spec.targets, text.split("\\"), strict=True):
        if part:  # ignore_empty_value
            out[target] = part
    return out


def _hash_pairs(text: str) -> list[tuple[str, str]]:
    """``ALG=HEX,ALG=HEX`` as (algorithm, digest) pairs, malformed entries skipped."""
    pairs = []
    for entry in text.split(","):
        algorithm, sep, digest = entry.partition("=")
        if sep:
            pairs.append((algorithm.strip(), digest.strip()))
    return pairs


def render_hashes(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """Parse the Sysmon string; lowercase digests of the mapped algorithms, empty/zero dropped."""
    text = _scalar_string(value, spec)
    if text is None:
        return {}
    fields = _hash_targets(spec, "")
    out = {}
    for algorithm, digest in _hash_pairs(text):
        field = fields.get(algorithm.lower())
        if field is not None and digest.strip("0"):
            out[field] = digest.lower()
    return out


def render_split_hashes(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """Splunk add-on: the same parse, digests unchanged, into ``{algorithm: field}`` targets."""
    text = _scalar_string(value, spec)
    if text is None:
        return {}
    mapping = spec.target if isinstance(spec.target, dict) else spec.param("fields")
    if not isinstance(mapping, dict):
        mapping = dict(zip(spec.param("algorithms") or (), spec.targets, strict=False))
    fields = {str(k).lower(): v for k, v in mapping.items()}
    return {fields[a.lower()]: d for a, d in _hash_pairs(text) if a.lower() in fields and d}


def render_integrity_level_name(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """Sysmon name or label SID -> Defend's lowercase name.

    Raises:
        ValueError: the value is outside Defend's vocabulary (AppContainer, S-1-16-8448, ...).
    """
    text = _scalar_string(value, spec)
    if text is None:
        return {}
    # Case does not identify a level (Windows writes "High"; Sigma compares case-insensitively,
    # and a `cased` test on this field is refused on the query side).
    for name, *forms in INTEGRITY_LEVELS:
        if text.lower() in (form.lower() for form in forms):
            return {spec.target: name}
    raise ValueError(
        f"{spec.sigma}: {text!r} is not in Elastic Defend's integrity-level vocabulary "
        f"({', '.join(f for _, *forms in INTEGRITY_LEVELS for f in forms)})"
    )


RENDER_FUNCTIONS: dict[str, Callable[..., dict[str, Any]]] = {
    "basename": render_basename,
    "copy": render_copy,
    "to_integer": render_to_integer,
    "to_string": render_to_string,
    "lowercase": render_lowercase,
    "any_of": render_any_of,
    "split_domain_user": render_split_domain_user,
    "hashes": render_hashes,
    "split_hashes": render_split_hashes,
    "integrity_level_name": render_integrity_level_name,
}


# ---------------------------------------------------------------------------------------------
# Source aliases: fields of a non-Sysmon record -> one Sigma field value (None: not set)


def alias_hex_to_integer(values: list[Any], spec: dict[str, Any]) -> int | None:
    """``0x11cc`` -> 4556 (Security 4688 process ids); decimal text and ints pass as numbers.

    Elastic's ``convert`` to long reads ``0x``-prefixed hex and plain decimal
    (https://www.elastic.co/docs/reference/enrich-processor/convert-processor); anything else
    is not set.
    """
    if len(values) != 1:
        raise ValueError(f"hex_to_integer reads one field, got {len(values)}: {spec.get('from')!r}")
    value = values[0]
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        match = re.fullmatch(r"(-?)0[xX]([0-9a-fA-F]+)", value.strip())
        if match:
            number = int(match.group(2), 16)
            return -number if match.group(1) else number
        return _to_long(value.strip())
    return None


def alias_join_domain_user(values: list[Any], spec: dict[str, Any]) -> str | None:
    """``SubjectDomainName`` + ``\\`` + ``SubjectUserName``; None when both are missing.

    Raises:
        ValueError: a part contains a backslash (the joined value could not be split back).
    """
    if len(values) != 2:
        raise ValueError(f"join_domain_user reads two fields (domain, name), got {len(values)}")
    domain, name = ("" if v is None else str(v) for v in values)
    if not domain and not name:
        return None
    if "\\" in domain or "\\" in name:
        raise ValueError(f"join_domain_user: {domain!r} / {name!r} contains a backslash")
    return f"{domain}\\{name}"


ALIAS_FUNCTIONS: dict[str, Callable[[list[Any], dict[str, Any]], Any]] = {
    "hex_to_integer": alias_hex_to_integer,
    "join_domain_user": alias_join_domain_user,
}
