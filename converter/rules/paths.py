"""Which files a command reads: the rule files named and those under the directories named.

Apart from ``load.py`` (which needs YAML and pySigma) so that a run whose every result is
cached lists its inputs without importing them.
"""

from __future__ import annotations

import io
import os
import stat
import sys
from pathlib import Path
from typing import Iterable, Iterator

from converter.errors import RuleLoadError

__all__ = ["RULE_SUFFIXES", "STDIN", "decode", "expand_paths", "read_regular_file", "read_stdin"]

#: File suffixes taken as Sigma rules when a directory is given, in any case (``.YML`` from a
#: Windows tool is a rule file too).
RULE_SUFFIXES = (".yml", ".yaml")
STDIN = "-"


def expand_paths(paths: Iterable[str | Path]) -> Iterator[str]:
    """Files named, and rule files under directories (recursively, sorted); ``-`` is stdin.

    Raises:
        RuleLoadError: a named path does not exist.
    """
    for raw in paths:
        if str(raw) == STDIN:
            yield STDIN
            continue
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                # A rule file's name on a link to nothing is yielded too: loading it reports
                # "cannot read", so the broken link is accounted for instead of skipped.
                if child.suffix.lower() in RULE_SUFFIXES and (
                    child.is_file() or child.is_symlink() and not child.exists()
                ):
                    yield str(child)
        elif path.is_file():
            yield str(path)
        elif path.exists():
            raise RuleLoadError("not a regular file or directory", path=path,
                                hint="give rule files or directories, or - for standard input")
        else:
            raise RuleLoadError("no such file or directory", path=path)


def decode(data: bytes) -> str:
    """A rule file's text: UTF-8 with universal newlines (as ``Path.read_text``), each byte that
    is no UTF-8 kept as a surrogate escape, which ``load.load_text`` reports at its line and
    column."""
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="surrogateescape").read()


def read_stdin() -> str:
    """Standard input as ``decode`` reads a file (its bytes: the text layer raised on a bad
    byte, or escaped it by the locale's rules)."""
    stream = getattr(sys.stdin, "buffer", None)
    return decode(stream.read()) if stream is not None else sys.stdin.read()


def read_regular_file(name: str, flags: int = 0, dir_fd: int | None = None,
                      limit: int = -1) -> bytes | None:
    """The bytes of ``name`` (at most ``limit``; -1: all) if it opens with ``flags`` added to
    read-only and is a regular file; None otherwise or when it cannot be read."""
    try:
        handle = os.open(name, os.O_RDONLY | flags | getattr(os, "O_CLOEXEC", 0), dir_fd=dir_fd)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            return None
        with os.fdopen(handle, "rb", closefd=False) as reader:
            return reader.read(limit)
    except OSError:
        return None
    finally:
        os.close(handle)
