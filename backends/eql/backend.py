"""The EQL emitter: pySigma's Elasticsearch EQL backend with its semantic gaps closed.

``SigportEqlBackend`` subclasses ``sigma.backends.elasticsearch.EqlBackend`` and changes only what
makes its output mean something else than the rule (Elastic's EQL syntax reference:
https://www.elastic.co/guide/en/elasticsearch/reference/current/eql-syntax.html):

* the event category comes from the pipeline (``process where``), not always ``any where``;
* Sigma regular expressions are case-sensitive and unanchored; EQL ``regex`` is Lucene's dialect,
  anchored to the whole value: patterns are translated (``backends/lucene/regex.py``), and
  ``regex~`` is used only for case-insensitive patterns whose folding it reproduces exactly;
* ``:`` always treats ``*`` and ``?`` as wildcards, so a value with a literal ``*``/``?`` becomes
  an exact regex; ``|cased`` values with wildcards use ``like`` (``==`` has no wildcards);
* ``:`` folds ASCII letters only or Unicode-wide depending on the ES version, never as Sigma
  does for ``i`` (``İ``), ``k`` (Kelvin sign), ``s`` (``ſ``) and non-ASCII letters: a value
  holding one of them becomes a case-sensitive ``regex`` with explicit classes (``[iIİ]``);
* with a ``--mapping`` from ``sigport mapping``, a case-insensitive string test moves to the
  caseless copy of its field (``sigport.caseless.<field>``, a ``wildcard`` field the ingest
  pipeline writes lowercased, without a length limit) with its value encoded alike, and is
  written case-sensitively there (``==``/``like``/``regex``): exact at any length;
* unbound keyword searches have no EQL form and are refused, never emitted as bare strings;
* a test that can match a value longer than the field's ``ignore_above`` (ECS keyword fields
  such as ``process.name`` and ``file.path``: 1,024) is declared, because EQL runs it as a
  term/wildcard/regexp/exists query and a longer value was never indexed (semantics
  ``ignore_above``); so is a number tested on a numeric field (``numeric_coerce``).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, cast

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.backends.elasticsearch import EqlBackend
from sigma.conversion.state import ConversionState
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import (
    SigmaCasedString,
    SigmaExpansion,
    SigmaRegularExpression,
    SigmaString,
    SpecialChars,
)

from backends.common import (
    CidrOnIpFieldMixin,
    ExpansionGroupMixin,
    NumberCoercionMixin,
    SubfieldLimitMixin,
    WarningsMixin,
    field_model,
    refuse_empty_field,
    refuse_placeholders,
)
from backends.eql.semantics import SEMANTICS
from backends.lucene.regex import glob_pieces, glob_to_lucene
from backends.query.ast import Fold
from backends.query.folding import SIMPLE, text_folds_alike

#: Characters with a meaning in Lucene regular expressions (the optional operators ``@ # & < > ~``
#: are on by default in Elasticsearch), escaped with a backslash to be literal.
#: https://www.elastic.co/guide/en/elasticsearch/reference/current/regexp-syntax.html
LUCENE_REGEX_RESERVED = frozenset('.?+*|{}[]()"\\#@&<>~')


def eql_string(text: str) -> str:
    """Quote ``text`` as an EQL string literal (``\\`` and ``"`` escaped, controls as escapes;
    NUL as ``\\u{00}``, semantics ``unicode_escape_digits``: no doc says how a raw one is read)."""
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    out = out.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    out = out.replace("\0", "\\u{00}")
    return f'"{out}"'


def _regex_literal(text: str) -> str:
    return "".join("\\" + c if c in LUCENE_REGEX_RESERVED else c for c in text)


def _has_literal_wildcard(value: SigmaString) -> bool:
    return any(isinstance(p, str) and ("*" in p or "?" in p) for p in value.s)


#: The readings a case-insensitive EQL operator may fold with (semantics
#: ``case_insensitive_folding``), plus Sigma's own (per-code-point simple lowercase).
_READINGS = (SIMPLE, *SEMANTICS.typed("case_insensitive_folding", Fold).readings)


def _needs_explicit_case(value: SigmaString) -> bool:
    """True when a literal letter of ``value`` folds differently under Sigma's reading and the
    readings of EQL's case-insensitive operators: ``i`` (Sigma also takes ``İ``), ``k`` (the
    Kelvin sign), ``s`` (``ſ`` under Unicode folding) and every non-ASCII cased letter."""
    return any(
        isinstance(p, str) and not text_folds_alike(p, _READINGS) for p in value.s
    )


def _explicit_case_regex(value: SigmaString) -> str:
    """The value as a case-sensitive Lucene regex with every letter written as the class of
    its Sigma case partners (``[iIİ]``, ``[éÉ]``): exact whatever the ES version folds."""
    return glob_to_lucene(glob_pieces(value), case_insensitive=True)


def _eql_list(items: list[str]) -> str:
    """One operand, or a parenthesised list of several."""
    return items[0] if len(items) == 1 else "(" + ", ".join(items) + ")"


def _glob_text(value: SigmaString) -> str:
    """The value as an EQL wildcard pattern (only valid when no literal ``*``/``?`` occur)."""
    return refuse_placeholders(value).convert(escape_char=None)


def _regex_text(value: SigmaString) -> str:
    """The value as an anchored Lucene regex (wildcards live, everything else literal)."""
    return "".join(
        _regex_literal(part) if isinstance(part, str)
        else ".*" if part is SpecialChars.WILDCARD_MULTI
        else "."
        for part in refuse_placeholders(value).s
    )


def _is_numeric_field(backend: Any, name: str) -> bool:
    """True when the field model the rule's pipeline was built for (the data source's, or the
    user's ``--mapping``) types ``name`` as a number."""
    from backends.query.fields import NUMERIC_TYPES

    info = field_model(backend).lookup(name)
    return info is not None and info.type in NUMERIC_TYPES


