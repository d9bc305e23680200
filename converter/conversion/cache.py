"""A persistent cache of prepared conversions, shared by runs on the same machine.

Converting a rule for every target and parsing each emitted query is most of what a backtest
costs (``converter.backtesting.prepare``); the result depends only on the rule, the options and
sigport itself, so a second run over the same rules reads it back instead.

An entry is trusted only when everything its value depends on is in its key:

* ``code_fingerprint``: sigport's version, every file of its packages (``converter`` and
  ``backends``: code, mapping tables, pipelines, grammars), the installed version of each of its
  dependencies, the Python version and this module's format version. Any edit to a table or to
  the code (an editable install included) starts a new cache: never an entry across versions;
* the store's context (the caller's options; a file given as an option counts by its content,
  ``file_digest``);
* the key (the caller's: for a rule, its file's text, path and position in the file).

Entries are pickles, one file each, under ``$SIGPORT_CACHE_DIR`` or the user cache directory
(``$XDG_CACHE_HOME/sigport``, else ``~/.cache/sigport``). The directory must belong to the user
and be writable by nobody else (it is created so), since loading a pickle runs code: otherwise the
cache is not used. Writers are safe to run at once: an entry is written to a temporary file and
renamed over its name (atomic), so a reader sees a whole entry or none. An entry that does not
load is a miss. Each sigport version and configuration has its own folder; the least recently
used beyond ``KEEP`` per kind are deleted. ``SIGPORT_NO_CACHE=1`` (or the commands'
``--no-cache``) turns the cache off.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import shutil
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

__all__ = ["ENV_DIR", "ENV_OFF", "Store", "cache_root", "code_fingerprint", "file_digest",
           "options_context", "prebuilt"]

#: Where the cache lives (overrides the user cache directory).
ENV_DIR = "SIGPORT_CACHE_DIR"
#: Set to a non-empty value other than ``0`` to turn the cache off.
ENV_OFF = "SIGPORT_NO_CACHE"
#: Bumped whenever what an entry holds changes shape.
FORMAT = "2"
#: The packages whose files make up sigport (code and data).
PACKAGES = ("converter", "backends")


def cache_root() -> Path | None:
    """The cache directory, or None when the environment turns the cache off."""
    if os.environ.get(ENV_OFF, "") not in ("", "0"):
        return None
    configured = os.environ.get(ENV_DIR)
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sigport"


def _package_dirs() -> list[Path]:
    import importlib

    return [Path(importlib.import_module(name).__file__ or "").parent for name in PACKAGES]


def tree_digest(roots: Iterable[Path]) -> str:
    """SHA-256 of every file under ``roots`` (relative path and content; bytecode left out)."""
    digest = hashlib.sha256()
    for root in roots:
        files = sorted(p for p in root.rglob("*")
                       if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
        for path in files:
            digest.update(f"{root.name}/{path.relative_to(root).as_posix()}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _dependency_versions() -> list[str]:
    """``name==version`` of sigport and of each of its (non-optional) dependencies."""
    import re
    from importlib import metadata

    out = []
    try:
        out.append(f"sigport=={metadata.version('sigport')}")
        requires = metadata.requires("sigport") or []
    except metadata.PackageNotFoundError:  # run from a source tree: the files still count
        out.append("sigport==?")
        requires = []
    for requirement in requires:
        if "extra ==" in requirement:
            continue
        name = re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0]
        try:
            out.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name}==absent")
    return sorted(out)


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """What every entry depends on besides its own inputs (see the module); computed once per
    process (a few milliseconds)."""
    parts = [f"format {FORMAT}", sys.version, *_dependency_versions(), tree_digest(_package_dirs())]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's content (``missing`` when it cannot be read)."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return "missing"


def options_context(targets: Iterable[str], pipelines: Iterable[str],
                    options: dict[str, Any] | None) -> list[str]:
    """A store's context for a conversion configuration: the targets, the extra pipelines (a
    pipeline file by its path and content, a built-in by its name) and the table options (the
    mapping file by its path and content: a message may name the file)."""
    shown = [f"file:{p}:{file_digest(p)}" if Path(p).is_file() else f"name:{p}" for p in pipelines]
    values = dict(options or {})
    if values.get("mapping") is not None:
        values["mapping"] = f"{values['mapping']}:{file_digest(values['mapping'])}"
    return [f"targets={','.join(targets)}", f"pipelines={' '.join(shown)}",
            f"options={sorted((k, repr(v)) for k, v in values.items())!r}"]


def _private_dir(path: Path) -> bool:
    """Create ``path`` (mode 700) if needed; True when it is a directory of this user that no
    one else may write to."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.stat()
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode) or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return False
    return not hasattr(os, "getuid") or info.st_uid == os.getuid()


