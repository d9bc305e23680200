"""``run_regress`` on a fake SigmaHQ regression folder, and on the real one when it is present."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from converter.checking.regress import acceptance, known_gaps_markdown, run_regress

ROOT = Path(__file__).resolve().parents[3]
CORPUS = ROOT.parent / "shared" / "corpus" / "sigmahq"

RULE_ID = "44444444-4444-4444-8444-444444444444"
MISSING_ID = "55555555-5555-4555-8555-555555555555"

RULE = f"""\
title: Certutil Decode
id: {RULE_ID}
status: test
logsource: {{product: windows, category: process_creation}}
detection:
  selection:
    Image|endswith: '\\certutil.exe'
    CommandLine|contains: '-decode'
  condition: selection
level: medium
"""


def _record(image: str, cmd: str) -> dict:
    """An event as SigmaHQ's regression JSON writes it (Event.System / Event.EventData)."""
    return {"Event": {
        "System": {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
                   "Computer": "host", "Provider": {"#attributes": {"Name": "Microsoft-Windows-Sysmon"}}},
        "EventData": {"Image": image, "CommandLine": cmd, "ParentImage": "C:\\cmd.exe",
                      "User": "CORP\\bob", "ProcessId": 4242},
    }}


def _folder(base: Path, name: str, rule_id: str, match_count: int | None, records: list[dict]) -> Path:
    folder = base / "regression_data" / "rules" / "windows" / "process_creation" / name
    folder.mkdir(parents=True)
    test = {"name": "Positive Detection Test", "type": "evtx",
            "path": f"regression_data/rules/windows/process_creation/{name}/{rule_id}.evtx"}
    if match_count is not None:
        test["match_count"] = match_count
    info = {"id": "x", "rule_metadata": [{"id": rule_id, "title": name}],
            "regression_tests_info": [test]}
    (folder / "info.yml").write_text(json.dumps(info))  # JSON is YAML
    # Several objects one after another, not an array, as some SigmaHQ files are.
    (folder / f"{rule_id}.json").write_text("\n".join(json.dumps(r, indent=2) for r in records))
    return folder


@pytest.fixture()
def fake(tmp_path: Path) -> tuple[Path, Path]:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "certutil.yml").write_text(RULE)
    hit = _record("C:\\Windows\\System32\\certutil.exe", "certutil -decode a b")
    miss = _record("C:\\Windows\\System32\\certutil.exe", "certutil -urlcache")
    _folder(tmp_path, "certutil_ok", RULE_ID, 1, [hit, miss])
    _folder(tmp_path, "certutil_short", RULE_ID, 2, [hit, miss])
    _folder(tmp_path, "missing_rule", MISSING_ID, 1, [hit])
    return tmp_path / "regression_data", rules


def test_rows_and_counts(fake: tuple[Path, Path]) -> None:
    regression, rules = fake
    report = run_regress(regression, [rules], targets=["eql", "splunk"])
    by_folder = {r.folder.split("/")[-1]: r for r in report.results}
    ok = by_folder["certutil_ok"]
    assert (ok.expected, ok.events, ok.reference_hits, ok.reference_ok) == (1, 2, 1, True)
    assert ok.logsource == "windows/process_creation/-"
    assert {n: (t.hits, t.agrees) for n, t in ok.targets.items()} == {
        "eql": (1, True), "splunk": (1, True)}
    short = by_folder["certutil_short"]
    assert short.reference_hits == 1 and short.reference_ok is False
    missing = by_folder["missing_rule"]
    assert missing.error and MISSING_ID in missing.error
    assert report.header() == ["rule", "expected", "reference", "eql", "splunk"]
    assert ["certutil_ok", "1", "1", "1 =", "1 ="] in report.rows()


def test_acceptance_and_known_gaps(fake: tuple[Path, Path]) -> None:
    regression, rules = fake
    report = run_regress(regression, [rules], targets=["eql"])
    numbers = acceptance(report)
    assert numbers["rules"] == 2  # the missing rule has no logsource
    assert numbers["reference_ok"] == 1
    assert numbers["targets"]["eql"]["agree"] == 2
    gaps = known_gaps_markdown(report)
    assert "SigmaHQ expects 2" in gaps
    assert MISSING_ID in gaps and "not found" in gaps
    assert "certutil_ok`" not in gaps
    assert json.loads(json.dumps(report.to_json()))["acceptance"]["rules"] == 2


