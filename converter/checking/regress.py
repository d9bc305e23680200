"""``sigport regress``: SigmaHQ's regression data as an acceptance test of every target.

SigmaHQ ships real events for some rules under ``regression_data/``: one folder per rule with an
``info.yml`` (the rule's id in ``rule_metadata[].id``; ``regression_tests_info[]`` entries with
the expected ``match_count`` and the path of an ``.evtx`` file) and the same events as ``.json``
beside the ``.evtx``. For each folder this module finds the rule with that id under the given rule
directories, reads the events (``converter.events.inputs``: the ``.json``, or the ``.evtx`` on request),
runs ``converter.checking.checker.Checker`` on them (so every target is converted, interpreted and
compared with the reference on each event), and reports per rule: the expected count, the
reference's hits and each target's hits and verdict.

``acceptance`` computes the two shares the project is judged by (reference hits at least
``match_count``; every target agrees with the reference) over a logsource category, and
``known_gaps_markdown`` writes the body of KNOWN_GAPS.md: one line per rule where the reference
matches fewer events than expected, or a target disagrees or cannot be checked, with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import yaml
from sigma.rule import SigmaRule

from converter.checking.checker import Checker, TargetResult
from converter.checking.sources import SourcesChecker
from converter.errors import ConverterError, EventsError
from converter.events.render import SampleEvent
from converter.rules.load import LoadedRule, expand_paths, load_rules

__all__ = ["RegressReport", "RegressRow", "acceptance", "known_gaps_markdown", "run_regress"]

#: A rule's top-level ``id`` line; read without YAML parsing, so finding 144 rules among
#: thousands costs a text scan instead of thousands of YAML loads.
_ID_LINE = re.compile(r"^id:\s*['\"]?([0-9A-Za-z-]+)['\"]?\s*$", re.MULTILINE)


@dataclass
class TargetRow:
    """One target's result on one rule's regression events."""

    hits: int
    equivalent: bool | None
    reason: str | None
    disagreements: int
    #: With several ``--data-source`` values: the one whose verdict this is (as for ``check``).
    data_source: str | None = None

    @property
    def agrees(self) -> bool | None:
        """True when it gives the reference's verdict on every event (an approximation the
        emitter declared but these events do not show counts); None when it could not be
        checked (not converted, no interpreter, reference unsupported)."""
        if self.equivalent is not None:
            return self.equivalent
        if self.reason and self.reason.startswith("not proven"):
            return True
        return None

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {"hits": self.hits, "equivalent": self.equivalent, "agrees": self.agrees,
                "reason": self.reason, "disagreements": self.disagreements,
                "data_source": self.data_source}


@dataclass
class RegressRow:
    """One rule's regression test (one ``regression_tests_info`` entry)."""

    rule_id: str
    title: str
    folder: str
    rule_path: str | None = None
    logsource: str = ""
    events_path: str | None = None
    events: int = 0
    expected: int | None = None
    reference_hits: int | None = None
    reference_unsupported: str | None = None
    error: str | None = None
    targets: dict[str, TargetRow] = field(default_factory=dict)

    @property
    def reference_ok(self) -> bool:
        """The reference matches at least ``match_count`` events (at least one when the test
        gives no ``match_count``: every SigmaHQ regression test is a positive detection test)."""
        wanted = 1 if self.expected is None else self.expected
        return self.error is None and self.reference_hits is not None and self.reference_hits >= wanted

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "id": self.rule_id, "title": self.title, "folder": self.folder,
            "rule": self.rule_path, "logsource": self.logsource, "events_file": self.events_path,
            "events": self.events, "error": self.error,
            "expected": self.expected,
            "reference": {"hits": self.reference_hits, "unsupported": self.reference_unsupported,
                          "ok": self.reference_ok},
            "targets": {name: t.to_json() for name, t in self.targets.items()},
        }


@dataclass
class RegressReport:
    """Every regression row, and the targets checked."""

    targets: list[str]
    results: list[RegressRow] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """``{"targets", "rules": [...], "acceptance": {...}}`` (acceptance over
        Windows process_creation, as issue 4 asks)."""
        return {"targets": self.targets, "rules": [r.to_json() for r in self.results],
                "acceptance": acceptance(self)}

    def rows(self) -> list[list[str]]:
        """Rows for a rich table: rule, expected, reference hits, then ``hits verdict`` per
        target (verdict ``=`` agrees, ``≠`` disagrees, ``?`` not checked)."""
        out = []
        for row in self.results:
            cells = [row.title or row.rule_id, _show(row.expected), _show(row.reference_hits)]
            for name in self.targets:
                t = row.targets.get(name)
                mark = "?" if t is None or t.agrees is None else ("=" if t.agrees else "≠")
                cells.append("-" if t is None else f"{t.hits} {mark}")
            out.append(cells)
        return out

    def header(self) -> list[str]:
        """Column titles matching ``rows``."""
        return ["rule", "expected", "reference", *self.targets]


