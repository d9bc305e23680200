"""Which literals the backtest files each target's tree under (``converter.backtesting.needs``,
``converter.ruleindex.needs.own_clauses``, ``choose_conditions``): every literal run of a glob is
offered, each tree keeps its necessary clauses on its own, and a group files the trees of one
target under their clauses but those most of them have (their logsource's constant). Soundness (a skipped event is one the tree finds false) is
``test_backtest_prefilter.py``'s subject; these tests check the choice."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from backends.query import ast
from converter.backtesting.engine import Engine, _Group
from converter.backtesting.needs import tree_form
from converter.backtesting.prepare import BacktestOptions, checker_for, load, rules_store
from converter.ruleindex.needs import Alt, choose_conditions, conditions_of, own_clauses

RULE = """\
title: Tool {n}
id: 0000000{n}-1111-4111-8111-111111111111
status: test
logsource: {{product: windows, category: process_creation}}
detection:
  selection:
    Image|endswith: '\\\\tool{n}.exe'
    CommandLine|contains: ' -x{n} '
  condition: selection
level: low
"""


def test_a_glob_offers_every_literal_run() -> None:
    glob = ast.Glob(field="f", parts=("ab", ast.Wildcard.ANY, "cdefg", ast.Wildcard.ONE, "h"),
                    case_sensitive=True)
    kind, children = tree_form(glob)
    assert kind == "and"
    assert [next(iter(need)).literal for _, need in children] == ["cdefg", "ab", "h"]
    # Globs sharing a long run, each with a rare short one: the short one is among the clauses
    # each is filed under (the longest run alone would file them all under the shared one).
    shared = "\\windows\\system32\\"
    forms = [tree_form(ast.Glob(field="f", parts=(ast.Wildcard.ANY, shared, ast.Wildcard.ANY,
                                                   f"x{n}.dll", ast.Wildcard.ANY),
                                case_sensitive=True)) for n in range(40)]
    for n, condition in enumerate(conditions_of(forms)):
        assert condition is not None
        assert frozenset({Alt("f", "contains", f"x{n}.dll", True)}) in condition


def _engine(rules: Path, targets: tuple[str, ...]) -> Engine:
    options = BacktestOptions(targets, (), None, None, 5, True, False)
    checker = checker_for(options)
    options = replace(options, targets=tuple(checker.targets))
    return Engine(load([str(rules)], rules_store(options)), options, checker=checker)


def test_conditions_are_chosen_per_group_among_each_trees_own_clauses(tmp_path: Path) -> None:
    """Each tree's clauses are derived from it alone (the same whichever rules are prepared
    with it); a group files each tree under its clauses but those most of the group's trees of
    that target have: Kusto's table, Splunk's source, which every routed event holds."""
    for n in range(1, 6):
        (tmp_path / f"r{n}.yml").write_text(RULE.format(n=n))
    targets = ("eql", "splunk", "kusto")
    engine = _engine(tmp_path, targets)
    members = tuple(range(5))
    engine.prepare(members)
    alone = _engine(tmp_path, targets)
    alone.prepare((3,))
    for target in targets:
        slots = [(i, target) for i in members]
        owns = [engine.targets[i][t].clauses for i, t in slots]
        assert owns == [own_clauses(tree_form(engine._tree(slot))) for slot in slots], target
        assert alone.targets[3][target].clauses == owns[3]
    group = _Group(engine, members)
    for target, field in (("kusto", "$table"), ("splunk", "source")):
        slots = [(i, target) for i in members]
        chosen = choose_conditions([engine.targets[i][target].clauses for i in members])
        assert [group.conditions[slot] for slot in slots] == chosen
        shared = set.intersection(*(set(engine.targets[i][target].clauses or ())
                                    for i in members))
        assert any(alt.field == field for clause in shared for alt in clause), shared
        for i, condition in zip(members, chosen):
            # Left out: each tree is filed under clauses naming its rule's own image or
            # command line.
            assert condition is not None and not shared & set(condition), condition
            assert all(any(f"tool{i + 1}.exe" in alt.literal or f"-x{i + 1}" in alt.literal
                           for alt in clause) for clause in condition), condition


def _need(*literals: str, field: str = "f") -> frozenset[Alt]:
    return frozenset(Alt(field, "contains", literal, False) for literal in literals)


def test_own_clauses_leave_out_clauses_another_implies() -> None:
    shared, longer, other = _need("ndows\\system32\\"), _need(":\\windows\\system32\\k.dll+"), _need("q")
    form = ("and", [("leaf", shared), ("leaf", other), ("leaf", longer)])
    assert own_clauses(form) == (longer, other)
    # An alternative on another field, or cased, implies nothing here.
    assert set(own_clauses(("and", [("leaf", shared), ("leaf", _need(":\\windows\\system32\\k",
                                                                     field="g"))])) or ()) == {
        shared, _need(":\\windows\\system32\\k", field="g")}
    # A clause of alternatives is implied when each of the other's alternatives implies one.
    either = _need("abc", "xyz")
    assert own_clauses(("and", [("leaf", either), ("leaf", _need("xxabcxx", "yxyzy"))])) == (
        _need("xxabcxx", "yxyzy"),)
    assert len(own_clauses(("and", [("leaf", either), ("leaf", _need("xxabcxx", "nope"))])) or ()) == 2
    starts = frozenset({Alt("f", "startswith", "ab", False)})
    equals = frozenset({Alt("f", "equals", "abc", False)})
    ends = frozenset({Alt("f", "endswith", "bc", False)})
    assert own_clauses(("and", [("leaf", starts), ("leaf", ends), ("leaf", equals)])) == (equals,)
    assert own_clauses(None) is None and own_clauses(("leaf", None)) is None


def test_choose_conditions_leaves_out_what_most_slots_have() -> None:
    common, rare = _need("source"), [_need(f"r{n}") for n in range(6)]
    owns: list = [(common, rare[n], _need(f"s{n}"), _need(f"t{n}")) for n in range(5)]
    owns += [(common,), None]
    chosen = choose_conditions(owns)
    for n in range(5):
        assert chosen[n] == (rare[n], _need(f"s{n}"), _need(f"t{n}"))
    assert chosen[5] == (common,) and chosen[6] is None  # no other clause: kept
    # Too few slots to tell: every clause is a candidate for the first places.
    assert choose_conditions(owns[:3])[0] == (common, rare[0], _need("s0"))
    assert choose_conditions(owns[:3], max_clauses=1)[0] == (common,)
