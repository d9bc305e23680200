"""One worker process of a batch conversion: its converters, built once per configuration, and
the conversion of one input file (loaded here, read back from the persistent cache when an
earlier run stored it, never raising). ``converter.conversion.batch`` runs these in a pool.
"""

from __future__ import annotations

import gc
import os
import pickle
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from converter.conversion.cache import Store
from converter.conversion.convert import ERROR, Conversion, Converter, convert_each
from converter.conversion.datasource import AlternativeSources
from converter.conversion.filecache import (
    FileResult,
    WorkItem,
    file_key,
    is_file_result,
    open_store,
    store_context,
)
from converter.conversion.meta import RuleMeta, RuleSummary
from converter.errors import RuleLoadError, show_traceback
from converter.rules.paths import read_regular_file
from converter.rules.load import LoadedRule, load_rules, load_text
from converter.rules.paths import decode
from converter.signals import die_with_parent


#: The cyclic collector's youngest-generation threshold while a batch converts (Python's: 700).
YOUNG_COLLECTIONS = 10_000


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the block with the collector's first threshold at ``YOUNG_COLLECTIONS`` (never
    lowered, never turned on when the caller turned it off), then restore the caller's.

    Loading and converting a rule allocates tens of thousands of objects that die with it, many
    in cycles (pySigma's parent links): at 700 the collector ran about 1,800 times over SigmaHQ
    ``rules/`` and took 1.1 of ~9 CPU s of a serial EQL conversion (timed with ``gc.callbacks``,
    bench/conversion.py --phases); at 10,000 it runs about 190 times (0.5-0.7 s). A larger
    threshold is slower again here (50,000: 1.7 s; the young generation no longer fits the CPU's
    caches), unlike a backtest, whose objects mostly live on (``backtesting.run``). Garbage is
    still collected, in larger steps: memory stays bounded, and no output depends on when.
    """
    saved = _raise_young_threshold()
    try:
        yield
    finally:
        gc.set_threshold(*saved)


def _raise_young_threshold() -> tuple[int, int, int]:
    """Raise the collector's first threshold to ``YOUNG_COLLECTIONS`` (see
    ``fewer_collections``); the thresholds before."""
    saved = gc.get_threshold()
    if 0 < saved[0] < YOUNG_COLLECTIONS:
        gc.set_threshold(YOUNG_COLLECTIONS, *saved[1:])
    return saved


@dataclass
class WorkerState:
    """The converters of one configuration in one process, and what they share."""

    key: tuple[Any, ...]
    converters: list[Converter]
    #: Tries refused rules on the other data sources (``alternatives=True``), or None.
    alternatives: AlternativeSources | None = None
    #: The persistent cache of per-file results, or None (off, or no usable directory).
    store: Store | None = None


#: The converters of this process. Set in the parent before the pool forks, so forked workers
#: inherit them; a spawned worker builds its own in ``init_worker``.
_STATE: WorkerState | None = None


def _key(targets: Sequence[str], pipelines: Sequence[str] | None, options: Any,
         alternatives: bool = False, cache: bool = True) -> tuple[Any, ...]:
    # Pipeline and mapping files count by their content: converters built from an older
    # version of a file are not reused (nor is the cache context that names it).
    return (tuple(targets), tuple(pipelines or ()), repr(sorted((options or {}).items())),
            tuple(store_context(targets, pipelines, options, alternatives)), cache)


def ensure_state(
    targets: Sequence[str], pipelines: Sequence[str] | None, options: dict[str, Any] | None,
    alternatives: bool = False, cache: bool = True,
) -> WorkerState:
    """This process's converters for the configuration, built once."""
    global _STATE
    key = _key(targets, pipelines, options, alternatives, cache)
    if _STATE is None or _STATE.key != key:
        pipes = list(pipelines) if pipelines else None
        others = None
        if alternatives:
            others = AlternativeSources(list(targets), pipes, (options or {}).get("data_source"))
        store = open_store(targets, pipelines, options, alternatives) if cache else None
        _STATE = WorkerState(key, [Converter(t, pipes, options) for t in targets], others, store)
    return _STATE


def init_worker(
    targets: Sequence[str],
    pipelines: Sequence[str] | None,
    options: dict[str, Any] | None,
    parent: int | None = None,
    alternatives: bool = False,
    cache: bool = True,
) -> None:
    """Pool initializer: die with the parent process ``parent`` (no orphan holds the output
    pipes), then reuse inherited converters (fork) or build them (spawn, forkserver)."""
    if parent is not None:
        die_with_parent(parent)
    # A forked worker inherits the parent's thresholds (``fewer_collections`` in the batch); a
    # spawned one starts with Python's. A worker converts until the pool ends: never restored.
    _raise_young_threshold()
    ensure_state(targets, pipelines, options, alternatives, cache)


def freeze(conversion: Conversion) -> Conversion:
    """The conversion with its pySigma rule replaced by picklable metadata."""
    if conversion.rule is not None and not isinstance(conversion.rule, RuleMeta):
        conversion.rule = RuleMeta.of(conversion.rule)
    return conversion


