"""The ``regex`` package misreads a scoped case flag inside an alternative; the reference and the
query layer refuse that shape instead of deciding it wrongly.

``converter/reference/engine_gaps.py`` states the gap. ``re`` is the oracle for the meaning (the
reference validates with ``re`` and states ``re``'s meaning; ``regex`` only runs it, for the time
limit).
"""

from __future__ import annotations

import re

import pytest
import regex

from backends.query.errors import UnsupportedQueryError
from backends.query.patterns import BoundedPattern
from converter.checking.checker import Checker
from converter.events.render import SampleEvent
from converter.reference.engine_gaps import scoped_case_in_alternation
from converter.reference.values import Unsupported, compiled_regex
from converter.rules.load import load_text

LONG_S = "\u017f"  # LATIN SMALL LETTER LONG S: folds to s
#: (pattern, subject) on which regex 2026.12.2 finds no match and re finds one.
MISREAD = [
    (r"[^Ss]|(?i:-)", LONG_S),
    (r"[^Ss]|(?i:0)", LONG_S),
    (r"[^Ss]|(?i:\x00)", LONG_S),
    (r"[^a-zA-Z]|(?i:\x00)", LONG_S),
    (r"[^a-zA-Z]|(?i:\x00)", "K"),
    (r"(?i:-)|[^Ss]", LONG_S),
    (r"x|[^Ss]|(?i:-)", LONG_S),
    (r"(?:[^Ss]|(?i:-))x", LONG_S + "x"),
    (r"[^Ss]+|(?i:-)", LONG_S),
    (r"[^Ss]|(?i:[-])", LONG_S),
    (r"\W|(?i:\0)", "KK" + LONG_S + "\u0130"),  # found by test_translation_matches_search
]


@pytest.mark.xfail(strict=True, reason="regex applies a branch's scoped (?i:) to the others")
@pytest.mark.parametrize(("pattern", "subject"), MISREAD)
def test_upstream_regex_agrees_with_re(pattern: str, subject: str) -> None:
    # Passes (and so fails this strict xfail) once a regex release fixes it: then the refusal in
    # engine_gaps.py and patterns.py can go.
    assert re.search(pattern, subject) is not None
    assert regex.search(pattern, subject) is not None


@pytest.mark.parametrize(("pattern", "subject"), MISREAD)
def test_reference_refuses_the_misread_shape(pattern: str, subject: str) -> None:
    del subject
    with pytest.raises(Unsupported, match="scoped"):
        compiled_regex(pattern, 0)


@pytest.mark.parametrize(("pattern", "subject"), MISREAD)
def test_query_layer_refuses_the_misread_shape(pattern: str, subject: str) -> None:
    del subject
    with pytest.raises(UnsupportedQueryError, match="scoped"):
        BoundedPattern(re.compile(pattern), pattern)


@pytest.mark.parametrize(
    "pattern",
    [r"[^Ss]|(?-i:-)", r"(?i)[^Ss]|(?-i:-)", r"(a)?(?(1)(?i:x)|y)", r"(?=[^S]|(?i:-))",
     r"(?:x|(?:(?i:-)+))", r"(?:a|b(?i:c))d"],
)
def test_every_scoped_case_group_in_an_alternative_is_detected(pattern: str) -> None:
    assert scoped_case_in_alternation(re.compile(pattern))
    with pytest.raises(UnsupportedQueryError):
        BoundedPattern(re.compile(pattern), pattern)


@pytest.mark.parametrize(
    ("pattern", "yes", "no"),
    [
        # Shapes regex reads as re does: still decided, with re's answer.
        (r"[^Ss]|\x00", [LONG_S, "\x00"], ["s", "S"]),
        (r"a(?i:b)c", ["aBc", "abc"], ["ABc"]),
        (r"(?i:a|b)", ["A", "b"], ["c"]),
        (r"(?i)[^Ss]|-", ["x", "-"], ["s", LONG_S]),
        (r"[^Ss]|-", [LONG_S, "-"], ["s", "S"]),
    ],
)
def test_other_shapes_are_decided_as_re_decides(pattern: str, yes: list[str], no: list[str]) -> None:
    assert not scoped_case_in_alternation(re.compile(pattern))
    bounded = compiled_regex(pattern, 0)
    query = BoundedPattern(re.compile(pattern), pattern)
    for subject in yes + no:
        expected = re.search(pattern, subject) is not None
        assert expected == (subject in yes), subject
        assert bounded.search(subject) is expected, subject
        assert (query.search(subject) is not None) is expected, subject


def test_a_rule_with_the_shape_is_not_decided_by_check() -> None:
    rule = load_text(
        "title: Probe\nid: 5f0c3c7e-2222-4a1a-9a9a-000000000043\n"
        "logsource:\n  category: process_creation\n  product: windows\n"
        "detection:\n  sel:\n    CommandLine|re: '[^Ss]|(?i:-)'\n  condition: sel\n",
        "probe.yml",
    )[0]
    event = SampleEvent({"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
                         "Image": "C:\\x.exe", "CommandLine": LONG_S}, None, None, "e", None)
    result = Checker(["eql"]).check(rule, [event])
    assert result.reference_unsupported is not None
    assert "scoped" in result.reference_unsupported
