"""Linux audit lines on Elastic (``ecs-auditd.yml`` ``linux-auditd-lines``, data source
``filestream``): the Custom Logs integration keeps each audit.log line whole in ``message``, so a
field of the auditd taxonomy is the test "the line holds the pair" and a keyword "some value of
the line contains it" (``backends/auditd_text.py``, spelled without look-arounds), regexes that
the caseless step moves to the cased copy ``sigport mapping`` adds. These tests prove them on
eql, lucene and esql with hostile values and keywords, run them on the data sources' example
lines, break each regex on purpose, and check the refusals."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from backends import TARGETS
from backends.auditd_text import KEY_NOT_MSG, keyword_pattern, pair_pattern
from backends.query.evaluate import matches
from backends.query.ingest import cased_encode
from converter.checking.checker import Checker
from converter.conversion.convert import Converter
from converter.events.render import EventRenderer, SampleEvent
from converter.generate.generator import generate_events
from converter.mapping.loader import load_table
from converter.outputs.index_template import propose, template_body
from helpers import load_one
from test_splunk_auditd_keywords import (
    CORPUS_RULES,
    EXAMPLE_LINES,
    HOSTILE,
    VALUES,
    auditd_rule,
)

ELASTIC = ["eql", "lucene", "esql"]


def template(text: str, tmp_path: Path) -> Path:
    """The template ``sigport mapping --data-source filestream`` writes for one rule."""
    path = tmp_path / "template.json"
    body = template_body(propose([load_one(text)], "filestream"))
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


def check(text: str, events: list[SampleEvent], tmp_path: Path) -> dict[str, object]:
    """Each Elastic target's check of the rule on filestream with its template."""
    loaded = load_one(text)
    checker = Checker(ELASTIC, data_source="filestream", mapping=template(text, tmp_path))
    return dict(checker.check(loaded, generate_events(loaded.rule) + events).targets)


def test_template_adds_the_cased_copy_of_message(tmp_path: Path) -> None:
    body = json.loads(template(auditd_rule("    a0: grep\n    condition: a0\n"), tmp_path)
                      .read_text("utf-8"))
    text = json.dumps(body)
    assert '"sigport_cased_of": "message"' in text, text[:400]


@pytest.mark.parametrize("detection", HOSTILE)
def test_hostile_keyword_rules_are_proven(detection: str, tmp_path: Path) -> None:
    events = []
    for i, value in enumerate(VALUES):
        other = VALUES[(i + 1) % len(VALUES)]
        events += [
            SampleEvent({"Channel": "linux/auditd", "type": "EXECVE", "a0": value}),
            SampleEvent({"Channel": "linux/auditd", "type": "EXECVE", "argc": 2, "a0": value,
                         "a1": other}),
            SampleEvent({"Channel": "linux/auditd", "a1": [value, other]}),
            # enriched and raw keys that differ only in case: the cased copy tells them apart
            SampleEvent({"Channel": "linux/auditd", "syscall": value, "SYSCALL": other}),
        ]
    for target, result in check(auditd_rule(detection), events, tmp_path).items():
        assert result.equivalent, (target, result.reason, result.disagreements[:2])


PAIRS = (
    "    selection:\n        type: EXECVE\n        a0: ['firewalld', 'two words', 'ufw*']\n"
    "        SYSCALL|startswith: exec\n    filter:\n        a1|endswith: '.service'\n"
    "    cased:\n        comm|cased: Xorg\n        a2|contains: 'd c'\n"
    "    condition: (selection and not filter) or cased\n"
)


def test_pair_rules_are_proven_on_hostile_lines(tmp_path: Path) -> None:
    events = []
    for value in ["firewalld", "FIREWALLD", "firewalld.service", "two words", "ufw", "ufw x",
                  "ufw.service", "x firewalld", "", "Xorg", "xorg", "and c", "execve", "EXECVE"]:
        for other in [{}, {"a2": f"a0={value}"}, {"a2": f"x a0={value}"},
                      {"syscall": "execve", "SYSCALL": value}]:
            base = {"Channel": "linux/auditd", "type": "EXECVE"}
            events += [SampleEvent({**base, "a0": value, **other}),
                       SampleEvent({**base, "a1": value, "comm": value, **other}),
                       SampleEvent({**base, "a0": "ufw", "SYSCALL": value, "a2": value})]
    for target, result in check(auditd_rule(PAIRS), events, tmp_path).items():
        assert result.equivalent, (target, result.reason, result.disagreements[:2])


