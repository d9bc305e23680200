"""PowerShell script blocks (``ScriptBlockText``) on the Elastic targets (issue 12).

The Windows integration and Winlogbeat keep the text only as ``powershell.file.script_block_text``,
an analysed ``text`` field: a test on it is exact only on the caseless copy that ``sigport
mapping`` adds, and is refused without it. The Windows integration also trims the text (Java's
``String.trim()``): the ``trimmed`` function accepts only the tests that decide alike on the
trimmed and the untrimmed value.
"""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sigma.types import SigmaString

from converter.cli import main
from converter.conversion.convert import Converter
from converter.mapping.functions.render import render_trimmed
from converter.mapping.functions.trim import java_trim
from converter.mapping.functions.tree import MANY, ONE, Token, glob_matches, make_string
from converter.mapping.functions.registry import QUERY_FUNCTIONS
from converter.mapping.table import FieldTarget
from converter.rules.load import load_text
from sigma.rule import SigmaDetectionItem

TEXT = "powershell.file.script_block_text"
COPY = "sigport.caseless." + TEXT
SPEC = FieldTarget("ScriptBlockText", TEXT, "trimmed", (TEXT,), ())


def _rule(*values: str, modifier: str = "contains") -> str:
    listed = "".join(f"      - {json.dumps(v)}\n" for v in values)
    return (
        "title: t\nid: 0b8f7a3e-0000-4000-8000-00000000f104\n"
        "logsource: {product: windows, category: ps_script}\n"
        f"detection:\n  sel:\n    ScriptBlockText|{modifier}:\n{listed}  condition: sel\n"
    )


def test_java_trim_removes_exactly_the_characters_up_to_u0020() -> None:
    assert java_trim(" \t\r\n\x00\x1fInvoke-X \x0b\x0c\n") == "Invoke-X"
    # U+0085, U+00A0 and U+3000 are above U+0020: String.trim() keeps them (strip() would not).
    assert java_trim("\u00a0x\u3000\u0085") == "\u00a0x\u3000\u0085"
    assert java_trim("   ") == ""
    assert render_trimmed(["  a ", "b"], SPEC) == {TEXT: ["a", "b"]}
    assert render_trimmed("\n", SPEC) == {TEXT: ""}


PIECES: list[Token] = ["a", "b", " ", "\t", "\n", "\x01", "\u00a0", MANY, ONE]
VALUES = ["".join(p) for n in range(0, 5) for p in itertools.product("ab \t\u00a0", repeat=n)]


def _random_globs(count: int) -> list[list[Token]]:
    rng = random.Random(7)
    return [[rng.choice(PIECES) for _ in range(rng.randint(1, 6))] for _ in range(count)]


def _query(tokens: list[Token]) -> Any:
    item = SigmaDetectionItem("ScriptBlockText", [], [make_string(tokens)])
    return QUERY_FUNCTIONS["trimmed"](item, SPEC, "")


@pytest.mark.parametrize("tokens", _random_globs(400), ids=repr)
def test_an_accepted_glob_decides_alike_on_the_trimmed_value(tokens: list[Token]) -> None:
    """Whatever the glob, the query side either refuses it or keeps it on the trimmed field,
    where it must decide every value as Sigma decides the untrimmed one."""
    try:
        result = _query(tokens)
    except Exception as error:  # noqa: BLE001 - refused: no query, never a loose one
        assert "trimmed" in str(error)
        return
    assert result.field == TEXT
    for value in VALUES:
        assert glob_matches(tokens, java_trim(value), False) == glob_matches(tokens, value, False), (
            tokens, value)


def test_contains_patterns_with_visible_edges_are_kept_the_others_refused() -> None:
    kept = [[MANY, "a", " ", "b", MANY], [MANY, "a", MANY, "b", MANY], [MANY, "a", ONE, "b", MANY]]
    for tokens in kept:
        assert isinstance(_query(tokens).value[0], SigmaString)
    refused = [[MANY, "a", " ", MANY], [MANY, " ", "a", MANY], ["a", MANY], [MANY, "a"], ["a"],
               [MANY, ONE, "a", MANY], [MANY]]
    for tokens in refused:
        with pytest.raises(Exception, match="trims"):
            _query(tokens)


