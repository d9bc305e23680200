"""Keywords (field-less values) in the Splunk raw-event emitter: bare search terms, or an exact
``_raw`` test where the records say how.

A keyword is stock a bare search term, which matches indexed terms of ``_raw`` (segmented by
breakers), not arbitrary substrings (declared). Where the logsource's records say how a value
is written (text lines, audit lines, JSON objects: ``backend_text_record.py``; several record
kinds each with its guard: ``backend_record_kinds.py``), the keyword becomes an exact regex test
of ``_raw`` instead. Moved from ``backend.py``: keywords are one concern, field tests another.
"""

from __future__ import annotations

from typing import Any, Callable, cast

from sigma.backends.splunk.splunk import SplunkDeferredORRegularExpression
from sigma.conditions import ConditionValueExpression
from sigma.conversion.state import ConversionState
from sigma.types import SigmaNumber, SigmaString

from .backend_deferred import SplDeferredEvalRegex, attach
from .backend_record_kinds import kind_regexes
from .backend_text_record import raw_keyword_regex
from .spl_text import needs_exact_test


class KeywordMixin:
    """``convert_condition_val_str`` / ``_num`` of the raw-event emitter; put it before the
    pySigma Splunk backend in the bases (its ``super()`` calls reach the stock conversion)."""

    # Provided by the emitter and its other mixins (``backend.py``, ``backend_fill.py``,
    # ``backends.common.WarningsMixin``).
    _regex_test: Callable[..., Any]
    _check_fill_regex: Callable[[str], None]
    warn: Callable[[str], None]

    def convert_condition_val_num(
        self, cond: ConditionValueExpression, state: ConversionState
    ) -> Any:
        """A number keyword: a bare term (stock), or ``_keyword_test`` of its decimal text."""
        text = SigmaString(str(cast(SigmaNumber, cond.value).number).lower())
        exact = self._keyword_test(text, cond, state)
        return exact if exact is not None else super().convert_condition_val_num(  # type: ignore[misc]
            cond, state)

    def _keyword_test(self, value: SigmaString, cond: Any, state: ConversionState) -> Any:
        """The exact ``_raw`` test of a keyword where the records say how, else None: the OR
        over the record kinds, each guarded (``backend_record_kinds.py``), or one regex
        (``backend_text_record.py``: text lines, audit lines, JSON objects)."""
        pipeline = getattr(self, "last_processing_pipeline", None)
        kinds = kind_regexes(pipeline, value)
        if kinds is None:
            regex = raw_keyword_regex(pipeline, value)
            return None if regex is None else self._regex_test(None, regex, cond, state)
        target, parts = SplunkDeferredORRegularExpression.default_field, []
        for guard, regex in kinds:
            self._check_fill_regex(regex)
            attach(SplDeferredEvalRegex(state, target, regex), cond)
            parts.append(f'({guard} {SplDeferredEvalRegex.get_field_condition(target)}="true")')
        return "(" + " OR ".join(parts) + ")"

    def convert_condition_val_str(
        self, cond: ConditionValueExpression, state: ConversionState
    ) -> Any:
        """Keywords stay bare terms (stock: indexed tokens of _raw, not substrings), except where
        the records say how to test them exactly (``_keyword_test``)."""
        exact = isinstance(cond.value, SigmaString) and self._keyword_test(cond.value, cond, state)
        if exact:
            return exact
        self.warn(
            "keyword values are emitted as bare search terms, which match indexed terms of _raw "
            "(segmented by breakers), not arbitrary substrings"
        )
        if isinstance(cond.value, SigmaString) and needs_exact_test(cond.value):
            self.warn("a keyword with '?' or a literal '*' is widened to '*'")
        return super().convert_condition_val_str(cond, state)  # type: ignore[misc]
