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
  the file's path and content and the configuration): a later run reads them back instead of
  loading and converting the file again (``cache=False`` or ``SIGPORT_NO_CACHE`` turns it off).

One failing rule never stops the batch: a rule that does not load, or a file that breaks a worker,
becomes entries with status ``error``.
"""

from __future__ import annotations

import gc
import hashlib
import io
import multiprocessing
import os
import pickle
import sys
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, NamedTuple, Sequence

from converter.conversion.cache import Store, options_context
from converter.conversion.convert import ERROR, Conversion, Converter, convert_each
from converter.conversion.datasource import AlternativeSources
from converter.errors import RuleLoadError
from converter.rules.load import STDIN, LoadedRule, expand_paths, load_rules, load_text
from converter.signals import die_with_parent

#: Below this many files the pool costs more than it saves; the batch runs in this process.
MIN_FILES_FOR_POOL = 16

#: Most files a worker takes at once. Small enough to keep both cores busy to the end and the
#: progress bar moving, large enough that dispatch costs nothing next to ~5 ms per file.
MAX_CHUNK = 32


class RuleTag(NamedTuple):
    """A rule tag (``attack.t1059`` is namespace ``attack``, name ``t1059``)."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}.{self.name}"


class LogsourceMeta(NamedTuple):
    """A rule's logsource (the ``SigmaLogSource`` attributes the output formats read)."""

    product: str | None = None
    category: str | None = None
    service: str | None = None


@dataclass(frozen=True)
class RuleMeta:
    """The metadata of a converted rule that the output formats read, in picklable form.

    The attribute names are the ``SigmaRule`` ones, so ``converter/outputs/formats.py`` renders a
    ``Conversion`` whose ``rule`` is a ``RuleMeta`` exactly as one whose ``rule`` is the rule.
    """

    id: str = ""
    title: str = ""
    description: str | None = None
    level: Any = None  # sigma's SigmaLevel enum (pickles by name), or None
    tags: tuple[RuleTag, ...] = ()
    custom_attributes: dict[str, Any] = field(default_factory=dict)
    author: str | None = None
    references: tuple[str, ...] = ()
    falsepositives: tuple[str, ...] = ()
    license: str | None = None
    #: The processed rule's detection fields (``converter.outputs.kibana.query_fields``).
    query_fields: tuple[str, ...] = ()
    #: Which mapping table's data source the Kibana rule reads (``converter.outputs.kibana``).
    logsource: LogsourceMeta = LogsourceMeta()

    @classmethod
    def of(cls, rule: Any) -> RuleMeta:
        """The metadata of a pySigma rule (after the pipeline ran: it may set attributes)."""
        from converter.outputs.kibana import query_fields

        return cls(
            id=str(rule.id) if getattr(rule, "id", None) else "",
            title=getattr(rule, "title", None) or "",
            description=getattr(rule, "description", None),
            level=getattr(rule, "level", None),
            tags=tuple(RuleTag(t.namespace, t.name) for t in getattr(rule, "tags", None) or ()),
            custom_attributes=dict(getattr(rule, "custom_attributes", None) or {}),
            author=getattr(rule, "author", None),
            references=tuple(getattr(rule, "references", None) or ()),
            falsepositives=tuple(getattr(rule, "falsepositives", None) or ()),
            license=getattr(rule, "license", None),
            query_fields=query_fields(rule),
            logsource=LogsourceMeta(
                *(getattr(getattr(rule, "logsource", None), k, None)
                  for k in ("product", "category", "service"))
            ),
        )


@dataclass(frozen=True)
class RuleSummary:
    """One loaded rule (or load failure) without the parsed rule: what a batch reports."""

    path: str
    id: str
    title: str
    error: RuleLoadError | None = None

    @classmethod
    def of(cls, loaded: LoadedRule) -> RuleSummary:
        """The summary of a ``LoadedRule``."""
        return cls(loaded.path, loaded.id, loaded.title, loaded.error)


#: One unit of work: (path, text) where text is None for a file the worker reads itself.
WorkItem = tuple[str, "str | None"]
#: What a worker returns per file.
FileResult = tuple[list[RuleSummary], list[Conversion]]


@dataclass
class _WorkerState:
    key: tuple[Any, ...]
    converters: list[Converter]
    #: Tries refused rules on the other data sources (``alternatives=True``), or None.
    alternatives: AlternativeSources | None = None
    #: The persistent cache of per-file results, or None (off, or no usable directory).
    store: Store | None = None