def _query_on_line(text: str, line: str, tmp_path: Path) -> dict[str, bool]:
    """Each Elastic target's verdict on the document of one raw audit line."""
    mapping = template(text, tmp_path)
    out = {}
    for target in ELASTIC:
        conversion = Converter(target, options={"data_source": "filestream"},
                               field_model=_model(mapping)).convert(load_one(text))
        assert conversion.status == "converted", conversion.reason
        parse = TARGETS[target].parse_function()
        assert parse is not None
        doc = {"message": line, "sigport": {"cased": {"message": cased_encode(line)}},
               "event": {"dataset": "filestream.generic"}}
        out[target] = all(matches(parse(q, fields=_model(mapping)), doc)
                          for q in conversion.queries)
    return out


def _model(mapping: Path) -> object:
    from converter.mapping.index_mapping import field_model_for

    return field_model_for("filestream", mapping)


@pytest.mark.parametrize("keyword,line,expected", [
    ("sudo", 0, True), ("myfopen", 0, True), ("LD_PRELOAD=", 0, True), ("EXECVE", 0, True),
    ("15795", 0, False), ("argc", 0, False), ("a1", 0, False), ("audit", 0, False),
    ("atd", 1, True), ("systemd", 1, True), ("success", 1, True), ("root", 1, True),
    ("unset", 1, True), ("4802", 1, False), ("comm", 1, False), ("unit=", 1, False),
    ("success'", 1, False), ("atd comm", 1, False), ("ROOT", 1, True),
])
def test_keyword_on_the_data_sources_example_lines(keyword: str, line: int, expected: bool,
                                                   tmp_path: Path) -> None:
    """The example lines hold a user-space record's msg='...' pairs and an enriched part after
    the group separator: each value is found, no key, stamp or separator is."""
    text = auditd_rule(f"    keywords: [{keyword!r}]\n    condition: keywords\n")
    assert _query_on_line(text, EXAMPLE_LINES[line], tmp_path) == dict.fromkeys(ELASTIC, expected)


@pytest.mark.parametrize("test,line,expected", [
    ("unit: atd", 1, True), ("unit: ATD", 1, True), ("unit: at", 1, False),
    ("unit|startswith: a", 1, True), ("unit: systemd", 1, False), ("uid: root", 1, False),
    ("uid: 0", 1, True), ("auid: unset", 1, False), ("auid: 4294967295", 1, True),
    ("a1|cased: ld_preload=./myfopen.so", 0, False),
    ("a1: ld_preload=./myfopen.so", 0, True), ("a2|endswith: prog", 0, True),
])
def test_pair_on_the_data_sources_example_lines(test: str, line: int, expected: bool,
                                                tmp_path: Path) -> None:
    text = auditd_rule(f"    selection:\n        {test}\n    condition: selection\n")
    assert _query_on_line(text, EXAMPLE_LINES[line], tmp_path) == dict.fromkeys(ELASTIC, expected)


def test_rendered_document_is_the_audit_line_in_message() -> None:
    renderer = EventRenderer(load_table("ecs-auditd"), data_source="filestream")
    doc = renderer.render({"Channel": "linux/auditd", "type": "EXECVE", "a0": "two words",
                           "argc": 1})
    assert doc is not None
    assert doc["message"] == 'type=EXECVE msg=audit(1700000000.000:1): a0="two words" argc=1'
    assert doc["event.dataset"] == "filestream.generic"


def test_an_event_with_a_msg_value_is_not_rendered() -> None:
    renderer = EventRenderer(load_table("ecs-auditd"), data_source="filestream")
    with pytest.raises(ValueError, match="msg"):
        renderer.render({"Channel": "linux/auditd", "type": "USER_CMD", "msg": "x"})


