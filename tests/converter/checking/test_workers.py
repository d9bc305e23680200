"""``sigport check --workers N``: rule files checked in worker processes give the report of one
process, byte for byte (json, markdown, text, exit code, warnings, errors in order)."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from converter.checking import workers as workers_module
from converter.checking.run import CheckOptions, check_rules
from converter.cli import main

RULE = """title: {title}
id: {id}
status: test
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        {selection}
    condition: selection
level: high
"""

SELECTIONS = [
    "Image|endswith: '\\\\whoami.exe'",
    "CommandLine|contains|all: ['-enc', 'bypass']",
    "ParentImage|startswith: 'C:\\\\Windows\\\\Temp\\\\'",
    "CommandLine|contains|windash: ' -decode '",
    "CommandLine|re: 'pow[e]rshell\\.exe\\s+-nop'",
    "OriginalFileName: ['RUNDLL32.EXE', 'regsvr32.exe']",
    "CommandLine|endswith: ' /c'",
]

TARGETS = "eql,kql,kusto"


def _rule_dir(root: Path) -> Path:
    """Rules of several shapes, one that does not load, one with its own events (one line of
    them too long for ``--max-line-bytes``), and a file holding two rules."""
    rules = root / "rules"
    rules.mkdir()
    for i, selection in enumerate(SELECTIONS):
        text = RULE.format(title=f"rule {i}", id=f"00000000-0000-4000-8000-00000000000{i}",
                           selection=selection)
        (rules / f"r{i}.yml").write_text(text, encoding="utf-8")
    (rules / "r2b.yml").write_text("title: broken\ndetection: [\n", encoding="utf-8")
    own = rules / "r3.events.jsonl"
    own.write_text(
        json.dumps({"CommandLine": "certutil -decode a b", "EventID": 1, "_expect": True}) + "\n"
        + json.dumps({"CommandLine": "x" * 400, "EventID": 1, "_expect": False}) + "\n",
        encoding="utf-8",
    )
    two = RULE.format(title="first of two", id="00000000-0000-4000-8000-0000000000a1",
                      selection="Image|endswith: '\\\\net.exe'")
    two += "---\n" + RULE.format(title="second of two", id="00000000-0000-4000-8000-0000000000a2",
                                 selection="Image|endswith: '\\\\net1.exe'")
    (rules / "r9.yml").write_text(two, encoding="utf-8")
    return rules


def _count_pools(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The worker counts of the pools started from now on, each checked to have checked every
    file itself (none left for the parent to redo)."""
    pools: list[int] = []
    run_pool = workers_module._run_pool

    def counting(*args: Any) -> Any:
        slots = run_pool(*args)
        assert None not in slots
        pools.append(args[2])
        return slots

    monkeypatch.setattr(workers_module, "_run_pool", counting)
    return pools


def _run(args: list[str]) -> Any:
    return CliRunner().invoke(main, ["check", *args])


@pytest.mark.parametrize("extra", [
    ["--generate", "--data-source", "defend,windows,defender,sentinel"],
    ["--max-line-bytes", "200"],
])
def test_two_workers_give_the_report_of_one(tmp_path: Path, extra: list[str]) -> None:
    rules = _rule_dir(tmp_path)
    outputs = {}
    for count in ("1", "2"):
        markdown = tmp_path / f"report{count}.md"
        as_json = _run([str(rules), "-t", TARGETS, "--format", "json", "--markdown", str(markdown),
                        "-w", count, *extra])
        as_text = _run([str(rules), "-t", TARGETS, "-w", count, *extra])
        outputs[count] = (as_json.exit_code, as_json.stdout, as_json.stderr,
                          markdown.read_bytes(), as_text.exit_code, as_text.stdout)
    assert outputs["1"] == outputs["2"]
    exit_code, stdout, _, _, _, _ = outputs["2"]
    assert exit_code == 2  # the broken rule file
    report = json.loads(stdout)
    paths = [Path(r["path"]).name for r in report["rules"]]
    assert paths == sorted(paths)  # input order (the file names sort as the walk does)
    assert [r["title"] for r in report["rules"] if r["path"].endswith("r9.yml")] == [
        "first of two", "second of two"]
    (broken,) = [r for r in report["rules"] if r["path"].endswith("r2b.yml")]
    assert broken["error"] and "r2b.yml" in broken["error"]
    if "--max-line-bytes" in extra:
        assert any("r3.events.jsonl" in w for w in report["input_warnings"])


