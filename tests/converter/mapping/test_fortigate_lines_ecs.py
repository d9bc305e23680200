"""FortiGate event log lines on Elastic (``ecs-lines.yml`` ``fortigate-event-lines``, data source
``filestream``): the Custom Logs integration keeps each FortiOS log line whole in ``message``, so
a string field of the log (action, cfgpath, ...) is the test "the line holds the pair
key="value"" (``backends/fortios_text.py``, spelled without look-arounds) on the cased copy
``sigport mapping`` adds. These tests prove it on eql, lucene and esql with hostile values, run
it on lines the renderer does not write (escaped quotes), break the regex on purpose, and check
the refusals."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from backends import TARGETS
from backends.fortios_text import fortios_pair_pattern
from backends.query.evaluate import matches
from backends.query.ingest import cased_encode
from converter.conversion.convert import Converter
from converter.events.fortios_line import fortios_line
from converter.events.render import EventRenderer, SampleEvent
from converter.mapping.index_mapping import field_model_for
from converter.mapping.loader import load_table
from helpers import load_one
from test_auditd_lines_ecs import check, template

ELASTIC = ["eql", "lucene", "esql"]
CORPUS_RULES = Path(__file__).resolve().parents[3] / "../shared/corpus/sigmahq/rules/network/fortinet"
TAG = {"fortigate/event"}


def fortigate_rule(detection: str) -> str:
    return ("title: t\nid: 0e5b1c4e-0000-4000-8000-000000000113\n"
            "logsource: {product: fortigate, service: event}\ndetection:\n" + detection)


def test_the_line_is_a_header_then_quoted_pairs() -> None:
    line = fortios_line({"Channel": "fortigate/event", "action": "Add", "cfgpath": "system.admin",
                         "type": "event", "n": 8}, TAG)
    assert line.startswith("date=2026-01-01 time=00:00:00 devname=\"FGT\"")
    assert line.endswith(' action="Add" cfgpath="system.admin" type="event" n="8"')
    assert line.count(" type=") == 1  # the event's own type replaces the header's


@pytest.mark.parametrize("value", ['a"b', "a\\b", "a\tb", "a\nb"])
def test_values_the_reference_does_not_spell_are_not_rendered(value: str) -> None:
    renderer = EventRenderer(load_table("ecs-lines"), data_source="filestream")
    with pytest.raises(ValueError):
        renderer.render({"Channel": "fortigate/event", "action": "Add", "cfgattr": value})


PAIRS = ("    selection:\n        action: 'Add'\n        cfgpath: ['system.admin', 'a b']\n"
         "    filter:\n        user|cased: Admin\n    condition: selection and not filter\n")


def test_pair_rules_are_proven_on_hostile_lines(tmp_path: Path) -> None:
    values = ["Add", "ADD", "add", "Addx", " Add", "Add ", "x Add", "system.admin",
              "SYSTEM.ADMIN", "system.admins", "system_admin", "a b", "a  b", "", "Admin", "admin",
              "x action=", "x cfgpath=", " action=", "action=Add", "=", "Edit"]
    events = []
    for value in values:
        for other in [{}, {"cfgattr": f"x action={value}"}, {"cfgattr": "x cfgpath="},
                      {"msg": f"Add cfgpath={value}"}, {"xaction": "Add"}, {"cfgobj": "action="}]:
            base = {"Channel": "fortigate/event"}
            events += [SampleEvent({**base, "action": value, "cfgpath": "system.admin", **other}),
                       SampleEvent({**base, "action": "Add", "cfgpath": value, **other}),
                       SampleEvent({**base, "action": "Add", "cfgpath": "a b", "user": value,
                                    **other}),
                       SampleEvent({**base, "cfgpath": [value, "system.admin"],
                                    "action": [value, "Edit"], **other})]
    for target, result in check(fortigate_rule(PAIRS), events, tmp_path).items():
        assert result.equivalent, (target, result.reason, result.disagreements[:2])


def _query_on_line(text: str, line: str, tmp_path: Path) -> dict[str, bool]:
    """Each Elastic target's verdict on the document of one raw FortiOS line."""
    model = field_model_for("filestream", template(text, tmp_path))
    out = {}
    for target in ELASTIC:
        conversion = Converter(target, options={"data_source": "filestream"},
                               field_model=model).convert(load_one(text))
        assert conversion.status == "converted", conversion.reason
        parse = TARGETS[target].parse_function()
        assert parse is not None
        doc = {"message": line, "sigport": {"cased": {"message": cased_encode(line)}},
               "event": {"dataset": "filestream.generic"}}
        out[target] = all(matches(parse(q, fields=model), doc) for q in conversion.queries)
    return out


# community.fortinet.com article 387138's line (a new policy), and lines with quotes escaped
# inside values (elastic/integrations pull 18156), which the renderer does not write.
EXAMPLE = ('date=2025-04-10 time=05:01:53 eventtime=1744286513150014241 tz="-0700" '
           'logid="0100044547" type="event" subtype="system" level="information" vd="root" '
           'logdesc="Object attribute configured" user="admin" ui="GUI(10.32.22.115)" '
           'action="Add" cfgtid=126746708 cfgcomment="test" cfgpath="firewall.policy" cfgobj="8" '
           'cfgattr="name[testconfig]srcintf[port5]dstintf[port1]action[accept]" '
           'msg="Add firewall.policy 8"')


