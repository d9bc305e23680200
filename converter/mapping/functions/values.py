"""Value functions over closed vocabularies, in both directions.

* ``integrity_level_name``: Sysmon level names and Security 4688 label SIDs -> Defend's lowercase
  level names;
* ``mandatory_label``: raw Splunk Security 4688's label, as its SID or its resolved name;
* ``value_map``: a finite table ``{Sigma value: target value(s)}`` given in the mapping table
  (Sysmon ``Initiated: 'true'`` -> ECS ``network.direction: egress``).

They share one method (``vocabulary_query``): a field whose source writes only the values of a
closed list is tested by evaluating the rule's test, with Sigma's semantics, on every value of
the list, and the query keeps the target values of the accepted ones. Each render side writes the
target value of the source value. Case does not identify a value (Sysmon writes each value in one
fixed case; a Sigma test compares case-insensitively), so the render sides fold case and the query
sides refuse ``cased`` tests, which are the only string tests that could tell case variants
apart. ``to_ip`` (addresses) is in ``ip.py``.
"""

from __future__ import annotations

from typing import Any

from sigma.conditions import ConditionAND
from sigma.rule import SigmaDetectionItem
from sigma.types import (
    SigmaCasedString,
    SigmaCompareExpression,
    SigmaExists,
    SigmaNull,
    SigmaNumber,
    SigmaString,
    SigmaType,
)

from converter.mapping.functions.render import each, scalar_string, written
from converter.mapping.functions.tree import (
    FALSE,
    Leaf,
    Node,
    NotExact,
    QueryResult,
    describe,
    emit,
    guarded,
    make_string,
    or_,
    sigma_value_matches,
)
from converter.mapping.table import FieldTarget
from converter.reference.fields import fold

# One entry of a closed vocabulary: (target values, source forms). The first target value is the
# one the render side writes; every source form renders to it.
Entry = tuple[tuple[str, ...], tuple[str, ...]]

# ---------------------------------------------------------------------------------------------
# Closed vocabularies


def vocabulary_query(
    item: SigmaDetectionItem,
    spec: FieldTarget,
    prefix: str,
    entries: list[Entry],
    noun: str = "value",
    all_means_exists: bool = False,
) -> QueryResult:
    """Decide the whole item on every source form; query the target values of the accepted ones.

    An entry is exact only when the item accepts all of its source forms or none (the target keeps
    the entry, not which form the source wrote). A missing field stays missing: the item's verdict
    on a missing field becomes a ``null`` test on the target.

    Args:
        entries: the vocabulary.
        noun: what an entry is called in error messages (``level``).
        all_means_exists: when every entry is accepted, test that the target exists (the target
            holds no other value) instead of listing the values.
    """
    target = prefix + spec.target
    chosen, on_missing = decide_vocabulary(item, spec, prefix, entries, noun)
    present: Node
    if all_means_exists and len(chosen) == len(entries):
        present = Leaf(target, SigmaExists(True))
    else:
        present = or_(
            *[Leaf(target, make_string(list(t), cased=True)) for e in chosen for t in e[0]]
        )
    missing = Leaf(target, SigmaNull()) if on_missing else FALSE
    return emit(or_(present, missing), item, target)


def decide_vocabulary(
    item: SigmaDetectionItem,
    spec: FieldTarget,
    prefix: str,
    entries: list[Entry],
    noun: str = "value",
) -> tuple[list[Entry], bool]:
    """The entries whose source forms the whole item accepts, and its verdict on a missing field.

    Raises:
        SigmaTransformationError: the item tells the forms of one entry apart, or uses a test no
            vocabulary can answer (``cased``, comparisons).
    """
    linking = all if item.value_linking is ConditionAND else any
    values = item.value or [SigmaNull()]

    def accepts(form: str | None) -> bool:  # None: the field is missing
        def one(value: SigmaType) -> bool:
            if isinstance(value, SigmaNull):
                return form is None
            if isinstance(value, SigmaExists):
                return (form is not None) is value.exists
            if isinstance(value, SigmaCasedString):
                raise NotExact(
                    "case-sensitive match: the target keeps the value, not the case the source "
                    "wrote it in"
                )
            if isinstance(value, SigmaCompareExpression):
                raise NotExact(f"{describe(value)} cannot be tested on a vocabulary of names")
            return form is not None and sigma_value_matches(value, form)

        return linking(one(v) for v in values) is not item.negated

    def accepted() -> list[Entry]:
        out = []
        for entry in entries:
            targets, forms = entry
            verdicts = {form: accepts(form) for form in forms}
            if len(set(verdicts.values())) > 1:
                raise NotExact(
                    f"the rule tells the forms of {noun} {targets[0]!r} apart "
                    f"({', '.join(f'{f}: {v}' for f, v in verdicts.items())}) but the target "
                    f"keeps only the {noun}; list {'both forms' if len(forms) == 2 else 'every form'}"
                    " in the rule"
                )
            if verdicts[forms[0]]:
                out.append(entry)
        return out

    chosen = guarded(item, spec, prefix, accepted)
    return chosen, bool(guarded(item, spec, prefix, lambda: accepts(None)))


