"""``value_map`` with ``unlisted: kept``: a table of integer codes whose shipper writes a code
outside the table as itself.

OpenCanary writes ``logtype`` as a JSON integer (its ``logger.py`` constants); Elastic's OpenCanary
integration looks the code's text up in a table of names (``LOG_FTP_LOGIN_ATTEMPT``) and writes
the name to ``log.logger``, or, for a code the table lacks, the code itself (``ctx.log['logger'] =
logType``: a keyword field indexes it as its decimal text). So the target holds a name for a listed
code and the decimal text for any other.

Query side: the table part is ``value_map``'s (the test decided on every listed code). The unlisted
codes are every canonical decimal integer outside the table (the record holds a number: text that
is not canonical decimal is no value of it, and the renderer refuses to render it, as
``to_integer``'s ``canonical``). The test's verdict on them is a set kept as ``(complement, codes)``:
the codes it accepts, or all codes but those. Equality with a code, ``null``, ``exists`` and
booleans decide it; a wildcard, regex, comparison or CIDR test on the unlisted codes has no exact
keyword query and is refused. The loader checks that listed codes are canonical decimal text and
that no name is (``function_checks.check_value_map``), so a name never equals an unlisted code's
text.
"""

from __future__ import annotations

from typing import Any

from sigma.conditions import ConditionAND
from sigma.rule import SigmaDetectionItem
from sigma.types import (
    SigmaBool,
    SigmaCasedString,
    SigmaExists,
    SigmaExpansion,
    SigmaNull,
    SigmaNumber,
    SigmaString,
    SigmaType,
)

from converter.mapping.functions.query import DECIMAL
from converter.mapping.functions.render import each, written
from converter.mapping.functions.tree import (
    FALSE,
    Leaf,
    Node,
    NotExact,
    QueryResult,
    and_,
    describe,
    emit,
    guarded,
    make_string,
    or_,
)
from converter.mapping.functions.values import (
    decide_vocabulary,
    invert_value_map,
    query_value_map,
    render_value_map,
    render_vocabulary,
    value_map_entries,
)
from converter.mapping.table import FieldTarget

#: The verdict on the unlisted codes: (complement, codes): the codes accepted, or when
#: ``complement`` all unlisted codes but these.
Codes = tuple[bool, frozenset[str]]
NONE: Codes = (False, frozenset())
ALL: Codes = (True, frozenset())


def _union(a: Codes, b: Codes) -> Codes:
    if a[0] and b[0]:
        return True, a[1] & b[1]
    if a[0] or b[0]:
        whole, part = (a, b) if a[0] else (b, a)
        return True, whole[1] - part[1]
    return False, a[1] | b[1]


def _intersection(a: Codes, b: Codes) -> Codes:
    if a[0] and b[0]:
        return True, a[1] | b[1]
    if a[0] or b[0]:
        whole, part = (a, b) if a[0] else (b, a)
        return False, part[1] - whole[1]
    return False, a[1] & b[1]


def _value_codes(value: SigmaType, listed: frozenset[str]) -> Codes:
    """The unlisted codes one value of a test accepts."""
    if isinstance(value, SigmaExpansion):
        out = NONE
        for sub in value.values:
            out = _union(out, _value_codes(sub, listed))
        return out
    if isinstance(value, SigmaExists):
        return ALL if value.exists else NONE
    if isinstance(value, (SigmaNull, SigmaBool)):
        return NONE  # an unlisted code is present, and its text is no boolean word
    if isinstance(value, SigmaNumber):
        text = str(value.number)
    elif isinstance(value, SigmaString) and not isinstance(value, SigmaCasedString) \
            and not value.contains_special():
        text = value.to_plain()
    else:
        raise NotExact(
            f"{describe(value)} on a code outside the table, which the shipper writes as its "
            "own decimal text: no exact keyword query"
        )
    # Sigma compares the code's decimal text (case folding changes no digit).
    return (False, frozenset({text})) if DECIMAL.fullmatch(text) and text not in listed else NONE


def unlisted_codes(item: SigmaDetectionItem, listed: frozenset[str]) -> Codes:
    """The unlisted codes the whole item accepts (its values linked, its negation applied)."""
    values = item.value or [SigmaNull()]
    conjunction = item.value_linking is ConditionAND
    out = ALL if conjunction else NONE
    for value in values:
        codes = _value_codes(value, listed)
        out = _intersection(out, codes) if conjunction else _union(out, codes)
    return (not out[0], out[1]) if item.negated else out


def query_value_map_kept(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """The listed codes' names the test accepts, OR the unlisted codes it accepts (as their text,
    or as "a value that is no name" minus the codes it rejects), OR missing when it accepts a
    missing field."""
    target = prefix + spec.target
    entries = value_map_entries(spec)
    chosen, on_missing = decide_vocabulary(item, spec, prefix, entries)
    listed = frozenset(form for _, forms in entries for form in forms)
    complement, codes = guarded(item, spec, prefix, lambda: unlisted_codes(item, listed))
    named = or_(*[Leaf(target, make_string(list(t), cased=True)) for e in chosen for t in e[0]])
    text = [Leaf(target, make_string(list(c), cased=True), negated=complement) for c in sorted(codes)]
    unlisted: Node
    if complement:
        names = [t for targets, _ in entries for t in targets]
        unlisted = and_(
            Leaf(target, SigmaExists(True)),
            *[Leaf(target, make_string(list(n), cased=True), negated=True) for n in names],
            *text,
        )
    else:
        unlisted = or_(*text)
    missing = Leaf(target, SigmaNull()) if on_missing else FALSE
    return emit(or_(named, unlisted, missing), item, target)


def render_value_map_kept(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """A listed code's name, or an unlisted code's decimal text.

    Raises:
        ValueError: the value is no integer nor its canonical decimal text, or null (a value the
            record, which holds a number, cannot hold): the event is not rendered.
    """
    entries = value_map_entries(spec)
    if value is None:  # a JSON null: the pipeline's script skips it and drops the key
        raise ValueError(f"{spec.sigma}=null: the record holds {spec.sigma} as an integer")

    def one(code: Any) -> str:
        if isinstance(code, bool) or not isinstance(code, (int, str)) \
                or (isinstance(code, str) and not DECIMAL.fullmatch(code)):
            raise ValueError(
                f"{spec.sigma}={code!r}: the record holds {spec.sigma} as an integer, never as "
                "this value"
            )
        text = str(code)
        return render_vocabulary(text, spec, entries) or text

    return written(spec.target, each(value, one))


def query_value_map_any(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """``value_map``'s query side, with or without ``unlisted: kept``."""
    if spec.param("unlisted") == "kept":
        return query_value_map_kept(item, spec, prefix)
    return query_value_map(item, spec, prefix)


def render_value_map_any(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """``value_map``'s render side, with or without ``unlisted: kept``."""
    if spec.param("unlisted") == "kept":
        return render_value_map_kept(value, spec)
    return render_value_map(value, spec)


def invert_value_map_any(value: Any, spec: FieldTarget) -> str | None:
    """The Sigma value a target value stands for; with ``unlisted: kept`` a decimal text that is
    no name stands for itself."""
    sigma = invert_value_map(value, spec)
    if sigma is None and spec.param("unlisted") == "kept" and isinstance(value, str) \
            and DECIMAL.fullmatch(value):
        return value
    return sigma
