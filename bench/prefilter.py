"""How sharp the backtest's prefilter is: compiled-query runs against hits, per target.

Run from the project root with the project's virtualenv (a warm persistent cache makes it quick;
``SIGPORT_CACHE_DIR`` chooses it)::

    python bench/prefilter.py RULES EVENTS [--shards N]

It runs the backtest's engines in this one process (shard ``k`` of ``N`` after the other, over
the same routed batches the parent would send) and counts, for every rule/target slot, how often
its compiled predicate was called and how often it matched. Every call without a match is an
event the prefilter let through in vain: fewer runs for the same hits is a sharper prefilter
(issue 17; a sound prefilter never changes a hit, which the backtest tests prove). It also
prints how many trees were compiled and the engines' CPU per phase.

The counting wraps ``Engine._pred``, an internal method of ``converter.backtesting.engine``; a
rename there breaks this script, not the tool. Nothing is asserted (BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def count(rules: str, events: str, shards: int) -> tuple[Counter, Counter, Counter]:
    """Runs and hits per (rule, target) slot, and the engines' CPU seconds per phase."""
    import converter.backtesting.engine as engine
    from converter.backtesting import run
    from converter.backtesting.prepare import BacktestOptions, checker_for, load, rules_store
    from converter.events.inputs import InputLimits

    runs: Counter = Counter()
    hits: Counter = Counter()
    plain = engine.Engine._pred

    def counted_pred(self: Any, slot: Any, delta: Any, group: Any) -> Any:
        pred = plain(self, slot, delta, group)
        if pred is None:
            return None

        def counted(view: Any) -> Any:
            verdict = pred(view)
            runs[slot] += 1
            if verdict is True:
                hits[slot] += 1
            return verdict
        return counted

    engine.Engine._pred = counted_pred  # type: ignore[method-assign]
    options = BacktestOptions(None, (), None, None, run.MAX_EXAMPLES, True, True)
    checker = checker_for(options)
    options = replace(options, targets=tuple(checker.targets))
    prepared = load([rules], rules_store(options))
    batches = [batch for _, batch in
               run._routed(run._batches([events], None, InputLimits()), prepared)]
    phases: Counter = Counter()
    for shard in range(shards):
        shard_engine = engine.Engine(prepared, options, (shard, shards), checker)
        for batch in batches:
            phases.update(shard_engine.run(batch)["phases"])
    return runs, hits, phases


def main() -> None:
    """Command line: one rules path, one events file; prints a table per target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rules")
    parser.add_argument("events")
    parser.add_argument("--shards", type=int, default=2)
    args = parser.parse_args()
    started = time.process_time()
    runs, hits, phases = count(args.rules, args.events, args.shards)
    per_target: dict[str, list[int]] = {}
    for (_, target), n in runs.items():
        row = per_target.setdefault(target, [0, 0, 0])
        row[0] += n
        row[1] += hits[(_, target)]
        row[2] += 1
    print(f"{'target':12s} {'runs':>8s} {'hits':>6s} {'slots run':>9s}")
    for target, (n, h, slots) in sorted(per_target.items()):
        print(f"{target:12s} {n:8d} {h:6d} {slots:9d}")
    print(f"{'all':12s} {sum(runs.values()):8d} {sum(hits.values()):6d} {len(runs):9d}")
    print("phases (CPU s):", {k: round(v, 2) for k, v in sorted(phases.items())})
    print(f"CPU {time.process_time() - started:.2f} s")


if __name__ == "__main__":
    main()
