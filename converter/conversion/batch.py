"""Converting a rule corpus on every core: load and convert in worker processes, in input order.

``convert_paths`` is the batch counterpart of ``load_rules`` + ``convert_all``: the same statuses,
reasons, queries and warnings, in the same order (rule order, then target order), computed by a
pool of worker processes that each read, parse and convert a chunk of files.

What makes it fast, measured on the SigmaHQ Windows process_creation rules (see BENCHMARKS.md):

- Loading runs in the workers too: parsing YAML and building pySigma rules costs as much as
  converting them, so a parallel conversion behind a serial load would gain little.
- Each worker builds one ``Converter`` per target once (pool initializer); with the ``fork`` start
  method the workers inherit the parent's imported modules and its already built converters, so
  nothing is imported or built twice. The parent freezes its objects (``gc.freeze``) while it
  forks: the workers' garbage collector then never walks the inherited objects, nor writes to
  (and so copies) the memory pages they share with the parent.
- Chunks shrink toward the end of the input, so both workers finish at about the same time.
- A rule is copied only for the targets before its last: pipelines mutate the rule they process,
  and the last target may consume the worker's own parsed rule. Those copies are a pickle round
  trip, cheaper than ``copy.deepcopy`` of a ``SigmaRule``.
- Results travel back without the pySigma rule: a ``Conversion`` from this path carries a small
  picklable ``RuleMeta`` in ``rule``, with exactly the metadata the output formats read.
- ``on_file`` hands each file's conversions to the caller as soon as they are in order, so the
  output files can be written while the workers convert the rest.

- Each file's results are kept in the persistent cache (``converter.conversion.cache``, keyed by
  the file's path and content and the configuration, ``filecache.py``): a later run reads them
  back instead of loading and converting the file again (``cache=False`` or ``SIGPORT_NO_CACHE``
  turns it off). The parent reads every stored result back first, before it builds a converter
  or starts a worker; only the files not found are converted, so a run over unchanged rules
  imports no pySigma and forks nothing (warm SigmaHQ ``rules/`` to EQL: see BENCHMARKS.md).

One failing rule never stops the batch: a rule that does not load, or a file that breaks a worker,
becomes entries with status ``error``.

This module is the parent's side (chunks, the pool, results in input order); a worker's side
(its converters, one file) is ``worker.py``, the picklable results ``meta.py``.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import sys
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterable, Sequence, TypeVar

from converter.conversion.filecache import FileResult, WorkItem, open_store, read_back
from converter.conversion.meta import RuleSummary
from converter.conversion.result import Conversion
from converter.rules.paths import STDIN, expand_paths, read_stdin

# The workers' side (``worker.py``: converters, pySigma) is imported only when some file is not
# in the cache: a run that reads every result back imports none of it.

T = TypeVar("T")

#: Below this many files the pool costs more than it saves; the batch runs in this process.
MIN_FILES_FOR_POOL = 16

#: Most files a worker takes at once. Small enough to keep both cores busy to the end and the
#: progress bar moving, large enough that dispatch costs nothing next to ~5 ms per file.
MAX_CHUNK = 32


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel what is queued and terminate the workers, without waiting for their chunks.

    The pool's manager thread is not waited for: a worker killed while sending a result leaves
    it blocked on the rest of that message (``converter.signals.exit_after_interrupt``).
    """
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join(timeout=5)


