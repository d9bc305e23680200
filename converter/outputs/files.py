"""Writing output files safely: never through a symbolic link, always whole.

Every file sigport writes (queries, Kibana NDJSON, savedsearches.conf, ``--report``, Markdown) goes
through ``write_file`` or ``write_named_file``:

* **Atomic.** The text goes to a new temporary file in the destination's own directory, which is
  then renamed over the destination (``os.replace``): a reader, or a run killed at any moment,
  sees the old file or the new one, never a zero-byte or half-written one. A SIGINT or SIGTERM
  waits until the file is in place (``converter.signals.deferred``); a temporary file is removed
  again when the write fails. A regular file that already holds exactly the text is left as
  it is (a rerun over unchanged rules rewrites nothing: the file keeps its inode and times).
* **No symbolic links below the output directory.** The directory the user names (``-o DIR``)
  is taken as it is; every directory sigport opens or creates below it, and the file itself, is
  opened without following links (``O_NOFOLLOW`` relative to its parent's descriptor, so a link
  swapped in between two checks is not followed either). A link there is refused with a one-line
  error: ``out/eql/a.eql -> ../victim`` leaves the victim untouched, as does a linked
  ``out/eql``. Refusing (rather than replacing the link) keeps a planted link visible.
* **Devices stay devices.** A named output that exists and is not a regular file (``/dev/stdout``,
  a FIFO) is written in place: a rename would replace the device node.

Write errors (no space left, permission denied) are one-line ``OutputError``s naming the file.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path
from typing import Iterable

from converter.errors import ConverterError
from converter.rules.paths import read_regular_file
from converter.signals import deferred

#: Directory descriptors and no-follow opens relative to them (Linux, macOS, BSD).
_DIR_FD = os.open in os.supports_dir_fd and hasattr(os, "O_NOFOLLOW") and hasattr(os, "O_DIRECTORY")
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class OutputError(ConverterError):
    """An output file cannot be written (a symbolic link in the way, a write error)."""


def _link_error(path: Path) -> OutputError:
    return OutputError(
        "is a symbolic link; sigport never writes through one",
        path,
        hint="remove the link or choose another output directory",
    )


def _os_error(path: Path, exc: OSError) -> OutputError:
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        # A file where a directory of the path belongs (``-o out/`` with ``out`` a file): name
        # it, not the file that could not be written below it.
        blocker = _file_on_the_way(path)
        if blocker is not None:
            return OutputError("is not a directory, so nothing can be written below it", blocker,
                               hint="remove it, or choose another output directory")
    return OutputError(f"cannot write: {exc.strerror or exc}", path)


def _file_on_the_way(path: Path) -> Path | None:
    """The first directory of ``path`` (outermost first) that exists and is not one."""
    for parent in reversed(path.parents):
        if os.path.lexists(parent) and not os.path.isdir(parent):
            return parent
    return None


def write_file(root: Path, relative: Path, text: str) -> None:
    """Write ``text`` to ``root / relative`` atomically, creating the directories between.

    ``root`` may itself be a link (the user named it); no directory below it nor the file may be.

    Raises:
        OutputError: a symbolic link on the way, or the file cannot be written.
    """
    parts = relative.parts
    if not parts or any(p in ("", ".", "..") for p in parts) or relative.is_absolute():
        raise OutputError("is not a path inside the output directory", root / relative)
    try:
        root.mkdir(parents=True, exist_ok=True)
        if not _DIR_FD:
            _write_by_path(root, parts, text)
            return
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC)
        try:
            here = root
            for name in parts[:-1]:
                here = here / name
                parent, fd = fd, -1
                try:
                    fd = _enter(parent, name, here)
                finally:
                    os.close(parent)
            _replace(fd, parts[-1], text, root / relative)
        finally:
            if fd >= 0:
                os.close(fd)
    except OutputError:
        raise
    except OSError as exc:
        raise _os_error(root / relative, exc) from None


def refuse_named_link(path: Path) -> None:
    """Raise the error ``write_named_file`` would give if ``path`` is a symbolic link, without
    writing: for commands that write several files that only make sense together.

    Raises:
        OutputError: the path is a symbolic link.
    """
    if path.is_symlink():
        raise _link_error(path)


def refuse_inputs(outputs: Iterable[tuple[str, Path | str | None]],
                  inputs: Iterable[Path | str]) -> None:
    """Refuse an output file the user named that is one of the command's inputs.

    ``convert r.yml -o r.yml`` replaced the rule with its query, and ``check rules/ --events
    e.jsonl --markdown e.jsonl`` the events with the summary. Files are compared as the system
    sees them (device and inode), so another spelling of the path (``d/../r.yml``, a hard link)
    is the same file.

    Args:
        outputs: (option, path) of each output file named; None and ``-`` are skipped.
        inputs: the files the command reads (rule files, events files).

    Raises:
        OutputError: an output is an input, named with the option that names it.
    """
    named = [(option, Path(p)) for option, p in outputs if p is not None and str(p) != "-"]
    existing = [(option, p) for option, p in named if p.is_file()]
    if not existing:
        return
    read: set[tuple[int, int]] = set()
    for path in inputs:
        try:
            info = os.stat(path)
        except OSError:
            continue  # the command reports an input it cannot read
        read.add((info.st_dev, info.st_ino))
    for option, path in existing:
        info = os.stat(path)
        if (info.st_dev, info.st_ino) in read:
            raise OutputError(f"is also an input of this command: {option} would replace it",
                              path, hint="choose another output file")


def write_named_file(path: Path, text: str) -> None:
    """Write the file the user named (``-o FILE``, ``--report FILE``), atomically.

    A path that exists and is not a regular file (a device, a FIFO) is written in place; a
    symbolic link to a regular file is refused like any other link; otherwise the text replaces
    the file through a temporary file in its directory (created with its parents if missing).

    Raises:
        OutputError: the path is a symbolic link, or the file cannot be written.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise _os_error(path, exc) from None
    if info is not None and not stat.S_ISREG(info.st_mode) and not stat.S_ISDIR(info.st_mode):
        try:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            raise _os_error(path, exc) from None
        return
    write_file(path.parent, Path(path.name), text)


