"""``convert_paths`` with the persistent cache (``converter.conversion.cache``): a second run reads
each file's results back, identical, and a change to the file, a pipeline file or the options
gives a fresh conversion."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from converter.cli import main
from converter.conversion import batch, worker
from converter.conversion.batch import convert_paths
from converter.conversion.cache import ENV_DIR
from helpers import IMAGE_RULE, PREFIX_PIPELINE

BROKEN = "title: broken\ndetection: [\n"


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    for n, name in enumerate(("whoami.exe", "cmd.exe", "net.exe")):
        (folder / f"r{n}.yml").write_text(IMAGE_RULE.format(n=n, name=name), encoding="utf-8")
    (folder / "broken.yml").write_text(BROKEN, encoding="utf-8")
    # A CRLF file: the text read for the key must be the text the loader converts.
    (folder / "crlf.yml").write_bytes(IMAGE_RULE.format(n=9, name="crlf.exe").replace("\n", "\r\n")
                                      .encode("utf-8"))
    return folder


def _files_passed(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[str]:
    """The names of the files ``module.name(path, ...)`` is called with, in order."""
    seen: list[str] = []
    real = getattr(module, name)

    def counting(path: str, *rest: Any) -> Any:
        seen.append(Path(path).name)
        return real(path, *rest)

    monkeypatch.setattr(module, name, counting)
    return seen


@pytest.fixture
def converted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of the files ``convert_paths`` loads and converts, in order."""
    return _files_passed(monkeypatch, worker, "convert_file")


def _run(rules: Path, **options: Any) -> list[dict[str, Any]]:
    summaries, conversions = convert_paths([str(rules)], ["eql", "splunk"], workers=1, **options)
    return [{"summary": [(s.path, s.id, s.title, str(s.error)) for s in summaries]},
            *[c.to_report() for c in conversions]]


def _entries() -> list[Path]:
    return sorted(Path(os.environ[ENV_DIR]).rglob("*.pickle"))


def test_a_second_run_reads_every_file_back(rules: Path, converted: list[str]) -> None:
    first = _run(rules, alternatives=True)
    assert len(converted) == 5 and len(_entries()) == 5
    assert _run(rules, alternatives=True) == first
    assert len(converted) == 5
    assert any("crlf" in str(entry.get("output")) for entry in first)
    assert any("error" == entry.get("status") for entry in first)  # a load error is a result too


def test_a_changed_file_is_converted_again(rules: Path, converted: list[str]) -> None:
    first = _run(rules)
    (rules / "r1.yml").write_text(IMAGE_RULE.format(n=1, name="powershell.exe"), encoding="utf-8")
    second = _run(rules)
    assert converted[5:] == ["r1.yml"]
    changed = [a for a, b in zip(first, second) if a != b]
    assert changed and all("r1.yml" in a["path"] for a in changed)
    assert any("powershell" in str(b.get("output")) for b in second)


def test_a_changed_pipeline_file_or_option_is_converted_again(
    rules: Path, tmp_path: Path, converted: list[str]
) -> None:
    extra = tmp_path / "extra.yml"
    extra.write_text(PREFIX_PIPELINE.format(prefix="a."), encoding="utf-8")
    first = _run(rules, pipelines=[str(extra)])
    extra.write_text(PREFIX_PIPELINE.format(prefix="b."), encoding="utf-8")
    second = _run(rules, pipelines=[str(extra)])
    assert len(converted) == 10
    assert any("a.process" in str(e.get("output")) for e in first)
    assert any("b.process" in str(e.get("output")) for e in second)
    assert not any("a.process" in str(e.get("output")) for e in second)
    _run(rules, options={"data_source": "windows"})
    _run(rules, alternatives=True)
    assert len(converted) == 20


def test_no_cache_reads_and_writes_nothing(rules: Path, converted: list[str]) -> None:
    _run(rules, cache=False)
    _run(rules, cache=False)
    assert len(converted) == 10 and not _entries()


