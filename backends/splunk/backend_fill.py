"""The Splunk emitters' record of the tests true on the tstats fill string (CIM layout).

After tstats a missing BY field holds ``fill_value``. A test that is false on that string
behaves as on a missing field under either polarity (``NOT f=v`` and a "false" condition
field are then true, as Sigma's negation of a missing field is); only tests true on it
differ. They are collected here so the CIM layout can say exactly when its pipes are
approximate. Values are checked with Sigma's own value semantics, regexes with the shared
PCRE translation the interpreter uses (a pattern it cannot translate counts as a hazard).

``FillHazardMixin`` records them while the stock backend converts (``_fill_hazard``), and
``backend_cim.py`` reads the first that holds (``_first_fill_hazard``) to declare its pipes
approximate. Moved from ``backend.py``: the recording is one concern, the raw-event emitter
another.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from sigma.conversion.state import ConversionState
from sigma.types import SigmaString

from .spl_text import fill_pattern
from .terms import RegexHazard, ValueHazard


class FillHazardMixin:
    """Records the rule's tests that are (or may be) true on ``fill_value``; put it before the
    pySigma Splunk backend in the bases, so each ``convert_*`` here records, then converts as
    the backend does."""

    #: The string ``tstats ... fillnull_value=`` writes for a missing BY field.
    fill_value: ClassVar[str]
    _fill_hazards: dict[str | RegexHazard | ValueHazard, None]

    def _fill_hazard(self, what: str | RegexHazard | ValueHazard) -> None:
        self._fill_hazards.setdefault(what, None)

    def _first_fill_hazard(self) -> str | None:
        """The text of the first recorded fill hazard that holds, or None."""
        for hazard in self._fill_hazards:
            if isinstance(hazard, str):
                return hazard
            if hazard.holds():
                return hazard.message
        return None

    def convert_value_str(self, s: SigmaString, state: ConversionState) -> str:
        """A search value, noted when the term would be true on the fill string."""
        self._fill_hazard(ValueHazard(f"the value {str(s)!r} matches {self.fill_value!r}",
                                      fill_pattern(s), self.fill_value))
        return super().convert_value_str(s, state)  # type: ignore[misc]

    def _check_fill_regex(self, spl_regex: str) -> None:
        """Note a regex test (``| regex``, ``mvfind``) that may find a match in the fill string
        (decided when the hazards are read, ``_first_fill_hazard``)."""
        pattern = re.sub(r'\\([\\"])', r"\1", spl_regex)  # the one SPL string level
        self._fill_hazard(RegexHazard(pattern, self.fill_value))

    def convert_condition_field_eq_val_null(self, cond: Any, state: ConversionState) -> Any:
        """``NOT field=*``: true on a missing field, false on the fill string."""
        self._fill_hazard(f"the null test of {cond.field}")
        return super().convert_condition_field_eq_val_null(cond, state)  # type: ignore[misc]

    def convert_condition_field_eq_val_exists(self, cond: Any, state: ConversionState) -> Any:
        """``field=*`` / ``NOT field=*``: the fill string exists where the field does not."""
        self._fill_hazard(f"the exists test of {cond.field}")
        return super().convert_condition_field_eq_val_exists(cond, state)  # type: ignore[misc]

    def convert_condition_field_compare_op_val(self, cond: Any, state: ConversionState) -> Any:
        """``field>n``: how search compares the non-numeric fill string is not documented."""
        self._fill_hazard(f"the comparison of {cond.field}")
        return super().convert_condition_field_compare_op_val(cond, state)  # type: ignore[misc]
