"""pySigma backend that emits Kibana Query Language (KQL, Kibana's "kuery"; not Microsoft Kusto).

No maintained pySigma KQL backend exists, so this one follows the shape of pySigma's LuceneBackend:
class-level templates plus a few overridden ``convert_*`` methods where KQL's grammar needs care.
The value escaping (Kibana's grammar and its traps) is in ``literals.py``; this module decides
what each Sigma test becomes and refuses what KQL cannot say.

Approximations are never silent: they are appended to ``self.warnings`` (reset per rule).
Field mapping and logsource conditions belong to the processing pipelines, not here.
"""

from __future__ import annotations

from typing import Any, ClassVar, cast

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.conversion.base import TextQueryBackend
from sigma.conversion.deferred import DeferredQueryExpression
from sigma.conversion.state import ConversionState
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import (
    SigmaCasedString,
    SigmaCIDRExpression,
    CompareOperators,
    SigmaCompareExpression,
    SigmaExists,
    SigmaNull,
    SigmaString,
    SpecialChars,
)

from backends.common import (
    ExpansionGroupMixin,
    NumberCoercionMixin,
    SubfieldLimitMixin,
    WarningsMixin,
    refuse_empty_field,
)

from .literals import kql_literal, quote
from .semantics import JS_TRIM_WHITESPACE, SEMANTICS

_QS_WHITESPACE = str(SEMANTICS.get("query_string_splits_whitespace"))

__all__ = ["CASE_WARNING", "SigportKqlBackend", "kql_literal", "quote"]

#: The words of the warning for a case-insensitive Sigma match emitted case-sensitively (the
#: conversion summary counts these rules and names the ``sigport mapping`` command).
CASE_WARNING = "case-sensitively; Sigma's match is case-insensitive"


def refuse_single(value: SigmaString) -> None:
    """Refuse a Sigma ``?`` (exactly one character): Kibana KQL's only wildcard is ``*`` (zero or
    more characters) and ``?`` is a plain character (semantics ``single_wildcard``), so no KQL
    value matches what it matches; widening it to ``*`` would match more than the rule.

    Raises:
        SigmaFeatureNotSupportedByBackendError: always.
    """
    raise SigmaFeatureNotSupportedByBackendError(
        f"Sigma '?' (exactly one character) in {str(value)!r} has no Kibana KQL form: KQL's "
        "only wildcard is '*' (zero or more characters); use the kql-es, lucene or eql target"
    )