def test_the_pool_is_used_and_each_file_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rules = _rule_dir(tmp_path)
    pools = _count_pools(monkeypatch)
    seen: list[int] = []
    options = CheckOptions(targets=("eql",), generate=0)
    one = check_rules([rules], options, seen.append)
    assert pools == [] and sum(seen) == len(list(rules.glob("*.yml")))
    seen.clear()
    two = check_rules([rules], CheckOptions(targets=("eql",), generate=0, workers=2), seen.append)
    assert pools == [2] and sum(seen) == len(list(rules.glob("*.yml")))
    assert json.dumps(one.to_json()) == json.dumps(two.to_json())
    assert one.markdown() == two.markdown()


def test_shared_events_come_back_with_every_result(tmp_path: Path) -> None:
    rules = _rule_dir(tmp_path)
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(e) for e in [
        {"EventID": 1, "Image": "C:\\Windows\\System32\\whoami.exe"},
        {"EventID": 1, "CommandLine": "powershell.exe -nop -enc AAA bypass"},
        {"EventID": 1, "Image": "C:\\Windows\\System32\\net.exe"},
    ]) + "\n", encoding="utf-8")
    one = check_rules([rules], CheckOptions(targets=("eql",), events=(events,)))
    two = check_rules([rules], CheckOptions(targets=("eql",), events=(events,), workers=2))
    assert json.dumps(one.to_json()) == json.dumps(two.to_json())
    loaded = [r for r in two.results if not r.error]
    assert loaded and all(len(r.events) == 3 for r in loaded)


def test_an_unreadable_input_stops_the_run_at_the_first_in_order(tmp_path: Path) -> None:
    rules = _rule_dir(tmp_path)
    for name in ("r4", "r6"):  # two rules whose own events are not JSON
        (rules / f"{name}.events.jsonl").write_text("{not json\n", encoding="utf-8")
    one = _run([str(rules), "-t", "eql", "-w", "1"])
    two = _run([str(rules), "-t", "eql", "-w", "2"])
    assert (one.exit_code, one.stderr) == (two.exit_code, two.stderr)
    assert two.exit_code == 2
    assert "r4.events.jsonl" in two.stderr and "r6.events.jsonl" not in two.stderr


def test_spawned_workers_build_their_own_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where workers are spawned (macOS, Windows), each builds the checker from the options."""
    import multiprocessing

    from converter.conversion import batch

    rules = _rule_dir(tmp_path)
    options = CheckOptions(targets=("kql",), data_sources=("defend", "windows"), generate=0)
    one = check_rules([rules], options)
    monkeypatch.setattr(batch, "_mp_context", lambda: multiprocessing.get_context("spawn"))
    pools = _count_pools(monkeypatch)
    two = check_rules([rules], replace(options, workers=2))
    assert pools == [2]
    assert json.dumps(one.to_json()) == json.dumps(two.to_json())


def test_a_bug_outside_a_rules_check_is_raised_for_the_first_file_in_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from converter.conversion import worker

    rules = _rule_dir(tmp_path)
    load_input = worker.load_input

    def failing(path: str, text: Any) -> Any:
        if Path(path).name in ("r5.yml", "r1.yml"):
            if Path(path).name == "r1.yml":
                time.sleep(1.0)  # the later file's error reaches the parent first
            raise RuntimeError(f"bug on {Path(path).name}")
        return load_input(path, text)

    monkeypatch.setattr(worker, "load_input", failing)
    for count in (1, 2):
        with pytest.raises(RuntimeError, match="bug on r1.yml"):
            check_rules([rules], CheckOptions(targets=("eql",), generate=0, workers=count))
