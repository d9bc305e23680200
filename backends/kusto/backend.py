"""pySigma backend that emits Microsoft Kusto (Sentinel, Defender XDR advanced hunting).

It subclasses pySigma-backend-kusto's ``KustoBackend`` and replaces the conversions whose meaning
differs from the rule's (AttackIQ/pySigma-backend-kusto issues #13, #14, #34):

* ``?`` was emitted as ``*`` and wildcards inside a value were dropped (``contains`` of each
  piece, in any order): here a value with an inner wildcard or a ``?`` becomes an anchored RE2
  pattern whose letters are written as explicit classes (``[cC]``) of every code point that
  Sigma's case-insensitive reading (per-code-point simple lowercase) makes equal, so the match is
  exactly Sigma's whatever Kusto's own case folding is;
* ``contains|all`` lists with wildcards were widened the same way: each value is converted alone;
* ``not((...))`` was garbled: negation is always ``not(<expr>)`` around one group;
* Sigma's ``re|i``/``|m``/``|s`` flags were ignored: they become RE2 inline flags, and a Sigma
  (PCRE) pattern is emitted only when RE2 reads it the same way (see ``regex.py``);
* a missing numeric column is null, ``null > 5`` is null and not(null) drops the row where
  Sigma's negated comparison is true: under a not() an ordering comparison is written
  ``coalesce(X > 5, false)`` (``==`` and ``in`` are false on null and need nothing);
* field names that are not identifiers were quoted ``'like this'`` (a string): ``['like this']``.

It never uses ``has`` (term matching is not substring containment). Sigma's case-insensitive
matching becomes ``=~`` / ``in~`` / ``contains`` / ``startswith`` / ``endswith``; Microsoft does
not document how those fold non-ASCII letters (``semantics.py``, ``nonascii_case_folding``), so a
value with a letter whose folding is in doubt goes to the exact class regex instead.
Approximations are never silent: they raise ``SigmaFeatureNotSupportedByBackendError``.
Field mapping, tables and logsource conditions belong to the processing pipelines.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, cast

from sigma.backends.kusto import KustoBackend
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.conversion.deferred import DeferredQueryExpression
from sigma.correlations import CorrelationConditionItem, SigmaRuleReference
from sigma.conversion.state import ConversionState
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import (
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)

from backends.common import ExpansionGroupMixin, WarningsMixin, refuse_placeholders

from .text import ci_class, fold_in_doubt, quote, quote_field, re2_literal
from .regex import sigma_regex_to_re2

_MULTI, _SINGLE = SpecialChars.WILDCARD_MULTI, SpecialChars.WILDCARD_SINGLE
_RE_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: "i",
    SigmaRegularExpressionFlag.MULTILINE: "m",
    SigmaRegularExpressionFlag.DOTALL: "s",
}


#: The devices of each platform, selected in Defender XDR's DeviceInfo table (the Device* event
#: tables hold every platform's rows and have no operating-system column): OSPlatform is
#: "Platform of the operating system running on the device ... variations within the same family,
#: such as Windows 11, Windows 10 and Windows 7"
#: (https://learn.microsoft.com/defender-xdr/advanced-hunting-deviceinfo-table), written Windows10,
#: Windows11, WindowsServer2019, ... (every Windows value begins with "Windows"); Microsoft's
#: sample for macOS devices tests OSPlatform == "macOS"
#: (https://learn.microsoft.com/defender-xdr/advanced-hunting-query-emails-devices), and Defender
#: for Endpoint on Linux reports "Linux". The pipeline names the platform (state ``device_os``).
DEVICE_PLATFORMS: dict[str, str] = {
    "windows": 'OSPlatform startswith "Windows"',
    "linux": 'OSPlatform == "Linux"',
    "macos": 'OSPlatform == "macOS"',
}


def _parts(value: SigmaString) -> list[Any]:
    """The value's parts with placeholders refused (they must be resolved by a pipeline)."""
    return list(refuse_placeholders(value).s)


