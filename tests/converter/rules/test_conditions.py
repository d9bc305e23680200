"""``converter.rules.conditions``: the condition trees of the fast parser are pySigma's (pyparsing's)
exactly, and every text it does not read goes to pySigma's parser (same tree or same error)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from sigma.conditions import SigmaCondition, _parse_condition_string
from sigma.exceptions import SigmaConditionError

from converter.rules.conditions import FastCondition, build, parse_shape
from converter.rules.load import load_rules

CORPUS = Path(__file__).resolve().parents[3] / ".." / "shared" / "corpus" / "sigmahq" / "rules"


def _same(a: Any, b: Any) -> bool:
    """The same tree: the same classes all the way down and equal values (``args`` included)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if hasattr(a, "args"):
        return repr(a) == repr(b) and _same(a.args, b.args)
    return bool(a == b)


def _pyparsing(text: str) -> Any:
    """pySigma's parse tree of ``text``, or the exception type it raises."""
    try:
        return _parse_condition_string(text)
    except Exception as exc:  # noqa: BLE001 - the kind of failure is what is compared
        return type(exc)


def _check(text: str) -> bool:
    """The fast parser reads ``text`` into pySigma's tree, or leaves it to pySigma; True when
    it read it."""
    shape = parse_shape(text)
    expected = _pyparsing(text)
    if shape is None:
        return False
    assert not isinstance(expected, type), f"{text!r}: pySigma refuses it, the fast parser reads it"
    assert _same(build(shape), expected), f"{text!r}: {build(shape)!r} != {expected!r}"
    return True


@pytest.mark.parametrize("text", [
    "selection", "selection and not filter", "sel1 or sel2 and sel3", "not not a",
    "a and b and c or d or e", "(a or b) and (c or d)", "((a))", "1 of selection_*",
    "all of them", "any of sel*", "1 of sel* and not 1 of filter_*", "a or(b)",
    "a\tand\nb", "-", "sel-1 and sel_2", "1sel", "not (a and not (b or c))",
])
def test_usual_conditions_are_read_and_give_pysigmas_tree(text: str) -> None:
    assert _check(text)


@pytest.mark.parametrize("text", [
    # pyparsing reads "not_filter" as "not _filter" and "nothing" as "not hing"; "and"/"or"
    # match inside words after an operand: left to pySigma, whatever it makes of them.
    "not_filter", "nothing", "a andb", "a and-b", "a origin", "sel AND f", "1 and b", "any",
    "1 of sel-*", "sel*", "", "   ", "(a", "a)", "a b", "a | count() > 5", "1 of", "of",
    "a\u00a0and b", "a and (" * 40 + "b" + ")" * 40,
])
def test_other_texts_are_left_to_pysigma(text: str) -> None:
    assert parse_shape(text) is None


_WORDS = ["a", "b", "sel_1", "filter-x", "1", "any", "all", "of", "them", "sel*", "*", "and",
          "or", "not", "not_a", "nothing", "andy", "order", "AND", "-", "x1", "(", ")", "((", "))"]


@settings(max_examples=800, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_WORDS), st.sampled_from([" ", "", "\t", "\n", "  "])),
                max_size=12))
def test_generated_conditions_are_pysigmas_trees_or_left_to_it(parts: list[tuple[str, str]]) -> None:
    _check("".join(word + space for word, space in parts))


def test_every_sigmahq_condition_gives_pysigmas_tree() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus not found: {CORPUS}")
    texts: set[str] = set()
    for path in sorted(CORPUS.rglob("*.yml")):
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        for document in yaml.load_all(path.read_text(encoding="utf-8"), Loader=loader):
            condition = ((document or {}).get("detection") or {}).get("condition")
            texts.update([condition] if isinstance(condition, str) else condition or [])
    read = sum(_check(text) for text in sorted(texts))
    # The fast path must be the usual one, or it saves nothing.
    assert read >= 0.95 * len(texts), f"{read} of {len(texts)} conditions read"


def test_a_loaded_rule_postprocesses_to_pysigmas_condition(tmp_path: Path) -> None:
    rule = tmp_path / "r.yml"
    rule.write_text(
        "title: t\nlogsource: {product: windows, category: process_creation}\n"
        "detection:\n  sel_a: {Image|endswith: '\\\\a.exe'}\n  sel_b: {CommandLine|contains: x}\n"
        "  filter_1: {User: SYSTEM}\n"
        "  condition: 1 of sel_* and not filter_1\n", encoding="utf-8")
    [loaded] = load_rules([rule])
    [condition] = loaded.rule.detection.parsed_condition
    assert type(condition) is FastCondition
    plain = SigmaCondition(condition.condition, condition.detections, condition.source)
    # Each postprocessing re-links the rule's detections to its tree: compared as built.
    for postprocess in (True, False):
        fast = repr(condition.parse(postprocess))
        assert fast == repr(plain.parse(postprocess))
        assert "ConditionOR" in fast if postprocess else "ConditionSelector" in fast


def test_an_unread_condition_raises_pysigmas_error() -> None:
    condition = FastCondition("sel AND f", None)  # type: ignore[arg-type]
    with pytest.raises(SigmaConditionError, match="Expected end of text"):
        condition.parse(False)
