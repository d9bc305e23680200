"""The backtest's target prefilter is sound: it never skips an event a target's own tree matches.

The prefilter (``converter.backtest_needs``) files each query tree under the literals the tree
itself needs, folded for the leaf's engine readings (``backends/query/folding.py``). A target is
evaluated on every event its query could match, whatever the reference does, so a skipped event
must be one the shared evaluator (``backends/query/evaluate.py``) finds false. These tests check
that on generated leaves and values, with the case partners where the readings differ (``ſ``,
``İ``, the Kelvin sign, final sigma), and on whole backtests of generated events.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from backends.query import ast
from backends.query.errors import QueryError
from backends.query.evaluate import compile_query
from backends.query.patterns import MatchTimeout
from converter.backtesting.run import run_backtest
from backends.query.indexed import Event
from converter.backtesting.engine import _tree_lookup, tree_candidates
from converter.backtesting.needs import coarse_fold, tree_form
from converter.ruleindex.index import LiteralIndex
from converter.ruleindex.needs import choose_conditions, conditions_of, own_clauses

#: Letters whose case partners differ between the engines' folding readings, and plain ones.
ALPHABET = "aiksIKSxİıſKΣσςßẞ\\ .-"
TEXT = st.text(alphabet=ALPHABET, min_size=0, max_size=8)
LITERAL = st.text(alphabet=ALPHABET, min_size=1, max_size=4)
FOLDS = st.sampled_from(list(ast.Fold))
PARTS = st.lists(st.one_of(LITERAL, st.sampled_from([ast.Wildcard.ANY, ast.Wildcard.ONE])),
                 min_size=1, max_size=4).map(tuple)


def _candidate(node: ast.Node, event: dict[str, Any]) -> bool:
    """Whether the prefilter lets ``event`` reach ``node``, through both of the engine's paths
    (``tree_candidates``, which the engine runs, and the plain ``candidates``), which agree;
    filed under the clauses the engine chooses (``own_clauses``, ``choose_conditions``) and
    under ``conditions_of``'s, both of which must let it through."""
    through = []
    for condition in (choose_conditions([own_clauses(tree_form(node))])[0],
                      conditions_of([tree_form(node)])[0]):
        index = LiteralIndex([("slot", condition)], folding=coarse_fold)
        fast = "slot" in tree_candidates(index, Event(event))
        assert fast == ("slot" in index.candidates(_tree_lookup(event))), (node, event)
        through.append(fast)
    return all(through)


def _matches(node: ast.Node, event: dict[str, Any]) -> bool | None:
    """The evaluator's verdict, None when it cannot decide (readings disagree, time limit)."""
    try:
        return compile_query(node)(event) is True
    except (QueryError, MatchTimeout):
        return None


def _sound(node: ast.Node, event: dict[str, Any]) -> None:
    if _matches(node, event):
        assert _candidate(node, event), (node, event)


@settings(max_examples=400, deadline=None)
@given(value=LITERAL, text=TEXT, case_sensitive=st.booleans(), lowercase=st.booleans(),
       fold=FOLDS)
@example(value="s", text="ſ", case_sensitive=False, lowercase=False, fold=ast.Fold.UNICODE)
@example(value="ix", text="İX", case_sensitive=False, lowercase=False, fold=ast.Fold.SIMPLE)
@example(value="σ", text="aΣ", case_sensitive=False, lowercase=False, fold=ast.Fold.SIMPLE)
def test_equals_prefilter_is_sound(value: str, text: str, case_sensitive: bool, lowercase: bool,
                                   fold: ast.Fold) -> None:
    node = ast.Equals(field="f", value=value, case_sensitive=case_sensitive,
                      lowercase_value=lowercase, fold=fold)
    _sound(node, {"f": text})
    _sound(node, {"f": [text, "x"]})


@settings(max_examples=400, deadline=None)
@given(parts=PARTS, text=TEXT, case_sensitive=st.booleans(), lowercase=st.booleans(),
       fold=FOLDS)
@example(parts=(ast.Wildcard.ANY, "ks"), text="aKſ", case_sensitive=False, lowercase=False,
         fold=ast.Fold.UNICODE)
@example(parts=("i", ast.Wildcard.ANY), text="İ", case_sensitive=True, lowercase=True,
         fold=ast.Fold.SIMPLE)
