"""A shard that fails ends the backtest with the error, whatever is still queued for it.

The parent queues up to three batches per shard ahead; after a shard's error those are never
read. Left in the queues, their feeder threads stayed blocked writing to pipes no one read, and
the process hung at exit (multiprocessing joins them) after printing the error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

RULE = """\
title: Whoami
id: 44444444-4444-4444-8444-444444444444
status: test
logsource: {product: windows, category: process_creation}
detection:
  selection:
    Image|endswith: '\\\\whoami.exe'
  condition: selection
"""

#: The backtest program with every shard's engine raising on its first batch.
FAILING = """\
import converter.backtesting.workers as workers


class Failing(workers.Engine):
    def run(self, batch):
        raise RuntimeError("the shard failed")


workers.Engine = Failing
from converter.cli import run

run()
"""


def test_a_failing_shard_ends_the_run_with_its_error(tmp_path: Path) -> None:
    rule = tmp_path / "r.yml"
    rule.write_text(RULE, encoding="utf-8")
    events = tmp_path / "e.jsonl"
    # Batches of 500 events of 2 kB: more than a pipe holds is queued for each shard.
    line = json.dumps({"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
                       "Image": "C:\\x\\whoami.exe", "CommandLine": "a" * 2000}) + "\n"
    events.write_text(line * 6000, encoding="utf-8")
    script = tmp_path / "failing.py"
    script.write_text(FAILING, encoding="utf-8")
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "SIGPORT_NO_CACHE": "1",
           "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, str(script), "backtest", str(rule), "--events", str(events), "-t", "eql",
         "--format", "json", "--workers", "2"],
        cwd=root, env=env, capture_output=True, timeout=300)
    assert b"the shard failed" in done.stderr
    assert done.returncode != 0