# Field-name quoting follows the semantics table (identifier shape, keywords, quote character).
_PLAIN_NAME = re.compile(str(SEMANTICS.get("field_name_part")) + r"\Z")
_KEYWORDS = SEMANTICS.typed("keywords", frozenset)
_QUOTE = str(SEMANTICS.get("field_quote"))


class _ExpansionFixedEqlBackend(EqlBackend):
    """pySigma's EQL backend with its value-expansion conversion repaired.

    pySigma's ``convert_condition_field_eq_expansion`` builds the OR of the variants but, when the
    list form ``field : (...)`` does not apply (a variant with a literal ``*``, as ``windash`` on
    ``a\\*`` gives), hands the expansion itself to ``convert_condition_or``, which fails with an
    AttributeError ('args'). This converts the OR it built.
    """

    def convert_condition_field_eq_expansion(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """The expansion's variants as ``field : (...)`` when possible, else an OR of tests."""
        or_cond = ConditionOR(
            [
                ConditionFieldEqualsValueExpression(cond.field, value)
                for value in cast(SigmaExpansion, cond.value).values
            ],
            cond.source,
        )
        if self.decide_convert_condition_as_in_expression(or_cond, state):
            return self.convert_condition_as_in_expression(or_cond, state)
        return self.convert_condition_or(or_cond, state)

    def convert_condition_field_eq_field(self, cond: Any, state: ConversionState) -> Any:
        """Sigma ``fieldref``: EQL cannot compare a field with another field (semantics
        ``field_vs_field_is_error``); pySigma's message named the Lucene backend."""
        if SEMANTICS.get("field_vs_field_is_error"):
            raise SigmaFeatureNotSupportedByBackendError(
                f"EQL cannot compare field {cond.field} with another field (fieldref): "
                "Elasticsearch refuses field-to-field comparisons in EQL; use the esql or splunk "
                "target"
            )
        return super().convert_condition_field_eq_field(cond, state)  # pragma: no cover


class SigportEqlBackend(
    CidrOnIpFieldMixin,
    ExpansionGroupMixin,
    WarningsMixin,
    SubfieldLimitMixin,
    NumberCoercionMixin,
    _ExpansionFixedEqlBackend,
):
    """Elasticsearch EQL with Sigma's semantics preserved (see the module docstring)."""

    name: ClassVar[str] = "sigport EQL"
    #: Every string value is written by ``eql_string``, which escapes NUL (``\\u{00}``).
    writes_nul: ClassVar[bool] = True
    cidr_on_keyword: ClassVar[str] = "fails: cidrMatch() takes an ip field only"
    formats: ClassVar[dict[str, str]] = {"default": "one EQL query per rule"}
    # exists: a field has a value. The optional-field prefix keeps the query valid on indices that
    # do not map the field (ES 8 optional fields).
    field_exists_expression: ClassVar[str] = "?{field} != null"
    field_not_exists_expression: ClassVar[str] = "?{field} == null"

    def escape_and_quote_field(self, field_name: str) -> str:
        """Back-quote each dotted part of a field name that is not a plain EQL identifier.

        The stock pattern quotes only names that start with a digit or ``-`` or hold whitespace,
        so ``request_parameters.x-amz-acl`` came out bare and ES (and our interpreter) read
        ``x - amz``: a syntax error. ES's lexer takes an identifier as a letter, ``_`` or ``@``
        then letters, digits and ``_``; any other part is back-quoted, a back-quote doubled;
        its keywords (``and``, ``not``, ``where``, ...) are not identifiers either.
        """
        return ".".join(
            part if _PLAIN_NAME.match(part) and part not in _KEYWORDS
            else _QUOTE + part.replace(_QUOTE, _QUOTE * 2) + _QUOTE
            for part in refuse_empty_field(field_name).split(".")
        )

    def _string_test(self, field: str, value: SigmaString, case_sensitive: bool) -> str:
        """One field test on a Sigma string, choosing the EQL operator that keeps its meaning."""
        self.warn_length_limit(field, value)
        quoted_field = self.escape_and_quote_field(field)
        if self.caseless_copy_of(field, value, "EQL") is not None:
            # The value is encoded as the copy holds it (lowercased, whitespace swapped): the
            # case-sensitive operators compare it exactly (semantics wildcard_field_copy), while
            # `:` would fold it again (a lowercase `ſ` also matching `s`).
            case_sensitive = True
        if not case_sensitive and _needs_explicit_case(value):
            # ':' / regex~ fold ASCII only or Unicode-wide depending on the ES version
            # (semantics case_insensitive_folding), neither as Sigma does for these letters.
            return f"{quoted_field} regex {self._regex(field, _explicit_case_regex(value))}"
        if _has_literal_wildcard(value):
            op = "regex" if case_sensitive else "regex~"
            return f"{quoted_field} {op} {self._regex(field, _regex_text(value))}"
        if case_sensitive:
            op = "like" if value.contains_special() else "=="
            return f"{quoted_field} {op} {eql_string(_glob_text(value))}"
        if not value.s:
            return f"{quoted_field} == \"\""
        return f"{quoted_field} : {eql_string(_glob_text(value))}"

    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """``field : "value"`` (case-insensitive wildcard match), or an exact alternative."""
        return self._string_test(cond.field, cast(SigmaString, cond.value), case_sensitive=False)

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """``|cased``: ``==`` without wildcards, ``like`` with them."""
        return self._string_test(cond.field, cast(SigmaString, cond.value), case_sensitive=True)

    def convert_condition_field_eq_val_num(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """A Sigma number: ``==`` on a numeric field; on a string field the number's text.

        EQL's ``:`` compares strings only and a number compared with a keyword field is a type
        error (eql-syntax, "Comparison operators"), while Sigma compares values as strings. The
        ECS field model says which fields are numeric.
        """
        field = self.escape_and_quote_field(cond.field)
        if _is_numeric_field(self, cond.field):
            self.warn_number_coercion(cond.field)
            return f"{field} == {cond.value}"
        return f"{field} : {eql_string(str(cond.value))}"

    def convert_condition_field_eq_val_bool(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """Booleans with ``==`` (``true``/``false`` literals)."""
        return f"{self.escape_and_quote_field(cond.field)} == {self.bool_values[bool(cond.value)]}"

    def decide_convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> bool:
        """Use the ``: (...)`` list (``like (...)`` on a caseless copy) only for plain
        case-insensitive wildcard values."""
        if not super().decide_convert_condition_as_in_expression(cond, state):
            return False
        for arg in cond.args:
            value = getattr(arg, "value", None)
            if not isinstance(value, SigmaString) or isinstance(value, SigmaCasedString):
                return False
            if _has_literal_wildcard(value) or not value.s:
                return False
        return True

    def convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> Any:
        """``field : ("a", "b*")``: the list form of ``:`` (case-insensitive, wildcards).

        Values with letters EQL folds unlike Sigma go to a ``regex ( ... )`` list of explicit
        classes instead (one list, not a chain of ``or``: a rule with hundreds of values must
        not nest hundreds deep).
        """
        # decide_convert_condition_as_in_expression admitted only string tests of one field.
        args = cast("list[ConditionFieldEqualsValueExpression]", cond.args)
        values = [cast(SigmaString, arg.value) for arg in args]
        self.warn_unmodelled(args[0].field)
        for value in values:
            self.warn_length_limit(args[0].field, value)
        field = self.escape_and_quote_field(args[0].field)
        if self.caseless_copy_of(args[0].field, values[0], "EQL") is not None:
            # Encoded values on the copy: the case-sensitive list form (see _string_test).
            return f"{field} like {_eql_list([eql_string(_glob_text(v)) for v in values])}"
        plain = [v for v in values if not _needs_explicit_case(v)]
        explicit = [v for v in values if _needs_explicit_case(v)]
        parts = []
        if plain:
            parts.append(f"{field} : {_eql_list([eql_string(_glob_text(v)) for v in plain])}")
        if explicit:
            regexes = [self._regex(args[0].field, _explicit_case_regex(v)) for v in explicit]
            parts.append(f"{field} regex {_eql_list(regexes)}")
        # pySigma groups this OR where its context needs it, as it does an OR chain.
        return " or ".join(parts)

    def convert_condition_field_eq_val_re(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """Sigma ``re`` (PCRE-style, unanchored) as EQL ``regex``/``regex~`` (Lucene, anchored).

        A case-insensitive pattern (``|i`` or a leading ``(?i)``) uses ``regex~`` only when the
        letters it leaves to the operator fold the same way in every Elasticsearch version
        (semantics ``regex_insensitive_folding``); otherwise ``regex`` with explicit
        ``[kK\u212a]`` classes, which no version folds further.
        """
        from backends.lucene.regex import translate_sigma_regex

        value = cast(SigmaRegularExpression, cond.value)
        self.warn_length_limit(cond.field, value)
        # On a cased copy (a wildcard field, semantics wildcard_field_copy) every character set
        # is written through the copy's swap.
        try:
            translation = translate_sigma_regex(value, self.field_model().lookup(cond.field))
        except SigmaFeatureNotSupportedByBackendError as exc:
            # name the field: the pattern alone does not say which test is refused
            raise SigmaFeatureNotSupportedByBackendError(f"field {cond.field}: {exc}") from exc
        field = self.escape_and_quote_field(cond.field)
        if translation.insensitive is not None:
            return f"{field} regex~ {self._regex(cond.field, translation.insensitive)}"
        return f"{field} regex {self._regex(cond.field, translation.pattern)}"

    def _regex(self, field: str, pattern: str) -> str:
        """The EQL string of a ``regex`` pattern, declared when it is longer than
        ``index.max_regex_length``'s default: Elasticsearch then rejects the query (semantics
        ``regex_max_length``)."""
        limit = SEMANTICS.typed("regex_max_length", int)
        if len(pattern) > limit:
            self.warn(
                f"the regex on {field} is {len(pattern):,} characters long: Elasticsearch "
                f"rejects one longer than {limit:,} unless the index's index.max_regex_length is "
                "raised (regex_max_length)"
            )
        return eql_string(pattern)

    def convert_condition_val_str(self, cond: ConditionValueExpression, state: ConversionState) -> Any:
        """EQL has no full-text search: a keyword (unbound) value cannot be expressed."""
        raise SigmaFeatureNotSupportedByBackendError(
            "EQL has no keyword (full-text) search; give the value a field, or use the kql or "
            "lucene target",
            source=cond.source,
        )

    convert_condition_val_num = convert_condition_val_str
    convert_condition_val_re = convert_condition_val_str

    def finalize_query_default(self, rule: Any, query: str, index: int, state: ConversionState) -> str:
        """``<category> where <query>``; the pipeline sets the category (``process``)."""
        category = state.processing_state.get("eql_category", "any")
        return f"{category} where {query}"