@pytest.mark.parametrize("data_source", ["windows", "winlogbeat"])
@pytest.mark.parametrize("target", ["eql", "lucene", "kql", "esql"])
def test_without_the_template_the_text_field_is_refused(target: str, data_source: str) -> None:
    rule = load_text(_rule("Invoke-Mimikatz"), "r.yml")[0]
    conversion = Converter(target, options={"data_source": data_source}).convert(rule)
    assert conversion.status != "converted"
    assert TEXT in conversion.reason and "text field" in conversion.reason
    assert f"sigport mapping RULES --data-source {data_source}" in conversion.reason


def _template(tmp_path: Path, text: str, data_source: str) -> Path:
    (tmp_path / "r.yml").write_text(text, encoding="utf-8")
    template = tmp_path / "t.json"
    result = CliRunner().invoke(main, [
        "mapping", str(tmp_path / "r.yml"), "--data-source", data_source, "-o", str(template)])
    assert result.exit_code == 0, result.output
    return template


def _check(tmp_path: Path, data_source: str, template: Path, *extra: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, [
        "check", str(tmp_path / "r.yml"), "-t", "eql", "-t", "lucene", "-t", "kql",
        "--data-source", data_source, "--mapping", str(template), "--format", "json", *extra])
    assert result.exit_code in (0, 1), result.output
    targets: dict[str, Any] = json.loads(result.stdout)["rules"][0]["targets"]
    return targets


@pytest.mark.parametrize("data_source", ["windows", "winlogbeat"])
def test_with_the_template_the_copy_is_tested_and_proven(tmp_path: Path, data_source: str) -> None:
    template = _template(tmp_path, _rule("Invoke-Mimikatz", "Get-Process -Name"), data_source)
    for target, result in _check(tmp_path, data_source, template, "--generate").items():
        assert result["equivalent"] is True, (target, result)
        assert COPY in result["query"] and result["warnings"] == []


def test_trimmed_text_events(tmp_path: Path) -> None:
    """Events whose script block starts or ends with whitespace: the integration indexes the
    trimmed text, and the query decides them as Sigma decides the original."""
    template = _template(tmp_path, _rule("Invoke-Mimikatz"), "windows")
    base = {"EventID": 4104, "Channel": "Microsoft-Windows-PowerShell/Operational"}
    texts = ["\r\n  invoke-mimikatz -x\t\n", "Invoke-Mimikatz", " \tInvoke-Mimikat", "x"]
    events = tmp_path / "e.jsonl"
    events.write_text("".join(json.dumps({**base, "ScriptBlockText": t}) + "\n" for t in texts),
                      encoding="utf-8")
    for target, result in _check(tmp_path, "windows", template, "--events", str(events)).items():
        assert result["equivalent"] is True, (target, result)
        assert result["matched"] == [0, 1]


