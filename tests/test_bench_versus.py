"""``bench/versus.py`` finds the peer's interpreter where ``$SIGPORT_PEER_PYTHON`` says.

Before, only ``bench/.peer-venv`` (or ``--peer-python``) was read, and a peer virtualenv made
elsewhere (this machine's ``/work/peer-venv``) needed the option on every run.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

VERSUS = Path(__file__).resolve().parent.parent / "bench" / "versus.py"


def _versus() -> ModuleType:
    spec = importlib.util.spec_from_file_location("versus", VERSUS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_environment_names_the_peer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    versus = _versus()
    elsewhere = tmp_path / "peer-venv" / "bin" / "python"
    monkeypatch.setenv("SIGPORT_PEER_PYTHON", str(elsewhere))
    assert versus.peer_python() == elsewhere
    # --peer-python still wins.
    assert versus.peer_python(tmp_path / "given") == tmp_path / "given"
    monkeypatch.delenv("SIGPORT_PEER_PYTHON")
    assert versus.peer_python() == VERSUS.parent / ".peer-venv" / "bin" / "python"


def test_a_missing_peer_is_named_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SIGPORT_PEER_PYTHON", str(tmp_path / "nowhere" / "python"))
    assert _versus().main([]) == 2
    assert str(tmp_path / "nowhere" / "python") in capsys.readouterr().err
