"""sigport: Sigma rules to EQL, KQL, Lucene, ES|QL, SPL and Kusto, with proof on events.

The public Python API (``converter/api.py``; README "Python API"). Each function returns a
result object and prints nothing:

    convert(paths, targets, ConvertOptions(...)) -> ConvertResult
    check(paths, CheckOptions(...)) -> CheckReport
    backtest(rule_paths, events_paths, **options) -> BacktestReport
    import_elastic(paths, outdir, report=None) -> ImportReport
    load_rules(paths) -> list[LoadedRule]
    compile_rule(rule) -> CompiledRule          (the reference evaluator: .evaluate(event))
    RuleIndex.build(compiled_rules)             (many rules per event: .evaluate_all(event))
    Converter(target, pipelines=None, options=None).convert(loaded) -> Conversion

Names are imported on first use, so ``import converter`` (and the CLI's start) stays light.
"""

from __future__ import annotations

from converter.lazy import lazy_getattr

_EXPORTS = {
    "convert": "converter.api",
    "check": "converter.api",
    "backtest": "converter.api",
    "import_elastic": "converter.api",
    "ConvertOptions": "converter.api",
    "ConvertResult": "converter.api",
    "CheckOptions": "converter.checking.run",
    "CheckReport": "converter.checking.run",
    "BacktestOptions": "converter.backtesting.prepare",
    "BacktestReport": "converter.backtesting.report",
    "ImportReport": "converter.importer.elastic",
    "load_rules": "converter.rules.load",
    "LoadedRule": "converter.rules.load",
    "compile_rule": "converter.reference.evaluator",
    "CompiledRule": "converter.reference.evaluator",
    "RuleIndex": "converter.ruleindex.index",
    "Conversion": "converter.conversion.convert",
    "Converter": "converter.conversion.convert",
    "convert_all": "converter.conversion.convert",
    "ConverterError": "converter.errors",
}
__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr("", _EXPORTS, __name__)


def __dir__() -> list[str]:
    """The public names beside the module's own (for ``dir()`` and completion)."""
    return sorted(set(globals()) | set(_EXPORTS))
