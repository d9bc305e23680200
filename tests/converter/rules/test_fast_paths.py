"""The shortcuts of the conversion path give exactly what the long way gives.

* ``converter.rules.load``: a document without anchors is built by sigport's direct constructor;
  the result (values, types, key order, errors) is PyYAML's ``construct_document``'s.
* ``converter.conversion.routing``: pipeline items guarded by log source conditions remember their answer
  per log source; conversions are those of the unmodified pySigma items, also when a
  transformation changes the rule's log source half-way through the pipeline.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from sigma.processing.conditions import LogsourceCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import (
    AddConditionTransformation,
    ChangeLogsourceTransformation,
)

from converter.rules import bounded_yaml as rules
from converter.conversion.convert import Converter
from converter.conversion.routing import _LogsourceMemo, _SourceKey, memoize_logsource_conditions
from converter.rules.load import LoadedRule, load_rules, load_text

ROOT = Path(__file__).resolve().parents[3]
BUNDLED = ROOT / "sigma_rules"

DOCUMENTS = [
    # plain maps, sequences and strings, with duplicate keys and key order
    "title: t\nb: [x, {y: z}]\na: 2\n'1': s\n1: i\n",
    # every implicit scalar type a SafeLoader resolves, as values and as keys
    "i: 0x1F\nf: 1.5e3\ng: .inf\nb: yes\nn: ~\nd: 2024-01-02\nt: 2024-01-02 10:00:00Z\ns: 1:20\n"
    "1: a\n2.5: b\ntrue: c\nnull: d\n2024-01-01: e\n",
    # explicit tags on scalars and collections
    "a: !!str 1\nb: !!null ''\nc: !!binary aGVsbG8=\nd: !!map {x: 1}\ne: !!seq [1]\n",
    "a: !!set {x, y}\nb: !!omap [x: 1, y: 2]\nc: !!pairs [x: 1]\n",
    # merge and value keys, collection keys, several documents, block scalars
    "<<: {a: 1}\nb: 2\n",
    "=: 1\n",
    "? [a]\n: 1\n",
    "a: x\n---\nb: y\n---\n",
    "a: |\n  line\n  other\nb: >\n  folded\n  text\n",
    # '&' that is no anchor, and real anchors and aliases
    "cmd: 'a && b & c'\nx: a&b\n",
    "a: &x [1, 2]\nb: *x\n",
    "",
    "just a string",
    # errors: an unknown tag (twice: the first one is reported), bad scalars, a bad alias
    "a: !foo x\nb: !bar y\n",
    "a: [x, {b: !foo 1}]\nc: !bar 2\n",
    "a: !!int x\n",
    "a: !!timestamp 2024-13-45\n",
    "a: [&x a, *y]\n",
]


def _typed(value: Any) -> Any:
    """The value with every type spelled out (``1 == 1.0 == True`` must not hide a change)."""
    if isinstance(value, dict):
        return ("dict", [(_typed(k), _typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [_typed(v) for v in value])
    if isinstance(value, (set, frozenset)):
        return (type(value).__name__, sorted(repr(v) for v in value))
    return (type(value).__name__, repr(value))


def _outcome(parse: Any, text: str) -> Any:
    try:
        return _typed(parse(text))
    except Exception as exc:  # compare the error the long way raises with ours
        return ("error", type(exc).__name__, str(exc))


def _reference(text: str) -> list[Any]:
    """PyYAML's own construction of every document, with sigport's loader class."""
    loader = rules.FAST_SAFE_LOADER(text)
    try:
        out = []
        while loader.check_node():
            out.append(loader.construct_document(loader.get_node()))
        return out
    finally:
        loader.dispose()


def _subclasses(cls: type) -> set[type]:
    return {cls}.union(*(_subclasses(sub) for sub in cls.__subclasses__()))


@pytest.mark.parametrize("text", DOCUMENTS)
def test_direct_construction_is_pyyaml_construction(text: str) -> None:
    ours = _outcome(lambda t: rules._load_bounded(t, rules.FAST_SAFE_LOADER), text)
    reference = _outcome(_reference, text)
    yaml_errors = {cls.__name__ for cls in _subclasses(yaml.YAMLError)}
    if reference[0] == "error" and reference[1] not in yaml_errors:
        # A scalar PyYAML's constructor fails on with a plain Python error (no position) is
        # refused with its position instead (``bounded_yaml._checked``), on both paths.
        assert ours[:2] == ("error", "RefusedYAML"), ours
    else:
        assert ours == reference


def test_plain_rules_take_the_direct_path(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[object] = []
    real = rules._construct_plain

    def spy(loader: Any, node: Any) -> object:
        built.append(node)
        return real(loader, node)

    monkeypatch.setattr(rules, "_construct_plain", spy)
    rule = (
        "title: Whoami\nlogsource: {category: process_creation, product: windows}\n"
        "date: 2024-01-02\ndetection:\n  sel:\n    Image|endswith: ['\\\\whoami.exe', x]\n"
        "  condition: sel\nlevel: high\n"
    )
    assert rules._ANCHOR.search(rule) is None
    docs = rules.parse_documents(rule)
    assert built and docs == list(yaml.load_all(rule, Loader=yaml.SafeLoader))


def test_anchor_pattern_is_wider_than_yaml_anchors() -> None:
    # Whatever PyYAML accepts as an anchor, the pattern sees (it may see more).
    for text in ("a: &x 1\nb: *x\n", "- &a-b_1 [1]\n", "{a: &k v}\n", "[&x 1, *x]\n"):
        assert rules._ANCHOR.search(text), text
    for text in ("a: 'x & y'\n", "a: b & c\n", "a: [b &, c]\n", "a: b&\n"):
        assert rules._ANCHOR.search(text) is None, text


def test_dates_and_numbers_keep_their_types() -> None:
    (doc,) = rules.parse_documents("date: 2023-05-01\nmodified: 2024-01-02\nn: 3\n")
    assert doc == {"date": datetime.date(2023, 5, 1), "modified": datetime.date(2024, 1, 2), "n": 3}


def test_alias_bomb_still_refused() -> None:
    levels = ["a0: &a0 [x]"] + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]"
                                for i in range(1, 8)]
    loaded = load_text("\n".join(levels) + "\n", "bomb.yml")
    assert loaded[0].error is not None and "refused YAML" in loaded[0].error.one_line()


# --- log source memo ---------------------------------------------------------------------------


def _unmemoized(converter: Converter) -> None:
    pipeline = converter.backend.last_processing_pipeline
    pipeline.__dict__.pop("apply", None)
    for item in pipeline.items:
        item.__dict__.pop("match_rule_conditions", None)


def _key(conversion: Any) -> tuple[Any, ...]:
    return (conversion.status, conversion.reason, conversion.queries, conversion.warnings,
            conversion.pipeline)


@pytest.mark.parametrize("target", ["eql", "kql", "splunk", "splunk-cim"])
def test_memo_gives_the_conversions_of_plain_pysigma(target: str) -> None:
    loaded = load_rules([BUNDLED])
    memo = Converter(target)
    assert memoize_logsource_conditions(memo.backend.last_processing_pipeline) > 0
    plain = Converter(target)
    _unmemoized(plain)
    assert [_key(memo.convert(r)) for r in loaded] == [_key(plain.convert(r)) for r in loaded]


PROXY_RULE = """\
title: Proxy then process
logsource: {category: proxy}
detection:
  sel:
    Image|endswith: '\\\\whoami.exe'
  condition: sel
