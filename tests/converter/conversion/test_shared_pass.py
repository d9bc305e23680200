"""One pipeline pass per schema (``converter.conversion.shared``): targets whose pipelines apply
the same items share one pass over the rule, and every conversion is exactly what a separate
pass gives (status, reason, queries, warnings, pipeline items, the rule's metadata)."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
from sigma.processing.transformations import (
    AddConditionTransformation,
    FieldMappingTransformation,
)

from helpers import CORPUS, load_one, rule_text

from converter.conversion import convert as convert_module
from converter.conversion.meta import RuleMeta
from converter.conversion.convert import Conversion, Converter, convert_each
from converter.conversion.routing import routed
from converter.conversion.shared import SharedPass, _same
from converter.rules.load import LoadedRule, load_rules

ECS = ["eql", "kql", "kql-es", "lucene", "esql"]
MIXED = ["splunk", "eql", "kql", "kusto", "kql-es", "lucene", "splunk-cim", "esql"]

#: Inline rules that reach every kind of item: renames, value functions, source variants,
#: unmapped fields (refused), dropped values, keywords, several conditions, another logsource.
RULES = [
    rule_text({"sel": {"Image|endswith": "\\whoami.exe", "CommandLine|contains": ["/all", "-x"]},
               "condition": "sel"}),
    rule_text({"sel": {"ParentImage|endswith": "\\cmd.exe", "IntegrityLevel": "High"},
               "filter": {"User|contains": ["AUTHORI", "AUTORI"]},
               "condition": "sel and not filter"}),
    rule_text({"sel": {"NoSuchField": "x"}, "condition": "sel"}),
    rule_text({"sel": {"OriginalFileName": "PsExec.exe", "Hashes|contains": "IMPHASH=ABC"},
               "condition": "sel"}),
    rule_text({"keywords": ["mimikatz", "sekurlsa"], "condition": "keywords"}),
    rule_text({"sel1": {"Image|endswith": "\\a.exe"}, "sel2": {"Image|endswith": "\\b.exe"},
               "condition": ["sel1", "sel2"]}),
    rule_text({"sel": {"TargetObject|contains": "\\CurrentVersion\\Run", "Details|startswith":
                       "C:\\Users"}, "condition": "sel"}, category="registry_set"),
    rule_text({"sel": {"DestinationPort": 4444, "Initiated": "true"}, "condition": "sel"},
              category="network_connection"),
    rule_text({"sel": {"QueryName|endswith": ".onion"}, "condition": "sel"}, category="dns_query"),
    rule_text({"sel": {"EventID": 4688, "NewProcessName|endswith": "\\x.exe"},
               "condition": "sel"}, category=None),
    rule_text({"sel": {"ImageLoaded|endswith": "\\dbghelp.dll"}, "condition": "sel"},
              category="image_load"),
]


def _key(conversion: Conversion) -> tuple[Any, ...]:
    """Everything a conversion tells, the rule as the batch path sends it (``RuleMeta``)."""
    rule = conversion.rule
    meta = RuleMeta.of(rule) if rule is not None else None
    return (conversion.path, conversion.id, conversion.title, conversion.target,
            conversion.status, conversion.reason, conversion.queries, conversion.warnings,
            conversion.exact_warnings, conversion.dropped, conversion.pipeline, meta)


def _copy(loaded: LoadedRule) -> LoadedRule:
    rule = None if loaded.rule is None else pickle.loads(pickle.dumps(loaded.rule))
    return LoadedRule(loaded.path, rule, loaded.error, loaded.text)


def _inline() -> list[LoadedRule]:
    return [load_one(text, f"rule{i}.yml") for i, text in enumerate(RULES)]


def _corpus_sample(step: int) -> list[LoadedRule]:
    """Every ``step``-th SigmaHQ Windows rule (the test skips without the corpus)."""
    folder = CORPUS / "sigmahq" / "rules" / "windows"
    if not folder.is_dir():
        pytest.skip("the shared corpus is absent")
    return load_rules([str(p) for p in sorted(folder.rglob("*.yml"))[::step]])


def _compare(loaded: list[LoadedRule], targets: list[str], options: Any = None) -> int:
    """Assert that ``convert_each`` (shared passes) gives each target's separate conversion;
    returns how many rules had a shared pass."""
    converters = [Converter(t, None, options) for t in targets]
    separate = [Converter(t, None, options) for t in targets]
    shared_runs = 0
    real = SharedPass.run

    def counting(self: SharedPass, group: Any, rule: Any) -> Any:
        nonlocal shared_runs
        found = real(self, group, rule)
        shared_runs += found is not None
        return found

    SharedPass.run = counting  # type: ignore[method-assign]
    try:
        for item in loaded:
            alone = [_key(c.convert(_copy(item))) for c in separate]
            together = [_key(c) for c in convert_each(_copy(item), converters)]
            assert together == alone, item.path
    finally:
        SharedPass.run = real  # type: ignore[method-assign]
    return shared_runs


def test_the_elastic_targets_form_one_group_and_others_none() -> None:
    converters = [Converter(t) for t in MIXED]
    groups = SharedPass([routed(c.backend.last_processing_pipeline) for c in converters]).groups
    assert [[MIXED[i] for i in group] for group in groups] == [
        ["eql", "kql", "kql-es", "lucene", "esql"]]


def test_shared_conversions_are_the_separate_ones_inline() -> None:
    loaded = _inline()
    assert _compare(loaded, MIXED) == len(loaded)


@pytest.mark.parametrize("source", ["windows", "winlogbeat", "defend"])
def test_shared_conversions_are_the_separate_ones_per_data_source(source: str) -> None:
    assert _compare(_inline(), ECS, {"data_source": source}) > 0


def test_shared_conversions_are_the_separate_ones_on_sigmahq() -> None:
    loaded = _corpus_sample(7)
    assert _compare(loaded, MIXED) > len(loaded) // 2


def test_each_common_item_is_applied_once_per_rule() -> None:
    # The field renames of process_creation are one item in each of the five pipelines: with a
    # shared pass it runs once per rule for all the targets whose items before it are the same
    # (kql and kql-es first turn |re into wildcard values, a step the others lack), not once
    # per target.
    converters = [Converter(t) for t in ECS]
    calls: list[str] = []
    for converter in converters:
        for item in converter.backend.last_processing_pipeline.items:
            if item.identifier == "ecs-windows-windows-process-creation-fields":
                original = item.transformation.apply

                def counted(rule: Any, original: Any = original, name: str = converter.spec.name
                            ) -> None:
                    calls.append(name)
                    original(rule)

                item.transformation.apply = counted  # type: ignore[method-assign]
    (loaded,) = [load_one(RULES[0])]
    out = list(convert_each(loaded, converters))
    assert [c.status for c in out] == ["converted"] * len(ECS)
    assert calls[0] == "eql" and len(calls) < len(ECS)
    calls.clear()
    assert [c.status for c in convert_each(load_one(RULES[0]), [converters[0], converters[3]])
            ] == ["converted"] * 2
    assert calls == ["eql"]  # eql and lucene: one application


def test_a_pysigma_error_in_a_shared_item_refuses_every_target_alike() -> None:
    loaded = load_one(RULES[2])  # NoSuchField: refused by the shared unmapped-field item
    converters = [Converter(t) for t in ECS]
    out = [_key(c) for c in convert_each(_copy(loaded), converters)]
    assert all(c[4] == "unsupported" and "NoSuchField" in (c[5] or "") for c in out)
    assert out == [_key(Converter(t).convert(_copy(loaded))) for t in ECS]


@dataclass
class _Boom(AddConditionTransformation):
    """A transformation with a bug (raises something that is not a pySigma error)."""

    def apply(self, rule: Any) -> None:  # noqa: D102 - the bug
        raise KeyError("boom")


def test_a_bug_in_a_shared_item_gives_up_sharing_and_reports_per_target(tmp_path: Path) -> None:
    pipeline = tmp_path / "boom.yml"
    pipeline.write_text("name: boom\npriority: 100\ntransformations:\n"
                        "  - id: boom\n    type: add_condition\n    conditions: {x: y}\n")
    converters = [Converter(t, [str(pipeline)]) for t in ECS]
    separate = [Converter(t, [str(pipeline)]) for t in ECS]
    for converter in converters + separate:
        for item in converter.backend.last_processing_pipeline.items:
            if item.identifier == "boom":
                item.transformation = _Boom({"x": "y"})
                item.transformation.set_processing_item(item)
    loaded = load_one(RULES[0])
    together = [_key(c) for c in convert_each(_copy(loaded), converters)]
    alone = [_key(c.convert(_copy(loaded))) for c in separate]
    assert together == alone
    assert all(k[4] == "error" and "internal error" in (k[5] or "") for k in together)


def test_same_compares_every_attribute_not_only_dataclass_fields() -> None:
    first, second = FieldMappingTransformation({"a": "b"}), FieldMappingTransformation({"a": "b"})
    assert _same(first, second, set())
    second.extra = 1  # type: ignore[attr-defined]  # not a field: == would not see it
    assert first == second and not _same(first, second, set())
    assert not _same(lambda: 1, lambda: 1, set())
    assert not _same(FieldMappingTransformation({"a": "b"}),
                     FieldMappingTransformation({"a": "c"}), set())
    # pySigma names each added condition at random: two such items are never the same.
    assert not _same(AddConditionTransformation({"a": "1"}),
                     AddConditionTransformation({"a": "1"}), set())


def test_the_loaded_rule_is_consumed_only_by_the_last_use() -> None:
    # A target on its own after the group: the group's pass works on a copy.
    loaded = load_one(RULES[0])
    before = repr(loaded.rule)
    converters = [Converter(t) for t in ["eql", "kql", "splunk"]]
    iterator: Iterator[Conversion] = convert_each(loaded, converters)
    next(iterator)
    next(iterator)
    assert repr(loaded.rule) == before
    assert next(iterator).status == "converted"


def test_no_leftover_resume_after_a_conversion() -> None:
    converters = [Converter(t) for t in ECS]
    list(convert_each(load_one(RULES[0]), converters))
    assert all(routed(c.backend.last_processing_pipeline).resume is None  # type: ignore[union-attr]
               for c in converters)
    assert convert_module._PASSES  # remembered for the next rule
