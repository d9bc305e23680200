"""Refusals that name the data source they were made for.

A rule refused on one data source often converts on another (Elastic Defend records no Windows
event log, the Windows integration does; Defender XDR records no Security channel, Sentinel's
SecurityEvent does), so every refusal says on which data source it holds (issue 12):

* ``UnsupportedLogsourceFailure``: a logsource no entry of the chosen data source maps, naming
  the data source and the other data sources of the table that do map it;
* ``DataSourceStamp``: an item of every logsource entry that records, on the rule being
  converted, the data source its entry was built for (a companion table's own, e.g. kusto-cloud's
  ``sentinel`` while the Windows rules use ``defender``); ``with_data_source`` adds it to a
  refusal that does not name one yet (a backend's, such as Kusto's boolean values, which knows
  nothing of data sources).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaTransformationError
from sigma.processing.conditions import LogsourceCondition
from sigma.processing.transformations.base import PreprocessingTransformation
from sigma.rule import SigmaRule

#: The rule's ``custom_attributes`` key of the data source its logsource entry was built for.
DATA_SOURCE = "sigport_data_source"


@dataclass
class DataSourceStamp(PreprocessingTransformation):
    """Record on the rule the data source of the logsource entry that maps it."""

    data_source: str = ""

    def apply(self, rule: SigmaRule | SigmaCorrelationRule) -> None:
        """Set the rule's data source attribute (read back by ``with_data_source``)."""
        attributes = getattr(rule, "custom_attributes", None)
        if attributes is not None:
            attributes[DATA_SOURCE] = self.data_source


def with_data_source(reason: str, rule: Any) -> str:
    """``reason`` naming the data source the rule's entry was built for, when it names none.

    The stamp is read, not removed: a pass shared by several targets
    (``converter.conversion.shared``) hands the same rule object to each target that a shared
    item refused.
    """
    source = (getattr(rule, "custom_attributes", None) or {}).get(DATA_SOURCE)
    if not source or "data_source=" in reason:
        return reason
    return f"{reason} (data_source={source})"


@dataclass
class UnsupportedLogsourceFailure(PreprocessingTransformation):
    """Fail on a rule whose logsource no entry of the table maps, naming that logsource, the data
    source, and the table's other data sources that map it (``elsewhere``: each entry's logsource
    match with the data source it belongs to).

    pySigma's ``RuleFailureTransformation`` has one fixed message, and listing every logsource
    the table does cover made each refusal a paragraph (over 40 of them for ``ecs-windows``);
    the user needs the logsource that is missing and where to read what is covered.
    """

    pipeline: str = ""
    covered: int = 0
    data_source: str = ""
    elsewhere: tuple[tuple[tuple[tuple[str, str], ...], str], ...] = ()

    def apply(self, rule: SigmaRule | SigmaCorrelationRule) -> None:
        """Raise, naming the rule's logsource."""
        source = getattr(rule, "logsource", None)
        parts = [
            f"{key}: {value}" for key in ("product", "category", "service")
            if (value := getattr(source, key, None))
        ]
        others = list(dict.fromkeys(
            other for match, other in self.elsewhere
            if isinstance(rule, SigmaRule) and LogsourceCondition(**dict(match)).match(rule)
        ))
        where = f" (data_source={self.data_source})" if self.data_source else ""
        raise SigmaTransformationError(
            # No quote marks: the conversion summary groups reasons with their quoted parts
            # elided, and an apostrophe would pair with the next one.
            f"pipeline {self.pipeline}{where} has no mapping for logsource "
            f"{', '.join(parts) or '(none given)'} (it maps {self.covered} logsources: see "
            "sigport list pipelines)"
            + (f"; mapped with --data-source {', '.join(others)}" if others else ""),
            source=rule.source,
        )