@pytest.mark.parametrize("test,line,expected", [
    ("cfgpath: firewall.policy", EXAMPLE, True),
    ("cfgpath: firewall.polic", EXAMPLE, False),
    ("action: add", EXAMPLE, True),
    ("cfgobj: 8", EXAMPLE, True),
    ("ui: GUI(10.32.22.115)", EXAMPLE, True),
    ("cfgpath: system.admin",
     'action="Add" cfgcomment="a\\" cfgpath=\\"system.admin\\"" cfgpath="user.local"', False),
    ("cfgpath: user.local",
     'action="Add" cfgcomment="a\\" cfgpath=\\"system.admin\\"" cfgpath="user.local"', True),
    ("cfgpath: system.admin", 'msg="x cfgpath=" cfgpath="user.local"', False),
    ("cfgpath: system.admin", 'xcfgpath="system.admin"', False),
    ("cfgpath: system.admin", 'cfgpath="system.admin"', True),
])
def test_pair_on_raw_lines(test: str, line: str, expected: bool, tmp_path: Path) -> None:
    text = fortigate_rule(f"    selection:\n        {test}\n    condition: selection\n")
    assert _query_on_line(text, line, tmp_path) == dict.fromkeys(ELASTIC, expected)


LINES = [
    'action="Add"',                     # the pair
    'xaction="Add"',                    # a longer key
    'action="Addx"',                    # a longer value
    'msg="x action=" action="Edit"',    # "action=" at a value's end
    'msg="y" action="Add"',             # the pair after another
]


def test_the_pair_regex_reads_each_line_as_fortios_writes_it() -> None:
    good = fortios_pair_pattern("action", "Add")
    expected = [True, False, False, False, True]
    assert [re.search(good, line) is not None for line in LINES] == expected
    broken = [
        good.replace("(?:.* )?", ".*"),      # a pair found mid-key
        good[:-1],                           # the value's end not checked
        good.replace("(?:.* )?", ""),        # only the line's first pair read
    ]
    for pattern in broken:
        assert pattern != good
        assert [re.search(pattern, line) is not None for line in LINES] != expected, pattern


@pytest.mark.parametrize("test,needle", [
    ("cfgpath|startswith: system", "'system*' has a wildcard"), ("cfgpath: 'a*b'", "wildcard"), ("cfgpath: 'a\"b'", "double quote"),
    ("cfgpath: 'a\\b'", "backslash"), ("cfgpath: ''", "empty"), ("cfgpath: ' a'", "space"),
    ("cfgpath|re: 'a.*'", "cfgpath"), ("cfgpath: null", "cfgpath"), ("cfgtid: 1", "cfgtid"),
])
def test_tests_without_an_exact_form_on_the_line_are_refused(test: str, needle: str,
                                                             tmp_path: Path) -> None:
    text = fortigate_rule(f"    selection:\n        {test}\n    condition: selection\n")
    for target, result in check(text, [], tmp_path).items():
        reason = result.reason or ""
        assert reason.startswith("not converted") and needle in reason, (target, reason)
        assert "filestream" in reason, (target, reason)


def test_escaped_wildcards_are_plain_values(tmp_path: Path) -> None:
    text = fortigate_rule("    selection:\n        cfgpath: 'a\\*b\\?'\n    condition: selection\n")
    assert _query_on_line(text, 'cfgpath="a*B?"', tmp_path) == dict.fromkeys(ELASTIC, True)
    assert _query_on_line(text, 'cfgpath="axb?"', tmp_path) == dict.fromkeys(ELASTIC, False)
    events = [SampleEvent({"Channel": "fortigate/event", "cfgpath": v})
              for v in ["a*b?", "a*bx", "axb?", "A*B?", "a\\*b?"]]
    for target, result in check(text, events, tmp_path).items():
        assert result.equivalent, (target, result.reason, result.disagreements[:2])


def test_keywords_are_refused(tmp_path: Path) -> None:
    text = fortigate_rule("    keywords: ['system.admin']\n    condition: keywords\n")
    for target, result in check(text, [], tmp_path).items():
        assert "fortigate-event-lines" in (result.reason or ""), (target, result.reason)
        assert "keys and header pairs" in (result.reason or ""), (target, result.reason)


def test_field_names_are_string_fields_of_the_cited_message() -> None:
    # FortiOS Log Message Reference 7.6.0, 44547 LOGID_EVENT_CONFIG_OBJATTR: the string fields.
    strings = {"date", "time", "logid", "type", "subtype", "level", "devid", "vd", "tz",
               "logdesc", "user", "ui", "action", "msg", "cfgpath", "cfgobj", "cfgattr", "uuid"}
    entry = next(e for e in load_table("ecs-lines").logsources if e.id == "fortigate-event-lines")
    assert set(entry.fields) <= strings and {"action", "cfgpath"} <= set(entry.fields)
    assert "44547" in (Path(__file__).resolve().parents[3]
                       / "converter/mapping/tables/ecs-lines.yml").read_text("utf-8")


@pytest.mark.skipif(not CORPUS_RULES.is_dir(), reason="../shared/corpus is absent")
def test_sigmahq_fortigate_rules_are_proven_on_filestream(tmp_path: Path) -> None:
    paths = sorted(CORPUS_RULES.rglob("*.yml"))
    assert len(paths) >= 7
    for path in paths:
        for target, result in check(path.read_text("utf-8"), [], tmp_path).items():
            assert result.equivalent, (path.name, target, result.reason)
