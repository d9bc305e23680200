"""pySigma backend for Elasticsearch's own KQL: the ``kql`` query with ``case_insensitive``.

A configured subclass of the Kibana KQL emitter (``backends/kql/backend.py``): the boolean
structure, the case bookkeeping and the refusals are Kibana's; what Elasticsearch's plugin reads
differently (``backends/kql_es/semantics.py``) is overridden here:

* values are written for ``KqlBase.g4`` and ``ParserUtils``: whitespace separates tokens (joined
  again with one space), ``\\not`` is the word, ``\\ `` keeps its backslash;
* a pattern on a ``keyword`` field is Lucene wildcard text (``?`` is live, a backslash escapes),
  on other fields a query_string (``?`` and ``\\`` plain); Elasticsearch only sees a pattern when
  some token has no backslash before its first ``*`` (``wildcard_detection``), so a pattern
  that cannot be written that way is widened to a leading ``*`` with a warning;
* ``and``/``or`` mixes are always parenthesised, value lists are written field by field;
* a rule holding a regex that no finite set of wildcard values writes is one Query DSL ``bool``
  tree of ``kql`` and ``regexp`` queries (``backend_dsl.py``);
* each query carries ``case_insensitive``: true when a case-insensitive Sigma value lands on a
  plain ``keyword`` field (no lowercase copy or normalizer). A letter Elasticsearch folds apart
  from a partner Sigma's lowercase joins (``İ`` and ``i``, the Kelvin sign and ``k``, ``É`` and
  ``é`` under ASCII folding) is written with it, as alternatives (``alternatives``); a letter some
  reading joins with one Sigma keeps apart (``ſ`` with ``s`` under Unicode folding) is declared
  (``case_insensitive_folding``).

The default output is the Query DSL query object, one JSON per query: the ``kql`` query, or the
``bool`` tree; ``converter/outputs`` wraps it as a search request body (``-f es-dsl``) or, for a
``kql`` query, an ES|QL ``WHERE KQL(...)`` (``-f esql``).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any, ClassVar

from sigma.conditions import ConditionFieldEqualsValueExpression, ConditionValueExpression
from sigma.conversion.deferred import DeferredQueryExpression
from sigma.conversion.state import ConversionState
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import SigmaCasedString, SigmaString, SpecialChars

from sigma.conditions import ConditionIdentifier

from backends.common import EXACT_WARNINGS, can_exceed, refuse_empty_field, refuse_placeholders
from backends.kql.backend import CASE_WARNING, SigportKqlBackend
from backends.lucene.regex import has_case
from backends.query.folding import text_folds_alike

from .backend_dsl import (
    REGEXP_TYPES,
    DslNode,
    DslTreeMixin,
    glob_query,
    kql_leaves,
    regexp_too_long,
    to_query,
)
from .case import READINGS, CaseRecord, alternatives, ci_exact, plain_text, query_setting
from .semantics import JAVA_LINE_TERMINATORS, LANGUAGE, SEMANTICS, WHITESPACE
_SPECIAL = frozenset('\\():<>"*{}')
_KEYWORDS = frozenset(SEMANTICS.typed("keywords", tuple))
#: Characters written as ``\uXXXX``: whitespace (a raw one would end the token; ``\n`` before
#: ``ot`` would read as ``\not``) and Java line terminators (entry wildcard_detection).
_UNICODE_ESCAPED = frozenset(WHITESPACE.replace(" ", "") + JAVA_LINE_TERMINATORS)
_PATTERN_TOKEN = re.compile(r"[^\\]*[*][^" + JAVA_LINE_TERMINATORS + "]*", re.DOTALL)
_LUCENE_ESCAPED = frozenset("*?\\")
_QS_WHITESPACE = str(SEMANTICS.get("query_string_splits_whitespace"))


def _char(char: str) -> str:
    """One literal character inside an unquoted token."""
    if char in _SPECIAL:
        return "\\" + char
    if char in _UNICODE_ESCAPED:
        return f"\\u{ord(char):04x}"
    return char


def _tokens_text(tokens: list[str]) -> str:
    """Join rendered tokens, escaping a token that is an operator word."""
    return " ".join("\\" + t if t.lower() in _KEYWORDS else t for t in tokens)


def render_plain(text: str, one_token: bool = False) -> str:
    """A value without wildcards: unquoted when one-space-joined tokens give it back (one
    token only for a field name), else quoted (``quoted_escapes``)."""
    unquoted = text and not text.startswith(" ") and not text.endswith(" ") and "  " not in text
    if unquoted and not (one_token and " " in text):
        return _tokens_text(["".join(_char(c) for c in token) for token in text.split(" ")])
    body = text.replace("\\", "\\\\").replace('"', '\\"')
    for char, escaped in (("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
        body = body.replace(char, escaped)
    return f'"{body}"'


def _is_pattern(tokens: list[str]) -> bool:
    """What ParserUtils.hasWildcard decides for these rendered tokens."""
    return any(t == "*" or _PATTERN_TOKEN.fullmatch(t) for t in tokens)


#: A query_string term no caseless copy can match: the ingest pipeline lowercases copies per code
#: point (backends.query.ingest), and U+0130 lowercases to 'i', so no copy holds it; no case
#: folding pairs it with another character either. Added as a second, OR-ed term
#: (query_string_splits_whitespace) it makes Elasticsearch read the value as a pattern
#: (wildcard_detection) without changing what it matches.
NEVER_IN_COPY = "\u0130*"


def render_pattern(parts: list[Any], keyword: bool, never: str | None = None) -> str | None:
    """A pattern value as KQL tokens, or None when Elasticsearch would not read it as one.

    On a keyword field the unescaped text is Lucene wildcard syntax (``keyword_pattern_syntax``):
    literal ``* ? \\`` get a Lucene backslash, a space at an edge or beside another one is the
    escaped ``\\ ``. Elsewhere it is a query_string (``query_string_pattern``): a literal ``*``
    cannot be written, ``?`` is plain and whitespace is refused (it would split the value).
    ``never``, for a caseless copy only, is a term OR-ed on when no token reads as a pattern.
    """
    chars: list[Any] = []
    for part in parts:
        chars.extend(part if isinstance(part, str) else [part])
    tokens, current = [], []
    for i, char in enumerate(chars):
        if char is SpecialChars.WILDCARD_MULTI:
            current.append("*")
        elif char is SpecialChars.WILDCARD_SINGLE:
            if not keyword:
                return None
            current.append("?")
        elif not keyword and char in _QS_WHITESPACE:
            return None  # query_string would split the value there
        elif char == " ":
            inner = 0 < i < len(chars) - 1 and chars[i - 1] != " " and chars[i + 1] != " "
            if inner:
                tokens.append("".join(current))
                current = []
            else:
                current.append("\\ ")
        elif char in _LUCENE_ESCAPED:
            if not keyword:
                if char == "*":
                    return None
                current.append(_char(char))
            else:
                current.append("\\\\" + _char(char))
        else:
            current.append(_char(char))
    tokens.append("".join(current))
    if never is not None and not keyword and not _is_pattern(tokens):
        tokens.append(never)
    return _tokens_text(tokens) if _is_pattern(tokens) else None


def _live_stars(parts: list[Any]) -> list[Any]:
    """``parts`` with every literal ``*`` made a live one (a widening the caller declares)."""
    out: list[Any] = []
    for part in parts:
        if not isinstance(part, str):
            out.append(part)
            continue
        for index, piece in enumerate(part.split("*")):
            if index:
                out.append(SpecialChars.WILDCARD_MULTI)
            if piece:
                out.append(piece)
    return out


class SigportKqlEsBackend(DslTreeMixin, SigportKqlBackend):
    """Convert Sigma rules to Elasticsearch ``kql`` queries (JSON with ``case_insensitive``)."""

    name: ClassVar[str] = "Elasticsearch KQL"
    formats: ClassVar[dict[str, str]] = {
        "default": "Query DSL query objects: the kql query with case_insensitive, or a bool tree "
        "of kql and regexp queries"
    }

    # Value lists become one `field:value` per value (field_value_group).
    convert_or_as_in: ClassVar[bool] = False
    convert_and_as_in: ClassVar[bool] = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The keyword-field string tests of the text being written (case.CaseRecord).
        self._records: list[CaseRecord] = []
        self._rule: Any = None
        self._shipper = False
        # (field, value class, value parts) -> the regexp plan of that string test, per rule.
        self._plans: dict[Any, tuple[str, dict[str, Any]] | None] = {}

    def convert_rule(self, rule: Any, output_format: str | None = None, *args: Any, **kwargs: Any) -> Any:
        """Convert with a fresh record of the keyword-field values of each query."""
        self._records, self._rule, self._plans = [], rule, {}
        return super().convert_rule(rule, output_format, *args, **kwargs)

    def _from_logsource_conditions(self, cond: ConditionFieldEqualsValueExpression) -> bool:
        """True when ``cond`` is one of the conditions the mapping table adds for the logsource
        (``<table>-conditions``: values the shipper writes exactly, e.g. event.category)."""
        detections = getattr(getattr(self._rule, "detection", None), "detections", {}) or {}
        for item in cond.parent_chain():
            if isinstance(item, ConditionIdentifier):
                items = getattr(detections.get(item.identifier), "detection_items", None) or []
                return bool(items) and all(
                    any(str(i).endswith("-conditions") for i in
                        getattr(d, "applied_processing_items", ()) or ())
                    for d in items
                )
        return False

    # --- strings KQL cannot write exactly (backend_dsl.py) ---------------------------------------

    def _string_needs_regexp(self, cond: ConditionFieldEqualsValueExpression) -> bool:
        """True when this string test is written as a whole-value ``regexp`` query
        (``_regexp_plan``)."""
        return self._regexp_plan(cond) is not None

    def _regexp_plan(
        self, cond: ConditionFieldEqualsValueExpression
    ) -> tuple[str, dict[str, Any]] | None:
        """The field and ``regexp`` query of a string test whose KQL text would not be exact,
        or None (the KQL route): the text would be widened or refused (``_pattern_inexact``),
        or its case would not be Sigma's (``_case_field``)."""
        value = cond.value
        assert isinstance(value, SigmaString)
        # A placeholder left over (|expand without a pipeline that resolves it) has no text:
        # refused as every emitter refuses it (it reached render_pattern: an internal error).
        refuse_placeholders(value)
        key = (cond.field, type(value), tuple(value.s))
        if key in self._plans:
            return self._plans[key]
        plan = self._plan(cond.field, value)
        self._plans[key] = plan
        return plan

    def _plan(self, field: str, value: SigmaString) -> tuple[str, dict[str, Any]] | None:
        info = self.field_model().lookup(field)
        if info is None or info.type not in REGEXP_TYPES:
            return None  # unmapped or analysed: the KQL route and its declarations
        if self._pattern_inexact(field, value, info):
            target = self._case_field(info, value) or info
            return target.name, glob_query(target.name, value, target)
        target = self._case_field(info, value)
        if target is None:
            return None
        try:
            query = glob_query(target.name, value, target)
        except SigmaFeatureNotSupportedByBackendError:
            return None  # a letter without a one-to-one case mapping: the KQL route declares it
        return None if regexp_too_long(query) else (target.name, query)

    def _pattern_inexact(self, field: str, value: SigmaString, info: Any) -> bool:
        """True when the KQL text of this pattern would be widened or refused (``_value``,
        ``_check_wildcard_spaces``)."""
        parts = list(value.iter_parts())
        if all(isinstance(p, str) for p in parts):
            return False
        keyword = info.type == "keyword"
        if not keyword and (SpecialChars.WILDCARD_SINGLE in parts or any(
            isinstance(p, str) and "*" in p for p in parts
        )):
            return True  # '?' escaped, a literal '*' live in a query_string
        try:
            self._check_wildcard_spaces(field, value)
        except SigmaFeatureNotSupportedByBackendError:
            return True  # whitespace a query_string splits
        if render_pattern(parts, keyword) is not None:
            return False
        return not (info.caseless_of and render_pattern(parts, keyword, never=NEVER_IN_COPY))

    def _case_field(self, info: Any, value: SigmaString) -> Any:
        """The field whose ``regexp`` query (letters as case classes) tests a case-insensitive
        ``value`` exactly where no ``kql`` query can, or None:

        * a field ``case_insensitive`` does not reach (``case_insensitive_scope``: wildcard,
          constant_keyword), ``value`` holding letters;
        * a plain keyword field where a letter folds otherwise than Sigma's lowercase under some
          reading (``case_insensitive_folding``: ``s`` and ``ſ``) and no ``alternatives`` exist;
        * a lowercase-normalised multi-field that stops at a shorter length than its source
          (``FieldModel.loses_values``) when ``value`` can be longer, with letters or not: the
          source field, which indexes those values (``ignore_above``).

        A caseless copy (matched case-sensitively, exact) and a ``|cased`` value keep the KQL
        route."""
        plain = plain_text(value)
        if isinstance(value, SigmaCasedString) or info.caseless_of:
            return None
        model = self.field_model()
        if info.type == "keyword" and info.normalizer == "lowercase":
            # Letters or not: the source field also indexes the values past this one's limit.
            if info.source == info.name or not model.loses_values(info.name) or not (
                can_exceed(value, info.ignore_above)
            ):
                return None
            source = model.lookup(info.source)
            if source is None or source.type not in REGEXP_TYPES or source.normalizer:
                return None
            return source
        if not has_case(plain):
            return None
        if info.type == "keyword":
            if info.normalizer is not None or text_folds_alike(plain, READINGS):
                return None
            return info if alternatives(list(value.iter_parts())) is None else None
        return info

    # --- values --------------------------------------------------------------------------------

    def escape_and_quote_field(self, field_name: str) -> str:
        """A field name is one token (or a quoted string) in KqlBase.g4's fieldName."""
        name = refuse_empty_field(field_name)
        if "*" in name:
            raise SigmaFeatureNotSupportedByBackendError(
                f"Elasticsearch KQL reads {name!r} as a field name pattern"
            )
        return render_plain(name, one_token=True)  # fieldName is one token or a quoted string

    def _value(self, field: str, value: SigmaString, parts: list[Any] | None = None) -> str:
        """Render ``value`` (or ``parts``, an alternative of it) for ``field``'s type, widening
        what Elasticsearch cannot read."""
        parts = list(value.iter_parts()) if parts is None else parts
        if all(isinstance(p, str) for p in parts):
            return render_plain("".join(str(p) for p in parts))
        info = self.field_model().lookup(field)
        keyword = info is not None and info.type == "keyword"
        if not keyword and SpecialChars.WILDCARD_SINGLE in parts:
            self.warn(
                f"Sigma '?' in {str(value)!r}: Elasticsearch KQL escapes '?' on {field} (not a "
                "keyword field, query_string_pattern); emitted '*', which also matches zero or "
                "several characters"
            )
            parts = [SpecialChars.WILDCARD_MULTI if p is SpecialChars.WILDCARD_SINGLE else p
                     for p in parts]
        if not keyword and any(isinstance(p, str) and "*" in p for p in parts):
            self.warn(
                f"Elasticsearch KQL cannot write the literal '*' of {str(value)!r} on {field} (a "
                "query_string keeps every '*' live, query_string_pattern); emitted a live '*'"
            )
            parts = _live_stars(parts)
        text = render_pattern(parts, keyword)
        if text is None and info is not None and info.caseless_of:
            text = render_pattern(parts, keyword, never=NEVER_IN_COPY)
        if text is None and parts[0] is not SpecialChars.WILDCARD_MULTI:
            text = render_pattern([SpecialChars.WILDCARD_MULTI, *parts], keyword)
            if text is not None:
                self.warn(
                    f"Elasticsearch KQL would read {str(value)!r} on {field} as plain text (a "
                    "`*` after an escaped character in the same token is no wildcard, "
                    "wildcard_detection); emitted with a leading '*', which also matches values "
                    "that only contain it"
                )
        if text is None:
            raise SigmaFeatureNotSupportedByBackendError(
                f"Elasticsearch KQL cannot write the pattern {str(value)!r} on {field} "
                "(whitespace a query_string would split); use the eql or lucene target"
            )
        return text

    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """``field:value`` written for Elasticsearch's grammar, with the case bookkeeping; a
        value KQL cannot write exactly is a ``regexp`` query (``glob_query``)."""
        assert isinstance(cond.value, SigmaString)
        plan = self._regexp_plan(cond)
        if plan is not None:
            field, query = plan
            self.warn_length_limit(field, cond.value)
            self.caseless_copy_of(cond.field, cond.value, LANGUAGE)  # warns for a |cased value
            return self._regexp_leaf(refuse_empty_field(field), query)
        self._check_wildcard_spaces(cond.field, cond.value)
        self._shipper = self._from_logsource_conditions(cond)
        before = len(self._records)
        self._check_case(cond.field, cond.value)
        field = self.escape_and_quote_field(cond.field)
        record = self._records[-1] if len(self._records) > before else None
        if record is not None and not record.normalized and not record.cased:
            # A plain keyword field under case_insensitive: write each letter's partners.
            choices = alternatives(list(cond.value.iter_parts()))
            if choices is not None:
                self._records[-1] = replace(record, expanded=True)
                texts = [f"{field}:{self._value(cond.field, cond.value, c)}" for c in choices]
                return texts[0] if len(texts) == 1 else "(" + " or ".join(texts) + ")"
        return f"{field}:{self._value(cond.field, cond.value)}"

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str | DeferredQueryExpression:
        """``|cased``: the same text; the query's case_insensitive decides (see finalize)."""
        return self.convert_condition_field_eq_val_str(cond, state)

    def convert_condition_val_str(
        self, cond: ConditionValueExpression, state: ConversionState
    ) -> str | DeferredQueryExpression:
        """Free text is refused: its outcome depends on every default field's mapping."""
        raise SigmaFeatureNotSupportedByBackendError(
            "Elasticsearch KQL free text searches default_field with multi_match or "
            "query_string (unbound_value); sigport emits field queries only"
        )

    # --- case ----------------------------------------------------------------------------------

    def _check_case(self, field: str, value: Any) -> None:
        """Keyword-field values are decided per query (``finalize_query_default``); values on
        other fields (copies, wildcard, text) as in Kibana, which case_insensitive never reaches."""
        if not isinstance(value, SigmaString):
            return
        info = self.field_model().lookup(field)
        if info is None or info.type != "keyword" or info.caseless_of:
            super()._check_case(field, value)
            return
        self.warn_length_limit(field, value)
        plain = plain_text(value)
        if plain.lower() != plain.upper():
            self._records.append(CaseRecord(field, info, value, self._shipper))

    def _declare_case(self, ci: bool, records: list[CaseRecord] | tuple[CaseRecord, ...]) -> None:
        """Warn for each keyword-field value that a ``kql`` query with ``case_insensitive``
        ``ci`` does not match as Sigma."""
        for record in records:
            field, plain = record.field, plain_text(record.value)
            if record.cased:
                if record.shipper and ci:
                    # The data source writes exactly this value (a logsource condition of the
                    # mapping table), so a case-insensitive term selects the same documents.
                    self._exact_warning(
                        f"Elasticsearch KQL matches {field}:{plain} case-insensitively "
                        "(case_insensitive); the data source writes exactly this value"
                    )
                elif record.normalized or ci:
                    self.warn(
                        f"Elasticsearch KQL matches {field} case-insensitively "
                        f"({'lowercase normalizer' if record.normalized else 'case_insensitive'}); "
                        f"the Sigma value {plain!r} is |cased"
                    )
                continue
            if not ci and not record.normalized:
                self.warn(
                    f"Elasticsearch KQL matches {field} {CASE_WARNING}; "
                    + self._caseless_advice(field)
                )
                continue
            if not ci or record.expanded:
                # A lowercase normalizer alone matches as Sigma (normalizer_lowercase); expanded
                # values were written with every letter's partners (alternatives).
                continue
            odd = sorted({c for c in plain if not ci_exact(c, record.normalized)})
            if odd:
                self.warn(
                    f"Elasticsearch's case_insensitive folds {''.join(odd)!r} in {field}'s value "
                    f"{plain!r} otherwise than Sigma (ASCII-only or Unicode case folding, "
                    "case_insensitive_folding); " + self._caseless_advice(field)
                )

    def _exact_warning(self, message: str) -> None:
        """A warning that states a fact of the data source (``EXACT_WARNINGS``)."""
        self.warn(message)
        attributes = getattr(self._rule, "custom_attributes", None)
        if attributes is not None:
            listed = attributes.setdefault(EXACT_WARNINGS, [])
            if message not in listed:
                listed.append(message)

    def finalize_query_default(
        self, rule: Any, query: Any, index: int, state: ConversionState
    ) -> Any:
        """The query object: the ``kql`` query (text and case_insensitive), or the ``bool`` tree
        whose ``kql`` queries each carry the setting their own tests need."""
        if isinstance(query, DslNode):
            for leaf in kql_leaves(query):
                self._declare_case(bool(leaf.ci), leaf.records)
            ci = False  # a leaf whose tests need neither setting
        else:
            ci = query_setting(self._records)
        self._declare_case(ci, self._records)
        self._records = []
        return json.dumps(to_query(query, ci), ensure_ascii=False)
