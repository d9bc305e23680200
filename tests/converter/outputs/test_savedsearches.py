"""savedsearches.conf: hostile titles and values cannot inject settings or lose stanzas.

Every test reads the file back with ``splunk_conf.read_conf``, a reader that follows Splunk's
documented .conf structure and shares no code with the writer.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from splunk_conf import read_conf, stanza_headers

from converter.cli import main

HOSTILE_TITLE = "Evil] \r\n[injected]\nsearch = index=* | delete\rcron_schedule = * * * * *"


def _rule(path: Path, title: str, rule_id: str, description: str, detection: str) -> Path:
    path.write_text(
        "title: " + _yaml_str(title) + "\n"
        f"id: {rule_id}\n"
        "status: test\n"
        "description: " + _yaml_str(description) + "\n"
        "logsource: {category: process_creation, product: windows}\n"
        "detection:\n"
        f"  sel:\n    {detection}\n"
        "  condition: sel\n"
        "level: high\n",
        encoding="utf-8",
    )
    return path


def _yaml_str(text: str) -> str:
    """A YAML double-quoted scalar for any text."""
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    out = out.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{out}"'


def _convert(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["convert", *args, "-t", "splunk", "-f", "savedsearches"])
    return result.exit_code, result.stdout, result.stderr


def test_a_hostile_title_neither_splits_the_header_nor_injects_settings(tmp_path: Path) -> None:
    rule = _rule(tmp_path / "a.yml", HOSTILE_TITLE, "11111111-1111-1111-1111-111111111111",
                 "plain", "Image|endswith: '\\cmd.exe'")
    code, text, err = _convert(str(rule))
    assert code == 0, err
    stanzas = read_conf(text)
    assert len(stanzas) == 1 and "default" not in stanzas
    (name, settings), = stanzas.items()
    assert "\n" not in name and "\r" not in name and "[" not in name and "]" not in name
    assert "injected" in name  # the title's text stays readable
    assert settings["search"].startswith("(source=")
    assert settings["cron_schedule"] == "*/5 * * * *"


def test_a_description_ending_in_a_backslash_does_not_swallow_the_next_setting(
    tmp_path: Path,
) -> None:
    rule = _rule(tmp_path / "a.yml", "t", "11111111-1111-1111-1111-111111111111",
                 "C:\\Windows\\", "Image|endswith: '\\cmd.exe'")
    code, text, err = _convert(str(rule))
    assert code == 0, err
    settings = read_conf(text)["t"]
    assert settings["description"] == "C:\\Windows"
    assert settings["cron_schedule"] == "*/5 * * * *"
    assert settings["enableSched"] == "1"


def test_a_newline_in_a_value_round_trips_without_an_added_space(tmp_path: Path) -> None:
    rule = _rule(tmp_path / "a.yml", "t", "11111111-1111-1111-1111-111111111111",
                 "line one\r\nline two\rline three", "CommandLine|contains: \"one\\ntwo\"")
    code, text, err = _convert(str(rule))
    assert code == 0, err
    settings = read_conf(text)["t"]
    assert 'CommandLine="*one\ntwo*"' in settings["search"]
    assert settings["description"] == "line one\nline two\nline three"


def test_rules_with_one_title_get_unique_stanzas(tmp_path: Path) -> None:
    paths = [
        _rule(tmp_path / f"{n}.yml", "Same title", f"{n}1111111-1111-1111-1111-111111111111",
              "d", "Image|endswith: '\\cmd.exe'")
        for n in (1, 2)
    ]
    default = _rule(tmp_path / "3.yml", "default", "31111111-1111-1111-1111-111111111111",
                    "d", "Image|endswith: '\\cmd.exe'")
    code, text, err = _convert(*map(str, paths), str(default))
    assert code == 0, err
    headers = stanza_headers(text)
    assert len(headers) == 3 and len({h.lower() for h in headers}) == 3
    # [default] would apply its settings to every stanza of the file.
    assert "default" not in {h.lower() for h in headers}
    assert len(read_conf(text)) == 3


def test_no_file_when_every_rule_fails(tmp_path: Path) -> None:
    rule = _rule(tmp_path / "a.yml", "t", "11111111-1111-1111-1111-111111111111", "d",
                 "NoSuchField: x")
    out = tmp_path / "conf"
    code, _, _ = _convert(str(rule), "-o", f"{out}/")
    assert code == 3
    assert not (out / "savedsearches.conf").exists()
    code, _, _ = _convert(str(rule), "-o", str(tmp_path / "one.conf"))
    assert code == 3
    assert not (tmp_path / "one.conf").exists()
