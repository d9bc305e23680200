"""Field names from a pipeline are escaped or refused, never spliced into a query (issue 16, 1).

A user pipeline (or ``-p ecs`` on imported rules) decides the field names a query uses, so they
are as untrusted as the rule's values. For hostile names (quotes, backslashes, spaces, ``=``,
``|``, backticks, newlines, keywords, the empty name) every target either refuses the rule with
a one-line reason naming the field, or writes a query that ``check`` proves on events holding
that very field: a name that escaped its quoting would match other events (SPL's
``"process.x" OR * OR ""="a"`` matched every event).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

from converter.checking.checker import Checker
from converter.events.render import SampleEvent
from converter.rules.load import load_text

SYSMON = "Microsoft-Windows-Sysmon/Operational"
#: The targets whose field-name quoting issue 16 covers (SPL, CIM) and EQL's, which it follows.
TARGETS = ["eql", "splunk", "splunk-cim"]
ALL_TARGETS = ["eql", "kql", "lucene", "esql", "splunk", "splunk-cim"]

#: The names the default pipelines give Sigma's ``Image`` and ``CommandLine``, per target family.
RENAMED = {
    "Image": ["Image", "process.executable", "process.executable.caseless",
              "Processes.process_path"],
}

HOSTILE_NAMES = [
    'process.x" OR * OR "',
    'y`) like "q" or true or TO_LOWER(`z',
    "a b",
    "a=b",
    "a|b",
    "a | delete",
    "back\\slash",
    "quo'te",
    'quo"te',
    "tick`s",
    "line\nbreak",
    "OR",
    "1starts_with_digit",
    "dash-ed",
    "",
]

RULES = {
    "equals": "Image: 'C:\\x\\a.exe'",
    "wildcard": "Image|endswith: '\\a?.exe'",  # SPL: a pre-filter plus an exact regex pipe
    "regex": "Image|re: 'a.c'",
}


def _rule(detection: str, negated: bool) -> str:
    condition = "not sel" if negated else "sel"
    return (
        "title: field names\nid: 6f7b2a1e-1d7e-4c55-9a3b-000000000016\n"
        "logsource: {category: process_creation, product: windows}\n"
        f"detection:\n  sel:\n    {detection}\n  filter:\n    CommandLine: x\n"
        f"  condition: {condition} and not filter\n"
    )


def _pipeline(name: str, tmp: str) -> str:
    """A user pipeline file renaming the default pipelines' ``Image`` field to ``name``."""
    path = Path(tmp) / f"pipeline-{abs(hash(name))}.yml"
    mapping = {source: name for source in RENAMED["Image"]}
    path.write_text(
        yaml.safe_dump({"name": "rename", "priority": 100, "transformations": [
            {"id": "rename", "type": "field_name_mapping", "mapping": mapping}]}),
        encoding="utf-8",
    )
    return str(path)


@lru_cache(maxsize=None)
def _checker(name: str, tmp: str) -> Checker:
    return Checker(TARGETS, pipelines=[_pipeline(name, tmp)])


def _events() -> list[SampleEvent]:
    values = ["C:\\x\\a.exe", "C:\\x\\ab.exe", "abc", "C:\\y\\other.exe"]
    return [
        SampleEvent({"EventID": 1, "Channel": SYSMON, "Image": v, "CommandLine": "c"},
                    None, None, f"field-names:{i}", None)
        for i, v in enumerate(values)
    ]


@pytest.fixture(scope="module")
def tmp(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("pipelines"))


@pytest.mark.parametrize("rule", sorted(RULES))
@pytest.mark.parametrize("negated", [False, True], ids=["plain", "negated"])
@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=repr)
def test_hostile_field_name_is_refused_or_proven(name: str, rule: str, negated: bool,
                                                 tmp: str) -> None:
    loaded = load_text(_rule(RULES[rule], negated), "fields.yml")[0]
    result = _checker(name, tmp).check(loaded, _events())
    for target, outcome in result.targets.items():
        if outcome.query is None:
            # Refused, for this name or another reason (KQL has no regex): one line either way.
            assert outcome.reason and "\n" not in outcome.reason, (target, outcome.reason)
            if target.startswith("splunk"):
                named = repr(name) if name else "empty field name"
                assert named in outcome.reason, (target, outcome.reason)
            continue
        assert outcome.equivalent is not False, (target, outcome.query, outcome.reason)
        if target.startswith("splunk"):
            pytest.fail(f"{target} wrote the non-SPL field name {name!r}: {outcome.query}")


@pytest.mark.parametrize("target", ["splunk", "splunk-cim"])
def test_spl_keeps_names_of_its_documented_shape(target: str, tmp: str) -> None:
    """Letters, digits, '_' and '.' stay bare and are read back (search, regex and eval pipes);
    on raw events (``check`` mirrors the rename there) the query is proven."""
    from backends.splunk.parser import parse

    # After tstats only BY fields exist: the CIM layout is read back on its search part alone.
    for rule in RULES if target == "splunk" else ["equals"]:
        loaded = load_text(_rule(RULES[rule], True), "fields.yml")[0]
        outcome = _checker("my_data.Image_2", tmp).check(loaded, _events()).targets[target]
        assert outcome.query is not None, outcome.reason
        assert "my_data.Image_2" in outcome.query
        parse(outcome.query)
        if target == "splunk":
            assert outcome.equivalent is True, (rule, outcome.query, outcome.reason)


def test_spl_refuses_a_hostile_table_field() -> None:
    """The rule's own ``fields:`` go into ``| table``: a pipe there is refused, not written."""
    text = _rule("Image: a", False) + "fields:\n  - 'Image | delete'\n"
    loaded = load_text(text, "fields.yml")[0]
    outcome = Checker(["splunk"]).converters["splunk"].convert(loaded)
    assert outcome.status == "unsupported"
    assert "'Image | delete'" in outcome.reason
    assert re.search(r"search_field_name", outcome.reason)


@pytest.mark.parametrize("target", ALL_TARGETS)
def test_an_empty_field_name_is_refused_by_every_target(target: str, tmp: str) -> None:
    """A pipeline mapping a field to '' gets a one-line refusal, not ``:a`` or ``""="a"``."""
    from converter.conversion.convert import Converter

    for rule in (RULES["equals"], RULES["wildcard"]):  # KQL refuses a regex for its own reason
        loaded = load_text(_rule(rule, False), "fields.yml")[0]
        outcome = Converter(target, [_pipeline("", tmp)]).convert(loaded)
        assert outcome.status == "unsupported", (outcome.queries, outcome.reason)
        assert "empty field name" in outcome.reason


@pytest.mark.parametrize("query", ['"a b"="x"', "'a b'=x", "a-b=x", "OR=x", "1a=x"])
def test_the_spl_interpreter_does_not_guess_other_field_names(query: str) -> None:
    """Names SPL search documents no reading for are not evaluated (search_field_name)."""
    from backends.query.errors import QueryError
    from backends.splunk.parser import parse

    with pytest.raises(QueryError):
        parse(query)
