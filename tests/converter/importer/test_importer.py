"""Tests for ``sigport import elastic`` (converter/importer*.py): lowering, metadata, round trip."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from backends.eql.parser import parse as parse_eql
from converter.conversion.convert import Converter
from converter.outputs.formats import kibana_rule
from converter.importer.elastic import (
    ERROR,
    IMPORTED,
    NOT_IMPORTABLE,
    VERIFIED,
    import_elastic,
    parse_query,
    read_rules,
)
from converter.importer.lower import build_detection, check_tree
from converter.importer.regex import LuceneRegexError, lucene_to_pcre
from converter.importer.roundtrip import round_trip
from converter.rules.load import load_text

CORPUS = Path(__file__).resolve().parents[3].parent / "shared" / "corpus" / "elastic"
ZOOM = CORPUS / "zoom_rule.toml"

ZOOM_INLINE = '''
[metadata]
creation_date = "2020/09/03"
maturity = "production"
updated_date = "2024/05/21"

[rule]
author = ["Elastic"]
description = "A suspicious Zoom child process was detected."
from = "now-9m"
index = ["logs-endpoint.events.process-*", "winlogbeat-*"]
language = "eql"
license = "Elastic License v2"
name = "Suspicious Zoom Child Process"
risk_score = 47
rule_id = "97aba1ef-6034-4bd3-8c1a-1e0996b27afa"
severity = "medium"
tags = ["OS: Windows", "Tactic: Defense Evasion"]
timestamp_override = "event.ingested"
type = "eql"
false_positives = ["None known."]
references = ["https://example.org/zoom"]
note = "## Triage\\nLook at the parent."
query = \'\'\'
process where host.os.type == "windows" and event.type == "start" and
 process.parent.name : "Zoom.exe" and process.name : ("cmd.exe", "powershell.exe", "pwsh.exe", "powershell_ise.exe")
\'\'\'

[[rule.threat]]
framework = "MITRE ATT&CK"
[[rule.threat.technique]]
id = "T1059"
name = "Command and Scripting Interpreter"
reference = "https://attack.mitre.org/techniques/T1059/"
[[rule.threat.technique.subtechnique]]
id = "T1059.001"
name = "PowerShell"
reference = "https://attack.mitre.org/techniques/T1059/001/"
[rule.threat.tactic]
id = "TA0002"
name = "Execution"
reference = "https://attack.mitre.org/tactics/TA0002/"
'''


def _rule_toml(query: str, language: str = "eql", rule_type: str = "eql", **extra: str) -> str:
    lines = [
        "[metadata]",
        'maturity = "production"',
        "[rule]",
        'name = "Test rule"',
        'description = "test"',
        'rule_id = "11111111-2222-3333-4444-555555555555"',
        'risk_score = 73',
        'severity = "high"',
        f'language = "{language}"',
        f'type = "{rule_type}"',
        'tags = ["OS: Windows"]',
        *(f"{k} = {v}" for k, v in extra.items()),
        f"query = '''\n{query}\n'''",
    ]
    return "\n".join(lines) + "\n"


def _import_one(tmp_path: Path, text: str, name: str = "rule.toml") -> tuple[dict, dict | None]:
    src = tmp_path / "in" / name
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_text(text, encoding="utf-8")
    report = import_elastic([src], tmp_path / "out")
    assert len(report.entries) == 1
    entry = report.entries[0].to_json()
    doc = yaml.safe_load(Path(entry["output"]).read_text()) if entry["output"] else None
    return entry, doc


def _check_zoom(entry: dict, doc: dict) -> None:
    assert entry["status"] == VERIFIED, entry["reason"]
    assert entry["language"] == "eql"
    assert doc["logsource"] == {"category": "process_creation", "product": "windows"}
    selection = doc["detection"]["selection"]
    assert selection["ParentImage|endswith"] == "\\Zoom.exe"
    assert selection["Image|endswith"] == [
        "\\cmd.exe", "\\powershell.exe", "\\pwsh.exe", "\\powershell_ise.exe"
    ]
    assert doc["id"] == doc["elastic"]["rule_id"] == "97aba1ef-6034-4bd3-8c1a-1e0996b27afa"
    assert doc["level"] == "medium" and doc["elastic"]["risk_score"] == 47
    assert "attack.execution" in doc["tags"] and "attack.t1059.001" in doc["tags"]


def _eql_back(path: str) -> str:
    loaded = load_text(Path(path).read_text(), path)[0]
    conv = Converter("eql").convert(loaded)
    assert conv.status == "converted", conv.reason
    return conv.queries[0]


def test_zoom_inline_round_trip(tmp_path: Path) -> None:
    entry, doc = _import_one(tmp_path, ZOOM_INLINE, "zoom.toml")
    _check_zoom(entry, doc)
    assert doc["author"] == "Elastic" and doc["falsepositives"] == ["None known."]
    assert doc["references"] == ["https://example.org/zoom"]
    assert doc["elastic"]["note"].startswith("## Triage")
    # Back to EQL: the same verdicts as the original on the Zoom shapes (sigport writes the
    # names whose letters ES may fold unlike Sigma as case-sensitive regexes, so the leaves
    # differ; on ASCII values every ES version folds both the same).
    from backends.query.evaluate import matches

    back = parse_eql(_eql_back(entry["output"]))
    original = parse_query("eql", ZOOM_INLINE.split("'''")[1])
    for parent in ("Zoom.exe", "ZOOM.EXE", "zoom.exe", "Zoomx.exe"):
        for name in ("cmd.exe", "POWERSHELL.EXE", "pwsh.exe", "powershell_ISE.exe", "bash.exe"):
            event = {
                "event": {"category": "process", "type": "start"},
                "host": {"os": {"type": "windows"}},
                "process": {"name": name, "parent": {"name": parent}},
            }
            assert matches(back, event) == matches(original, event), (parent, name)


_UNIX_RULE = """
[metadata]
creation_date = "2024/01/01"