def _convert_loaded(item: LoadedRule, converters: list[Converter]) -> list[Conversion]:
    """One rule for every target, copying the rule only for targets before the last."""
    return [freeze(c) for c in convert_each(item, converters)]


def load_input(path: str, text: str | None) -> list[LoadedRule]:
    """The rules of one input, as ``load_rules`` gives them."""
    if text is not None:
        return load_text(text, path)
    # Opened without blocking, so a path that became a FIFO since it was listed is not waited on.
    data = read_regular_file(path, os.O_NONBLOCK)
    if data is not None:
        # What load_rules does for a regular file, without expanding the one path again (two
        # stat calls and pathlib objects per file).
        return load_text(decode(data), path)
    try:
        return load_rules([path])
    except RuleLoadError as exc:  # the file vanished since the paths were expanded
        return [LoadedRule(path, None, exc)]


def _failure(path: str, message: str, targets: Sequence[str]) -> FileResult:
    """Entries for a file whose processing failed outside the loader and converter."""
    error = RuleLoadError(message, path=path)
    summary = RuleSummary(path, "", "", error)
    conversions = [
        Conversion(path=path, id="", title="", target=t, status=ERROR, reason=error.one_line())
        for t in targets
    ]
    return [summary], conversions


def process_file(path: str, text: str | None, state: WorkerState) -> FileResult:
    """Load one file and convert its rules for every target (or read back what an earlier run
    stored for the same file and configuration); never raises."""
    return _process(path, text, state)[0]


def _process(path: str, text: str | None, state: WorkerState) -> tuple[FileResult, bytes | None]:
    """``process_file``'s result, and its pickle when one was made to store it (else None)."""
    entry = None if state.store is None else file_key(path, text, state.store)
    key = None
    if entry is not None and state.store is not None:
        key, text = entry
        cached = state.store.get(key)
        if is_file_result(cached):
            return cached, None
    try:
        result = convert_file(path, text, state)
    except Exception as exc:  # a bug must cost one file, not the batch
        show_traceback(exc, f"on {path}")
        targets = [c.spec.name for c in state.converters]
        return _failure(path, f"internal error: {type(exc).__name__}: {exc}", targets), None
    data = None
    if key is not None and state.store is not None and not _internal_error(result):
        data = state.store.put(key, result)
    return result, data


def _internal_error(result: FileResult) -> bool:
    """Whether a conversion of the file met a bug (never stored: a later run tries again)."""
    return any(c.status == ERROR and "internal error" in (c.reason or "") for c in result[1])


def convert_file(path: str, text: str | None, state: WorkerState) -> FileResult:
    """Load one file and convert its rules for every target (``process_file`` without the
    cache and without the guard against bugs)."""
    summaries: list[RuleSummary] = []
    conversions: list[Conversion] = []
    for item in load_input(path, text):
        summaries.append(RuleSummary.of(item))
        conversions.extend(_convert_loaded(item, state.converters))
    if state.alternatives is not None:
        try:
            try_alternatives(path, text, conversions, len(state.converters), state.alternatives)
        except Exception:  # noqa: BLE001 - only a hint: the parent tries these itself
            for c in conversions:
                c.alternatives = None
    return summaries, conversions


def try_alternatives(path: str, text: str | None, conversions: list[Conversion], per_rule: int,
                      others: AlternativeSources) -> None:
    """Fill ``alternatives`` of the file's conversions refused on the data source in force.

    The conversions consumed the parsed rules (pipelines mutate them), so the file is loaded
    once more, only when some refusal is worth trying on another data source: the same work
    the parent would do after the batch (``other_data_sources``), but in the worker.
    """
    todo = [i for i, c in enumerate(conversions) if others.wanted(c)]
    for c in conversions:
        c.alternatives = ()
    if not todo:
        return
    fresh = load_input(path, text)
    by_rule: dict[int, list[int]] = {}
    for i in todo:
        by_rule.setdefault(i // per_rule, []).append(i)
    for number, indices in by_rule.items():
        # Each reloaded rule is used here once, for all its refusals: it may be consumed.
        found = others.try_rules([conversions[i] for i in indices], fresh[number])
        for i, alternatives in zip(indices, found):
            conversions[i].alternatives = alternatives


def run_chunk(chunk: list[WorkItem]) -> list[bytes]:
    """Worker entry point: every file of a chunk, in order, each result pickled (the parent
    unpickles each with ``pickle.loads``).

    A result the cache stored travels as the very pickle stored: pickled once for both, where
    the pool would pickle the results again to send them (a sixth of a cold run's pickling
    and storing cost, see BENCHMARKS.md).
    """
    assert _STATE is not None, "worker used without its initializer"
    out = []
    for path, text in chunk:
        result, data = _process(path, text, _STATE)
        out.append(data if data is not None else pickle.dumps(result, pickle.HIGHEST_PROTOCOL))
    return out
