"""``product: linux`` alone on Splunk (``splunk-lines.yml`` linux-any, state ``record_kinds``).

Such a rule reads every Linux record: text lines, Linux audit lines and Sysmon for Linux's XML
records. A keyword is the OR over the kinds, each guarded by its sourcetype or source and tested
on ``_raw`` as that kind writes values (``backends/splunk/backend_record_kinds.py``). Checked here on
hostile events of every kind, on the data source's own example record, and for the refusals.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from backends import TARGETS
from backends.query.evaluate import matches
from converter.checking.checker import Checker
from converter.events.render import SampleEvent
from converter.generate.generator import generate_events
from helpers import load_one, to_query

CORPUS = Path(__file__).resolve().parents[3] / "../shared/corpus"
SYSMON = "Linux-Sysmon/Operational"


def linux_rule(detection: str, logsource: str = "{product: linux}") -> str:
    return ("title: t\nid: 0e5b1c4e-0000-4000-8000-000000000015\n"
            f"logsource: {logsource}\ndetection:\n" + detection)


def test_only_rules_naming_the_product_alone_take_the_entry() -> None:
    query = to_query("splunk", linux_rule("    keywords: ['nc -e']\n    condition: keywords\n"))
    assert '"sysmon:linux"' in query and 'source="Syslog:Linux-Sysmon/Operational"' in query
    process = to_query("splunk", linux_rule(
        "    selection:\n        CommandLine|contains: 'nc -e'\n    condition: selection\n",
        "{product: linux, category: process_creation}"))
    assert "linux_secure" not in process and "record" not in process


HOSTILE = [
    # markup of the XML record: tag and attribute names, the Channel's text, entity names
    "    keywords: ['Data Name', 'EventData', 'Operational', 'amp;', 'quot']\n"
    "    condition: keywords\n",
    # characters libxml2 writes as entities, a wildcard that must stay inside one element
    "    keywords: ['a & b', '<x>', 'say \"hi', 'cmd*sh']\n    condition: keywords\n",
    # all of several, a negated one, a cased one
    "    a:\n        '|all': ['/dev/tcp/', 'bash -i']\n    b: ['ignored']\n"
    "    c:\n        '|cased': ['Srv']\n    condition: (a and not b) or c\n",
]
VALUES = ["a & b", "a &amp; b", "<x>", "&lt;x&gt;", 'say "hi"', "say &quot;hi", "cmd x sh",
          "cmd", "sh", "Data Name", "EventData", "amp;", "quot", "bash -i >& /dev/tcp/1.2.3.4",
          "/dev/tcp/ bash -i ignored", "Srv", "srv", "Operational", "cr\r", ""]


@pytest.mark.parametrize("detection", HOSTILE)
def test_hostile_keyword_rules_are_proven_on_every_kind(detection: str) -> None:
    text = linux_rule(detection)
    if '"hi' in detection:
        # No audit line holds a double quote as written: refused for the whole logsource.
        reason = Checker(["splunk"]).check(load_one(text), []).targets["splunk"].reason or ""
        assert reason.startswith("not converted") and "double quote" in reason, reason
        text = text.replace(", 'say \"hi'", "")
    loaded = load_one(text)
    events = generate_events(loaded.rule)
    for i, value in enumerate(VALUES):
        other = VALUES[(i + 1) % len(VALUES)]
        events += [
            SampleEvent({"Channel": SYSMON, "EventID": 1, "CommandLine": value, "Image": other}),
            SampleEvent({"Channel": SYSMON, "EventID": 11, "TargetFilename": value}),
            SampleEvent({"Channel": "linux", "Message": value}),
            SampleEvent({"Channel": "linux/sshd", "Message": value}),
            SampleEvent({"Channel": "linux/auditd", "type": "EXECVE", "a0": value, "a1": other}),
        ]
    result = Checker(["splunk"]).check(loaded, events).targets["splunk"]
    assert result.equivalent, (result.reason, result.disagreements[:2])


@pytest.mark.skipif(not (CORPUS / "splunk-security-content").is_dir(),
                    reason="../shared/corpus is absent")
@pytest.mark.parametrize("keyword,expected", [
    ("ar-linux", True), ("Linux-Sysmon", True), ("Operational", True), ("Data Name", False),
    ("EventRecordID", False), ("Guid", False), ("SystemTime", False),
])
def test_query_on_the_data_sources_example_record(keyword: str, expected: bool) -> None:
    import yaml

    source = CORPUS / "splunk-security-content/data_sources/sysmon_for_linux_eventid_1.yml"
    record = yaml.safe_load(source.read_text("utf-8"))["example_log"]
    text = linux_rule(f"    keywords: [{keyword!r}]\n    condition: keywords\n")
    parse = TARGETS["splunk"].parse_function()
    assert parse is not None
    query = parse(to_query("splunk", text))
    event = {"source": "Syslog:Linux-Sysmon/Operational", "sourcetype": "sysmon:linux",
             "_raw": record}
    assert matches(query, event) is expected


@pytest.mark.parametrize("keyword", ["0x80", "1926574", "abc"])
def test_keyword_a_system_number_could_hold_is_refused(keyword: str) -> None:
    text = linux_rule(f"    keywords: [{keyword!r}]\n    condition: keywords\n")
    reason = Checker(["splunk"]).check(load_one(text), []).targets["splunk"].reason or ""
    assert reason.startswith("not converted") and "System" in reason, reason


@pytest.mark.skipif(not (CORPUS / "sigmahq").is_dir(), reason="../shared/corpus is absent")
def test_sigmahq_linux_builtin_rules_are_proven_or_refused() -> None:
    folder = CORPUS / "sigmahq/rules/linux/builtin"
    proven = 0
    for path in sorted(folder.glob("lnx_*.yml")):
        loaded = load_one(path.read_text("utf-8"), path.name)
        result = Checker(["splunk"]).check(loaded, generate_events(loaded.rule)).targets["splunk"]
        assert result.equivalent or (result.reason or "").startswith("not converted"), (
            path.name, result.reason)
        proven += bool(result.equivalent)
    assert proven >= 12


def test_keyword_regex_is_refused_on_records_with_markup() -> None:
    # A regex of _raw would also read the audit line's keys and the XML record's tags.
    text = linux_rule("    a:\n        '|re': 'Data Name'\n    condition: a\n")
    reason = Checker(["splunk"]).check(load_one(text), []).targets["splunk"].reason or ""
    assert reason.startswith("not converted") and "markup" in reason, reason