[rule]
author = ["x"]
description = "d"
language = "eql"
name = "curl from a shell"
risk_score = 21
rule_id = "0b1e8c5a-1111-4222-8333-9444555566{n}"
severity = "low"
type = "eql"
query = \'\'\'
process where host.os.type == "{os}" and event.type == "start" and event.action == "exec" and
  process.name {op} "curl" and process.parent.name {listop} ("node", "perl")
\'\'\'
"""


@pytest.mark.parametrize("os_type", ["linux", "macos"])
@pytest.mark.parametrize(("op", "modifier"), [("==", "|cased"), (":", "")])
def test_linux_and_macos_names_map_back_to_image(
        tmp_path: Path, os_type: str, op: str, modifier: str) -> None:
    """process.name on Linux and macOS is the base name of Image after its last '/' (the
    path_basename derivation of ecs-linux / ecs-macos): ``process.name == "curl"`` is
    ``Image|endswith|cased: /curl``. Only the Windows ``basename`` derivation was inverted, so
    these rules kept ECS names (logsource ecs_process)."""
    text = _UNIX_RULE.format(n="01" if os_type == "linux" else "02", os=os_type, op=op,
                             listop="in" if op == "==" else op)
    entry, doc = _import_one(tmp_path, text)
    assert doc is not None and doc["logsource"] == {"category": "process_creation",
                                                     "product": os_type}, doc
    selection = doc["detection"]["selection"]
    assert selection[f"Image|endswith{modifier}"] == "/curl"
    assert selection[f"ParentImage|endswith{modifier}"] == ["/node", "/perl"]
    # Proven on events rendered as the logsource's own record (Linux-Sysmon event 1, the macOS
    # process_creation record), and back in EQL on the name fields. (Names without s, k or i:
    # the generated 'ſ'/'K' variants leave a caseless original's verdict to the engine's folding.)
    assert entry["status"] == VERIFIED, entry["reason"]
    back = _eql_back(entry["output"])
    assert "process.name" in back and "process.executable" not in back, back


def test_a_name_holding_the_separator_keeps_ecs_names(tmp_path: Path) -> None:
    text = _UNIX_RULE.format(n="03", os="linux", op="==", listop="in").replace(
        '"curl"', '"bin/curl"')
    _entry, doc = _import_one(tmp_path, text)
    assert doc is not None and doc["logsource"]["category"] == "ecs_process"


def test_zoom_inline_exports_back_to_kibana(tmp_path: Path) -> None:
    entry, _ = _import_one(tmp_path, ZOOM_INLINE, "zoom.toml")
    loaded = load_text(Path(entry["output"]).read_text(), entry["output"])[0]
    obj = kibana_rule(Converter("eql").convert(loaded))
    assert obj["rule_id"] == "97aba1ef-6034-4bd3-8c1a-1e0996b27afa"
    assert (obj["risk_score"], obj["severity"], obj["type"], obj["language"]) == (47, "medium", "eql", "eql")
    assert obj["index"] == ["logs-endpoint.events.process-*", "winlogbeat-*"]
    assert obj["from"] == "now-9m" and obj["timestamp_override"] == "event.ingested"
    assert obj["tags"] == ["OS: Windows", "Tactic: Defense Evasion"]
    assert obj["threat"][0]["tactic"]["id"] == "TA0002"


@pytest.mark.skipif(not ZOOM.is_file(), reason="shared corpus not present")
def test_zoom_corpus_rule_round_trips(tmp_path: Path) -> None:
    report = import_elastic([ZOOM], tmp_path)
    entry = report.entries[0].to_json()
    doc = yaml.safe_load(Path(entry["output"]).read_text())
    _check_zoom(entry, doc)
    assert doc["elastic"]["transform"]["osquery"][0]["label"].startswith("Osquery")
    assert "process where" in _eql_back(entry["output"])


def test_kuery_rule_keeps_case_sensitivity(tmp_path: Path) -> None:
    query = (
        "event.category:process and host.os.type:windows and event.type:start and "
        "process.name:(cmd.exe or Rundll32.exe) and process.args:*Secret* and not user.id:S-1-5-18"
    )
    entry, doc = _import_one(tmp_path, _rule_toml(query, "kuery", "query"))
    assert entry["status"] == VERIFIED, entry["reason"]
    assert entry["language"] == "kuery"
    # process.args has no taxonomy field: ECS names, with a logsource that says so.
    assert doc["logsource"]["category"] == "ecs_process"
    assert doc["logsource"]["product"] == "windows"
    selection = doc["detection"]["selection"]
    assert selection["process.name|cased"] == ["cmd.exe", "Rundll32.exe"]
    assert selection["process.args|contains|cased"] == "Secret"
    assert doc["level"] == "high" and doc["elastic"]["risk_score"] == 73


def test_new_terms_rule_imports_its_query_and_keeps_settings(tmp_path: Path) -> None:
    extra = {"new_terms": '{field = "new_terms_fields", value = ["host.id"]}'}
    entry, doc = _import_one(
        tmp_path, _rule_toml("event.category:process and process.name:x.exe", "kuery", "new_terms", **extra)
    )
    assert entry["status"] == VERIFIED
    assert "only its query is imported" in entry["reason"]
    assert doc["elastic"]["new_terms"]["value"] == ["host.id"]


def test_sequence_is_not_importable(tmp_path: Path) -> None:
    query = (
        'sequence by host.id [process where process.name : "a.exe"] '
        '[network where destination.port == 443]'
    )
    entry, doc = _import_one(tmp_path, _rule_toml(query))
    assert entry["status"] == NOT_IMPORTABLE and doc is None and entry["output"] is None
    assert entry["reason"].startswith("not importable: EQL sequence")


def test_esql_and_ml_are_not_importable(tmp_path: Path) -> None:
    entry, _ = _import_one(tmp_path, _rule_toml("from logs-* | limit 1", "esql", "esql"))
    assert entry["status"] == NOT_IMPORTABLE and "ES|QL" in entry["reason"]
    ml = _rule_toml("x", "kuery", "machine_learning")
    entry, _ = _import_one(tmp_path, ml, "ml.toml")
    assert entry["status"] == NOT_IMPORTABLE and "machine learning" in entry["reason"]


def test_functions_without_sigma_equivalent_are_reported(tmp_path: Path) -> None:
    entry, _ = _import_one(tmp_path, _rule_toml('process where length(process.name) > 30'))
    assert entry["status"] == NOT_IMPORTABLE
    assert "function without a Sigma equivalent" in entry["reason"]


def test_eql_arithmetic_is_not_importable(tmp_path: Path) -> None:
    # Valid EQL (math operators) that Sigma cannot express: not an error of the importer.
    query = (
        'process where host.os.type == "windows" and\n'
        "  not startswith~(process.name, substring(user.name, 0, length(user.name) - 1))"
    )
    entry, doc = _import_one(tmp_path, _rule_toml(query))
    assert entry["status"] == NOT_IMPORTABLE and doc is None, entry["reason"]
    assert entry["reason"].startswith("not importable: arithmetic: the EQL math operator '-'")
    assert "line 2" in entry["reason"]


def test_eql_syntax_error_stays_an_error(tmp_path: Path) -> None:
    # A real syntax error (not a math operator) is still reported as a parse error.
    entry, _ = _import_one(tmp_path, _rule_toml('process where process.name == "a" and'))
    assert entry["status"] == ERROR and "does not parse" in entry["reason"]
    entry, _ = _import_one(tmp_path, _rule_toml('process where process.name == "a" ) -'), "b.toml")
    assert entry["status"] == ERROR and "does not parse" in entry["reason"]


def test_bad_toml_is_an_error_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.toml"
    bad.write_text("[rule\nname = 1\n", encoding="utf-8")
    report = import_elastic([bad], tmp_path / "out")
    entry = report.entries[0].to_json()
    assert entry["status"] == ERROR and "broken.toml" in entry["reason"]
    assert "invalid TOML" in entry["reason"]
    # The position as file:line:column, as every other error gives it ("... (at line 1,
    # column 6)" at the end of the message before).
    assert entry["reason"].startswith(f"{bad}:1:6: invalid TOML: ") and "(at line" not in \
        entry["reason"], entry["reason"]


def test_a_rule_file_that_is_no_utf8_is_positioned(tmp_path: Path) -> None:
    # It read "cannot read: 'utf-8' codec can't decode byte 0xff in position 19: ...".
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b'[rule]\nname = "caf\xe9"\n')
    (entry,) = import_elastic([bad], tmp_path / "out").entries
    assert entry.status == ERROR and entry.reason.startswith(f"{bad}:2:12: not UTF-8 text"), \
        entry.reason


@pytest.mark.parametrize("suffix", [".toml", ".ndjson"])
def test_a_byte_order_mark_and_crlf_lines_import(tmp_path: Path, suffix: str) -> None:
    # Windows editors write a UTF-8 BOM: "invalid TOML: Invalid statement (at line 1, column 1)"
    # (and "invalid JSON: Unexpected UTF-8 BOM" on the first NDJSON line).
    query = 'process where process.name : "a.exe"'
    text = _rule_toml(query) if suffix == ".toml" else json.dumps(
        {"rule_id": "a1", "name": "First", "description": "d", "risk_score": 21,
         "severity": "low", "type": "eql", "language": "eql", "query": query}) + "\n"
    src = tmp_path / f"rule{suffix}"
    src.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    report = import_elastic([src], tmp_path / "out")
    assert [e.status for e in report.entries] == [VERIFIED], [e.reason for e in report.entries]


def test_an_ndjson_line_with_nan_is_an_error_entry(tmp_path: Path) -> None:
    # Kibana's import (JSON.parse) refuses NaN; Python read it and wrote 'risk_score: .nan'.
    src = tmp_path / "export.ndjson"
    src.write_text('{"rule_id": "a1", "name": "x", "description": "d", "risk_score": NaN, '
                   '"severity": "low", "type": "eql", "language": "eql", '
                   '"query": "process where process.name : \\"a.exe\\""}\n', encoding="utf-8")
    (entry,) = import_elastic([src], tmp_path / "out").entries
    assert entry.status == ERROR and f"{src}:1: invalid JSON: NaN is not a JSON value" in entry.reason


@pytest.mark.parametrize(("name", "text", "words"), [
    # Python's decoder reads 1e999 as infinity without a NaN/Infinity literal (JSON.parse too).
    ("export.ndjson",
     '{"rule_id": "a1", "name": "x", "description": "d", "risk_score": 1e999, "severity": "low", '
     '"type": "eql", "language": "eql", "query": "process where process.name : \\"a.exe\\""}\n',
     "risk_score is infinity"),
    # TOML has inf and nan literals, anywhere in the rule.
    ("rule.toml",
     '[rule]\nrule_id = "a2"\nname = "x"\ndescription = "d"\nrisk_score = inf\nseverity = "low"\n'
     'type = "query"\nlanguage = "kuery"\nquery = "process.name : a.exe"\n',
     "risk_score is infinity"),
    ("rule2.toml",
     '[rule]\nrule_id = "a3"\nname = "x"\ndescription = "d"\nrisk_score = 1\nseverity = "low"\n'
     'type = "threshold"\nlanguage = "kuery"\nquery = "process.name : a.exe"\n'
     '[rule.threshold]\nfield = ["host.name"]\nvalue = nan\n',
     "threshold.value is NaN"),
])
def test_a_setting_that_is_no_finite_number_is_an_error_entry(
        tmp_path: Path, name: str, text: str, words: str) -> None:
    # It imported (verified) with 'risk_score: .inf' / '.nan' in the rule's elastic section,
    # which the Kibana export then wrote as the non-JSON Infinity / NaN.
    src = tmp_path / name
    src.write_text(text, encoding="utf-8")
    (entry,) = import_elastic([src], tmp_path / "out").entries
    assert entry.status == ERROR and "malformed rule" in str(entry.reason), entry.reason
    assert words in str(entry.reason) and str(src) in str(entry.reason), entry.reason


def test_ndjson_export(tmp_path: Path) -> None:
    rules = [
        {"rule_id": "a1", "name": "First", "description": "d", "risk_score": 21, "severity": "low",
         "type": "query", "language": "kuery", "query": "process.name:a.exe", "tags": []},
        {"rule_id": "b2", "name": "Second", "description": "d", "risk_score": 99,
         "severity": "critical", "type": "eql", "language": "eql",
         "query": 'registry where registry.path : "HKLM\\\\Software\\\\*\\\\Run"'},
        {"exported_count": 2, "missing_rules": []},
    ]
    src = tmp_path / "export.ndjson"
    src.write_text("\n".join(json.dumps(r) for r in rules) + "\n", encoding="utf-8")
    report = import_elastic([src], tmp_path / "out")
    assert [e.rule_id for e in report.entries] == ["a1", "b2"]
    assert all(e.status == VERIFIED for e in report.entries), [e.reason for e in report.entries]
    second = yaml.safe_load(Path(report.entries[1].output).read_text())
    assert Path(report.entries[1].output).parent.name == "export"
    assert second["level"] == "critical" and second["logsource"]["category"] == "ecs_registry"
    # a literal backslash before a live wildcard is doubled, else Sigma reads an escaped '*'
    assert second["detection"]["selection"]["registry.path"] == "HKLM\\Software\\\\*\\Run"
    # a non-UUID rule_id gets a stable UUID; the Elastic id stays under elastic.rule_id
    assert second["elastic"]["rule_id"] == "b2" and second["id"] != "b2"


def test_report_json_shape(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "ok.toml").write_text(_rule_toml('process where process.name : "a.exe"'))
    (tmp_path / "in" / "seq.toml").write_text(
        _rule_toml("sequence [process where true] [process where true]")
    )
    (tmp_path / "in" / "bad.toml").write_text("= nope")
    report_path = tmp_path / "report.json"
    import_elastic([tmp_path / "in"], tmp_path / "out", report=report_path)
    data = json.loads(report_path.read_text())
    assert set(data) == {"rules"}
    keys = {"source", "rule_id", "language", "status", "reason", "output"}
    assert all(set(r) == keys for r in data["rules"])
    by_file = {Path(r["source"]).name: r for r in data["rules"]}
    # The only caveat allowed: KQL on Defend's .caseless sub-fields (ignore_above 1,024).
    reason = by_file["ok.toml"]["reason"]
    assert by_file["ok.toml"]["status"] == VERIFIED
    assert reason is None or ("ignore_above" in reason and reason.count(";") == 0), reason
    assert by_file["ok.toml"]["output"].endswith("ok.yml")
    assert by_file["seq.toml"]["status"] == NOT_IMPORTABLE
    assert by_file["bad.toml"]["status"] == ERROR


@pytest.mark.parametrize(
    "query",
    [
        # EQL == is case-sensitive and keeps a literal '*' (escaped in Sigma), backslashes survive
        'file where file.name == "a*b?.Txt" and file.path : "C:\\\\Users\\\\*\\\\x\\\\*"',
        # exists is a non-null value (Sigma: not field: null)
        'process where ?process.command_line != null and not process.args : "-Q"',
        # regex~ folds ASCII letters, not ranges; the PCRE is anchored
        'process where process.name regex~ """[A-Z]a\\.exe""" or process.pid > 400',
        # cidr, numbers and booleans
        'network where cidrmatch(destination.ip, "10.0.0.0/8") and destination.port == 445',
        # nested not / or / and structure
        'any where not (process.name : "a.exe" or (file.name : "*.dll" and not file.size < 10))',
    ],
)
def test_constructs_verify(tmp_path: Path, query: str) -> None:
    entry, doc = _import_one(tmp_path, _rule_toml(query))
    assert entry["status"] in {VERIFIED, IMPORTED}, entry["reason"]
    if entry["status"] == IMPORTED:
        # A number on a numeric field is declared: Elasticsearch coerces '0445' to 445 there,
        # where Sigma compares text; nothing else may stop the verification.
        numeric = re.search(r"(==|<|>) \d", query) is not None
        assert "rejected by its eql interpreter" in entry["reason"] or (
            numeric and "coerces the event's strings to numbers" in entry["reason"]
        ), entry["reason"]
    assert doc["detection"]["condition"]


def test_round_trip_catches_a_wrong_import() -> None:
    original = parse_query("eql", 'file where file.name == "Secret.txt"')
    wrong = load_text(
        "title: t\nid: 11111111-2222-3333-4444-555555555555\n"
        "logsource: {product: windows, category: ecs_file}\n"
        "detection:\n  sel:\n    event.category|cased: file\n    file.name: Secret.txt\n"
        "  condition: sel\n",
        "wrong.yml",
    )[0]
    result = round_trip(original, wrong, original, taxonomy=False)
    assert not result.verified and "round trip differs" in result.reason


def test_detection_shapes() -> None:
    tree = parse_query("eql", 'process where process.name : ("a.exe", "*.scr") and not user.name == "SYSTEM"')
    check_tree(tree)
    detection = build_detection(tree)
    assert detection["selection"]["process.name"] == ["a.exe", "*.scr"]
    assert detection["filter"] == {"user.name|cased": "SYSTEM"}
    assert detection["condition"] == "selection and not filter"


@pytest.mark.parametrize(
    ("pattern", "cased", "pcre"),
    [
        ("abc", True, "^(?:abc)$"),
        ("a.c", True, "^(?:a.c)$"),
        ("[A-Z]x", False, "^(?:[A-Z][xX])$"),
        ('"a.b"+', True, "^(?:(?:a\\.b)+)$"),
        ("\\d{2,3}|\\W", True, "^(?:[0-9]{2,3}|[^a-zA-Z_0-9])$"),
        ("a**", True, "^(?:(?:a*)*)$"),
    ],
)
def test_lucene_to_pcre(pattern: str, cased: bool, pcre: str) -> None:
    assert lucene_to_pcre(pattern, cased)[0] == pcre


@pytest.mark.parametrize("pattern", ["a~b", "a&b", "@", "<1-5>", "[a", "(a", "\\q", "a)"])
def test_lucene_to_pcre_refuses(pattern: str) -> None:
    with pytest.raises(LuceneRegexError):
        lucene_to_pcre(pattern)


def test_read_rules_skips_summary_and_lists(tmp_path: Path) -> None:
    src = tmp_path / "x.ndjson"
    src.write_text('{"exported_count": 0}\n{"list_id": "l", "type": "detection"}\n', encoding="utf-8")
    assert list(read_rules([src])) == []


@pytest.mark.skipif(not (CORPUS / "rules" / "windows").is_dir(), reason="shared corpus not present")
def test_corpus_windows_share(tmp_path: Path) -> None:
    """Measure the verified share over Elastic's Windows rules and account for every rule."""
    folder = CORPUS / "rules" / "windows"
    files = sorted(folder.rglob("*.toml"))
    report = import_elastic([folder], tmp_path)
    assert len(report.entries) == len(files)
    assert all(e.status in {VERIFIED, IMPORTED, NOT_IMPORTABLE, ERROR} for e in report.entries)
    assert all(e.reason for e in report.entries if e.status != VERIFIED)
    in_scope = [
        e for e in report.entries
        if not e.deprecated and e.language in {"eql", "kuery"} and e.group != "EQL sequence"
    ]
    verified = sum(e.status == VERIFIED for e in in_scope)
    groups = Counter((e.status, e.group) for e in in_scope if e.status != VERIFIED)
    print(f"\nverified {verified}/{len(in_scope)} = {verified / len(in_scope):.1%}")
    for (status, group), count in groups.most_common():
        print(f"  {count:4d}  {status}: {group}")
