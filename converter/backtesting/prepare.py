"""Backtest preparation: load, convert and interpret every rule once, in parallel over rule files.

The results (``PreparedRule``: the pySigma rule and, per target, the emitted query and its parsed
tree) are plain picklable objects handed to the evaluation workers (``converter.backtesting.engine``).
Conversion and interpretation follow ``converter.checking.checker.Checker._check_target`` exactly.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from converter.conversion.convert import CONVERTED
from converter.checking.checker import Checker
from converter.reference.evaluator import compile_rule
from converter.rules.load import expand_paths, load_rules

#: Rule files per preparation task.
PREPARE_CHUNK = 16


@dataclass
class PreparedTarget:
    """One target's emitted query for a rule, its parsed tree, or why there is none."""

    query: str | None
    tree: Any = None
    reason: str | None = None
    parse_failed: bool = False
    warnings: list[str] = field(default_factory=list)


@dataclass
class PreparedRule:
    """A loaded rule (or its load error) with its prepared targets."""

    id: str
    title: str
    path: str
    rule: Any = None
    error: str | None = None
    unsupported: str | None = None
    targets: dict[str, PreparedTarget] = field(default_factory=dict)


_PREP: dict[str, Any] = {}


def init_prepare(options: BacktestOptions) -> None:
    """Pool initializer: one ``Checker`` (converters, field models) per preparing process."""
    _PREP["checker"] = checker_for(options)


@dataclass(frozen=True)
class BacktestOptions:
    """What every backtest process needs to build the same converters and engine (picklable)."""

    #: Target names; None: every target with an interpreter (resolved before the workers start).
    targets: tuple[str, ...] | None = None
    #: Extra pipelines, as for ``convert``.
    pipelines: tuple[str, ...] = ()
    #: The shipper that wrote the events (a mapping-table option).
    data_source: str | None = None
    #: The user's Elasticsearch mapping or template JSON file.
    mapping: str | Path | None = None
    #: Disagreement examples kept per rule and target.
    max_examples: int = 5
    #: Skip evaluations a required literal rules out (never changes a count).
    prefilter: bool = True


def checker_for(options: BacktestOptions) -> Checker:
    """The ``Checker`` (converters, field models, renderers) the backtest's options describe."""
    return Checker(
        list(options.targets) if options.targets is not None else None, list(options.pipelines),
        options.data_source, options.mapping,
    )


def _prepare_chunk(paths: list[str]) -> list[PreparedRule]:
    """Load, convert and interpret the rules of some files, as ``Checker._check_target`` does."""
    from backends import TARGETS
    from backends.query.ast import Or
    from backends.query.errors import QueryError, QueryParseError, UnsupportedQueryError

    checker: Checker = _PREP["checker"]
    out = []
    for loaded in load_rules(paths):
        item = PreparedRule(loaded.id, loaded.title, loaded.path, loaded.rule)
        if loaded.error is not None or loaded.rule is None:
            item.error = loaded.error.one_line() if loaded.error else "rule did not load"
            out.append(item)
            continue
        item.unsupported = compile_rule(loaded.rule).unsupported
        for name in checker.targets:
            spec, conversion = TARGETS[name], checker.converters[name].convert(loaded)
            target = PreparedTarget(conversion.output, warnings=list(conversion.warnings))
            item.targets[name] = target
            parse = spec.parse_function()
            if conversion.status != CONVERTED:
                target.reason = f"not converted ({conversion.status}): {conversion.reason}"
                continue
            if parse is None:
                target.reason = f"not checked: {spec.no_interpreter_reason}"
                continue
            try:
                trees = [parse(q, fields=checker.models.get(name)) for q in conversion.queries]
            except QueryParseError as exc:
                target.parse_failed = True
                target.reason = (f"the emitted query does not parse: {exc.reason} "
                                 f"(line {exc.line}, column {exc.column})")
                continue
            except UnsupportedQueryError as exc:
                target.reason = f"not checked: the interpreter cannot evaluate this query: {exc}"
                continue
            except QueryError as exc:
                target.reason = f"not checked: {exc}"
                continue
            # Compiled in the evaluating workers only (a failure is reported from there).
            target.tree = trees[0] if len(trees) == 1 else Or(tuple(trees))
        out.append(item)
    return out


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def prepare(rule_paths: list[str], options: BacktestOptions, workers: int) -> list[PreparedRule]:
    """Load, convert and interpret every rule under ``rule_paths`` (in ``workers`` processes)."""
    files = list(expand_paths(rule_paths))
    if workers <= 1 or len(files) <= PREPARE_CHUNK:
        init_prepare(options)
        return [r for chunk in _chunks(files, PREPARE_CHUNK) for r in _prepare_chunk(chunk)]
    with pool_context().Pool(workers, init_prepare, (options,)) as pool:
        parts = pool.imap(_prepare_chunk, _chunks(files, PREPARE_CHUNK))
        return [r for part in parts for r in part]


def pool_context() -> Any:
    """The multiprocessing context for the backtest's pools."""
    # fork shares the prepared rules with the workers without pickling them (Linux); elsewhere
    # the platform default (spawn) pickles them, which works too.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)
