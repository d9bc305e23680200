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
from typing import Any

from backends import TARGETS

from converter.conversion.convert import CONVERTED, UNSUPPORTED, Converter
from converter.mapping.table import load_table
from converter.rules.load import load_rules


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


def other_data_sources(
    results: list[Any], targets: list[str], pipelines: list[str] | None, data_source: str | None
) -> list[Alternative]:
    """For each target, how many of its refused rules each other data source converts.

    Only refusals whose reason names the data source are tried again (a logsource the table does
    not cover, or a value no target language can express, is refused on every data source
    alike), and a rule refused for a field is not tried on a source that neither maps nor
    evaluates away that field either (``ScriptBlockText`` has no exact target in any ECS source).
    Each refused file is read once.

    Args:
        results: the conversions (``Conversion``: ``path``, ``id``, ``target``, ``status``).
        targets: the targets converted.
        pipelines: the pipelines the user named (as for the conversion).
        data_source: the data source the user chose (None: each table's default).

    Returns:
        One ``Alternative`` per (target, other data source) that converts at least one more rule,
        best first per target.
    """
    tries: dict[tuple[str, str], list[tuple[str, str]]] = {}  # (target, other) -> rules
    current: dict[str, str] = {}
    for target in targets:
        table = load_table(TARGETS[target].pipeline)
        choices = list(table.options.get("data_source", {}).get("choices") or [])
        if len(choices) < 2:
            continue
        now = (data_source if data_source is not None and data_source in choices
               else str(table.option_default("data_source")))
        current[target] = now
        for r in results:
            reason = r.reason or ""
            if r.target != target or r.status != UNSUPPORTED or r.path == "<stdin>":
                continue
            if f"data_source={now}" not in reason:
                continue
            for other in choices:
                if other != now and _may_convert(table, reason, other):
                    tries.setdefault((target, other), []).append((r.path, r.id))
    if not tries:
        return []
    wanted = {key for keys in tries.values() for key in keys}
    loaded = {
        (rule.path, rule.id): rule
        for rule in load_rules(sorted({path for path, _ in wanted}))
        if (rule.path, rule.id) in wanted
    }
    out: list[Alternative] = []
    for (target, other), keys in tries.items():
        converter = Converter(target, pipelines, {"data_source": other})
        count = sum(
            key in loaded and converter.convert(loaded[key]).status == CONVERTED for key in keys
        )
        if count:
            out.append(Alternative(target, current[target], other, count))
    return sorted(out, key=lambda a: (targets.index(a.target), -a.count))


#: The refusal ``converter.mapping.transformations.UnmappedFieldFailure`` gives for a field.
_UNMAPPED = re.compile(r"field '([^']+)' is not mapped by pipeline \S+ \(data_source=\S+\) for logsource (\S+?):")


def _may_convert(table: Any, reason: str, other: str) -> bool:
    """False when the refusal names a field that ``other`` neither maps nor never records in
    the same logsource (the rule is refused there too); True otherwise."""
    found = _UNMAPPED.search(reason)
    if found is None:
        return True
    name, logsource = found.groups()
    entry = next((e for e in table.logsources if e.id == logsource), None)
    if entry is None:
        return True
    return name in entry.field_targets(other) or name in entry.unrecorded_fields(other)
