"""The ES|QL emitter: pySigma's ES|QL backend with Sigma's case-insensitivity restored.

ES|QL string comparisons (``==``, ``LIKE``, ``starts_with``, ``ends_with``) are case-sensitive
(https://www.elastic.co/guide/en/elasticsearch/reference/current/esql-functions-operators.html),
while Sigma's are not. The stock backend emits them as they are; this subclass compares
``TO_LOWER(field)`` with the lowercased pattern where every reading of that (semantics
``to_lower_readings``) folds the value's letters as Sigma does, and otherwise writes ``field
rlike`` the value with each letter as the class of its Sigma case partners (``[iIİ]``); ``|cased``
values stay sensitive. ``LIKE`` treats ``*`` and ``?`` as wildcards and a backslash escapes them,
so literal ``*``, ``?`` and ``\\`` in a value are escaped.

ES|QL tests are null on a missing field and ``NOT`` keeps them null, so a test under a ``NOT``
is guarded with ``field is not null``; Sigma regexes are translated to Lucene RegExp for
``RLIKE``; the ECS array fields ``event.category`` / ``event.type`` are tested with ``KQL()``,
which matches any value where ``LIKE`` is null on several (semantics ``array_fields``).

Field names and string literals follow the lexical rules in ``semantics.py``: a name that is not
plain identifiers joined by dots is back-quoted (back-quotes doubled; the stock backend left them
as they were, so a name could close its quotes and add conditions), an empty name is refused, and
a CR or LF inside a string is written as ``\\r`` / ``\\n`` (raw, they end the token and the
query does not parse).

ES|QL reads a keyword value longer than the field's ``ignore_above`` as null (semantics
``ignore_above``), and a numeric field's value as Elasticsearch coerced it at index time
(``numeric_coerce``): a test that can meet either is declared, as the other Elasticsearch
emitters do.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, cast

from sigma.backends.elasticsearch import ESQLBackend
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
)
from sigma.conversion.state import ConversionState
from sigma.types import (
    SigmaExists,
    SpecialChars,
    SigmaFieldReference,
    SigmaNull,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
)

from backends.common import (
    CidrOnIpFieldMixin,
    ExpansionGroupMixin,
    NumberCoercionMixin,
    SubfieldLimitMixin,
    WarningsMixin,
    refuse_empty_field,
    refuse_placeholders,
)

from backends.lucene.regex import glob_pieces, glob_to_lucene, pcre_to_lucene
from backends.query.ast import Fold
from backends.query.folding import SIMPLE, equivalents, folds_alike, simple_lower

from .semantics import SEMANTICS

_PART = re.compile("(?:" + str(SEMANTICS.get("identifier_part")) + r")\Z")
_KEYWORDS = SEMANTICS.typed("keywords", frozenset)
_ID_QUOTE = str(SEMANTICS.get("identifier_quote"))
_STR_QUOTE = str(SEMANTICS.get("string_quote"))
_ESCAPES: dict[str, str] = dict(SEMANTICS.typed("string_escapes", dict))
_ESCAPED = re.compile("|".join(re.escape(c) for c in _ESCAPES))
#: The characters a string literal may not hold raw (the stock escaping already handles the
#: quote and the backslash, so only these remain to be written as escapes after it).
_RAW_BREAKS = re.compile("[\r\n]")
#: Letters whose Sigma class holds a character TO_LOWER maps otherwise than Sigma (semantics
#: ``to_lower_folding``): U+0130 (two code points) and capital sigma (final 'ς' by context).
_TO_LOWER_HAZARDS = frozenset(x for letter in "iσς" for x in equivalents(letter, SIMPLE))
_STRING_FIELD_TYPES = frozenset(SEMANTICS.typed("field_types", tuple))
#: Sigma's folding and every reading ES|QL may give TO_LOWER(field) LIKE (``to_lower_readings``).
_READINGS = (SIMPLE,) + SEMANTICS.typed("to_lower_readings", Fold).readings
_ARRAY_FIELDS = frozenset(SEMANTICS.typed("array_fields", tuple))


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


def _kql_term(field: str, text: str) -> str:
    """``KQL("field:\"text\"")``: a quoted KQL value (``\\`` and ``\"`` escaped) is one exact
    term on a keyword field, true when any of the field's values is it (semantics
    ``array_fields``)."""
    quoted = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"KQL({esql_string(field + ':' + quoted)})"


def _escape_breaks(literal: str) -> str:
    """A string literal from the stock escaping, with raw CR/LF written as escapes."""
    return _RAW_BREAKS.sub(lambda m: _ESCAPES[m.group()], literal)


def _to_lower_exact(value: SigmaString) -> bool:
    """True when ``TO_LOWER(field) LIKE`` the lowercased value matches what Sigma matches under
    every reading ES|QL may give it (``to_lower_readings``: String.toLowerCase, or a
    case-insensitive match folding ASCII or Unicode): each letter has the same case partners
    under Sigma's folding and each reading (not ``i``, ``k``, ``s``, most non-ASCII letters), no
    ``σ``/``ς`` (a final capital sigma lowercases by context) and no ``?`` (U+0130 lowercases to
    two code points)."""
    for part in value.s:
        if isinstance(part, str):
            if any(c in _TO_LOWER_HAZARDS or not folds_alike(c, _READINGS) for c in part):
                return False
        elif part is SpecialChars.WILDCARD_SINGLE:
            return False
    return True


def _like_pattern(value: SigmaString, lower: bool) -> str:
    """The value as an ES|QL LIKE pattern inside a double-quoted string literal."""
    refuse_placeholders(value)
    if lower:  # Sigma compares each code point's simple lowercase; so does the pattern.
        value = value.map_parts(lambda part: simple_lower(part) if isinstance(part, str) else part)
    # LIKE's wildcards are * and ?; a backslash before *, ? or \ makes it literal. The pattern
    # sits in a string literal, where backslashes and quotes are escaped again.
    return esql_string(value.convert(escape_char="\\", add_escaped="\\"))


class SigportEsqlBackend(
    CidrOnIpFieldMixin,
    ExpansionGroupMixin,
    WarningsMixin,
    SubfieldLimitMixin,
    NumberCoercionMixin,
    ESQLBackend,
):
    """ES|QL with case-insensitive string matching (see the module docstring)."""

    name: ClassVar[str] = "sigport ES|QL"
    cidr_on_keyword: ClassVar[str] = "fails: CIDR_MATCH() takes an ip field only"
    # pySigma's ESQLBackend redeclares Backend's class variable as an instance attribute.
    formats: ClassVar[dict[str, str]] = {  # type: ignore[misc]
        "default": "one ES|QL query per rule"
    }

    def escape_and_quote_field(self, field_name: str) -> str:
        """Back-quote a field name that is not plain identifiers (see ``esql_field``)."""
        return esql_field(field_name)

    def convert_value_str(self, s: SigmaString, state: ConversionState) -> str:
        """The stock string literal, with CR/LF escaped (raw, they break the literal)."""
        return _escape_breaks(super().convert_value_str(s, state))

    def convert_value_re(self, r: Any, state: ConversionState) -> str:
        """The stock regex text (it sits in a string literal), with CR/LF escaped."""
        return _escape_breaks(cast(str, super().convert_value_re(r, state)))

    def convert_condition_field_eq_val(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """Every field test; under a NOT, guarded by ``field is not null``.

        ES|QL's tests are null on a missing field, and NOT keeps null (semantics
        ``null_operand``), while Sigma's test is false there and its negation true: ``not
        (f like "x")`` would drop an event without ``f`` that Sigma matches. ``(f is not null and
        f like "x")`` is false on it, so its negation is true, as in Sigma.
        """
        query = super().convert_condition_field_eq_val(cond, state)
        value = cond.value
        if cond.field in _ARRAY_FIELDS and isinstance(query, str) and not query.startswith("KQL("):
            self.warn(
                f"{cond.field}: ECS writes it as an array, and this test ("
                f"{SEMANTICS.entries['multi_valued'].value} on several values) misses an event "
                "whose other values do not pass it, where Sigma matches any value"
            )
        if (
            not isinstance(query, str) or isinstance(value, (SigmaNull, SigmaExists))
            or not cond.parent_condition_chain_contains(ConditionNOT)
        ):
            return query
        fields = [cond.field] + ([value.field] if isinstance(value, SigmaFieldReference) else [])
        guards = " and ".join(f"{self.escape_and_quote_field(f)} is not null" for f in fields)
        return f"({guards} and {query})"

    def convert_condition_field_eq_val_num(self, cond: Any, state: ConversionState) -> Any:
        """A Sigma number on a keyword-family field is its text (ES|QL's == compares a keyword
        with a keyword only, semantics ``equals_types``); elsewhere the stock number."""
        info = self.field_model().lookup(cond.field)
        if info is not None and info.type in _STRING_FIELD_TYPES:
            return f"{self.escape_and_quote_field(cond.field)} == {esql_string(str(cond.value))}"
        return super().convert_condition_field_eq_val_num(cond, state)

    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """``TO_LOWER(field) like "pattern"`` where every reading of it agrees with Sigma
        (``_to_lower_exact``), else ``field rlike`` the value with each letter written as the
        class of its Sigma case partners (``[iIİ]``), which no ES|QL version folds further."""
        field = self.escape_and_quote_field(cond.field)
        value = cast(SigmaString, cond.value)  # pySigma dispatches string values here
        self.warn_length_limit(cond.field, value)
        if _to_lower_exact(value):
            return f"TO_LOWER({field}) like {_like_pattern(value, lower=True)}"
        regex = glob_to_lucene(glob_pieces(value), case_insensitive=True)
        return f"{field} rlike {esql_string(regex)}"

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """``|cased``: ``field LIKE "pattern"`` on the value as written; on an array field
        (``array_fields``) a value without wildcards is a KQL term, which any value can match."""
        self.warn_length_limit(cond.field, cond.value)
        value = cast(SigmaString, cond.value)
        if cond.field in _ARRAY_FIELDS and not value.contains_special():
            refuse_placeholders(value)
            return _kql_term(cond.field, str(value))
        field = self.escape_and_quote_field(cond.field)
        return f"{field} like {_like_pattern(value, lower=False)}"

    def convert_condition_field_eq_val_re(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """``field rlike "regex"``: RLIKE is a Lucene RegExp over the whole value (semantics
        ``rlike_dialect``), so the Sigma (PCRE, unanchored) regex is translated as for the other
        Elastic targets; a value over the field's limit reads as null."""
        self.warn_length_limit(cond.field, cond.value)
        value = cast(SigmaRegularExpression, cond.value)
        flags = value.flags
        pattern = pcre_to_lucene(
            str(value.regexp),
            case_insensitive=SigmaRegularExpressionFlag.IGNORECASE in flags,
            multiline=SigmaRegularExpressionFlag.MULTILINE in flags,
            dotall=SigmaRegularExpressionFlag.DOTALL in flags,
        )
        return f"{self.escape_and_quote_field(cond.field)} rlike {esql_string(pattern)}"

    def convert_condition_field_eq_field(self, cond: Any, state: ConversionState) -> Any:
        """``field1 == field2`` (Sigma ``fieldref``): two equal values over a field's limit read
        as null, so the comparison misses them where Sigma matches."""
        for name in (cond.field, cond.value.field):
            info = self.field_model().lookup(name)
            if info is not None and info.ignore_above is not None:
                self.warn_length_limit(name, SigmaString("*"))
        return super().convert_condition_field_eq_field(cond, state)

    def decide_convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> bool:
        """The stock ``in (...)`` list is case-sensitive: expand to OR-ed LIKEs instead."""
        return False
