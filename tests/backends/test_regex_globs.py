"""A Sigma regex written as wildcard values (``backends/regex_globs.py``) means exactly the regex.

* ``test_globs_match_search``: random patterns from a grammar of the shapes the translation
  accepts (literals, small classes, shorthands, ``.`` under ``|s``, groups, alternation, bounded and
  edge repetition, anchors, the ``|i|m|s`` flags) plus shapes it must refuse, on random strings:
  the reference's regex search equals the reference's match of the OR of the wildcard values.
  Breaking the anchoring, the ``$``-before-newline rule, the newline exclusion of ``.`` or the
  ``|i`` folding makes it fail (``test_known_cases`` pins each one).
* ``test_end_to_end_through_the_checker``: such regexes as Sigma rules, converted by the KQL and
  Elasticsearch KQL emitters, read by their interpreters and compared with the reference on
  events: never a disagreement.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sigma.types import SigmaCasedString

from backends.regex_globs import MAX_GLOBS, NotGlobs, regex_globs
from converter.checking.checker import Checker
from converter.events.render import SampleEvent
from converter.generate.generator import generate_events
from converter.outputs.index_template import propose, template_body
from converter.reference.values import Unsupported, compiled_regex, value_test
from converter.rules.load import load_text

SYSMON = "Microsoft-Windows-Sysmon/Operational"
#: Characters of the patterns: letters with special case partners, wildcard and regex operators
#: as literals, whitespace.
LITERALS = "aAbsSkKiI0-.*?\\ \n"
#: Characters of the subjects: the above plus the partners (long s, Kelvin sign, dotted and
#: dotless I), other whitespace and a non-ASCII letter.
SUBJECT = "aAbBsSkKiI019-.*?\\ \t\n\r\u017f\u212a\u0130\u0131\u00e9x"
_SPECIAL = set("\\.^$*+?()[]{}|")


def _lit(char: str) -> str:
    return "\\" + char if char in _SPECIAL else ("\\n" if char == "\n" else char)


LEAVES = st.one_of(
    st.sampled_from(LITERALS).map(_lit),
    st.sampled_from(["[ab]", "[0-2]", "[sk]", "[Aa]", "[a-c]", "\\d", "\\s", "[\\s-]", "[^a]",
                     "\\S", "\\b"]),
    st.just("."),
)
QUANTIFIERS = st.sampled_from(["", "", "", "?", "{2}", "{0,2}", "{1,2}", "*", "+", "+?"])


def sequences(atom: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.lists(st.tuples(atom, QUANTIFIERS).map("".join), max_size=4).map("".join)


ATOMS = st.recursive(
    LEAVES,
    lambda inner: st.builds(
        lambda opener, branches: opener + "|".join(branches) + ")",
        st.sampled_from(["(", "(?:"]),
        st.lists(sequences(inner), min_size=1, max_size=3),
    ),
    max_leaves=5,
)


@st.composite
def patterns(draw: st.DrawFn) -> tuple[str, str]:
    """(pattern, sigma flag letters)."""
    flags = "".join(f for f in "ims" if draw(st.booleans()))
    branches = []
    for _ in range(draw(st.integers(1, 2))):
        start = draw(st.sampled_from(["", "", "^", "\\A", "(?:^|-)"]))
        end = draw(st.sampled_from(["", "", "$", "\\Z", "(?:$|-)"]))
        branches.append(start + draw(sequences(ATOMS)) + end)
    lead = draw(st.sampled_from(["", "", "(?i)", "(?s)", "(?m)"]))
    return lead + "|".join(branches), flags


def _flags(letters: str) -> dict[str, bool]:
    return {"ignorecase": "i" in letters, "multiline": "m" in letters, "dotall": "s" in letters}


def _re_flags(letters: str) -> int:
    import re

    bits = 0
    for letter, bit in (("i", re.IGNORECASE), ("m", re.MULTILINE), ("s", re.DOTALL)):
        if letter in letters:
            bits |= bit
    return bits


@lru_cache(maxsize=2048)
def _search(pattern: str, letters: str):  # type: ignore[no-untyped-def]
    try:
        return compiled_regex(pattern, _re_flags(letters)).search
    except Unsupported:
        return None


def _matcher(pattern: str, letters: str):  # type: ignore[no-untyped-def]
    """The OR of the reference's tests of the wildcard values, or None when refused."""
    try:
        values = regex_globs(pattern, **_flags(letters)).values
    except NotGlobs:
        return None
    assert len(values) <= MAX_GLOBS
    tests = [value_test(v, keyword=False) for v in values]
    return lambda s: any(t(s) for t in tests)


def _subjects(draw: st.DrawFn, pattern: str) -> list[str]:
    own = "".join(sorted(set(pattern.replace("\\n", "\n")) & set(SUBJECT))) or SUBJECT
    text = st.one_of(st.text(alphabet=own, max_size=7), st.text(alphabet=SUBJECT, max_size=7))
    return draw(st.lists(text, min_size=6, max_size=12))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=patterns(), data=st.data())