def _enter(parent: int, name: str, path: Path) -> int:
    """Open (creating if missing) the directory ``name`` under ``parent``, never through a link;
    returns the new descriptor."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC
    try:
        return os.open(name, flags, dir_fd=parent)
    except FileNotFoundError:
        try:
            os.mkdir(name, dir_fd=parent)
        except FileExistsError:
            pass  # made meanwhile (another run); opened below without following
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK) and _is_link(name, parent):
            raise _link_error(path) from None
        raise
    try:
        return os.open(name, flags, dir_fd=parent)
    except OSError:
        if _is_link(name, parent):  # a link swapped in after the mkdir
            raise _link_error(path) from None
        raise


def _is_link(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _replace(dir_fd: int, name: str, text: str, path: Path) -> None:
    """Write a temporary file in ``dir_fd`` and rename it over ``name`` (refused if a link)."""
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        info = None
    if info is not None and stat.S_ISLNK(info.st_mode):
        raise _link_error(path)
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise OutputError("is a directory", path)
    data = text.encode("utf-8")
    if info is not None and stat.S_ISREG(info.st_mode) and info.st_size == len(data) \
            and _holds(dir_fd, name, data):
        # Already this text (a run over unchanged rules): nothing to replace. Renaming a new
        # file over an existing one makes ext4 flush it (its replace-by-rename safeguard), about
        # 1-2 ms per file on this machine's disk: most of a warm run's wall time.
        return
    temp = f".{name}.{secrets.token_hex(6)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _CLOEXEC
    with deferred():  # a SIGINT/SIGTERM waits until the file is whole and in place
        handle = os.open(temp, flags, 0o666, dir_fd=dir_fd)
        try:
            try:
                _write_all(handle, data)
            finally:
                os.close(handle)
            os.replace(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            # A write error (no space left, ...): leave no temporary file behind.
            try:
                os.unlink(temp, dir_fd=dir_fd)
            except OSError:
                pass
            raise


def _holds(dir_fd: int, name: str, data: bytes) -> bool:
    """Whether the regular file ``name`` in ``dir_fd`` holds exactly ``data`` (opened without
    following a link; False when it cannot be read)."""
    return read_regular_file(name, os.O_NOFOLLOW, dir_fd=dir_fd, limit=len(data) + 1) == data


def _write_all(handle: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(handle, view)
        view = view[written:]


def _write_by_path(root: Path, parts: tuple[str, ...], text: str) -> None:
    """The same checks by path, where the OS has no directory descriptors (Windows)."""
    here = root
    for name in parts[:-1]:
        here = here / name
        if here.is_symlink():
            raise _link_error(here)
        here.mkdir(exist_ok=True)
    target = here / parts[-1]
    if target.is_symlink():
        raise _link_error(target)
    temp = here / f".{parts[-1]}.{secrets.token_hex(6)}.tmp"
    with deferred():
        try:
            with open(temp, "x", encoding="utf-8", newline="") as handle:
                handle.write(text)
            os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
