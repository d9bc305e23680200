"""Case folding beyond ASCII, per engine (issue 11): the interpreters fold as each engine does,
the emitters stay exact on letters whose folding differs from Sigma's, and ``check`` never calls
a target equivalent on an event where the engine's folding could decide otherwise.

Sigma's "case-insensitive" is read as each code point's simple lowercase (Java
``Character.toLowerCase``): ``İ`` = ``i``, Kelvin sign = ``k``, ``ẞ`` = ``ß``, ``Σ`` = ``σ``, but
``ς`` and ``ſ`` stand alone.
"""

from __future__ import annotations

from typing import Any

import pytest

from backends.query.errors import FoldingUndecided
from backends.query.evaluate import evaluate, matches
from backends.query.fields import FieldModel
from backends.query.folding import ASCII, SIMPLE, UNICODE, equivalents, lower1, simple_lower
from converter.checking.checker import Checker
from converter.events.render import SampleEvent
from converter.rules.load import load_text

DEFEND = FieldModel.builtin("defend")
KELVIN, LONG_S, CAP_SHARP_S, DOTTED_I = "\u212a", "\u017f", "\u1e9e", "\u0130"


# --- the foldings themselves ------------------------------------------------------------------


def test_simple_lowercase_never_changes_length() -> None:
    assert all(len(lower1(chr(c))) == 1 for c in range(0x20000) if not 0xD800 <= c <= 0xDFFF)
    assert simple_lower("F\u0130LE.EXE") == "file.exe"  # str.lower gives 'fi̇le.exe'
    assert simple_lower("ΟΔΟΣ") == "οδοσ"  # str.lower gives the final sigma 'οδος'


@pytest.mark.parametrize(
    "char, reading, expected",
    [
        ("i", SIMPLE, "Ii" + DOTTED_I),
        ("i", UNICODE, "Ii"),
        ("k", SIMPLE, "Kk" + KELVIN),
        ("k", ASCII, "Kk"),
        ("s", SIMPLE, "Ss"),
        ("s", UNICODE, "Ss" + LONG_S),
        ("ß", SIMPLE, "ß" + CAP_SHARP_S),
        ("ς", SIMPLE, "ς"),
        ("σ", SIMPLE, "Σσ"),
        ("é", ASCII, "é"),
        ("ａ", SIMPLE, "Ａａ"),
    ],
)
def test_equivalence_classes(char: str, reading: str, expected: str) -> None:
    assert equivalents(char, reading) == expected


# --- interpreters -----------------------------------------------------------------------------


def _process(**fields: str) -> dict[str, Any]:
    return {"event": {"category": "process"}, "process": fields}


@pytest.mark.parametrize("language", ["kql", "lucene"])
@pytest.mark.parametrize(
    "term, value",
    [("file.exe", "F\u0130LE.EXE"), ("οδοσ", "ΟΔΟΣ"), ("k.exe", KELVIN + ".EXE"), ("ß", CAP_SHARP_S)],
)
def test_caseless_normalizer_lowercases_each_code_point(language: str, term: str, value: str) -> None:
    from backends.kql.parser import parse as kql
    from backends.lucene.parser import parse as lucene

    parse = kql if language == "kql" else lucene
    tree = parse(f"process.name.caseless:{term}", fields=DEFEND)
    assert matches(tree, _process(name=value))


@pytest.mark.parametrize(
    "query, value",
    [
        ('process.command_line : "*café*"', "C:\\CAFÉ\\x.exe"),  # ASCII: no, Unicode: yes
        ('process.name : "k.exe"', KELVIN + ".exe"),
        ('process.command_line : "*straße*"', "STRA" + CAP_SHARP_S + "E"),
        ('process.command_line : "*lsass*"', "l" + LONG_S + "ass"),  # ASCII: no, Unicode: yes
        ('process.name regex~ "café\\\\.exe"', "CAFÉ.exe"),
    ],
)
def test_eql_case_insensitive_is_undecided_where_es_versions_fold_differently(
    query: str, value: str
) -> None:
    from backends.eql.parser import parse

    tree = parse(f"process where {query}", fields=DEFEND)
    field = "command_line" if "command_line" in query else "name"
    with pytest.raises(FoldingUndecided, match="ascii: false, unicode: true"):
        evaluate(tree, _process(**{field: value}))


def test_eql_case_insensitive_never_folds_dotted_capital_i() -> None:
    from backends.eql.parser import parse

    tree = parse('process where process.name : "file.exe"', fields=DEFEND)
    assert evaluate(tree, _process(name="F\u0130LE.EXE")) is False  # both ES readings
    assert evaluate(tree, _process(name="FILE.EXE")) is True


