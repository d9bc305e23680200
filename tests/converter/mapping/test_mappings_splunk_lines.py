"""Keyword logsources of plain-text log lines on the `splunk` target (``splunk-lines``).

* the table joins the `splunk` pipeline with a valid schema, and each entry's sourcetype is the
  one its cited data source names (security_content ``linux_secure.yml`` for sshd);
* a keyword there is the exact test "``_raw`` contains it" (an anchored PCRE under ``| regex`` or
  an eval condition), never a bare search term;
* events are rendered as the line: ``_raw`` is the Sigma event's one value, and an event holding
  several values or a line break is no line of such a log (not rendered);
* proof: hand-written keyword rules with hostile values (quotes, backslashes, wildcards, case
  partners such as the dotted capital I, tabs) and every corpus rule of these logsources are
  proven on generated events; never "differs".
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from converter.checking.checker import Checker
from converter.events.render import EventRenderer, SampleEvent
from converter.generate.generator import generate_events
from converter.mapping.loader import companion_tables, load_table
from helpers import load_one, to_query
from test_mappings_beyond import SPLUNK_DATA_SOURCES, raw
from test_mappings_corpus import documented_functions, schema_problems

ROOT = Path(__file__).resolve().parents[3]
CORPUS_RULES = ROOT.parent / "shared" / "corpus" / "sigmahq" / "rules"
#: corpus folders whose rules are all keyword rules of the table's logsources
FOLDERS = ("linux/builtin/sshd", "network/cisco/bgp", "network/cisco/ldp", "network/juniper",
           "web/product/apache", "linux/builtin/syslog", "linux/builtin/cron", "linux/builtin/vsftpd",
           "linux/builtin/clamav", "linux/builtin/guacamole", "application/jvm", "application/spring")


def sshd_rule(detection: str) -> str:
    """A keyword rule of the sshd log with the given detection (YAML, indented 4)."""
    return ("title: sshd keywords\nid: b1111111-2222-3333-4444-555555555555\n"
            "logsource: {product: linux, service: sshd}\ndetection:\n" + detection)


def test_table_joins_the_splunk_pipeline_with_a_valid_schema() -> None:
    assert "splunk-lines" in companion_tables("splunk-sysmon")
    assert schema_problems(raw("splunk-lines"), documented_functions()) == []
    assert all(e.state.get("text_record") for e in load_table("splunk-lines").logsources)


@pytest.mark.skipif(not SPLUNK_DATA_SOURCES.is_dir(), reason="no security_content data sources")
def test_sshd_sourcetype_is_the_linux_secure_data_source() -> None:
    source = yaml.safe_load((SPLUNK_DATA_SOURCES / "linux_secure.yml").read_text("utf-8"))
    (entry,) = [e for e in raw("splunk-lines")["logsources"] if e["id"] == "linux-sshd"]
    assert entry["conditions"]["sourcetype"] == source["sourcetype"] == "linux_secure"
    assert entry["render"]["sourcetype"] == source["sourcetype"]


@pytest.mark.parametrize("service", ["syslog", "cron", "vsftpd", "clamav", "guacamole"])
def test_linux_syslog_lines_are_either_pretrained_syslog_sourcetype(service: str) -> None:
    text = sshd_rule("    keywords: ['stopping iptables']\n    condition: keywords\n").replace(
        "service: sshd", f"service: {service}")
    query = to_query("splunk", text, None)
    assert query.startswith('sourcetype IN ("syslog", "linux_messages_syslog")'), query
    assert "| regex _raw=" in query
    rule = load_one(text)
    result = Checker(["splunk"]).check(rule, generate_events(rule.rule)).targets["splunk"]
    assert result.equivalent, result.reason


@pytest.mark.parametrize("product", ["jvm", "spring"])
def test_java_application_log_is_the_pretrained_log4j_sourcetype(product: str) -> None:
    text = sshd_rule("    keywords:\n        '|all': ['FileNotFoundException', '/../..']\n"
                     "    condition: keywords\n").replace(
        "{product: linux, service: sshd}", f"{{product: {product}, category: application}}")
    query = to_query("splunk", text, None)
    assert query.startswith('sourcetype="log4j"'), query
    rule = load_one(text)
    result = Checker(["splunk"]).check(rule, generate_events(rule.rule)).targets["splunk"]
    assert result.equivalent, result.reason


def test_cisco_ios_syslog_is_the_cisco_ios_sourcetype() -> None:
    # SigmaHQ's rules-emerging-threats CVE-2023-20198 rule names Cisco IOS XE's syslog
    # `service: syslog`: the same device messages as bgp / ldp.
    text = sshd_rule("    keywords: ['%WEBUI-6-INSTALL_OPERATION_INFO:']\n    condition: keywords\n").replace(
        "{product: linux, service: sshd}", "{product: cisco, service: syslog}")
    assert to_query("splunk", text, None).startswith('sourcetype="cisco:ios"')
    rule = load_one(text)
    result = Checker(["splunk"]).check(rule, generate_events(rule.rule)).targets["splunk"]
    assert result.equivalent, result.reason


def test_keyword_is_an_exact_regex_of_raw_not_a_bare_term() -> None:
    query = to_query("splunk", sshd_rule("    keywords: ['Bad protocol']\n"
                                         "    condition: keywords\n"), None)
    assert query.startswith('sourcetype="linux_secure"')
    assert '| regex _raw="(?s)^.*[bB][aA][dD] [pP][rR][oO][tT][oO][cC][oO][lL].*\\\\z"' in query
    assert '"Bad protocol"' not in query


def _renderer() -> EventRenderer:
    renderer = EventRenderer(load_table("splunk-sysmon"))
    renderer.companions = [EventRenderer(load_table(name))
                           for name in companion_tables("splunk-sysmon")]
    return renderer


def test_a_line_is_rendered_as_raw_and_nothing_else() -> None:
    line = 'sshd[1]: error: "Bad protocol" C:\\x\tnext'
    rendered = _renderer().render_sample(SampleEvent({"Channel": "linux/sshd", "Message": line}))
    assert rendered == {"sourcetype": "linux_secure", "_raw": line}


@pytest.mark.parametrize("fields", [
    {"Channel": "linux/sshd", "Message": "a", "CommandLine": "b"},
    {"Channel": "linux/sshd"},
    {"Channel": "linux/sshd", "Message": 7},
    {"Channel": "linux/sshd", "Message": "two\nlines"},
    {"Channel": "linux/sshd", "Message": "cr\r"},
])
def test_an_event_that_is_no_single_line_is_not_rendered(fields: dict) -> None:
    # The checker reads the ValueError as "the shipper cannot write this event".
    with pytest.raises(ValueError, match="one line of text"):
        _renderer().render_sample_all(SampleEvent(fields))


HOSTILE = [
    # quotes, backslashes and a literal wildcard, escaped in Sigma
    "    keywords: ['say \"hi\" \\\\ there', 'lit\\*star']\n    condition: keywords\n",
    # wildcards, the dotted capital I and the Kelvin sign among case partners
    "    keywords: ['fa?led * for İnvalid', 'KELVIN']\n    condition: keywords\n",
    # all of several keywords, and a negated one
    "    a:\n        '|all': [':22', 'preauth']\n    b: ['ignored']\n    condition: a and not b\n",
    # number keywords: their decimal text is contained in the line
    "    keywords: [179, 1.5]\n    condition: keywords\n",
    # a keyword regex and a cased keyword
    "    a:\n        '|re': 'Did not receive identification string from [0-9.]+$'\n"
    "    b:\n        '|cased': ['RSA']\n    condition: a or b\n",
]


@pytest.mark.parametrize("detection", HOSTILE)
def test_hostile_keyword_rules_are_proven(detection: str) -> None:
    loaded = load_one(sshd_rule(detection))
    events = generate_events(loaded.rule)
    lines = ["x say \"hi\" \\ there", "lit*star", "litXstar", "FAILED x FOR invalid",
             "fa_led  for ınvalid", "\u212aelvin", "a :22 preauth", "a :22 preauth ignored",
             "Did not receive identification string from 10.0.0.1", "rsa", "RSA",
             "peer 10.0.0.1:179", "port 1790", "17 9", "ratio 1.5", "1,5"]
    events += [SampleEvent({"Channel": "linux/sshd", "Message": line}) for line in lines]
    result = Checker(["splunk"]).check(loaded, events).targets["splunk"]
    assert result.equivalent, (result.reason, result.disagreements[:2])
    assert "| regex" in (result.query or "") or "mvfind('_raw'" in (result.query or "")


@pytest.mark.skipif(not CORPUS_RULES.is_dir(), reason="../shared/corpus is absent")
@pytest.mark.parametrize("folder", FOLDERS)
def test_every_corpus_rule_of_these_logsources_is_proven(folder: str) -> None:
    paths = sorted((CORPUS_RULES / folder).rglob("*.yml"))
    assert paths
    for path in paths:
        loaded = load_one(path.read_text("utf-8"), path.name)
        events = generate_events(loaded.rule)
        result = Checker(["splunk"]).check(loaded, events).targets["splunk"]
        assert result.equivalent, (path.name, result.reason)


@pytest.mark.parametrize("logsource", [
    "{product: windows, category: process_creation}", "{product: azure, service: activitylogs}"])
def test_keyword_regex_on_a_record_with_markup_is_refused(logsource: str) -> None:
    """Elsewhere ``_raw`` holds XML tags or JSON keys besides the values: ``Data Name`` matched
    every Sysmon record's XML, which the rule (no value holds it) never matches."""
    text = sshd_rule("    a:\n        '|re': 'Data Name'\n    condition: a\n").replace(
        "{product: linux, service: sshd}", logsource)
    loaded = load_one(text)
    events = [SampleEvent({"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
                           "Image": "C:\\x.exe", "CommandLine": "a b"}, expect=False)]
    result = Checker(["splunk"]).check(loaded, events).targets["splunk"]
    assert result.equivalent is None
    assert "markup" in (result.reason or "") and result.reason.startswith("not converted")