def test_a_whitespace_edge_is_approximate_on_the_integration_but_exact_on_winlogbeat(
    tmp_path: Path,
) -> None:
    """`contains: 'Import-Module '` cannot be decided on the trimmed text (a script ending in
    `Import-Module ` loses its last space): on the integration the query is converted with a
    declared approximation, never proven; Winlogbeat's module does not trim."""
    text = _rule("Import-Module ")
    rule = load_text(text, "r.yml")[0]
    template = _template(tmp_path, text, "windows")
    integration = Converter("eql", options={"data_source": "windows", "mapping": str(template)}
                            ).convert(rule)
    assert integration.status == "converted", integration.reason
    assert any("trims" in w and "Import-Module " in w for w in integration.warnings)
    ending = tmp_path / "e.jsonl"
    base = {"EventID": 4104, "Channel": "Microsoft-Windows-PowerShell/Operational"}
    ending.write_text("".join(json.dumps({**base, "ScriptBlockText": t}) + "\n" for t in
                              ["x Import-Module y", "x Import-Module \r\n", "Import-Module"]),
                      encoding="utf-8")
    for extra in (["--generate"], ["--events", str(ending)]):
        for target, result in _check(tmp_path, "windows", template, *extra).items():
            # Event 1 ends in the tested space: Sigma matches it, the integration indexes it
            # trimmed and no query finds it; that is the declared difference, not a "differs".
            assert result["equivalent"] is None, (target, result)
            assert "declared its output approximate" in result["reason"], (target, result)
            assert extra[0] == "--generate" or result["matched"] == [0], (target, result)
    # A template of its own path: a loaded mapping is kept per path for the whole process.
    winlogbeat = tmp_path / "winlogbeat"
    winlogbeat.mkdir()
    template = _template(winlogbeat, text, "winlogbeat")
    for target, result in _check(winlogbeat, "winlogbeat", template, "--generate").items():
        assert result["equivalent"] is True, (target, result)


@pytest.mark.parametrize("value", ["Import-Module ", " Import-Module*", "*Import-Module\t", ""])
def test_an_anchored_whitespace_edge_is_refused_on_the_integration(
    tmp_path: Path, value: str
) -> None:
    """`'Import-Module '` (equality) can never hold on a trimmed value: refused, not a query that
    matches nothing; a visible anchored edge (`'Set-Alias x'`) is converted, declared."""
    def plain(text: str) -> str:
        return _rule(text).replace("ScriptBlockText|contains:", "ScriptBlockText:")

    template = _template(tmp_path, _rule("Invoke-Mimikatz"), "windows")
    options = {"data_source": "windows", "mapping": str(template)}
    refused = Converter("eql", options=options).convert(load_text(plain(value), "r.yml")[0])
    assert refused.status != "converted" and "trimming" in (refused.reason or ""), refused.reason
    kept = Converter("eql", options=options).convert(load_text(plain("Set-Alias x"), "r.yml")[0])
    assert kept.status == "converted", kept.reason
    assert any("trims" in w for w in kept.warnings), kept.warnings


def test_without_a_pipeline_a_whitespace_edge_is_still_refused() -> None:
    """Outside a mapping pipeline nothing collects the declaration: the query side refuses."""
    with pytest.raises(Exception, match="trims"):
        _query([MANY, "Import-Module", " ", MANY])


@pytest.mark.parametrize("modifier,value", [("contains|cased", "Invoke"), ("re", "Invoke-.*")])
def test_cased_and_regex_tests_stay_refused_with_the_template(
    tmp_path: Path, modifier: str, value: str
) -> None:
    text = _rule(value, modifier=modifier)
    rule = load_text(text, "r.yml")[0]
    (tmp_path / "r.yml").write_text(text, encoding="utf-8")
    template = _template(tmp_path, _rule("Invoke-Mimikatz"), "winlogbeat")
    conversion = Converter(
        "lucene", options={"data_source": "winlogbeat", "mapping": str(template)}
    ).convert(rule)
    assert conversion.status != "converted"
    assert "text field" in conversion.reason and COPY in conversion.reason


