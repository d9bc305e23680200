"""Output formats: Kibana rule NDJSON reproduces the Elastic rule; savedsearches.conf stanzas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from converter.cli import main

ROOT = Path(__file__).resolve().parents[3]
ZOOM = ROOT / "sigma_rules/windows/process_creation/proc_creation_win_zoom_suspicious_child_process.yml"
ELASTIC_ZOOM = ROOT.parent / "shared" / "corpus" / "elastic" / "zoom_rule.toml"


def _ndjson(target: str) -> dict:
    result = CliRunner().invoke(main, ["convert", str(ZOOM), "-t", target, "-f", "kibana-ndjson"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def test_kibana_eql_rule_carries_the_elastic_settings() -> None:
    rule = _ndjson("eql")
    assert rule["type"] == "eql" and rule["language"] == "eql"
    assert rule["rule_id"] == "97aba1ef-6034-4bd3-8c1a-1e0996b27afa"
    assert rule["risk_score"] == 47 and rule["severity"] == "medium"
    assert rule["interval"] == "5m" and rule["from"] == "now-9m" and rule["max_signals"] == 100
    assert rule["timestamp_override"] == "event.ingested"
    assert "logs-endpoint.events.process-*" in rule["index"]
    assert rule["query"].startswith("process where")
    assert rule["note"].startswith("## Triage and analysis")
    tactics = {t["tactic"]["id"] for t in rule["threat"]}
    assert tactics == {"TA0005", "TA0002"}


def test_kibana_kql_rule_is_a_query_rule() -> None:
    rule = _ndjson("kql")
    assert rule["type"] == "query" and rule["language"] == "kuery"
    assert "process.parent.name.caseless:Zoom.exe" in rule["query"]


def test_kibana_rule_matches_the_original_toml() -> None:
    """Every setting the Elastic rule carries comes back out (skips without ../shared/corpus)."""
    tomllib = pytest.importorskip("tomllib")
    if not ELASTIC_ZOOM.is_file():
        pytest.skip("../shared/corpus is not available")
    original = tomllib.loads(ELASTIC_ZOOM.read_text(encoding="utf-8"))["rule"]
    rule = _ndjson("eql")
    for key in ("rule_id", "name", "risk_score", "severity", "index", "from", "timestamp_override",
                "tags", "threat", "license"):
        assert rule[key] == original[key], key
    for key in ("note", "setup"):  # YAML block scalars end with one newline; TOML's may not
        assert rule[key].strip() == original[key].strip(), key
    assert rule["description"].split() == original["description"].split()


def test_savedsearches_stanza() -> None:
    from splunk_conf import read_conf

    result = CliRunner().invoke(main, ["convert", str(ZOOM), "-t", "splunk", "-f", "savedsearches"])
    assert result.exit_code == 0, result.output
    stanzas = read_conf(result.stdout)
    assert list(stanzas) == ["Suspicious Zoom Child Process"]
    settings = stanzas["Suspicious Zoom Child Process"]
    assert settings["cron_schedule"] == "*/5 * * * *"
    # The rule's Elastic look-back (now-9m) on a 5-minute schedule: 4 minutes of overlap.
    assert settings["dispatch.earliest_time"] == "-9m@m"
    assert settings["dispatch.latest_time"] == "now"
    assert settings["alert.severity"] == "3"
    assert (settings["counttype"], settings["relation"], settings["quantity"]) == (
        "number of events", "greater than", "0"
    )
    assert settings["alert.track"] == "1"
    assert "EventCode=4688" in settings["search"]
    # A multi-line description keeps its newline (continuation lines, no added space).
    assert "Verify process details\nsuch as" in settings["description"]
    # Enterprise Security keys only with --splunk-es.
    assert not any(k.startswith("action.") for k in settings)
    result = CliRunner().invoke(
        main, ["convert", str(ZOOM), "-t", "splunk", "-f", "savedsearches", "--splunk-es"]
    )
    settings = read_conf(result.stdout)["Suspicious Zoom Child Process"]
    annotations = json.loads(settings["action.correlationsearch.annotations"])
    assert annotations["mitre_attack"] == ["T1036", "T1055", "T1059", "T1059.001", "T1059.003", "T1203"]
    assert settings["action.correlationsearch.enabled"] == "1"


def test_savedsearches_for_a_directory_is_one_file(tmp_path: Path) -> None:
    out = tmp_path / "conf"
    out.mkdir()
    result = CliRunner().invoke(
        main, ["convert", str(ROOT / "sigma_rules"), "-t", "splunk", "-f", "savedsearches", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert (out / "savedsearches.conf").read_text().count("\n[") + 1 == 1


def test_savedsearches_no_line_ends_with_the_values_own_backslash(tmp_path: Path) -> None:
    """A description line ending with a backslash was written as ``x\\\\`` + continuation: a
    reader taking ``\\\\`` for an escaped backslash ends the value there and reads the next line
    (``action.script = 1``) as a setting of the alert."""
    from splunk_conf import read_conf

    rule = tmp_path / "r.yml"
    rule.write_text(
        'title: t\nid: 0b8f7a3e-0000-4000-8000-00000000f301\n'
        'description: "line1\\nline2 \\\\\\naction.script = 1"\n'
        'logsource: {product: windows, category: process_creation}\n'
        'detection:\n  sel:\n    Image|endswith: "\\\\a.exe"\n  condition: sel\n',
        encoding="utf-8")
    result = CliRunner().invoke(main, ["convert", str(rule), "-t", "splunk", "-f", "savedsearches"])
    assert result.exit_code == 0, result.output
    assert not any(line.endswith("\\\\") for line in result.stdout.split("\n")), result.stdout
    settings = read_conf(result.stdout)["t"]
    assert "action.script" not in settings
    assert settings["description"] == "line1\nline2\naction.script = 1"
