"""``run_backtest``: hit counts, logsource routing, disagreement capture, workers, the prefilter."""

from __future__ import annotations

import re

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from converter.backtesting import run as backtest
from converter.backtesting.run import run_backtest
from converter.backtesting.needs import regex_literal, tree_form
from converter.ruleindex.needs import Alt, conditions_of, rule_form
from helpers import SYSMON, WHOAMI_RULE
from helpers import sysmon_process as _proc

REGRUN = """\
title: Run Key Set
id: 22222222-2222-4222-8222-222222222222
status: test
logsource: {product: windows, category: registry_set}
detection:
  selection:
    TargetObject|contains: '\\CurrentVersion\\Run\\'
  condition: selection
level: low
"""

# Matches any process creation whose command line holds "whoami" (also via the Image rule above).
WHOAMI_CMD = """\
title: Whoami Anywhere
id: 33333333-3333-4333-8333-333333333333
status: test
logsource: {product: windows, category: process_creation}
detection:
  selection:
    CommandLine|contains|windash: '-whoami'
  condition: selection
level: low
"""


EVENTS: list[dict[str, Any]] = [
    _proc("C:\\Windows\\System32\\whoami.exe", "C:\\Windows\\System32\\cmd.exe", "whoami /all"),
    _proc("C:\\Windows\\System32\\WHOAMI.EXE", "C:\\Windows\\System32\\CMD.exe", "WHOAMI"),
    _proc("C:\\Windows\\System32\\whoami.exe", "C:\\Windows\\System32\\cmd.exe", "whoami /help"),
    _proc("C:\\Windows\\System32\\whoami.exe", "C:\\explorer.exe", "whoami"),
    _proc("C:\\Windows\\System32\\net.exe", "C:\\Windows\\System32\\cmd.exe", "net /whoami"),
    # A registry event whose fields would satisfy the process rule: routing must keep it away.
    {"EventID": 13, "Channel": SYSMON, "EventType": "SetValue",
     "Image": "C:\\Windows\\System32\\whoami.exe", "ParentImage": "C:\\Windows\\System32\\cmd.exe",
     "TargetObject": "HKU\\S-1\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\x",
     "Details": "c:\\x.exe"},
    {"EventID": 13, "Channel": SYSMON, "EventType": "SetValue", "Image": "C:\\reg.exe",
     "TargetObject": "HKLM\\Software\\Other", "Details": "1"},
]


@pytest.fixture()
def corpus(tmp_path: Path) -> tuple[Path, Path]:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "whoami.yml").write_text(WHOAMI_RULE)
    (rules / "regrun.yml").write_text(REGRUN)
    (rules / "whoami_cmd.yml").write_text(WHOAMI_CMD)
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(e) for e in EVENTS) + "\n")
    return rules, events


def _by_id(report: backtest.BacktestReport) -> dict[str, Any]:
    return {r["id"]: r for r in report.to_json()["rules"]}


def test_hit_counts_and_routing(corpus: tuple[Path, Path]) -> None:
    rules, events = corpus
    report = run_backtest([rules], [events], targets=["eql", "splunk"], workers=1)
    assert report.events == len(EVENTS)
    got = _by_id(report)
    whoami = got["11111111-1111-4111-8111-111111111111"]
    # Events 0 and 1 (case-insensitive), not 2 (filtered), 3 (parent), 4 (image), 5 (registry).
    assert whoami["events"] == 5
    assert whoami["reference"] == {"hits": 2, "unsupported": None, "undecided": None}
    for name in ("eql", "splunk"):
        assert whoami["targets"][name]["hits"] == 2
        assert whoami["targets"][name]["equivalent"] is True
        assert whoami["targets"][name]["disagreements"] == 0
    regrun = got["22222222-2222-4222-8222-222222222222"]
    assert regrun["events"] == 2
    assert regrun["reference"]["hits"] == 1
    assert regrun["targets"]["splunk"]["hits"] == 1
    # Elastic Defend spells the hive HKEY_USERS: the registry rule converts there and the
    # rendered event (HKU -> HKEY_USERS) is still a hit.
    assert not (regrun["targets"]["eql"]["reason"] or "").startswith("not converted")
    assert regrun["targets"]["eql"]["hits"] == 1
    windash = got["33333333-3333-4333-8333-333333333333"]
    assert windash["reference"]["hits"] == 1  # only "net /whoami" has -whoami or /whoami


