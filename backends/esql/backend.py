"""The ES|QL emitter: pySigma's ES|QL backend with Sigma's case-insensitivity restored.

ES|QL string comparisons (``==``, ``LIKE``, ``starts_with``, ``ends_with``) are case-sensitive
(https://www.elastic.co/guide/en/elasticsearch/reference/current/esql-functions-operators.html),
while Sigma's are not. The stock backend emits them as they are; this subclass compares
``TO_LOWER(field)`` with the lowercased pattern instead, and keeps ``|cased`` values sensitive.
``LIKE`` treats ``*`` and ``?`` as wildcards and a backslash escapes them, so literal ``*``, ``?``
and ``\\`` in a value are escaped.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sigma.backends.elasticsearch import ESQLBackend
from sigma.conditions import ConditionFieldEqualsValueExpression, ConditionOR
from sigma.conversion.state import ConversionState
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import SigmaString, SpecialChars

from backends.common import ExpansionGroupMixin, WarningsMixin


def _like_pattern(value: SigmaString, lower: bool) -> str:
    """The value as an ES|QL LIKE pattern inside a double-quoted string literal."""
    out = []
    for part in value.s:
        if part is SpecialChars.WILDCARD_MULTI:
            out.append("*")
        elif part is SpecialChars.WILDCARD_SINGLE:
            out.append("?")
        elif isinstance(part, str):
            text = part.lower() if lower else part
            # LIKE escapes: a backslash before *, ? or \ makes it literal.
            text = text.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")
            out.append(text)
        else:
            raise SigmaFeatureNotSupportedByBackendError(f"unresolved placeholder {part} in value")
    pattern = "".join(out)
    # The pattern sits in a string literal, where backslashes and quotes are escaped again.
    return '"' + pattern.replace("\\", "\\\\").replace('"', '\\"') + '"'


class SigportEsqlBackend(ExpansionGroupMixin, WarningsMixin, ESQLBackend):
    """ES|QL with case-insensitive string matching (see the module docstring)."""

    name: ClassVar[str] = "sigport ES|QL"
    formats: ClassVar[dict[str, str]] = {"default": "one ES|QL query per rule"}

    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """``TO_LOWER(field) LIKE "pattern"`` (a LIKE without wildcards is whole-value equality)."""
        field = self.escape_and_quote_field(cond.field)
        return f"TO_LOWER({field}) like {_like_pattern(cond.value, lower=True)}"

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """``|cased``: ``field LIKE "pattern"`` on the value as written."""
        field = self.escape_and_quote_field(cond.field)
        return f"{field} like {_like_pattern(cond.value, lower=False)}"

    def decide_convert_condition_as_in_expression(
        self, cond: ConditionOR, state: ConversionState
    ) -> bool:
        """The stock ``in (...)`` list is case-sensitive: expand to OR-ed LIKEs instead."""
        return False
