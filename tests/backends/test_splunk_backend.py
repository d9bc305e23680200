"""Tests of the Splunk SPL emitters: exact output strings, and round trips through the interpreter.

Rules are inline YAML; pipelines are empty (or a tiny CIM pipeline that sets the tstats state the
way pySigma's splunk_cim_data_model pipeline does), so the strings show only backend behaviour.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import FieldMappingTransformation, SetStateTransformation

from backends.query.evaluate import matches
from backends.splunk.backend import SigportSplunkBackend
from backends.splunk.backend_cim import SigportSplunkCimBackend
from backends.splunk.parser import parse

TSTATS_HEAD = (
    '| tstats summariesonly=false allow_old_summaries=true fillnull_value="null" count '
    "min(_time) as firstTime max(_time) as lastTime from datamodel=Endpoint.Processes"
)
TSTATS_TAIL = (
    ' | `drop_dm_object_name(Processes)` | convert timeformat="%Y-%m-%dT%H:%M:%S" '
    'ctime(firstTime) | convert timeformat="%Y-%m-%dT%H:%M:%S" ctime(lastTime)'
)
CIM_FIELDS = {"Image": "Processes.process_path", "CommandLine": "Processes.process",
              "User": "Processes.user"}


def rule(detection: str) -> SigmaCollection:
    """A process_creation rule with the given detection block (indented YAML)."""
    return SigmaCollection.from_yaml(
        "title: t\nstatus: test\nlogsource: {product: windows, category: process_creation}\n"
        "detection:\n" + detection
    )


def cim_pipeline(mapping: dict[str, str] | None = None) -> ProcessingPipeline:
    """Field mapping plus the tstats state (data_model_set, fields)."""
    mapping = CIM_FIELDS if mapping is None else mapping
    return ProcessingPipeline(
        [
            ProcessingItem(FieldMappingTransformation(mapping), identifier="map"),
            ProcessingItem(SetStateTransformation("data_model_set", "Endpoint.Processes")),
            ProcessingItem(SetStateTransformation("fields", sorted(set(mapping.values())))),
        ]
    )


def spl(detection: str) -> str:
    (query,) = SigportSplunkBackend(ProcessingPipeline()).convert(rule(detection))
    return query


def cim(detection: str) -> str:
    (query,) = SigportSplunkCimBackend(cim_pipeline()).convert(rule(detection))
    return query


BY = " by Processes.process Processes.process_path Processes.user"

EXACT = [
    pytest.param(
        "  sel: {Image: 'C:\\Windows\\a?c.exe'}\n  condition: sel",
        # 'i' may fold unlike Sigma in search ('İ'): widened too, and spelled out in the regex,
        # which ends with \z ('$' would also match before a final newline).
        'Image="C:\\\\W*ndows\\\\a*c.exe"\n'
        '| regex Image="(?s)^[cC]:\\\\\\\\[wW](?:i|I|İ)[nN][dD][oO][wW][sS]\\\\\\\\[aA].[cC]\\\\.[eE][xX][eE]\\\\z"',
        id="single-wildcard-prefilter-and-regex",
    ),
    pytest.param(
        "  sel: {Image: 'a\\*b'}\n  condition: sel",
        'Image="a*b"\n| regex Image="(?s)^[aA]\\\\*[bB]\\\\z"',
        id="literal-star",
    ),
    pytest.param(
        "  sel: {A|cased: xY}\n  condition: sel",
        'A="xY"\n| regex A="(?s)^xY\\\\z"',
        id="cased",
    ),
    pytest.param(
        "  sel: {A|re: 'a\\\\b\"c'}\n  condition: sel",
        '*\n| regex A="a\\\\\\\\b\\"c"',
        id="re-backslash-quote",
    ),
    pytest.param(
        "  sel: {A|re|i|m|s: 'a.b'}\n  condition: sel",
        '*\n| regex A="(?ms)[aA].[bB]"',
        id="re-flags",
    ),
    pytest.param(
        "  a: {A: 1}\n  b: {B: 2, C: 3}\n  condition: a or b",
        "A=1 OR (B=2 C=3)",
        id="and-inside-or-parenthesised",
    ),
    pytest.param(
        "  a: {A: 1}\n  b: {B: 2, C: 3}\n  condition: a and not b",
        "A=1 NOT (B=2 C=3)",
        id="not-group",
    ),
    pytest.param(
        "  a: {A: 1}\n  b: {B: [2, 3]}\n  condition: a and b",
        "A=1 B IN (2, 3)",
        id="or-inside-and-as-in",
    ),
    pytest.param(
        "  s1: {A: 1, B: 2}\n  s2: {C: 3}\n  f: {D: 4}\n  condition: 1 of s* and not f",
        "(A=1 B=2) OR C=3 NOT D=4",
        id="one-of",
    ),
    pytest.param(
        "  s1: {A: 1}\n  s2: {C: [3, 4]}\n  condition: all of s*",
        "A=1 C IN (3, 4)",
        id="all-of",
    ),
    pytest.param(
        "  a: {A: null, B|exists: false, C|exists: true, D|neq: x}\n  condition: a",
        'NOT A=* NOT B=* C=* NOT D="x"',
        id="null-exists-neq",
    ),
    pytest.param(
        "  a: {A: 'say \"ho\" now'}\n  condition: a",
        'A="say \\"ho\\" now"',
        id="quotes-escaped",
    ),
    pytest.param(
        "  a: {A|fieldref: B}\n  condition: a",
        "*\n| where lower('A')=lower('B')",
        id="fieldref-case-insensitive",
    ),
    pytest.param(
        "  a: {A|fieldref: B}\n  condition: not a",
        '*\n| eval ACondition=if(lower(\'A\')=lower(\'B\'), "true", "false")\n'
        '| search NOT ACondition="true"',
        id="fieldref-negated",
    ),
    pytest.param(
        "  a: {A|re: x, B|re: y}\n  condition: a",
        '*\n| regex A="x"\n| regex B="y"',
        id="only-regexes-not-dropped",
    ),
    pytest.param(
        "  a: {A|re: x, B|re: y}\n  condition: not a",
        '*\n| eval ACondition=if(isnotnull(mvfind(\'A\', "x")), "true", "false")'
        '\n| eval BCondition=if(isnotnull(mvfind(\'B\', "y")), "true", "false")'
        '\n| search NOT (ACondition="true" BCondition="true")',
        id="negated-regex-group-keeps-negation",
    ),
    pytest.param(
        "  a: {A: 1}\n  b: {B|re: 'x', C: 3}\n  condition: a or b",
        # The base search is the OR of each branch's plain terms (simplify.base_filter).
        'A=1 OR C=3\n| eval BCondition=if(isnotnull(mvfind(\'B\', "x")), "true", "false")'
        '\n| search A=1 OR (BCondition="true" C=3)',
        id="or-operand-not-hoisted",
    ),
    pytest.param(
        "  a: {A: 1}\n  b: {B|re: 'x'}\n  c: {C: 3}\n  condition: a and (b or c)",
        'A=1\n| eval BCondition=if(isnotnull(mvfind(\'B\', "x")), "true", "false")\n'
        '| search BCondition="true" OR C=3',
        id="conjunct-hoisted",
    ),
    pytest.param(
        "  a: {A: ['a?', b]}\n  condition: a",
        '*\n| eval ACondition=if(isnotnull(mvfind(\'A\', "(?s)^[aA].\\\\z")), "true", "false")'
        '\n| search ACondition="true" OR A="b"',
        id="single-wildcard-in-or-list",
    ),
]


@pytest.mark.parametrize("detection, expected", EXACT)
def test_splunk_output(detection: str, expected: str) -> None:
    assert spl(detection) == expected


def test_cim_tstats_simple() -> None:
    query = cim("  sel: {Image|endswith: '\\cmd.exe', User: x}\n  condition: sel")
    where = ' where Processes.process_path="*\\\\cmd.exe" Processes.user="x"'
    assert query == TSTATS_HEAD + where + BY + TSTATS_TAIL


def test_cim_tstats_regex_after_by() -> None:
    query = cim("  sel: {Image: 'a?c'}\n  condition: sel")
    assert query == (
        TSTATS_HEAD + ' where Processes.process_path="a*c"' + BY
        + ' | regex Processes.process_path="(?s)^[aA].[cC]\\\\z"' + TSTATS_TAIL
    )


def test_cim_or_regex_keeps_condition_fields_out_of_where() -> None:
    query = cim("  a: {Image: x}\n  b: {CommandLine|re: 'y'}\n  condition: a or b")
    assert query == (
        TSTATS_HEAD + BY + " | eval processCondition=if(isnotnull(mvfind('Processes.process', "
        '"y")), "true", "false") | search '
        'Processes.process_path="x" OR processCondition="true"' + TSTATS_TAIL
    )


FILL_CASES = [
    pytest.param("  a: {Image: x}\n  b: {CommandLine|re: 'y'}\n  condition: a or b", None,
                 id="regex-false-on-fill"),
    pytest.param("  a: {Image: 'a?c'}\n  condition: a", None, id="exact-false-on-fill"),
    pytest.param("  a: {Image: x}\n  b: {CommandLine|re: 'ul'}\n  condition: a or b",
                 "the regex 'ul' matches 'null'", id="regex-true-on-fill"),
    pytest.param("  a: {Image: 'n?ll'}\n  condition: a", "matches 'null'",
                 id="exact-true-on-fill"),
    pytest.param("  a: {Image|re: 'x'}\n  b: {CommandLine|contains: 'ul'}\n  condition: a or b",
                 "the value '*ul*' matches 'null'", id="search-term-true-on-fill"),
    pytest.param("  a: {Image|re: 'x'}\n  b: {User: null}\n  condition: a or b",
                 "the null test of Processes.user", id="null-test"),
    pytest.param("  a: {Image|fieldref: User}\n  condition: a", "the field reference",
                 id="fieldref"),
]


@pytest.mark.parametrize("detection, warning", FILL_CASES)
def test_cim_fill_warning_only_when_a_test_is_true_on_the_fill(detection: str,
                                                                warning: str | None) -> None:
    """After tstats a missing BY field reads "null": the output is approximate exactly when some
    test is true on that string (on the others a fill behaves as a missing field)."""
    backend = SigportSplunkCimBackend(cim_pipeline())
    (query,) = backend.convert(rule(detection))
    assert "fillnull_value=\"null\"" in query and " | " in query.split(" by ", 1)[1]
    fill = [w for w in backend.warnings if "fillnull_value" in w]
    if warning is None:
        assert fill == []
    else:
        assert len(fill) == 1 and warning in fill[0], fill


def test_fill_hazards_are_decided_only_when_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the CIM layout reads the fill hazards, and only up to the first that holds: the raw
    target compiles no regex to decide them, and the CIM one stops at a hazard that holds."""
    import backends.splunk.terms as splunk

    compiled: list[str] = []
    real = splunk.pcre_regex

    def counting(pattern: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        compiled.append(pattern)
        return real(pattern, *args, **kwargs)

    monkeypatch.setattr(splunk, "pcre_regex", counting)
    monkeypatch.setattr(splunk, "_REGEX_FINDS", {})
    detection = ("  a: {Image: x}\n  b: {CommandLine|re: 'ul'}\n  c: {User|re: 'q1'}\n"
                 "  condition: a or b or c")
    assert "mvfind" in spl(detection) and compiled == []
    backend = SigportSplunkCimBackend(cim_pipeline())
    backend.convert(rule(detection))
    assert [w for w in backend.warnings if "the regex 'ul' matches 'null'" in w]
    assert compiled == ["ul"]


def test_value_fill_hazards_are_decided_only_when_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Search values too: the raw target compiles no value's fill pattern, the CIM one only
    those it reads up to the first hazard that holds (and says the same as before)."""
    import backends.splunk.spl_text as spl_text

    compiled: list[str] = []
    real = spl_text._fill_pattern

    def counting(source: str, flags: int):  # type: ignore[no-untyped-def]
        compiled.append(source)
        return real(source, flags)

    monkeypatch.setattr(spl_text, "_fill_pattern", counting)
    detection = ("  a: {Image|re: 'x'}\n  b: {CommandLine|contains: ['qq', 'ul', 'zz']}\n"
                 "  condition: a or b")
    assert "qq" in spl(detection) and compiled == []
    backend = SigportSplunkCimBackend(cim_pipeline())
    backend.convert(rule(detection))
    assert [w for w in backend.warnings if "the value '*ul*' matches 'null'" in w]
    assert compiled == [".*qq.*", ".*ul.*"]


def test_cim_fill_warning_is_needed() -> None:
    """The interpreter models the fill: an event lacking the field matches the 'ul' regex after
    tstats (Sigma's rule does not match it), and does not match the 'y' regex."""
    lacking = {"process_path": "z"}
    risky = parse(cim("  a: {Image: x}\n  b: {CommandLine|re: 'ul'}\n  condition: a or b"))
    safe = parse(cim("  a: {Image: x}\n  b: {CommandLine|re: 'y'}\n  condition: a or b"))
    assert matches(risky, lacking) and not matches(safe, lacking)


def test_cim_requires_state() -> None:
    backend = SigportSplunkCimBackend(ProcessingPipeline())
    with pytest.raises(SigmaFeatureNotSupportedByBackendError, match="data_model_set"):
        backend.convert(rule("  sel: {A: 1}\n  condition: sel"))


def test_fieldref_in_or_uses_condition_field() -> None:
    assert spl("  a: {A|fieldref: B}\n  b: {C: 1}\n  condition: a or b") == (
        '*\n| eval ACondition=if(lower(\'A\')=lower(\'B\'), "true", "false")\n'
        '| search ACondition="true" OR C=1'
    )


def test_fieldref_startswith_unsupported() -> None:
    with pytest.raises(SigmaFeatureNotSupportedByBackendError):
        spl("  a: {A|fieldref|startswith: B}\n  condition: a")


def test_regex_counter_does_not_leak_between_rules() -> None:
    backend = SigportSplunkBackend(ProcessingPipeline())
    detection = "  a: {A|re: x}\n  b: {C: 1}\n  condition: a or b"
    first = backend.convert(rule(detection))
    second = backend.convert(rule(detection))
    assert first == second
    assert "AMatch2" not in second[0]


def test_regex_counter_reset_after_failed_rule() -> None:
    backend = SigportSplunkBackend(ProcessingPipeline())
    with pytest.raises(SigmaFeatureNotSupportedByBackendError):
        backend.convert(rule("  a: {A|re: x}\n  b: {A|fieldref|endswith: B}\n  condition: a or b"))
    (query,) = backend.convert(rule("  a: {A|re: x}\n  b: {C: 1}\n  condition: a or b"))
    assert "mvfind('A', \"x\")" in query and "ACondition=" in query


def test_regex_under_or_not_is_exact_and_escaped_for_eval() -> None:
    """Under OR/NOT a regex is an eval of mvfind(): one string level (backslashes doubled, quotes
    escaped), the field single-quoted (a dotted name would be a concatenation in eval), and no
    "approximate" warning any more."""
    backend = SigportSplunkBackend(ProcessingPipeline())
    (query,) = backend.convert(rule("  a: {A.b|re: 'x\\\\d\"'}\n  condition: not a"))
    assert query == (
        '*\n| eval bCondition=if(isnotnull(mvfind(\'A.b\', "x\\\\\\\\d\\"")), "true", "false")'
        '\n| search NOT bCondition="true"'
    )
    assert backend.warnings == []
    assert "rex" not in query


def test_warnings_reset_per_rule() -> None:
    backend = SigportSplunkBackend(ProcessingPipeline())
    backend.convert(rule("  keywords: [evil]\n  condition: keywords"))
    assert any("bare search terms" in w for w in backend.warnings)
    backend.convert(rule("  sel: {A: 1}\n  condition: sel"))
    assert backend.warnings == []


# --- round trips: emitted text -> interpreter -> events ----------------------------------------

ROUND_TRIPS = [
    pytest.param(
        "  sel: {Image: 'C:\\Windows\\a?c.exe'}\n  condition: sel",
        [{"Image": "c:\\windows\\abc.exe"}, {"Image": "C:\\Windows\\abbc.exe"}, {}],
        [0],
        id="single-wildcard",
    ),
    pytest.param(
        "  sel: {Image: 'C:\\Windows\\a?c.exe'}\n  condition: not sel",
        [{"Image": "C:\\Windows\\abc.exe"}, {"Image": "C:\\Windows\\abbc.exe"}, {}],
        [1, 2],
        id="single-wildcard-negated",
    ),
    pytest.param(
        "  sel: {A: 'x\\*y'}\n  condition: sel",
        [{"A": "x*y"}, {"A": "xzzy"}],
        [0],
        id="literal-star",
    ),
    pytest.param(
        "  sel: {A|cased: xY}\n  condition: sel",
        [{"A": "xY"}, {"A": "xy"}],
        [0],
        id="cased",
    ),
    pytest.param(
        "  a: {A|re: '^a\\\\b'}\n  b: {B: 1}\n  condition: a or b",
        [{"A": "a\\bc"}, {"A": "abc"}, {"B": 1}, {}],
        [0, 2],
        id="regex-or",
    ),
    pytest.param(
        "  a: {A|re: x, B|re: y}\n  condition: not a",
        [{"A": "x", "B": "y"}, {"A": "x"}, {}],
        [1, 2],
        id="negated-regex-group",
    ),
    pytest.param(
        "  a: {A|re: '^x$'}\n  b: {B: 1}\n  condition: a or b",
        [{"A": ["y", "x"]}, {"A": ["y", "z"]}, {"A": "x"}, {"B": 1}],
        [0, 2, 3],
        id="regex-or-any-value-of-multivalue",
    ),
    pytest.param(
        "  a: {A|re: '^x$'}\n  condition: not a",
        [{"A": ["y", "x"]}, {"A": ["y", "z"]}, {"A": "x"}, {}],
        [1, 3],
        id="regex-not-no-value-of-multivalue",
    ),
    pytest.param(
        "  a: {A|re: 'a\\\\b\"c'}\n  condition: not a",
        [{"A": 'a\\b"c'}, {"A": 'ab"c'}, {"A": 'xa\\b"cx'}, {"A": 'a\\\\b"c'}, {}],
        [1, 3, 4],
        id="regex-not-backslash-quote",
    ),
    pytest.param(
        "  a: {A: ['x?z', 'q']}\n  condition: not a",
        [{"A": ["xyz", "n"]}, {"A": ["n", "m"]}, {"A": "q"}, {}],
        [1, 3],
        id="single-wildcard-not-multivalue",
    ),
    pytest.param(
        "  a: {A|fieldref: B}\n  condition: a",
        [{"A": "X", "B": "x"}, {"A": "x", "B": "y"}, {"A": "x"}],
        [0],
        id="fieldref",
    ),
    pytest.param(
        "  a: {A|fieldref: B}\n  condition: not a",
        [{"A": "X", "B": "x"}, {"A": "x", "B": "y"}, {"A": "x"}],
        [1, 2],
        id="fieldref-negated",
    ),
    pytest.param(
        "  a: {A: 1}\n  b: {B: 2, C: 3}\n  condition: a or b",
        [{"A": 1}, {"B": 2, "C": 3}, {"B": 2}],
        [0, 1],
        id="precedence",
    ),
    pytest.param(
        "  a: {A: 1}\n  b: {B|re: 'x'}\n  c: {C: 3}\n  condition: a and (b or c)",
        [{"A": 1, "B": "x"}, {"A": 1, "C": 3}, {"B": "x"}, {"A": 1}],
        [0, 1],
        id="hoisted",
    ),
    pytest.param(
        "  s1: {A: 1, B: 2}\n  s2: {C: 3}\n  f: {D: 4}\n  condition: 1 of s* and not f",
        [{"A": 1, "B": 2}, {"C": 3, "D": 4}, {"A": 1}, {"C": 3}],
        [0, 3],
        id="one-of",
    ),
]


@pytest.mark.parametrize("detection, events, expected", ROUND_TRIPS)
def test_round_trip_splunk(detection: str, events: list[dict], expected: list[int]) -> None:
    tree = parse(spl(detection))
    assert [i for i, event in enumerate(events) if matches(tree, event)] == expected


CIM_TRIPS = [
    pytest.param(
        "  sel: {Image: 'a?c'}\n  condition: sel",
        [{"process_path": "ABC"}, {"process_path": "abbc"}],
        [0],
        id="cim-single-wildcard",
    ),
    pytest.param(
        "  a: {Image: x}\n  b: {CommandLine|re: 'y'}\n  condition: a or b",
        [{"process_path": "x"}, {"process": "ayb"}, {"process": "z"}],
        [0, 1],
        id="cim-or-regex",
    ),
    pytest.param(
        "  a: {Image: x}\n  b: {CommandLine|re: 'y'}\n  condition: a and not b",
        [{"process_path": "x"}, {"process_path": "x", "process": "y"}],
        [0],
        id="cim-not-regex",
    ),
    pytest.param(
        "  a: {Image: x}\n  b: {CommandLine|re: 'y'}\n  condition: a or b",
        [{"process": ["a", "ayb"]}, {"process": ["a", "b"]}],
        [0],
        id="cim-or-regex-multivalue",
    ),
]


@pytest.mark.parametrize("detection, events, expected", CIM_TRIPS)
def test_round_trip_cim(detection: str, events: list[dict], expected: list[int]) -> None:
    tree = parse(cim(detection))
    assert [i for i, event in enumerate(events) if matches(tree, event)] == expected


def test_cim_savedsearches_holds_tstats() -> None:
    backend = SigportSplunkCimBackend(cim_pipeline())
    output = backend.convert(rule("  sel: {Image: x}\n  condition: sel"), "savedsearches")
    assert "\nsearch = " + TSTATS_HEAD + ' where Processes.process_path="x"' + BY in output


def test_ipv6_cidr_is_a_search_term_and_read_as_a_network() -> None:
    """The search command reads IPv4 and IPv6 CIDR blocks alike (semantics ``search_cidr``, the
    9.2 search reference): an IPv6 block is a search term as an IPv4 one is (it was refused),
    and the interpreter reads it as a network, not as literal text (the OTRF backtest had found
    IPv6 addresses that the literal reading missed)."""
    from sigma.collection import SigmaCollection
    from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
    from sigma.processing.pipeline import ProcessingPipeline

    from backends.query.evaluate import matches
    from backends.splunk.backend import SigportSplunkBackend

    def rule(net: str):  # type: ignore[no-untyped-def]
        return SigmaCollection.from_yaml(
            "title: t\nlogsource: {product: windows}\ndetection:\n  sel:\n"
            f"    IpAddress|cidr: '{net}'\n  condition: sel\n"
        ).rules[0]

    backend = SigportSplunkBackend(ProcessingPipeline())
    assert backend.convert_rule(rule("10.0.0.0/8")) == ['IpAddress="10.0.0.0/8"']
    (query,) = backend.convert_rule(rule("fe80::/10"))
    assert query == 'IpAddress="fe80::/10"'
    tree = parse(query)
    assert matches(tree, {"IpAddress": "fe80:0:0:0:1c2:3:4:5"})
    assert matches(tree, {"IpAddress": "febf::1"})
    assert not matches(tree, {"IpAddress": "fec0:0:0:0:0:0:0:1"})
    # A block covering the IPv4-mapped addresses: how an IPv4 text matches it is undocumented.
    with pytest.raises(SigmaFeatureNotSupportedByBackendError, match="IPv4-mapped"):
        backend.convert_rule(rule("::/0"))


# --- tests moved into the tstats WHERE clause, where a missing field is still missing ---------

CIM_WHERE_CASES = [
    pytest.param(
        # NOT (regex OR null): the null test is a conjunct of its own (De Morgan), so it runs in
        # WHERE, before tstats fills the missing field with "null".
        "  a: {User: u}\n  f: {Image|re: 'y'}\n  n: {CommandLine: null}\n"
        "  condition: a and not (f or n)",
        [{"user": "u"}, {"user": "u", "process": "c"}, {"user": "u", "process": "c",
                                                        "process_path": "y"},
         {"user": "u", "process": "null"}],
        [1, 3],
        id="null-test-beside-a-regex-under-not",
    ),
    pytest.param(
        # A NOT group of plain terms only (SigmaHQ's filter_optional_null): all of it in WHERE.
        "  f: {Image|re: 'y'}\n  n: {CommandLine: null}\n  e: {CommandLine: ''}\n"
        "  condition: f and not (n or e)",
        [{"process_path": "y"}, {"process_path": "y", "process": "c"},
         {"process_path": "y", "process": ""}],
        [1],
        id="null-and-empty-filter",
    ),
    pytest.param(
        # ... and an exists test, negated, in the same place.
        "  f: {Image|re: 'y'}\n  x: {CommandLine|exists: true}\n  condition: f and not x",
        [{"process_path": "y"}, {"process_path": "y", "process": "c"}],
        [0],
        id="negated-exists",
    ),
]


@pytest.mark.parametrize("detection, events, expected", CIM_WHERE_CASES)
def test_cim_null_and_exists_tests_run_before_the_fill(
    detection: str, events: list[dict], expected: list[int]
) -> None:
    """Every conjunct made of plain search terms goes into WHERE only; the fill then never
    reaches a null or exists test, so the query is exact (no fill warning) and agrees with Sigma."""
    backend = SigportSplunkCimBackend(cim_pipeline())
    (query,) = backend.convert(rule(detection))
    assert [w for w in backend.warnings if "fillnull_value" in w] == []
    after_tstats = query.split(" by ", 1)[1]
    assert "process=*" not in after_tstats and " | " in after_tstats
    tree = parse(query)
    assert [i for i, event in enumerate(events) if matches(tree, event)] == expected


def test_cim_null_test_inside_an_or_with_a_regex_reads_the_fill() -> None:
    """(null AND x) OR regex cannot be split into a WHERE part and a pipe part. After tstats the
    null test is written as the fill (`NOT F=*` is false on every filled row): right on events
    lacking the field, wrong only on the value "null", so still declared."""
    backend = SigportSplunkCimBackend(cim_pipeline())
    (query,) = backend.convert(rule("  n: {CommandLine: null, User: u}\n  f: {Image|re: 'y'}\n"
                                    "  condition: n or f"))
    assert any("the null test of Processes.process" in w for w in backend.warnings)
    assert 'Processes.process="null"' in query.split(" by ", 1)[1]
    tree = parse(query)
    events = [{"user": "u"}, {"user": "u", "process": "c"}, {"process_path": "y"},
              {"user": "u", "process": "NULL"}]
    # The last one is the declared difference: Sigma does not match it.
    assert [i for i, event in enumerate(events) if matches(tree, event)] == [0, 2, 3]


def test_cim_exists_test_inside_an_or_with_a_regex_reads_the_fill() -> None:
    backend = SigportSplunkCimBackend(cim_pipeline())
    (query,) = backend.convert(rule("  x: {CommandLine|exists: true, User: u}\n"
                                    "  f: {Image|re: 'y'}\n  condition: x or f"))
    tree = parse(query)
    events = [{"user": "u"}, {"user": "u", "process": "c"}, {"process_path": "y"}]
    assert [i for i, event in enumerate(events) if matches(tree, event)] == [1, 2]


@pytest.mark.parametrize("pattern, text", [
    ("ul", "null"), ("^ul", "null"), ("ll$", "null"), ("(?i)NU", "null"), ("n.*l", "null"),
    ("x", "null"), ("(a|u)l", "null"), ("(a|b)l", "null"), ("[^n]ull", "null"), ("nul+$", "null"),
    ("\\bnull\\b", "null"), ("N", "null"),
])
def test_regex_finds_is_the_engine_search(monkeypatch: pytest.MonkeyPatch, pattern: str,
                                          text: str) -> None:
    """The fill-hazard answer is the regex engine's search on the fill string, whether the
    pattern is tested as strings (a string of character sets) or run as a regex; a string of
    character sets compiles no regex."""
    import regex

    import backends.splunk.terms as splunk

    monkeypatch.setattr(splunk, "_REGEX_FINDS", {})
    compiled = splunk.pcre_regex(pattern)
    expected = regex.compile(compiled._source, compiled._bits).search(text) is not None
    plain = compiled._plain is not None
    assert plain or pattern not in ("ul", "x", "N")  # these are strings of sets
    compiled._compiled = None
    assert splunk.regex_finds(pattern, text) is expected
    if plain:
        assert compiled._compiled is None


@given(st.text(alphabet='a"\\\n |', max_size=16))
@example('"a\\"\n"\nb')
@example('"\n\\')
def test_one_line_spaces_the_newlines_outside_strings(text: str) -> None:
    """``one_line`` (one regex substitution) turns exactly the newlines at the offsets
    ``_unquoted_offsets`` reads as outside SPL strings into spaces."""
    from backends.splunk.spl_text import _unquoted_offsets, one_line

    outside = set(_unquoted_offsets(text))
    expected = "".join(" " if ch == "\n" and i in outside else ch for i, ch in enumerate(text))
    assert one_line(text) == expected