def test_a_bug_is_never_stored(rules: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = worker.convert_file
    calls = []

    def failing(path: str, text: Any, state: Any) -> Any:
        calls.append(path)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return real(path, text, state)

    monkeypatch.setattr(worker, "convert_file", failing)
    first = _run(rules)
    assert any("internal error: RuntimeError: boom" in str(e.get("reason")) for e in first)
    assert len(_entries()) == 4
    second = _run(rules)
    assert len(calls) == 6 and not any("boom" in str(e.get("reason")) for e in second)


def test_the_command_line_switch(rules: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    off = runner.invoke(main, ["convert", str(rules), "-t", "eql", "--no-cache",
                               "-o", str(tmp_path / "off") + "/"])
    assert not _entries()
    on = runner.invoke(main, ["convert", str(rules), "-t", "eql", "-o", str(tmp_path / "on") + "/"])
    again = runner.invoke(main, ["convert", str(rules), "-t", "eql",
                                 "-o", str(tmp_path / "again") + "/"])
    assert len(_entries()) == 5
    assert off.exit_code == on.exit_code == again.exit_code and off.output == on.output == again.output
    for folder in ("on", "again"):
        for written in (tmp_path / "off").rglob("*"):
            twin = tmp_path / folder / written.relative_to(tmp_path / "off")
            assert written.is_dir() or twin.read_bytes() == written.read_bytes()


def test_a_run_whose_every_file_is_cached_builds_nothing(rules: Path, tmp_path: Path) -> None:
    """The parent reads every stored result back before building converters: a run over
    unchanged rules writes the same files and prints the same, without importing pySigma, lark
    or pyparsing (the imports and converters were most of a warm run's CPU)."""
    args = ["convert", str(rules), "-t", "eql,splunk", "-o", str(tmp_path / "out") + "/",
            "--report", str(tmp_path / "report.json")]
    code = ("import sys\nfrom converter.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit as exc:\n    status = exc.code\n"
            "print(status, sorted({m.split('.')[0] for m in sys.modules} "
            "& {'sigma', 'lark', 'pyparsing'}))\n")

    def run() -> tuple[str, str, dict[str, bytes]]:
        done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                              text=True, env=os.environ, check=False)
        files = {str(p.relative_to(tmp_path)): p.read_bytes()
                 for p in sorted(tmp_path.rglob("*")) if p.is_file()}
        return done.stdout, done.stderr, files

    first = run()
    assert first[0].startswith("2 ") and "sigma" in first[0]  # broken.yml: exit 2; converted
    second = run()
    assert second[0] == "2 []\n"
    assert second[1] == first[1] and second[2] == first[2]


def test_a_cold_run_leaves_the_lookups_to_the_converting_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, converted: list[str]
) -> None:
    """After ``MISSES_BEFORE_POOL`` files in a row not found, the parent stops reading files back
    (it read and hashed every file, serially, before the first worker started); a file stored
    after those misses is still read back, by the process that would convert it, not converted
    again, and every result is what a run over an empty cache gives."""
    folder = tmp_path / "many"
    folder.mkdir()
    count = batch.MISSES_BEFORE_POOL + 4
    for n in range(count):
        (folder / f"r{n:02}.yml").write_text(IMAGE_RULE.format(n=n, name=f"p{n}.exe"),
                                             encoding="utf-8")
    lookups = _files_passed(monkeypatch, batch, "read_back")
    last = f"r{count - 1:02}.yml"
    lone = folder.parent / "lone"
    lone.mkdir()
    (lone / last).write_text((folder / last).read_text(encoding="utf-8"), encoding="utf-8")
    convert_paths([str(folder / last)], ["eql"], workers=1)  # stores the last file alone
    assert converted == [last]
    fresh = convert_paths([str(folder)], ["eql"], workers=1, cache=False)
    del converted[:], lookups[:]
    summaries, conversions = convert_paths([str(folder)], ["eql"], workers=1)
    assert len(lookups) == batch.MISSES_BEFORE_POOL
    assert converted == [f"r{n:02}.yml" for n in range(count - 1)]  # not the stored one
    assert [c.to_report() for c in conversions] == [c.to_report() for c in fresh[1]]
    assert [(s.path, s.id) for s in summaries] == [(s.path, s.id) for s in fresh[0]]


def test_the_command_line_lists_its_inputs_once(
    rules: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``convert`` lists its inputs for the progress bar and hands that list on: the batch
    lists nothing again (a second listing was serial work before the workers started)."""
    from converter.rules import paths as rule_paths

    calls: list[tuple[str, ...]] = []
    real = rule_paths.expand_paths

    def counting(paths: Any) -> Any:
        names = tuple(str(p) for p in paths)
        calls.append(names)
        return real(names)

    monkeypatch.setattr(rule_paths, "expand_paths", counting)
    monkeypatch.setattr(batch, "expand_paths", counting)
    result = CliRunner().invoke(main, ["convert", str(rules), "-t", "eql", "--no-cache",
                                       "-o", str(tmp_path / "out") + "/"])
    assert result.exit_code == 2, result.output  # broken.yml
    assert calls == [(str(rules),)]
    assert len(list((tmp_path / "out").rglob("*.eql"))) == 4


def test_a_worker_sends_the_pickle_the_cache_stored(rules: Path) -> None:
    """A worker pickles a cold file's result once: the entry it stores is what it sends."""
    import pickle

    worker.ensure_state(["eql", "splunk"], None, None)
    path = str(rules / "r0.yml")
    (sent,) = worker.run_chunk([(path, None)])
    (entry,) = _entries()
    assert isinstance(sent, bytes) and sent == entry.read_bytes()
    (again,) = worker.run_chunk([(path, None)])  # read back: the same result, pickled here
    assert pickle.loads(again)[1] == pickle.loads(sent)[1]
    assert [c.status for c in pickle.loads(sent)[1]] == ["converted", "converted"]