def test_globs_match_search(case: tuple[str, str], data: st.DataObject) -> None:
    pattern, letters = case
    search = _search(pattern, letters)
    assume(search is not None)
    matcher = _matcher(pattern, letters)
    assume(matcher is not None)
    for subject in _subjects(data.draw, pattern) + ["", "\n", "a\n", "\na", "k\u212a\u017f\u0130"]:
        assert matcher(subject) == search(subject), (pattern, letters, subject)


@pytest.mark.parametrize(
    ("pattern", "letters", "yes", "no"),
    [
        ("\\.exe$", "", ["a.exe", "a.exe\n"], ["a.exe\n\n", "a.exex", ".ex"]),
        ("\\.exe\\Z", "", ["a.exe"], ["a.exe\n"]),
        ("^cmd", "", ["cmd.exe"], ["x cmd", "\ncmd"]),
        ("^cmd", "m", ["cmd", "x\ncmd"], ["x cmd"]),
        ("exe$", "m", ["exe", "exe\nx"], ["exe x"]),
        ("(cmd|powershell)\\.exe", "", ["\\cmd.exe /c", "powershell.exe"], ["CMD.EXE", "cmd_exe"]),
        ("(?i)cmd\\.exe", "", ["CMD.EXE", "Cmd.exe"], ["cmd exe"]),
        ("s", "i", ["S", "\u017f"], ["x"]),
        ("k", "i", ["K", "\u212a"], ["x"]),
        ("i", "i", ["I", "\u0130"], ["\u0131"]),
        ("a.b", "s", ["a\nb", "axb"], ["ab"]),
        ("a.{0,2}b", "s", ["ab", "a12b"], ["a123b"]),
        ("-[a-c]{1,2}$", "", ["x-a", "-bc\n"], ["-d", "-abc"]),
        ("(?:^|\\s)-x", "", ["-x", "a -x", "a\t-x"], ["a-x"]),
        ("x+y*", "", ["x"], ["y"]),
        ("[Cc][Mm][Dd]", "", ["cMd"], ["c\u212amd"]),
    ],
)
def test_known_cases(pattern: str, letters: str, yes: list[str], no: list[str]) -> None:
    matcher = _matcher(pattern, letters)
    search = _search(pattern, letters)
    assert matcher is not None and search is not None
    for subject in yes + no:
        assert search(subject) == (subject in yes), subject  # the oracle agrees with the table
        assert matcher(subject) == (subject in yes), subject


@pytest.mark.parametrize(
    ("pattern", "letters", "reason"),
    [
        ("a.b", "", "newline"),  # '.' excludes the newline, '?' does not
        ("a\\s+b", "", "unbounded"),
        ("a[^b]", "", "negated"),
        ("\\bcmd", "", "boundary"),
        ("a(?=b)", "", "assert"),
        ("(a)\\1", "", "groupref"),
        ("[0-9]{1,3}\\.[0-9]{1,3}x", "", "more than"),
        ("(?i:a)b", "", "scoped"),
        ("\u00e9", "i", "non-ASCII"),
        ("a^b", "", "matches no value"),
    ],
)
def test_refusals(pattern: str, letters: str, reason: str) -> None:
    from backends.regex_globs import glob_condition
    from sigma.conditions import ConditionFieldEqualsValueExpression
    from sigma.types import SigmaRegularExpression, SigmaRegularExpressionFlag as Flag

    with pytest.raises(NotGlobs, match=reason):
        value = SigmaRegularExpression(pattern)
        for letter in letters:
            value.add_flag({"i": Flag.IGNORECASE, "m": Flag.MULTILINE, "s": Flag.DOTALL}[letter])
        glob_condition(ConditionFieldEqualsValueExpression("f", value))


def test_case_forms() -> None:
    # A case-sensitive regex gives cased values; |i gives caseless ones, with the long s spelled
    # out (its simple lowercase is itself, so 's' alone would miss it).
    assert all(isinstance(v, SigmaCasedString) for v in regex_globs("cmd").values)
    values = regex_globs("cmds", ignorecase=True).values
    assert not any(isinstance(v, SigmaCasedString) for v in values)
    assert sorted(str(v) for v in values) == ["*cmds*", "*cmd\u017f*"]


# --- end to end ----------------------------------------------------------------------------------


def _rule(pattern: str, letters: str, field: str) -> str:
    key = f"{field}|re" + "".join("|" + f for f in letters)
    selection = yaml.safe_dump({key: pattern}, allow_unicode=True, width=2**31)
    body = "".join("    " + line + "\n" for line in selection.splitlines())
    return (
        "title: Regex probe\nid: 5f0c3c7e-2222-4a1a-9a9a-000000000043\n"
        "logsource:\n  category: process_creation\n  product: windows\n"
        f"detection:\n  sel:\n{body}  condition: sel\n"
    )