def render_vocabulary(value: Any, spec: FieldTarget, entries: list[Entry]) -> str | None:
    """The first target value of the entry one of whose forms is ``value`` (case folded).

    Folded as the reference folds (``converter.reference.fields.fold``): a case variant Sigma
    matches (``admİn`` for ``admin``) stands for the same value, as the query side decides.
    """
    if value is None:
        return None
    # An event id is written as a number (EventID: 4697): Sigma compares its text.
    text = fold(str(value)) if isinstance(value, (str, bool, int)) else None
    if text is None:
        return None
    for targets, forms in entries:
        if text in (fold(form) for form in forms):
            return targets[0]
    return None


# Defend's closed vocabulary (custom_token.yml) with the Sysmon name and the mandatory-label SID.
INTEGRITY_LEVELS = (
    ("system", "System", "S-1-16-16384"),
    ("high", "High", "S-1-16-12288"),
    ("medium", "Medium", "S-1-16-8192"),
    ("low", "Low", "S-1-16-4096"),
    ("untrusted", "Untrusted", "S-1-16-0"),
)
_INTEGRITY: list[Entry] = [((name,), tuple(forms)) for name, *forms in INTEGRITY_LEVELS]


def query_integrity_level_name(
    item: SigmaDetectionItem, spec: FieldTarget, prefix: str
) -> QueryResult:
    """Evaluate the whole item on both source forms of each level; keep the levels it accepts.

    The target keeps the level but not its form (Sysmon name or label SID), so a level is exact
    only when the item accepts both forms or neither: ``IntegrityLevel: High`` alone is an error,
    ``['High', 'S-1-16-12288']`` (as SigmaHQ writes it) is ``high``.
    """
    return vocabulary_query(item, spec, prefix, _INTEGRITY, noun="level", all_means_exists=True)


