"""Reference evaluator at scale: events/s over the OTRF event streams, with and without the rule
index (issue 6, item 3).

    python bench/reference.py [--runs N] [--rules DIR] [--events DIR] [--no-whole]

Two streams, both on one core, timed in CPU seconds (``time.process_time``, so other load on the
machine counts less than in wall time), median of ``--runs`` passes:

* **process creation**: the OTRF events routed to ``process_creation`` (Sysmon 1, Security 4688)
  against every SigmaHQ ``windows/process_creation`` rule, evaluated three ways in the same
  process: every rule on every event (no index), through ``RuleIndex`` (routing, candidates by
  required literals, then evaluation), and through ``RuleIndex`` without its per-field memo;
* **whole stream**: every OTRF Windows event against every SigmaHQ ``windows`` rule through
  ``RuleIndex``, each event routed to the rules of its logsource (``--no-whole`` skips it).

Each indexed pass starts from a freshly built index (its per-logsource tables built, its memos
empty); building it is timed apart. The
events are read and normalised once before timing. Prints a Markdown section for BENCHMARKS.md
comparing with rsigma's ~19,000 events/s (one core, structured Sysmon events, whole SigmaHQ
corpus). Speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from converter.events.inputs import iter_events  # noqa: E402
from converter.reference.evaluator import CompiledRule, compile_rule  # noqa: E402
from converter.ruleindex.index import RuleIndex, automaton_available  # noqa: E402
from converter.rules.load import load_rules  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
RSIGMA = 19_000  # events/s, one core, reported by rsigma for the whole SigmaHQ corpus
BEFORE = 61  # events/s of the process-creation stream before the index (BENCHMARKS.md)


@dataclass
class Row:
    """One measured configuration."""

    stream: str
    how: str
    rules: int
    events: int
    times: list[float]
    hits: int
    candidates: float | None = None  # mean candidates per event
    members: float | None = None  # mean rules of the event's logsource per event
    build_s: float | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def rate(self) -> float:
        return self.events / self.median if self.median else 0.0


def rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def compile_dir(path: Path) -> list[CompiledRule]:
    """Every rule under ``path``, compiled (unsupported ones included: they never match)."""
    return [compile_rule(r.rule) for r in load_rules([path]) if r.rule is not None]


def cpu(run: Callable[[], int], runs: int) -> tuple[list[float], int]:
    """CPU seconds of each of ``runs`` calls of ``run`` (which returns a hit count)."""
    times, hits = [], 0
    for _ in range(runs):
        start = time.process_time()
        hits = run()
        times.append(time.process_time() - start)
    return times, hits


def every_rule(rules: list[CompiledRule], events: list[dict[str, Any]]) -> int:
    """The plain way: every rule on every event (a fold cache shared per event)."""
    hits = 0
    for event in events:
        cache: dict[str, Any] = {}
        for rule in rules:
            if rule.evaluate(event, cache).matched:
                hits += 1
    return hits


def indexed(rules: list[CompiledRule], events: list[dict[str, Any]], runs: int, **options: Any
            ) -> tuple[list[float], int, float, float, float]:
    """Timed passes through fresh indexes (tables built, memos empty); returns times, hits,
    build seconds, and the mean candidates and routed rules per event (counted apart,
    untimed)."""
    builds, times, hits = [], [], 0
    for _ in range(runs):
        start = time.process_time()
        index = RuleIndex.build(rules, **options)
        for event in events:  # build each logsource group's tables (lazily built otherwise)
            index.members(event)
        builds.append(time.process_time() - start)
        start = time.process_time()
        hits = sum(len(index.matches(event)) for event in events)
        times.append(time.process_time() - start)
    count = RuleIndex.build(rules, **options)
    candidates = sum(len(count.candidates(e)) for e in events) / max(1, len(events))
    members = sum(len(count.members(e)) for e in events) / max(1, len(events))
    return times, hits, statistics.median(builds), candidates, members


def table(rows: list[Row]) -> None:
    """Print the measurements as a Markdown table."""
    print("| stream | evaluation | rules | events | median CPU s (min-max) | events/s | "
          "rules routed / candidates per event | hits | vs rsigma |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        routed = ("-" if row.candidates is None else
                  f"{row.members:,.1f} / {row.candidates:,.2f} ({row.candidates / row.members:.1%})"
                  if row.members else f"0 / {row.candidates:.2f}")
        print(f"| {row.stream} | {row.how} | {row.rules:,} | {row.events:,} | {row.median:.2f} "
              f"({min(row.times):.2f}-{max(row.times):.2f}) | {row.rate:,.0f} | {routed} | "
              f"{row.hits:,} | {row.rate / RSIGMA:.2f}x |")


def main() -> int:
    """Run the measurements and print the Markdown section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed passes (median reported)")
    parser.add_argument("--rules", type=Path, default=CORPUS / "sigmahq/rules/windows",
                        help="the whole-stream rules; process_creation/ below it for the other")
    parser.add_argument(
        "--events", type=Path, default=CORPUS / "events/Security-Datasets/datasets/atomic/windows"
    )
    parser.add_argument("--no-whole", action="store_true", help="skip the whole-stream run")
    args = parser.parse_args()
    proc_dir = args.rules / "process_creation"
    if not proc_dir.is_dir() or not args.events.is_dir():
        print("corpus not found; nothing measured", file=sys.stderr)
        return 0
    start = time.process_time()
    events = list(iter_events(args.events))
    read_s = time.process_time() - start
    rss_events = rss_mib()
    proc_rules = compile_dir(proc_dir)
    evaluable = [r for r in proc_rules if r.unsupported is None]
    proc_events = [e for e in events if evaluable and evaluable[0].in_logsource(e)]
    # The events (millions of objects) stay for the whole run: exempt them from the cyclic GC,
    # whose full collections would otherwise walk them all and be timed with the evaluation.
    gc.collect()
    gc.freeze()
    rows: list[Row] = []

    times, hits = cpu(lambda: every_rule(evaluable, proc_events), args.runs)
    rows.append(Row("process creation", "every rule (no index)", len(evaluable),
                    len(proc_events), times, hits))
    for how, options in (("RuleIndex", {}), ("RuleIndex, no memo", {"memo": 0})):
        times, hits, build, cands, members = indexed(evaluable, proc_events, args.runs, **options)
        rows.append(Row("process creation", how, len(evaluable), len(proc_events), times, hits,
                        cands, members, build))
    rss_proc = rss_mib()
    whole_rules: list[CompiledRule] = []
    if not args.no_whole:
        whole_rules = compile_dir(args.rules)
        times, hits, build, cands, members = indexed(whole_rules, events, args.runs)
        rows.append(Row("whole stream", "RuleIndex", len(whole_rules), len(events), times, hits,
                        cands, members, build))
    rss_end = rss_mib()

    plain, best = rows[0], rows[1]
    print("## Reference evaluator at scale\n")
    print(
        f"`python bench/reference.py --runs {args.runs}`: one core, CPU seconds "
        f"(`time.process_time`), median of {args.runs} passes. Process creation: the "
        f"{len(proc_events):,} events (Sysmon 1 and Security 4688) of the {len(events):,} OTRF "
        f"events against the {len(evaluable):,} evaluable SigmaHQ `windows/process_creation` "
        "rules. Whole stream: every OTRF event against every SigmaHQ `windows` rule "
        f"({len(whole_rules):,}, unsupported ones included: they never match), each event routed "
        "to the rules of its logsource. The events are read and normalised before timing "
        f"({read_s:.0f} CPU s); each indexed pass starts from a fresh index, memos empty "
        "(median build "
        + ", ".join(f"{r.stream} {r.build_s:.2f} s" for r in rows if r.how == "RuleIndex")
        + f"). Aho-Corasick (`pyahocorasick`): {'yes' if automaton_available() else 'no'}.\n"
    )
    table(rows)
    same = len({row.hits for row in rows if row.stream == "process creation"}) == 1
    print(
        ("\nEvery configuration finds the same hits (the index never changes a verdict). "
         if same else "\n**The configurations disagree on the hits: the index is unsound.** ")
        + f"On process creations the index evaluates {best.candidates:.1f} of "
        f"{best.members:,.0f} rules per event and runs {best.rate / plain.rate:,.0f}x faster "
        f"than evaluating every rule; before this change the reference evaluated every rule "
        f"at {BEFORE} events/s, so {best.rate / BEFORE:,.0f}x in all."
    )
    for row in rows[1:]:
        if row.how == "RuleIndex":
            print(f"- {row.stream}: {row.rate:,.0f} events/s, {row.rate / RSIGMA:.0%} of "
                  f"rsigma's ~{RSIGMA:,} events/s (ratio {row.rate / RSIGMA:.2f}).")
    print(
        f"\nPeak RSS: {rss_events:,.0f} MiB after reading the events (all kept in memory for the "
        f"repeated passes), {rss_proc:,.0f} MiB after the process-creation runs, "
        f"{rss_end:,.0f} MiB at the end (rules, indexes and their memos; each field's memo "
        "is bounded by a character budget)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
