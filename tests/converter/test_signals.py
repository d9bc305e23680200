"""SIGINT and SIGTERM stop ``sigport convert`` cleanly (issue 16, defect 9), tested on a real
process converting a generated rule set with two workers:

* SIGTERM to the parent alone: the workers go too (orphans held the output pipes, so a CI step
  reading them never saw EOF), the exit code is 143 and the ``--report`` says what was done;
* SIGTERM to the whole process group (what CI runners send): the same, and no zero-byte, partial
  or temporary output file is left;
* SIGINT: exit code 130 (it was 1, undocumented) and the same report.

Nothing here measures time: every wait polls for a state with a generous bound.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Callable

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

ROOT = Path(__file__).resolve().parents[2]
RULES = 3000
BOUND = 180.0  # seconds: generous, only reached when something is wrong

RULE = """title: Generated rule {n}
id: {id}
logsource: {{product: windows, category: process_creation}}
detection:
    sel:
        Image|endswith: '\\\\tool{n}.exe'
        CommandLine|contains: ['-a{n}', '/b{n}']
    condition: sel
"""


def _wait(predicate: Callable[[], bool], bound: float = BOUND) -> bool:
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def _children(pid: int) -> set[int]:
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and fields[1] == str(pid):
                out.add(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("signals") / "rules"
    folder.mkdir()
    for n in range(RULES):
        (folder / f"r{n:05d}.yml").write_text(RULE.format(n=n, id=uuid.uuid4()), encoding="utf-8")
    return folder


def _run_and_signal(rules: Path, tmp: Path, send: Callable[[subprocess.Popen], None]):
    out, report = tmp / "out", tmp / "report.json"
    # faulthandler: on a hang, SIGUSR1 makes every process print its threads' stacks.
    program = ("import faulthandler, signal; faulthandler.register(signal.SIGUSR1, "
               "all_threads=True); from converter.cli import main; main()")
    command = [sys.executable, "-c", program, "convert",
               str(rules), "-t", "eql", "--workers", "2", "-o", f"{out}/", "--report", str(report)]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    workers: set[int] = set()
    try:
        assert _wait(lambda: len(_children(proc.pid)) >= 2), "the workers never started"
        workers = _children(proc.pid)
        assert _wait(lambda: (out / "eql").is_dir() and any(
            not f.name.startswith(".") for f in (out / "eql").iterdir())), "no output was written"
        assert proc.poll() is None, "the run ended before the signal: raise RULES"
        send(proc)
        # communicate() returns once every holder of the pipes has closed them: an orphaned
        # worker keeps them open and this times out.
        try:
            stdout, stderr = proc.communicate(timeout=BOUND)
        except subprocess.TimeoutExpired:
            for pid in {proc.pid} | workers | _children(proc.pid):
                if _alive(pid):
                    os.kill(pid, signal.SIGUSR1)
            _wait(lambda: False, 2.0)
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, stderr = proc.communicate()
            pytest.fail("the run did not end (stacks follow):\n" + stderr.decode())
        assert _wait(lambda: not any(_alive(w) for w in workers)), "orphaned workers"
        return proc.returncode, stderr.decode(), out, report
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for worker in workers:
            if _alive(worker):
                os.kill(worker, signal.SIGKILL)


def _check_outputs(out: Path, report: Path, name: str) -> None:
    document = json.loads(report.read_text(encoding="utf-8"))
    interrupted = document["interrupted"]
    assert interrupted["signal"] == name
    assert 0 < interrupted["files_done"] < interrupted["files_total"] == RULES
    assert interrupted["output_written"] is True
    assert len(document["rules"]) == interrupted["files_done"]
    assert len(document["not_done"]) == RULES - interrupted["files_done"]
    files = list((out / "eql").iterdir())
    assert not [f for f in files if f.name.startswith(".")], "temporary files left behind"
    assert all(f.stat().st_size > 0 for f in files), "zero-byte output files"
    for f in files:  # whole files: the query of the rule, ending with its newline
        text = f.read_text(encoding="utf-8")
        assert text.startswith("process where") and text.endswith("\n"), f
    written = {f.stem for f in files}
    done = {Path(entry["path"]).stem for entry in document["rules"]}
    assert written == done, "the report and the written files disagree"


def test_sigterm_to_the_parent_takes_the_workers_along(rules: Path, tmp_path: Path) -> None:
    code, stderr, out, report = _run_and_signal(rules, tmp_path,
                                                lambda p: p.send_signal(signal.SIGTERM))
    assert code == 143, stderr
    assert "interrupted by SIGTERM" in stderr.strip().splitlines()[-1]
    assert "Traceback" not in stderr
    _check_outputs(out, report, "SIGTERM")


def test_sigterm_to_the_group_leaves_only_whole_files(rules: Path, tmp_path: Path) -> None:
    code, stderr, out, report = _run_and_signal(
        rules, tmp_path, lambda p: os.killpg(p.pid, signal.SIGTERM))
    assert code == 143, stderr
    assert "Traceback" not in stderr
    _check_outputs(out, report, "SIGTERM")


def test_sigint_exits_130_with_the_report(rules: Path, tmp_path: Path) -> None:
    code, stderr, out, report = _run_and_signal(rules, tmp_path,
                                                lambda p: p.send_signal(signal.SIGINT))
    assert code == 130, stderr
    assert "Traceback" not in stderr
    _check_outputs(out, report, "SIGINT")


def test_sigterm_stops_a_backtest_and_its_pool(tmp_path: Path) -> None:
    """``backtest`` runs a ``multiprocessing.Pool``, whose cleanup blocks once its workers are
    gone: the run still ends, with 143 and no orphan."""
    rules = tmp_path / "rules"
    rules.mkdir()
    for n in range(40):
        (rules / f"r{n}.yml").write_text(RULE.format(n=n, id=uuid.uuid4()), encoding="utf-8")
    events = tmp_path / "events.jsonl"
    line = json.dumps({"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
                       "Image": "C:\\\\x\\\\tool7.exe", "CommandLine": "tool7.exe -a7"})
    with events.open("w", encoding="utf-8") as handle:
        for _ in range(400_000):
            handle.write(line + "\n")
    program = "from converter.cli import main; main()"
    command = [sys.executable, "-c", program, "backtest", str(rules), "--events", str(events),
               "--workers", "2"]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    workers: set[int] = set()
    try:
        assert _wait(lambda: len(_children(proc.pid)) >= 2), "the workers never started"
        workers = _children(proc.pid)
        assert proc.poll() is None, "the backtest ended before the signal: raise the events"
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=BOUND)
        assert proc.returncode == 143, stderr
        assert "interrupted by SIGTERM" in stderr.decode()
        assert _wait(lambda: not any(_alive(w) for w in workers)), "orphaned workers"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for worker in workers:
            if _alive(worker):
                os.kill(worker, signal.SIGKILL)