def test_an_event_of_another_logsource_never_reaches_a_rule(corpus: tuple[Path, Path]) -> None:
    rules, events = corpus
    only_registry = events.parent / "registry.jsonl"
    only_registry.write_text(json.dumps(EVENTS[5]) + "\n")
    report = run_backtest([rules], [only_registry], targets=["eql"], workers=1)
    whoami = _by_id(report)["11111111-1111-4111-8111-111111111111"]
    assert whoami["events"] == 0
    assert whoami["reference"]["hits"] == 0
    assert whoami["targets"]["eql"]["hits"] == 0
    assert whoami["targets"]["eql"]["equivalent"] is None
    assert "no event" in whoami["targets"]["eql"]["reason"]


def test_zip_of_json_lines(corpus: tuple[Path, Path], tmp_path: Path) -> None:
    rules, events = corpus
    archive = tmp_path / "events.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("host/events.json", events.read_text())
        zf.writestr("__MACOSX/._events.json", "not json")
    report = run_backtest([rules], [archive], targets=["kql"], workers=1)
    assert report.events == len(EVENTS)
    whoami = _by_id(report)["11111111-1111-4111-8111-111111111111"]
    assert whoami["reference"]["hits"] == 2
    assert whoami["targets"]["kql"]["hits"] == 2


