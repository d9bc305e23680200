"""The deferred expressions the Splunk emitter adds as trailing pipes (``| where``, ``| eval``),
and the marker for an AND that left nothing to the search command.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Iterable, TypeVar

from sigma.backends.splunk.splunk import SplunkDeferredORRegularExpression
from sigma.conversion.deferred import DeferredQueryExpression, DeferredTextQueryExpression
from sigma.conversion.state import ConversionState


@dataclass
class NoSearchTerm(DeferredQueryExpression):
    """Marks an AND whose operands all became trailing pipes (nothing left for the search).

    The stock AND conversion returns None in that case, and a None root drops the whole query.
    Not registered in the state: it renders nothing.
    """

    def __post_init__(self) -> None:  # deliberately skip registration in the state
        pass

    def finalize_expression(self) -> str:
        """Nothing to render."""
        return ""


class SplDeferredWhereFieldRef(DeferredTextQueryExpression):
    """``| where lower('a')=lower('b')``: case-insensitive field-to-field equality (AND context)."""

    template: ClassVar[str] = "where lower('{field}')=lower('{value}')"
    operators: ClassVar[dict[bool, str]] = {False: "", True: ""}
    default_field: ClassVar[str | None] = None

    def finalize_expression(self) -> str:
        """Render the where command (never negated: NOT contexts use condition fields)."""
        return self.template.format(field=self.field, value=self.value)


def condition_stems(fields: Iterable[str]) -> dict[str, str]:
    """The stem of each field's ``<stem>Condition<n>`` eval field, unique within the rule.

    The stock stem is the last dotted part, so ``userIdentity.type`` and
    ``userIdentity.sessionContext.sessionIssuer.type`` (or ``target{}.type`` and ``type``) both
    wrote ``typeCondition``: the second eval overwrote the first and the search read one test
    for both. Here the readable stem (last dotted part, no ``{}``) is kept for the first field
    that has it and later ones get ``_2``, ``_3``, ... skipping any stem already taken. ``fields``
    is the stock counter in insertion order, so a field's stem never changes as fields are added.
    ``<stem>Condition<n>`` stays unique: ``n`` is digits (or nothing), so the last ``Condition``
    the name holds ends the stem.
    """
    stems: dict[str, str] = {}
    used: set[str] = set()
    for field in fields:
        base = str(SplunkDeferredORRegularExpression.clean_field(field)).replace("{}", "")
        stem, n = base, 1
        while stem in used:
            n += 1
            stem = f"{base}_{n}"
        used.add(stem)
        stems[field] = stem
    return stems


def all_condition_fields(counts: dict[str, int]) -> set[str]:
    """Every ``<stem>Condition<n>`` name the deferred expressions of ``counts`` wrote (the stock
    ``get_all_condition_fields`` with the unique stems)."""
    stems = condition_stems(counts)
    return {
        f"{stems[field]}Condition{'' if i == 1 else i}"
        for field, count in counts.items()
        for i in range(1, count + 1)
    }


class UniqueConditionNames(SplunkDeferredORRegularExpression):
    """The stock OR-regex deferred with a unique condition-field stem per field
    (``condition_stems``); the counter it shares with the stock class keeps the order."""

    @classmethod
    def clean_field(cls, field: str) -> str:  # type: ignore[override]
        """The field's unique stem among the rule's condition fields so far."""
        return condition_stems(SplunkDeferredORRegularExpression.field_counts)[field]


class SplDeferredEvalFieldRef(UniqueConditionNames):
    """``| eval <F>Condition=if(lower('a')=lower('b'), "true", "false")`` for OR/NOT contexts.

    A subclass of the stock OR-regex deferred so the stock ``finish_query`` collects it with the
    ``rex``/``eval`` commands and shares their condition-field counter (unique names). A null
    comparison makes ``if`` take the "false" branch, so ``NOT <F>Condition="true"`` is true for a
    missing field, as Sigma's negation is.
    """

    def __init__(self, state: ConversionState, field: str, other: str) -> None:
        self.add_field(field)
        condition = self.get_field_condition(field)
        self.rendered = (
            f"eval {condition}=if(lower('{field}')=lower('{other}'), \"true\", \"false\")"
        )
        DeferredTextQueryExpression.__init__(self, state, field, other)

    def finalize_expression(self) -> str:
        """Render the eval command computed in ``__init__``."""
        return self.rendered


class SplDeferredEvalRegex(UniqueConditionNames):
    """``| eval <F>Condition=if(isnotnull(mvfind('<F>', "<pcre>")), "true", "false")``.

    The exact regex test for OR/NOT contexts. ``mvfind`` returns the index of the first value of
    the field that the (unanchored) PCRE matches and NULL when none does, a missing field
    included, so the condition is "true" exactly when some value matches, and "false" otherwise:
    ``NOT <F>Condition="true"`` then keeps events lacking the field, as Sigma's negation does.
    The field is single-quoted (in eval a bare ``a.b`` would be the concatenation of ``a`` and
    ``b``); the pattern arrives escaped for one level of string unescaping, which eval string
    literals apply like the search command's (``eval_string_unescape``).

    A subclass of the stock OR-regex deferred so the stock ``finish_query`` collects it with the
    other condition-field commands and shares their counter (unique names per field).
    """

    def __init__(self, state: ConversionState, field: str, spl_regex: str) -> None:
        self.add_field(field)
        condition = self.get_field_condition(field)
        self.rendered = (
            f"eval {condition}=if(isnotnull(mvfind('{field}', \"{spl_regex}\")), "
            '"true", "false")'
        )
        DeferredTextQueryExpression.__init__(self, state, field, spl_regex)

    def finalize_expression(self) -> str:
        """Render the eval command computed in ``__init__``."""
        return self.rendered


_Deferred = TypeVar("_Deferred", bound=DeferredQueryExpression)


def attach(expression: _Deferred, cond: object) -> _Deferred:
    """``expression`` with ``cond`` as its parent: pySigma's ``postprocess``, which returns the
    expression itself (a deferred expression needs no detections; pySigma's Splunk backend
    passes None too, which its annotation does not admit)."""
    expression.postprocess(None, cond)  # type: ignore[arg-type]
    return expression