def test_splunk_search_is_undecided_on_letters_it_may_fold_unlike_sigma() -> None:
    from backends.splunk.parser import parse

    tree = parse('Image="*\\\\file.exe"')
    assert evaluate(tree, {"Image": "C:\\FILE.EXE"}) is True
    with pytest.raises(FoldingUndecided, match="ascii: false, simple: true"):
        evaluate(tree, {"Image": "C:\\F\u0130LE.EXE"})


def test_splunk_caseless_regex_is_undecided_on_non_ascii_letters() -> None:
    from backends.splunk.parser import parse

    tree = parse('* | regex Image="(?i)caf.\\\\.exe"')
    assert evaluate(tree, {"Image": "CAFE.EXE"}) is True
    with pytest.raises(FoldingUndecided):
        evaluate(tree, {"Image": "CAF\u00c9.EXE"})


def test_splunk_caseless_regex_with_an_escaped_backslash_before_n_is_decided_on_ascii() -> None:
    """``\\\\NTUSER`` is a literal backslash then ``N``, not the ``\\N{name}`` escape: on an
    ASCII path the two foldings agree, so the regex decides (it was undecided); a real ``\\N{…}``
    or ``\\x{…}`` escape still keeps non-ASCII readings apart."""
    from backends.query.readings import NON_ASCII_ESCAPE
    from backends.splunk.parser import parse

    tree = parse('* | regex TargetFilename="(?i)\\\\\\\\NTUSER\\.dat$"')
    assert evaluate(tree, {"TargetFilename": "C:\\Users\\x\\NTUSER.DAT"}) is True
    assert evaluate(tree, {"TargetFilename": "C:\\Users\\x\\other.dat"}) is False
    assert not NON_ASCII_ESCAPE.search("\\\\NTUSER")
    assert NON_ASCII_ESCAPE.search("\\\\\\N{KELVIN SIGN}")
    assert NON_ASCII_ESCAPE.search("a\\x{212a}")


# --- check: emitters exact, never a false "equivalent" ------------------------------------------

RULE = """
title: folding
id: 5b6c9d2e-0000-4000-8000-00000000000{n}
status: test
logsource: {{category: process_creation, product: windows}}
detection:
  sel:
    {detection}
  condition: sel
level: low
"""


def _check(detection: str, events: list[dict[str, Any]], targets: list[str]) -> dict[str, Any]:
    (loaded,) = load_text(RULE.format(n=1, detection=detection), "folding.yml")
    samples = [
        SampleEvent({"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", **e})
        for e in events
    ]
    result = Checker(targets).check(loaded, samples)
    return {name: (t.equivalent, t.reason, t.query) for name, t in result.targets.items()}


ALL = ["eql", "kql", "lucene", "splunk", "splunk-cim"]


@pytest.mark.parametrize(
    "detection, value",
    [
        ("CommandLine|contains: 'café'", "C:\\CAFÉ\\x.exe"),
        ("Image|endswith: '\\k.exe'", "C:\\" + KELVIN + ".EXE"),
        ("CommandLine|contains: 'straße'", "STRA" + CAP_SHARP_S + "E"),
        ("CommandLine|contains: 'lsass'", "l" + LONG_S + "ass"),
        ("CommandLine|contains: 'xａｂ'", "XＡＢ"),
    ],
)
def test_targets_stay_exact_on_non_ascii_case_partners(detection: str, value: str) -> None:
    # Sysmon writes a full image path (splunk-cim renders no process event without one).
    image = value if "\\" in value else "C:\\" + value
    events = [{"Image": image, "CommandLine": value}, {"Image": "C:\\x", "CommandLine": "x"}]
    verdicts = _check(detection, events, ALL)
    for target, (equivalent, reason, query) in verdicts.items():
        if target == "kql" and equivalent is None and "approximate" in (reason or ""):
            continue  # KQL on plain keyword fields keeps its declared approximation
        if equivalent is None and "(ignore_above)" in (reason or "") and "approximate" not in reason:
            # Agrees on every event; only a value over a keyword field's 1,024-character limit,
            # which no event here has, could show the rest (tests of the limit are below).
            continue
        if reason == "not proven: no event here is one the rule matches":
            continue  # the rule matches neither event (ſ is no s to Sigma), and no target did
        assert equivalent is True, (target, reason, query)


