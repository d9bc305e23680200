"""The ES|QL emitter: pySigma's ES|QL backend with every field test written as ``QSTR()``.

ES|QL's comparisons and string operators (``==``, ``LIKE``, ``RLIKE``, ``STARTS_WITH``,
``CIDR_MATCH``...) are single-value: null on a field that holds several values (semantics
``multi_valued``), while Sigma matches when any value passes. Elasticsearch has no single-value
field type, so any field of an event may be an array (semantics ``any_value_form``): every value
test is written as the full-text function ``QSTR()``, a Lucene ``query_string`` query, which
matches a document when any of its values matches (semantics ``full_text_multi_valued``). The
``query_string`` text of each test is the lucene target's (``backends/lucene/backend.py``: Sigma's
case rule as per-letter classes, regexes translated to Lucene RegExp, values that are operators
quoted), rendered by a ``SigportLuceneBackend`` that shares this backend's pipeline and warnings.

Full-text functions are true or false, never null, so a test under ``NOT`` needs no guard; they
may sit under ``AND``, ``OR`` and ``NOT`` in a ``WHERE`` right after ``FROM`` (semantics
``full_text_in_boolean``: Elasticsearch 8.18 / 9.0 and later). ``IS NULL`` (Sigma ``null`` and
``exists``) stays ES|QL: it is not single-value. A Sigma ``fieldref`` stays ES|QL's ``==`` (no
Lucene query compares two fields) and is declared, as it is null on several values.

Field names and string literals follow the lexical rules in ``semantics.py``: a name that is not
plain identifiers joined by dots is back-quoted (back-quotes doubled; the stock backend left them
as they were, so a name could close its quotes and add conditions), an empty name is refused, and
a CR or LF inside a string is written as ``\\r`` / ``\\n`` (raw, they end the token and the
query does not parse).

A keyword value longer than the field's ``ignore_above`` is not indexed (semantics
``ignore_above``), and a numeric field's value is what Elasticsearch coerced at index time
(``numeric_coerce``): a test that can meet either is declared, as the other Elasticsearch
emitters do.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Callable, ClassVar

from sigma.backends.elasticsearch import ESQLBackend
from sigma.conditions import (
    ConditionAND,
    ConditionNOT,
    ConditionOR,
)
from sigma.conversion.state import ConversionState
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import SigmaString

from backends.common import (
    ExpansionGroupMixin,
    NumberCoercionMixin,
    SubfieldLimitMixin,
    WarningsMixin,
    refuse_empty_field,
)
from backends.lucene.backend import SigportLuceneBackend, embed_regex

from .semantics import SEMANTICS

_PART = re.compile("(?:" + str(SEMANTICS.get("identifier_part")) + r")\Z")
_KEYWORDS = SEMANTICS.typed("keywords", frozenset)
_ID_QUOTE = str(SEMANTICS.get("identifier_quote"))
_STR_QUOTE = str(SEMANTICS.get("string_quote"))
_ESCAPES: dict[str, str] = dict(SEMANTICS.typed("string_escapes", dict))
_ESCAPED = re.compile("|".join(re.escape(c) for c in _ESCAPES))
#: The full-text function every value test is written with (``any_value_form``).
_FUNCTION = str(SEMANTICS.get("any_value_form"))
#: A value of any length, for the ``ignore_above`` declaration of a field compared with another.
_ANY_LENGTH = SigmaString("*")


def esql_field(name: str) -> str:
    """A field name as ES|QL reads it: bare when every dotted part is a plain identifier, else
    the whole name back-quoted with back-quotes doubled (``identifier_part``, ``keywords``,
    ``identifier_quote``).

    Raises:
        SigmaFeatureNotSupportedByBackendError: the name is empty.
    """
    parts = refuse_empty_field(name).split(".")
    if all(_PART.match(p) and p.lower() not in _KEYWORDS for p in parts):
        return name
    return _ID_QUOTE + name.replace(_ID_QUOTE, _ID_QUOTE * 2) + _ID_QUOTE


def esql_string(text: str) -> str:
    """``text`` as an ES|QL double-quoted string literal (``string_escapes``)."""
    return _STR_QUOTE + _ESCAPED.sub(lambda m: _ESCAPES[m.group()], text) + _STR_QUOTE


class _QueryStringTests(SigportLuceneBackend):
    """The lucene target's rendering of one field test, for the text of a ``QSTR()`` call.

    It converts no rule itself: the ES|QL backend hands it each test with the pipeline it
    applied (the field model, the caseless copies and the canonical numbers live there) and
    receives its warnings.
    """

    def __init__(self, owner: WarningsMixin | None = None) -> None:
        super().__init__()
        self._owner = owner

    def warn(self, message: str) -> None:
        """The ES|QL backend records it, as one of the rule's warnings."""
        if self._owner is not None:
            self._owner.warn(message)
        else:
            super().warn(message)

    def escape_and_quote_field(self, field_name: str) -> str:
        """The lucene target's escaping (an operator word gets a backslash there), and a name
        holding ``*`` or ``?`` is refused: query_string unescapes a field name before it expands
        it as a pattern over the mapping's fields (lucene interpreter, ``_describe``)."""
        if "*" in field_name or "?" in field_name:
            raise SigmaFeatureNotSupportedByBackendError(
                f"field name {field_name!r}: query_string reads * and ? in a field name as a "
                "pattern over the index's fields, even escaped"
            )
        return super().escape_and_quote_field(field_name)


