"""Timing whole processes for the benchmarks: wall, CPU (with waited-for children) and peak RSS
via ``wait4``, alternated rounds, and the environments the timed commands run in (bytecode cache,
sigport's persistent cache on or off). Shared by ``conversion.py`` and ``versus.py``."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Run:
    """One timed process: wall seconds, CPU seconds (it and its waited-for children), peak RSS."""

    wall: float
    cpu: float
    maxrss_mb: float
    returncode: int


def run_process(cmd: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None) -> Run:
    """Run ``cmd`` with output discarded and measure it with ``wait4`` (this child only)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # so Popen does not wait again
    # ru_maxrss is in KiB on Linux: the largest of the process and its children, not their sum.
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode)


def median_range(values: list[float]) -> str:
    """``median (min-max)`` with two decimals."""
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def alternate(
    commands: dict[str, Callable[[], Run]], runs: int, warm_up: bool = True
) -> dict[str, list[Run]]:
    """Run every command ``runs`` times, interleaved, rotating which goes first each round.

    With ``warm_up``, each command first runs once untimed (it fills the bytecode cache and the
    operating system's file cache, as earlier runs of an installed tool would have).
    """
    names = list(commands)
    if warm_up:
        for name in names:
            commands[name]()
    out: dict[str, list[Run]] = {n: [] for n in names}
    for round_ in range(runs):
        order = names[round_ % len(names):] + names[: round_ % len(names)]
        for name in order:
            out[name].append(commands[name]())
            print(f"  {name}: run {round_ + 1}/{runs}: {out[name][-1].wall:.2f}s", file=sys.stderr)
    return out


def bytecode_env(tmp: Path, bytecode: bool = True) -> dict[str, str]:
    """The environment of the timed commands: with a bytecode cache under ``tmp`` (see above)."""
    env = dict(os.environ)
    # sigport's persistent cache is off unless a measurement says otherwise (``cached_env``):
    # a timed run after the warm-up must convert, not read back what the warm-up stored.
    env["SIGPORT_NO_CACHE"] = "1"
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    return env


def cached_env(env: dict[str, str], folder: Path, fresh: bool) -> dict[str, str]:
    """``env`` with sigport's persistent cache in ``folder``; ``fresh`` empties it first (a
    **cold** run: everything converted and stored), else it keeps what earlier runs stored (a
    **warm** run)."""
    if fresh:
        shutil.rmtree(folder, ignore_errors=True)
    out = {k: v for k, v in env.items() if k != "SIGPORT_NO_CACHE"}
    out["SIGPORT_CACHE_DIR"] = str(folder)
    return out


__all__ = ["ROOT", "Run", "alternate", "bytecode_env", "cached_env", "median_range", "run_process"]
