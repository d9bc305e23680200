"""savedsearches.conf passes Splunk AppInspect (runs only where ``splunk-appinspect`` is installed:
``pip install splunk-appinspect``, or point ``SPLUNK_APPINSPECT`` at its executable).

The file is packaged in a minimal app (app.conf, default.meta) with the bundled rules and hostile
titles, with and without the Enterprise Security keys; the report must hold no failure, error or
warning.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from converter.cli import main

ROOT = Path(__file__).resolve().parents[3]
APPINSPECT = os.environ.get("SPLUNK_APPINSPECT") or shutil.which("splunk-appinspect")

APP_CONF = """\
[install]
is_configured = false

[ui]
is_visible = false
label = sigport detections

[launcher]
author = sigport
description = Sigma rules converted by sigport
version = 1.0.0

[package]
id = sigport_app
check_for_updates = false

[id]
name = sigport_app
version = 1.0.0
"""
HOSTILE = """\
title: "Evil] \\r\\n[injected]\\ncron_schedule = * * * * *"
id: 77777777-7777-4777-8777-777777777777
status: test
description: "ends in a backslash \\\\"
logsource: {product: windows, category: process_creation}
detection:
  selection:
    CommandLine|contains: "a\\nb"
  condition: selection
"""


def _results(report: dict) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "result" in node and "name" in node:
                out.append((str(node["result"]), str(node["name"])))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(report)
    return out


@pytest.mark.skipif(APPINSPECT is None, reason="splunk-appinspect is not installed")
@pytest.mark.parametrize("es", [False, True])
def test_savedsearches_pass_appinspect(tmp_path: Path, es: bool) -> None:
    app = tmp_path / "sigport_app"
    (app / "default").mkdir(parents=True)
    (app / "metadata").mkdir()
    (app / "default" / "app.conf").write_text(APP_CONF, encoding="utf-8")
    (app / "metadata" / "default.meta").write_text(
        "[]\naccess = read : [ * ], write : [ admin, sc_admin ]\nexport = none\n", encoding="utf-8"
    )
    hostile = tmp_path / "hostile.yml"
    hostile.write_text(HOSTILE, encoding="utf-8")
    args = ["convert", str(ROOT / "sigma_rules"), str(hostile), "-t", "splunk", "-f",
            "savedsearches", "-o", str(app / "default" / "savedsearches.conf")]
    result = CliRunner().invoke(main, args + (["--splunk-es"] if es else []))
    assert result.exit_code == 0, result.output
    package = tmp_path / "sigport_app.tgz"
    with tarfile.open(package, "w:gz") as tar:
        tar.add(app, arcname="sigport_app")
    report = tmp_path / "report.json"
    subprocess.run(
        [str(APPINSPECT), "inspect", str(package), "--output-file", str(report),
         "--data-format", "json"],
        check=True, capture_output=True, timeout=600,
    )
    bad = [r for r in _results(json.loads(report.read_text())) if r[0] in
           ("failure", "error", "warning", "future_failure")]
    assert bad == []