def test_glob_prefilter_is_sound(parts: tuple[ast.GlobPart, ...], text: str,
                                 case_sensitive: bool, lowercase: bool, fold: ast.Fold) -> None:
    node = ast.Glob(field="f", parts=parts, case_sensitive=case_sensitive,
                    lowercase_value=lowercase, fold=fold)
    _sound(node, {"f": text})


@settings(max_examples=300, deadline=None)
@given(parts=PARTS, text=TEXT, case_sensitive=st.booleans(), fold=FOLDS,
       fields=st.sampled_from([(), ("f",)]))
@example(parts=(ast.Wildcard.ANY, "s", ast.Wildcard.ANY), text="ſ", case_sensitive=False,
         fold=ast.Fold.UNICODE, fields=())
def test_keyword_prefilter_is_sound(parts: tuple[ast.GlobPart, ...], text: str,
                                    case_sensitive: bool, fold: ast.Fold,
                                    fields: tuple[str, ...]) -> None:
    node = ast.Keyword(parts=parts, case_sensitive=case_sensitive, fields=fields, fold=fold)
    _sound(node, {"f": text, "g": "zzz"})


#: Leaves a group's trees share or not: one every tree holds is common in the group.
GROUP_LEAVES = st.lists(st.tuples(st.sampled_from(["f", "g"]), LITERAL, st.booleans()),
                        min_size=1, max_size=3)


@settings(max_examples=300, deadline=None)
@given(shared=st.tuples(st.sampled_from(["f", "g"]), LITERAL, st.booleans()),
       trees=st.lists(st.tuples(GROUP_LEAVES, st.booleans()), min_size=1, max_size=7),
       event=st.fixed_dictionaries({"f": TEXT, "g": TEXT}))
def test_group_choice_is_sound(shared: tuple[str, str, bool],
                               trees: list[tuple[list[tuple[str, str, bool]], bool]],
                               event: dict[str, Any]) -> None:
    # Trees filed together (the engine's per-group choice, which leaves out the clauses most
    # of them have): every tree that matches the event is a candidate.
    def leaf(field: str, value: str, cased: bool) -> ast.Node:
        return ast.Glob(field=field, parts=(ast.Wildcard.ANY, value, ast.Wildcard.ANY),
                        case_sensitive=cased)

    nodes = [ast.And((leaf(*shared), (ast.Or if either else ast.And)(
        tuple(leaf(*spec) for spec in leaves)))) for leaves, either in trees]
    owns = [own_clauses(tree_form(node)) for node in nodes]
    index = LiteralIndex(list(enumerate(choose_conditions(owns))), folding=coarse_fold)
    candidates = tree_candidates(index, Event(event))
    for position, node in enumerate(nodes):
        if _matches(node, event):
            assert position in candidates, (node, event)


#: Event values of every shape a rendered event holds: text, numbers, booleans, nulls, lists.
SHAPES = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-2, 2), TEXT),
                      lambda inner: st.lists(inner, max_size=3), max_leaves=4)


@settings(max_examples=300, deadline=None)
@given(value=LITERAL, parts=PARTS, plain=SHAPES, nested=SHAPES, flat=st.booleans(),
       case_sensitive=st.booleans(), fold=FOLDS, both=st.booleans())
@example(value="1", parts=("true",), plain=1, nested=True, flat=False, case_sensitive=True,
         fold=ast.Fold.SIMPLE, both=False)
def test_engine_candidates_on_every_value_shape(value: str, parts: tuple[ast.GlobPart, ...],
                                                plain: Any, nested: Any, flat: bool,
                                                case_sensitive: bool, fold: ast.Fold,
                                                both: bool) -> None:
    # ``tree_candidates`` reads a field holding one string as is, anything else as
    # ``tree_texts`` gives it: both paths agree (``_candidate``) and stay sound.
    leaves = (ast.Equals(field="f", value=value, case_sensitive=case_sensitive, fold=fold),
              ast.Glob(field="p.q", parts=parts, case_sensitive=case_sensitive, fold=fold))
    node = ast.And(leaves) if both else ast.Or(leaves)
    event = {"f": plain, **({"p.q": nested} if flat else {"p": {"q": nested}})}
    _candidate(node, event)
    _sound(node, event)