def test_disagreements_are_captured(
    corpus: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Make the EQL query case-sensitive (the stock-backend mistake) and count what it misses."""
    from converter.conversion.convert import Converter

    real = Converter.convert

    def broken(self: Converter, loaded: Any, **options: Any) -> Any:
        conversion = real(self, loaded, **options)
        if self.spec.name == "eql":
            conversion.queries = [re.sub(r'process\.name regex "[^"]*"', 'process.name == "whoami.exe"', q)
                                  for q in conversion.queries]
        return conversion

    monkeypatch.setattr(Converter, "convert", broken)
    rules, events = corpus
    report = run_backtest([rules / "whoami.yml"], [events], targets=["eql", "lucene"], workers=1,
                          max_examples=1)
    (rule,) = report.to_json()["rules"]
    eql = rule["targets"]["eql"]
    assert "process.name ==" in eql["query"]
    assert eql["equivalent"] is False
    assert eql["hits"] == 1  # the upper-case WHOAMI.EXE event is missed
    assert eql["disagreements"] == 1
    (example,) = eql["examples"]
    assert example["event"] == f"{events}:2"
    assert example["reference"] is True and example["target"] is False
    assert "process.name" in example["why"]
    lucene = rule["targets"]["lucene"]
    # Proven, or not proven only for the .caseless length limit (issue 11).
    assert lucene["equivalent"] is True or "ignore_above" in lucene["reason"], lucene


def test_examples_are_capped_but_counted(
    corpus: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from converter.conversion.convert import Converter

    real = Converter.convert

    def never(self: Converter, loaded: Any, **options: Any) -> Any:
        conversion = real(self, loaded, **options)
        conversion.queries = ["any where false"]
        return conversion

    monkeypatch.setattr(Converter, "convert", never)
    rules, _ = corpus
    many = tmp_path / "many.jsonl"
    many.write_text("\n".join(json.dumps(EVENTS[0]) for _ in range(7)) + "\n")
    report = run_backtest([rules / "whoami.yml"], [many], targets=["eql"], workers=1,
                          max_examples=3)
    eql = report.to_json()["rules"][0]["targets"]["eql"]
    assert eql["disagreements"] == 7
    assert len(eql["examples"]) == 3


def test_unconvertible_target_is_reported(tmp_path: Path, corpus: tuple[Path, Path]) -> None:
    rule = tmp_path / "re.yml"
    rule.write_text(WHOAMI_RULE.replace("CommandLine|contains: '/help'", "CommandLine|re: 'h.lp'"))
    _, events = corpus
    report = run_backtest([rule], [events], targets=["kql", "esql"], workers=1)
    targets = report.to_json()["rules"][0]["targets"]
    assert targets["kql"]["equivalent"] is None
    assert targets["kql"]["reason"].startswith("not converted")
    # ES|QL writes the regex (RLIKE) and its interpreter reads it: converted and evaluated.
    assert not (targets["esql"]["reason"] or "").startswith("not converted")


def test_two_workers_count_like_one(corpus: tuple[Path, Path], tmp_path: Path) -> None:
    rules, _ = corpus
    big = tmp_path / "big.jsonl"
    # More events than one batch, so both workers get some.
    lines = [json.dumps(EVENTS[i % len(EVENTS)]) for i in range(backtest.BATCH_SIZE * 3 + 7)]
    big.write_text("\n".join(lines) + "\n")
    seen: list[int] = []
    one = run_backtest([rules], [big], targets=["eql", "splunk"], workers=1)
    two = run_backtest([rules], [big], targets=["eql", "splunk"], workers=2, progress=seen.append)
    assert one.events == two.events == len(lines)
    strip = lambda r: [{k: v for k, v in x.items()} for x in r.to_json()["rules"]]  # noqa: E731
    assert strip(one) == strip(two)
    assert seen and seen[-1] == len(lines) and seen == sorted(seen)


KEYWORDS = """\
title: Keywords Anywhere
id: 66666666-6666-4666-8666-666666666666
status: test
logsource: {product: windows, category: process_creation}
detection:
  keywords:
    - 'WHOAMI /ALL'
    - '*net /who*'
  condition: keywords
level: low
"""


def test_prefilter_never_changes_a_count(corpus: tuple[Path, Path]) -> None:
    rules, events = corpus
    (rules / "keywords.yml").write_text(KEYWORDS)
    targets = ["eql", "kql", "lucene", "splunk", "splunk-cim"]
    fast = run_backtest([rules], [events], targets=targets, workers=1)
    slow = run_backtest([rules], [events], targets=targets, workers=1, prefilter=False)
    assert fast.to_json()["rules"] == slow.to_json()["rules"]
    keywords = _by_id(fast)["66666666-6666-4666-8666-666666666666"]
    assert keywords["reference"]["hits"] == 2  # "whoami /all" and "net /whoami"
    # Lucene refuses keyword searches with the reason (no Lucene query means Sigma's keyword
    # match); test_backtest_prefilter.py prefilters KQL's keyword queries.
    assert "keyword search" in (keywords["targets"]["lucene"]["reason"] or "")


def test_json_shape(corpus: tuple[Path, Path]) -> None:
    rules, events = corpus
    report = run_backtest([rules], [events], targets=["eql"], workers=1).to_json()
    assert set(report) >= {"events", "rules", "elapsed_s", "events_per_s"}
    rule = report["rules"][0]
    assert set(rule) >= {"id", "title", "path", "reference", "targets"}
    assert set(rule["reference"]) == {"hits", "unsupported", "undecided"}
    assert set(rule["targets"]["eql"]) >= {"hits", "equivalent", "reason", "disagreements",
                                           "examples"}
    json.dumps(report)


def test_bad_rule_is_an_entry(tmp_path: Path, corpus: tuple[Path, Path]) -> None:
    _, events = corpus
    bad = tmp_path / "bad.yml"
    bad.write_text("title: x\nlogsource: {product: windows}\ndetection: {condition: nope}\n")
    report = run_backtest([bad], [events], targets=["eql"], workers=1).to_json()
    assert report["rules"][0]["error"]
    assert report["rules"][0]["reference"]["hits"] is None


# --- the necessary conditions themselves ----------------------------------------------------------


@pytest.mark.parametrize(
    "pattern, dialect, literal",
    [
        (".*[cC][aA][lL][lL].*", "LUCENE", "call"),
        ("[wW][mM][iI][cC]\\.[eE][xX][eE]", "LUCENE", "wmic.exe"),
        (".*\\\\[cC][mM][dD]\\.[eE][xX][eE]", "LUCENE", "\\cmd.exe"),
        (".*[kK\u212a][eE][rR][bB]", "LUCENE", "kerb"),  # the Kelvin sign folds to k
        ("ab.cdef", "LUCENE", "cdef"),
        ("a(b|c)d", "LUCENE", "a"),  # the group is no one letter: it ends the run
        ("ab?c", "LUCENE", "a"),  # a quantified item is not required
        ("[a-z]+x", "LUCENE", "x"),
        ("~(abc)", "LUCENE", None),  # Lucene's complement
        ("abc\\sde", "LUCENE", "abc"),  # \s is whitespace in Lucene's RegExp, not the letter
        ("x\\ky", "LUCENE", None),  # an escaped letter other than d, s, w is refused
        ('"abc"', "LUCENE", None),
        ("(?s)^.*\\\\[wW][sS](?:i|I|\u0130)[pP]\\.[eE][xX][eE]\\z", "PCRE", "\\wsip.exe"),
        ("(?s)^[Ss][Cc][KkK]\\.[Ee]$", "RE2", "sck.e"),
        ("ab*?cd", "PCRE", "cd"),
        ("abc|d", "PCRE", None),  # a top-level alternation requires no run
        ("\\x41bc", "PCRE", None),  # an escape with an argument
        ("\\Qa|b\\E", "PCRE", None),
        ("(?=abcd)x", "PCRE", None),
        ("(?x)ab cd", "PCRE", None),  # extended mode: the space is no literal
        ("ab{2,3}cd", "RE2", "cd"),
        ("[^a]bc", "RE2", None),
        ("a[.]bc", "PCRE", "a.bc"),
        ("caf\u00e9s", "PCRE", "caf"),  # only ASCII representatives are kept
    ],
)
def test_regex_literal(pattern: str, dialect: str, literal: str | None) -> None:
    assert regex_literal(pattern, dialect) == literal


def test_and_picks_the_rarest_literal() -> None:
    from backends.query.ast import And, Equals, Glob, Not, Or, Wildcard

    common = Equals(field="event.category", value="process")
    rule_a = And((common, Glob(field="process.name", parts=(Wildcard.ANY, "\\a.exe"),
                                case_sensitive=False)))
    rule_b = And((common, Or((Glob(field="f", parts=("x", Wildcard.ANY)),
                              Not(Equals(field="g", value="y"))))))
    cond_a, cond_b = conditions_of([tree_form(rule_a), tree_form(rule_b)])
    # The rarer literal first; the constant both rules test is a second clause.
    assert cond_a[0] == frozenset({Alt("process.name", "contains", "\\a.exe")})
    # The Or has a branch without a condition, so only the constant remains.
    assert cond_b == (frozenset({Alt("event.category", "contains", "process", True)}),)


def test_sigma_forms_fold_unless_cased() -> None:
    from sigma.collection import SigmaCollection

    rule = SigmaCollection.from_yaml(
        "title: t\nlogsource: {product: windows, category: process_creation}\ndetection:\n"
        "  a: {CommandLine|contains|cased: 'AbC'}\n  b: {Image|endswith: '\\X.EXE'}\n"
        "  condition: a or b\n"
    ).rules[0]
    (condition,) = conditions_of([rule_form(c.parsed for c in rule.detection.parsed_condition)])
    assert condition == (frozenset({Alt("CommandLine", "contains", "AbC", True),
                                    Alt("Image", "endswith", "\\x.exe")}),)


def test_an_event_a_schema_cannot_render_is_counted(tmp_path: Path, corpus: tuple[Path, Path]) -> None:
    """An integrity level outside Elastic Defend's vocabulary: ECS targets never see the event."""
    rules, _ = corpus
    events = tmp_path / "app.jsonl"
    odd = dict(EVENTS[0], IntegrityLevel="AppContainer")
    events.write_text(json.dumps(odd) + "\n")
    report = run_backtest([rules / "whoami.yml"], [events], targets=["eql", "splunk"], workers=1)
    out = report.to_json()
    assert out["render_errors"]["ecs-windows"]["events"] == 1
    assert "AppContainer" in out["render_errors"]["ecs-windows"]["error"]
    targets = out["rules"][0]["targets"]
    # No evidence either way (as check's not_rendered), never a disagreement.
    assert targets["eql"]["disagreements"] == 0 and targets["eql"]["equivalent"] is None
    assert targets["eql"]["not_rendered"]["events"] == 1
    assert "cannot be rendered" in targets["eql"]["not_rendered"]["reason"]
    assert targets["eql"]["reason"].startswith("not proven: none of the 1 events")
    assert targets["splunk"]["equivalent"] is True


def _security_4688(image: str, parent: str, cmd: str) -> dict[str, Any]:
    return {"EventID": 4688, "Channel": "Security", "NewProcessName": image,
            "ParentProcessName": parent, "CommandLine": cmd, "SubjectUserName": "alice",
            "SubjectDomainName": "CORP", "MandatoryLabel": "S-1-16-8192"}


def test_events_a_table_cannot_hold_are_not_rendered_never_disagreements(
        tmp_path: Path, corpus: tuple[Path, Path]) -> None:
    """Sysmon records against Sentinel's SecurityEvent (which holds only the Security channel):
    the rule matches them, the table cannot hold them; they are listed, not counted as
    disagreements (the query is never asked about them)."""
    rules, events = corpus
    sysmon_only = run_backtest([rules / "whoami.yml"], [events], targets=["kusto"],
                               data_source="sentinel", workers=1).to_json()
    (rule,) = sysmon_only["rules"]
    kusto = rule["targets"]["kusto"]
    assert rule["reference"]["hits"] == 2
    assert kusto["disagreements"] == 0 and kusto["examples"] == []
    assert kusto["not_rendered"]["events"] == 2
    assert "no logsource of mapping table kusto-windows" in kusto["not_rendered"]["reason"]
    assert kusto["equivalent"] is None and kusto["reason"].startswith("not proven")
    # With a Security 4688 record the table holds, the query is asked and proven on it.
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(events.read_text() + json.dumps(_security_4688(
        "C:\\Windows\\System32\\whoami.exe", "C:\\Windows\\System32\\cmd.exe", "whoami")) + "\n")
    report = run_backtest([rules / "whoami.yml"], [mixed], targets=["kusto"],
                          data_source="sentinel", workers=1).to_json()
    kusto = report["rules"][0]["targets"]["kusto"]
    assert report["rules"][0]["reference"]["hits"] == 3
    assert (kusto["hits"], kusto["disagreements"], kusto["equivalent"]) == (1, 0, True)
    assert kusto["not_rendered"]["events"] == 2


VSCODE_NULL = """\
title: Tunnel Without Version Info
id: 44444444-4444-4444-8444-444444444444
status: test
logsource: {product: windows, category: process_creation}
detection:
  selection:
    OriginalFileName: null
    CommandLine|endswith: '.exe tunnel'
  condition: selection
level: low
"""


@pytest.mark.parametrize("prefilter", [True, False])
def test_declared_deleted_value_difference_is_not_proven_not_a_disagreement(
    tmp_path: Path, prefilter: bool
) -> None:
    """As in ``check``: on Kusto a string column reads '' where the value is missing, so an event
    whose OriginalFileName is '' is written like one without it, which the rule matches. The
    emitter declared that; the backtest counts it apart and calls the target "not proven",
    never "differs". A kept value the query gets right stays agreed."""
    rule = tmp_path / "tunnel.yml"
    rule.write_text(VSCODE_NULL, encoding="utf-8")
    base = {"Channel": SYSMON, "EventID": 1, "CommandLine": "code.exe tunnel"}
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(e) for e in (
        base, {**base, "OriginalFileName": "code.exe"}, {**base, "OriginalFileName": ""},
        {**base, "OriginalFileName": ""})) + "\n", encoding="utf-8")
    report = run_backtest([rule], [events], targets=["kusto"], workers=1, prefilter=prefilter)
    target = report.rules[0].targets["kusto"]
    assert target.disagreements == 0 and target.equivalent is None, target.reason
    assert "deletes the values" in (target.reason or "")
    assert "2 of 4 events show that difference" in (target.reason or "")