@pytest.mark.parametrize("test,needle", [
    ("a1|re: 'fire.*'", "a1"), ("unit: 'a\"b'", "double quote"), ("unit: null", "unit"),
    ("ses: 1", "ses"),
])
def test_tests_without_a_form_on_the_line_are_refused(test: str, needle: str,
                                                      tmp_path: Path) -> None:
    text = auditd_rule(f"    selection:\n        {test}\n    condition: selection\n")
    for target, result in check(text, [], tmp_path).items():
        reason = result.reason or ""
        assert reason.startswith("not converted") and needle in reason, (target, reason)
        assert "filestream" in reason, (target, reason)


def test_keyword_refusals_name_the_reason(tmp_path: Path) -> None:
    for keyword, needle in [("'a\"b'", "double quote"), ("'|re': 'a.c'", "RegularExpression")]:
        detection = (f"    keywords: [{keyword}]\n" if not keyword.startswith("'|")
                     else f"    keywords:\n        {keyword}\n")
        text = auditd_rule(detection + "    condition: keywords\n")
        for target, result in check(text, [], tmp_path).items():
            assert needle in (result.reason or ""), (target, result.reason)


def test_without_the_template_every_rule_is_refused_naming_the_step() -> None:
    text = auditd_rule("    a0: grep\n    condition: a0\n")
    conversion = Converter("eql", options={"data_source": "filestream"}).convert(load_one(text))
    assert conversion.status != "converted"
    assert "sigport mapping" in (conversion.reason or "") and "cased copy" in (conversion.reason or "")


# Deliberate breakages: each piece of the regexes, changed, makes some line answer wrongly.
LINES = [
    'type=EXECVE msg=audit(1.0:1): a0="x k=" a1=grep',   # "k=" inside a quoted value
    "type=EXECVE msg=audit(1.0:1): a0=grepx",           # a longer bare value
    "type=EXECVE msg=audit(1.0:1): xa0=grep",           # a longer key
    "type=X msg=audit(1.0:1): msg='a0=grep res=ok'",    # a pair inside a user record's msg
    "type=X msg=audit(1.0:1): a1=y\x1da0=grep",          # a pair after the group separator
    'type=X msg=audit(1.0:1): a1="x a0=grep y"',       # a pair's text inside a quoted value
]


def _search(pattern: str, line: str) -> bool:
    return re.search(pattern, line) is not None


def test_the_pair_regex_reads_each_line_as_auditd_writes_it() -> None:
    good = pair_pattern("a0", "grep", "grep", lookaround=False)
    assert [_search(good, line) for line in LINES] == [False, False, False, True, True, False]
    assert _search(pair_pattern("k", "", "", lookaround=False), LINES[0]) is False
    broken = [
        good.replace("(?:[ '\\x1d].*)?\\Z", ".*"),           # bare value's end not checked
        good.replace('(?:(?:[^"]|"[^"]*")*', "(?:.*"),         # quoted values not skipped
        good.replace("[ '\\x1d])?a0", "[ \\x1d])?a0"),          # msg='...' pairs not read
        good.replace("[ '\\x1d])?a0", "[ '])?a0"),              # enriched pairs not read
        good.replace("^", ""),                                  # a pair found mid-key
    ]
    for pattern in broken:
        assert pattern != good
        assert [_search(pattern, line) for line in LINES] != [False, False, False, True, True, False], pattern


def test_the_keyword_regex_reads_values_only() -> None:
    good = keyword_pattern('"[^"]*rep[^"]*"', "[^ \"'\\x1d]*rep[^ \"'\\x1d]*", lookaround=False)
    header = "type=X msg=audit(1.0:1): a0=zz"
    assert not _search(keyword_pattern('"[^"]*audit[^"]*"', "[^ \"'\\x1d]*audit[^ \"'\\x1d]*",
                                       lookaround=False), header)
    assert [_search(good, line) for line in LINES] == [True, True, True, True, True, True]
    assert not _search(good, "type=X msg=audit(1.0:1): rep=zz")  # a key is no value
    broken = good.replace(KEY_NOT_MSG, "[^ =\"'\\x1d]+=")      # the header's stamp a value
    assert _search(broken.replace("rep", "audit"), header)
    for key in ["m", "ms", "msgx", "mx", "xmsg", "a0"]:
        line = f"type=X msg=audit(1.0:1): {key}=rep"
        assert _search(good, line), key