#: The converters of this process. Set in the parent before the pool forks, so forked workers
#: inherit them; a spawned worker builds its own in ``_init_worker``.
_STATE: _WorkerState | None = None


def _key(targets: Sequence[str], pipelines: Sequence[str] | None, options: Any,
         alternatives: bool = False, cache: bool = True) -> tuple[Any, ...]:
    # Pipeline and mapping files count by their content: converters built from an older
    # version of a file are not reused (nor is the cache context that names it).
    return (tuple(targets), tuple(pipelines or ()), repr(sorted((options or {}).items())),
            tuple(options_context(targets, pipelines or (), options)), alternatives, cache)


def _ensure_state(
    targets: Sequence[str], pipelines: Sequence[str] | None, options: dict[str, Any] | None,
    alternatives: bool = False, cache: bool = True,
) -> _WorkerState:
    """This process's converters for the configuration, built once."""
    global _STATE
    key = _key(targets, pipelines, options, alternatives, cache)
    if _STATE is None or _STATE.key != key:
        pipes = list(pipelines) if pipelines else None
        others = None
        if alternatives:
            others = AlternativeSources(list(targets), pipes, (options or {}).get("data_source"))
        store = None
        if cache:
            store = Store("convert", [*key[3], f"alternatives={alternatives}"])
        _STATE = _WorkerState(key, [Converter(t, pipes, options) for t in targets], others,
                              store if store is not None and store.enabled else None)
    return _STATE