@pytest.mark.parametrize("prefilter", [True, False])
def test_agreeing_only_on_events_the_rule_does_not_match_proves_nothing(
    tmp_path: Path, prefilter: bool
) -> None:
    """As in ``check``: events of the rule's logsource, none of which the rule matches, agree with
    any query that matches nothing at all; the backtest calls the target "not proven", not
    "equivalent" (it did, for every rule no event of the stream hit)."""
    rule = tmp_path / "tunnel.yml"
    rule.write_text(VSCODE_NULL, encoding="utf-8")
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(e) for e in (
        {"Channel": SYSMON, "EventID": 1, "CommandLine": "code.exe", "OriginalFileName": "a"},
        {"Channel": SYSMON, "EventID": 1, "CommandLine": "x.exe tunnel",
         "OriginalFileName": "code.exe"})) + "\n", encoding="utf-8")
    report = run_backtest([rule], [events], targets=["eql", "splunk"], workers=1,
                          prefilter=prefilter)
    tally = report.rules[0]
    assert tally.reference_hits == 0
    for name in ("splunk", "eql"):  # splunk declares nothing here: it was "equivalent"
        target = tally.targets[name]
        assert target.disagreements == 0 and target.equivalent is None, (name, target.reason)
        assert target.reason == "not proven: no event here is one the rule matches", target.reason


