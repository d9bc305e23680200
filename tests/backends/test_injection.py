"""Injection safety: an arbitrary Sigma value stays one literal value in every emitted query.

For hostile strings (quotes, backslashes, literal ``*``/``?`` written with Sigma escapes, pipes,
brackets, newlines, tabs, unicode, KQL ``or``/``and``/``not``, SPL ``OR``/``NOT``/``|``, leading
and trailing spaces), a rule ``CommandLine|<modifier>: <value>`` is converted by the real
``Converter`` for every interpreted target, the output is parsed by that language's interpreter
and run on events (through ``Checker``, the same proof ``sigport check`` runs), and:

* the reference matches the event holding exactly the value and not the one with a character
  changed, and no target disagrees with it on any event (a value that escaped its quotes would
  match differently);
* the parsed query has the same shape as the query for a harmless value with the same modifier:
  the same number of leaves (one value never becomes two clauses) and, for SPL, the same pipe
  commands (no ``| something`` the rule did not ask for).

A target may refuse a value (``unsupported``); it may not emit something wrong.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from backends import TARGETS
from backends.query import ast
from backends.splunk.parser import split_pipes
from converter.checking.checker import Checker
from converter.events.render import SampleEvent
from converter.rules.load import load_text

SYSMON = "Microsoft-Windows-Sysmon/Operational"
TARGET_NAMES = ["eql", "kql", "lucene", "splunk", "splunk-cim"]
MODIFIERS = [None, "contains", "startswith", "endswith", "cased"]

#: Pieces hostile values are built from: quoting, escaping, query-language keywords and operators.
HOSTILE = [
    '"', "'", "\\", "\\\\", '\\"', "*", "?", "|", "||", "| delete", "(", ")", "[", "]", "{", "}",
    "\n", "\t", "\r", " ", "  ", " or ", " and ", " not ", " OR ", " AND ", " NOT ", "or", "NOT",
    ":", "=", "!=", "<", ">", "/", "`", "$", "^", "~", "&", "@", "#", "%", "+", "-", "!", ",",
    "é", "ß", "İ", "\u00a0", "\u200b", "日本", "\U0001f600", "null", "true", "*:*", "a", "Z",
    "9", "cmd.exe", "C:\\Windows\\", "search index=*", "where", "regex", "eval x=1", ".*",
]

#: Pipe commands the SPL emitters write themselves, for regexes, ``cased`` and literal wildcards.
SPL_EMITTER_COMMANDS = {"regex", "rex", "eval", "search", "where"}

VALUES = st.lists(st.sampled_from(HOSTILE) | st.text(max_size=2), min_size=1, max_size=6).map(
    "".join
).filter(lambda v: bool(v.strip(" ")))


def sigma_escape(value: str) -> str:
    """Sigma string escaping: ``\\``, ``*`` and ``?`` become literal with a backslash."""
    return value.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")


def rule_text(modifier: str | None, value: str) -> str:
    """A process_creation rule with one selection ``CommandLine|<modifier>: <value>``."""
    key = "CommandLine" + (f"|{modifier}" if modifier else "")
    selection = yaml.safe_dump({key: sigma_escape(value)}, allow_unicode=True, width=2**31)
    body = "".join("    " + line + "\n" for line in selection.splitlines())
    return (
        "title: Injection probe\nid: 5f0c3c7e-1111-4a1a-9a9a-000000000042\n"
        "logsource:\n  category: process_creation\n  product: windows\n"
        f"detection:\n  sel:\n{body}  condition: sel\n"
    )


def mutate(value: str) -> str:
    """The value with its first non-space character replaced by one that differs in any case."""
    i = next(i for i, c in enumerate(value) if c != " ")
    replacement = "q" if value[i].lower() != "q" else "z"
    return value[:i] + replacement + value[i + 1 :]


@lru_cache(maxsize=1)
def checker() -> Checker:
    return Checker(TARGET_NAMES)


def _events(value: str) -> list[SampleEvent]:
    # The last line is longer than the 1,024 characters Defend's .caseless sub-fields index, made
    # of a character the value lacks (so no modifier matches it, indexed or not).
    filler = next(c for c in "7~#\u0e5b\u2603" if c not in value)
    lines = [value, "X" + value + "Y", value + "Y", "X" + value, mutate(value), value.swapcase(),
             filler * 1100]
    return [
        SampleEvent({"EventID": 1, "Channel": SYSMON, "Image": "C:\\x.exe", "CommandLine": c},
                    None, None, f"injection:{i}", None)
        for i, c in enumerate(lines)
    ]


def _leaves(node: ast.Node) -> int:
    if isinstance(node, (ast.And, ast.Or)):
        return sum(_leaves(c) for c in node.children)
    if isinstance(node, ast.Not):
        return _leaves(node.child)
    return 0 if isinstance(node, ast.Const) else 1


def _shape(target: str, query: str) -> tuple[int, tuple[str, ...]]:
    """Leaf count of the parsed query and, for SPL, the pipe command names in order."""
    spec = TARGETS[target]
    parse = spec.parse_function()
    fields = checker().models.get(target)
    tree = parse(query, fields=fields)
    commands: tuple[str, ...] = ()
    if target.startswith("splunk"):
        commands = tuple(seg.strip().split(" ", 1)[0] for _, seg in split_pipes(query))
    return _leaves(tree), commands


@lru_cache(maxsize=16)
def _baseline(target: str, modifier: str | None) -> tuple[int, tuple[str, ...]]:
    conversion = checker().converters[target].convert(load_text(rule_text(modifier, "harmless"),
                                                                 "base.yml")[0])
    assert conversion.status == "converted", conversion.reason
    return _shape(target, conversion.queries[0])


def check_value(value: str, modifier: str | None) -> dict[str, Any]:
    """Run the whole proof for one value and modifier; returns per-target outcomes."""
    loaded = load_text(rule_text(modifier, value), "injection.yml")[0]
    assert loaded.error is None, loaded.error
    result = checker().check(loaded, _events(value))
    assert result.reference_unsupported is None, result.reference_unsupported
    assert 0 in result.reference_matched, "the reference misses the exact value"
    assert 4 not in result.reference_matched, "the reference matches a changed value"
    outcome = {}
    for name, target in result.targets.items():
        assert target.equivalent is not False, (name, target.reason, target.query,
                                                 [d.to_json() for d in target.disagreements])
        if target.query is None:  # refused: fine, as long as it says why
            assert target.reason, name
            outcome[name] = "refused"
            continue
        assert "does not parse" not in (target.reason or ""), (name, target.reason, target.query)
        leaves, commands = _shape(name, target.query)
        base_leaves, base_commands = _baseline(name, modifier)
        if commands != base_commands:
            # SPL cannot write a literal '*' (or a cased test) in a search term; the emitter then
            # switches to its own regex shapes, and only those may appear.
            assert set(commands[1:]) <= set(base_commands[1:]) | SPL_EMITTER_COMMANDS, (
                name, commands, target.query)
        else:
            assert leaves == base_leaves, (name, leaves, base_leaves, target.query)
        if target.equivalent:
            outcome[name] = "checked"
        elif "(ignore_above)" in (target.reason or "") and "approximate" not in target.reason:
            # Agrees on every event; only a long value containing the literal, which a
            # length-limited keyword field (Defend's .caseless) does not index, is left.
            outcome[name] = "checked but for the length limit"
        else:
            outcome[name] = "not proven"
    return outcome


@pytest.mark.parametrize("modifier", MODIFIERS, ids=lambda m: m or "equals")
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(value=VALUES)
@example(value='a" or process.name : "x')
@example(value="x) OR (y")
@example(value="a | delete")
@example(value="back\\slash\\")
@example(value="lit*eral?")
@example(value=" spaced ")
@example(value="line\nbreak\ttab")
@example(value="\\*")
@example(value='\\"')
@example(value="not x")
@example(value="*\u0130")  # İ lowercases to two characters: SPL must refuse, not mismatch
@example(value="a\n| delete x")  # splunk-cim cut its query at a "\n| " inside a quoted value
@example(value="line\nbreak")  # splunk-cim turned the newline inside the value into a space
@example(value="\t")  # lucene left the tab unescaped: an empty term
@example(value="*é")  # eql regex~ and splunk (?i) fold ASCII only: 'É' was missed
def test_hostile_value_stays_one_literal(modifier: str | None, value: str) -> None:
    # YAML itself normalises some characters (NEL, LS, PS are line breaks to it); such a value
    # cannot be written in a rule file at all, so it is not a conversion question.
    selection = yaml.safe_load(rule_text(modifier, value))["detection"]["sel"]
    assume(list(selection.values()) == [sigma_escape(value)])
    check_value(value, modifier)


def test_plain_values_are_proven_on_every_target() -> None:
    # Guard against a vacuous pass: ordinary hostile values are converted and fully checked by
    # every Elastic target (Splunk's cased form is declared approximate by its emitter); KQL's
    # process.command_line.caseless leaves only the long values it does not index unproven.
    outcome = check_value('a" or b', "contains")
    expected = {t: "checked" for t in TARGET_NAMES}
    expected["kql"] = "checked but for the length limit"
    assert outcome == expected, outcome


# --- regressions, pinned on the emitted text -----------------------------------------------------


def _convert(target: str, modifier: str | None, value: str) -> Any:
    return checker().converters[target].convert(load_text(rule_text(modifier, value), "r.yml")[0])


def test_splunk_cim_keeps_a_pipe_inside_a_value_quoted() -> None:
    query = _convert("splunk-cim", None, "a\n| delete x").queries[0]
    assert 'Processes.process="a\n| delete x" by ' in query
    commands = [seg.strip().split(" ", 1)[0] for _, seg in split_pipes(query)]
    assert "delete" not in commands


def test_lucene_escapes_every_whitespace_character() -> None:
    for char in "\t\n\r\u3000":
        query = _convert("lucene", None, "1" + char + "2").queries[0]
        assert query.endswith("process.command_line:1\\" + char + "2"), repr(query)


def test_eql_writes_a_literal_wildcard_with_non_ascii_letters_as_explicit_classes() -> None:
    # regex~ folds ASCII only (or Unicode-wide, by ES version): a case-sensitive regex with the
    # Sigma classes is exact under both.
    conversion = _convert("eql", "startswith", "*é")
    assert conversion.status == "converted"
    assert 'regex "\\\\*[éÉ].*"' in conversion.queries[0]
    assert _convert("eql", "cased", "*é").status == "converted"  # case-sensitive regex is exact


def test_splunk_regex_spells_out_non_ascii_case_variants() -> None:
    query = _convert("splunk", "startswith", "*é").queries[0]
    # Alternatives, not a class: exact whether PCRE reads bytes or code points; no (?i).
    assert "(?:é|É)" in query and "(?i" not in query
