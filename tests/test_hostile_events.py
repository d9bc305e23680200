"""Hostile events and index-mapping inputs, round three: JSON that decodes but is no text, or
no mapping Elasticsearch would accept.

Each case was an "internal error"; each must be an error naming the file (and line).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from converter.cli import main
from converter.events.inputs import iter_events
from converter.events.render import read_jsonl
from converter.errors import ConverterError
from helpers import ROOT

ZOOM = ROOT / "sigma_rules/windows/process_creation/proc_creation_win_zoom_suspicious_child_process.yml"
SYSMON = "Microsoft-Windows-Sysmon/Operational"


def _event_line(image: str) -> str:
    # The escape is written by hand: json.dumps would write a lone surrogate the same way.
    return ('{"EventID": 1, "Channel": "' + SYSMON + '", "Image": "C:\\\\x\\\\' + image
            + '", "ParentImage": "C:\\\\Zoom.exe"}\n')


GOOD = _event_line("cmd.exe")
LONE = _event_line("cmd\\ud800.exe")
PAIR = _event_line("cmd\\ud83d\\ude00.exe")


@pytest.mark.parametrize("command", ["check", "backtest"])
def test_a_lone_surrogate_escape_in_an_event_is_a_positioned_error(
    tmp_path: Path, command: str
) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text(GOOD + LONE, encoding="utf-8")
    extra = ["--workers", "1", "--no-cache"] if command == "backtest" else []
    result = CliRunner().invoke(main, [command, str(ZOOM), "--events", str(events), "-t", "eql",
                                       *extra])
    assert result.exit_code == 2, result.output
    assert "internal error" not in result.output
    assert f"{events}:2: a string holds the escape of a lone UTF-16 surrogate (U+D800)" in \
        result.output


def test_a_surrogate_pair_is_one_character_and_reads(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text(PAIR, encoding="utf-8")
    (event,) = read_jsonl(events)
    assert event.fields["Image"] == "C:\\x\\cmd\U0001F600.exe"


@pytest.mark.parametrize("text", [
    LONE,
    "[" + LONE.strip() + "]",  # SigmaHQ regression JSON: one array of objects
    '{"a": {"\\udfff": 1}}\n',  # in a key
])
def test_every_reader_refuses_a_lone_surrogate(tmp_path: Path, text: str) -> None:
    path = tmp_path / "e.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConverterError, match="lone UTF-16 surrogate"):
        list(iter_events(path))


@pytest.mark.parametrize(("spec", "words"), [
    ({"type": "keyword", "fields": [1]}, "multi-fields ('fields') of 'process.name' must be"),
    ({"type": "keyword", "fields": {"c": "keyword"}}, "the spec of field 'process.name.c'"),
    ({"type": "keyword", "ignore_above": -5}, "ignore_above of 'process.name' must be"),
    ({"type": "keyword", "ignore_above": True}, "ignore_above of 'process.name' must be"),
    ({"type": "keyword", "normalizer": 5}, "normalizer of 'process.name' must be"),
])
def test_a_malformed_field_spec_in_a_mapping_is_an_error_naming_it(
    tmp_path: Path, spec: dict[str, object], words: str
) -> None:
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"idx": {"mappings": {"properties": {"process": {
        "properties": {"name": spec}}}}}}), encoding="utf-8")
    for command in ("convert", "check"):
        result = CliRunner().invoke(main, [command, str(ZOOM), "-t", "kql", "--mapping",
                                           str(mapping)])
        assert result.exit_code == 2, result.output
        assert "internal error" not in result.output
        assert f"sigport: error: {mapping}: unusable index mapping" in result.output
        assert words in result.output, result.output


def test_an_event_with_nested_arrays_is_rendered_flat_as_the_reference_reads_it(
    tmp_path: Path
) -> None:
    # The renderer wrote a nested list's Python repr ("Zoom.exe']") as the value: every target
    # behind a value function "differed" from the reference, which flattens the lists.
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps({
        "EventID": 1, "Channel": SYSMON, "Image": [["C:\\x\\cmd.exe"]],
        "ParentImage": [[["C:\\Zoom.exe"]], "C:\\y\\other.exe"],
    }) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(ZOOM), "--events", str(events), "-t",
                                       "eql,kusto,splunk", "--format", "json"])
    (rule,) = json.loads(result.stdout)["rules"]
    for name, target in rule["targets"].items():
        assert target["equivalent"] is True, (name, target["reason"])