def _init_worker(
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
    _ensure_state(targets, pipelines, options, alternatives, cache)


def _freeze(conversion: Conversion) -> Conversion:
    """The conversion with its pySigma rule replaced by picklable metadata."""
    if conversion.rule is not None and not isinstance(conversion.rule, RuleMeta):
        conversion.rule = RuleMeta.of(conversion.rule)
    return conversion


def _convert_loaded(item: LoadedRule, converters: list[Converter]) -> list[Conversion]:
    """One rule for every target, copying the rule only for targets before the last."""
    return [_freeze(c) for c in convert_each(item, converters)]


def _load(path: str, text: str | None) -> list[LoadedRule]:
    """The rules of one input, as ``load_rules`` gives them."""
    if text is not None:
        return load_text(text, path)
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


def _entry(path: str, text: str | None, store: Store) -> tuple[str, str] | None:
    """The cache key of one input (its path and content) and its text, read once here so that
    what is converted is what the key names; None when the file cannot be read or decoded here
    or is too long for the loader (the loader then reads it and reports why, nothing stored)."""
    from converter.rules.limits import MAX_RULE_CHARS

    if text is None:
        limit = 4 * MAX_RULE_CHARS  # UTF-8 bytes of the longest text the loader accepts
        try:
            with open(path, "rb") as handle:
                data = handle.read(limit + 1)
            if len(data) > limit:
                return None
            # As the loader's Path.read_text: UTF-8, universal newlines.
            text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8").read()
        except (OSError, UnicodeDecodeError):
            return None
        kind = "file"
    else:
        kind = "text"
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return store.key(path, kind, digest), text


def _is_file_result(value: Any) -> bool:
    return (isinstance(value, tuple) and len(value) == 2
            and isinstance(value[0], list) and all(isinstance(v, RuleSummary) for v in value[0])
            and isinstance(value[1], list) and all(isinstance(v, Conversion) for v in value[1]))


def _process_file(path: str, text: str | None, state: _WorkerState) -> FileResult:
    """Load one file and convert its rules for every target (or read back what an earlier run
    stored for the same file and configuration); never raises."""
    entry = None if state.store is None else _entry(path, text, state.store)
    key = None
    if entry is not None and state.store is not None:
        key, text = entry
        cached = state.store.get(key)
        if _is_file_result(cached):
            return cached
    try:
        result = _convert_file(path, text, state)
    except Exception as exc:  # a bug must cost one file, not the batch
        targets = [c.spec.name for c in state.converters]
        return _failure(path, f"internal error: {type(exc).__name__}: {exc}", targets)
    if key is not None and state.store is not None and not _internal_error(result):
        state.store.put(key, result)
    return result


def _internal_error(result: FileResult) -> bool:
    """Whether a conversion of the file met a bug (never stored: a later run tries again)."""
    return any(c.status == ERROR and "internal error" in (c.reason or "") for c in result[1])


def _convert_file(path: str, text: str | None, state: _WorkerState) -> FileResult:
    """Load one file and convert its rules for every target (``_process_file`` without the
    cache and without the guard against bugs)."""
    summaries: list[RuleSummary] = []
    conversions: list[Conversion] = []
    for item in _load(path, text):
        summaries.append(RuleSummary.of(item))
        conversions.extend(_convert_loaded(item, state.converters))
    if state.alternatives is not None:
        try:
            _try_alternatives(path, text, conversions, len(state.converters), state.alternatives)
        except Exception:  # noqa: BLE001 - only a hint: the parent tries these itself
            for c in conversions:
                c.alternatives = None
    return summaries, conversions


def _try_alternatives(path: str, text: str | None, conversions: list[Conversion], per_rule: int,
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
    fresh = _load(path, text)
    for i in todo:
        loaded = fresh[i // per_rule]
        conversions[i].alternatives = others.try_rule(conversions[i], loaded)


def _run_chunk(chunk: list[WorkItem]) -> list[FileResult]:
    """Worker entry point: every file of a chunk, in order."""
    assert _STATE is not None, "worker used without its initializer"
    return [_process_file(path, text, _STATE) for path, text in chunk]


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


def _chunks(items: list[WorkItem], workers: int) -> list[list[WorkItem]]:
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


def work_items(paths: Iterable[str]) -> list[WorkItem]:
    """The inputs as work items, standard input read here (workers cannot read it).

    Raises:
        RuleLoadError: a named path does not exist.
    """
    items: list[WorkItem] = []
    for path in expand_paths(paths):
        if path == STDIN:
            items.append(("<stdin>", sys.stdin.read()))
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

    def put(self, start: int, results: list[FileResult]) -> None:
        """Store the results of the files from index ``start`` on."""
        for offset, result in enumerate(results):
            self.slots[start + offset] = result
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

    Raises:
        UnknownTargetError, PipelineError: before any rule is converted.
        RuleLoadError: a named path does not exist.
    """
    # Built here first: bad targets or pipelines fail before any work, and forked workers
    # inherit these converters instead of building their own.
    if cache:
        from converter.conversion.cache import code_fingerprint

        code_fingerprint()  # hashed once here, before the worker processes fork
    state = _ensure_state(targets, pipelines, options, alternatives, cache)
    items = work_items(paths)
    results = _Results(len(items), progress, on_file)

    def run_here(start: int, chunk: list[WorkItem]) -> None:
        for offset, (path, text) in enumerate(chunk):
            results.put(start + offset, [_process_file(path, text, state)])

    if workers <= 1 or len(items) < MIN_FILES_FOR_POOL:
        run_here(0, items)
    else:
        _run_pool(items, targets, pipelines, options, workers, results, run_here, alternatives,
                  cache)
    return results.collect()


def _run_pool(
    items: list[WorkItem],
    targets: Sequence[str],
    pipelines: Sequence[str] | None,
    options: dict[str, Any] | None,
    workers: int,
    results: _Results,
    run_here: Callable[[int, list[WorkItem]], None],
    alternatives: bool = False,
    cache: bool = True,
) -> None:
    """Fill ``results`` from a process pool; chunks a dead worker took are redone here."""
    chunks = _chunks(items, workers)
    starts = []
    position = 0
    for chunk in chunks:
        starts.append(position)
        position += len(chunk)
    pending: dict[Future[list[FileResult]], int] = {}
    redo: list[int] = []
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_mp_context(),
        initializer=_init_worker,
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
                pending[pool.submit(_run_chunk, chunk)] = index
        finally:
            gc.unfreeze()
        for future in as_completed(pending):
            index = pending[future]
            try:
                chunk_results = future.result()
            except (BrokenProcessPool, pickle.PicklingError, OSError):
                # A worker died (killed, out of memory, a crash in a C extension), taking every
                # chunk it had not returned, or a result could not travel back. Redo those chunks
                # in this process rather than report innocent files as failed.
                redo.append(index)
                continue
            results.put(starts[index], chunk_results)
    except BaseException:
        # Interrupted (SIGINT/SIGTERM) or a failure here, e.g. writing an output file: stop the
        # workers now. Leaving the pool by ``with`` would wait for every queued chunk.
        _stop_pool(pool)
        raise
    pool.shutdown(wait=True)
    for index in sorted(redo):
        run_here(starts[index], chunks[index])
