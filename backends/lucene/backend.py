"""sigport's Lucene ``query_string`` emitter: pySigma's ``LuceneBackend``, semantic bugs fixed.

The stock backend (pysigma-backend-elasticsearch ``LuceneBackend``) gets the syntax right but not
the meaning in several places; each fix below overrides one ClassVar or method and says why:

* **Case.** Sigma strings are case-insensitive, Lucene terms on ``keyword``/``wildcard`` fields are
  not, and query_string has no ``case_insensitive`` option. Fields renamed by the pipeline to a
  lowercase-normalised multi-field (Defend's ``.caseless``, or one of the user's ``--mapping``,
  as the field model says) are insensitive already; for any other field a
  value with letters becomes an exact regex with per-letter classes (``/[cC][mM][dD]\\.exe/``).
* **Copies.** With a ``--mapping`` from ``sigport mapping``, case-insensitive string tests move
  to the caseless copy the ingest pipeline writes (``sigport.caseless.<field>``, a ``wildcard``
  field without a length limit) with their values encoded alike: a plain case-sensitive term
  there is exact at any length (``SubfieldLimitMixin.caseless_copy_of``).
* **``|cased``** had no template (NotImplementedError); it is now a plain sensitive term.
* **Regex.** Sigma regexes are unanchored PCRE; the stock backend pasted them unchanged (with a
  ``(?i)`` prefix Lucene does not understand). They are now translated by ``regex.py``.
* **Values that are operators or ranges.** ``F:AND`` is a syntax error, ``F:-1`` too, and an
  unquoted term starting with ``<``/``>`` is a range even when escaped (the doc: they "can't be
  escaped at all"; ES' ``getFieldQuery`` checks the unescaped text). Such values are quoted (a
  phrase on a keyword field is the exact whole value) or, for numbers, escaped.
* **Keywords.** The stock backend renders a field-less value as a bare term on the default
  fields, which is not Sigma's case-insensitive substring of any value: such rules are refused
  with the reason (as on EQL).

Output formats (default, kibana_ndjson, dsl_lucene, siem_rule, siem_rule_ndjson) are inherited.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Pattern

from sigma.backends.elasticsearch import LuceneBackend
from sigma.conditions import ConditionAND, ConditionFieldEqualsValueExpression, ConditionOR
from sigma.conversion.state import ConversionState
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import (
    SigmaCasedString,
    SigmaRegularExpression,
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

from .regex import glob_pieces, glob_to_lucene, has_case, translate_sigma_regex
from .semantics import SEMANTICS

#: Choices of the ``case_insensitive`` backend option.
CASE_MODES = ("regex", "none")
#: Whole-token words that Lucene's classic grammar reads as operators, never as values.
OPERATOR_WORDS = frozenset({"AND", "OR", "NOT"})


def embed_regex(regex: str) -> str:
    """Wrap a Lucene RegExp as a query_string regex term ``/.../``.

    ``/`` is escaped for the query_string tokenizer (``\\/`` is also a literal ``/`` to RegExp). A
    trailing literal backslash would turn the closing delimiter into ``\\/`` (the tokenizer takes
    the longest match), so it is written as the class ``[\\\\]`` instead.
    """
    body = regex.replace("/", "\\/")
    trailing = len(body) - len(body.rstrip("\\"))
    if trailing >= 2 and trailing % 2 == 0:
        body = body[:-2] + "[\\\\]"
    return "/" + body + "/"


def _strip_whitespace(chars: str) -> str:
    """``chars`` without whitespace: inside a phrase whitespace needs no escape."""
    return "".join(c for c in chars if c not in " \t\n\r\u3000")


class SigportLuceneBackend(
    CidrOnIpFieldMixin,
    ExpansionGroupMixin,
    WarningsMixin,
    SubfieldLimitMixin,
    NumberCoercionMixin,
    LuceneBackend,
):
    """Lucene query_string backend whose output matches what the Sigma rule matches.

    Args:
        processing_pipeline: the pipeline (field mapping) to apply before conversion.
        collect_errors: collect rule errors instead of raising (pySigma semantics).
        case_insensitive: ``"regex"`` (default) renders case-insensitive values on fields without
            a lowercase normalizer as exact per-letter-class regexes; ``"none"`` emits plain
            (case-sensitive) terms and records a warning for each.
        **kwargs: passed on to ``LuceneBackend`` (index_names, schedule_interval, ...).

    Attributes:
        warnings: messages about approximate output for the rule converted last.
    """

    name: ClassVar[str] = "sigport Lucene query_string"
    # Escape what the classic grammar cannot have inside a field-name term (and a leading + or -);
    # the stock pattern only escaped whitespace and '*'.
    field_escape_pattern: ClassVar[Pattern[str]] = re.compile(r'[\s!():^\[\]"{}~*?\\/]|^[+\-]')
    # Every character the query_string tokenizer treats as whitespace ends an unquoted term, not
    # only the space the stock list escapes: a tab or newline in a value would split it in two
    # (``\t`` alone left an empty term). Same set as the interpreter's WS terminal.
    add_escaped: ClassVar[str] = LuceneBackend.add_escaped + "\t\n\r\u3000"

    def escape_and_quote_field(self, field_name: str) -> str:
        """The stock escaping; an empty name (``:value``) is refused, and a name that is an
        operator word gets a backslash (the classic parser reads ``\\OR:`` as the field ``OR``,
        bare ``OR:`` as the operator: a syntax error)."""
        escaped = super().escape_and_quote_field(refuse_empty_field(field_name))
        return "\\" + escaped if escaped in OPERATOR_WORDS else escaped

    def __init__(
        self,
        processing_pipeline: Any = None,
        collect_errors: bool = False,
        case_insensitive: str = "regex",
        **kwargs: Any,
    ) -> None:
        if case_insensitive not in CASE_MODES:
            raise ValueError(
                f"case_insensitive must be one of {', '.join(CASE_MODES)}, not {case_insensitive!r}"
            )
        super().__init__(processing_pipeline, collect_errors, **kwargs)
        self.case_insensitive = case_insensitive


    # --- strings ---------------------------------------------------------------------------
    def convert_value_str(self, s: SigmaString, state: ConversionState) -> str:
        """Escape a value; quote it where an unquoted term would be an operator or a range."""
        if not s.contains_special():
            plain = "".join(part for part in s.s if isinstance(part, str))
            if plain in OPERATOR_WORDS or plain[:1] in ("<", ">"):
                # A phrase is exempt from range detection and is the exact value on keyword.
                converted = s.convert(
                    self.escape_char,
                    self.wildcard_multi,
                    self.wildcard_single,
                    self.str_quote + _strip_whitespace(self.add_escaped),
                    self.filter_chars,
                )
                return self.str_quote + converted + self.str_quote
        return super().convert_value_str(s, state)

    def render_string(self, field: str, value: SigmaString, state: ConversionState) -> str:
        """Render the value side of ``field:<value>`` with Sigma's case rule honoured."""
        refuse_placeholders(value)
        self.warn_length_limit(field, value)
        if self.caseless_copy_of(field, value, "Lucene") is not None:
            # The pipeline encoded the value for the copy: a plain term or wildcard on the
            # copy (a wildcard field, no normalizer) is case-sensitive, hence exact.
            return self.convert_value_str(value, state)
        if isinstance(value, SigmaCasedString):
            if self.is_lowercase_field(field):
                raise SigmaFeatureNotSupportedByBackendError(
                    f"field {field} is lowercase-normalised, so the case-sensitive (|cased) value "
                    f"{value} cannot be matched exactly; query a field without that normalizer"
                )
            return self.convert_value_str(value, state)
        pieces = glob_pieces(value)
        letters = any(isinstance(p, str) and has_case(p) for p in pieces)
        if self.is_lowercase_field(field) or not letters:
            return self.convert_value_str(value, state)
        if self.case_insensitive == "none":
            self.warn(
                f"{field}: value {value} emitted as a case-sensitive term (case_insensitive=none); "
                "it misses other letter cases"
            )
            return self.convert_value_str(value, state)
        return self._embedded(field, glob_to_lucene(pieces, case_insensitive=True))

    def _embedded(self, field: str, regex: str) -> str:
        """``embed_regex``, declared when the term is longer than ``index.max_regex_length``'s
        default: Elasticsearch then rejects the query (semantics ``regex_max_length``)."""
        term = embed_regex(regex)
        limit = SEMANTICS.typed("regex_max_length", int)
        if len(term) - 2 > limit:
            self.warn(
                f"the regex term on {field} is {len(term) - 2:,} characters long: Elasticsearch "
                f"rejects one longer than {limit:,} unless the index's index.max_regex_length is "
                "raised (regex_max_length)"
            )
        return term

    def render_number(self, value: Any) -> str:
        """A number as a term; a leading '-' would be the prohibit operator, so escape it."""
        text = str(value)
        return "\\" + text if text.startswith("-") else text

    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        """``field:value`` for a case-insensitive Sigma string."""
        assert isinstance(cond.value, SigmaString)
        return (
            self.escape_and_quote_field(cond.field)
            + self.eq_token
            + self.render_string(cond.field, cond.value, state)
        )

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        """``field:value`` for ``|cased``: Lucene keyword terms are case-sensitive already."""
        return self.convert_condition_field_eq_val_str(cond, state)

    def convert_condition_field_eq_val_num(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        """``field:number`` with a negative sign escaped."""
        self.warn_number_coercion(cond.field)
        return (
            self.escape_and_quote_field(cond.field) + self.eq_token + self.render_number(cond.value)
        )

    def convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> str:
        """``field:(a OR b)`` where each value is rendered like a single comparison."""
        args = [arg for arg in cond.args if isinstance(arg, ConditionFieldEqualsValueExpression)]
        field = args[0].field
        self.warn_unmodelled(field)
        items = [
            self.render_string(field, arg.value, state)
            if isinstance(arg.value, SigmaString)
            else self._number_item(field, arg.value)
            for arg in args
        ]
        return self.field_in_list_expression.format(
            field=self.escape_and_quote_field(field),
            op=self.or_in_operator,
            list=self.list_separator.join(items),
        )

    def _number_item(self, field: str, value: Any) -> str:
        """A number of a ``field:(a OR b)`` list, with the coercion caveat recorded."""
        self.warn_number_coercion(field)
        return self.render_number(value)

    def convert_condition_val_str(self, cond: Any, state: ConversionState) -> Any:
        """Unbound (keyword) value: no Lucene query means Sigma's keyword search, so it is refused.

        Sigma matches a keyword case-insensitively as a substring of any value of the event
        (SIGMA_SEMANTICS "keywords"). A bare Lucene term searches the index's default fields
        (semantics ``default_field``): on keyword fields a case-sensitive wildcard over the
        whole value, on text fields the analysed tokens (a phrase for several words), and the
        default fields also hold values the shipper adds (``event.dataset``, ...). No data
        source sigport maps keeps the record as one exact text field either.
        """
        raise SigmaFeatureNotSupportedByBackendError(
            f"keyword search {cond.value}: a bare Lucene term searches the default fields as "
            "case-sensitive whole-value wildcards (keyword fields) or analysed tokens (text "
            "fields), not Sigma's case-insensitive substring of any value; give the value a field",
            source=cond.source,
        )

    convert_condition_val_num = convert_condition_val_str
    convert_condition_val_re = convert_condition_val_str

    # --- regular expressions ---------------------------------------------------------------
    def convert_condition_field_eq_val_re(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        """``field:/regex/`` with the Sigma regex translated to an equivalent Lucene RegExp."""
        value = cond.value
        assert isinstance(value, SigmaRegularExpression)
        self.warn_length_limit(cond.field, value)
        # On a cased copy every character set is written through the copy's swap.
        try:
            translation = translate_sigma_regex(value, self.field_model().lookup(cond.field))
        except SigmaFeatureNotSupportedByBackendError as exc:
            # name the field: the pattern alone does not say which test is refused
            raise SigmaFeatureNotSupportedByBackendError(f"field {cond.field}: {exc}") from exc
        if self.is_lowercase_field(cond.field) and translation.case_sensitive:
            # The normalizer lower-cases the indexed value, and query_string regexes are not
            # normalised: every letter must be matched through its case variants.
            raise SigmaFeatureNotSupportedByBackendError(
                f"field {cond.field} is lowercase-normalised, so the case-sensitive regex "
                f"{value.regexp} cannot be matched exactly; query a field without that "
                "normalizer or use |re|i"
            )
        return (
            self.escape_and_quote_field(cond.field)
            + self.eq_token
            + self._embedded(cond.field, translation.pattern)
        )
