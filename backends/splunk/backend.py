"""Splunk SPL emitters: pySigma's Splunk backend with its semantic bugs fixed.

Two targets, both subclasses of ``sigma.backends.splunk.SplunkBackend`` that override ClassVars and
a few ``convert_*`` methods instead of copying them:

* ``SigportSplunkBackend`` (target ``splunk``): raw-event searches (``default``, ``savedsearches``).
* ``SigportSplunkCimBackend`` (target ``splunk-cim``, in ``backend_cim.py``): ``| tstats ... from
  datamodel=<DM>.<Set> where ... by ...`` queries over CIM data models; the processing pipeline must set the processing
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
  while converting; under any OR or NOT the test becomes a condition field computed by
  ``| eval <F>Condition=if(isnotnull(mvfind('<F>', "<pcre>")), "true", "false")`` and tested in a
  ``| search``. The stock OR-regex form (``| rex field=F "(?<G>...)"``) is not used: on a
  multivalue field rex reads one value, while ``mvfind`` tests every value (semantics entry
  ``eval_mvfind_any_value``), which is what Sigma's any-value match needs.
* The stock OR-regex layout hoisted leading ``field=value`` terms before ``| rex`` even when they
  were OR operands (``A=1 OR x`` became ``A=1 | rex ... | search OR x``); only real top-level
  conjuncts are hoisted now, and a query with nothing to hoist starts with ``*``.
* The tstats layout put the search (which references the ``...Condition`` fields created later by
  ``| eval``) into the tstats WHERE clause; now WHERE only receives conditions that exist there.
  In the pipes after tstats a missing BY field reads as the ``fillnull_value`` string, so every
  conjunct of the condition (NOT pushed through OR) made of plain, null, exists and comparison
  tests goes into WHERE only, where a missing field is still missing (``simplify.where_split``);
  a null or exists test left after tstats is written against the fill (``F="null"``). The output
  is declared approximate exactly when some test after tstats is true on that string (a test
  false on it behaves as on a missing field, negated or not).
* ``fieldref`` compared case-sensitively (``where 'a'='b'``) and its negation dropped events lacking
  a field; now ``lower()`` on both sides and an explicit ``isnull`` branch under NOT.
* ``SplunkDeferredORRegularExpression.field_counts`` is class-level state: it is reset at the start
  and end of every rule.

String-level helpers (SPL quoting, exact PCRE for Sigma strings, widening, quote-aware cuts) are
in ``spl_text.py``; field names, the remembered per-value decisions and the fill hazards of regex
tests in ``terms.py``; the recording of the tests true on the tstats fill string in
``backend_fill.py``; the trailing-pipe expressions (``| where``, ``| eval``) in
``backend_deferred.py``; keywords (bare terms, or exact ``_raw`` tests) in ``backend_keywords.py``.
"""

from __future__ import annotations

import ipaddress
from typing import Any, ClassVar, cast

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
from sigma.conversion.deferred import DeferredQueryExpression
from sigma.conversion.state import ConversionState
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.rule import SigmaRule
from sigma.types import (
    SigmaCasedString,
    SigmaFieldReference,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
)

from backends.common import ExpansionGroupMixin, WarningsMixin

from .backend_deferred import (
    NoSearchTerm,
    SplDeferredEvalFieldRef,
    SplDeferredEvalRegex,
    SplDeferredWhereFieldRef,
    all_condition_fields,
    attach,
)
from .regex_case import is_caseless, splunk_caseless
from .simplify import base_filter, simplify
from .backend_text_record import is_text_record
from .xml_text import TOKEN, XML_TEXT, has_entity_hazard
from .spl_text import (
    SEARCH_MARKER,
    glob_to_pcre,
    hoist_conjuncts,
    spl_quote,
    widen,
)
from .backend_fill import FillHazardMixin
from .backend_keywords import KeywordMixin
from .terms import (
    RegexHazard,
    ValueHazard,
    declared_multivalue,
    multivalued,
    remembered_needs_exact_test,
    shipper_values,
    spl_field,
)


#: The IPv4-mapped IPv6 addresses (RFC 4291 section 2.5.5.2).
_IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")


