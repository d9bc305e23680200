"""The backtest's worker processes: one engine (a shard of the rules) per process, every batch
of events sent to every shard.

Splitting by rule rather than by event is what lets each rule be prepared once in the whole run
(``converter.backtesting.engine``): an event-split pool would convert, parse and compile every rule
it meets in every worker. The parent pickles a batch once and hands the same bytes to each shard;
shards answer with count deltas, in batch order per shard. At most ``2 * shards`` batches are in
flight, so memory stays flat however long the input is.
"""

from __future__ import annotations

import gc
import pickle
import queue
from typing import Any, Iterable, Iterator

from converter.backtesting.engine import Engine, before_fork
from converter.backtesting.prepare import BacktestOptions, PreparedRule, pool_context

#: Seconds between liveness checks of the shards while waiting for a result.
POLL_S = 1.0


def _shard_main(rules: list[PreparedRule], options: BacktestOptions, shard: tuple[int, int],
                inbox: Any, outbox: Any, checker: Any) -> None:
    """A shard process: evaluate batches until told to stop (None), report each delta."""
    # What the parent built (the loaded rules, the checker) lives as long as this process: the
    # cyclic collector need not walk it again at every collection, nor touch (and so copy) its
    # pages that fork shares with the parent.
    gc.freeze()
    engine = Engine(rules, options, shard, checker)
    while True:
        message = inbox.get()
        if message is None:
            return
        seq, payload = message
        try:
            outbox.put((shard[0], seq, engine.run(pickle.loads(payload)), None))
        except BaseException as exc:  # noqa: BLE001 - handed to the parent, which raises it
            try:
                pickle.dumps(exc)
            except Exception:  # noqa: BLE001 - an unpicklable exception travels as its text
                exc = RuntimeError(f"{type(exc).__name__}: {exc}")
            outbox.put((shard[0], seq, None, exc))
            return


def run_sharded(rules: list[PreparedRule], options: BacktestOptions, shards: int,
                batches: Iterable[tuple[int, list[Any]]], checker: Any = None,
                prebuilt: Any = None) -> Iterator[tuple[int, int, list[dict[str, Any]]]]:
    """Evaluate ``batches`` (``(events read, the events to evaluate)`` pairs) in ``shards``
    processes; yield ``(batch number, events read, [delta of each shard])`` for each batch once
    every shard has answered, in batch order.

    ``checker`` (the parent's ``Checker``) is handed to forked shards as it is; spawned ones
    build their own rather than unpickle one. ``prebuilt`` is the persistent cache's store of
    prebuilt values (``engine.before_fork``; None when the cache is off).

    Raises:
        whatever a shard raised while evaluating (the first one).
    """
    context = pool_context()
    if context.get_start_method() != "fork":
        checker = None
    else:
        before_fork(prebuilt)
    outbox = context.Queue()
    inboxes = [context.Queue() for _ in range(shards)]
    processes = [context.Process(target=_shard_main, args=(rules, options, (k, shards),
                                                           inboxes[k], outbox, checker),
                                 daemon=True)
                 for k in range(shards)]
    for process in processes:
        process.start()
    waiting: dict[int, tuple[int, list[Any]]] = {}  # batch -> (events, deltas so far)
    try:
        for seq, (read, batch) in enumerate(batches):
            payload = pickle.dumps(batch, pickle.HIGHEST_PROTOCOL)
            waiting[seq] = (read, [])
            for inbox in inboxes:
                inbox.put((seq, payload))
            while len(waiting) > 2:  # bounded in-flight work: the reader never runs far ahead
                yield from _drain(outbox, waiting, processes, shards)
        while waiting:
            yield from _drain(outbox, waiting, processes, shards)
    finally:
        for inbox in inboxes:
            inbox.put(None)
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
        # Every shard has ended: what is still queued for one (the batches after a shard's
        # error, which it never reads) is dropped. Left queued, the queues' feeder threads
        # stayed blocked writing to pipes no one reads, and the process hung at exit, where
        # multiprocessing joins them.
        for inbox in inboxes:
            inbox.cancel_join_thread()
            inbox.close()


def _drain(outbox: Any, waiting: dict[int, tuple[int, list[Any]]], processes: list[Any],
           shards: int) -> Iterator[tuple[int, int, list[dict[str, Any]]]]:
    """Wait for one shard result; yield every batch that is now complete, in order."""
    while True:
        try:
            _shard, seq, delta, error = outbox.get(timeout=POLL_S)
            break
        except queue.Empty:
            dead = [p for p in processes if not p.is_alive()]
            if dead:
                raise RuntimeError(f"a backtest worker process died (exit code "
                                   f"{dead[0].exitcode})") from None
    if error is not None:
        raise error
    waiting[seq][1].append(delta)
    first = min(waiting)
    while first in waiting and len(waiting[first][1]) == shards:
        events, deltas = waiting.pop(first)
        yield first, events, deltas
        first += 1
