"""``--data-source`` accepts every data source the mapping tables declare, read from the tables.

Before, ``converter/cli/app.py`` listed eleven by hand: ``zeek``, ``aws``, ``okta`` and the other
data sources of the tables that extend a target's table were refused by the CLI although the
pipelines offer them.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import yaml
from click.testing import CliRunner

from converter.cli import main
from converter.cli.app import DATA_SOURCES
from converter.mapping.loader import builtin_table_names, load_table

TABLES = Path(__file__).resolve().parents[2] / "converter" / "mapping" / "tables"

ZEEK_RULE = textwrap.dedent("""\
    title: a zeek dns query
    id: 93111111-2222-3333-4444-555555555501
    status: test
    logsource: {product: zeek, service: dns}
    detection:
        selection:
            query: 'www.example.org'
        condition: selection
    level: low
""")


def test_every_data_source_a_table_with_entries_declares_is_a_value() -> None:
    """Read from the table files themselves: a table of refusals only (``none``) adds nothing."""
    declared = set()
    for path in TABLES.glob("*.yml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if data.get("logsources"):
            declared |= set((data.get("options") or {}).get("data_source", {}).get("choices") or [])
    assert declared and set(DATA_SOURCES) == declared
    assert "none" not in DATA_SOURCES and len(list(DATA_SOURCES)) == len(set(DATA_SOURCES))
    assert {name for name in builtin_table_names() if load_table(name).logsources}


def test_a_companion_tables_data_source_is_accepted(tmp_path: Path) -> None:
    """``zeek`` (ecs-zeek): was "Invalid value for '--data-source'" (exit 2) on convert and
    "unknown data source 'zeek'" on check; the Zeek rule converts and is proven."""
    rule = tmp_path / "zeek_dns.yml"
    rule.write_text(ZEEK_RULE, encoding="utf-8")
    runner = CliRunner()
    converted = runner.invoke(main, ["convert", str(rule), "-t", "eql", "--data-source", "zeek"])
    assert converted.exit_code == 0, converted.output
    assert "zeek.dns.query" in converted.output or "dns.question.name" in converted.output, converted.output
    checked = runner.invoke(main, ["check", str(rule), "-t", "eql", "--data-source", "zeek",
                                   "--generate", "--format", "json"])
    assert checked.exit_code == 0, checked.output
    bad = runner.invoke(main, ["convert", str(rule), "-t", "eql", "--data-source", "elk"])
    assert bad.exit_code == 2 and "'elk' is not one of" in bad.output


def test_backtest_routes_a_zeek_rules_events_with_data_source_zeek(tmp_path: Path) -> None:
    """``backtest --data-source zeek`` (was refused by the CLI, exit 2) replays the Zeek events
    through ecs-zeek as ``check`` proves the rule: the DNS record that matches is a hit of the
    reference and of the query, the other DNS record and the Sysmon record are not."""
    rule = tmp_path / "zeek_dns.yml"
    rule.write_text(ZEEK_RULE, encoding="utf-8")
    events = tmp_path / "events.jsonl"
    events.write_text(
        '{"Channel": "zeek/dns", "query": "www.example.org", "qtype_name": "A"}\n'
        '{"Channel": "zeek/dns", "query": "other.example.org", "qtype_name": "A"}\n'
        '{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Image": "C:\\\\x.exe"}\n',
        encoding="utf-8")
    result = CliRunner().invoke(main, ["backtest", str(rule), "--events", str(events), "-t", "eql",
                                       "--data-source", "zeek", "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    (only,) = report["rules"]
    assert only["events"] == 2 and only["reference"]["hits"] == 1
    eql = only["targets"]["eql"]
    assert eql["hits"] == 1 and eql["equivalent"] is True and eql["disagreements"] == 0, eql
    assert "zeek.dns.query" in eql["query"]