#: Case partners a text may put in place of a pattern letter (every reading's, and none).
PARTNERS = {"a": "aA", "i": "iIİı", "k": "kKK", "s": "sSſ", "x": "xX"}


@st.composite
def _regex_case(draw: Any, dialect: str) -> tuple[str, str]:
    """A pattern of literal letters, escaped punctuation, case-pair classes, one-letter
    alternations, ``.``, classes and quantifiers in ``dialect``, and a text built to match it up
    to case (each letter drawn from its case partners)."""
    pattern, text = [], []
    for _ in range(draw(st.integers(1, 6))):
        letter = draw(st.sampled_from(sorted(PARTNERS)))
        shown = draw(st.sampled_from(PARTNERS[letter]))
        kind = draw(st.sampled_from(["plain", "class", "group", "escape", "dot", "digit"]))
        if kind == "plain":
            piece, typed = letter, shown
        elif kind == "class":
            piece, typed = f"[{PARTNERS[letter][:draw(st.integers(1, 4))]}]", shown
        elif kind == "group" and dialect != "LUCENE":
            piece, typed = "(?:" + "|".join(PARTNERS[letter][:3]) + ")", shown
        elif kind == "escape":
            piece, typed = draw(st.sampled_from(["\\.", "\\-", "\\\\", "\\/"])), ""
            typed = piece[1]
        elif kind == "digit":
            piece, typed = "\\d", draw(st.sampled_from("07"))
        else:
            piece, typed = ".", draw(st.sampled_from("a.İ"))
        quantifier = draw(st.sampled_from(["", "", "", "?", "*", "+", "{0,2}"]))
        if quantifier and draw(st.booleans()):
            typed = ""  # the optional item left out (where the quantifier allows it)
        pattern.append(piece + quantifier)
        text.append(typed)
    return "".join(pattern), draw(st.sampled_from(["", "z"])) + "".join(text)


#: The folds a regex leaf carries (``full`` is ES|QL's LIKE on TO_LOWER, never a regex's).
REGEX_FOLDS = st.sampled_from([f for f in ast.Fold if "full" not in f.readings])


@pytest.mark.parametrize("dialect", ["LUCENE", "PCRE", "RE2"])
@settings(max_examples=300, deadline=None)
@given(data=st.data(), case_sensitive=st.booleans(), lowercase=st.booleans(), fold=REGEX_FOLDS,
       anchored=st.booleans())
def test_regex_prefilter_is_sound(dialect: str, data: Any, case_sensitive: bool,
                                  lowercase: bool, fold: ast.Fold, anchored: bool) -> None:
    # Each dialect's own pattern, under every caseless reading and the lowercase normalizer.
    pattern, text = data.draw(_regex_case(dialect))
    if dialect == "LUCENE":
        pattern, anchored = ".*" + pattern, True
    node = ast.Regex(field="f", pattern=pattern, dialect=ast.RegexDialect[dialect],
                     anchored=anchored, case_sensitive=case_sensitive,
                     lowercase_value=lowercase and dialect == "LUCENE",
                     fold=fold if dialect == "LUCENE" or not case_sensitive else ast.Fold.SIMPLE)
    _sound(node, {"f": text})
    _sound(node, {"f": [text.upper(), text]})


def test_caseless_partners_of_run_letters_share_their_coarse_fold() -> None:
    # regex_literal keeps characters whose coarse fold is ASCII; every character the engines
    # that run the patterns (the regex package for PCRE and Lucene, RE2 for Kusto) let match
    # one of them caselessly must fold to the same, over all of Unicode.
    import re2
    import regex

    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    kept = [c for c in every[:0x20000] if coarse_fold(c).isascii() and c.isprintable()]
    assert len(kept) > 95  # ASCII and its case partners (Kelvin sign, long s, dotted I...)
    for char in kept:
        found = set(regex.findall(regex.escape(char), every, regex.IGNORECASE))
        found |= set(regex.findall(regex.escape(char), every, regex.IGNORECASE | regex.ASCII))
        found |= set(re2.findall("(?i)" + re2.escape(char), every))
        assert {coarse_fold(f) for f in found} == {coarse_fold(char)}, char


