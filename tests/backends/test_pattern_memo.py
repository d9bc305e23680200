"""The regex translators' memo (``backends/query/pattern_memo.py``): one result per distinct
arguments, recorded for a caller that stores them, and seeded back from a pickle."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from backends.query import pattern_memo
from backends.query.errors import UnsupportedQueryError
from backends.query.lucene_regex import lucene_regex
from backends.query.pcre import pcre_regex
from backends.query.re2 import re2_plain_shape


@pytest.fixture(autouse=True)
def _fresh_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pattern_memo, "_RESULTS", {})
    monkeypatch.setattr(pattern_memo, "_OPEN", [])


def test_equal_arguments_give_the_first_result_and_a_raise_is_not_kept() -> None:
    calls: list[Any] = []

    @pattern_memo.remembered("test-double")
    def double(value: int, twice: bool = True) -> list[int]:
        calls.append(value)
        if value < 0:
            raise ValueError(value)
        return [value * 2] if twice else [value]

    assert double(2) is double(2) and calls == [2]
    assert double(2, twice=False) == [2] and calls == [2, 2]  # keyword arguments are keys too
    for _ in range(2):
        with pytest.raises(ValueError):
            double(-1)
    assert calls == [2, 2, -1, -1]
    with pytest.raises(ValueError, match="already remembered"):
        pattern_memo.remembered("test-double")


def test_a_recording_holds_every_result_asked_for_computed_or_remembered() -> None:
    first = pcre_regex("who.mi", "", False, False)
    with pattern_memo.recording() as outer:
        with pattern_memo.recording() as inner:
            assert pcre_regex("who.mi", "", False, False) is first  # remembered
            shape = re2_plain_shape("net\\.exe")  # computed
        lucene_regex("c[a-z]d")
    assert set(inner.values()) == {first, shape}
    assert len(outer) == 3 and inner.items() <= outer.items()


def test_seeded_results_replace_the_translation_and_match_alike(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    patterns = [("pcre_regex", ("^c.d\\.exe$", "i", True, False)),
                ("lucene_regex", (".*who[a-z]mi.*", False, "ascii")),
                ("re2_plain_shape", ("net[.]exe", ""))]
    functions = {"pcre_regex": pcre_regex, "lucene_regex": lucene_regex,
                 "re2_plain_shape": re2_plain_shape}
    with pattern_memo.recording() as used:
        made = [functions[name](*args) for name, args in patterns]
    stored = pickle.loads(pickle.dumps(used))  # what the backtest's cache keeps
    monkeypatch.setattr(pattern_memo, "_RESULTS", {})
    assert pattern_memo.seed(stored)
    from backends.query import patterns as bounded

    monkeypatch.setattr(bounded.BoundedPattern, "compile",
                        lambda *a: pytest.fail("translated again"))
    again = [functions[name](*args) for name, args in patterns]
    assert again[2] == made[2]
    for value in ("CMD.EXE", "xcmd.exe", "whoami", "xWhoAmI!", "who-mi", ""):
        assert bool(again[0].search(value)) == bool(made[0].search(value))
        assert again[1].tester(True)(value) == made[1].tester(True)(value)


@pytest.mark.parametrize("foreign", [None, ["a"], {("unknown", (), ()): 1}, {"k": 1},
                                     {("pcre_regex", "not a tuple", ()): 1}])
def test_a_foreign_value_seeds_nothing(foreign: Any) -> None:
    assert not pattern_memo.seed(foreign)
    assert not pattern_memo._RESULTS


def test_an_unsupported_pattern_still_raises_every_time() -> None:
    for _ in range(2):
        with pytest.raises(UnsupportedQueryError):
            pcre_regex("a++")
