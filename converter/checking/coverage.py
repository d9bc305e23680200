"""Coverage by logsource and data source: the per-logsource table of ``check --markdown``.

A team porting a rule set asks two questions a per-target total cannot answer: *which kinds of
rules* does a target carry (process creation, registry, PowerShell, Security …), and on *which
data source* (Defend, the Windows integration …). This table answers both from the check's own
results, so it is regenerated with the report instead of computed by a side script.

Each cell is ``proven / converted`` rules (``converted``: the target emitted a query; ``proven``:
``check`` called it equivalent on the events), with ``, N differ`` when some differ. With several
``--data-source`` values, each rule counts once per target on its best data source (the merge of
``converter.checking.sources``), and a second table gives every data source's proven count, from
the per-source verdicts the merge keeps.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from converter.checking.checker import RuleResult, TargetResult


@dataclass
class _Cell:
    """Counts of one (logsource, target) pair."""

    proven: int = 0
    converted: int = 0
    differs: int = 0

    def add(self, result: TargetResult) -> None:
        """Count one rule's result."""
        self.converted += result.query is not None
        self.proven += result.equivalent is True
        self.differs += result.equivalent is False

    def text(self) -> str:
        """``proven / converted`` and the rules that differ, if any."""
        differ = f", {self.differs} differ" if self.differs else ""
        return f"{self.proven} / {self.converted}{differ}"


def coverage_markdown(results: list[RuleResult], targets: list[str]) -> list[str]:
    """The Markdown lines of the per-logsource section (empty when no rule was checked)."""
    checked = [r for r in results if not r.error]
    if not checked:
        return []
    rules: Counter[str] = Counter(r.logsource or "(none)" for r in checked)
    cells: dict[tuple[str, str], _Cell] = defaultdict(_Cell)
    for result in checked:
        for name in targets:
            if name in result.targets:
                cells[(result.logsource or "(none)", name)].add(result.targets[name])
                cells[("**all**", name)].add(result.targets[name])
    order = sorted(rules, key=lambda s: (-rules[s], s))
    lines = [
        "## By logsource",
        "",
        "Each cell: rules *proven / converted* (and how many *differ*, if any)"
        + (", each rule on its best data source." if _sources(checked, targets) else "."),
        "",
        "| logsource | rules | " + " | ".join(targets) + " |",
        "|---|---|" + "---|" * len(targets),
    ]
    for source in [*order, "**all**"]:
        count = len(checked) if source == "**all**" else rules[source]
        row = [cells[(source, name)].text() if (source, name) in cells else "" for name in targets]
        lines.append(f"| {source} | {count} | " + " | ".join(row) + " |")
    lines += _per_source(checked, targets, order)
    return lines


def _sources(checked: list[RuleResult], targets: list[str]) -> list[str]:
    """The data sources the results were proven on, in their first-seen order."""
    seen: dict[str, None] = {}
    for result in checked:
        for name in targets:
            verdicts = result.targets[name].data_sources if name in result.targets else None
            seen.update(dict.fromkeys(verdicts or ()))
    return list(seen)


def _per_source(checked: list[RuleResult], targets: list[str], order: list[str]) -> list[str]:
    """Proven rules per logsource, data source and target (several data sources only)."""
    sources = _sources(checked, targets)
    if len(sources) < 2:
        return []
    proven: Counter[tuple[str, str, str]] = Counter()
    offered: set[tuple[str, str]] = set()
    for result in checked:
        logsource = result.logsource or "(none)"
        for name in targets:
            verdicts = result.targets[name].data_sources if name in result.targets else None
            for source, verdict in (verdicts or {}).items():
                offered.add((source, name))
                for key in (logsource, "**all**"):
                    proven[(key, source, name)] += verdict is True
    shown = [name for name in targets if any((s, name) in offered for s in sources)]
    lines = [
        "",
        "Proven per data source (a rule may be proven on several):",
        "",
        "| logsource | data source | " + " | ".join(shown) + " |",
        "|---|---|" + "---|" * len(shown),
    ]
    for logsource in [*order, "**all**"]:
        for source in sources:
            row = [str(proven[(logsource, source, name)]) if (source, name) in offered else ""
                   for name in shown]
            lines.append(f"| {logsource} | {source} | " + " | ".join(row) + " |")
    return lines