def test_a_wrong_target_is_a_gap(fake: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from converter.conversion.convert import Converter

    real = Converter.convert

    def broken(self: Converter, loaded):  # type: ignore[no-untyped-def]
        conversion = real(self, loaded)
        conversion.queries = [q.replace("-decode", "-encode") for q in conversion.queries]
        return conversion

    monkeypatch.setattr(Converter, "convert", broken)
    regression, rules = fake
    report = run_regress(regression, [rules], targets=["eql"])
    row = next(r for r in report.results if r.folder.endswith("certutil_ok"))
    assert row.targets["eql"].agrees is False
    assert row.targets["eql"].disagreements == 1
    assert acceptance(report)["targets"]["eql"]["disagree"] == 2
    assert "eql: 1 of 2 events disagree" in known_gaps_markdown(report)


def test_missing_match_count_means_at_least_one(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "certutil.yml").write_text(RULE)
    _folder(tmp_path, "no_count", RULE_ID, None,
            [_record("C:\\certutil.exe", "certutil -decode x y")])
    report = run_regress(tmp_path / "regression_data", [rules], targets=["splunk"])
    (row,) = report.results
    assert row.expected is None and row.reference_ok is True


def test_a_correlation_rule_is_a_row_error_not_a_crash(tmp_path: Path) -> None:
    corr_id = "66666666-6666-4666-8666-666666666666"
    rules = tmp_path / "rules"
    rules.mkdir()
    # The correlation and the rule it counts, in one file as SigmaHQ writes them.
    (rules / "corr.yml").write_text(f"""\
title: Many Decodes
id: {corr_id}
correlation:
  type: event_count
  rules: [certutil_decode]
  group-by: [User]
  timespan: 5m
  condition: {{gte: 3}}
---
""" + RULE.replace("status:", "name: certutil_decode\nstatus:"))
    _folder(tmp_path, "corr", corr_id, 1, [_record("C:\\certutil.exe", "certutil -decode")])
    report = run_regress(tmp_path / "regression_data", [rules], targets=["eql"])
    (row,) = report.results
    assert row.error == f"rule {corr_id} is a correlation rule: sigport does not check those"


SECURITY_ID = "77777777-7777-4777-8777-777777777777"
SECURITY_RULE = f"""\
title: Audit Log Cleared
id: {SECURITY_ID}
status: test
logsource: {{product: windows, service: security}}
detection:
  selection:
    EventID: 1102
  condition: selection
level: high
"""


def _security_record(event_id: int) -> dict:
    return {"Event": {
        "System": {"EventID": event_id, "Channel": "Security", "Computer": "host",
                   "Provider": {"#attributes": {"Name": "Microsoft-Windows-Eventlog"}}},
        "EventData": {"SubjectUserName": "bob"},
    }}


def test_several_data_sources_count_each_target_where_it_agrees(tmp_path: Path) -> None:
    """Defend records no Security channel; with ``defend,windows`` the rule's regression events
    are checked on the Windows integration, and the row names that data source."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "cleared.yml").write_text(SECURITY_RULE)
    _folder(tmp_path, "cleared", SECURITY_ID, 1, [_security_record(1102), _security_record(4624)])
    regression = tmp_path / "regression_data"
    alone = run_regress(regression, [rules], targets=["eql"], data_sources=["defend"])
    (row,) = alone.results
    assert row.targets["eql"].agrees is None and "defend" in (row.targets["eql"].reason or "")
    both = run_regress(regression, [rules], targets=["eql", "splunk"],
                       data_sources=["defend", "windows"])
    (row,) = both.results
    assert (row.reference_hits, row.targets["eql"].hits, row.targets["eql"].agrees) == (1, 1, True)
    assert row.targets["eql"].data_source == "windows"
    assert row.targets["splunk"].agrees is True and row.targets["splunk"].data_source is None
    gaps = known_gaps_markdown(both)
    assert "| windows/-/security | 1 | 1 / 0 / 0 | 1 / 0 / 0 |" in gaps


def test_regress_cli_takes_data_sources(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from converter.cli import main

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "cleared.yml").write_text(SECURITY_RULE)
    _folder(tmp_path, "cleared", SECURITY_ID, 1, [_security_record(1102)])
    result = CliRunner().invoke(main, [
        "regress", str(tmp_path / "regression_data"), "--rules", str(rules), "-t", "eql",
        "--data-source", "defend,windows", "--format", "json"])
    report = json.loads(result.output)
    assert report["rules"][0]["targets"]["eql"]["data_source"] == "windows"
    assert report["rules"][0]["targets"]["eql"]["agrees"] is True
    bad = CliRunner().invoke(main, [
        "regress", str(tmp_path / "regression_data"), "--rules", str(rules),
        "--data-source", "nosuch"])
    assert bad.exit_code == 2 and "unknown data source 'nosuch'" in bad.output


@pytest.mark.skipif(not (CORPUS / "regression_data").is_dir(), reason="shared corpus not available")
def test_sigmahq_process_creation_acceptance() -> None:
    """Issue 4: the reference reaches match_count on every process_creation rule with data, and
    no checked target disagrees with it on 95 % of them."""
    report = run_regress(
        CORPUS / "regression_data" / "rules" / "windows" / "process_creation",
        [CORPUS / "rules" / "windows" / "process_creation"],
        targets=["eql", "splunk"],
    )
    numbers = acceptance(report)
    print("\n" + json.dumps(numbers, indent=1))
    assert numbers["rules"] >= 50
    assert numbers["reference_ok_share"] == 1.0
    assert numbers["no_target_disagrees_share"] >= 0.95


def test_a_rule_no_data_source_converts_names_every_data_sources_reason(tmp_path: Path) -> None:
    """Defend ships no Security log; on the Windows integration the field reference meets the
    values the shipper deletes: the known gap gives both reasons (it gave Defend's alone)."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "fieldref.yml").write_text(SECURITY_RULE.replace(
        "    EventID: 1102\n", "    EventID: 1102\n    SubjectUserName|fieldref: TargetUserName\n"))
    _folder(tmp_path, "fieldref", SECURITY_ID, 1, [_security_record(1102)])
    report = run_regress(tmp_path / "regression_data", [rules], targets=["eql"],
                         data_sources=["defend", "windows"])
    reason = report.results[0].targets["eql"].reason or ""
    assert reason.startswith("on defend: ") and "; on windows: " in reason, reason
    assert "does not ship the Windows Security event log" in reason and "deletes" in reason
    gaps = known_gaps_markdown(report)
    assert "- eql: on defend: " in gaps and "(on defend)" not in gaps, gaps