IEX_RULE = """
title: Invoke Expression With A Space
id: 55555555-5555-4555-8555-555555555555
status: test
logsource: {product: windows, category: ps_script}
detection:
  selection:
    ScriptBlockText|contains: 'IEX '
  condition: selection
level: low
"""


@pytest.mark.parametrize("prefilter", [True, False])
def test_declared_trimmed_edge_difference_is_not_proven_not_a_disagreement(
    tmp_path: Path, prefilter: bool
) -> None:
    """As in ``check``: the Windows integration trims a script block's edges, so a block ending
    in the tested ``IEX `` is indexed as one ending in ``IEX``, which the rule does not match. The
    emitter declared that; the backtest counts it apart, never as a disagreement."""
    from converter.outputs.index_template import propose, template_body
    from converter.rules.load import load_text

    rule = tmp_path / "iex.yml"
    rule.write_text(IEX_RULE, encoding="utf-8")
    template = tmp_path / "t.json"
    template.write_text(json.dumps(template_body(propose(load_text(IEX_RULE, "r.yml"), "windows"))),
                        encoding="utf-8")
    base = {"Channel": "Microsoft-Windows-PowerShell/Operational", "EventID": 4104}
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps({**base, "ScriptBlockText": text}) for text in (
        "iex (x)", "x; IEX \r\n", "iexplore", "x IEX")) + "\n", encoding="utf-8")
    report = run_backtest([rule], [events], targets=["eql"], workers=1, prefilter=prefilter,
                          data_source="windows", mapping=template)
    target = report.rules[0].targets["eql"]
    assert target.disagreements == 0 and target.equivalent is None, target.reason
    assert "trims" in (target.reason or "") and "1 of 4 events" in (target.reason or ""), target.reason


