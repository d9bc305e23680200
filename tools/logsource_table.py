"""Per-logsource coverage table from ``sigport check --format json`` reports.

Usage::

    sigport check <SigmaHQ>/rules/windows --generate --format json \\
        -t eql -t lucene -t splunk -t splunk-cim --data-source defend > defend.json
    sigport check <SigmaHQ>/rules/windows --generate --format json \\
        -t eql -t lucene --data-source windows > windows.json
    python tools/logsource_table.py defend=defend.json windows=windows.json

Prints a Markdown table: one row per Sigma logsource (category, else service) and data source,
each cell ``converted / proven`` (proven = ``check`` called the target equivalent on the generated
events), plus a total row and, when several data sources are given, the best Elastic data source
per rule (a rule counts as converted / proven for a target when some data source converts /
proves it). Splunk targets do not depend on the Elastic data source: their cells come from the
first report that has them.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

ELASTIC = ("eql", "lucene", "kql", "esql")


def logsource_of(path: str) -> str:
    """The rule's category, else its service, else its product."""
    try:
        documents = list(yaml.safe_load_all(Path(path).read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError):
        return "(unreadable)"
    for document in documents:
        if isinstance(document, dict) and isinstance(document.get("logsource"), dict):
            source = document["logsource"]
            return str(source.get("category") or source.get("service") or source.get("product"))
    return "(none)"


def outcome(target: dict[str, Any]) -> tuple[bool, bool]:
    """(converted, proven) of one target's result."""
    reason = target.get("reason") or ""
    return not reason.startswith("not converted"), target.get("equivalent") is True


def main(argv: list[str]) -> int:
    """Read ``name=report.json`` arguments and print the table."""
    if not argv:
        sys.stderr.write(__doc__ or "")
        return 2
    reports: dict[str, dict[str, Any]] = {}
    for argument in argv:
        name, _, file = argument.partition("=")
        reports[name] = json.loads(Path(file).read_text(encoding="utf-8"))
    targets: list[str] = []
    for report in reports.values():
        targets += [t for t in report["targets"] if t not in targets]
    # (logsource, data source) -> target -> [converted, proven]; rules per logsource.
    cells: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    best: dict[tuple[str, str], dict[str, tuple[bool, bool]]] = defaultdict(dict)
    rules: dict[str, set[str]] = defaultdict(set)
    where: dict[str, str] = {}
    for source, report in reports.items():
        for rule in report["rules"]:
            key = rule["path"] + "#" + (rule.get("id") or "")
            logsource = where.setdefault(rule["path"], logsource_of(rule["path"]))
            rules[logsource].add(key)
            for target, result in rule["targets"].items():
                done, proven = outcome(result)
                cell = cells[(logsource, source)][target]
                cell[0] += done
                cell[1] += proven
                seen = best[(logsource, key)].get(target, (False, False))
                best[(logsource, key)][target] = (seen[0] or done, seen[1] or proven)
    names = list(reports)
    header = "| logsource | rules | data source | " + " | ".join(targets) + " |"
    lines = [header, "|" + "---|" * (3 + len(targets))]
    totals: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for logsource in sorted(rules, key=lambda s: (-len(rules[s]), s)):
        rows = names + (["best Elastic"] if len(names) > 1 else [])
        for source in rows:
            row = []
            for target in targets:
                if source == "best Elastic":
                    if target not in ELASTIC:
                        row.append("")
                        continue
                    pairs = [best[(logsource, k)].get(target, (False, False)) for k in rules[logsource]]
                    value = [sum(p[0] for p in pairs), sum(p[1] for p in pairs)]
                else:
                    value = cells[(logsource, source)].get(target)
                    if value is None or (target not in ELASTIC and source != _first(reports, target)):
                        row.append("")
                        continue
                totals[source][target][0] += value[0]
                totals[source][target][1] += value[1]
                row.append(f"{value[0]} / {value[1]}")
            lines.append(f"| {logsource} | {len(rules[logsource])} | {source} | " + " | ".join(row) + " |")
    total = sum(len(r) for r in rules.values())
    for source in totals:
        row = []
        for target in targets:
            value = totals[source].get(target)
            row.append(
                "" if value is None else f"{value[0]} / {value[1]} ({100 * value[1] / total:.1f}%)"
            )
        lines.append(f"| **all** | {total} | {source} | " + " | ".join(row) + " |")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _first(reports: dict[str, dict[str, Any]], target: str) -> str | None:
    """The first report that checked ``target`` (Splunk cells are shown once)."""
    return next((name for name, report in reports.items() if target in report["targets"]), None)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