"""

PROCESS_RULE = """\
title: Process
logsource: {category: process_creation, product: windows}
detection:
  sel:
    Image|endswith: '\\\\whoami.exe'
  condition: sel
"""


def _moving_pipeline() -> ProcessingPipeline:
    """Proxy rules become process_creation rules; process_creation rules are then tagged."""
    return ProcessingPipeline(
        items=[
            ProcessingItem(
                identifier="move",
                transformation=ChangeLogsourceTransformation("process_creation", "windows"),
                rule_conditions=[LogsourceCondition(category="proxy")],
            ),
            ProcessingItem(
                identifier="tag-moved",
                transformation=AddConditionTransformation({"sigport_moved": "yes"}),
                rule_conditions=[LogsourceCondition("process_creation", "windows")],
            ),
        ]
    )


def test_memo_sees_a_log_source_changed_by_an_earlier_item() -> None:
    memo, plain = _moving_pipeline(), _moving_pipeline()
    assert memoize_logsource_conditions(memo) == 2
    for text in (PROCESS_RULE, PROXY_RULE, PROCESS_RULE, PROXY_RULE):
        rules_ = [load_text(text, "rule.yml")[0].rule for _ in range(2)]
        memo.apply(rules_[0])
        plain.apply(rules_[1])
        assert memo.applied == plain.applied and memo.applied_ids == plain.applied_ids
        assert "tag-moved" in memo.applied_ids
        assert rules_[0].logsource == rules_[1].logsource
        assert rules_[0].detection.condition == rules_[1].detection.condition


def test_memo_defers_to_pysigma_for_unhashable_log_sources() -> None:
    calls: list[object] = []

    def original(rule: object) -> bool:
        calls.append(rule)
        return True

    (item,) = load_text(PROCESS_RULE, "rule.yml")
    assert isinstance(item, LoadedRule) and item.rule is not None
    object.__setattr__(item.rule.logsource, "definition", [])  # not hashable
    memo = _LogsourceMemo(original, _SourceKey())
    assert memo(item.rule) and memo(item.rule) and len(calls) == 2


# --- copies of rules ---------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["eql", "kql", "lucene", "esql", "splunk", "splunk-cim"])
def test_copied_rules_convert_as_deep_copies_and_leave_the_rule_alone(target: str) -> None:
    import copy

    loaded = [r for r in load_rules([BUNDLED]) if r.rule is not None]
    converter = Converter(target)
    before = [repr(r.rule) for r in loaded]
    with_copy = [_key(converter.convert(r)) for r in loaded]  # the pickle copy
    assert [repr(r.rule) for r in loaded] == before  # the loaded rules were not touched
    deep = [
        _key(converter.convert(LoadedRule(r.path, copy.deepcopy(r.rule), None, r.text),
                               copy_rule=False))
        for r in loaded
    ]
    assert with_copy == deep


def test_an_unpicklable_rule_is_deep_copied() -> None:
    from converter.conversion.convert import _copy

    (item,) = load_text(PROCESS_RULE, "rule.yml")
    item.rule.custom_attributes["callback"] = lambda: None  # pickle refuses lambdas
    copied = _copy(item.rule)
    assert copied is not item.rule and copied.title == item.rule.title
    assert copied.detection is not item.rule.detection


def test_the_load_check_leaves_no_condition_tree_on_the_rule() -> None:
    (item,) = load_text(PROCESS_RULE.replace("condition: sel", "condition: sel and not 1 of x*")
                        + "  x1:\n    CommandLine: a\n", "rule.yml")
    assert item.error is None and item.rule is not None
    from converter.rules.load import _parents

    nodes = _parents(item.rule)
    assert len(nodes) == 4  # two detections, one item each
    assert all(parent is None for _, parent in nodes)  # as pySigma built them
    # The condition still parses, and conversion links the tree it converts.
    (conversion,) = [Converter("eql").convert(item)]
    assert conversion.status == "converted" and "not" in conversion.queries[0]


def test_routed_apply_calls_only_the_items_of_the_rules_log_source() -> None:
    # Items guarded by another log source are not even asked; the outcome is pySigma's.
    def pipeline() -> ProcessingPipeline:
        return ProcessingPipeline(items=[
            ProcessingItem(identifier="proxy", rule_conditions=[LogsourceCondition(category="proxy")],
                           transformation=AddConditionTransformation({"p": "1"})),
            ProcessingItem(identifier="any", transformation=AddConditionTransformation({"a": "1"})),
            ProcessingItem(identifier="dns", rule_conditions=[LogsourceCondition(category="dns")],
                           transformation=AddConditionTransformation({"d": "1"})),
            ProcessingItem(identifier="proc",
                           rule_conditions=[LogsourceCondition("process_creation", "windows")],
                           transformation=AddConditionTransformation({"c": "1"})),
        ])

    routed, plain = pipeline(), pipeline()
    memoize_logsource_conditions(routed)
    asked: list[str] = []
    for item in routed.items:
        original = item.apply
        item.apply = (lambda original, name: lambda rule: asked.append(name) or original(rule))(
            original, item.identifier)
    for _ in range(2):
        rules_ = [load_text(PROCESS_RULE, "rule.yml")[0].rule for _ in range(2)]
        asked.clear()
        routed.apply(rules_[0])
        plain.apply(rules_[1])
        assert asked == ["any", "proc"]
        assert routed.applied == plain.applied == [False, True, False, True]
        assert routed.applied_ids == plain.applied_ids == {"any", "proc"}
        assert rules_[0].detection.condition == rules_[1].detection.condition


def test_items_guarded_alike_ask_pysigma_once_per_log_source(monkeypatch: Any) -> None:
    # Three items behind equal (but distinct) conditions and one behind another: a log source
    # new to the pipeline is put to pySigma once per distinct guard, and the outcome is pySigma's.
    def pipeline() -> ProcessingPipeline:
        def item(name: str, category: str, product: str | None = None) -> ProcessingItem:
            return ProcessingItem(identifier=name,
                                  rule_conditions=[LogsourceCondition(category, product)],
                                  transformation=AddConditionTransformation({name: "1"}))
        return ProcessingPipeline(items=[
            item("a", "process_creation", "windows"), item("b", "process_creation", "windows"),
            item("p", "proxy"), item("c", "process_creation", "windows"),
            ProcessingItem(identifier="neg", rule_conditions=[
                LogsourceCondition("process_creation", "windows")], rule_condition_negation=True,
                transformation=AddConditionTransformation({"neg": "1"})),
        ])

    routed, plain = pipeline(), pipeline()
    memoize_logsource_conditions(routed)
    asked: list[object] = []
    original = LogsourceCondition.match
    monkeypatch.setattr(LogsourceCondition, "match",
                        lambda self, rule: asked.append(self) or original(self, rule))
    for text in (PROCESS_RULE, PROXY_RULE, PROCESS_RULE):
        rules_ = [load_text(text, "rule.yml")[0].rule for _ in range(2)]
        routed.apply(rules_[0])
        plain.apply(rules_[1])
        assert routed.applied == plain.applied and routed.applied_ids == plain.applied_ids
        assert rules_[0].detection.condition == rules_[1].detection.condition
    # plain: 5 items x 3 rules; routed: 3 guards (windows, negated windows, proxy) x 2 sources
    assert len(asked) == 15 + 6
    assert routed.applied_ids == {"a", "b", "c"}