def test_events_no_rule_reaches_are_counted_but_never_sent_to_an_engine(
    corpus: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An event of no rule's logsource (a Sysmon network connection, a Security logon, one
    whose EventID is unhashable) is read and counted, and evaluated nowhere: the parent drops
    it from the batch the engines get, with the same counts as evaluating it."""
    rules, _ = corpus
    unrouted = [{"EventID": 3, "Channel": SYSMON, "Image": "C:\\whoami.exe"},
                {"EventID": 4624, "Channel": "Security", "TargetUserName": "whoami"},
                {"EventID": [1], "Channel": SYSMON, "Image": "C:\\whoami.exe"}]
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("\n".join(json.dumps(e) for e in [*unrouted, *EVENTS, *unrouted]) + "\n")
    sent: list[list[Any]] = []
    run = backtest.Engine.run
    monkeypatch.setattr(backtest.Engine, "run", lambda self, batch: sent.append(batch)
                        or run(self, batch))
    report = run_backtest([rules], [mixed], targets=["eql", "splunk"], workers=1)
    plain = run_backtest([rules], [corpus[1]], targets=["eql", "splunk"], workers=1)
    assert report.events == len(EVENTS) + 2 * len(unrouted)
    assert [event for _, event in sent[0]] == EVENTS
    assert [{k: v for k, v in r.items()} for r in report.to_json()["rules"]] == \
        [{k: v for k, v in r.items()} for r in plain.to_json()["rules"]]
    two = run_backtest([rules], [mixed], targets=["eql", "splunk"], workers=2)
    assert two.events == report.events and two.to_json()["rules"] == report.to_json()["rules"]


def test_collector_thresholds_are_raised_during_a_run_and_restored(
    corpus: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run (and the workers it forks) collects at ``GC_YOUNG``; the caller's thresholds are
    back afterwards, also when the run fails."""
    import gc

    rules, events = corpus
    saved = gc.get_threshold()
    seen: list[tuple[int, ...]] = []
    load = backtest.load
    monkeypatch.setattr(backtest, "load", lambda *a: seen.append(gc.get_threshold()) or load(*a))
    try:
        gc.set_threshold(123, 4, 5)
        run_backtest([rules], [events], targets=["eql"], workers=1)
        assert seen == [(backtest.GC_YOUNG, 4, 5)]
        assert gc.get_threshold() == (123, 4, 5)
        with pytest.raises(Exception):
            run_backtest([rules / "missing.yml"], [events], targets=["eql"], workers=1)
        assert gc.get_threshold() == (123, 4, 5)
    finally:
        gc.set_threshold(*saved)


