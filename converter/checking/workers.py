"""``sigport check`` on several cores: each rule file is loaded, given events and checked in a
worker process, and the results are put back in input order.

The unit of work is one rule file, as for ``convert`` (``converter.conversion.batch``): loading a
rule (YAML, pySigma) costs as much as converting it, so it runs in the workers too. A rule's
check (generating its events, converting it for every target and data source, evaluating every
event) costs tens to hundreds of milliseconds, so each file is dispatched alone: the workers stay
busy to the end and the progress bar moves by one file.

``check_file`` is the whole work on one file, and the same function runs in this process with
one worker: the report is the same whatever the number of workers. What a file adds to the input
warnings (its own sample events read past a cap) is recorded in the file's own ``InputLimits`` and
replayed into the run's in input order, so the warnings, and the point where they stop being
kept, are those of one process.

With the ``fork`` start method (Linux) the workers inherit the parent's ``CheckContext``: the
built checker (converters, renderers, field models) and the events read from ``--events``;
elsewhere each worker builds its own from the ``CheckOptions`` (``build``). Results travel back
without the ``--events`` (every rule's result would carry all of them): the parent puts its own
list back.

A file whose check raises (``ConverterError``: an input that cannot be read stops the run; or a
bug outside a rule's own check) or whose worker died is checked again here, in order: the first
such error in input order is raised, as with one worker.
"""

from __future__ import annotations

import gc
import os
import pickle
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

from converter.checking.checker import RuleResult
from converter.checking.context import CheckContext, CheckOptions, build_context
from converter.conversion.filecache import WorkItem
from converter.errors import ConverterError, show_traceback
from converter.events.render import read_jsonl, sample_events_path
from converter.rules.load import LoadedRule

#: Below this many rule files a worker process costs more than it saves (``--workers`` default).
MIN_FILES_FOR_POOL = 4


@dataclass
class FileCheck:
    """The results of one rule file: each rule's result and whether it counts as bad input
    (exit 2), and the input warnings its reads added."""

    rules: list[tuple[RuleResult, bool]]
    warnings: list[str] = field(default_factory=list)
    dropped: int = 0
    #: The rules whose ``events`` are the ``--events``, sent back without them.
    shared: list[int] = field(default_factory=list)


def check_file(item: WorkItem, context: CheckContext) -> FileCheck:
    """Load one rule file and check each of its rules (a bug costs one rule, not the run).

    Raises:
        converter.errors.ConverterError: an input cannot be read (e.g. the rule's own events).
    """
    from converter.conversion.worker import load_input

    path, text = item
    limits = replace(context.limits, warnings=[], dropped=0)
    out = FileCheck([])
    for loaded in load_input(path, text):
        try:
            result, bad = _check_one(loaded, context, limits)
        except ConverterError:
            raise  # an input that cannot be read stops the run, naming it
        except Exception as exc:  # a bug must cost one rule, not the run (as in convert)
            show_traceback(exc, f"checking {loaded.path}")
            result = RuleResult(loaded.id, loaded.title, loaded.path, [])
            text_ = " ".join(str(exc).split())
            result.error = f"internal error: {type(exc).__name__}: {text_} (please report it)"
            bad = True
        result.logsource = loaded.logsource
        out.rules.append((result, bad))
    out.warnings, out.dropped = limits.warnings, limits.dropped
    return out


def _check_one(item: LoadedRule, context: CheckContext, limits: Any) -> tuple[RuleResult, bool]:
    """One rule's result, and whether it counts as bad input (exit 2)."""
    opts, shared, checker = context.options, context.shared, context.checker
    own = sample_events_path(item.path)
    if shared is not None:
        events = shared
    elif item.rule is not None and (opts.generate is not None or not own.is_file()):
        from converter.generate.generator import generate_events

        events = generate_events(item.rule, count=opts.generate or None, seed=opts.seed,
                                 carries=checker.carries, field_model=context.model)
        if not events:
            from converter.generate.generator import why_none_generated

            result = RuleResult(item.id, item.title, item.path, [])
            # The generator builds events the reference decides: a rule it cannot evaluate (a
            # placeholder, a regex it refuses) gets none, whatever its logsource.
            result.error = (
                f"no events: none could be generated for this rule "
                f"({why_none_generated(item.rule)}); "
                f"pass --events, or add sample events in {own.name} beside the rule"
            )
            return result, True
    else:
        events = read_jsonl(own, limits) if own.is_file() else []
    if not events and item.error is None:
        # Nothing to prove anything on: never "equivalent" on zero events.
        result = RuleResult(item.id, item.title, item.path, [])
        where = ", ".join(str(p) for p in opts.events) if shared is not None else own.name
        result.error = f"no events: {where} holds no event for this rule; nothing is proven"
        return result, True
    return checker.check(item, events), item.error is not None


