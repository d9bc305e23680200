"""``BoundedPattern.compile`` (the text parsed once) against ``BoundedPattern(re.compile(...))``.

The evaluator's regexes are parsed once and that tree serves the bound checks and ``re``'s code
generation. These tests hold it to the two-step form it replaces: the same ``re.error`` (message
and position), the same refusals, the same text and ``regex`` flags, the same verdicts.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings, strategies as st

from backends.query.errors import UnsupportedQueryError
from backends.query.patterns import BoundedPattern

#: Generated patterns may hold "[[" (a FutureWarning of re about set syntax, in both forms).
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

_FLAGS = (0, re.IGNORECASE, re.DOTALL, re.ASCII | re.IGNORECASE, re.MULTILINE | re.DOTALL,
          re.VERBOSE)

#: Accepted patterns, inline flags, and each kind of refusal: a parse error, an error of ``re``'s
#: code generation alone (variable-width look-behind), a scoped case group in an alternative, a
#: repeat past the expansion bound, a VERBOSE re-parse.
_PATTERNS = ("abc", "(?s)a.b", "(?i)abc", "(?x) a b # c", "(?i:a)b", "a|(?i:b)", "(?<=ab)c",
             "(?<=a+)b", "(?<!ab|c)d", "(", "a{2,1}", "[z-a]", "(?P<n>a)(?P=n)", "a{1000}{1000}",
             "((ab{1000}){1000}){1000}", r"\bword\b", r"[\w\s]+\d", "(?ms)^a$", "(?a)\\w",
             "x(?i)y", "(?<=a|bc)d", "a**", "[^Ss]|(?i:-)", "\\", r"(?<=\d{2})x", "(?u)[ſ]")
_VALUES = ("", "abc", "ABC", "a\nb", "aab", "word here", "ab c", "12x", "\u017f", "-", "xY",
           "dd", "bcd")


def _outcome(make: object) -> tuple:
    """What building a pattern gives: its text and regex flags, or the error it raises."""
    try:
        pattern = make()  # type: ignore[operator]
    except re.error as exc:
        return ("re.error", exc.msg, exc.pos)
    except UnsupportedQueryError as exc:
        return ("unsupported", str(exc))
    except ValueError as exc:  # incompatible flags (re's fix_flags)
        return ("ValueError", str(exc))
    return ("ok", pattern._source, pattern._bits, pattern.pattern)


def _verdicts(pattern: BoundedPattern) -> list:
    return [(pattern.search(v) is not None, pattern.fullmatch(v) is not None) for v in _VALUES]


@pytest.mark.parametrize("flags", _FLAGS)
@pytest.mark.parametrize("source", _PATTERNS)
def test_compile_is_the_two_step_form(source: str, flags: int) -> None:
    old = _outcome(lambda: BoundedPattern(re.compile(source, flags), source))
    new = _outcome(lambda: BoundedPattern.compile(source, flags, source))
    assert new == old
    if old[0] == "ok":
        assert _verdicts(BoundedPattern.compile(source, flags, source)) == _verdicts(
            BoundedPattern(re.compile(source, flags), source))


def test_each_refusal_is_exercised() -> None:
    """The list above reaches every branch: so the equality test compares each of them."""
    kinds = {_outcome(lambda: BoundedPattern.compile(p, 0, p))[0] for p in _PATTERNS}
    assert kinds == {"ok", "re.error", "unsupported"}
    assert _outcome(lambda: BoundedPattern.compile("(?u)a", re.ASCII, "x"))[0] == "ValueError"
    assert _outcome(lambda: BoundedPattern.compile("(?<=a+)b", 0, "x"))[1] == \
        "look-behind requires fixed-width pattern"


@settings(max_examples=500, deadline=None)
@given(source=st.text(st.sampled_from(list("ab()[]|*+?{}12,^$\\.-:=!<>iPsx# ")), max_size=12),
       flags=st.sampled_from(_FLAGS))
def test_compile_is_the_two_step_form_on_generated_patterns(source: str, flags: int) -> None:
    old = _outcome(lambda: BoundedPattern(re.compile(source, flags), source))
    assert _outcome(lambda: BoundedPattern.compile(source, flags, source)) == old