def _show(value: int | None) -> str:
    return "-" if value is None else str(value)


def _index_rules(rule_dirs: Iterable[str | Path]) -> dict[str, str]:
    """Rule id -> file, from the ``id:`` line of every rule file under the directories."""
    out: dict[str, str] = {}
    for path in expand_paths(rule_dirs):
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        match = _ID_LINE.search(text)
        if match:
            out.setdefault(match.group(1).lower(), path)
    return out


def _read_info(info_path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``rule_metadata`` and ``regression_tests_info`` of one ``info.yml`` (SigmaHQ's regression
    data convention: lists of mappings; ``match_count`` a number).

    Raises:
        EventsError: the file cannot be read, is no YAML, or has another shape (file, line, column).
    """
    try:
        info = yaml.safe_load(info_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise EventsError(f"cannot read: {exc.strerror}", path=info_path) from None
    except UnicodeDecodeError as exc:
        raise EventsError(f"not UTF-8 text ({exc.reason})", path=info_path) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise EventsError(f"malformed YAML: {getattr(exc, 'problem', None) or exc}",
                          path=info_path, line=mark.line + 1 if mark else None,
                          column=mark.column + 1 if mark else None) from None
    info = {} if info is None else info
    if not isinstance(info, dict):
        raise EventsError(f"not regression data: a {type(info).__name__}, not a mapping",
                          path=info_path)
    out: list[list[dict[str, Any]]] = []
    for key in ("rule_metadata", "regression_tests_info"):
        value = info.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise EventsError(f"{key} must be a list of mappings", path=info_path)
        out.append(value)
    for test in out[1]:
        count = test.get("match_count")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            raise EventsError(f"match_count must be a whole number, not {count!r}", path=info_path)
    return out[0], out[1]


def _events_file(regression_dir: Path, info_dir: Path, test: dict[str, Any], use_evtx: bool) -> Path:
    """The test's events: its ``path`` (relative to the repository holding ``regression_data``),
    else the file of that name in the info folder; the ``.json`` twin unless ``use_evtx``."""
    raw = Path(str(test.get("path", "")))
    candidates = [regression_dir.parent / raw, info_dir / raw.name]
    evtx = next((c for c in candidates if c.is_file()), candidates[-1])
    return evtx if use_evtx else evtx.with_suffix(".json")


def _target_row(result: TargetResult) -> TargetRow:
    return TargetRow(len(result.matched), result.equivalent, result.reason,
                     len(result.disagreements), result.data_source)


def _run_one(row: RegressRow, loaded: LoadedRule, path: Path, checker: Checker | SourcesChecker) -> None:
    from converter.events.inputs import InputError, iter_events

    try:
        events = [SampleEvent(e, source=f"{path}:{i}")
                  for i, e in enumerate(iter_events(path), start=1)]
    except InputError as exc:
        row.error = f"cannot read events: {exc.one_line()}"
        return
    row.events = len(events)
    result = checker.check(loaded, events)
    if result.error:
        row.error = result.error
        return
    row.reference_unsupported = result.reference_unsupported
    row.reference_hits = None if result.reference_unsupported else len(result.reference_matched)
    row.targets = {name: _target_row(t) for name, t in result.targets.items()}


def run_regress(
    regression_dir: str | Path,
    rule_dirs: Iterable[str | Path],
    targets: list[str] | None = None,
    use_evtx: bool = False,
    *,
    data_source: str | None = None,
    data_sources: Sequence[str] = (),
    mapping: str | Path | None = None,
    source_mappings: Mapping[str, Path] | None = None,
) -> RegressReport:
    """Check every rule that has regression data.

    Args:
        regression_dir: SigmaHQ's ``regression_data`` folder.
        rule_dirs: where to look the rules up by id (e.g. ``rules``, ``rules-emerging-threats``).
        targets: target names (default: every target with an interpreter).
        use_evtx: read the ``.evtx`` files instead of their ``.json`` twins.
        data_source: the Elastic data source, as for ``check``.
        data_sources: several data sources, as for ``check --data-source A,B``: each target is
            checked on each one its tables offer and counted on the first that agrees (one that
            disagrees on any of them disagrees).
        mapping: the user's Elasticsearch mapping or template, as for ``check --mapping FILE``.
        source_mappings: a mapping per data source, as for ``check --mapping SOURCE=FILE``;
            every name must be one of the run's data sources.

    Returns:
        A ``RegressReport`` with one row per regression test, in folder order.

    Raises:
        UnknownTargetError, PipelineError: a bad target or mapping (before any rule is checked).
        ConverterError: a per-source mapping names a data source the run does not have.
    """
    regression_dir = Path(regression_dir)
    sources = list(dict.fromkeys(data_sources))
    if len(sources) == 1:
        data_source, sources = sources[0], []
    own = dict(source_mappings or {})
    stray = sorted(set(own) - set(sources or [data_source or ""]))
    if stray:
        raise ConverterError(f"--mapping {stray[0]}=...: {stray[0]!r} is not a data source of "
                             f"this run ({', '.join(sources or [data_source or 'none given'])})")
    checker: Checker | SourcesChecker = (
        SourcesChecker(targets, None, sources, mapping, own) if sources
        else Checker(targets, data_source=data_source,
                     mapping=own.get(data_source or "", mapping))
    )
    report = RegressReport(checker.targets)
    rules = _index_rules(rule_dirs)
    for info_path in sorted(regression_dir.rglob("info.yml")):
        folder = str(info_path.parent.relative_to(regression_dir))
        try:
            metas, tests = _read_info(info_path)
        except EventsError as exc:  # one bad folder is a row, the run goes on
            report.results.append(RegressRow("", "", folder, error=str(exc)))
            continue
        for meta in metas:
            rule_id = str(meta.get("id", ""))
            loaded = None
            rule_path = rules.get(rule_id.lower())
            if rule_path is not None:
                loaded = next((r for r in load_rules([rule_path]) if r.id == rule_id), None)
            for test in tests:
                row = RegressRow(rule_id, str(meta.get("title", "")), folder, rule_path,
                                 expected=test.get("match_count"))
                report.results.append(row)
                if loaded is None or loaded.rule is None:
                    row.error = (f"rule {rule_id} not found under the rule directories"
                                 if rule_path is None else f"rule {rule_id} did not load")
                    continue
                if not isinstance(loaded.rule, SigmaRule):
                    row.error = f"rule {rule_id} is a correlation rule: sigport does not check those"
                    continue
                source = loaded.rule.logsource
                row.logsource = "/".join(p or "-" for p in
                                         (source.product, source.category, source.service))
                events_path = _events_file(regression_dir, info_path.parent, test, use_evtx)
                row.events_path = str(events_path)
                _run_one(row, loaded, events_path, checker)
    return report


def acceptance(report: RegressReport, logsource: str = "windows/process_creation/-") -> dict[str, Any]:
    """The issue-4 acceptance shares over the rows of one logsource.

    Returns:
        ``{"rules", "reference_ok", "reference_ok_share", "all_targets_agree",
        "all_targets_agree_share", "targets": {name: {"agree", "disagree", "not_checked",
        "agree_share"}}}``; shares are of all rows of the logsource.
    """
    rows = [r for r in report.results if r.logsource == logsource]
    total = len(rows)

    def share(n: int) -> float:
        return round(n / total, 4) if total else 0.0

    per_target = {}
    for name in report.targets:
        verdicts = [r.targets[name].agrees if name in r.targets else None for r in rows]
        agree = sum(1 for v in verdicts if v is True)
        disagree = sum(1 for v in verdicts if v is False)
        per_target[name] = {"agree": agree, "disagree": disagree,
                            "not_checked": sum(1 for v in verdicts if v is None),
                            "agree_share": share(agree),
                            # Of the rules the target could be checked on (converted, interpreted).
                            "checked_agree_share": round(agree / (agree + disagree), 4)
                            if agree + disagree else 0.0}
    reference_ok = sum(1 for r in rows if r.reference_ok)
    all_agree = sum(1 for r in rows if r.targets and all(t.agrees for t in r.targets.values()))
    no_disagreement = sum(
        1 for r in rows if r.targets and not any(t.agrees is False for t in r.targets.values())
    )
    return {"logsource": logsource, "rules": total, "reference_ok": reference_ok,
            "reference_ok_share": share(reference_ok), "all_targets_agree": all_agree,
            "all_targets_agree_share": share(all_agree), "no_target_disagrees": no_disagreement,
            "no_target_disagrees_share": share(no_disagreement), "targets": per_target}


def known_gaps_markdown(report: RegressReport) -> str:
    """A KNOWN_GAPS.md body: every rule whose reference under-matches, or where a target
    disagrees or cannot be checked, with the reason; then the acceptance numbers."""
    lines = ["# Known gaps (SigmaHQ regression data)", ""]
    numbers = acceptance(report)
    lines += [
        f"Windows process_creation rules with regression data: {numbers['rules']}. "
        f"Reference hits >= match_count: {numbers['reference_ok']} "
        f"({numbers['reference_ok_share']:.1%}). Every target agrees: "
        f"{numbers['all_targets_agree']} ({numbers['all_targets_agree_share']:.1%}); no target "
        f"disagrees (the others are not checked): {numbers['no_target_disagrees']} "
        f"({numbers['no_target_disagrees_share']:.1%}).", "",
        "| target | agrees | disagrees | not checked | agrees where checked |",
        "|---|---|---|---|---|",
    ]
    for name, t in numbers["targets"].items():
        lines.append(f"| {name} | {t['agree']} ({t['agree_share']:.1%}) | {t['disagree']} "
                     f"| {t['not_checked']} | {t['checked_agree_share']:.1%} |")
    lines += ["", *_by_logsource(report), ""]
    for row in report.results:
        gaps = []
        if row.error:
            gaps.append(f"error: {row.error}")
        elif row.reference_unsupported:
            gaps.append(f"reference cannot evaluate the rule: {row.reference_unsupported}")
        elif not row.reference_ok:
            wanted = "at least 1" if row.expected is None else row.expected
            gaps.append(f"reference matches {row.reference_hits} of {row.events} events, "
                        f"SigmaHQ expects {wanted}")
        for name, t in row.targets.items():
            if t.agrees is not True:
                # A reason that names every data source's ("on defend: ...; on windows: ...")
                # needs no "(on defend)" before it.
                named = (t.reason or "").startswith(f"on {t.data_source}: ")
                where = f" (on {t.data_source})" if t.data_source and not named else ""
                gaps.append(f"{name}{where}: {t.reason or 'disagrees'}")
        if gaps:
            lines.append(f"## {row.title or row.rule_id} (`{row.rule_id}`)")
            lines.append("")
            name = Path(row.rule_path).name if row.rule_path else "?"
            lines.append(f"Rule `{name}`, regression folder `{row.folder}`.")
            lines.append("")
            lines.extend(f"- {' '.join(g.split())}" for g in gaps)
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _by_logsource(report: RegressReport) -> list[str]:
    """Every logsource with regression data: its tests, and per target *agrees / disagrees /
    not checked* (the acceptance above counts process creation only)."""
    logsources = sorted({r.logsource for r in report.results if r.logsource})
    out = [f"Every logsource ({len(report.results)} regression tests): per target, tests where it "
           "agrees / disagrees / could not be checked.", "",
           "| logsource | tests | " + " | ".join(report.targets) + " |",
           "|---|---|" + "---|" * len(report.targets)]
    for logsource in logsources:
        numbers = acceptance(report, logsource)
        cells = [f"{t['agree']} / {t['disagree']} / {t['not_checked']}"
                 for t in numbers["targets"].values()]
        out.append(f"| {logsource} | {numbers['rules']} | " + " | ".join(cells) + " |")
    return out


def print_report(report: RegressReport, console: Any = None) -> None:
    """Print the regression rows as a rich table, then the acceptance numbers."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"SigmaHQ regression data: {len(report.results)} tests")
    for column in report.header():
        table.add_column(column, overflow="fold")
    for cells in report.rows():
        table.add_row(*(escape(c) for c in cells))
    console.print(table)
    numbers = acceptance(report)
    console.print(
        f"Windows process_creation: {numbers['rules']} rules; reference >= match_count: "
        f"{numbers['reference_ok_share']:.1%}; every target agrees: "
        f"{numbers['all_targets_agree_share']:.1%}; no target disagrees: "
        f"{numbers['no_target_disagrees_share']:.1%}"
    )