def check_files(items: Sequence[WorkItem], context: CheckContext, workers: int,
                progress: Callable[[int], Any] | None = None) -> list[FileCheck]:
    """Every file's ``FileCheck``, in input order, computed on ``workers`` processes (here when
    1 or when there are fewer than ``MIN_FILES_FOR_POOL`` files); ``progress`` is called with
    the number of files just finished.

    Raises:
        converter.errors.ConverterError: the first one in input order, as with one worker.
    """
    if workers <= 1 or len(items) < MIN_FILES_FOR_POOL:
        out = []
        for item in items:
            out.append(check_file(item, context))
            if progress is not None:
                progress(1)
        return out
    slots = _run_pool(items, context, workers, progress)
    done: list[FileCheck] = []
    for index, found in enumerate(slots):
        if found is None:
            # Its worker died, or the check raised: redone here, where an error is raised in
            # input order (an earlier file's first) with its own location.
            found = check_file(items[index], context)
            if progress is not None:
                progress(1)
        else:
            for rule in found.shared:
                found.rules[rule][0].events = context.shared or []
        done.append(found)
    return done


#: This process's context: set in the parent before the pool forks (the workers inherit it), or
#: built by a spawned worker's initializer.
_CONTEXT: CheckContext | None = None


def _init_worker(parent: int, options: CheckOptions) -> None:
    """Pool initializer: die with the parent; build the context unless it was inherited."""
    from converter.signals import die_with_parent

    global _CONTEXT
    die_with_parent(parent)
    if _CONTEXT is None:
        _CONTEXT = build_context(options)


def _run_file(item: WorkItem) -> FileCheck | None:
    """Worker entry point: one file's check, without the shared events; None when the check
    raised (the parent redoes the file, and raises the error in input order)."""
    context = _CONTEXT
    assert context is not None, "worker used without its initializer"
    try:
        found = check_file(item, context)
    except Exception:  # noqa: BLE001 - raised again by the parent, in input order
        return None
    if context.shared is not None:
        for rule, (result, _) in enumerate(found.rules):
            if result.events is context.shared:
                result.events = []
                found.shared.append(rule)
    return found


def _run_pool(items: Sequence[WorkItem], context: CheckContext, workers: int,
              progress: Callable[[int], Any] | None) -> list[FileCheck | None]:
    """Each file's check from a process pool, by index; None where the parent must redo it."""
    from converter.conversion.batch import _mp_context, _stop_pool

    global _CONTEXT
    slots: list[FileCheck | None] = [None] * len(items)
    _CONTEXT = context
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context(),
                               initializer=_init_worker, initargs=(os.getpid(), context.options))
    pending: dict[Future[FileCheck | None], int] = {}
    try:
        # The first submit forks the workers: what exists now (modules, the checker, the
        # events) lives as long as they do; frozen, their collector never walks it, nor
        # touches (and so copies) the memory pages they share with this process.
        gc.freeze()
        try:
            for index, item in enumerate(items):
                pending[pool.submit(_run_file, item)] = index
        finally:
            gc.unfreeze()
        for future in as_completed(pending):
            index = pending[future]
            try:
                slots[index] = future.result()
            except (BrokenProcessPool, pickle.PicklingError, OSError):
                continue  # a worker died or a result could not travel: redone by the parent
            if progress is not None and slots[index] is not None:
                progress(1)
    except BaseException:
        # Interrupted (SIGINT/SIGTERM) or a failure here: stop the workers now; leaving the
        # pool by ``with`` would wait for every queued file.
        _stop_pool(pool)
        raise
    finally:
        _CONTEXT = None
    pool.shutdown(wait=True)
    return slots