@lru_cache(maxsize=1)
def _field_writer() -> _QueryStringTests:
    return _QueryStringTests()


def qstr_regexp(field: str, pattern: str) -> str:
    """``QSTR("<field>:/<pattern>/")``: the Query DSL ``regexp`` query of a Lucene RegExp (flags
    ALL, case-sensitive, as query_string's regex term is: lucene semantics ``regex_reserved``,
    ``regex_case_sensitive``) as an ES|QL condition, which any value can match.

    Raises:
        SigmaFeatureNotSupportedByBackendError: ``field`` is empty or holds ``*`` or ``?``.
    """
    text = _field_writer().escape_and_quote_field(field) + ":" + embed_regex(pattern)
    return f"{_FUNCTION}({esql_string(text)})"


class SigportEsqlBackend(
    ExpansionGroupMixin,
    WarningsMixin,
    SubfieldLimitMixin,
    NumberCoercionMixin,
    ESQLBackend,
):
    """ES|QL whose value tests match any value of a field (see the module docstring)."""

    name: ClassVar[str] = "sigport ES|QL"
    # pySigma's ESQLBackend redeclares Backend's class variable as an instance attribute.
    formats: ClassVar[dict[str, str]] = {  # type: ignore[misc]
        "default": "one ES|QL query per rule"
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tests = _QueryStringTests(self)

    def escape_and_quote_field(self, field_name: str) -> str:
        """Back-quote a field name that is not plain identifiers (see ``esql_field``)."""
        return esql_field(field_name)

    def _full_text(self, convert: Callable[[Any, ConversionState], Any], cond: Any,
                   state: ConversionState) -> str:
        """``QSTR("<the lucene target's test>")``: true when any value of the field passes
        (``any_value_form``)."""
        self._tests.last_processing_pipeline = self.last_processing_pipeline
        return f"{_FUNCTION}({esql_string(str(convert(cond, state)))})"

    def convert_condition_field_eq_val_str(self, cond: Any, state: ConversionState) -> Any:
        """A Sigma string (case-insensitive): the lucene target's term or per-letter regex."""
        return self._full_text(self._tests.convert_condition_field_eq_val_str, cond, state)

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: Any, state: ConversionState
    ) -> Any:
        """``|cased``: the lucene target's case-sensitive term."""
        return self._full_text(
            self._tests.convert_condition_field_eq_val_str_case_sensitive, cond, state
        )

    def convert_condition_field_eq_val_re(self, cond: Any, state: ConversionState) -> Any:
        """``|re``: the Sigma (PCRE, unanchored) regex translated to a Lucene RegExp."""
        return self._full_text(self._tests.convert_condition_field_eq_val_re, cond, state)

    def convert_condition_field_eq_val_num(self, cond: Any, state: ConversionState) -> Any:
        """A Sigma number: a term, on a keyword field its text (no verification error, unlike
        ES|QL's ``keyword == 4624``: semantics ``equals_types``)."""
        return self._full_text(self._tests.convert_condition_field_eq_val_num, cond, state)

    def convert_condition_field_compare_op_val(self, cond: Any, state: ConversionState) -> Any:
        """``gt``/``gte``/``lt``/``lte``: the lucene target's range."""
        return self._full_text(self._tests.convert_condition_field_compare_op_val, cond, state)

    def convert_condition_field_eq_val_bool(self, cond: Any, state: ConversionState) -> Any:
        """A Sigma boolean: the lucene target's term."""
        return self._full_text(self._tests.convert_condition_field_eq_val_bool, cond, state)

    def convert_condition_field_eq_val_cidr(self, cond: Any, state: ConversionState) -> Any:
        """``|cidr``: the lucene target's network term, refused on a field the model does not
        type ``ip`` (``CidrOnIpFieldMixin``: a term there matches the network's text)."""
        return self._full_text(self._tests.convert_condition_field_eq_val_cidr, cond, state)

    def convert_condition_field_eq_field(self, cond: Any, state: ConversionState) -> Any:
        """``field1 == field2`` (Sigma ``fieldref``): no Lucene query compares two fields, so
        this stays ES|QL's ``==``, null when either field holds several values (declared), and
        when two equal values are over a field's limit (they read as null)."""
        self.warn(
            f"{cond.field} == {cond.value.field}: ES|QL's == is "
            f"{SEMANTICS.entries['multi_valued'].value} when either field holds several values, "
            "where Sigma compares any value"
        )
        fields = (cond.field, cond.value.field)
        for name in fields:
            info = self.field_model().lookup(name)
            if info is not None and info.ignore_above is not None:
                self.warn_length_limit(name, _ANY_LENGTH)
        query = super().convert_condition_field_eq_field(cond, state)
        if not cond.parent_condition_chain_contains(ConditionNOT):
            return query
        # == is null on a missing field and NOT keeps null (semantics null_operand), while
        # Sigma's negated test is true there: guarded, the test is false there, its NOT true.
        guards = " and ".join(f"{self.escape_and_quote_field(f)} is not null" for f in fields)
        return f"({guards} and {query})"

    def decide_convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> bool:
        """The stock ``in (...)`` list is single-value and case-sensitive: one test per value."""
        return False
