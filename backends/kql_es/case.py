"""What ``case_insensitive`` does to one keyword-field value, and which setting each value needs.

Elasticsearch's ``kql`` query has one ``case_insensitive`` parameter for its whole text
(``case_insensitive_scope``), and it reaches only term and wildcard queries on ``keyword`` fields.
Its folding is ASCII-only or Unicode simple case folding depending on the version
(``case_insensitive_folding``), Sigma's is the per-code-point simple lowercase, so a value is
exact under it only when every letter folds alike under every reading; ``alternatives`` writes a
value whose letters only miss partners (``İ`` beside ``i``) with those partners.

Each keyword-field string test of a query is a ``CaseRecord``; ``CaseRecord.need`` says which
setting matches it as Sigma does: ``True`` (a case-insensitive value on a plain keyword field),
``False`` (a ``|cased`` one there, or a case-insensitive one on a lowercase-normalised field
holding a letter the folding would widen, such as ``s`` and ``ſ`` under Unicode folding), or
``None`` when either does. The emitter splits a rule whose tests need both into ``kql`` queries
that each carry their own setting (``backend_dsl.py``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from sigma.types import SigmaCasedString, SigmaString

from backends.query.ast import Fold
from backends.query.folding import SIMPLE, equivalents, folds_alike, simple_lower

from .semantics import SEMANTICS

#: The readings of ``case_insensitive`` plus Sigma's own (per-code-point simple lowercase).
CI_READINGS = SEMANTICS.typed("case_insensitive_folding", Fold).readings
READINGS = (SIMPLE, *CI_READINGS)

#: At most this many alternatives per value (the product of each letter's partners).
MAX_ALTERNATIVES = 8


def _partners(char: str) -> str | None:
    """The characters to write for ``char`` so that case_insensitive matches Sigma's class of
    it under every reading (``İ`` beside ``i``, the Kelvin sign beside ``k``, ``É`` beside
    ``é``: each reading folds them apart, Sigma's lowercase joins them), or None when some
    reading also matches a character Sigma does not (``ſ`` for ``s`` under Unicode folding)."""
    sigma = set(equivalents(char, SIMPLE))
    picked, covered = char, set(equivalents(char, CI_READINGS[0]))
    for other in sorted(sigma - covered):
        if other not in covered:
            picked += other
            covered |= set(equivalents(other, CI_READINGS[0]))
    for reading in CI_READINGS:
        if set().union(*(equivalents(x, reading) for x in picked)) != sigma:
            return None
    return picked


def alternatives(parts: list[Any]) -> list[list[Any]] | None:
    """``parts`` as the alternatives case_insensitive matches exactly as Sigma's lowercase does
    (one when every letter folds alike), or None when no set of them does or there would be
    more than ``MAX_ALTERNATIVES``."""
    options: list[list[Any]] = []
    count = 1
    for part in parts:
        if not isinstance(part, str):
            options.append([part])
            continue
        for char in part:
            partners = char if folds_alike(char, READINGS) else _partners(char)
            if partners is None:
                return None
            options.append(list(partners))
            count *= len(partners)
    if count > MAX_ALTERNATIVES:
        return None
    return [list(choice) for choice in itertools.product(*options)]


def ci_exact(char: str, normalized: bool) -> bool:
    """True when ``case_insensitive`` matches ``char`` as Sigma does under every reading: on a
    plain keyword field the class of ``char`` is the same under Sigma's and ES's readings; on a
    lowercase-normalised one, the lowercase forms each reading reaches are ``char``'s alone."""
    if not normalized:
        return folds_alike(char, READINGS)
    lower = simple_lower(char)
    return all(
        {x for x in equivalents(lower, r) if simple_lower(x) == x} <= {lower} for r in CI_READINGS
    )


def plain_text(value: SigmaString) -> str:
    """The literal characters of ``value`` (its wildcards left out)."""
    return "".join(p for p in value.iter_parts() if isinstance(p, str))


@dataclass(frozen=True)
class CaseRecord:
    """One string test on a ``keyword`` field, as the emitter wrote it into a ``kql`` query.

    Attributes:
        field: the queried field.
        info: its ``FieldInfo`` (``backends.query.fields``).
        value: the Sigma value (``SigmaCasedString`` for ``|cased``).
        shipper: written by the data source's logsource conditions (the shipper writes exactly
            this value, so a case-insensitive test of it selects the same documents).
        expanded: written with its letters' case partners (``alternatives``).
    """

    field: str
    info: Any
    value: SigmaString
    shipper: bool
    expanded: bool = False

    @property
    def cased(self) -> bool:
        """True for a ``|cased`` value."""
        return isinstance(self.value, SigmaCasedString)

    @property
    def normalized(self) -> bool:
        """True on a field with the ``lowercase`` normalizer (``normalizer_lowercase``)."""
        return bool(self.info.normalizer == "lowercase")

    def need(self) -> bool | None:
        """The ``case_insensitive`` under which this test matches as Sigma's, or None when
        either setting gives the same (or neither can: a ``|cased`` value on a lowercased field,
        declared whatever the setting; a normalizer the model does not know)."""
        if self.info.normalizer not in (None, "lowercase"):
            return None
        if self.normalized:
            if self.cased:
                return None
            exact = all(ci_exact(c, normalized=True) for c in plain_text(self.value))
            return None if exact else False
        if self.cased:
            return None if self.shipper else False
        return True


def query_setting(records: list[CaseRecord] | tuple[CaseRecord, ...]) -> bool:
    """The ``case_insensitive`` of one ``kql`` query holding ``records``: true when a test
    needs it (a case-insensitive value on a plain keyword field), else false."""
    return any(record.need() is True for record in records)


def conflict(records: list[CaseRecord] | tuple[CaseRecord, ...]) -> bool:
    """True when some of ``records`` need ``case_insensitive`` true and others false: one
    ``kql`` query cannot match them all as Sigma does."""
    needs = {record.need() for record in records}
    return True in needs and False in needs