def test_regress_takes_a_mapping_per_data_source(tmp_path: Path) -> None:
    """Kibana KQL is case-sensitive on the Windows integration's keyword fields: a held-out event
    in capitals disagrees on the stock mapping and agrees with that data source's template."""
    from click.testing import CliRunner

    from converter.cli import main
    from converter.outputs.index_template import propose, template_body
    from converter.rules.load import load_text

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "certutil.yml").write_text(RULE)
    upper = _record("C:\\WINDOWS\\SYSTEM32\\CERTUTIL.EXE", "CERTUTIL -DECODE a b")
    _folder(tmp_path, "certutil_upper", RULE_ID, 1, [upper])
    template = tmp_path / "windows.json"
    template.write_text(json.dumps(template_body(propose(load_text(RULE, "r.yml"), "windows"))))
    regression = tmp_path / "regression_data"
    stock = run_regress(regression, [rules], targets=["kql"], data_sources=["windows"])
    assert stock.results[0].targets["kql"].agrees is False
    own = run_regress(regression, [rules], targets=["kql"], data_sources=["defend", "windows"],
                      source_mappings={"windows": template})
    assert own.results[0].targets["kql"].data_source == "windows"
    assert own.results[0].targets["kql"].agrees is not False
    args = ["regress", str(regression), "--rules", str(rules), "-t", "kql", "--format", "json",
            "--data-source", "windows"]
    result = CliRunner().invoke(main, [*args, "--mapping", f"windows={template}"])
    assert json.loads(result.output)["rules"][0]["targets"]["kql"]["agrees"] is True, result.output
    bad = CliRunner().invoke(main, [*args, "--mapping", f"defend={template}"])
    assert bad.exit_code == 2 and "'defend' is not one of this run's data sources" in bad.output
