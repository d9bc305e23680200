"""sigport's commands as Python functions: each returns a result object and prints nothing.

``import converter`` offers these (the command line is a thin layer over them):

* ``convert(paths, targets, options)`` -> ``ConvertResult``: every rule converted for every
  target, accounted for (``Conversion.status``: converted, unsupported, error);
* ``check(paths, options)`` -> ``CheckReport``: each target's query proven on events against
  the reference evaluator;
* ``backtest(rule_paths, events_paths, ...)`` -> ``BacktestReport``: rules replayed on large
  event streams;
* ``import_elastic(paths, outdir, report)`` -> ``ImportReport``: Elastic rules imported as Sigma,
  each with a round-trip proof;
* ``load_rules``, ``compile_rule`` and ``RuleIndex`` (exported by ``converter`` from their
  packages) for evaluating Sigma rules on your own events.

Errors of the inputs (a missing path, an unknown target, an unreadable events file) raise a
``converter.errors.ConverterError`` subclass; a rule that fails to load or convert is a result,
never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

# Only what the options and results need at import time: ``import converter`` and the CLI's
# start stay light; each function imports its machinery when called.
if TYPE_CHECKING:
    from converter.backtesting.report import BacktestReport
    from converter.checking.run import CheckOptions, CheckReport
    from converter.conversion.meta import RuleSummary
    from converter.conversion.convert import Conversion
    from converter.importer.elastic import ImportReport

__all__ = [
    "BACKTEST_SCHEMA_VERSION", "REPORT_SCHEMA_VERSION", "ConvertOptions", "ConvertResult",
    "backtest", "check", "convert", "import_elastic",
]

#: Versions of the machine-readable outputs (README "JSON outputs"): raised when a field is
#: removed or changes meaning; new fields may appear within a version.
REPORT_SCHEMA_VERSION = 1
BACKTEST_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ConvertOptions:
    """How rules are converted (``sigport convert``'s options)."""

    #: Processing pipelines: built-in names or pySigma pipeline YAML files. Files run after the
    #: target's default pipeline; naming a built-in replaces the default.
    pipelines: tuple[str, ...] = ()
    #: The shipper that wrote the data (a mapping-table option, e.g. "winlogbeat", "sentinel").
    data_source: str | None = None
    #: The user's Elasticsearch mapping or template JSON file (``--mapping``).
    mapping: Path | None = None
    #: Worker processes; None: 2 for 16 or more rule files, else 1.
    workers: int | None = None
    #: Reuse each rule file's results from the persistent cache (``converter.conversion.cache``).
    cache: bool = True

    def table_options(self) -> dict[str, Any] | None:
        """The options the mapping tables read (``converter.mapping.pipeline``), or None."""
        options: dict[str, Any] = {}
        if self.data_source:
            options["data_source"] = self.data_source
        if self.mapping is not None:
            options["mapping"] = str(self.mapping)
        return options or None


@dataclass
class ConvertResult:
    """Every rule of a conversion run, for every target, in input order."""

    #: One entry per rule and target.
    conversions: list[Conversion]
    #: One entry per rule (or rule file that failed to load).
    rules: list[RuleSummary] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        """The JSON report document (``sigport convert --report``)."""
        return {
            "schema_version": REPORT_SCHEMA_VERSION,
            "rules": [c.to_report() for c in self.conversions],
        }


def convert(
    paths: Iterable[str | Path],
    targets: Iterable[str],
    options: ConvertOptions | None = None,
    *,
    progress: Callable[[int], Any] | None = None,
    on_file: Callable[[list[Conversion]], Any] | None = None,
    alternatives: bool = False,
    listed: bool = False,
) -> ConvertResult:
    """Convert the Sigma rules under ``paths`` (files, directories, ``-`` for stdin) for every
    target.

    Args:
        progress: called with the number of rule files finished since the last call.
        on_file: called with each input file's conversions as soon as it and every file before
            it are done (in input order), e.g. to write output while the rest converts.
        alternatives: also try the rules refused on the data source in force on the other
            data sources (``Conversion.alternatives``; the command line's summary hint).
        listed: ``paths`` are the files ``converter.rules.paths.expand_paths`` listed (the
            caller listed them already; they are not listed again).

    Raises:
        converter.errors.ConverterError: an unknown target, an unusable pipeline or mapping
            file, a path that does not exist.
    """
    from converter.conversion.batch import MIN_FILES_FOR_POOL, convert_paths
    from converter.rules.paths import expand_paths

    opts = options or ConvertOptions()
    names = [str(p) for p in paths]
    if opts.mapping is not None:
        from converter.mapping.index_mapping import field_model_for

        field_model_for(opts.data_source, opts.mapping)  # an unusable file: one error, before any work
    workers = opts.workers
    if workers is None:
        count = len(names) if listed else sum(1 for _ in expand_paths(names))
        workers = 2 if count >= MIN_FILES_FOR_POOL else 1
    summaries, conversions = convert_paths(
        names, list(targets), list(opts.pipelines), opts.table_options(), workers, progress,
        on_file=on_file, alternatives=alternatives, cache=opts.cache, listed=listed,
    )
    return ConvertResult(conversions, summaries)


def check(paths: Iterable[str | Path], options: CheckOptions | None = None,
          progress: Callable[[int], Any] | None = None) -> CheckReport:
    """Prove on events that each target's query matches exactly what each rule matches
    (``converter.checking.run.check_rules``; ``CheckOptions`` says which events and targets, and
    on how many worker processes). ``progress`` is called with the number of rule files just
    checked.

    ``CheckReport.equivalent`` is True only when every rule was proven on every target.
    """
    from converter.checking.run import check_rules

    return check_rules(paths, options, progress)


def backtest(
    rule_paths: Iterable[str | Path], events_paths: Iterable[str | Path], **options: Any
) -> BacktestReport:
    """Replay event collections against rules: the reference's hits, every target's hits, and
    every event where they disagree (``converter.backtesting.run.run_backtest``: the keyword
    options are its own, e.g. ``targets``, ``workers``, ``data_source``)."""
    from converter.backtesting.run import run_backtest

    return run_backtest(rule_paths, events_paths, **options)


def import_elastic(
    paths: Iterable[str | Path], outdir: str | Path, report: str | Path | None = None
) -> ImportReport:
    """Import Elastic detection rules (TOML, Kibana NDJSON) as Sigma rules under ``outdir``,
    each proven by a round trip (``converter.importer.elastic.import_elastic``)."""
    from converter.importer.elastic import import_elastic as run_import

    return run_import(paths, outdir, report)
