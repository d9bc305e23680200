"""Non-Windows logsources no cited data source maps: refused with the reason, never silently.

``ecs-uncovered``, ``splunk-uncovered`` and ``kusto-uncovered`` map nothing; their ``not_covered``
entries join the Elastic targets, `splunk` and `kusto`. A rule of such a logsource is refused with
the table's reason; an entry never shadows a logsource that another table of the same target maps;
and every logsource of SigmaHQ's non-Windows rules is either mapped or refused with a reason of its
own, on every Elastic target, on `splunk` and on `kusto`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from converter.checking.checker import Checker
from converter.generate.generator import generate_events
from converter.mapping.loader import companion_tables, load_table
from converter.reference.logsources import membership
from converter.rules.load import load_text
from helpers import convert
from test_mappings_beyond import raw
from test_mappings_corpus import documented_functions, schema_problems

ROOT = Path(__file__).resolve().parents[3]
CORPUS_RULES = ROOT.parent / "shared" / "corpus" / "sigmahq" / "rules"
#: refusal table -> (the table it extends, a target of that table)
TABLES = {"ecs-uncovered": ("ecs-windows", "eql"), "splunk-uncovered": ("splunk-sysmon", "splunk"),
          "kusto-uncovered": ("kusto-windows", "kusto")}

OPENCANARY_RULE = """
title: ftp login attempt on a canary
id: c1111111-2222-3333-4444-555555555555
logsource: {product: opencanary, category: application}
detection:
    selection:
        logtype: 2000
    condition: selection
"""


@pytest.mark.parametrize("name", list(TABLES))
def test_table_schema_is_valid_and_maps_nothing(name: str) -> None:
    table = raw(name)
    assert schema_problems(table, documented_functions()) == []
    assert table["logsources"] == [] and table["not_covered"]
    assert all(str(item["reason"]).strip() for item in table["not_covered"])
    assert name in companion_tables(TABLES[name][0])


@pytest.mark.parametrize("name", list(TABLES))
def test_no_entry_shadows_a_mapped_logsource(name: str) -> None:
    base = TABLES[name][0]
    mapped = [
        entry.match
        for table in (base, *companion_tables(base))
        for entry in load_table(table).logsources
    ]
    assert [item["match"] for item in raw(name)["not_covered"] if item["match"] in mapped] == []


@pytest.mark.parametrize("target", ["eql", "lucene", "splunk", "kusto"])
def test_uncovered_rule_is_refused_with_the_reason(target: str) -> None:
    text = OPENCANARY_RULE
    if target == "splunk":
        # OpenCanary's JSON log file is mapped on splunk (splunk-opencanary); FortiGate is not.
        text = text.replace("{product: opencanary, category: application}", "{product: fortigate, service: event}")
    elif target in ("eql", "lucene"):
        # Elastic's OpenCanary integration maps it (ecs-opencanary); OneLogin is not.
        text = text.replace("{product: opencanary, category: application}",
                            "{product: onelogin, service: onelogin.events}")
    result = convert(target, text)
    assert result.status != "converted"
    if target == "splunk":
        assert "(splunk-uncovered)" in result.reason and "no security_content data source" in result.reason
    elif target == "kusto":
        assert "(kusto-uncovered)" in result.reason and "Microsoft Sentinel data connector" in result.reason
    else:
        assert "(ecs-uncovered)" in result.reason and "OneLogin" in result.reason


def test_linux_keyword_logsource_names_why() -> None:
    text = OPENCANARY_RULE.replace("{product: opencanary, category: application}", "{product: linux, service: syslog}")
    # ecs-lines maps it (Custom Logs: the line in message, unparsed): a field of the rule is
    # no field of that record (its keywords: test_mappings_lines_ecs.py).
    reason = convert("eql", text).reason or ""
    assert "'logtype' is not mapped by pipeline ecs-lines" in reason
    reason = convert("kusto", text).reason or ""
    assert "(kusto-uncovered)" in reason and "SyslogMessage" in reason


def _logsources() -> dict[str, Path]:
    """Every distinct logsource of SigmaHQ's non-Windows rules, with one rule file of it."""
    out: dict[str, Path] = {}
    for path in sorted(CORPUS_RULES.rglob("*.yml")):
        if "windows" in path.relative_to(CORPUS_RULES).parts[:1]:
            continue
        source = yaml.safe_load(path.read_text("utf-8"))["logsource"]
        key = "/".join(str(source.get(k)) for k in ("product", "category", "service") if source.get(k))
        out.setdefault(key, path)
    return out