def test_winlogbeat_keeps_a_powershell_core_record_as_the_winlog_input_writes_it(tmp_path: Path) -> None:
    """Winlogbeat's routing pipeline runs the PowerShell module pipeline only for
    Microsoft-Windows-PowerShell/Operational: a PowerShellCore/Operational 4104 record keeps its
    text in winlog.event_data.ScriptBlockText and has no event.category. The query reads each
    channel's own field (it read powershell.file.script_block_text for both, under `process
    where`, and missed such records)."""
    from converter.events.render import EventRenderer
    from converter.mapping.loader import load_table

    renderer = EventRenderer(load_table("ecs-windows"), "winlogbeat")
    core = renderer.render({"Channel": "PowerShellCore/Operational", "EventID": 4104,
                            "ScriptBlockText": "Invoke-Mimikatz", "Path": "C:\\a.ps1"})
    assert core["winlog.event_data.ScriptBlockText"] == "Invoke-Mimikatz"
    assert core["winlog.event_data.Path"] == "C:\\a.ps1"
    assert not {TEXT, "file.path", "event.category"} & core.keys(), core
    classic = renderer.render({"Channel": "Microsoft-Windows-PowerShell/Operational",
                               "EventID": 4104, "ScriptBlockText": "Invoke-Mimikatz"})
    assert classic[TEXT] == "Invoke-Mimikatz" and classic["event.category"] == ["process"]
    template = _template(tmp_path, _rule("Invoke-Mimikatz"), "winlogbeat")
    for target, result in _check(tmp_path, "winlogbeat", template, "--generate").items():
        assert result["equivalent"] is True, (target, result)
        assert "winlog.event_data.ScriptBlockText" in result["query"], (target, result["query"])
    eql = Converter("eql", options={"data_source": "winlogbeat", "mapping": str(template)}).convert(
        load_text(_rule("Invoke-Mimikatz"), "r.yml")[0])
    assert eql.queries[0].startswith("any where"), eql.queries[0]


def test_powershell_core_records_keep_their_raw_text_on_the_integration(tmp_path: Path) -> None:
    """The Windows integration's powershell_operational stream reads only the
    Microsoft-Windows-PowerShell/Operational channel; PowerShellCore/Operational records come
    through Custom Windows Event Logs, which keep winlog.event_data.ScriptBlockText untrimmed.
    They were rendered as trimmed powershell.file.script_block_text, the only field queried: a
    proof on events the data source never holds."""
    from converter.events.render import EventRenderer, SampleEvent
    from converter.mapping.loader import load_table

    core = {"EventID": 4104, "Channel": "PowerShellCore/Operational"}
    renderer = EventRenderer(load_table("ecs-windows"), "windows")
    (rendered,) = renderer.render_sample_all(SampleEvent({**core, "ScriptBlockText": " IEX x "}))
    assert rendered["winlog.event_data.ScriptBlockText"] == " IEX x "
    assert TEXT not in rendered and rendered["event.dataset"] == "winlog.winlog"
    template = _template(tmp_path, _rule("Invoke-Mimikatz"), "windows")
    query = Converter("eql", options={"data_source": "windows", "mapping": str(template)}
                      ).convert(load_text(_rule("Invoke-Mimikatz"), "r.yml")[0])
    assert query.status == "converted", query.reason
    assert "winlog.event_data.ScriptBlockText" in query.output, query.output
    events = tmp_path / "e.jsonl"
    texts = [" Invoke-Mimikatz", "x", "Invoke-Mimikatz\t"]
    events.write_text("".join(json.dumps({**core, "ScriptBlockText": t}) + "\n" for t in texts),
                      encoding="utf-8")
    for target, result in _check(tmp_path, "windows", template, "--events", str(events)).items():
        assert result["equivalent"] is True, (target, result)
        assert result["matched"] == [0, 2], (target, result)


def test_an_edge_test_is_exact_on_the_raw_channel_and_declared_on_the_trimmed_one() -> None:
    from converter.mapping.functions.approximations import collecting
    from converter.mapping.functions.query import query_any_of

    raw = "winlog.event_data.ScriptBlockText"
    spec = FieldTarget("ScriptBlockText", TEXT, "any_of", (TEXT, raw),
                       (("trimmed", [TEXT]),))
    item = SigmaDetectionItem("ScriptBlockText", [], [SigmaString("*Import-Module *")])
    with collecting() as declared:
        query_any_of(item, spec, "")
    assert len(declared) == 1 and TEXT in declared[0][0]
