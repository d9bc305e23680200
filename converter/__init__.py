"""sigport: Sigma rules to EQL, KQL, Lucene, ES|QL and SPL, with proof of equivalence on events.

Public API:
    load_rules(paths) -> list[LoadedRule]
    Converter(target, pipelines=None, options=None).convert(loaded) -> Conversion
    convert_all(loaded, targets, pipelines=None, options=None) -> list[Conversion]
"""

from __future__ import annotations

from converter.conversion.convert import Conversion, Converter, convert_all
from converter.errors import ConverterError
from converter.rules.load import LoadedRule, load_rules

__all__ = ["Conversion", "Converter", "ConverterError", "LoadedRule", "convert_all", "load_rules"]