@pytest.mark.skipif(not CORPUS_RULES.is_dir(), reason="../shared/corpus is absent")
@pytest.mark.parametrize("target", ["eql", "splunk", "kusto"])
def test_every_non_windows_logsource_is_mapped_or_refused_with_a_reason(target: str) -> None:
    bare = []
    for key, path in _logsources().items():
        result = convert(target, path.read_text("utf-8"))
        if result.status != "converted" and "has no mapping for logsource" in (result.reason or ""):
            bare.append(key)
    # `product: linux` alone (keyword rules over any Linux log): ecs-uncovered refuses it with
    # its reason through an exact logsource match, splunk-lines maps it (linux-any, an exact
    # entry); kusto keeps the bare reason.
    assert sorted(bare) == (["linux"] if target == "kusto" else [])


@pytest.mark.parametrize("target", ["eql", "lucene"])
def test_product_alone_is_refused_with_its_reason_and_categories_are_not(target: str) -> None:
    keywords = """
title: linux keywords
id: c1111111-2222-3333-4444-555555555558
logsource: {product: linux}
detection:
    keywords: ['base64 -d']
    condition: keywords
"""
    reason = convert(target, keywords).reason or ""
    assert "(ecs-uncovered)" in reason and "event.original is not indexed" in reason
    process = keywords.replace("{product: linux}", "{product: linux, category: process_creation}")
    process = process.replace("keywords: ['base64 -d']", "selection: {CommandLine|contains: 'base64 -d'}")
    assert convert(target, process.replace("condition: keywords", "condition: selection")).status == "converted"


@pytest.mark.parametrize("logsource", [
    "{product: huawei, service: bgp}", "{product: cisco, service: aaa}",
    "{product: fortigate, service: event}", "{product: onelogin, service: onelogin.events}", "{service: apache}",
    "{product: linux}", "{product: m365, service: threat_management}"])
def test_uncovered_logsource_gets_events_and_each_target_names_its_reason(logsource: str) -> None:
    """The reference makes taxonomy events for every such logsource, so `check --generate`
    reports each target's refusal instead of "no events"."""
    loaded = load_text(OPENCANARY_RULE.replace("{product: opencanary, category: application}", logsource),
                       "rule.yml")[0]
    events = generate_events(loaded.rule)
    assert events and any(e.expect for e in events)
    result = Checker(["eql", "lucene", "splunk", "kusto"]).check(loaded, events)
    assert result.error is None
    for target, outcome in result.targets.items():
        assert not outcome.equivalent and (outcome.reason or "").startswith("not converted"), target


def test_product_alone_means_every_log_of_the_product() -> None:
    linux = membership("linux", None, None)
    assert linux({"Channel": "linux"}) and linux({"Channel": "linux/syslog"})
    assert linux({"Channel": "Linux-Sysmon/Operational", "EventID": 1}) and linux({"Channel": "linux/auditd"})
    assert not linux({"Channel": "Security", "EventID": 4688}) and not linux({"Channel": "macos/process_creation"})
    for tag in ("linux", "antivirus", "apache", "opencanary/application", "cisco/aaa"):
        assert not membership("windows", None, None)({"Channel": tag, "EventID": 1})
    assert membership(None, None, "apache")({"Channel": "apache"})
    assert not membership(None, None, "nginx")({"Channel": "apache"})


@pytest.mark.skipif(not CORPUS_RULES.is_dir(), reason="../shared/corpus is absent")
def test_every_non_windows_rule_gets_generated_events() -> None:
    none = []
    for path in sorted(CORPUS_RULES.rglob("*.yml")):
        if "windows" in path.relative_to(CORPUS_RULES).parts[:1]:
            continue
        for loaded in load_text(path.read_text("utf-8"), str(path)):
            if not generate_events(loaded.rule):
                none.append(path.name)
    assert none == []


def test_a_logsource_no_table_maps_is_named_in_one_line() -> None:
    rule = OPENCANARY_RULE.replace("product: opencanary, category: application",
                                   "product: windows, service: no-such-channel")
    for target in ("eql", "splunk", "splunk-cim"):
        result = convert(target, rule)
        assert result.status == "unsupported", (target, result.reason)
        reason = result.reason or ""
        # The rule's own logsource, not the list of the 40-odd logsources the table maps.
        assert "has no mapping for logsource product: windows, service: no-such-channel" in reason
        assert "windows-process-creation" not in reason and "\n" not in reason
        assert "sigport list pipelines" in reason