NULL_RULE = """\
title: Has Command Line
id: 66666666-6666-4666-8666-666666666666
status: test
logsource: {product: windows, category: process_creation}
detection:
  selection:
    Image|endswith: '\\\\a.exe'
    CommandLine|exists: true
  condition: selection
level: low
"""

CRLF_RULE = """\
title: Two Lines
id: 77777777-7777-4777-8777-777777777777
status: test
logsource: {product: windows, category: process_creation}
detection:
  selection:
    CommandLine|contains: "IEX\\r\\nx"
  condition: selection
level: low
"""

_A = {"Channel": SYSMON, "EventID": 1, "Image": "C:\\\\a.exe"}


@pytest.mark.parametrize(("rule_text", "events", "target", "data_source", "shown"), [
    # A JSON null: every data source writes it as a missing field, which ``exists`` tells apart.
    # Kusto declares nothing on this rule: the backtest asked about declared differences only
    # when a target declared deleted or trimmed values, and reported "differs".
    (NULL_RULE, [{**_A, "CommandLine": None}, {**_A, "CommandLine": "x"}, _A], "kusto", None,
     [0]),
    (NULL_RULE, [{**_A, "CommandLine": None}, {**_A, "CommandLine": "x"}, _A], "splunk", None,
     [0]),
    # The windows integration writes \r\n as \n: the emitter declared it (line endings).
    (CRLF_RULE, [{**_A, "CommandLine": "a IEX\r\nx"}, {**_A, "CommandLine": "a IEX\nx"}, _A],
     "eql", "windows", [0]),
])
def test_backtest_and_check_classify_a_declared_difference_alike(
    tmp_path: Path, rule_text: str, events: list[dict[str, Any]], target: str,
    data_source: str | None, shown: list[int]
) -> None:
    """The same event is "not proven" (the declared difference) in both commands, never
    "differs" in one of them."""
    from converter.checking.checker import Checker
    from converter.events.render import SampleEvent
    from converter.rules.load import load_text

    (loaded,) = load_text(rule_text, "r.yml")
    checked = Checker([target], data_source=data_source).check(
        loaded, [SampleEvent(e) for e in events]).targets[target]
    assert checked.disagreements == [] and checked.equivalent is None, checked.reason
    assert f"event {shown[0]} show that difference" in checked.reason, checked.reason
    rule = tmp_path / "r.yml"
    rule.write_text(rule_text, encoding="utf-8")
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in events) + "\n", encoding="utf-8")
    report = run_backtest([rule], [path], targets=[target], workers=1, data_source=data_source)
    tally = report.rules[0].targets[target]
    assert tally.disagreements == 0 and tally.equivalent is None, tally.reason
    assert f"{len(shown)} of {len(events)} events show that difference" in tally.reason
    # One wording of why: the check's and the backtest's reasons end alike.
    assert checked.reason.endswith(tally.reason.rsplit(": ", 1)[-1].rstrip(")"))