@pytest.mark.skipif(not CORPUS_RULES.is_dir(), reason="../shared/corpus is absent")
def test_sigmahq_auditd_rules_are_proven_on_filestream(tmp_path: Path) -> None:
    names = ["lnx_auditd_binary_padding.yml", "lnx_auditd_susp_histfile_operations.yml",
             "lnx_auditd_chattr_immutable_removal.yml", "lnx_auditd_coinminer.yml"]
    for name in names:
        text = (CORPUS_RULES / "execve" / name).read_text("utf-8")
        for target, result in check(text, [], tmp_path).items():
            assert result.equivalent, (name, target, result.reason)


REGEX_KEYWORD_RULE = """
title: a regex keyword on a plain-text log
id: 91111111-2222-3333-4444-555555555559
logsource: {product: linux, service: sshd}
detection:
    keywords:
        '|re': 'Invalid user [a-z]+ from'
    condition: keywords
"""


def test_a_regex_on_message_moves_to_its_cased_copy_and_is_proven(tmp_path: Path) -> None:
    # message is match_only_text: a regex on it had no exact query (refused); the cased copy
    # holds the line whole (only the query_string swaps), where the regex is exact.
    loaded = load_one(REGEX_KEYWORD_RULE)
    path = tmp_path / "t.json"
    path.write_text(json.dumps(template_body(propose([loaded], "defend"))), encoding="utf-8")
    conversion = Converter("lucene", field_model=_model(path)).convert(loaded)
    assert conversion.status == "converted", conversion.reason
    assert "sigport.cased.message:/" in conversion.queries[0]
    events = [SampleEvent({"Channel": "linux/sshd", "x": line}) for line in (
        "Invalid user bob from 10.0.0.1", "invalid user bob from x", "Invalid user Bob from x",
        "Invalid user  from x", "x Invalid user b\u2420ob from y", "Invalid user bob  from x")]
    result = Checker(ELASTIC, mapping=path).check(loaded, generate_events(loaded.rule) + events)
    for target, outcome in result.targets.items():
        assert outcome.equivalent, (target, outcome.reason, outcome.disagreements[:2])


def test_values_with_lucene_and_regex_operators_are_proven(tmp_path: Path) -> None:
    # '#', '@', '&', '~', '<', '>' are Lucene RegExp operators, '\\', '?', '*', '{', '[', '('
    # the regex's own: each must be a literal of the pair's or the keyword's value.
    detection = ("    sel:\n        a0|contains: ['#@&', '~<>', 'a\\\\b', 'x?y', 'p*q', '{1}', '[a]']\n"
                 "    kw:\n        - '#@&'\n        - '~<>'\n        - '(.)'\n        - 'x\\\\y'\n"
                 "    condition: sel or kw\n")
    values = ["#@&", "z#@&z", "~<>", "#@", "a\\b", "a\\\\b", "xzy", "x?y", "pq", "p*q", "pzzq",
              "{1}", "[a]", "a", "(.)", "(x)", "x\\y", "two #@& words"]
    events = [SampleEvent({"Channel": "linux/auditd", "type": "EXECVE", "a0": v, "a1": w})
              for v in values for w in values[:4]]
    for target, result in check(auditd_rule(detection), events, tmp_path).items():
        assert result.equivalent, (target, result.reason, result.disagreements[:2])


@pytest.mark.parametrize("test", ["a1: x", "exe: /bin/x", "key: k", "euid: 0", "argc: 2",
                                  "success: 'yes'"])
def test_refusals_on_the_auditd_data_source_name_filestream(test: str) -> None:
    # The Auditd Logs integration rewrites these keys; the audit line itself keeps them.
    text = auditd_rule(f"    selection:\n        {test}\n    condition: selection\n")
    conversion = Converter("eql", options={"data_source": "auditd"}).convert(load_one(text))
    assert conversion.status != "converted"
    assert "--data-source filestream" in (conversion.reason or ""), conversion.reason