def test_coarse_fold_joins_every_reading() -> None:
    # simple lowercase (İ -> i), Unicode simple folding (ſ -> s, Kelvin sign -> k), ASCII.
    assert coarse_fold("İſKΣ") == coarse_fold("isks") [:3] + coarse_fold("σ")
    assert coarse_fold("ς") == coarse_fold("σ") == coarse_fold("Σ")
    assert coarse_fold("ABC") == "abc"
    assert len(coarse_fold("İ")) == 1  # one code point for one, never str.lower's two
    # A reading that lengthens a string (full lowercasing: U+0130 to i + U+0307) neither shifts
    # the classes of the code points after it nor gives its leaves a literal.
    assert coarse_fold("ſKΣ") == "sk" + coarse_fold("σ")
    full = ast.Equals(field="f", value="i\u0307x", case_sensitive=False,
                      fold=ast.Fold.FULL_OR_ASCII_OR_UNICODE)
    assert tree_form(full) == ("leaf", None)
    assert tree_form(ast.Equals(field="f", value="ix", case_sensitive=False))[1]


# -- whole backtests: prefiltered and exhaustive evaluation agree for every target ----------------

RULE = """\
title: Tricky Case Partners
id: 77777777-7777-4777-8777-777777777777
status: test
logsource: {{product: windows, category: process_creation}}
detection:
  selection:
    Image|endswith: '{image}'
    CommandLine|contains: '{command}'
  keywords:
    - '{keyword}'
  condition: selection or keywords
level: low
"""


def _events(path: Path) -> Path:
    """Generated events of the rules under ``path`` with case-partner variants of each value."""
    from converter.generate.generator import generate_events
    from converter.rules.load import load_rules

    lines = []
    swaps = {"s": "ſ", "k": "K", "i": "İ", "S": "ſ", "K": "K", "I": "İ"}
    for loaded in load_rules([path]):
        for sample in generate_events(loaded.rule, count=40):
            event = {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
                     **sample.fields}
            lines.append(json.dumps(event))
            for old, new in swaps.items():
                changed = {k: v.replace(old, new) if isinstance(v, str) else v
                           for k, v in event.items() if k not in ("Channel",)}
                lines.append(json.dumps({**event, **changed}))
    out = path.parent / "events.jsonl"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


@pytest.mark.parametrize("image,command,keyword", [
    ("\\\\schtasks.exe", "/create", "mimikatz"),
    ("\\\\ſvchost.exe", "-K netſvcs", "İnvoke-Kerberoast"),
])
def test_prefiltered_backtest_equals_exhaustive(tmp_path: Path, image: str, command: str,
                                                 keyword: str) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "tricky.yml").write_text(RULE.format(image=image, command=command, keyword=keyword),
                                      encoding="utf-8")
    events = _events(rules)
    fast = run_backtest([rules], [events], workers=1)
    slow = run_backtest([rules], [events], workers=1, prefilter=False)
    assert fast.events == slow.events > 10
    assert fast.to_json()["rules"] == slow.to_json()["rules"]
    targets = fast.to_json()["rules"][0]["targets"]
    assert set(targets) == set(fast.targets) and len(targets) >= 5


def test_a_too_sharp_prefilter_fails_the_comparison(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison above catches an unsound prefilter: a mutant that reads an OR's first
    branch alone (its clauses are not necessary for the others) loses hits of the keyword
    branch, so prefiltered and exhaustive reports differ."""
    import converter.ruleindex.needs as needs

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "tricky.yml").write_text(RULE.format(image="\\\\schtasks.exe", command="/create",
                                                  keyword="mimikatz"), encoding="utf-8")
    events = _events(rules)
    slow = run_backtest([rules], [events], workers=1, prefilter=False, cache=False)
    fast = run_backtest([rules], [events], workers=1, cache=False)
    assert fast.to_json()["rules"] == slow.to_json()["rules"]
    real = needs.clauses_of

    def first_branch(form: Any, freq: Any) -> Any:
        kind, payload = form
        return real(payload[0], freq) if kind == "or" and payload else real(form, freq)

    monkeypatch.setattr(needs, "clauses_of", first_branch)
    mutant = run_backtest([rules], [events], workers=1, cache=False)
    assert mutant.to_json()["rules"] != slow.to_json()["rules"]