#: Caches (fingerprint and context folders) kept per namespace: every edit of sigport starts a new
#: one, so the oldest beyond this many are deleted when a store is opened.
KEEP = 8


def _prune(current: Path) -> None:
    """Mark ``current`` as used now and delete its namespace's least recently used cache
    folders beyond ``KEEP`` (a process still using one only loses its entries: its reads miss
    and its writes fail quietly)."""
    try:
        os.utime(current)
        folders = [p for p in current.parent.iterdir()
                   if p.is_dir() and len(p.name) == 32 and all(c in "0123456789abcdef" for c in p.name)]
        folders.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return
    for old in folders[KEEP:]:
        if old != current:
            shutil.rmtree(old, ignore_errors=True)


class Store:
    """The entries of one kind (``namespace``) made under one context.

    Args:
        namespace: what the entries are (``backtest``, ...): a folder of the cache.
        context: the caller's options the values depend on (strings).
        root: the cache directory (default: ``cache_root()``); None or an unusable directory
            gives a store that keeps nothing (``enabled`` is False).
    """

    def __init__(self, namespace: str, context: Iterable[str], root: Path | None = None) -> None:
        root = cache_root() if root is None else root
        digest = hashlib.sha256("\0".join([code_fingerprint(), *context]).encode()).hexdigest()
        self.folder: Path | None = None
        if root is not None and _private_dir(root):
            folder = root / namespace / digest[:32]
            if _private_dir(folder):
                self.folder = folder
                _prune(folder)

    @property
    def enabled(self) -> bool:
        """Whether entries are read and written."""
        return self.folder is not None

    @staticmethod
    def key(*parts: str) -> str:
        """The entry name for ``parts`` (hashed, so any text can be part of a key)."""
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()

    def get(self, key: str) -> Any:
        """The value stored under ``key``, or None (none stored, or it does not load)."""
        if self.folder is None:
            return None
        try:
            with (self.folder / f"{key}.pickle").open("rb") as handle:
                value = pickle.load(handle)
        except Exception:  # noqa: BLE001 - none, or a truncated or foreign entry: a miss
            return None
        return value

    def put(self, key: str, value: Any) -> bytes | None:
        """Store ``value`` under ``key`` (atomic; a value that cannot be pickled or written is
        simply not kept). Returns the pickle of ``value`` when one was made (even if it could
        not be written), for a caller that sends the value on as a pickle too."""
        if self.folder is None:
            return None
        try:
            data = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - e.g. a value holding a compiled closure
            return None
        self._write(key, data)
        return data

    def _write(self, key: str, data: bytes) -> None:
        """Write ``data`` as the entry ``key`` (a temporary file renamed over its name)."""
        assert self.folder is not None
        try:
            fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".part-")
        except OSError:
            return
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, self.folder / f"{key}.pickle")
        except OSError:
            try:
                os.unlink(temporary)
            except OSError:
                pass


T = TypeVar("T")


def prebuilt(store: Store | None, name: str, build: Callable[[], T],
             valid: Callable[[Any], bool]) -> T:
    """``build()``, read back from ``store`` when an earlier run stored it under ``name`` (and
    it is ``valid``), else built and stored there; built alone when ``store`` is None.

    For values that depend on nothing but sigport's own files and the Python that runs it (the
    mapping tables in their typed form, tables derived from the Unicode data): the store's
    ``code_fingerprint`` covers both, so an entry is never read across versions; ``store`` is
    the caller's (None when the cache is off: ``--no-cache``, ``SIGPORT_NO_CACHE``)."""
    if store is None or not store.enabled:
        return build()
    key = store.key("prebuilt", name)
    found = store.get(key)
    if found is not None and valid(found):
        return found  # type: ignore[no-any-return]
    value = build()
    store.put(key, value)
    return value
