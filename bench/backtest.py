"""Backtest benchmark: every SigmaHQ Windows rule, every checkable target, the OTRF event archives.

Run from the project root with the project's virtualenv::

    python bench/backtest.py [--runs N] [--sizes 10,50,100] [--workers N] [--rules DIR] [--events DIR]

For each input size (a share of the event archives, by bytes, smallest share first) it runs
``converter.backtesting.run.run_backtest`` ``--runs`` times, each in a fresh process so that peak memory
is that run's own, and prints a Markdown section (for BENCHMARKS.md) with the median wall time,
the median preparation time (loading, converting and interpreting the rules, the same at every
size), events per second of the evaluation phase, and the peak RSS of the parent and of the
largest worker (``getrusage(RUSAGE_SELF / RUSAGE_CHILDREN).ru_maxrss``). Flat peak RSS across
sizes shows the streaming keeps memory constant.

One run takes minutes (preparing ~2,400 rules for five targets dominates), so ``--runs`` defaults
to 3, not 5 like bench/bench.py. Wall times move with other load on the machine; the load average
and the CPU time of each run are printed beside them. Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CORPUS = ROOT.parent / "shared" / "corpus"
DEFAULT_RULES = CORPUS / "sigmahq" / "rules" / "windows"
DEFAULT_EVENTS = CORPUS / "events" / "Security-Datasets"
ARCHIVES = (".zip", ".gz", ".tgz", ".tar")


def event_files(root: Path) -> list[Path]:
    """The event archives under ``root``, sorted by path."""
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in ARCHIVES)


def share_of(files: list[Path], percent: int) -> list[Path]:
    """The first files (in path order) whose sizes add up to ``percent`` of the total bytes."""
    total = sum(f.stat().st_size for f in files)
    out, size = [], 0
    for f in files:
        if out and size >= total * percent / 100:
            break
        out.append(f)
        size += f.stat().st_size
    return out


def one_run(rules: Path, files: list[Path], workers: int, targets: list[str] | None) -> dict[str, Any]:
    """Child-process entry: one backtest, printed as JSON with its resource usage."""
    import resource

    from converter.backtesting.run import run_backtest

    report = run_backtest([rules], files, targets=targets, workers=workers)
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    summary = report.summary()
    return {
        "events": report.events,
        "rules": len(report.rules),
        "elapsed_s": report.elapsed_s,
        "prepare_s": report.prepare_s,
        "cpu_s": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
        "rss_self_kb": me.ru_maxrss,
        "rss_children_kb": kids.ru_maxrss,
        "disagreements": sum(t["disagreements"] for t in summary.values()),
        "summary": summary,
    }


def measure(args: argparse.Namespace, files: list[Path]) -> dict[str, Any]:
    """Run one backtest in a fresh interpreter and return its JSON line."""
    command = [sys.executable, __file__, "--child", "--rules", str(args.rules),
               "--workers", str(args.workers), *[str(f) for f in files]]
    for target in args.target or []:
        command += ["--target", target]
    # Without sigport's persistent cache: each size converts every rule it reaches, as the
    # first run would (with it, the later sizes would read back what the earlier ones stored).
    env = {**os.environ, "SIGPORT_NO_CACHE": "1"}
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False, env=env)
    if done.returncode != 0:
        raise SystemExit(f"backtest run failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def markdown(args: argparse.Namespace, rows: list[tuple[int, int, list[dict[str, Any]]]]) -> str:
    """The BENCHMARKS.md section body."""
    lines = [
        f"Backtest of `{args.rules.relative_to(CORPUS) if args.rules.is_relative_to(CORPUS) else args.rules}`"
        f" ({rows[0][2][0]['rules']} rules) over shares of the OTRF Security-Datasets archives, "
        f"all checkable targets, {args.workers} workers, median of {args.runs} runs each in a fresh "
        f"process (`python bench/backtest.py --runs {args.runs}`); load average before: "
        f"{args.load_before}, after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}.",
        "",
        "| input | files | events | wall s | prepare s | evaluate s | events/s (evaluation) "
        "| CPU s | peak RSS parent MB | peak RSS worker MB | disagreements |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for percent, count, runs in rows:
        wall = statistics.median(r["elapsed_s"] for r in runs)
        prep = statistics.median(r["prepare_s"] for r in runs)
        evaluate = statistics.median(r["elapsed_s"] - r["prepare_s"] for r in runs)
        events = runs[0]["events"]
        rate = events / evaluate if evaluate > 0 else 0.0
        lines.append(
            f"| {percent}% | {count} | {events:,} | {wall:.1f} | {prep:.1f} | {evaluate:.1f} "
            f"| {rate:,.0f} | {statistics.median(r['cpu_s'] for r in runs):.0f} "
            f"| {max(r['rss_self_kb'] for r in runs) / 1024:.0f} "
            f"| {max(r['rss_children_kb'] for r in runs) / 1024:.0f} | {runs[0]['disagreements']} |"
        )
    last = rows[-1][2][0]["summary"]
    lines += ["", "Per target at the largest input (rules equivalent / differing / not checked, "
              "hits, disagreeing events):", "", "| target | equivalent | differs | not checked "
              "| hits | disagreements |", "|---|---|---|---|---|---|"]
    for name, t in last.items():
        lines.append(f"| {name} | {t['equivalent']} | {t['differs']} | {t['not_checked']} "
                     f"| {t['hits']} | {t['disagreements']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments; run the measurements (or, with ``--child``, one run) and print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per input size (default 3)")
    parser.add_argument("--sizes", default="10,50,100", help="input shares in percent")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rules", type=Path, default=DEFAULT_RULES)
    parser.add_argument("--events", type=Path, default=DEFAULT_EVENTS)
    parser.add_argument("--target", action="append", help="restrict to these targets")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(one_run(args.rules, args.files, args.workers, args.target)))
        return 0
    if not args.rules.is_dir() or not args.events.is_dir():
        print(f"corpus not found ({args.rules}, {args.events}); nothing measured")
        return 0
    args.load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    files = event_files(args.events)
    rows = []
    for percent in sorted(int(s) for s in args.sizes.split(",")):
        chosen = share_of(files, percent)
        runs = [measure(args, chosen) for _ in range(args.runs)]
        rows.append((percent, len(chosen), runs))
        print(f"{percent}%: {[round(r['elapsed_s'], 1) for r in runs]} s", file=sys.stderr)
    print(markdown(args, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
