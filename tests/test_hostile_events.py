"""Hostile events inputs, round three: what decodes as JSON but is no text, or no field value.

Each case was an "internal error" (or a false disagreement); each must be an error naming the
file and line, or evaluated as the SIEM would store it.
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