class SigportKqlBackend(
    ExpansionGroupMixin, WarningsMixin, SubfieldLimitMixin, NumberCoercionMixin, TextQueryBackend
):
    """Convert Sigma rules to Kibana Query Language queries.

    Extension points follow pySigma's TextQueryBackend: templates are class variables; values and
    field names go through ``kql_literal`` (``convert_value_str``, ``escape_and_quote_field``);
    ``convert_rule`` resets ``warnings``; regular expressions and field references raise.
    """

    name: ClassVar[str] = "Kibana KQL"
    formats: ClassVar[dict[str, str]] = {"default": "Plain Kibana Query Language (KQL) queries"}
    requires_pipeline: ClassVar[bool] = True

    # KQL precedence (grammar.peggy): not binds tightest, then and, then or.
    precedence: ClassVar[tuple[type[ConditionItem], type[ConditionItem], type[ConditionItem]]] = (
        ConditionNOT,
        ConditionAND,
        ConditionOR,
    )
    group_expression: ClassVar[str] = "({expr})"
    token_separator: str = " "
    or_token: ClassVar[str] = "or"
    and_token: ClassVar[str] = "and"
    not_token: ClassVar[str] = "not"
    eq_token: ClassVar[str] = ":"

    # KQL keyword fields are already case-sensitive, so `|cased` values use the same template.
    case_sensitive_match_expression: ClassVar[str] = "{field}:{value}"

    # Numbers and booleans are plain unquoted literals (`true`/`false` are typed literals).
    bool_values: ClassVar[dict[bool, str | None]] = {True: "true", False: "false"}
    compare_op_expression: ClassVar[str] = "{field} {operator} {value}"
    compare_operators: ClassVar[dict[CompareOperators, str] | None] = {
        SigmaCompareExpression.CompareOperators.LT: "<",
        SigmaCompareExpression.CompareOperators.LTE: "<=",
        SigmaCompareExpression.CompareOperators.GT: ">",
        SigmaCompareExpression.CompareOperators.GTE: ">=",
    }

    # `field:*` is Kibana's exists query (it also matches empty strings).
    field_exists_expression: ClassVar[str] = "{field}:*"
    field_not_exists_expression: ClassVar[str] = "not {field}:*"
    field_null_expression: ClassVar[str] = "not {field}:*"

    # `field:(a or b)` / `field:(a and b)` value lists; wildcards are fine inside them.
    convert_or_as_in: ClassVar[bool] = True
    convert_and_as_in: ClassVar[bool] = True
    in_expressions_allow_wildcards: ClassVar[bool] = True
    field_in_list_expression: ClassVar[str] = "{field}{op}({list})"
    or_in_operator: ClassVar[str] = ":"
    and_in_operator: ClassVar[str] = ":"
    list_separator: ClassVar[str] = " or "
    and_list_separator: ClassVar[str] = " and "

    # CIDR on an ip-typed field is a term query with CIDR notation (ES ip field docs).
    cidr_expression: ClassVar[str] = "{field}:{value}"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.warnings: list[str] = []


    # --- precedence and negation ---------------------------------------------------------------

    def compare_precedence(self, outer: Any, inner: Any) -> bool:
        """Group an ``and`` inside an ``or`` (and vice versa) for readers; never group a ``not``."""
        if isinstance(outer, (ConditionAND, ConditionOR)) and isinstance(
            inner, (ConditionAND, ConditionOR)
        ):
            # A same-field value list becomes one `field:(...)` term that needs no group.
            if self.decide_convert_condition_as_in_expression(inner, ConversionState()):
                return True
            return type(inner) is type(outer)
        return super().compare_precedence(outer, inner)

    def convert_condition_not(
        self, cond: ConditionNOT, state: ConversionState
    ) -> str | DeferredQueryExpression | None:
        """Negate; KQL has no ``not not``, so double negations are resolved or parenthesised."""
        arg = cond.args[0]
        if isinstance(arg, ConditionFieldEqualsValueExpression):
            # not (null) / not (exists: false) -> exists
            if isinstance(arg.value, SigmaNull) or (
                isinstance(arg.value, SigmaExists) and not arg.value
            ):
                self.warn_length_limit(arg.field, arg.value)
                return self.field_exists_expression.format(
                    field=self.escape_and_quote_field(arg.field)
                )
        result = super().convert_condition_not(cond, state)
        prefix = f"{self.not_token}{self.token_separator}"
        if isinstance(result, str) and result.startswith(prefix + prefix):
            # NotQuery = Not SubQuery: the inner negation must be a parenthesised sub-query.
            return prefix + self.group_expression.format(expr=result[len(prefix) :])
        return result

    # --- values and field names ----------------------------------------------------------------

    def escape_and_quote_field(self, field_name: str) -> str:
        """Field names are KQL literals too: escape specials/keywords, quote edge whitespace."""
        text, _ = kql_literal([refuse_empty_field(field_name)], what="field name")
        return text

    def convert_value_str(self, s: SigmaString, state: ConversionState) -> str:
        """Render a Sigma string as a KQL value; a Sigma ``?`` is refused (``refuse_single``)."""
        text, widened = kql_literal(s.iter_parts())
        if widened:
            refuse_single(s)
        return text

    def _check_wildcard_spaces(self, field: str, value: Any) -> None:
        """Refuse a wildcard value with whitespace on a field KQL would not treat as keyword.

        Kibana turns a wildcard value into a ``wildcard`` query only on ``keyword`` fields; on
        any other field (``wildcard``-typed ``process.command_line``, text, unknown) it goes
        through ``query_string``, which splits it at the whitespace into OR-ed terms (Kibana
        is.ts; SEMANTICS.md 2.2), so ``* -n *`` would also match ``-n`` anywhere.
        """
        if not isinstance(value, SigmaString) or not value.contains_special():
            return
        if not any(isinstance(p, str) and any(c in _QS_WHITESPACE for c in p)
                   for p in value.iter_parts()):
            return  # query_string splits only at these (query_string_splits_whitespace)
        info = self.field_model().lookup(field)
        if info is not None and info.type == "keyword":
            return
        raise SigmaFeatureNotSupportedByBackendError(
            f"KQL cannot match the wildcard value {str(value)!r} on {field} exactly: on a field "
            "that is not a keyword field Kibana splits it at the spaces (query_string); use a "
            "mapping with a lowercase-normalised keyword multi-field of it (sigport mapping, "
            "--mapping) or the eql/lucene target"
        )

    def _check_case(self, field: str, value: Any) -> None:
        """Warn when KQL's case rule differs from Sigma's for this field and string value."""
        if not isinstance(value, SigmaString):
            return
        self.warn_length_limit(field, value)
        plain = "".join(p for p in value.iter_parts() if isinstance(p, str))
        if plain.lower() == plain.upper():
            return  # no letters: case cannot matter
        if self.caseless_copy_of(field, value, "KQL") is not None:
            return  # KQL's match on the copy (a wildcard field) is case-sensitive: exact
        caseless = self.is_lowercase_field(field)
        if isinstance(value, SigmaCasedString):
            if caseless:
                self.warn(
                    f"KQL matches {field} case-insensitively (lowercase normalizer); the Sigma "
                    f"value {plain!r} is |cased"
                )
        elif not caseless:
            self.warn(f"KQL matches {field} {CASE_WARNING}; " + self._caseless_advice(field))


    def _caseless_advice(self, field: str) -> str:
        """What would make a case-insensitive match on ``field`` exact, for this data source.

        Only a lowercase-normalised keyword form of the field lets KQL match without case:
        Elastic Defend ships ``.caseless`` sub-fields for some process and file fields, and
        ``sigport mapping`` writes the index template that adds one for any field.
        """
        from backends.query.fields import BUILTIN_SOURCES, FieldModel

        with_caseless = [
            source for source in BUILTIN_SOURCES
            if FieldModel.builtin(source).caseless_form(field) is not None
        ]
        current = self.data_source_name() or "defend"
        own = self.field_model().caseless_form(field)
        if own is not None:
            # The pipeline kept the base field: a custom pipeline, or a logsource whose index
            # lacks the multi-field (an integration's index beside Elastic Defend's, such as
            # the Auditd Logs integration's process.executable).
            return (
                f"the field model has {own.name} (lowercase normalizer), but the pipeline kept "
                f"{field} (a custom pipeline, or this logsource's index has no such multi-field); "
                f"add a lowercase-normalised keyword multi-field of {field} to that index and "
                "convert with --mapping, or use the eql/lucene target"
            )
        others = [s for s in with_caseless if s != current]
        also = "".join(f"data_source={s} ({field}.caseless) or " for s in others)
        return (
            f"add a lowercase-normalised keyword multi-field of {field} to the index "
            f"(`sigport mapping RULES --data-source {current}` writes the template) and convert "
            f"with --mapping, or use {also}the eql/lucene target"
        )

    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str | DeferredQueryExpression:
        """``field:value`` with the case caveat recorded."""
        self._check_wildcard_spaces(cond.field, cond.value)
        self._check_case(cond.field, cond.value)
        return super().convert_condition_field_eq_val_str(cond, state)

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str | DeferredQueryExpression:
        """``|cased``: KQL keyword matching is already case-sensitive."""
        self._check_wildcard_spaces(cond.field, cond.value)
        self._check_case(cond.field, cond.value)
        return super().convert_condition_field_eq_val_str_case_sensitive(cond, state)

    def convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> str | DeferredQueryExpression:
        """``field:(a or b)`` / ``field:(a and b)``; the separator follows the boolean kind."""
        for arg in cond.args:
            assert isinstance(arg, ConditionFieldEqualsValueExpression)
            self.warn_unmodelled(arg.field)
            self._check_wildcard_spaces(arg.field, arg.value)
            self._check_case(arg.field, arg.value)
            if not isinstance(arg.value, SigmaString):
                self.warn_number_coercion(arg.field)
        args = cast("list[ConditionFieldEqualsValueExpression]", cond.args)  # asserted above
        field = self.escape_and_quote_field(args[0].field)
        is_or = isinstance(cond, ConditionOR)
        separator = self.list_separator if is_or else self.and_list_separator
        values = [
            self.convert_value_str(arg.value, state)
            if isinstance(arg.value, SigmaString)
            else str(arg.value)
            for arg in args
        ]
        op = self.or_in_operator if isinstance(cond, ConditionOR) else self.and_in_operator
        return self.field_in_list_expression.format(
            field=field, op=op, list=separator.join(values)
        )

    def convert_condition_field_eq_val_cidr(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str | DeferredQueryExpression:
        """``field:10.0.0.0/8``; IPv6 colons are escaped. Only ip-typed fields read it as CIDR
        (semantics ``ip_cidr``): on a field the model types otherwise (a keyword field such as
        the Security channel's ``winlog.event_data.IpAddress``) the term is the literal text and
        matches no address, so the test is refused; on a field the model does not know, the
        index's type decides and the query is declared."""
        assert isinstance(cond.value, SigmaCIDRExpression)
        info = self.field_model().lookup(cond.field)
        if info is not None and info.type != "ip":
            raise SigmaFeatureNotSupportedByBackendError(
                f"KQL cannot test {cond.field} (a {info.type} field) against the network "
                f"{cond.value.network}: only an ip field reads CIDR notation, on a {info.type} "
                "field it is the literal text; no Elasticsearch target tests a network there "
                "(EQL's cidrMatch and ES|QL's CIDR_MATCH take an ip field only)"
            )
        if info is None:
            self.warn(
                f"KQL reads {cond.value.network} as a network only if {cond.field} is an ip "
                "field, which the field model does not say (on any other type it is the "
                "literal text)"
            )
        network, _ = kql_literal([str(cond.value.network)])
        return self.cidr_expression.format(
            field=self.escape_and_quote_field(cond.field), value=network
        )

    # --- unbound values ------------------------------------------------------------------------

    def convert_condition_val_str(
        self, cond: ConditionValueExpression, state: ConversionState
    ) -> str | DeferredQueryExpression:
        """Free-text search over Kibana's default fields, as ``*value*`` (or a quoted phrase).

        KQL free text goes to query_string/multi_match over ``index.query.default_field``; its
        outcome depends on every field's mapping, so a warning is always recorded. A value with
        inner whitespace and wildcards is refused: query_string would split it into OR-ed words.
        """
        value = cond.value
        assert isinstance(value, SigmaString)
        parts = list(value.iter_parts())
        plain = "".join(p for p in parts if isinstance(p, str))
        has_space = any(c in JS_TRIM_WHITESPACE for c in plain)
        if has_space:
            if value.contains_special():
                raise SigmaFeatureNotSupportedByBackendError(
                    f"KQL free text cannot search for {str(value)!r}: a wildcard value with "
                    "whitespace is split into OR-ed words by query_string; use a field"
                )
            self.warn(
                f"KQL free text {plain!r} is a phrase search over Kibana's default fields "
                "(token phrase on text fields, whole value on keyword fields)"
            )
            return quote(plain)
        if parts and parts[0] != SpecialChars.WILDCARD_MULTI:
            parts.insert(0, SpecialChars.WILDCARD_MULTI)
        if parts and parts[-1] != SpecialChars.WILDCARD_MULTI:
            parts.append(SpecialChars.WILDCARD_MULTI)
        text, widened = kql_literal(parts)
        if widened:
            refuse_single(value)
        self.warn(
            f"KQL free text {text} searches Kibana's default fields (index.query.default_field); "
            "the result depends on each field's mapping and case rules"
        )
        return text

    def convert_condition_val_num(
        self, cond: ConditionValueExpression, state: ConversionState
    ) -> str | DeferredQueryExpression:
        """A bare number is free text too (multi_match, lenient)."""
        self.warn(f"KQL free text {cond.value} searches Kibana's default fields")
        return str(cond.value)

    # --- unsupported ---------------------------------------------------------------------------

    def convert_condition_field_eq_val_re(self, cond: Any, state: ConversionState) -> Any:
        """A regex whose meaning is a finite union of wildcard values (``backends.regex_globs``)
        is written as their OR, through the string conversion and its case bookkeeping; any
        other regex is refused (KQL has no regular expressions)."""
        from backends.regex_globs import NotGlobs, glob_condition

        try:
            union = glob_condition(cond)
        except NotGlobs as reason:
            raise SigmaFeatureNotSupportedByBackendError(
                f"KQL has no regular expressions (field {cond.field}) and this one is no finite "
                f"set of wildcard values ({reason}); use the lucene or eql target"
            ) from None
        result = self.convert_condition(union, state)
        if isinstance(union, ConditionOR) and isinstance(result, str):
            return self.group_expression.format(expr=result)  # one term under not/and
        return result

    def convert_condition_val_re(self, cond: Any, state: ConversionState) -> Any:
        """Regular expressions cannot be written in KQL."""
        raise SigmaFeatureNotSupportedByBackendError(
            "KQL has no regular expressions; use the lucene or eql target"
        )

    def convert_condition_field_eq_field(self, cond: Any, state: ConversionState) -> Any:
        """KQL compares fields with constants only."""
        raise SigmaFeatureNotSupportedByBackendError(
            f"KQL cannot compare field {cond.field} with another field (fieldref); use the esql "
            "or splunk target"
        )

    def convert_condition_field_eq_val_timestamp_part(
        self, cond: Any, state: ConversionState
    ) -> Any:
        """KQL has no date-part functions."""
        raise SigmaFeatureNotSupportedByBackendError(
            "KQL cannot extract timestamp parts (minute/hour/day...); use the eql or esql target"
        )
