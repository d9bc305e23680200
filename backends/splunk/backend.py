"""Splunk SPL emitters: pySigma's Splunk backend with its semantic bugs fixed.

Two targets, both subclasses of ``sigma.backends.splunk.SplunkBackend`` that override ClassVars and
a few ``convert_*`` methods instead of copying them:

* ``SigportSplunkBackend`` (target ``splunk``): raw-event searches (``default``, ``savedsearches``).
* ``SigportSplunkCimBackend`` (target ``splunk-cim``): ``| tstats ... from datamodel=<DM>.<Set>
  where ... by ...`` queries over CIM data models; the processing pipeline must set the processing
  state ``data_model_set`` (``"Endpoint.Processes"``) and ``fields`` (the BY fields), as
  pySigma's own ``splunk_cim_data_model`` pipeline does.

What the stock backend gets wrong and how it is fixed here (facts cited in ``semantics.py``):

* Sigma ``?`` is widened to ``*`` (pySigma-backend-splunk issue #55) and a literal ``*`` (``\\*``)
  cannot be written in SPL search (a backslash cannot escape ``*``); ``|cased`` raised
  ``NotImplementedError``. All three now keep a widened, case-insensitive search term as a
  pre-filter and enforce the exact value with an anchored PCRE (``(?is)^a.c$``).
* Regex-like tests (``re``, the exact patterns above, field references) are only correct as
  trailing pipes (``| regex``, ``| where``) when every ancestor in the condition is an AND. The
  stock backend decides from ``parent_condition_chain_contains(ConditionOR)``, which follows
  detection parents and misses value-list ORs and every NOT: ``not (A|re and B|re)`` lost its
  negation and a rule made only of regexes produced no query at all. Here the ancestors are tracked
  while converting; under any OR or NOT the test becomes a condition field computed by ``| rex`` /
  ``| eval`` and tested in a ``| search`` (the stock OR-regex mechanism), which is exact there.
* The stock OR-regex layout hoisted leading ``field=value`` terms before ``| rex`` even when they
  were OR operands (``A=1 OR x`` became ``A=1 | rex ... | search OR x``); only real top-level
  conjuncts are hoisted now, and a query with nothing to hoist starts with ``*``.
* The tstats layout put the search (which references the ``...Condition`` fields created later by
  ``| eval``) into the tstats WHERE clause; now WHERE only receives conditions that exist there.
* ``fieldref`` compared case-sensitively (``where 'a'='b'``) and its negation dropped events lacking
  a field; now ``lower()`` on both sides and an explicit ``isnull`` branch under NOT.
* ``SplunkDeferredORRegularExpression.field_counts`` is class-level state: it is reset at the start
  and end of every rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar, Iterator

from sigma.backends.splunk import SplunkBackend
from sigma.backends.splunk.splunk import (
    SplunkDeferredORRegularExpression,
    SplunkDeferredRegularExpression,
)
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.conversion.deferred import DeferredQueryExpression, DeferredTextQueryExpression
from sigma.conversion.state import ConversionState
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.rule import SigmaRule
from sigma.types import SigmaCasedString, SigmaFieldReference, SigmaString, SpecialChars

from backends.common import ExpansionGroupMixin, WarningsMixin

#: Characters with a meaning in PCRE outside a class; escaped when a Sigma string becomes a regex.
_PCRE_META = frozenset("\\.^$|?*+()[]{}")

#: A leading ``field=value`` term of a search, value quoted (with escapes) or bare.
_LEADING_TERM = re.compile(r'([\w.]+)=(?:"(?:[^"\\]|\\.)*"|[^\s"()]+)(?=\s|$)')

_SEARCH_MARKER = "\n| search "


def _unquoted_offsets(text: str) -> Iterator[int]:
    """Offsets of the characters of ``text`` that lie outside SPL double-quoted strings.

    A value may hold ``\n| `` or a newline; the layout code below must only ever cut or rewrite
    the query's own pipe separators, never the inside of a quoted value (that would let a Sigma
    value end its string and start a pipe command of its own).
    """
    quoted, i = False, 0
    while i < len(text):
        ch = text[i]
        if quoted and ch == "\\":
            i += 2  # an escaped character never ends the string
            continue
        if ch == '"':
            quoted = not quoted
        elif not quoted:
            yield i
        i += 1


def _find_unquoted(text: str, needle: str) -> int:
    """Offset of the first ``needle`` outside quoted strings, or -1."""
    return next((i for i in _unquoted_offsets(text) if text.startswith(needle, i)), -1)


def _one_line(text: str) -> str:
    """``text`` with its newlines outside quoted strings turned into spaces."""
    chars = list(text)
    for i in _unquoted_offsets(text):
        if chars[i] == "\n":
            chars[i] = " "
    return "".join(chars)


def spl_quote(text: str) -> str:
    """Write ``text`` as the body of an SPL double-quoted string.

    Every backslash is doubled and every double quote gets a backslash.

    The SPL parser collapses ``\\\\`` to one backslash before a command sees the argument, so a
    regex meant for ``| regex`` / ``rex`` / ``match()`` needs every backslash doubled ("SPL and
    regular expressions").
    """
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _pcre_char(c: str, case_sensitive: bool) -> str:
    """One literal character of a Sigma string as PCRE.

    A non-ASCII letter gets an explicit class of its case variants when the match is
    case-insensitive: whether ``(?i)`` folds beyond ASCII depends on PCRE's UTF/UCP build options,
    and a class is exact either way (``é`` -> ``[éÉ]``).
    """
    if c in _PCRE_META:
        return "\\" + c
    if case_sensitive or c.isascii():
        return c
    if len(c.lower()) != 1:
        # 'İ' lowercases to two characters ('i' + a combining dot), and so do other strings:
        # no character class matches exactly what Sigma's case-insensitive comparison accepts.
        raise SigmaFeatureNotSupportedByBackendError(
            f"the character {c!r} has no one-character lowercase form; SPL cannot match it "
            "case-insensitively exactly"
        )
    variants = {c} | {x for x in (c.lower(), c.upper(), c.title()) if len(x) == 1}
    variants = {x for x in variants if x.lower() == c.lower()}
    return "[" + "".join(sorted(variants)) + "]" if len(variants) > 1 else c


def glob_to_pcre(value: SigmaString, case_sensitive: bool) -> str:
    """Translate a Sigma string (wildcards and literal runs) into an anchored, exact PCRE.

    ``(?s)`` lets a wildcard match newlines as Sigma's do; ``(?i)`` is added unless the match is
    case-sensitive. The pattern is not yet escaped for the SPL string parser (see ``spl_quote``).
    """
    out = ["(?s)" if case_sensitive else "(?is)", "^"]
    for part in value.iter_parts():
        if part is SpecialChars.WILDCARD_MULTI:
            out.append(".*")
        elif part is SpecialChars.WILDCARD_SINGLE:
            out.append(".")
        elif isinstance(part, str):
            out.append("".join(_pcre_char(c, case_sensitive) for c in part))
        else:
            raise SigmaFeatureNotSupportedByBackendError(f"unexpected string part {part!r}")
    out.append("$")
    return "".join(out)


def widen(value: SigmaString) -> SigmaString:
    """The search pre-filter for ``value``: ``?`` and literal ``*`` become the ``*`` wildcard.

    SPL search has only ``*``, so the widened term matches a superset of the exact value; the
    exact test is added separately.
    """
    parts: list[str | SpecialChars] = []

    def push(part: str | SpecialChars) -> None:
        if part is SpecialChars.WILDCARD_MULTI and parts and parts[-1] is part:
            return  # '**' is the same glob as '*'
        if isinstance(part, str) and parts and isinstance(parts[-1], str):
            parts[-1] = parts[-1] + part
            return
        parts.append(part)

    for part in value.iter_parts():
        if part is SpecialChars.WILDCARD_SINGLE:
            push(SpecialChars.WILDCARD_MULTI)
        elif isinstance(part, str) and "*" in part:
            for index, chunk in enumerate(part.split("*")):
                if index:
                    push(SpecialChars.WILDCARD_MULTI)
                if chunk:
                    push(chunk)
        else:
            push(part)
    widened = SigmaString()
    widened.s = tuple(parts)
    return widened


def needs_exact_test(value: SigmaString) -> bool:
    """True when ``value`` has no exact rendering in SPL search (``?``, literal ``*``, cased)."""
    if isinstance(value, SigmaCasedString):
        return True
    return any(
        part is SpecialChars.WILDCARD_SINGLE or (isinstance(part, str) and "*" in part)
        for part in value.iter_parts()
    )


@dataclass
class _NoSearchTerm(DeferredQueryExpression):
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


class SplDeferredEvalFieldRef(SplunkDeferredORRegularExpression):
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


class SigportSplunkBackend(ExpansionGroupMixin, WarningsMixin, SplunkBackend):
    """Splunk SPL for raw events, with exact wildcard, regex, fieldref and precedence handling."""

    name: ClassVar[str] = "sigport Splunk SPL (exact)"
    formats: ClassVar[dict[str, str]] = {
        "default": "Plain SPL queries",
        "savedsearches": "Plain SPL in a savedsearches.conf file",
    }

    def convert_condition_field_eq_val_cidr(self, cond: Any, state: ConversionState) -> Any:
        """``field="10.0.0.0/8"``: the search command matches a field value against an IPv4
        CIDR block (semantics entry ``search_cidr``, inferred). For IPv6 blocks no Splunk page
        we found says the search command does so, and the OTRF backtest showed IPv6 addresses
        that Sigma's ``cidr`` matches and this form (read as a literal string) does not:
        refuse rather than emit a query that may not mean the rule."""
        network = str(getattr(cond.value, "cidr", "") or cond.value)
        if ":" in network:
            raise SigmaFeatureNotSupportedByBackendError(
                f"IPv6 CIDR block {network} in an SPL search: matching is documented for IPv4 only"
                " (an exact form would need eval cidrmatch())",
                source=cond.source,
            )
        return super().convert_condition_field_eq_val_cidr(cond, state)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Why the last converted rule's output is approximate (reset per rule).
        # Stack of OR/NOT nodes above the node being converted: decides pipe vs condition field.
        self._scopes: list[type] = []

    # --- rule lifecycle ----------------------------------------------------------------------

    def convert_rule(self, rule: SigmaRule, output_format: str | None = None, callback: Any = None):
        """Convert one rule; warnings and the stock class-level regex counter start empty."""
        self._scopes = []
        SplunkDeferredORRegularExpression.reset()
        try:
            return super().convert_rule(rule, output_format, callback)
        finally:
            SplunkDeferredORRegularExpression.reset()
            self._scopes = []


    # --- context tracking --------------------------------------------------------------------

    def convert_condition_or(self, cond: ConditionOR, state: ConversionState) -> Any:
        """OR conversion, remembering that descendants sit under an OR."""
        self._scopes.append(ConditionOR)
        try:
            return super().convert_condition_or(cond, state)
        finally:
            self._scopes.pop()

    def convert_condition_not(self, cond: ConditionNOT, state: ConversionState) -> Any:
        """NOT conversion, remembering that descendants sit under a NOT."""
        self._scopes.append(ConditionNOT)
        try:
            return super().convert_condition_not(cond, state)
        finally:
            self._scopes.pop()

    def convert_condition_and(self, cond: ConditionAND, state: ConversionState) -> Any:
        """AND conversion; an AND made only of trailing pipes yields a marker, not None."""
        result = super().convert_condition_and(cond, state)
        if result is None and cond.args:
            return _NoSearchTerm(state)
        return result

    def _pipe_context(self) -> bool:
        """True when only ANDs lead from the root to here, so a trailing pipe is exact."""
        return not self._scopes

    def decide_convert_condition_as_in_expression(self, cond: Any, state: ConversionState) -> bool:
        """No ``IN (...)`` list when a value needs an exact test (the list would widen it)."""
        if any(
            isinstance(arg, ConditionFieldEqualsValueExpression)
            and isinstance(arg.value, SigmaString)
            and needs_exact_test(arg.value)
            for arg in cond.args
        ):
            return False
        return super().decide_convert_condition_as_in_expression(cond, state)

    # --- regex-backed tests ------------------------------------------------------------------

    def _regex_test(
        self, field: str | None, spl_regex: str, cond: Any, state: ConversionState
    ) -> str | DeferredQueryExpression:
        """An exact PCRE test of ``field``: a ``| regex`` pipe, or a condition field under OR/NOT.

        ``spl_regex`` is already escaped for the SPL string parser.
        """
        if self._pipe_context():
            return SplunkDeferredRegularExpression(state, field, spl_regex).postprocess(None, cond)
        target = field or SplunkDeferredORRegularExpression.default_field
        SplunkDeferredORRegularExpression(state, target, spl_regex).postprocess(None, cond)
        self.warn(
            "a regex under OR/NOT is evaluated with rex/eval; on a multivalue field rex reads the "
            "first value only (inferred)"
        )
        return f'{SplunkDeferredORRegularExpression.get_field_condition(target)}="true"'

    def _exact_string(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str | DeferredQueryExpression:
        """A string SPL search cannot express: widened pre-filter plus an exact anchored regex."""
        value = cond.value
        assert isinstance(value, SigmaString)
        regex = spl_quote(glob_to_pcre(value, isinstance(value, SigmaCasedString)))
        exact = self._regex_test(cond.field, regex, cond, state)
        if not self._pipe_context():
            # Under NOT a widened pre-filter would narrow the result: the condition field alone.
            return exact
        prefilter = self.eq_expression.format(
            field=self.escape_and_quote_field(cond.field),
            value=self.convert_value_str(widen(value), state),
            backend=self,
        )
        return prefilter

    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """field=value; values with ``?`` or a literal ``*`` get the exact treatment."""
        if isinstance(cond.value, SigmaString) and needs_exact_test(cond.value):
            return self._exact_string(cond, state)
        return super().convert_condition_field_eq_val_str(cond, state)

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """``|cased``: insensitive pre-filter plus a case-sensitive anchored regex."""
        return self._exact_string(cond, state)

    def convert_condition_field_eq_val_re(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """``|re``: the stock escaping (backslashes doubled, quotes escaped, ``(?ims)`` prefix)."""
        regex = super(SplunkBackend, self).convert_condition_field_eq_val_re(cond, state)
        return self._regex_test(cond.field, regex, cond, state)

    def convert_condition_val_re(
        self, cond: ConditionValueExpression, state: ConversionState
    ) -> Any:
        """An unbound ``|re`` keyword is a regex over ``_raw`` (stock emitted it as a bare term)."""
        regex = self.convert_value_re(cond.value, state)
        return self._regex_test(None, regex, cond, state)

    def convert_condition_val_str(
        self, cond: ConditionValueExpression, state: ConversionState
    ) -> Any:
        """Keywords stay bare terms (stock); they match indexed tokens of _raw, not substrings."""
        self.warn(
            "keyword values are emitted as bare search terms, which match indexed terms of _raw "
            "(segmented by breakers), not arbitrary substrings"
        )
        if isinstance(cond.value, SigmaString) and needs_exact_test(cond.value):
            self.warn("a keyword with '?' or a literal '*' is widened to '*'")
        return super().convert_condition_val_str(cond, state)

    # --- field references --------------------------------------------------------------------

    def convert_condition_field_eq_field(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """``fieldref``: case-insensitive comparison; NOT keeps events lacking either field."""
        ref = cond.value
        assert isinstance(ref, SigmaFieldReference)
        if ref.starts_with or ref.ends_with:
            raise SigmaFeatureNotSupportedByBackendError(
                "fieldref with startswith/endswith/contains is not supported by the Splunk backend",
                source=cond.source,
            )
        if self._pipe_context():
            return SplDeferredWhereFieldRef(state, cond.field, ref.field).postprocess(None, cond)
        SplDeferredEvalFieldRef(state, cond.field, ref.field).postprocess(None, cond)
        return f'{SplunkDeferredORRegularExpression.get_field_condition(cond.field)}="true"'

    # --- query layout ------------------------------------------------------------------------

    def finish_query(self, rule: Any, query: Any, state: ConversionState) -> Any:
        """Stock layout; then hoist real top-level conjuncts before ``| rex`` (else start ``*``)."""
        if isinstance(query, DeferredQueryExpression):
            query = self.deferred_only_query
        query = super().finish_query(rule, query, state)
        condition_fields = state.processing_state.get("deferred_or_condition_fields")
        if not (condition_fields and isinstance(query, str) and query.startswith("\n| ")):
            return query
        marker = query.index(_SEARCH_MARKER)
        pipes, search = query[:marker], query[marker + len(_SEARCH_MARKER) :]
        prefix, rest = hoist_conjuncts(search, condition_fields)
        if not rest.strip():
            rest = "*"
        return (prefix or self.deferred_only_query) + pipes + _SEARCH_MARKER + rest

    def finalize_query_default(self, rule: Any, query: str, index: int, state: ConversionState):
        """The query as finished (no stock hoisting, which broke OR operands), plus ``| table``."""
        if isinstance(rule, SigmaRule) and rule.fields:
            return query + " | table " + ",".join(rule.fields)
        return query


def hoist_conjuncts(search: str, skip_fields: set[str]) -> tuple[str, str]:
    """Split leading top-level conjuncts ``field=value`` off a search.

    In SPL search OR binds tighter than implicit AND, so a leading term is a conjunct of the whole
    search only if the next token is not ``OR``. Terms on ``skip_fields`` (computed later in the
    pipeline) stay. Returns (hoisted terms, remaining search).
    """
    hoisted: list[str] = []
    pos = 0
    while True:
        match = _LEADING_TERM.match(search, pos)
        if not match or match.group(1) in skip_fields:
            break
        after = search[match.end() :].lstrip()
        if after.startswith("OR ") or after == "OR":
            break
        hoisted.append(match.group(0))
        pos = len(search) - len(after)
    return " ".join(hoisted), search[pos:]


class SigportSplunkCimBackend(SigportSplunkBackend):
    """Splunk ``tstats`` over a CIM data model (default output format ``data_model``)."""

    name: ClassVar[str] = "sigport Splunk tstats on CIM data models (exact)"
    formats: ClassVar[dict[str, str]] = {
        "default": "Data model queries with tstats",
        "data_model": "Data model queries with tstats",
        "savedsearches": "tstats queries in a savedsearches.conf file",
    }

    def finalize_query_savedsearches(
        self, rule: Any, query: str, index: int, state: ConversionState
    ) -> str:
        """A savedsearches.conf stanza holding the tstats query."""
        tstats = self.finalize_query_data_model(rule, query, index, state)
        return super().finalize_query_savedsearches(rule, tstats, index, state)

    def finalize_query_default(self, rule: Any, query: str, index: int, state: ConversionState):
        """The default output is the tstats query."""
        return self.finalize_query_data_model(rule, query, index, state)

    def finalize_output_default(self, queries: list[str]) -> list[str]:
        """Queries as a list, like the stock data_model output."""
        return queries

    def finalize_query_data_model(
        self, rule: Any, query: str, index: int, state: ConversionState
    ) -> str:
        """``| tstats ... where <search> by <fields>`` then the pipes that tstats cannot hold.

        Only the search part before the first pipe goes into WHERE; ``| rex``/``| eval``/
        ``| search``/``| regex``/``| where`` run on the tstats rows (still named
        ``<Set>.<field>``) before ``drop_dm_object_name`` strips the prefix.
        """
        data_model_set = state.processing_state.get("data_model_set")
        if not data_model_set or str(data_model_set).count(".") != 1:
            raise SigmaFeatureNotSupportedByBackendError(
                "the processing pipeline must set data_model_set to '<data model>.<data set>'"
            )
        fields = state.processing_state.get("fields")
        if not fields:
            raise SigmaFeatureNotSupportedByBackendError(
                "the processing pipeline must set the tstats BY fields in state 'fields'"
            )
        data_set = str(data_model_set).split(".")[1]
        cut = _find_unquoted(query, "\n| ")
        head, sep, pipes = (query, "", "") if cut < 0 else (query[:cut], "\n| ", query[cut + 3 :])
        where = "" if head.strip() == "*" else f" where {head}"
        post = (sep + pipes) if sep else ""
        if post:
            self.warn(
                'after tstats, a missing BY field reads as the string "null" '
                "(fillnull_value) in the following pipes"
            )
        text = (
            '| tstats summariesonly=false allow_old_summaries=true fillnull_value="null" count '
            f"min(_time) as firstTime max(_time) as lastTime from datamodel={data_model_set}"
            f"{where} by {' '.join(fields)}{post}\n"
            f"| `drop_dm_object_name({data_set})`\n"
            '| convert timeformat="%Y-%m-%dT%H:%M:%S" ctime(firstTime)\n'
            '| convert timeformat="%Y-%m-%dT%H:%M:%S" ctime(lastTime)'
        )
        return _one_line(text)
