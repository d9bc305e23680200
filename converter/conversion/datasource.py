"""Which data source would convert more: the hint at the end of a conversion.

A rule refused on one data source (Defend records no ``process.pe.description``, no Sysmon
registry spelling) often converts on another (the Windows integration's Sysmon data stream). After
a conversion, ``other_data_sources`` converts only the refused rules again with each other data
source the target's mapping table offers, so the summary can say "412 more rules convert with
--data-source windows" at the cost of the refusals alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from backends import TARGETS

from converter.conversion.result import CONVERTED, UNSUPPORTED
from converter.mapping.loader import load_table, offered_by_companion

if TYPE_CHECKING:
    from converter.conversion.convert import Converter


@dataclass(frozen=True)
class Alternative:
    """``count`` rules refused for ``target`` on ``current`` convert with ``data_source``."""

    target: str
    current: str
    data_source: str
    count: int

    def message(self) -> str:
        """The one-line hint for the conversion summary."""
        return (
            f"{self.target}: {self.count} more "
            f"{'rules convert' if self.count != 1 else 'rule converts'} with "
            f"--data-source {self.data_source} (refused on {self.current}; see "
            "converter/mapping/tables/README.md for which data source fits which shipper)"
        )


def _plans(targets: list[str], data_source: str | None) -> dict[str, tuple[Any, str, list[str]]]:
    """Per target whose table offers several data sources: (table, the one in force, all)."""
    plans = {}
    for target in targets:
        table = load_table(TARGETS[target].pipeline)
        choices = list(table.options.get("data_source", {}).get("choices") or [])
        if len(choices) < 2:
            continue
        # A data source a companion table takes over (winlog) is the one the table's own
        # logsources are refused on (``offered_by_companion``).
        now = (data_source if data_source is not None and (
                   data_source in choices or offered_by_companion(table.name, data_source))
               else str(table.option_default("data_source")))
        plans[target] = (table, now, choices)
    return plans


def _worth_trying(plan: tuple[Any, str, list[str]], result: Any) -> list[str]:
    """The other data sources on which the refused ``result`` may convert (see
    ``other_data_sources``), in the table's order; empty for a result that is no such refusal."""
    table, now, choices = plan
    reason = result.reason or ""
    if result.status != UNSUPPORTED or result.path == "<stdin>":
        return []
    if f"data_source={now}" not in reason:
        return []
    return [other for other in choices if other != now and _may_convert(table, reason, other)]


class AlternativeSources:
    """Tries refused rules on the other data sources in the process that converted them.

    The batch path (``converter.conversion.batch``) calls ``try_rules`` right after a rule's
    conversions, so the retries run in the worker processes and the rule file is not read
    again by the parent; ``other_data_sources`` then counts ``Conversion.alternatives``.
    """

    def __init__(self, targets: list[str], pipelines: list[str] | None,
                 data_source: str | None) -> None:
        """The plans of ``targets``; the other data sources' converters are built when needed."""
        self.plans = _plans(targets, data_source)
        self.pipelines = pipelines
        self.converters: dict[tuple[str, str], Converter] = {}

    def wanted(self, result: Any) -> list[str]:
        """The other data sources worth trying for ``result`` (a ``Conversion``)."""
        plan = self.plans.get(result.target)
        return [] if plan is None else _worth_trying(plan, result)

    def try_rules(self, results: list[Any], loaded: Any) -> list[tuple[str, ...]]:
        """For each of ``results`` (conversions of ``loaded``, one rule), the other data sources
        on which the rule converts. ``loaded.rule`` is consumed: the conversions go through
        ``convert_each``, which copies the rule once for all but the last of them (and shares
        the pass of targets whose pipelines agree), instead of a copy per conversion."""
        from converter.conversion.convert import Converter, convert_each

        pairs = [(k, other) for k, result in enumerate(results) for other in self.wanted(result)]
        converters = []
        for k, other in pairs:
            key = (results[k].target, other)
            converter = self.converters.get(key)
            if converter is None:
                converter = self.converters[key] = Converter(
                    results[k].target, self.pipelines, {"data_source": other}
                )
            converters.append(converter)
        out: list[list[str]] = [[] for _ in results]
        for (k, other), conversion in zip(pairs, convert_each(loaded, converters)):
            if conversion.status == CONVERTED:
                out[k].append(other)
        return [tuple(found) for found in out]


