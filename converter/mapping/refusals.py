"""Refusals that name the data source they were made for.

A rule refused on one data source often converts on another (Elastic Defend records no Windows
event log, the Windows integration does; Defender XDR records no Security channel, Sentinel's
SecurityEvent does), so every refusal says on which data source it holds (issue 12):

* ``UnsupportedLogsourceFailure``: a logsource no entry of the chosen data source maps, naming
  the data source and the other data sources of the table that do map it;
* ``DataSourceStamp``: an item of every logsource entry that records, on the rule being
  converted, the data source its entry was built for and its table (``stamped`` reads both) (a companion table's own, e.g. kusto-cloud's
  ``sentinel`` while the Windows rules use ``defender``); ``with_data_source`` adds it to a
  refusal that does not name one yet (a backend's, such as Kusto's boolean values, which knows
  nothing of data sources);
* ``AmbiguousLogsourceFailure``: a logsource two entries of the pipeline map, naming both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaTransformationError
from sigma.processing.conditions import LogsourceCondition
from sigma.processing.transformations.base import PreprocessingTransformation
from sigma.rule import SigmaRule

from converter.mapping.precedence import chosen

#: The rule's ``custom_attributes`` key of the data source its logsource entry was built for.
DATA_SOURCE = "sigport_data_source"
#: The rule's ``custom_attributes`` key of the table its logsource entry comes from.
TABLE = "sigport_table"


@dataclass
class DataSourceStamp(PreprocessingTransformation):
    """Record on the rule the data source and the table of the logsource entry that maps it."""

    data_source: str = ""
    table: str = ""

    def apply(self, rule: SigmaRule | SigmaCorrelationRule) -> None:
        """Set the rule's data source and table attributes (read back by ``with_data_source``
        and ``stamped``)."""
        attributes = getattr(rule, "custom_attributes", None)
        if attributes is not None:
            attributes[DATA_SOURCE] = self.data_source
            if self.table:
                attributes[TABLE] = self.table


def stamped(rule: Any, table: str, data_source: str) -> tuple[str, str]:
    """The table and data source of the entry that maps ``rule`` (``DataSourceStamp``), else
    the given ones (the pipeline's): a companion table's entry (``ecs-lines``, ``filestream``)
    is named, not the base table it joins."""
    attributes = getattr(rule, "custom_attributes", None) or {}
    return str(attributes.get(TABLE) or table), str(attributes.get(DATA_SOURCE) or data_source)


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


@dataclass
class AmbiguousLogsourceFailure(PreprocessingTransformation):
    """Fail on a rule whose logsource two or more entries of the pipeline map, naming them.

    Each entry renames the rule's fields and refuses those it does not map, so a rule selected
    by two entries (``category: webserver`` with ``service: apache`` on Elastic: ecs-lines'
    ``apache-error`` and ``webserver-access``) was refused by one entry's table for a field the
    other maps ("field 'message' is not mapped"), or converted with both entries' conditions,
    which no record meets. An entry whose records are provably among another's is chosen over
    it (``converter.mapping.precedence``: the rule's records are then that entry's); otherwise
    the refusal says the logsource is ambiguous, naming the entries none is narrower than.
    ``entries``: (table, entry id, data source, rule condition) of every entry of the pipeline.

    A Windows rule whose logsource names a part its one entry does not (``service: security``
    beside ``category: process_creation``, which Defender XDR's process-creation entry selects
    alone) asks for the records of both parts; when some event the entry covers (``records``: its
    ``events`` criteria) is outside them (Sysmon 1 beside Security 4688 in DeviceProcessEvents,
    whose rows name neither channel nor event id), the entry's query would match those records
    too: the rule is refused, naming the entry and the events (``membership`` of the reference
    decides which events a logsource holds).
    """

    pipeline: str = ""
    entries: tuple[tuple[str, str, str, LogsourceCondition], ...] = ()
    #: ``(i, j)``: entry ``i`` is narrower than entry ``j`` (``converter.mapping.precedence``).
    narrower: tuple[tuple[int, int], ...] = ()
    #: Each entry's ``events`` criteria (sorted key/value pairs), by position in ``entries``.
    records: tuple[tuple[tuple[tuple[str, Any], ...], ...], ...] = ()
    #: The pipeline's ``not_covered`` refusals in force: a rule one of them selects is left to
    #: it (its reason names the data source's own gap, e.g. Defend's missing event logs).
    uncovered: tuple[LogsourceCondition, ...] = ()
    #: The entries by the (category, product, service) their condition names (None: any).
    _by_parts: dict[tuple[str | None, ...], list[int]] | None = field(
        default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Index the entries now, not at the first rule: two targets' pipelines share this item
        (``converter.conversion.shared`` compares every attribute) only while their copies are
        alike, and one filled at its first rule differed from the other's, so EQL, KQL, kql-es
        and Lucene shared no item of any rule after it (tests/converter/conversion/
        test_shared_pass.py)."""
        by_parts: dict[tuple[str | None, ...], list[int]] = {}
        for position, item in enumerate(self.entries):
            selects = item[3].logsource
            key = (selects.category, selects.product, selects.service)
            by_parts.setdefault(key, []).append(position)
        self._by_parts = by_parts

    def apply(self, rule: SigmaRule | SigmaCorrelationRule) -> None:
        """Raise when the rule's logsource selects two or more entries."""
        if not isinstance(rule, SigmaRule):
            return
        if self._by_parts is None:  # an instance built without __post_init__ (unpickled)
            self.__post_init__()
        assert self._by_parts is not None
        source = rule.logsource
        parts = (source.category, source.product, source.service)
        # A condition selects the rule when each part it names is the rule's: look up the eight
        # ways of naming some of the rule's parts, then ask each candidate's own condition.
        keys = {tuple(part if mask >> i & 1 else None for i, part in enumerate(parts)) for mask in range(8)}
        found = [
            position
            for position in sorted(p for key in keys for p in self._by_parts.get(key, ()))
            if self.entries[position][3].match(rule)
        ]
        # An entry narrower than another hit converts the rule alone (its items run, the
        # other's yield): the rule's records are the narrower entry's.
        if len(found) == 1:
            self._refuse_wider(rule, found[0])
        if len(found) < 2:
            return
        hits = [self.entries[position][:3] for position in chosen(found, self.narrower)]
        if len(hits) < 2:
            return
        named = ", ".join(
            f"{entry} of {table}" + (f" (data_source={data_source})" if data_source else "")
            for table, entry, data_source in hits
        )
        given = ", ".join(f"{key}: {value}" for key in ("product", "category", "service")
                          if (value := getattr(source, key, None)))
        raise SigmaTransformationError(
            f"pipeline {self.pipeline}: the logsource {given} is ambiguous: it selects "
            f"{len(hits)} entries, {named}, each with its own fields and conditions, and none is "
            "chosen over another",
            source=rule.source,
        )

    def _refuse_wider(self, rule: SigmaRule, position: int) -> None:
        """Raise when the one entry selecting ``rule`` covers events outside the rule's
        logsource (class docstring); a logsource the reference does not table is left alone."""
        source = rule.logsource
        selects = self.entries[position][3].logsource
        if (source.product or "").lower() != "windows" or position >= len(self.records) or not (
                source.category and not selects.category or source.service and not selects.service):
            return
        if any(condition.match(rule) for condition in self.uncovered):
            return
        from converter.reference.logsources import LogsourceUnsupported, membership

        try:
            member = membership(source.product, source.category, source.service)
        except LogsourceUnsupported:
            return
        outside = [dict(criterion) for criterion in self.records[position]
                   if not member(dict(criterion))]
        if not self.records[position] or not outside:
            return
        table, entry, data_source = self.entries[position][:3]
        given = ", ".join(f"{key}: {value}" for key in ("product", "category", "service")
                          if (value := getattr(source, key, None)))
        shown = "; ".join(", ".join(f"{k} {v}" for k, v in each.items()) for each in outside)
        raise SigmaTransformationError(
            f"pipeline {self.pipeline}: the logsource {given} asks for the records of each part; "
            f"the one entry that selects it, {entry} of {table}"
            + (f" (data_source={data_source})" if data_source else "")
            + f", also covers events outside it ({shown}), which its query cannot tell apart",
            source=rule.source,
        )
