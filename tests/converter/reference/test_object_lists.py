"""The reference evaluator on lists of objects ("object_lists"): a dotted Sigma name read across
the arrays of nested records (Okta ``target[]``, GCP ``authorizationInfo[]``, Entra
``targetResources[].modifiedProperties[]``), with a property test against an independent
formulation (every key path of the event enumerated, array positions ignored)."""

from __future__ import annotations

from typing import Any, Iterator

from hypothesis import given, settings
from hypothesis import strategies as st
from sigma.rule import SigmaRule
from test_reference import load

from converter.reference.evaluator import SIGMA_SEMANTICS, compile_rule
from converter.reference.fields import MISSING, field_getter, scalars
from converter.ruleindex.index import RuleIndex

OKTA = "product: okta\n  service: okta"


def okta_rule(detection: str) -> SigmaRule:
    """An okta/okta rule from an inline ``detection:`` body."""
    return load(detection, OKTA)


def okta(**fields: Any) -> dict[str, Any]:
    """An Okta System Log event (tagged with its logsource, as the generator writes them)."""
    return {"Channel": "okta/okta", **fields}


def matched(detection: str, *events: dict[str, Any]) -> list[bool | None]:
    compiled = compile_rule(okta_rule(detection))
    assert compiled.unsupported is None, compiled.unsupported
    return [compiled.evaluate(e).matched for e in events]


def test_semantics_entry_names_its_sources() -> None:
    fact = SIGMA_SEMANTICS["object_lists"]
    assert "developer.okta.com" in fact.note and "nested" in fact.note and "spath" in fact.note


def test_any_element_matches() -> None:
    targets = [{"type": "User", "displayName": "Ann"},
               {"type": "AppInstance", "displayName": "Okta Admin Console"}]
    assert matched("sel:\n  target.displayName: 'okta admin console'\ncondition: sel",
                   okta(target=targets), okta(target=targets[:1])) == [True, False]


def test_each_item_reads_all_elements_independently() -> None:
    # No element has both; Sigma has no notion of "the same element" (object_lists).
    event = okta(target=[{"type": "User", "id": "1"}, {"type": "App", "id": "2"}])
    assert matched("sel:\n  target.type: User\n  target.id: '2'\ncondition: sel", event) == [True]


def test_negation_holds_only_when_no_element_matches() -> None:
    rule = "sel:\n  target.type: User\ncondition: not sel"
    assert matched(rule, okta(target=[{"type": "App"}, {"type": "User"}]),
                   okta(target=[{"type": "App"}]), okta(target=[])) == [False, True, True]


def test_nested_lists_and_mixed_scalars() -> None:
    event = okta(target=[
        "a scalar element has no keys",
        [{"detail": [{"v": "deep"}]}],
        {"detail": {"v": ["x", "y"]}},
        {"detail": []},
    ])
    assert matched("sel:\n  target.detail.v: deep\ncondition: sel", event) == [True]
    assert matched("sel:\n  target.detail.v: y\ncondition: sel", event) == [True]
    assert matched("sel:\n  target.detail.v|contains: scalar\ncondition: sel", event) == [False]


def test_exists_and_null_across_lists() -> None:
    exists = "sel:\n  target.id|exists: true\ncondition: sel"
    null = "sel:\n  target.id: null\ncondition: sel"
    events = [
        okta(target=[{"type": "User"}, {"id": None}]),  # the key is present (null): exists
        okta(target=[{"type": "User"}]),  # no element holds it
        okta(target=[]),  # an empty list holds no field below it
        okta(target=[{"id": "7"}]),
    ]
    assert matched(exists, *events) == [True, False, False, True]
    assert matched(null, *events) == [True, True, True, False]


def test_a_path_ending_on_objects_has_no_text() -> None:
    event = okta(target=[{"detail": {"v": "Admins"}}])
    assert matched("sel:\n  target.detail|contains: Admins\ncondition: sel", event) == [False]


def test_rule_index_agrees_with_the_rules() -> None:
    rules = [okta_rule("sel:\n  target.displayName|contains: console\ncondition: sel"),
             okta_rule("sel:\n  target.type: user\ncondition: sel")]
    index = RuleIndex.build([compile_rule(r) for r in rules])
    event = okta(target=[{"type": "App"}, {"displayName": "Admin Console", "type": "User"}])
    assert index.matches(event) == [0, 1]
    assert index.matches(okta(target=[{"type": "App"}])) == []


# --- property: an independent formulation ---------------------------------------------------

KEYS = ("a", "b", "c")
_scalar = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(["x", "y", ""]))
_json = st.recursive(
    _scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)),
    max_leaves=12,
)
_paths = st.lists(st.sampled_from(KEYS), min_size=2, max_size=4).map(tuple)


def _records(node: Any, keys: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every (key path, value) of a JSON value, array positions left out of the key path."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield keys + (key,), value
            yield from _records(value, keys + (key,))
    elif isinstance(node, list):
        for item in node:
            yield from _records(item, keys)


def _leaves(values: list[Any]) -> list[str]:
    out: list[str] = []
    for value in values:
        if isinstance(value, list):
            out.extend(_leaves(value))
        elif value is not None and not isinstance(value, dict):
            out.append(repr(value))
    return sorted(out)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), _json, max_size=3), _paths)
def test_path_reading_equals_the_enumeration_of_key_paths(event: dict[str, Any],
                                                          path: tuple[str, ...]) -> None:
    found = [value for keys, value in _records(event) if keys == path]
    got = field_getter(".".join(path))(event)
    assert (got is not MISSING) == bool(found)  # "exists"
    got_leaves = sorted(repr(v) for v in scalars(got) if not isinstance(v, dict))
    assert got_leaves == _leaves(found)


def test_keywords_read_the_objects_inside_lists() -> None:
    # "keywords": searched across the entire event, the elements of target[] included.
    rule = "keywords:\n  - 'admin console'\ncondition: keywords"
    assert matched(rule, okta(target=[{"type": "App"}, {"displayName": "Okta Admin Console"}]),
                   okta(target=[{"displayName": "Okta"}])) == [True, False]
    index = RuleIndex.build([compile_rule(okta_rule(rule))])
    assert index.matches(okta(target=[[{"x": {"y": ["Admin Console!"]}}]])) == [0]
