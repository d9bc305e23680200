"""Splunk ``tstats`` over CIM data models (target ``splunk-cim``).

``SigportSplunkCimBackend`` is the raw-event emitter (``backend.py``) with the tstats layout:
``| tstats ... from datamodel=<DM>.<Set> where <search> by <fields>`` then the pipes that tstats
cannot hold. The processing pipeline must set the processing state ``data_model_set``
(``"Endpoint.Processes"``) and ``fields`` (the BY fields), as pySigma's own
``splunk_cim_data_model`` pipeline does.

After tstats a missing BY field reads as the ``fillnull_value`` string (semantics entry
``tstats_fillnull``), while the WHERE clause still sees it missing. So every conjunct of the
condition (NOT pushed through OR) made of plain, null, exists and comparison tests runs in WHERE
only (``simplify.where_split``); a null or exists test that must stay after tstats (inside an OR
with a regex) is written against the fill, and the output is declared approximate exactly when
a test after tstats is true on the fill string.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sigma.conversion.state import ConversionState
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.rule import SigmaRule

from .backend import SigportSplunkBackend
from .simplify import simplify, where_split
from .spl_text import find_unquoted, one_line
from .terms import spl_field


class SigportSplunkCimBackend(SigportSplunkBackend):
    """Splunk ``tstats`` over a CIM data model (default output format ``data_model``)."""

    name: ClassVar[str] = "sigport Splunk tstats on CIM data models (exact)"
    formats: ClassVar[dict[str, str]] = {
        "default": "Data model queries with tstats",
        "data_model": "Data model queries with tstats",
        "savedsearches": "tstats queries in a savedsearches.conf file",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per condition (keyed by its conversion state): the search text of the conjuncts that
        # run in the tstats WHERE clause only (see convert_condition), and whether a null or
        # exists test was written in its after-tstats form (which only holds in the pipes).
        self._where_only: dict[int, str] = {}
        self._fill_form: set[int] = set()
        self._after_fill = False  # converting the part that is tested after tstats

    def convert_rule(self, rule: SigmaRule, output_format: str | None = None, callback: Any = None):
        """Convert one rule; the WHERE-only parts of the previous rule are forgotten."""
        self._where_only, self._fill_form, self._after_fill = {}, set(), False
        try:
            return super().convert_rule(rule, output_format, callback)
        finally:
            self._where_only, self._fill_form, self._after_fill = {}, set(), False

    def convert_condition(self, cond: Any, state: ConversionState) -> Any:
        """At a condition's root, the conjuncts made of plain, null, exists and comparison tests
        (``simplify.where_split``) are converted apart for the tstats WHERE clause, where a
        missing field is still missing; the rest is converted as usual and runs after tstats.
        Only the rest is then re-tested after tstats, so a null or exists test in the WHERE part
        never meets the fill string (it made such rules differ from Sigma)."""
        if self._depth > 0 or isinstance(cond := simplify(cond), bool):
            return super().convert_condition(cond, state)
        where, rest = where_split(cond, self._needs_exact_value)
        if rest is None:  # plain tests only: all of it is the WHERE clause
            return super().convert_condition(cond, state)
        if where is not None:
            hazards = dict(self._fill_hazards)
            self._depth += 1  # a nested conversion: not a root
            try:
                text = super().convert_condition(where, state)
            finally:
                self._depth -= 1
            self._fill_hazards = hazards  # WHERE runs before the fill
            if not isinstance(text, str):  # pragma: no cover - plain terms are strings
                raise SigmaFeatureNotSupportedByBackendError("a WHERE test became a pipe")
            self._where_only[id(state)] = text
        self._after_fill = True
        try:
            return super().convert_condition(rest, state)
        finally:
            self._after_fill = False

    # Keywords (field-less terms) search the raw event text. tstats reads indexed fields only
    # ("statistical queries on indexed fields in tsidx files", search reference, tstats): a data
    # model's rows are its fields, and _raw is none of them, so no tstats query on a data model
    # can hold a keyword test. Refused rather than emitted as a bare term that tests something
    # else (an indexed token of the event, where the search runs on raw events at all).

    def _no_keywords(self, cond: Any) -> Any:
        raise SigmaFeatureNotSupportedByBackendError(
            "keyword (field-less) search terms test the raw event text, which tstats on a data "
            "model does not have (its rows are the data model's fields only)",
            source=getattr(cond, "source", None),
        )

    def convert_condition_val_str(self, cond: Any, state: ConversionState) -> Any:
        """A keyword: refused (see ``_no_keywords``)."""
        return self._no_keywords(cond)

    def convert_condition_val_re(self, cond: Any, state: ConversionState) -> Any:
        """A field-less ``|re`` keyword: refused (see ``_no_keywords``)."""
        return self._no_keywords(cond)

    def convert_condition_val_num(self, cond: Any, state: ConversionState) -> Any:
        """A numeric keyword: refused (see ``_no_keywords``)."""
        return self._no_keywords(cond)

    # A null or exists test left in the part tested after tstats (inside an OR with a regex, say)
    # is written for the fill: there a missing BY field reads "null", so `NOT F=*` would be false
    # on every event. `F="null"` is true on those events, and also on a value "null" (any case):
    # still declared (a fill hazard), but wrong only on that value.

    def _fill_test(self, cond: Any, state: ConversionState, missing: bool) -> str:
        self._fill_hazard(
            f'the {"null" if missing else "exists"} test of {cond.field} '
            f'(written {cond.field}="{self.fill_value}")'
        )
        self._fill_form.add(id(state))
        term = f'{self.escape_and_quote_field(cond.field)}="{self.fill_value}"'
        return term if missing else f"NOT {term}"

    def convert_condition_field_eq_val_null(self, cond: Any, state: ConversionState) -> Any:
        """``F: null``: ``NOT F=*`` in WHERE, ``F="null"`` after tstats (see ``_fill_test``)."""
        if self._after_fill:
            return self._fill_test(cond, state, missing=True)
        return super().convert_condition_field_eq_val_null(cond, state)

    def convert_condition_field_eq_val_exists(self, cond: Any, state: ConversionState) -> Any:
        """``F|exists``: ``F=*`` in WHERE, ``NOT F="null"`` after tstats (see ``_fill_test``)."""
        if self._after_fill:
            return self._fill_test(cond, state, missing=not cond.value)
        return super().convert_condition_field_eq_val_exists(cond, state)

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
        spl_field(str(data_model_set))
        for name in fields:
            spl_field(str(name))
        data_set = str(data_model_set).split(".")[1]
        cut = find_unquoted(query, "\n| ")
        head, sep, pipes = (query, "", "") if cut < 0 else (query[:cut], "\n| ", query[cut + 3 :])
        if not sep and id(state) in self._fill_form:
            # The tests after tstats produced no pipe (keywords, CIDR): they would run in WHERE,
            # where the fill form of a null test is wrong.
            raise SigmaFeatureNotSupportedByBackendError(
                "a null or exists test inside an OR with tests that need no pipe after tstats"
            )
        tests = [t for t in (self._where_only.get(id(state), ""), head) if t.strip() not in ("", "*")]
        # Juxtaposition is AND, the loosest operator of search: the parts need no parentheses.
        where = f" where {' '.join(tests)}" if tests else ""
        post = (sep + pipes) if sep else ""
        hazard = self._first_fill_hazard() if post else None
        if hazard is not None:
            # Only a test true on the fill string makes the pipes differ from Sigma on an event
            # lacking the field (see _fill_hazard); the others are exact after tstats too.
            self.warn(
                f'after tstats, a missing BY field reads as the string "{self.fill_value}" '
                f"(fillnull_value) in the following pipes, and {hazard}"
            )
        text = (
            "| tstats summariesonly=false allow_old_summaries=true "
            f'fillnull_value="{self.fill_value}" count '
            f"min(_time) as firstTime max(_time) as lastTime from datamodel={data_model_set}"
            f"{where} by {' '.join(fields)}{post}\n"
            f"| `drop_dm_object_name({data_set})`\n"
            '| convert timeformat="%Y-%m-%dT%H:%M:%S" ctime(firstTime)\n'
            '| convert timeformat="%Y-%m-%dT%H:%M:%S" ctime(lastTime)'
        )
        return one_line(text)
