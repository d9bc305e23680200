"""Query sides of the string-shaped value functions (``converter/mapping/tables/README.md``, "Functions").

Each ``query_<function>(item, spec, prefix)`` rewrites a pySigma detection item on a Sigma field,
with its modifiers already applied, into a detection item or nested detection on the target
field(s) that matches exactly the events the original matches, on events written by the
function's render side (``converter/mapping/functions/render.py``). Where the README says a test cannot
be exact, the function raises ``SigmaTransformationError`` naming the field, the function and the
reason. Exactness holds on the value domain each function documents (e.g. ``User`` is
``DOMAIN\\name``): values outside it are ones the shipper cannot represent.

Closed vocabularies and IP addresses (``integrity_level_name``, ``value_map``, ``to_ip``) live in
``converter/mapping/functions/values.py``.
"""

from __future__ import annotations

import re
from typing import Any

from sigma.exceptions import SigmaTransformationError
from sigma.rule import SigmaDetectionItem
from sigma.types import (
    SigmaCasedString,
    SigmaCompareExpression,
    SigmaExists,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaType,
)

from converter.mapping.functions.tree import (
    FALSE,
    MANY,
    ONE,
    TRUE,
    Leaf,
    Node,
    NotExact,
    QueryResult,
    Token,
    and_,
    describe,
    make_string,
    negate,
    or_,
    rewrite,
    to_tokens,
)
from converter.mapping.table import FieldTarget

