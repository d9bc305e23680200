"""The backtest's parent process on its own: where its wall and CPU time go.

Run from the project root with the project's virtualenv (a warm persistent cache makes the
figures those of a warm backtest; ``SIGPORT_CACHE_DIR`` chooses it)::

    python bench/parent.py timeline RULES EVENTS [--workers N]
    python bench/parent.py stream RULES EVENTS

``timeline`` runs ``converter.api.backtest`` and writes the JSON report as ``sigport backtest
--format json`` does (to /dev/null), printing the wall time and the parent's own CPU time at
each point: imports done, rules loaded, shards forked, first and last batch back, report
written. The points are taken by wrapping the functions the run calls, so the run itself is
the one the CLI makes.

``stream`` does only the parent's share of the work, with no shards: read and normalise the
events, route them, render every schema and pickle each batch as it is handed to a shard; then
unpickle every payload once, as the shards do. It prints the CPU seconds of each and the bytes
pickled.

These read internal functions of ``converter.backtesting`` (``run.load``, ``run.run_sharded``,
``run._batches``, ``_routed``, ``_rendered``, ``workers.before_fork``): a rename there breaks
this script, not the tool. Nothing is asserted; compare runs on one machine (BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

START = time.perf_counter()
Mark = tuple[str, float, float]


def _mark(marks: list[Mark], what: str) -> None:
    times = os.times()
    marks.append((what, time.perf_counter() - START, times.user + times.system))


def timeline(rules: str, events: str, workers: int) -> list[Mark]:
    """Wall and parent CPU at each point of one backtest run and its JSON report."""
    marks: list[Mark] = []
    from converter.api import BACKTEST_SCHEMA_VERSION, backtest
    import converter.backtesting.run as run
    import converter.backtesting.workers as shard_workers
    from converter.cli.backtest import _write_json
    _mark(marks, "imports")

    load, sharded, before_fork = run.load, run.run_sharded, shard_workers.before_fork

    def timed_load(*args: Any, **kwargs: Any) -> Any:
        _mark(marks, "load start")
        out = load(*args, **kwargs)
        _mark(marks, "load end")
        return out

    def timed_sharded(*args: Any, **kwargs: Any) -> Iterator[Any]:
        _mark(marks, "shards start")
        first = True
        for item in sharded(*args, **kwargs):
            if first:
                _mark(marks, "first batch back")
                first = False
            yield item
        _mark(marks, "last batch back")

    def timed_fork(*args: Any, **kwargs: Any) -> Any:
        out = before_fork(*args, **kwargs)
        _mark(marks, "forking")
        return out

    run.load, run.run_sharded = timed_load, timed_sharded  # type: ignore[assignment]
    shard_workers.before_fork = timed_fork  # type: ignore[assignment]
    report = backtest([rules], [events], workers=workers)
    _mark(marks, "run end")
    with open(os.devnull, "w", encoding="utf-8") as sink, run.fewer_collections():
        _write_json({"schema_version": BACKTEST_SCHEMA_VERSION, **report.to_json()}, sink.write)
    _mark(marks, "report written")
    print(f"phases_s {report.phases_s}")
    return marks


def stream(rules: str, events: str) -> dict[str, float]:
    """CPU seconds of the parent's streaming work alone and of the shards' unpickling."""
    from converter.backtesting.prepare import BacktestOptions, checker_for, load, rules_store
    from converter.backtesting.run import _batches, _rendered, _routed, fewer_collections
    from converter.events.inputs import InputLimits

    clock: Callable[[], float] = time.process_time
    options = BacktestOptions(None, (), None, None, 5, True, True)
    checker = checker_for(options)
    options = replace(options, targets=tuple(checker.targets))
    prepared = load([rules], rules_store(options))
    phases: defaultdict[str, float] = defaultdict(float)
    with fewer_collections():
        started = clock()
        batches = _rendered(_routed(_batches([events], None, InputLimits()), prepared),
                            checker, phases, prepared)
        payloads = [pickle.dumps(batch, 5) for _, batch in batches]
        streamed = clock() - started
        started = clock()
        for payload in payloads:
            pickle.loads(payload)
        unpickled = clock() - started
    return {"stream_cpu_s": streamed, "render_cpu_s": phases["render"],
            "unpickle_cpu_s": unpickled, "pickled_mb": sum(map(len, payloads)) / 1e6}


def main() -> None:
    """Command line: ``timeline`` or ``stream`` over one rules path and one events file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("timeline", "stream"))
    parser.add_argument("rules")
    parser.add_argument("events")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if args.mode == "timeline":
        for what, wall, cpu in timeline(args.rules, args.events, args.workers):
            print(f"{what:18s} wall {wall:6.2f} s  parent CPU {cpu:6.2f} s")
    else:
        for key, value in stream(args.rules, args.events).items():
            print(f"{key:15s} {value:8.3f}")
    print(f"load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
