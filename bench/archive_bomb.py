"""Archive bombs against ``sigport check`` and ``sigport backtest``: peak memory stays bounded.

Builds, in a temporary directory, a zip and a tar.gz that each hold one JSON-lines member made of
a single line of ``--size`` bytes (default 1 GiB; about 1 MB compressed), streamed to the
compressor so the bomb is never held in memory here, then runs each command on each bomb in a
subprocess and prints its peak RSS (``resource.getrusage(RUSAGE_CHILDREN)``), the exit code and
the warning it printed. The tests run the same mechanism on a smaller bomb with a smaller
``--max-line-bytes`` (tests/test_hostile_inputs.py).

    python bench/archive_bomb.py [--size BYTES]
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SYSMON = "Microsoft-Windows-Sysmon/Operational"
RULE = """title: Bomb target
id: 7a0c3c7e-3333-4a1a-9a9a-000000000001
logsource:
  category: process_creation
  product: windows
detection:
  sel:
    Image|endswith: '\\\\cmd.exe'
  condition: sel
"""
_PIECE = 1 << 20


class _Filler(io.RawIOBase):
    """A readable stream of ``size`` bytes: a JSON object whose one string fills the line."""

    def __init__(self, size: int) -> None:
        self.head = json.dumps({"EventID": 1, "Channel": SYSMON,
                                "Image": "C:\\\\cmd.exe", "CommandLine": ""})[:-2].encode()
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.left)
        if n <= 0:
            return 0
        chunk = (self.head if self.head else b"") + b"a" * n
        chunk = chunk[:n]
        buffer[:n] = chunk
        self.head = b""
        self.left -= n
        return n


def _good_line() -> bytes:
    return json.dumps({"EventID": 1, "Channel": SYSMON, "Image": "C:\\Windows\\cmd.exe",
                       "CommandLine": "cmd /c whoami"}).encode() + b"\n"


def make_zip(path: Path, size: int) -> Path:
    """A zip whose member holds one line of ``size`` bytes, then one ordinary event."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("bomb.jsonl", "w", force_zip64=True) as out:
            filler = _Filler(size)
            while chunk := filler.read(_PIECE):
                out.write(chunk)
            out.write(b"\n" + _good_line())
    return path


def make_tar_gz(path: Path, size: int) -> Path:
    """A tar.gz whose member holds one line of ``size`` bytes, then one ordinary event."""
    tail = b"\n" + _good_line()
    info = tarfile.TarInfo("bomb.jsonl")
    info.size = size + len(tail)
    stream = io.BufferedReader(_Concat(_Filler(size), tail), _PIECE)
    with tarfile.open(path, "w:gz", compresslevel=1) as archive:
        archive.addfile(info, stream)
    return path


class _Concat(io.RawIOBase):
    def __init__(self, first: io.RawIOBase, tail: bytes) -> None:
        self.first, self.tail = first, tail

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = self.first.readinto(buffer)
        if n:
            return n
        n = min(len(buffer), len(self.tail))
        buffer[:n], self.tail = self.tail[:n], self.tail[n:]
        return n


#: Runs sigport as its own child and prints the exit code and that child's peak RSS: a fresh
#: parent per measurement, so RUSAGE_CHILDREN holds this command's peak (and its workers').
_MEASURE = """
import resource, subprocess, sys
code = subprocess.run([sys.executable, "-c", "from converter.cli import main; main()",
                       *sys.argv[1:]], stdout=subprocess.DEVNULL).returncode
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def run(command: list[str]) -> tuple[int, float, str, float]:
    """(exit code, peak RSS in MB, stderr, seconds) of one sigport command, measured apart."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", _MEASURE, *command], cwd=ROOT,
                            capture_output=True, text=True)
    code, peak_kb = result.stdout.split()
    return int(code), int(peak_kb) / 1024, result.stderr, time.perf_counter() - started


def main() -> None:
    """Build both bombs and measure each command on each."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=1 << 30, help="bytes of the one long line")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rule = Path(tmp) / "rule.yml"
        rule.write_text(RULE, encoding="utf-8")
        for make, name in ((make_zip, "bomb.zip"), (make_tar_gz, "bomb.tar.gz")):
            bomb = make(Path(tmp) / name, args.size)
            print(f"{name}: {bomb.stat().st_size:,} bytes holding a {args.size:,}-byte line")
            for command in ("check", "backtest"):
                code, peak, err, seconds = run([command, str(rule), "--events", str(bomb),
                                                "--format", "json"])
                warning = next((ln for ln in err.splitlines() if "warning" in ln), "-")
                print(f"  {command}: exit {code}, peak RSS {peak:,.0f} MB, {seconds:.1f} s; "
                      f"{warning}")


if __name__ == "__main__":
    main()