def other_data_sources(
    results: list[Any], targets: list[str], pipelines: list[str] | None, data_source: str | None
) -> list[Alternative]:
    """For each target, how many of its refused rules each other data source converts.

    Only refusals whose reason names the data source are tried again (a logsource the table does
    not cover, or a value no target language can express, is refused on every data source
    alike), and a rule refused for a field is not tried on a source that neither maps nor
    evaluates away that field either (``ScriptBlockText`` has no exact target in any ECS source).
    A result whose ``alternatives`` were found when it was converted (``AlternativeSources``)
    is counted from them; the others' files are read once and their rules converted here.

    Args:
        results: the conversions (``Conversion``: ``path``, ``id``, ``target``, ``status``).
        targets: the targets converted.
        pipelines: the pipelines the user named (as for the conversion).
        data_source: the data source the user chose (None: each table's default).

    Returns:
        One ``Alternative`` per (target, other data source) that converts at least one more rule,
        best first per target.
    """
    plans = _plans(targets, data_source)
    # (target, other) -> rules to convert here; in the order the pairs first come up.
    tries: dict[tuple[str, str], list[tuple[str, str]]] = {}
    counts: dict[tuple[str, str], int] = {}
    for target, plan in plans.items():
        for r in results:
            if r.target != target:
                continue
            known = getattr(r, "alternatives", None)
            for other in _worth_trying(plan, r):
                keys = tries.setdefault((target, other), [])
                counts.setdefault((target, other), 0)
                if known is None:
                    keys.append((r.path, r.id))
                elif other in known:
                    counts[(target, other)] += 1
    if not tries:
        return []
    wanted = {key for keys in tries.values() for key in keys}
    # Loading and converting here is needed only for results the batch did not try
    # (``alternatives`` None): a run whose results all came back from the cache imports no
    # pySigma.
    loaded: dict[tuple[str, str], Any] = {}
    if wanted:
        from converter.rules.load import load_rules

        loaded = {
            (rule.path, rule.id): rule
            for rule in load_rules(sorted({path for path, _ in wanted}))
            if (rule.path, rule.id) in wanted
        }
    out: list[Alternative] = []
    for (target, other), keys in tries.items():
        count = counts[(target, other)]
        if keys:
            from converter.conversion.convert import Converter

            converter = Converter(target, pipelines, {"data_source": other})
            count += sum(
                key in loaded and converter.convert(loaded[key]).status == CONVERTED
                for key in keys
            )
        if count:
            out.append(Alternative(target, plans[target][1], other, count))
    return sorted(out, key=lambda a: (targets.index(a.target), -a.count))


#: The refusal ``converter.mapping.transformations.UnmappedFieldFailure`` gives for a field.
_UNMAPPED = re.compile(r"field '([^']+)' is not mapped by pipeline \S+ \(data_source=\S+\) for logsource (\S+?):")


#: The refusal ``converter.mapping.refusals.UnsupportedLogsourceFailure`` gives for a logsource
#: the data source does not map, with the other data sources that map it (if any).
_NO_MAPPING = re.compile(r"has no mapping for logsource .*?(?:; mapped with --data-source (.+))?$")


def _may_convert(table: Any, reason: str, other: str) -> bool:
    """False when the refusal names a field that ``other`` neither maps nor never records in
    the same logsource, or a logsource that ``other`` does not map (the rule is refused there
    too); True otherwise."""
    uncovered = _NO_MAPPING.search(reason)
    if uncovered is not None:
        return other in (uncovered.group(1) or "").split(", ")
    found = _UNMAPPED.search(reason)
    if found is None:
        return True
    name, logsource = found.groups()
    entry = next((e for e in table.logsources if e.id == logsource), None)
    if entry is None:
        return True
    return name in entry.field_targets(other) or name in entry.unrecorded_fields(other)