class SigportSplunkBackend(
    ExpansionGroupMixin, WarningsMixin, KeywordMixin, FillHazardMixin, SplunkBackend
):
    """Splunk SPL for raw events, with exact wildcard, regex, fieldref and precedence handling."""

    name: ClassVar[str] = "sigport Splunk SPL (exact)"
    formats: ClassVar[dict[str, str]] = {
        "default": "Plain SPL queries",
        "savedsearches": "Plain SPL in a savedsearches.conf file",
    }
    #: The string ``tstats ... fillnull_value=`` writes for a missing BY field (CIM layout).
    fill_value: ClassVar[str] = "null"

    def convert_condition_field_eq_val_cidr(self, cond: Any, state: ConversionState) -> Any:
        """``field="10.0.0.0/8"``, ``field="fe80::/10"``: the search command matches a field
        value against an IPv4 or IPv6 CIDR block (semantics entry ``search_cidr``). An IPv6
        block that covers IPv4-mapped addresses (``::ffff:0:0/96``) is refused: whether the
        search command reads an IPv4 text as its mapped IPv6 address no Splunk page says."""
        network = ipaddress.ip_network(str(getattr(cond.value, "cidr", "") or cond.value), strict=False)
        if isinstance(network, ipaddress.IPv6Network) and network.overlaps(_IPV4_MAPPED):
            raise SigmaFeatureNotSupportedByBackendError(
                f"field {cond.field}: IPv6 CIDR block {network} covers IPv4-mapped addresses "
                f"({_IPV4_MAPPED}): how the search command matches IPv4 text against it is "
                "not documented",
                source=cond.source,
            )
        return super().convert_condition_field_eq_val_cidr(cond, state)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Stack of OR/NOT nodes above the node being converted: decides pipe vs condition field.
        self._scopes: list[type] = []
        # Tests of the rule that are (or may be) true on the fill string: after tstats they would
        # be true on a missing BY field, where Sigma's are false (reset per rule). A regex test
        # is recorded undecided (``RegexHazard``); ``_first_fill_hazard`` decides. A dict keeps
        # the order and drops repeats without a search of all recorded so far.
        self._fill_hazards: dict[str | RegexHazard | ValueHazard, None] = {}
        # The shipper's constants of the rule being converted (``shipper_values``), found once.
        self._shipper: frozenset[int] | None = None
        # Whether the rule's values are XML text whose entities the add-on keeps (the state
        # ``value_encoding`` of its pipeline, ``xml_text.py``), found once per rule.
        self._xml_text: bool | None = None
        # Depth of convert_condition calls (0: the next call gets a condition's root), and the
        # simplified root being converted (its base filter replaces a `*` base search).
        self._depth = 0
        self._root: Any = None
        # The rule being converted: the detections its pipeline added are the shipper's
        # constants (source, EventCode).
        self._rule: Any = None

    # --- field names -------------------------------------------------------------------------

    def escape_and_quote_field(self, field_name: str) -> str:
        """Every field of a search term goes through ``spl_field`` (stock double-quoted names
        without escaping, so ``a" OR * OR "`` matched every event)."""
        return spl_field(field_name)

    def finalize_query(
        self, rule: Any, query: Any, index: int, state: ConversionState, output_format: str
    ) -> Any:
        """Check the rule's ``fields`` (written into ``| table``) before any output format."""
        for name in getattr(rule, "fields", None) or ():
            spl_field(name)
        return super().finalize_query(rule, query, index, state, output_format)

    # --- rule lifecycle ----------------------------------------------------------------------

    def convert_rule(self, rule: SigmaRule, output_format: str | None = None, callback: Any = None):
        """Convert one rule; warnings and the stock class-level regex counter start empty."""
        self._scopes = []
        self._fill_hazards = {}
        self._depth, self._root = 0, None
        self._rule = rule  # the pipeline adds its detections to this object while converting
        self._shipper = None
        self._xml_text = None
        SplunkDeferredORRegularExpression.reset()
        try:
            return super().convert_rule(rule, output_format, callback)
        finally:
            SplunkDeferredORRegularExpression.reset()
            self._scopes = []
            self._shipper = None


    # --- constants and the base search --------------------------------------------------------

    def convert_condition(self, cond: Any, state: ConversionState) -> Any:
        """Convert; a condition's root is first simplified (``simplify.py``): constant branches
        go, and a condition that is constant as a whole is refused with the reason."""
        if self._depth == 0:
            cond = simplify(cond)
            if isinstance(cond, bool):
                raise SigmaFeatureNotSupportedByBackendError(
                    f"the condition is always {'true' if cond else 'false'} on this data "
                    "source: the fields it tests are never carried by its events (a search "
                    "would match every event or none)"
                )
            self._root = cond
        self._depth += 1
        try:
            return super().convert_condition(cond, state)
        finally:
            self._depth -= 1

    def _base_search(self, state: ConversionState) -> str:
        """The root's base filter as search text (``simplify.base_filter``), or ``*``."""
        tree = base_filter(self._root, self._needs_exact_value) if self._root is not None else None
        if tree is None:
            return self.deferred_only_query
        self._depth += 1  # a nested conversion: no new root
        try:
            text = self.convert_condition(tree, state)
        finally:
            self._depth -= 1
        return text if isinstance(text, str) and text.strip() else self.deferred_only_query

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
            return NoSearchTerm(state)
        return result

    def _pipe_context(self) -> bool:
        """True when only ANDs lead from the root to here, so a trailing pipe is exact."""
        return not self._scopes

    def _needs_exact(self, cond: ConditionFieldEqualsValueExpression) -> bool:
        """``needs_exact_test`` of the condition's value (False for a non-string)."""
        value = cond.value
        return isinstance(value, SigmaString) and self._needs_exact_value(value)

    def _needs_exact_value(self, value: SigmaString) -> bool:
        """``needs_exact_test``; a shipper's constant (a value of a condition the pipeline
        added) needs no folding guard, as the shipper writes one spelling of it."""
        if self._shipper is None:
            # Asked only once the pipeline has run (conditions are converted after it), when
            # the rule's detections no longer change: one walk of them per rule, not per value.
            self._shipper = shipper_values(self._rule)
        if self._entity_text() and has_entity_hazard(value):
            return True
        return remembered_needs_exact_test(value, folding=id(value) not in self._shipper)

    def _entity_text(self) -> bool:
        """True when the rule's pipeline says its values are XML text with entities kept
        (state ``value_encoding``; semantics ``xmlwineventlog_values_entity_encoded``)."""
        if self._xml_text is None:
            pipeline = getattr(self, "last_processing_pipeline", None)
            state = getattr(pipeline, "state", None) or {}
            self._xml_text = state.get("value_encoding") == XML_TEXT
        return self._xml_text

    def decide_convert_condition_as_in_expression(self, cond: Any, state: ConversionState) -> bool:
        """No ``IN (...)`` list when a value needs an exact test (the list would widen it)."""
        if any(
            isinstance(arg, ConditionFieldEqualsValueExpression) and self._needs_exact(arg)
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
        self._check_fill_regex(spl_regex)
        if field is not None:
            spl_field(field)
        if self._pipe_context() and not multivalued(field, declared_multivalue(self)):
            return attach(SplunkDeferredRegularExpression(state, field, spl_regex), cond)
        target = field or SplunkDeferredORRegularExpression.default_field
        attach(SplDeferredEvalRegex(state, target, spl_regex), cond)
        return f'{SplDeferredEvalRegex.get_field_condition(target)}="true"'

    def _exact_string(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str | DeferredQueryExpression:
        """A string SPL search cannot express: widened pre-filter plus an exact anchored regex."""
        value = cond.value
        assert isinstance(value, SigmaString)
        # Without a hazard '.' is exact too (a literal part then never starts or ends inside an
        # entity) and cheaper for Splunk to run.
        one = TOKEN if self._entity_text() and has_entity_hazard(value) else "."
        regex = spl_quote(glob_to_pcre(value, isinstance(value, SigmaCasedString), one))
        exact = self._regex_test(cond.field, regex, cond, state)
        if not self._pipe_context() or multivalued(cond.field, declared_multivalue(self)):
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
        """field=value; values with ``?``, a literal ``*`` or a letter search may fold unlike
        Sigma (``i``, ``k``, non-ASCII) get the exact treatment."""
        if self._needs_exact(cond):
            return self._exact_string(cond, state)
        if isinstance(cond.value, SigmaString) and self._plain_eq_only():
            # What pySigma's method comes to when ``eq_expression`` is the only string template:
            # it also builds and compiles the value as a regex for a ``{regex}`` field the
            # template does not have (a quarter of Splunk's conversion time, thrown away).
            return self.eq_expression.format(
                field=self.escape_and_quote_field(cond.field),
                value=self.convert_value_str(cond.value, state),
                backend=self,
            )
        return super().convert_condition_field_eq_val_str(cond, state)

    @classmethod
    def _plain_eq_only(cls) -> bool:
        """True when ``eq_expression`` is the only string template and has no ``{regex}``."""
        return (
            cls.startswith_expression is None and cls.endswith_expression is None
            and cls.contains_expression is None and cls.wildcard_match_expression is None
            and isinstance(cls.eq_expression, str) and "{regex}" not in cls.eq_expression
        )

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """``|cased``: insensitive pre-filter plus a case-sensitive anchored regex."""
        return self._exact_string(cond, state)

    def convert_value_re(
        self, r: SigmaRegularExpression, state: ConversionState
    ) -> str | DeferredQueryExpression:
        """The stock escaping of the regex; a caseless one is first written case-sensitively
        with the letter variants of Sigma's reference (``regex_case.splunk_caseless``)."""
        flag = SigmaRegularExpressionFlag.IGNORECASE in r.flags
        if is_caseless(str(r.regexp), flag):
            # A new value: the rule's own is shared with the other targets of a shared pass.
            r = SigmaRegularExpression(
                splunk_caseless(str(r.regexp), flag),
                {f for f in r.flags if f is not SigmaRegularExpressionFlag.IGNORECASE},
            )
        else:
            splunk_caseless(str(r.regexp), flag)  # refuses an i option inside the pattern
        return super().convert_value_re(r, state)

    def convert_condition_field_eq_val_re(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """``|re``: the stock escaping (backslashes doubled, quotes escaped, ``(?ims)`` prefix)."""
        regex = super(SplunkBackend, self).convert_condition_field_eq_val_re(cond, state)
        return self._regex_test(cond.field, cast(str, regex), cond, state)

    def convert_condition_val_re(
        self, cond: ConditionValueExpression, state: ConversionState
    ) -> Any:
        """An unbound ``|re`` keyword is a regex over ``_raw`` (stock emitted it as a bare term).
        Exact only where ``_raw`` is the record's one text line (state ``text_record``):
        elsewhere ``_raw`` also holds the record's markup (XML tags and attribute names, JSON
        keys and quoting), which the regex can match although no value does: refused."""
        if not is_text_record(getattr(self, "last_processing_pipeline", None)):
            raise SigmaFeatureNotSupportedByBackendError(
                "a keyword regex would be a regex of _raw, whose text also holds the record's "
                "markup (XML tags and attribute names, JSON keys and quoting) besides its values: "
                "no SPL test means 'some value matches' on this data source",
                source=cond.source,
            )
        regex = self.convert_value_re(cast(SigmaRegularExpression, cond.value), state)
        return self._regex_test(None, cast(str, regex), cond, state)

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
        if any(multivalued(f, declared_multivalue(self)) for f in (cond.field, ref.field)):
            raise SigmaFeatureNotSupportedByBackendError(
                "fieldref on a field of a JSON array (multivalue, semantics json_array_fields): "
                "what eval's lower() and = do with several values is not documented",
                source=cond.source,
            )
        spl_field(cond.field)
        spl_field(ref.field)
        self._fill_hazard(f"the field reference {cond.field}={ref.field} (two fills are equal)")
        if self._pipe_context():
            return attach(SplDeferredWhereFieldRef(state, cond.field, ref.field), cond)
        attach(SplDeferredEvalFieldRef(state, cond.field, ref.field), cond)
        return f'{SplDeferredEvalFieldRef.get_field_condition(cond.field)}="true"'

    # --- query layout ------------------------------------------------------------------------

    def finish_query(self, rule: Any, query: Any, state: ConversionState) -> Any:
        """Stock layout; then hoist real top-level conjuncts before ``| rex`` (else start ``*``)."""
        if isinstance(query, DeferredQueryExpression):
            query = self.deferred_only_query
        # The stock finish_query names the condition fields with the stock stems and resets the
        # counter: the names the deferred expressions wrote come from the counter before it.
        counts = dict(SplunkDeferredORRegularExpression.field_counts)
        query = super().finish_query(rule, query, state)
        condition_fields = state.processing_state.get("deferred_or_condition_fields") and (
            all_condition_fields(counts)
        )
        if not (condition_fields and isinstance(query, str) and query.startswith("\n| ")):
            return query
        marker = query.index(SEARCH_MARKER)
        pipes, search = query[:marker], query[marker + len(SEARCH_MARKER) :]
        prefix, rest = hoist_conjuncts(search, condition_fields)
        if not rest.strip():
            rest = "*"
        if not prefix:
            # Nothing is a conjunct of the whole search (an OR of logsource branches, say): the
            # base search is a filter implied by the condition, so the pipes do not run over
            # every event; the full search still decides after them.
            prefix, rest = self._base_search(state), search
        return prefix + pipes + SEARCH_MARKER + rest

    def finalize_query_default(self, rule: Any, query: str, index: int, state: ConversionState):
        """The query as finished (no stock hoisting, which broke OR operands), plus ``| table``."""
        if isinstance(rule, SigmaRule) and rule.fields:
            return query + " | table " + ",".join(rule.fields)
        return query
