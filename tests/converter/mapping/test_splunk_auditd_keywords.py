"""Keywords on Linux audit records (``splunk-linux.yml`` linux-auditd, state ``auditd_record``).

Splunk keeps an audit record as its line of ``key=value`` pairs (``_raw``); a Sigma keyword
means "some value contains it". The query reads the line pair by pair from its start and finds
the keyword inside one quoted or bare value (``backends/splunk/backend_text_record.py``); the
renderer writes the line (``converter/events/auditd_line.py``). These tests check both on hostile
values and keywords, and the query on the data sources' own example lines.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from backends import TARGETS
from backends.query.evaluate import matches
from converter.checking.checker import Checker
from converter.events.auditd_line import auditd_line
from converter.events.render import SampleEvent
from converter.generate.generator import generate_events
from helpers import load_one, to_query

CORPUS_RULES = Path(__file__).resolve().parents[3] / "../shared/corpus/sigmahq/rules/linux/auditd"
TAG = {"linux/auditd"}


def auditd_rule(detection: str) -> str:
    return ("title: t\nid: 0e5b1c4e-0000-4000-8000-000000000013\n"
            "logsource: {product: linux, service: auditd}\ndetection:\n" + detection)


def test_the_line_is_type_header_then_pairs_quoted_or_bare() -> None:
    event = {"Channel": "linux/auditd", "a0": "grep", "type": "EXECVE", "a1": "two words",
             "argc": 2, "a2": "it's", "a3": ""}
    assert auditd_line(event, TAG) == (
        'type=EXECVE msg=audit(1700000000.000:1): a0=grep a1="two words" argc=2 a2="it\'s" a3=""'
    )


@pytest.mark.parametrize("value", ['say "hi"', "two\nlines", "tab\there", "del\x7f"])
def test_a_value_auditd_writes_as_hex_is_not_rendered(value: str) -> None:
    # auditd writes a string holding a quote or a control character as hex: the Sigma event
    # (which holds the record's own text) never holds it as written.
    with pytest.raises(ValueError, match="hex"):
        auditd_line({"type": "EXECVE", "a1": value}, TAG)


def test_keyword_is_a_regex_of_the_values_not_a_bare_term() -> None:
    query = to_query("splunk", auditd_rule("    keywords: ['grep']\n    condition: keywords\n"),
                     None)
    assert "mvfind('_raw'" in query or "| regex _raw=" in query
    assert '"grep"' not in query and "msg=audit" in query


def test_keyword_with_a_double_quote_is_refused() -> None:
    text = auditd_rule("    keywords: ['a\"b']\n    condition: keywords\n")
    reason = Checker(["splunk"]).check(load_one(text), []).targets["splunk"].reason or ""
    assert "not converted" in reason and "double quote" in reason, reason


HOSTILE = [
    # a key name, the header's stamp and its digits, '=' and a pair's text across two values
    "    keywords: ['a0', 'a1', 'argc', 'msg=audit', '1700000000', 'x a1=']\n    condition: keywords\n",
    # wildcards must stay inside one value; '?' is one character of it
    "    keywords: ['grep*password', 'pa?swd']\n    condition: keywords\n",
    # spaces, single quotes and case partners (İ, the Kelvin sign) inside quoted values
    "    keywords: [\"it's\", 'two words', 'İnit', 'KELVIN']\n    condition: keywords\n",
    # number keywords (their decimal text), all of several, a negated one, a cased one
    "    a: [0, 6]\n    b:\n        '|all': ['init', '-r']\n    c: ['of=']\n"
    "    d:\n        '|cased': ['EXECVE']\n    condition: (a and b and not c) or d\n",
]
# "x k=" ends inside its quotes like a pair ("k=") before the next value's quote: only a line
# read from its start over whole quoted values tells that no pair starts there.
VALUES = ["x k=", "two words", "grep", "password", "grep password", "x a1=", "a0", "1700000000", "msg=audit(",
          "passwd", "pa_swd", "pa\u017fswd", "it's", "two words", "two  words", "\u0130nit",
          "\u0131nit", "init", "\u212aelvin", "0", "6", "60", "-r", "of=", "execve", "EXECVE"]


@pytest.mark.parametrize("detection", HOSTILE)
def test_hostile_keyword_rules_are_proven(detection: str) -> None:
    loaded = load_one(auditd_rule(detection))
    events = generate_events(loaded.rule)
    for i, value in enumerate(VALUES):
        events.append(SampleEvent({"Channel": "linux/auditd", "type": "EXECVE", "a0": value}))
        other = VALUES[(i + 1) % len(VALUES)]
        events.append(SampleEvent({"Channel": "linux/auditd", "type": "EXECVE", "argc": 2,
                                   "a0": value, "a1": other}))
        events.append(SampleEvent({"Channel": "linux/auditd", "a1": [value, other]}))
    result = Checker(["splunk"]).check(loaded, events).targets["splunk"]
    assert result.equivalent, (result.reason, result.disagreements[:2])


EXAMPLE_LINES = [
    # security_content data_sources/linux_auditd_execve.yml and _service_stop.yml example_log
    ('type=EXECVE msg=audit(1723044684.257:15795): argc=3 a0="sudo" a1="LD_PRELOAD=./myfopen.so"'
     ' a2="./prog"'),
    ("type=SERVICE_STOP msg=audit(1722957155.494:4802): pid=1 uid=0 auid=4294967295 "
     "ses=4294967295 subj=unconfined msg='unit=atd comm=\"systemd\" "
     "exe=\"/usr/lib/systemd/systemd\" hostname=? addr=? terminal=? res=success'\x1dUID=\"root\" "
     "AUID=\"unset\""),
]


@pytest.mark.parametrize("keyword,line,expected", [
    ("sudo", 0, True), ("myfopen", 0, True), ("LD_PRELOAD=", 0, True), ("EXECVE", 0, True),
    ("15795", 0, False), ("argc", 0, False), ("a1", 0, False), ('"', 0, None),
    ("atd", 1, True), ("systemd", 1, True), ("success", 1, True), ("root", 1, True),
    ("unset", 1, True), ("4802", 1, False), ("comm", 1, False), ("unit=", 1, False),
    ("success'", 1, False), ("atd comm", 1, False),
])
def test_query_on_the_data_sources_example_lines(keyword: str, line: int, expected: bool | None
                                                  ) -> None:
    """The example lines hold a user-space record's msg='...' pairs and an enriched part
    after the group separator: each value is found, no key, stamp or separator is."""
    text = auditd_rule(f"    keywords: [{keyword!r}]\n    condition: keywords\n")
    if expected is None:
        with pytest.raises(Exception, match="double quote"):
            to_query("splunk", text, None)
        return
    query = to_query("splunk", text, None)
    parse = TARGETS["splunk"].parse_function()
    assert parse is not None
    record = {"sourcetype": "linux:audit", "_raw": EXAMPLE_LINES[line]}
    assert matches(parse(query), record) is expected


@pytest.mark.skipif(not CORPUS_RULES.is_dir(), reason="../shared/corpus is absent")
def test_sigmahq_keyword_rules_of_auditd_are_proven() -> None:
    names = ["lnx_auditd_binary_padding.yml", "lnx_auditd_bpfdoor_port_redirect.yml",
             "lnx_auditd_change_file_time_attr.yml", "lnx_auditd_find_cred_in_files.yml",
             "lnx_auditd_susp_histfile_operations.yml", "lnx_auditd_system_shutdown_reboot.yml"]
    for name in names:
        path = CORPUS_RULES / "execve" / name
        loaded = load_one(path.read_text("utf-8"), name)
        result = Checker(["splunk"]).check(loaded, generate_events(loaded.rule)).targets["splunk"]
        assert result.equivalent, (name, result.reason)


@pytest.mark.parametrize("test,expected", [
    ("unit: atd", True), ("unit: ATD", True), ("unit: at", False), ("unit|startswith: a", True),
    ("unit: systemd", False), ("unit|contains: 'd comm'", False), ("unit: success", False),
])
def test_unit_is_the_pair_inside_msg_on_the_example_line(test: str, expected: bool) -> None:
    # linux_auditd_service_stop.yml: the extraction names no unit field; the line holds the pair.
    text = auditd_rule(f"    selection:\n        {test}\n    condition: selection\n")
    query = to_query("splunk", text, None)
    parse = TARGETS["splunk"].parse_function()
    assert parse is not None
    record = {"sourcetype": "linux:audit", "_raw": EXAMPLE_LINES[1]}
    assert matches(parse(query), record) is expected


def test_unit_rules_are_proven_on_hostile_lines() -> None:
    # The pair's whole value, quoted or bare; "unit=" inside another value is no pair.
    detection = ("    selection:\n        type: SERVICE_STOP\n"
                 "        unit: ['firewalld', 'two words', 'ufw*']\n"
                 "    filter:\n        unit|endswith: '.service'\n"
                 "    condition: selection and not filter\n")
    loaded = load_one(auditd_rule(detection))
    events = generate_events(loaded.rule)
    for unit in ["firewalld", "FIREWALLD", "firewalld.service", "two words", "ufw", "ufw x",
                 "ufw.service", "x firewalld", ""]:
        for other in [{}, {"a1": f"unit={unit}"}, {"a1": f"x unit={unit}"}]:
            events.append(SampleEvent({"Channel": "linux/auditd", "type": "SERVICE_STOP",
                                       "unit": unit, **other}))
            events.append(SampleEvent({"Channel": "linux/auditd", "type": "SERVICE_STOP",
                                       "comm": unit, **other}))
    result = Checker(["splunk"]).check(loaded, events).targets["splunk"]
    assert result.equivalent, (result.reason, result.disagreements[:2])


@pytest.mark.parametrize("test", ["unit: 'a\"b'", "unit|re: 'fire.*'", "unit: null"])
def test_unit_tests_without_a_form_on_the_line_are_refused(test: str) -> None:
    text = auditd_rule(f"    selection:\n        {test}\n    condition: selection\n")
    reason = Checker(["splunk"]).check(load_one(text), []).targets["splunk"].reason or ""
    assert reason.startswith("not converted") and "unit" in reason, reason
