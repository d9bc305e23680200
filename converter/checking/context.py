"""What a ``sigport check`` run is asked (``CheckOptions``) and what checking one rule file
needs, built once per run and per spawned worker process (``CheckContext``): the checker of every
target and data source, the events of ``--events``, and the field model of generated values.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from converter.checking.checker import Checker
from converter.checking.sources import SourcesChecker
from converter.errors import ConverterError
from converter.events.inverse import to_sigma
from converter.events.render import SampleEvent, read_jsonl
from converter.mapping.index_mapping import field_model_for
from converter.mapping.loader import load_table


def _load_events(
    paths: list[Path], schema: str, data_source: str | None, input_format: str | None = None,
    limits: Any = None,
) -> list[SampleEvent]:
    """Events for every rule: JSON lines keep their ``_expect``; other formats (SigmaHQ regression
    JSON, .evtx, archives) are read and normalised by ``converter.events.inputs``. What the input caps
    skip, and input that reads as no event, is recorded in ``limits`` (an ``InputLimits``)."""
    from converter.events.inputs import detect_format, events_files, iter_events

    events: list[SampleEvent] = []
    for path in paths:
        # The files ``backtest`` reads too: .evtx and archives under a directory as well, in
        # any case, hidden entries skipped (only .json/.jsonl were read: the rest was lost).
        for file in events_files([path]):
            fmt = input_format or detect_format(file)
            before = len(events)
            if fmt == "jsonl":
                events.extend(read_jsonl(file, limits))
            else:
                events.extend(
                    SampleEvent(event, source=f"{file}")
                    for event in iter_events(file, fmt, limits)
                )
            if len(events) == before and limits is not None:
                limits.warn(f"{file}: no event read from this file")
    if schema == "ecs":
        tables = _ecs_tables()
        for event in events:
            native = event.fields
            event.native = {"ecs": native}
            event.fields = _ecs_to_sigma(native, tables, data_source)
    return events


def _ecs_tables() -> list[Any]:
    """Every ECS mapping table, ``ecs-windows`` first (the one ``check`` read alone before)."""
    from converter.mapping.loader import builtin_table_names

    names = sorted(n for n in builtin_table_names() if n.startswith("ecs-") and n != "ecs-windows")
    tables = [load_table(name) for name in ["ecs-windows", *names]]
    return [t for t in tables if t.schema == "ecs"]


def _ecs_to_sigma(native: dict[str, Any], tables: list[Any], data_source: str | None
                  ) -> dict[str, Any]:
    """An ECS document in Sigma taxonomy names, read back with the first table that has a
    logsource whose constants the document carries (``to_sigma``): a Linux process start by
    ``ecs-linux``, a Zeek record by ``ecs-zeek``. Only ``ecs-windows`` was tried, so a rule of any
    other logsource could not be proven on real ECS documents. A table that does not offer
    ``data_source`` reads the document with its own default."""
    for table in tables:
        choices = table.options.get("data_source", {}).get("choices") or ()
        source = data_source if data_source is None or data_source in choices else None
        fields = to_sigma(native, table, source)
        if fields:
            return fields
    return {}

@dataclass(frozen=True)
class CheckOptions:
    """How ``check`` proves the rules (``sigport check``'s options).

    Events: ``events`` for every rule; else generated events (``generate``: about that many per
    rule, 0 for the default count); else each rule's own sample events, generated ones for a
    rule that has none.
    """

    #: JSON-lines files or directories (or other input formats), used for every rule.
    events: tuple[Path, ...] = ()
    #: Field names of ``events``: "sigma" (rendered for each target) or "ecs".
    schema: str = "sigma"
    #: Targets to check; None: every target that has an interpreter.
    targets: tuple[str, ...] | None = None
    #: Extra pipelines (built-in names or pySigma pipeline YAML files), as for ``convert``.
    pipelines: tuple[str, ...] = ()
    #: The shipper that wrote the events (a mapping-table option, e.g. "winlogbeat").
    data_source: str | None = None
    #: Several data sources: each rule is proven on each (``converter.checking.sources``), and a
    #: target counts once, on the data source that proves it. Overrides ``data_source``.
    data_sources: tuple[str, ...] = ()
    #: The user's Elasticsearch mapping file (``--mapping FILE``), for every data source.
    mapping: Path | None = None
    #: A mapping file per data source (``--mapping SOURCE=FILE``): each named data source is
    #: proven with its own file (``mapping`` for the others). Every name must be a data source
    #: of the run.
    source_mappings: tuple[tuple[str, Path], ...] = ()
    generate: int | None = None
    seed: int = 0
    #: Format of ``events`` (default: detected per file).
    input_format: str | None = None
    #: Input caps (``converter.events.bounded.InputLimits``); default caps when None.
    limits: Any = None
    #: Worker processes checking the rule files (``converter.checking.workers``); the report is
    #: the same for any number.
    workers: int = 1

@dataclass
class CheckContext:
    """What checking one rule file needs, built once per run (and per spawned worker)."""

    checker: Checker | SourcesChecker
    #: The run's options, with one data source made the single ``data_source``.
    options: CheckOptions
    #: The events of ``--events``, for every rule; None: each rule's own or generated ones.
    shared: list[SampleEvent] | None
    #: The field model whose ``ignore_above`` limits the generated long values pass.
    model: Any
    #: The run's input caps (``InputLimits``): each file reads with a fresh copy.
    limits: Any


def validated(options: CheckOptions) -> tuple[CheckOptions, dict[str, Path]]:
    """The options with one data source made the single ``data_source``, and the mapping file of
    each data source, checked against the run's data sources and the schema.

    Raises:
        converter.errors.ConverterError: a ``--mapping`` names no data source of the run, or
            ``--schema ecs`` is given with several data sources.
    """
    opts = options
    if len(opts.data_sources) == 1:
        opts = replace(opts, data_source=opts.data_sources[0], data_sources=())
    several = bool(opts.data_sources)
    mappings = _mappings_by_source(opts, several)
    if several and opts.events and opts.schema != "sigma":
        raise ConverterError(
            "--schema ecs reads events written by one data source: give one --data-source"
        )
    return opts, mappings


def build_context(options: CheckOptions) -> CheckContext:
    """What checking a rule file needs (``converter.checking.workers``): the checker, the
    ``--events`` (read once, their input warnings in the context's ``limits``) and the field
    model of generated long values.

    Raises:
        converter.errors.ConverterError: the events or a mapping file cannot be read.
    """
    from converter.events.inputs import InputLimits

    opts, mappings = validated(options)
    limits = opts.limits if opts.limits is not None else InputLimits()
    events_paths = list(opts.events)
    shared = (
        _load_events(events_paths, opts.schema, opts.data_source, opts.input_format, limits)
        if events_paths else None
    )
    targets = list(opts.targets) if opts.targets is not None else None
    checker: Checker | SourcesChecker = (
        SourcesChecker(targets, list(opts.pipelines), list(opts.data_sources), opts.mapping,
                       mappings)
        if opts.data_sources else
        Checker(targets, list(opts.pipelines), opts.data_source,
                mappings.get(opts.data_source or "", opts.mapping))
    )
    return CheckContext(checker, opts, shared, _longest_limits(opts, mappings), limits)


def _mappings_by_source(opts: CheckOptions, several: bool) -> dict[str, Path]:
    """``opts.source_mappings`` as a dict, each name checked against the run's data sources."""
    sources = list(opts.data_sources) if several else [opts.data_source or ""]
    for source, path in opts.source_mappings:
        if source not in sources:
            raise ConverterError(
                f"--mapping {source}={path}: {source!r} is not a data source of this run "
                f"({', '.join(s for s in sources if s) or 'none given'})"
            )
    return dict(opts.source_mappings)


def _longest_limits(opts: CheckOptions, mappings: dict[str, Path]) -> Any:
    """The field model whose ``ignore_above`` limits are the longest among the user's mappings
    (None without one): generated long values pass it, so they pass every data source's."""
    from converter.generate.hostile import long_value_length

    files: list[tuple[str | None, Path]] = list(mappings.items())
    if opts.mapping is not None:
        files.append((opts.data_sources[0] if opts.data_sources else opts.data_source,
                      opts.mapping))
    models = [field_model_for(source, path) for source, path in files]
    return max(models, key=long_value_length, default=None)
