"""Which literals the backtest files each target's tree under (``converter.backtesting.needs``,
``Engine._conditions``): every literal run of a glob is offered, and the trees of one target are
costed among themselves, so that a literal all of them test (their logsource's constant) counts
as common. Soundness (a skipped event is one the tree finds false) is
``test_backtest_prefilter.py``'s subject; these tests check the choice."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from backends.query import ast
from converter.backtesting.engine import Engine
from converter.backtesting.needs import tree_form
from converter.backtesting.prepare import BacktestOptions, checker_for, load, rules_store
from converter.ruleindex.needs import Alt, conditions_of

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


def test_trees_are_costed_per_target(tmp_path: Path) -> None:
    """The engine's conditions are ``conditions_of`` over each target's trees alone."""
    for n in range(1, 6):
        (tmp_path / f"r{n}.yml").write_text(RULE.format(n=n))
    options = BacktestOptions(("eql", "splunk", "kusto"), (), None, None, 5, True, False)
    checker = checker_for(options)
    options = replace(options, targets=tuple(checker.targets))
    engine = Engine(load([str(tmp_path)], rules_store(options)), options, checker=checker)
    members = tuple(range(5))
    engine.prepare(members)
    for target in ("eql", "splunk", "kusto"):
        slots = [(i, target) for i in members]
        expected = conditions_of([tree_form(engine._tree(slot)) for slot in slots])
        assert [engine.tree_conditions[slot] for slot in slots] == expected, target
    # Kusto's table is a literal every Kusto tree tests: not the first clause a tree is filed
    # under (among every target's trees it looked rare, and came first).
    for i in members:
        condition = engine.tree_conditions[(i, "kusto")]
        assert condition is not None
        assert all(alt.field != "$table" for alt in condition[0]), condition