def test_splunk_end_anchor_does_not_match_before_a_final_newline() -> None:
    # PCRE's '$' also matches before a final newline; the exact regex ends with '\z'.
    verdicts = _check(
        "Image|endswith: '\\cm?.exe'",
        [{"Image": "C:\\cmd.exe\n"}, {"Image": "C:\\cmd.exe"}],
        ["splunk", "splunk-cim"],
    )
    for target, (equivalent, reason, query) in verdicts.items():
        assert equivalent is True, (target, reason, query)
        assert "\\z" in query and "$" not in query.split("regex", 1)[-1]


# --- length-limited sub-fields (ignore_above) ---------------------------------------------------

LONG = "C:\\Windows\\System32\\cmd.exe /c echo " + "a" * 1100 + " café"


def test_convert_warns_on_a_length_limited_subfield() -> None:
    from converter.conversion.convert import Converter

    (loaded,) = load_text(RULE.format(n=2, detection="CommandLine|contains: 'echo'"), "x.yml")
    conversion = Converter("kql").convert(loaded)
    assert "process.command_line.caseless" in conversion.queries[0]
    assert any(
        "process.command_line.caseless" in w and "1024" in w for w in conversion.warnings
    ), conversion.warnings


def test_interpreter_does_not_see_values_over_the_limit() -> None:
    from backends.kql.parser import parse

    tree = parse("process.command_line.caseless:*echo*", fields=DEFEND)
    assert matches(tree, _process(command_line="cmd /c echo x"))
    assert not matches(tree, _process(command_line=LONG))


def test_check_needs_an_event_over_the_limit_before_calling_kql_equivalent() -> None:
    detection = "CommandLine|contains: 'echo'"
    short = [{"CommandLine": "cmd /c echo x"}, {"CommandLine": "cmd /c dir"}]
    equivalent, reason, _ = _check(detection, short, ["kql"])["kql"]
    assert equivalent is None and "1024" in reason and "no event here" in reason
    # With the 1,100-character command line the reference matches and KQL cannot.
    equivalent, reason, _ = _check(detection, short + [{"CommandLine": LONG}], ["kql"])["kql"]
    assert equivalent is False, reason
    # Lucene keeps the regex on the unlimited field: proven, long value included.
    equivalent, reason, _ = _check(detection, short + [{"CommandLine": LONG}], ["lucene"])["lucene"]
    assert equivalent is True, reason


def test_a_long_value_the_leaf_does_not_decide_proves_nothing() -> None:
    # "x" * 1100 holds no 'echo': indexed or not, the leaf is false on it, so it says nothing
    # about the values the limit hides (a long command line with 'echo', which KQL misses).
    detection = "CommandLine|contains: 'echo'"
    events = [{"CommandLine": "cmd /c echo x"}, {"CommandLine": "x" * 1100}]
    equivalent, reason, _ = _check(detection, events, ["kql"])["kql"]
    assert equivalent is None and "ignore_above" in reason, reason


def test_check_needs_a_long_value_that_decides_the_query_not_only_its_leaf() -> None:
    # The long command line holds 'echo', so the limit decides its leaf; but the parent already
    # rejects that event, in Sigma and in KQL, so agreeing on it shows nothing. Counting it as
    # evidence called this query equivalent, yet it misses a long command line under zz.exe.
    detection = "CommandLine|contains: 'echo'\n    ParentImage|endswith: '\\zz.exe'"
    events = [
        {"CommandLine": "cmd /c echo x", "ParentImage": "C:\\zz.exe"},
        {"CommandLine": "echo " + "x" * 1100, "ParentImage": "C:\\p.exe"},
    ]
    equivalent, reason, query = _check(detection, events, ["kql"])["kql"]
    assert "process.command_line.caseless:*echo*" in query, query
    assert equivalent is None and "process.command_line.caseless" in reason, reason
    # The parent is tested as process.parent.name.caseless:zz.exe, an exact value that no long
    # value can match, so its limit needs no event; the command line's does.
    assert "process.parent.name.caseless:zz.exe" in query
    assert "process.parent.name" not in reason, reason
    # The event that decides the query through the long value shows the difference.
    events.append({"CommandLine": "echo " + "x" * 1100, "ParentImage": "C:\\zz.exe"})
    equivalent, reason, _ = _check(detection, events, ["kql"])["kql"]
    assert equivalent is False, reason


def test_esql_writes_sigma_letter_classes_inside_qstr() -> None:
    from converter.conversion.convert import Converter

    def query(detection: str) -> str:
        (loaded,) = load_text(RULE.format(n=3, detection=detection), "x.yml")
        conversion = Converter("esql").convert(loaded)
        return conversion.queries[0]

    # TO_LOWER folds by version ('İ', 'K', 'ſ') and LIKE is null on several values: every value
    # test is QSTR with the lucene target's regex, each letter the class of its Sigma partners.
    assert 'QSTR("process.command_line:/.*[wW][hH][oO][aA][mM][iIİ].*/")' in query(
        "CommandLine|contains: 'whoami'")
    assert "TO_LOWER" not in query("CommandLine|contains: 'cmd.exe'")