class SigportKustoBackend(WarningsMixin, ExpansionGroupMixin, KustoBackend):
    """Kusto emitter whose output matches exactly what the rule matches (or fails)."""

    name: ClassVar[str] = "sigport Kusto (exact)"
    identifier: ClassVar[str] = "kusto"
    # pySigma's KustoBackend redeclares Backend's class variables formats and requires_pipeline
    # as instance attributes; these follow Backend.
    formats: ClassVar[dict[str, str]] = {  # type: ignore[misc]
        "default": "Kusto queries (`Table | where ...`)",
    }
    requires_pipeline: ClassVar[bool] = False  # type: ignore[misc]

    # Lists of plain values become `in~` (case-insensitive) / `in` (cased or numbers); values
    # with wildcards are converted one by one, never folded into a widened list (#14).
    #: How many not() enclose the condition being converted (conversion is sequential).
    _negation_depth: int = 0

    convert_or_as_in: ClassVar[bool] = True
    convert_and_as_in: ClassVar[bool] = False
    in_expressions_allow_wildcards: ClassVar[bool] = False

    # --- fields and values -------------------------------------------------------------------

    def escape_and_quote_field(self, field_name: str) -> str:
        """A plain identifier as is; anything else as ``['name']`` (entity names page)."""
        return quote_field(field_name)

    def convert_value_str(self, s: Any, state: ConversionState) -> str:
        """A plain value (no live wildcards) as a quoted Kusto string literal."""
        if isinstance(s, SigmaString):
            parts = _parts(s)
            if any(not isinstance(p, str) for p in parts):
                raise SigmaFeatureNotSupportedByBackendError(
                    "a wildcard value cannot be a Kusto list element"
                )
            return quote("".join(parts))
        return str(s)

    # --- strings -----------------------------------------------------------------------------

    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """field = Sigma string: ``=~``/``startswith``/``endswith``/``contains`` or a class regex."""
        return self._string_test(cond, cased=isinstance(cond.value, SigmaCasedString))

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """``|cased``: the case-sensitive operators (``==``, ``*_cs``) or a class-free regex."""
        return self._string_test(cond, cased=True)

    def _string_test(self, cond: ConditionFieldEqualsValueExpression, cased: bool) -> str:
        field = self.escape_and_quote_field(cond.field)
        parts = _parts(cast(SigmaString, cond.value))
        if parts == [_MULTI]:
            # Sigma '*' matches any value, the empty string included; Kusto cannot tell "" from
            # a missing string (the pipeline's dropped-values check flags that difference).
            return f"isnotempty({field})"
        if not parts:
            # Sigma '' equals only the empty string; Kusto reads a missing string as "" too (the
            # pipeline's dropped-values check flags that difference).
            return f"{field} {'==' if cased else '=~'} \"\""
        inner = parts[1:-1] if len(parts) >= 2 else []
        literal = "".join(p for p in parts if isinstance(p, str))
        simple = all(isinstance(p, str) for p in inner) and all(
            p == _MULTI or isinstance(p, str) for p in (parts[:1] + parts[-1:])
        )
        if simple and (cased or not fold_in_doubt(literal)):
            starts = parts[0] == _MULTI
            ends = len(parts) > 1 and parts[-1] == _MULTI
            suffix = "_cs" if cased else ""
            if starts and ends:
                return f"{field} contains{suffix} {quote(literal)}"
            if ends:
                return f"{field} startswith{suffix} {quote(literal)}"
            if starts:
                return f"{field} endswith{suffix} {quote(literal)}"
            return f"{field} {'==' if cased else '=~'} {quote(literal)}"
        return f"{field} matches regex {quote(self._glob_regex(parts, cased))}"

    @staticmethod
    def _glob_regex(parts: list[Any], cased: bool) -> str:
        """An anchored RE2 pattern equal to the Sigma glob: ``*`` any text (newlines included,
        hence ``(?s)``), ``?`` one code point, letters as Sigma's case classes unless cased."""
        out = ["(?s)^"]
        for part in parts:
            if part == _MULTI:
                out.append(".*")
            elif part == _SINGLE:
                out.append(".")
            else:
                out.extend(re2_literal(ch) if cased else ci_class(ch) for ch in part)
        out.append("$")
        return "".join(out)

    def decide_convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> bool:
        """``in~`` only for plain strings of one case kind whose folding is not in doubt, ``in``
        only for numbers; anything else stays an OR of single tests."""
        if not super().decide_convert_condition_as_in_expression(cond, state):
            return False
        values = [arg.value for arg in cond.args]  # type: ignore[union-attr]
        if all(isinstance(v, SigmaNumber) for v in values):
            return True
        if not all(isinstance(v, SigmaString) for v in values):
            return False
        kinds = {isinstance(v, SigmaCasedString) for v in values}
        if len(kinds) != 1:
            return False
        if kinds == {False}:
            return not any(fold_in_doubt(str(v)) for v in values)
        return True

    def convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> Any:
        """``field in~ ("a", "b")`` (case-insensitive) or ``field in (...)`` (cased, numbers)."""
        values = [arg.value for arg in cond.args]  # type: ignore[union-attr]
        field = self.escape_and_quote_field(cond.args[0].field)  # type: ignore[union-attr]
        insensitive = all(
            isinstance(v, SigmaString) and not isinstance(v, SigmaCasedString) for v in values
        )
        textual = self._textual(cond.args[0].field, state)  # type: ignore[union-attr]
        # Numbers on a string column are their text; strings (|cased too) their unescaped
        # value: str() of a SigmaString keeps Sigma's escapes ('\\?' for a literal '?').
        items = ", ".join(
            quote(str(v)) if textual and not isinstance(v, SigmaString)
            else self.convert_value_str(v, state) for v in values)
        return f"{field} {'in~' if insensitive else 'in'} ({items})"

    # --- other value kinds -------------------------------------------------------------------

    @staticmethod
    def _textual(field: str, state: ConversionState) -> bool:
        """Is ``field`` a string column? The pipeline lists the numeric columns of the table
        (``numeric_columns``); without that list every number test stays numeric."""
        numeric = state.processing_state.get("numeric_columns")
        return numeric is not None and field not in numeric

    def convert_condition_field_eq_val_num(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """A number: numeric ``==`` on a numeric column; on a string column its text (Sigma
        compares the text, and Kusto does not compare a string with a long)."""
        field = self.escape_and_quote_field(cond.field)
        if self._textual(cond.field, state):
            return f"{field} == {quote(str(cond.value))}"
        return f"{field} == {cond.value}"

    def convert_condition_field_compare_op_val(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """``|lt``/``|lte``/``|gt``/``|gte``: ``field op n``. On a missing (null) column the
        comparison is null and not(null) is null, so the row would be dropped where Sigma's
        negated comparison is true (semantics ``null_comparisons``): under a not() the test is
        written ``coalesce(field op n, false)``. Outside not() null drops the row as false does."""
        if self._textual(cond.field, state):
            raise SigmaFeatureNotSupportedByBackendError(
                f"a numeric comparison on the string column {cond.field} (Kusto does not compare "
                "a string with a number)", source=cond.source)
        query = super().convert_condition_field_compare_op_val(cond, state)
        return f"coalesce({query}, false)" if self._negation_depth else query

    def convert_condition_field_eq_val_bool(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """A boolean literal on a bool column the pipeline lists (``boolean_columns``: a mapping
        table's ``to_boolean`` target): ``Column == true``, false on a null column (semantics
        ``bool_equality``). Elsewhere a Sigma boolean compares as its text, which a bool literal
        on a string column does not do, so it is written as that text only where the column is
        surely a string: a property read with tostring() (semantics ``bool_as_text``), compared
        with ``=~`` because Sigma compares the text case-insensitively. Elsewhere it is refused
        rather than guessed (the column's type is not known)."""
        value = "true" if cond.value else "false"
        if cond.field in (state.processing_state.get("boolean_columns") or ()):
            return f"{self.escape_and_quote_field(cond.field)} == {value}"
        if cond.field.startswith("tostring("):
            return f"{self.escape_and_quote_field(cond.field)} =~ {quote(value)}"
        raise SigmaFeatureNotSupportedByBackendError(
            f"field {cond.field}: boolean values are not supported by the Kusto backend",
            source=cond.source,
        )

    def convert_condition_field_eq_val_null(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """``null``: ``isempty`` (strings are never null; isempty covers null too)."""
        return f"isempty({self.escape_and_quote_field(cond.field)})"

    def convert_condition_field_exists(self, cond: Any, state: ConversionState) -> Any:
        """``|exists: true``: ``isnotempty`` (see ``null``)."""
        return f"isnotempty({self.escape_and_quote_field(cond.field)})"

    def convert_condition_field_not_exists(self, cond: Any, state: ConversionState) -> Any:
        """``|exists: false``: ``isempty``."""
        return f"isempty({self.escape_and_quote_field(cond.field)})"

    def convert_condition_field_eq_val_re(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """``|re``: the Sigma (PCRE) pattern as RE2 when RE2 reads it alike, with its flags."""
        value = cond.value
        assert isinstance(value, SigmaRegularExpression)
        flags = "".join(sorted(_RE_FLAGS[f] for f in value.flags))
        pattern = sigma_regex_to_re2(str(value.regexp), flags)
        return f"{self.escape_and_quote_field(cond.field)} matches regex {quote(pattern)}"

    def convert_condition_field_eq_val_cidr(self, cond: Any, state: ConversionState) -> Any:
        """``|cidr``: ``ipv6_is_match`` with the network, for IPv4 and IPv6 networks alike: it
        reads an address of either family (IPv4 as its IPv4-mapped IPv6 form, as Sigma's cidr
        does), where ``ipv4_is_in_range`` converts IPv4 text only (semantics ``ipv6_is_match``,
        ``ipv4_range_reads_mapped_ipv6``). A value with its own ``/n`` would be compared on that
        shorter prefix, and is no address to Sigma: the value must hold no "/". The call is null
        on a value that is no address and not(null) drops the row where Sigma's negated cidr is
        true, so under a not() it is written ``coalesce(..., false)``."""
        return self._cidr_test(cond.field, [cond.value.network])

    def _cidr_test(self, field_name: str, networks: list[Any]) -> str:
        """One guard and the OR of the ``ipv6_is_match`` calls (coalesced under a not(): an OR
        of calls is null only when none is true, so coalescing the OR equals coalescing each)."""
        field = self.escape_and_quote_field(field_name)
        test = " or ".join(f"ipv6_is_match({field}, {quote(str(n))})" for n in networks)
        if self._negation_depth:
            test = f"coalesce({test}, false)"
        elif len(networks) > 1:
            test = f"({test})"
        return f'({field} !contains "/" and {test})'

    def convert_condition_or(self, cond: ConditionOR, state: ConversionState) -> Any:
        """A list of cidr networks on one field (``F|cidr: [a, b]``) as one guard and an OR of
        the calls; anything else as pySigma joins it."""
        leaves = [a for a in cond.args if isinstance(a, ConditionFieldEqualsValueExpression)
                  and isinstance(a.value, SigmaCIDRExpression)]
        if len(cond.args) > 1 and len(leaves) == len(cond.args) and len(
                {leaf.field for leaf in leaves}) == 1:
            networks = [cast(SigmaCIDRExpression, leaf.value).network for leaf in leaves]
            return self._cidr_test(str(leaves[0].field), networks)
        return super().convert_condition_or(cond, state)

    def convert_condition_field_eq_field(self, cond: Any, state: ConversionState) -> Any:
        """``fieldref``: refused. Kusto reads a missing string as "", so two missing fields
        would be equal where Sigma says no match."""
        raise SigmaFeatureNotSupportedByBackendError(
            "fieldref is not supported by the Kusto backend", source=cond.source
        )

    def convert_condition_val_str(self, cond: ConditionValueExpression, state: ConversionState) -> Any:
        """Keywords (values without a field) have no exact Kusto form: refused."""
        raise SigmaFeatureNotSupportedByBackendError(
            "keyword values without a field are not supported by the Kusto backend",
            source=cond.source,
        )

    convert_condition_val_num = convert_condition_val_str
    convert_condition_val_re = convert_condition_val_str

    # --- structure ---------------------------------------------------------------------------

    def convert_condition_not(self, cond: ConditionNOT, state: ConversionState) -> Any:
        """``not(<expr>)``: Kusto's not() function around the whole negated expression (#34)."""
        arg = cond.args[0]
        # Tests below a not() must never be null (convert_condition_field_compare_op_val).
        self._negation_depth += 1
        try:
            expr = self.convert_condition(arg, state)  # type: ignore[arg-type]
        finally:
            self._negation_depth -= 1
        if isinstance(expr, DeferredQueryExpression):  # pragma: no cover - nothing defers here
            raise SigmaFeatureNotSupportedByBackendError("deferred expressions under not")
        return f"not({expr})"

    def compare_precedence(
        self,
        outer: ConditionItem | CorrelationConditionItem,
        inner: (
            ConditionItem
            | ConditionFieldEqualsValueExpression
            | ConditionValueExpression
            | CorrelationConditionItem
            | SigmaRuleReference
            | None
        ),
    ) -> bool:
        """Group an inner OR under AND (and is tighter than or); a NOT is a function call."""
        if isinstance(inner, ConditionNOT) or isinstance(outer, ConditionNOT):
            return True
        return super().compare_precedence(outer, inner)

    def finalize_query_default(
        self, rule: Any, query: Any, index: int, state: ConversionState
    ) -> Any:
        """``Table\\n| where <expr>``; the table comes from the pipeline (``query_table``)."""
        table = state.processing_state.get("query_table")
        if not table:
            raise SigmaFeatureNotSupportedByBackendError(
                "no Kusto table for this rule's logsource (the pipeline sets query_table)"
            )
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(table)):
            raise SigmaFeatureNotSupportedByBackendError(f"invalid Kusto table name {table!r}")
        return f"{table}\n| where {query}{self._device_restriction(state)}"

    @staticmethod
    def _device_restriction(state: ConversionState) -> str:
        """The semi join that keeps the rows of the rule's platform's devices (``device_os``):
        a left semi join with the distinct DeviceId of the DeviceInfo rows of that platform
        (DeviceInfo holds many rows per device over time; ``distinct`` keeps one key each, and
        leftsemi returns each event row at most once with its own columns only)."""
        platform = state.processing_state.get("device_os")
        if platform is None:
            return ""
        where = DEVICE_PLATFORMS.get(str(platform))
        if where is None:
            raise SigmaFeatureNotSupportedByBackendError(
                f"unknown device platform {platform!r} (known: {', '.join(DEVICE_PLATFORMS)})")
        return (f"\n| join kind=leftsemi (DeviceInfo | where {where} | distinct DeviceId) "
                "on DeviceId")