def render_integrity_level_name(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """Sysmon name or label SID -> Defend's lowercase name.

    Raises:
        ValueError: the value is outside Defend's vocabulary (AppContainer, S-1-16-8448, ...).
    """
    text = scalar_string(value, spec)
    if text is None:
        return {}
    name = render_vocabulary(text, spec, _INTEGRITY)
    if name is None:
        raise ValueError(
            f"{spec.sigma}: {text!r} is not in Elastic Defend's integrity-level vocabulary "
            f"({', '.join(f for _, *forms in INTEGRITY_LEVELS for f in forms)})"
        )
    return {spec.target: name}


# The mandatory-label SIDs (S-1-16-<RID>) with the account name LookupAccountSid gives them
# (Microsoft "Well-known SIDs": https://learn.microsoft.com/windows/win32/secauthz/well-known-sids;
# `whoami /groups` shows the domain part "Mandatory Label").
MANDATORY_LABELS = (
    ("S-1-16-0", "Untrusted"),
    ("S-1-16-4096", "Low"),
    ("S-1-16-8192", "Medium"),
    ("S-1-16-8448", "Medium Plus"),
    ("S-1-16-12288", "High"),
    ("S-1-16-16384", "System"),
    ("S-1-16-20480", "Protected Process"),
    ("S-1-16-28672", "Secure Process"),
)
_LABELS: list[Entry] = [
    ((sid, f"Mandatory Label\\{name} Mandatory Level"), (sid,)) for sid, name in MANDATORY_LABELS
]


def query_mandatory_label(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """Security 4688's ``MandatoryLabel`` on a shipper that may write the SID (the record's
    ``<Data>``) or its resolved name (``Mandatory Label\\High Mandatory Level``): the test is
    decided on the SID, the record's value, and the query lists both spellings of each accepted
    label, so it is exact whichever the shipper writes."""
    return vocabulary_query(item, spec, prefix, _LABELS, noun="mandatory label",
                            all_means_exists=True)


def render_mandatory_label(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """A label SID in both spellings the shipper may write (``Alternatives``: check proves on
    each).

    Raises:
        ValueError: the value is no mandatory-label SID (a Sysmon name such as ``High`` is no
            value of a 4688 record).
    """
    from converter.mapping.functions.render import Alternatives

    text = scalar_string(value, spec)
    if text is None:
        return {}
    for targets, forms in _LABELS:
        if fold(text) in (fold(f) for f in forms):
            return {spec.target: Alternatives(targets)}
    raise ValueError(
        f"{spec.sigma}: {text!r} is no mandatory-label SID "
        f"({', '.join(sid for sid, _ in MANDATORY_LABELS)})"
    )


def value_map_entries(spec: FieldTarget) -> list[Entry]:
    """The ``values`` parameter of a ``value_map`` entry as vocabulary entries.

    ``values: {"true": egress, "false": [ingress, incoming]}``: each Sigma value has one target
    value or a list of them (a data source that has written several spellings over its versions);
    the first is the one rendered.

    Raises:
        ValueError: ``values`` is missing or not such a mapping.
    """
    table = spec.param("values")
    if not isinstance(table, dict) or not table:
        raise ValueError(f"{spec.sigma}: value_map needs a non-empty `values` mapping")
    out: list[Entry] = []
    for source, target in table.items():
        targets = tuple(target) if isinstance(target, list) else (target,)
        if not isinstance(source, str) or not targets or not all(isinstance(t, str) for t in targets):
            raise ValueError(
                f"{spec.sigma}: value_map maps strings to a string or a list of strings "
                f"(got {source!r}: {target!r}; quote YAML words such as 'true')"
            )
        out.append((targets, (source,)))
    return out


def query_value_map(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """The test decided on every Sigma value of the table; the target values of the accepted.

    With the parameter ``open`` (its text says why), the target also holds values the table does
    not list (Elastic Defend writes Security events of other ids under other ``event.action``
    values), so a test is exact only when no value outside the table can satisfy it: a positive
    test whose values are all plain listed values (``EventID: 4697``). Anything else (another id,
    a wildcard, ``null``, a negated item) could also hold on those events and is refused.
    """
    entries = value_map_entries(spec)
    why = spec.param("open")
    if why:
        guarded(item, spec, prefix, lambda: _only_listed(item, entries, str(why)))
    return vocabulary_query(item, spec, prefix, entries)


def _only_listed(item: SigmaDetectionItem, entries: list[Entry], why: str) -> None:
    """Refuse a test an unlisted value of an open vocabulary could satisfy (``query_value_map``)."""
    forms = {fold(form) for _, entry_forms in entries for form in entry_forms}
    listed = ", ".join(form for _, entry_forms in entries for form in entry_forms)
    if item.negated:
        raise NotExact(f"a negated test also holds on values outside {listed}: {why}")
    for value in item.value:
        text: str | None = None
        if isinstance(value, SigmaNumber) or (
            type(value) is SigmaString and not value.contains_special()
        ):
            text = str(value)
        if text is None or fold(text) not in forms:
            raise NotExact(
                f"{str(value)!r} ({describe(value)}) is not one of the listed values ({listed}), "
                f"and the target also holds unlisted ones: {why}"
            )


def render_value_map(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """The target value of a Sigma value of the table (case folded); any other value: nothing.

    That is what the shipper's conditional ``set`` does (the Windows integration writes
    ``network.direction`` only for ``Initiated`` "true" or "false").
    """
    entries = value_map_entries(spec)
    return written(spec.target, each(value, lambda v: render_vocabulary(v, spec, entries)))


def invert_value_map(value: Any, spec: FieldTarget) -> str | None:
    """The Sigma value a target value stands for (for events given in the target schema)."""
    for targets, forms in value_map_entries(spec):
        if value in targets:
            return forms[0]
    return None