def test_eql_value_list_with_explicit_classes_keeps_its_grouping_under_not() -> None:
    text = RULE.format(n=4, detection="Image|endswith: ['\\cmd.exe', '\\pwsh.exe']").replace(
        "condition: sel", "condition: not sel"
    )
    (loaded,) = load_text(text, "x.yml")
    events = [{"Image": f"C:\\{name}"} for name in ("cmd.exe", "PWSH.EXE", "bash.exe", "node.exe")]
    samples = [
        SampleEvent({"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", **e})
        for e in events
    ]
    result = Checker(["eql"]).check(loaded, samples)
    eql = result.targets["eql"]
    assert 'regex "[pP][wW][sS][hH]' in eql.query and eql.equivalent is True, eql.reason


def test_upper_reading_is_per_code_point_simple_uppercase() -> None:
    """.NET ToUpperInvariant: one code point each (ß and ŉ have no simple uppercase)."""
    from backends.query.folding import UPPER, equivalents, simple_upper

    assert simple_upper("stra\u00dfe \u0131\u017f \u1fb3") == "STRA\u00dfE IS \u1fbc"
    assert simple_upper("\u0149") == "\u0149"
    assert equivalents("i", UPPER) == "Ii\u0131"
    assert equivalents("k", UPPER) == "Kk"  # the Kelvin sign's uppercase is itself


def test_ascii_view_presents_partners_per_reading() -> None:
    from backends.query.folding import ASCII, SIMPLE, UNICODE, UPPER, ascii_view

    text = "\u0130\u212a\u017f\u0131\u00e9"
    assert ascii_view(text, SIMPLE) == "ik\ufffd\ufffd\u00e9"
    assert ascii_view(text, ASCII) == "\ufffd\ufffd\ufffd\ufffd\u00e9"
    assert ascii_view(text, UNICODE) == "\ufffdks\ufffd\u00e9"
    assert ascii_view(text, UPPER) == "\ufffd\ufffdSI\u00e9"


def test_limit_decides_is_false_when_the_unlimited_verdict_is_undecided() -> None:
    """An over-limit value whose indexed verdict depends on the engine's folding (``ſ`` folds
    to ``s`` only under Unicode folding) does not show what the limit does: ``limit_decides``
    says so instead of raising (it was an internal error that dropped the rule from ``check``)."""
    from dataclasses import replace

    from backends.eql.parser import parse
    from backends.query.ast import Leaf, walk
    from converter.checking.limits import limit_decides

    tree = parse('process where process.command_line : "*lsass*"', fields=DEFEND)
    (leaf,) = [n for n in walk(tree) if isinstance(n, Leaf) and n.field == "process.command_line"]
    limited = replace(leaf, max_length=8)
    undecided = _process(command_line="l" + LONG_S + "ass" + "x" * 20)
    with pytest.raises(FoldingUndecided):
        evaluate(replace(limited, max_length=None), undecided)
    assert limit_decides(limited, undecided) is False
    assert limit_decides(limited, _process(command_line="lsass" + "x" * 20)) is True


def test_an_and_is_false_when_another_operand_is_false_whatever_the_folding() -> None:
    # splunk-cim's tstats prefilter (case-insensitive, folding undocumented) AND its exact regex:
    # on the Kelvin sign the prefilter is undecided, but the regex is false under every reading,
    # so the search is false; the undecided operand made the whole rule "not checked".
    from backends.splunk.parser import parse

    tree = parse('Image="k.exe" | regex Image="(?s)^k\\\\.exe\\\\z"')
    assert evaluate(tree, {"Image": "k.exe"}) is True
    assert evaluate(tree, {"Image": KELVIN + ".exe"}) is False
    either = parse('Image="k.exe" OR Image="x"')
    with pytest.raises(FoldingUndecided):
        evaluate(either, {"Image": KELVIN + ".exe"})  # no operand decides it
    assert evaluate(parse('Image="k.exe" OR Image="*.exe"'), {"Image": KELVIN + ".exe"}) is True
    with pytest.raises(FoldingUndecided):  # an undecided operand of an AND that is not false
        evaluate(parse('Image="k.exe" Image="*.exe"'), {"Image": KELVIN + ".exe"})