def query_copy(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """``copy`` (and the default of ``to_string`` for strings): the same test on the target."""
    return rewrite(item, spec, prefix, lambda v: Leaf(prefix + spec.target, v))


DECIMAL = re.compile(r"(?:0|-?[1-9][0-9]*)")
LONG_RANGE = (-(2**63), 2**63 - 1)


def query_to_integer(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """Numeric tests on a ``long`` field; exact on canonical decimal values (Sysmon's)."""
    target = prefix + spec.target

    def handle(value: SigmaType) -> Node:
        if isinstance(value, (SigmaNull, SigmaExists, SigmaCompareExpression)):
            return Leaf(target, value)  # gt/gte/lt/lte: Sigma compares numerically too
        if isinstance(value, SigmaNumber) and isinstance(value.number, int):
            return Leaf(target, SigmaNumber(value.number))
        if isinstance(value, SigmaString):
            tokens = to_tokens(value)
            text = "".join(t for t in tokens if isinstance(t, str))
            if len(text) != len(tokens):
                raise NotExact(
                    f"wildcards (contains/startswith/endswith or * ?) in {value.original!r} "
                    "cannot be tested on a long field"
                )
            if not DECIMAL.fullmatch(text) or not LONG_RANGE[0] <= int(text) <= LONG_RANGE[1]:
                raise NotExact(
                    f"{text!r} is not a canonical decimal integer: a long field holds only numbers"
                )
            return Leaf(target, SigmaNumber(int(text)))
        raise NotExact(f"{describe(value)} cannot be tested on a long field")

    return rewrite(item, spec, prefix, handle)


def query_to_string(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """String tests stay as they are (the text is the same); an integer becomes its text."""
    target = prefix + spec.target

    def handle(value: SigmaType) -> Node:
        if isinstance(value, (SigmaString, SigmaRegularExpression, SigmaNull, SigmaExists)):
            return Leaf(target, value)
        if isinstance(value, SigmaNumber) and isinstance(value.number, int):
            return Leaf(target, make_string(list(str(value.number))))
        raise NotExact(
            f"{describe(value)} cannot be tested exactly on a keyword field (compares text)"
        )

    return rewrite(item, spec, prefix, handle)


#: Sigma compares "I" ignoring case with "i" and "İ" (U+0130), which Java's and Python's
#: toLowerCase turn into two characters, "i" + U+0307: each "i" of a lowercased value is one of
#: these two spellings.
_DOTTED_I = "i\u0307"
_MAX_SPELLINGS = 16


def lowered_spellings(tokens: list[Token]) -> list[list[Token]]:
    """The lowercased tokens, once per spelling a case variant of the value lowercases to."""
    out: list[list[Token]] = [[]]
    for token in tokens:
        if not isinstance(token, str):
            out = [o + [token] for o in out]
            continue
        lowered = token.lower()
        if lowered in ("i", _DOTTED_I):
            out = [o + list(form) for o in out for form in ("i", _DOTTED_I)]
            if len(out) > _MAX_SPELLINGS:
                raise NotExact(
                    "too many letters i: each is 'i' or 'i' + U+0307 (the lowercase of 'İ') in the "
                    "lowercased target"
                )
        else:
            out = [o + list(lowered) for o in out]
    return out


def _has_case(tokens: list[Token]) -> bool:
    """Whether some literal character has an upper and a lower form."""
    return any(isinstance(t, str) and (t.lower() != t or t.upper() != t) for t in tokens)


def query_lowercase(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """The target holds the lowercased value; case-insensitive tests are lowercased too."""
    target = prefix + spec.target
    return rewrite(item, spec, prefix, lambda value: lowercase_test(target, value))


def lowercase_test(target: str, value: SigmaType) -> Node:
    """The test of one Sigma value on a field that holds the value lowercased."""
    if isinstance(value, SigmaCasedString):
        tokens = to_tokens(value)
        if _has_case(tokens):
            raise NotExact(
                f"case-sensitive value {value.original!r}: the original case is gone in the "
                "lowercased target"
            )
        return Leaf(target, value)
    if isinstance(value, SigmaString):
        return or_(*[Leaf(target, make_string(v, cased=True)) for v in lowered_spellings(to_tokens(value))])
    if isinstance(value, SigmaRegularExpression):
        if SigmaRegularExpressionFlag.IGNORECASE not in value.flags:
            raise NotExact(
                "a case-sensitive regular expression needs the original case; "
                "add the |i modifier"
            )
        return Leaf(target, value)
    return Leaf(target, value)  # numbers, null, exists, compare, cidr: case plays no role


def query_any_of(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """The same test on each ``to`` field, OR-ed: the renderer fills exactly one of them.

    ``when: {target: {field: value}}`` guards a target: the shipper writes the Sigma value there
    only on documents whose ``field`` holds ``value`` exactly, and the target holds something
    else on other documents (Auditd Logs: an EXECVE record's ``a0`` becomes
    ``process.executable``, which a SYSCALL record fills from ``exe``). The test on a guarded
    target is ANDed with its guard, so its other content never counts. ``trimmed: [target]``:
    the shipper writes the value trimmed there (the Windows integration's PowerShell script
    block), and the test on it is the ``trimmed`` function's.
    """
    from converter.mapping.functions.trim import trimmed_node

    targets = [prefix + t for t in spec.targets]
    guards = {prefix + t: guard_node(conds, prefix) for t, conds in (spec.param("when") or {}).items()}
    # Targets where the shipper writes the value trimmed (``trimmed``, as the function of that
    # name): the test on them is ``trimmed_node``'s, exact, approximate or refused.
    trimmed = {prefix + t for t in spec.param("trimmed") or ()}

    def leaf(target: str, value: SigmaType) -> Node:
        return trimmed_node(item, target, value) if target in trimmed else Leaf(target, value)

    def handle(value: SigmaType) -> Node:
        if isinstance(value, SigmaNull) or (isinstance(value, SigmaExists) and not value.exists):
            # missing = missing from every target where the guard holds
            return and_(*[or_(negate(guards[t]), leaf(t, value)) if t in guards else leaf(t, value)
                          for t in targets])
        return or_(*[and_(guards.get(t, TRUE), leaf(t, value)) for t in targets])

    return rewrite(item, spec, prefix, handle)


def guard_node(conditions: dict[str, Any], prefix: str) -> Node:
    """``field == value`` for every condition, compared case-sensitively (the shipper's ``==``)."""
    return and_(*[Leaf(prefix + f, make_string(list(str(v)), cased=True)) for f, v in conditions.items()])


def query_split_domain_user(
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
            return and_(Leaf(domain, value), Leaf(name, value))
        if isinstance(value, SigmaExists):
            return or_(Leaf(domain, value), Leaf(name, value))
        if isinstance(value, SigmaString):
            return _split_glob(to_tokens(value), isinstance(value, SigmaCasedString), domain, name)
        if isinstance(value, SigmaRegularExpression):
            raise NotExact(
                "a regular expression cannot be split at the backslash between domain and name"
            )
        raise NotExact(f"{describe(value)} cannot be tested on a split DOMAIN\\name value")

    return rewrite(item, spec, prefix, handle)


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
                tests.append(Leaf(target, make_string(part, cased)))
            elif kind == "empty":
                tests.append(Leaf(target, present[False]))
        if not any(kind == "glob" for kind, _, _ in sides):
            # Only "any"/"empty" sides: the value must still be present (not a missing User).
            others = [target for kind, target, _ in sides if kind == "any"]
            if len(others) == 2:
                tests.append(or_(*[Leaf(t, present[True]) for t in others]))
            else:
                tests.append(Leaf(others[0], present[True]))
        alternatives.append(and_(*tests))
    return or_(*alternatives)


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


def hash_targets(spec: FieldTarget, prefix: str) -> dict[str, str]:
    """Algorithm name (lowercase) -> target field, from the entry's ``algorithms`` and ``to``."""
    algorithms = spec.param("algorithms") or list(_DIGEST_LENGTH)
    if len(algorithms) != len(spec.targets):
        raise SigmaTransformationError(f"{spec.sigma}: hashes needs one target per algorithm")
    return {str(a).lower(): prefix + t for a, t in zip(algorithms, spec.targets, strict=True)}


def query_hashes(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """``contains 'ALG=HEX'`` and bare ``contains 'HEX'`` on the split, lowercased digests."""
    fields = hash_targets(spec, prefix)

    def handle(value: SigmaType) -> Node:
        if isinstance(value, SigmaNull) or (isinstance(value, SigmaExists) and not value.exists):
            return and_(*[Leaf(f, value) for f in fields.values()])
        if isinstance(value, SigmaExists):
            return or_(*[Leaf(f, value) for f in fields.values()])
        if isinstance(value, SigmaCasedString):
            raise NotExact("case-sensitive match: the digests are lowercased by the shipper")
        if not isinstance(value, SigmaString):
            raise NotExact(
                f"{describe(value)}: the raw Hashes string is not kept, only contains is exact"
            )
        tokens = to_tokens(value)
        inner = tokens[1:-1]
        if (
            len(tokens) < 3
            or tokens[0] is not MANY
            or tokens[-1] is not MANY
            or not all(isinstance(t, str) for t in inner)
        ):
            raise NotExact(
                f"{value.original!r}: only contains without inner wildcards is exact (the shipper "
                "drops the raw string, its key order and the algorithm set)"
            )
        text = "".join(str(t) for t in inner)
        if "=" in text:
            algorithm, digest = text.split("=", 1)
            field = fields.get(algorithm.lower())
            if field is None:
                raise NotExact(
                    f"{algorithm!r} is not one of the mapped algorithms {', '.join(fields)}"
                )
            full = _DIGEST_LENGTH.get(algorithm.lower())
            _check_digest(digest, text)
            pattern = list(digest.lower()) + ([] if len(digest) == full else [MANY])
            return Leaf(field, make_string(pattern, cased=True))
        if len(text) < _MIN_BARE_HEX:
            raise NotExact(
                f"{text!r}: fewer than {_MIN_BARE_HEX} hex digits may sit inside an algorithm name"
            )
        _check_digest(text, text)
        return or_(*[Leaf(f, make_string([MANY, *text.lower(), MANY], cased=True)) for f in fields.values()])

    return rewrite(item, spec, prefix, handle)


def _check_digest(digest: str, text: str) -> None:
    """Refuse a digest that is not hex or is all zeros (the shipper drops those)."""
    if not _HEX.fullmatch(digest):
        raise NotExact(
            f"{text!r}: a digest must be hex digits only (several pairs lose their order)"
        )
    if not digest.strip("0"):
        raise NotExact(f"{text!r}: all-zero digests are dropped by the shipper")
