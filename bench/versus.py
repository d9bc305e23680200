"""sigport's backtest and reference evaluator against a Zircolite-style SQLite peer (issue 17).

    python bench/versus.py [--runs N] [--rules DIR]... [--events FILE]... [--workers N]
                           [--peer-python PATH] [--scratch DIR]

Both sides read the same events: the OTRF archives given with ``--events`` (default: the two
smallest-path archives of the Windows atomic datasets, 17,386 events), read and normalised once
by sigport into one JSON-lines file before any timing. For each rules directory (default: the
SigmaHQ ``windows/process_creation`` rules, then all ``windows`` rules) four whole processes
run, alternated (the one that goes first rotates each round) after one untimed warm-up each:

* ``sigport backtest RULES --events EVENTS.jsonl --workers N --format json``: the reference and
  every target with an interpreter (eql, kql, lucene, splunk, splunk-cim, kusto), twice: **cold**,
  with a fresh empty cache directory each run (``SIGPORT_CACHE_DIR``: every rule converted and
  parsed, its entry written), and **warm**, with a cache directory one untimed run filled before
  the timed rounds (the conversions and parses read back);
* the reference alone: ``python bench/versus.py --child-reference RULES EVENTS.jsonl``: load,
  compile, ``RuleIndex`` over the stream, one process;
* the peer: ``bench/peer.py`` in its own virtualenv (pySigma 2 and pySigma-backend-sqlite: every
  rule as SQL over one in-memory SQLite table, reference only, as Zircolite does).

Each run is measured with ``os.wait4`` (wall, CPU of the process and its workers, peak RSS of
the largest single process). Prints a Markdown section: medians (min-max), ratios to the peer
pair by pair, and the per-phase CPU split each side reports of its last run. Speed is measured
here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
# The process measurements, from this file's folder (as bench/bench.py imports them).
if str(ROOT / "bench") not in sys.path:
    sys.path.insert(0, str(ROOT / "bench"))

from runs import Run, alternate, bytecode_env, cached_env  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
ATOMIC = CORPUS / "events" / "Security-Datasets" / "datasets" / "atomic" / "windows"
DEFAULT_EVENTS = (ATOMIC / "collection" / "host" / "msf_record_mic.zip",
                  ATOMIC / "credential_access" / "host" / "cmd_dumping_ntds_dit_file_ntdsutil.zip")
DEFAULT_RULES = (CORPUS / "sigmahq" / "rules" / "windows" / "process_creation",
                 CORPUS / "sigmahq" / "rules" / "windows")
#: The peer's interpreter bench/README.md sets up; ``$SIGPORT_PEER_PYTHON`` (a peer virtualenv
#: made elsewhere) and ``--peer-python`` take precedence (``peer_python``).
PEER_PYTHON = ROOT / "bench" / ".peer-venv" / "bin" / "python"
PEER_ENV = "SIGPORT_PEER_PYTHON"
#: The report's timing fields (the rest must not depend on the cache).
TIMING = ("elapsed_s", "prepare_s", "events_per_s", "phases_s")


def peer_python(given: Path | None = None) -> Path:
    """The peer's interpreter: ``given`` (``--peer-python``), else ``$SIGPORT_PEER_PYTHON``, else
    ``PEER_PYTHON``."""
    if given is not None:
        return given
    return Path(os.environ.get(PEER_ENV) or PEER_PYTHON)


def export_events(paths: list[Path], out: Path) -> int:
    """Read and normalise the events once (sigport's readers) into JSON lines; their count."""
    from converter.events.inputs import InputLimits, iter_raw
    from converter.events.normalise import normalise_owned

    count = 0
    limits = InputLimits()
    with out.open("w", encoding="utf-8") as handle:
        for path in paths:
            for _source, raw in iter_raw(path, None, limits):
                handle.write(json.dumps(normalise_owned(raw), default=str) + "\n")
                count += 1
    return count


def child_reference(rules: Path, events: Path) -> int:
    """One process: the reference alone over the stream (what the peer does); prints JSON."""
    import resource

    started = time.process_time()
    from converter.events.inputs import iter_events
    from converter.reference.evaluator import compile_rule
    from converter.ruleindex.index import RuleIndex
    from converter.rules.load import load_rules

    imported = time.process_time()
    loaded = [r.rule for r in load_rules([rules]) if r.rule is not None]
    read = time.process_time()
    index = RuleIndex.build([compile_rule(rule) for rule in loaded])
    compiled = time.process_time()
    hits = count = 0
    for event in iter_events(events):
        hits += len(index.matches(event))
        count += 1
    done = time.process_time()
    print(json.dumps({
        "events": count, "rules": len(loaded), "hits": hits,
        "cpu": {"imports": imported - started, "load rules": read - imported,
                "compile": compiled - read, "evaluate": done - compiled},
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))
    return 0


def run_kept(cmd: list[str], env: dict[str, str], out: Path) -> Run:
    """``run_process`` with standard output kept in ``out`` (the JSON each side prints)."""
    started = time.perf_counter()
    with out.open("w", encoding="utf-8") as handle:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=handle,
                                stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # so Popen does not wait again
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode)


def _kept(out: Path) -> dict[str, Any]:
    """The JSON a run printed (its last run's), or {}."""
    text = out.read_text(encoding="utf-8").strip() if out.exists() else ""
    return json.loads(text[text.index("{"):]) if "{" in text else {}


def _row(name: str, runs: list[Run], peer: list[Run]) -> str:
    def med(values: list[float]) -> str:
        return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"

    ratios = [a.wall / b.wall for a, b in zip(runs, peer)]
    cpu_ratios = [a.cpu / b.cpu for a, b in zip(runs, peer)]
    return (f"| {name} | {med([r.wall for r in runs])} | {med([r.cpu for r in runs])} "
            f"| {max(r.maxrss_mb for r in runs):.0f} | {statistics.median(ratios):.3f} "
            f"({min(ratios):.3f}-{max(ratios):.3f}) | {statistics.median(cpu_ratios):.3f} "
            f"| {sorted({r.returncode for r in runs})} |")


def measure(rules: Path, events: Path, count: int, args: argparse.Namespace,
            env: dict[str, str]) -> list[str]:
    """The Markdown lines of one rules directory."""
    # The tree this script is in (run from ROOT), whatever sigport the virtualenv installed.
    backtest = [sys.executable, "-m", "converter.cli", "backtest", str(rules), "--events", str(events), "--workers",
                str(args.workers), "--format", "json"]
    reference = [sys.executable, str(Path(__file__)), "--child-reference", str(rules),
                 str(events)]
    peer = [str(args.peer_python), str(ROOT / "bench" / "peer.py"), str(rules), str(events)]
    scratch = events.parent
    cold_cache, warm_cache = scratch / "cache-cold", scratch / "cache-warm"
    shutil.rmtree(warm_cache, ignore_errors=True)

    def cold() -> Run:
        # A fresh, empty cache directory every run: every rule converted and parsed (and its
        # entry written), as the first backtest of these rules with this sigport.
        return run_kept(backtest, cached_env(env, cold_cache, fresh=True),
                        scratch / "backtest-cold.json")

    def warm() -> Run:
        return run_kept(backtest, cached_env(env, warm_cache, fresh=False),
                        scratch / "backtest-warm.json")

    commands: dict[str, Callable[[], Run]] = {
        "backtest-cold": cold, "backtest-warm": warm,
        **{name: functools.partial(run_kept, cmd, env, scratch / f"{name}.json")
           for name, cmd in (("reference", reference), ("peer", peer))},
    }
    warm()  # untimed, always: fills the warm cache (what an earlier run of these rules left)
    runs = alternate(commands, args.runs, warm_up=args.warm_up)
    info = {name: _kept(scratch / f"{name}.json") for name in commands}
    files = sum(1 for _ in rules.rglob("*.yml"))
    lines = [
        f"### `{rules.relative_to(CORPUS) if rules.is_relative_to(CORPUS) else rules}` "
        f"({files} rule files), {count:,} events",
        "",
        "| command | wall s | CPU s | peak RSS MiB | wall / peer | CPU / peer | exit codes |",
        "|---|---|---|---|---|---|---|",
        _row(f"sigport backtest, every target, {args.workers} workers, **cold** (empty cache)",
             runs["backtest-cold"], runs["peer"]),
        _row(f"sigport backtest, every target, {args.workers} workers, **warm** (cache filled "
             "by an earlier run)", runs["backtest-warm"], runs["peer"]),
        _row("sigport reference alone, 1 process", runs["reference"], runs["peer"]),
        _row("peer (pySigma 2 SQLite, reference only)", runs["peer"], runs["peer"]),
        "",
    ]
    bt, ref, peer_info = info["backtest-cold"], info["reference"], info["peer"]

    def split(report: dict[str, Any]) -> str:
        phases = report.get("phases_s", {})
        return (", ".join(f"{k} {v:.2f}" for k, v in sorted(phases.items()))
                + f" (sum {sum(phases.values()):.2f}; loading the rules in the parent: "
                f"{report.get('prepare_s', 0):.2f} s wall)")

    same = ({k: v for k, v in bt.items() if k not in TIMING}
            == {k: v for k, v in info["backtest-warm"].items() if k not in TIMING})
    lines.append(
        "CPU seconds per phase (each side's own report of its last run): backtest workers, "
        f"cold: {split(bt)}; warm: {split(info['backtest-warm'])}; reference alone "
        + ", ".join(f"{k} {v:.2f}" for k, v in ref.get("cpu", {}).items())
        + "; peer " + ", ".join(f"{k} {v:.2f}" for k, v in peer_info.get("cpu", {}).items())
        + "."
    )
    reached = sum(1 for r in bt.get("rules", []) if r["events"])
    ref_hits = sum(r["reference"]["hits"] or 0 for r in bt.get("rules", []))
    lines.append("")
    lines.append(
        f"Hits: the backtest's reference {ref_hits} (rules reached by an event of their "
        f"logsource: {reached} of {len(bt.get('rules', []))}), the reference alone "
        f"{ref.get('hits')}, the peer {peer_info.get('hits')} over {peer_info.get('queries')} "
        f"queries ({peer_info.get('refused')} rules pySigma 2 refused, "
        f"{peer_info.get('failed')} queries SQLite refused). The peer applies no logsource "
        "(as Zircolite), so its hits include events outside a rule's logsource. The cold and "
        "warm backtest reports are " + ("equal" if same else "**different**") + " once the "
        "timing fields are removed."
    )
    lines.append("")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, export the events, run the alternated measurements, print Markdown."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rules", type=Path, action="append")
    parser.add_argument("--events", type=Path, action="append")
    parser.add_argument("--peer-python", type=Path, default=None,
                        help=f"the peer's Python (default: ${PEER_ENV}, else {PEER_PYTHON})")
    parser.add_argument("--scratch", type=Path, default=None)
    parser.add_argument("--no-warm-up", dest="warm_up", action="store_false",
                        help="no untimed first run of each command (runs of minutes)")
    parser.add_argument("--child-reference", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_reference:
        return child_reference(*args.child_reference)
    args.peer_python = peer_python(args.peer_python)
    if not args.peer_python.exists():
        print(f"the peer's virtualenv is missing ({args.peer_python}); see bench/README.md",
              file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(dir=args.scratch) as tmp:
        scratch = Path(tmp)
        events = scratch / "events.jsonl"
        count = export_events(list(args.events or DEFAULT_EVENTS), events)
        env = bytecode_env(scratch)
        load_before = " / ".join(f"{x:.2f}" for x in os.getloadavg())
        out = []
        for rules in args.rules or DEFAULT_RULES:
            out += measure(rules, events, count, args, env)
        load_after = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    warm = "after one warm-up each" if args.warm_up else "no warm-up"
    print(f"{args.runs} runs per command, alternated, {warm}; medians "
          f"(min-max); ratios pair by pair. Load average (1/5/15 min) before: {load_before}; "
          f"after: {load_after}.\n")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