def _check(text: str, tmp_path: Path, values: list[str] | None = None,
           field: str = "Image") -> Any:
    """Check the rule with kql and kql-es on the windows data source, with the template
    ``sigport mapping`` writes for it (its caseless copies), on generated events (and on
    ``values`` of ``field``)."""
    loaded = load_text(text, "probe.yml")[0]
    assert loaded.error is None
    path = tmp_path / "t.json"
    path.write_text(json.dumps(template_body(propose([loaded], "windows"))), encoding="utf-8")
    events = generate_events(loaded.rule, seed=0)
    events += [
        SampleEvent({"EventID": 1, "Channel": SYSMON, field: v}, None, None, f"re:{i}", None)
        for i, v in enumerate(values or [])
    ]
    checker = Checker(["kql", "kql-es"], data_source="windows", mapping=path)
    return checker.check(loaded, events)


@pytest.mark.parametrize(
    ("pattern", "line_endings"),
    [
        ("(?i)\\\\cmd\\.exe$", True),
        ("(?i)\\\\(cmd|pwsh)\\.exe", False),
        ("(?i)^C:\\\\[a-c]", False),
        ("(?im)^x\\s[0-2]", True),
    ],
)
def test_proven_on_events(pattern: str, line_endings: bool, tmp_path: Path) -> None:
    """Case-insensitive regexes land on the caseless copies (no length limit, whitespace kept
    as symbols): both KQL targets are proven equivalent, the over-limit values included. A
    ``$`` (also before a final newline) or a ``\\s`` may answer otherwise on a value whose
    ``\\r\\n`` Winlogbeat wrote as ``\\n``: declared, 'not proven', and no event differs."""
    values = ["C:\\cmd.exe", "C:\\CMD.EXE", "C:\\cmd.exe\n", "c:\\b\\pwsh.exe x", "C:\\d",
              "c:\\A", "\\cmd.exe\n\n", "x\\pw\u017fh.exe", "y\nX\t5", "x 1", "", "C:\\" + "a" * 1100]
    result = _check(_rule(pattern, "", "Image"), tmp_path, values)
    assert result.reference_unsupported is None
    for name, target in result.targets.items():
        assert not target.disagreements, (name, target.query, target.disagreements)
        if line_endings:
            assert target.equivalent is None, (name, target.query)
            assert "RemoveWindowsLineEndings" in str(target.reason), (name, target.reason)
        else:
            assert target.equivalent is True, (name, target.query, target.reason)


def test_untranslatable_regex_is_refused_with_the_reason(tmp_path: Path) -> None:
    """Kibana's KQL refuses it; kql-es writes it as a regexp query beside its kql queries
    (backends/kql_es/backend_dsl.py), proven on the events."""
    result = _check(_rule("a.b", "", "CommandLine"), tmp_path, ["a.b", "a\nb", "xaZbx", "ab"])
    kql, kql_es = result.targets["kql"], result.targets["kql-es"]
    assert kql.query is None and "excludes the newline" in str(kql.reason)
    assert kql_es.query is not None and '"regexp"' in kql_es.query
    assert kql_es.equivalent is True, (kql_es.reason, kql_es.disagreements)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
@given(case=patterns(), data=st.data())
def test_end_to_end_through_the_checker(case: tuple[str, str], data: st.DataObject,
                                        tmp_path: Path) -> None:
    """Whatever the emitters make of a translated regex, no event shows a difference the
    output did not declare."""
    pattern, letters = case
    assume(_search(pattern, letters) is not None and _matcher(pattern, letters) is not None)
    text = _rule(pattern, letters, "CommandLine")
    assume(list(yaml.safe_load(text)["detection"]["sel"].values()) == [pattern])
    result = _check(text, tmp_path, _subjects(data.draw, pattern), "CommandLine")
    assume(result.reference_unsupported is None)
    for name, target in result.targets.items():
        assert target.equivalent is not False or target.warnings, (
            name, pattern, target.query, target.disagreements)


def test_a_translatable_regex_that_backtracks_catastrophically_is_checked(tmp_path: Path) -> None:
    """The input family that hung ``test_end_to_end_through_the_checker`` (> 20 minutes): a
    leading nullable repetition is trimmed by search semantics, so the regex is the one value
    ``*x*``, but the other targets keep the regex, and converting them decides it on the values
    the windows data source deletes; Python's re backtracked without end on the zero GUID
    (``converter.mapping.functions.tree.sigma_value_matches`` now runs the reference's bounded
    engine)."""
    pattern = "(?:(\\{?0?0?|0{0,3}-?)+)+x"
    assert [str(v) for v in regex_globs(pattern).values] == ["*x*"]
    result = _check(_rule(pattern, "", "CommandLine"), tmp_path,
                    ["x", "{00000000-0000-0000-0000-000000000000}", "a-x"], "CommandLine")
    for name, target in result.targets.items():
        assert target.equivalent is not False or target.warnings, (name, target.disagreements)