def _mp_context() -> Any:
    """``fork`` on Linux (workers inherit imports and converters), the platform default elsewhere.

    macOS offers fork but it is unsafe there with system frameworks, which is why Python made
    spawn its default; Python 3.14 moved Linux to forkserver, which would import pySigma again in
    every worker for no benefit here.
    """
    if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def _chunks(items: list[T], workers: int) -> list[list[T]]:
    """Chunks that shrink toward the end of the input ("guided" scheduling).

    Each chunk takes about an eighth of a worker's share of the files not yet handed out, at
    most ``MAX_CHUNK``: few dispatches while much remains, and chunks of one or two files at
    the end, so that no worker is left converting a large last chunk while the other idles.
    """
    out = []
    start = 0
    while start < len(items):
        size = max(1, min(MAX_CHUNK, (len(items) - start) // (workers * 8)))
        out.append(items[start : start + size])
        start += size
    return out


#: Files the parent reads back from the cache before it hands the rest to the workers unread: a
#: run that misses this many files in a row is taken for a cold one (see ``_read_back``).
MISSES_BEFORE_POOL = 16


def work_items(paths: Iterable[str], listed: bool = False) -> list[WorkItem]:
    """The inputs as work items, standard input read here (workers cannot read it).

    ``listed``: ``paths`` is already ``expand_paths``' list (the command line lists its inputs
    for the progress bar; a second listing costs the parent 0.05 s on SigmaHQ ``rules/`` before
    any worker starts, and could see other files than the first).

    Raises:
        RuleLoadError: a named path does not exist.
    """
    items: list[WorkItem] = []
    for path in (paths if listed else expand_paths(paths)):
        if path == STDIN:
            items.append(("<stdin>", read_stdin()))
        else:
            items.append((path, None))
    return items


class _Results:
    """Per-file results filled in any order, handed to ``on_file`` in input order."""

    def __init__(
        self,
        count: int,
        progress: Callable[[int], Any] | None,
        on_file: Callable[[list[Conversion]], Any] | None,
    ) -> None:
        """``count`` files; ``progress`` and ``on_file`` as for ``convert_paths``."""
        self.slots: list[FileResult | None] = [None] * count
        self.progress = progress
        self.on_file = on_file
        self.emitted = 0  # files before this index were handed to on_file

    def put(self, indices: Sequence[int], results: list[FileResult]) -> None:
        """Store the results of the files at ``indices`` (one result each, in that order)."""
        for index, result in zip(indices, results, strict=True):
            self.slots[index] = result
        if self.progress is not None:
            self.progress(len(results))
        if self.on_file is not None:
            while self.emitted < len(self.slots):
                ready = self.slots[self.emitted]
                if ready is None:
                    break
                self.on_file(ready[1])
                self.emitted += 1

    def collect(self) -> tuple[list[RuleSummary], list[Conversion]]:
        """Every summary and every conversion, in input order."""
        summaries: list[RuleSummary] = []
        conversions: list[Conversion] = []
        for result in self.slots:
            assert result is not None
            summaries.extend(result[0])
            conversions.extend(result[1])
        return summaries, conversions


def convert_paths(
    paths: Iterable[str],
    targets: Sequence[str],
    pipelines: Sequence[str] | None = None,
    options: dict[str, Any] | None = None,
    workers: int = 2,
    progress: Callable[[int], Any] | None = None,
    on_file: Callable[[list[Conversion]], Any] | None = None,
    alternatives: bool = False,
    cache: bool = True,
    listed: bool = False,
) -> tuple[list[RuleSummary], list[Conversion]]:
    """Load and convert every rule under ``paths`` for every target, on ``workers`` processes.

    The result is what ``load_rules`` + ``convert_all`` give (one summary per loaded rule or
    failure; conversions in rule order then target order), except that each ``Conversion.rule``
    is a ``RuleMeta``, enough for every output format.

    Args:
        paths: files, directories (searched recursively) or ``-`` for standard input.
        targets: target names.
        pipelines: pipeline names or files, as for ``Converter``.
        options: pipeline options (e.g. ``{"data_source": "windows"}``).
        workers: worker processes; 1 (or fewer than ``MIN_FILES_FOR_POOL`` files) runs here.
        progress: called with the number of input files just finished (the total is
            ``len(list(expand_paths(paths)))``), for a progress bar.
        on_file: called in this process with each input file's conversions, in input order,
            as soon as that file and every file before it are done: output can be written while
            the workers convert the rest (``converter.outputs.formats.TreeWriter.write``).
        alternatives: also try each rule refused on the data source in force on the table's
            other data sources, in the workers, and record where it converts
            (``Conversion.alternatives``, read by ``other_data_sources`` for the summary hint).
        cache: read and write each file's results in the persistent cache
            (``converter.conversion.cache``; also off when ``SIGPORT_NO_CACHE`` is set).
        listed: ``paths`` is ``expand_paths``' list already (``work_items``).

    Raises:
        UnknownTargetError, PipelineError: before any rule is converted.
        RuleLoadError: a named path does not exist.
    """
    items = work_items(paths, listed)
    results = _Results(len(items), progress, on_file)
    todo = list(range(len(items)))
    if cache:
        from converter.conversion.cache import code_fingerprint

        code_fingerprint()  # hashed once here, before the worker processes fork
        store = open_store(targets, pipelines, options, alternatives)
        if store is not None:
            todo = _read_back(items, store, results)
    if not todo:
        return results.collect()
    from converter.conversion.worker import ensure_state, fewer_collections, process_file

    # Built here first: bad targets or pipelines fail before any work, and forked workers
    # inherit these converters instead of building their own.
    state = ensure_state(targets, pipelines, options, alternatives, cache)

    def run_here(chunk: list[int]) -> None:
        for index in chunk:
            path, text = items[index]
            results.put([index], [process_file(path, text, state)])

    # Forked workers inherit the collector's thresholds of this block.
    with fewer_collections():
        if workers <= 1 or len(todo) < MIN_FILES_FOR_POOL:
            run_here(todo)
        else:
            _run_pool(items, todo, targets, pipelines, options, workers, results, run_here,
                      alternatives, cache)
    return results.collect()


def _read_back(items: list[WorkItem], store: Any, results: _Results) -> list[int]:
    """Put the results an earlier run stored into ``results``; the indices of the files left.

    Every file an earlier run stored is read back here, before anything is built: a run over
    unchanged rules imports no pySigma and starts no worker. An entry exists only if a run with
    this configuration and this sigport built its converters, so the targets and pipelines are
    known to be good. After ``MISSES_BEFORE_POOL`` files in a row not found, the run is taken
    for a cold one and the files after them are left unread: each is looked up by the process
    that converts it (``worker.process_file``, which returns a stored result as this loop
    would), so a cold run does not read and hash every file here once more, serially, before
    the first worker starts (0.23 CPU s over SigmaHQ ``rules/``, see BENCHMARKS.md).
    """
    todo: list[int] = []
    misses = 0
    for index, (path, text) in enumerate(items):
        if misses >= MISSES_BEFORE_POOL:
            todo.extend(range(index, len(items)))
            break
        found = read_back(path, text, store)
        if found is None:
            todo.append(index)
            misses += 1
        else:
            results.put([index], [found])
            misses = 0
    return todo


def _run_pool(
    items: list[WorkItem],
    todo: list[int],
    targets: Sequence[str],
    pipelines: Sequence[str] | None,
    options: dict[str, Any] | None,
    workers: int,
    results: _Results,
    run_here: Callable[[list[int]], None],
    alternatives: bool = False,
    cache: bool = True,
) -> None:
    """Fill ``results`` for the files at indices ``todo`` from a process pool; chunks a dead
    worker took are redone here."""
    from converter.conversion.worker import init_worker, run_chunk

    chunks = _chunks(todo, workers)
    pending: dict[Future[list[bytes]], int] = {}
    redo: list[int] = []
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_mp_context(),
        initializer=init_worker,
        initargs=(list(targets), list(pipelines or ()), options, os.getpid(), alternatives,
                  cache),
    )
    try:
        # The first submit forks the workers. Objects that exist now (modules, converters)
        # live as long as the workers do: frozen, their collector never walks them, nor
        # touches (and so copies) the memory pages they share with this process.
        gc.freeze()
        try:
            for index, chunk in enumerate(chunks):
                pending[pool.submit(run_chunk, [items[i] for i in chunk])] = index
        finally:
            gc.unfreeze()
        for future in as_completed(pending):
            index = pending[future]
            try:
                # Each file's result comes pickled (``worker.run_chunk``).
                chunk_results = [pickle.loads(data) for data in future.result()]
            except (BrokenProcessPool, pickle.PicklingError, pickle.UnpicklingError, OSError):
                # A worker died (killed, out of memory, a crash in a C extension), taking every
                # chunk it had not returned, or a result could not travel back. Redo those chunks
                # in this process rather than report innocent files as failed.
                redo.append(index)
                continue
            results.put(chunks[index], chunk_results)
    except BaseException:
        # Interrupted (SIGINT/SIGTERM) or a failure here, e.g. writing an output file: stop the
        # workers now. Leaving the pool by ``with`` would wait for every queued chunk.
        _stop_pool(pool)
        raise
    pool.shutdown(wait=True)
    for index in sorted(redo):
        run_here(chunks[index])
