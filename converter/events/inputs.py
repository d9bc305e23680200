"""Event inputs: read events in every supported format, streamed, and normalise them once.

Formats (``FORMATS``; ``detect_format`` picks one by suffix and a peek at the content):

* ``jsonl``: one JSON object per line (``.jsonl``, ``.ndjson``, and ``.json`` files whose first
  line is a whole object). Blank lines and ``#`` comment lines are skipped, as in
  ``converter.events.render.read_jsonl``.
* ``sigma-regression``: the SigmaHQ ``regression_data`` JSON, Windows XML rendered as
  ``Event.System`` / ``Event.EventData``; a file holds one object, several objects written one
  after another (not an array), or a top-level array. Read incrementally with
  ``json.JSONDecoder.raw_decode``, so memory is bounded by the largest object.
* ``evtx``: Windows event log files, parsed by the ``evtx`` package (imported only when needed),
  whose JSON has the same Event.System/EventData shape.
* ``archive``: ``.zip``, ``.tar.gz``/``.tgz``/``.tar`` archives of JSON-lines files (the OTRF
  Security-Datasets layout). Members are streamed line by line, never extracted; macOS
  ``__MACOSX/`` entries and ``._*`` AppleDouble files are skipped, as are members without a JSON
  suffix (``.json``, ``.jsonl``, ``.ndjson``). A gzip file that holds no tar (``.jsonl.gz``,
  ``.json.gz``, any ``.gz``) is one compressed events file: JSON lines, or the JSON of
  ``sigma-regression``, streamed and capped like a member.

Limits (``InputLimits``, configurable per call): a line (or one JSON object) longer than
``max_line_bytes`` is skipped without being held in memory, an archive member is read up to
``max_member_bytes`` (decompressed), and an event nesting deeper than ``MAX_EVENT_DEPTH``, a key
twice in one object or ``NaN`` / ``Infinity`` (``converter.strict_json.STRICT_JSON``) is an error; each skip, and input that reads as fewer events than it should (a truncated ``.evtx``),
is a one-line warning in ``InputLimits.warnings``. A JSON line is held once as bytes and once
decoded, so memory stays bounded by the line cap whatever a (compressed) input expands to.

``iter_raw`` yields ``(source, raw event)`` pairs, ``source`` being ``file:line`` (``file:N`` for
the N-th record of an ``.evtx`` file) or ``archive!member:line``; ``iter_events`` yields the
events normalised by ``converter.events.normalise.normalise``. A directory is walked recursively in
sorted order. Bad input raises ``InputError`` naming the file, the member and the line.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any, cast

from converter.events.bounded import (
    MAX_EVENT_DEPTH,
    MAX_LINE_BYTES,
    MAX_MEMBER_BYTES,
    InputError,
    InputLimits,
    check_decoded,
    CappedStream,
    decode_failure,
    decode_json,
    json_kind,
    read_lines,
    stripped_line,
)
from converter.events.normalise import normalise, normalise_owned
from converter.strict_json import STRICT_JSON, json_problem

__all__ = ["FORMATS", "MAX_EVENT_DEPTH", "MAX_LINE_BYTES", "MAX_MEMBER_BYTES", "InputError",
           "InputLimits", "decode_json", "detect_format", "events_files", "iter_events", "iter_raw", "normalise",
           "read_lines"]
#: The fixed parts of an .evtx file (the file header block, then 64 KiB chunks).
_EVTX_HEADER, _EVTX_CHUNK = 4096, 65536

FORMATS = ("jsonl", "sigma-regression", "evtx", "archive")

#: File suffixes read when walking a directory (``.json`` is decided by a peek at the content).
_SUFFIX_FORMATS: dict[str, str | None] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": None,
    ".evtx": "evtx",
    ".zip": "archive",
    ".tar.gz": "archive",
    ".tgz": "archive",
    ".tar": "archive",
    ".gz": "archive",
}
#: Archive members holding events (JSON lines).
_MEMBER_SUFFIXES = (".json", ".jsonl", ".ndjson")
#: How much of a file ``detect_format`` reads to decide.
_PEEK = 1 << 16
#: First read of the incremental JSON reader; it doubles while an object is incomplete.
_CHUNK = 1 << 16

# Raw event with its location: (path, archive member or None, line or record number).
_Located = tuple[str, "str | None", int, dict[str, Any]]


def _source(path: str, member: str | None, line: int) -> str:
    return f"{path}!{member}:{line}" if member is not None else f"{path}:{line}"


# ---------------------------------------------------------------------------------------------
# Public API


def detect_format(path: Path) -> str:
    """Tell the format of one events file from its suffix and, for JSON, its first bytes.

    ``.json`` is ``jsonl`` when its first non-blank line is a whole JSON object, else
    ``sigma-regression`` (pretty-printed or concatenated objects, or an array). A file with an
    unknown suffix is recognised by its magic bytes (evtx ``ElfFile``, zip, gzip) or JSON start.

    Raises:
        InputError: the path is missing or a directory, or the content fits no format.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError("a directory has no single format", path=path,
                         hint="iter_events walks it and detects each file")
    by_suffix = _SUFFIX_FORMATS.get(_suffix(path))
    if by_suffix is not None:
        return by_suffix
    try:
        with open(path, "rb") as fh:
            head = fh.read(_PEEK)
    except OSError as exc:
        raise InputError(f"cannot read events: {exc.strerror}", path=path) from exc
    if head.startswith(b"ElfFile\x00"):
        return "evtx"
    if head.startswith((b"PK\x03\x04", b"\x1f\x8b")):
        return "archive"
    return _json_format(head, path)


def iter_raw(
    path: str | Path, input_format: str | None = None, limits: InputLimits | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(source, raw event)`` for every event under ``path``, before normalisation.

    Args:
        path: an events file, or a directory (walked recursively, sorted).
        input_format: one of ``FORMATS`` to force for every file; None detects per file.
        limits: the caps to apply and where warnings go (default caps when None).

    Raises:
        InputError: a missing path, an unknown format, or bad content (with its location).
    """
    for file_path, member, line, raw in _iter_located(path, input_format, limits):
        yield _source(file_path, member, line), raw


def iter_events(
    path: str | Path, input_format: str | None = None, limits: InputLimits | None = None
) -> Iterator[dict[str, Any]]:
    """Yield every event under ``path`` normalised to flat Sigma/Sysmon names, in constant memory.

    Args:
        path: an events file, or a directory (walked recursively, sorted).
        input_format: one of ``FORMATS`` to force for every file; None detects per file.
        limits: as for ``iter_raw``.

    Raises:
        InputError: as ``iter_raw``, and for a record whose value has no Sigma representation.
    """
    for file_path, member, line, raw in _iter_located(path, input_format, limits):
        try:
            yield normalise_owned(raw)
        except ValueError as exc:
            raise InputError(f"cannot normalise event: {exc}", path=file_path, line=line,
                             member=member) from exc


def events_files(paths: Iterable[str | Path]) -> list[Path]:
    """The files ``iter_raw`` reads for ``paths``: each file named, and the events files under
    each directory (what ``iter_raw`` walks)."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        out.extend(_files(path) if path.is_dir() else [path])
    return out


# ---------------------------------------------------------------------------------------------
# Files and formats


def _suffix(path: Path | PurePosixPath) -> str:
    name = path.name.lower()
    if name.endswith(".tar.gz"):
        return ".tar.gz"
    return path.suffix.lower()


def _skipped(name: str) -> bool:
    """macOS archive debris: ``__MACOSX/`` folders and ``._*`` AppleDouble files."""
    parts = PurePosixPath(name).parts
    return "__MACOSX" in parts or (bool(parts) and parts[-1].startswith("._"))


def _files(path: Path) -> Iterable[Path]:
    """The events files under a directory: known suffixes, sorted, hidden entries skipped."""
    for found in sorted(path.rglob("*")):
        relative = found.relative_to(path).parts
        if any(part.startswith(".") or part == "__MACOSX" for part in relative):
            continue
        if found.is_file() and _suffix(found) in _SUFFIX_FORMATS:
            yield found


def _iter_located(
    path: str | Path, input_format: str | None, limits: InputLimits | None
) -> Iterator[_Located]:
    limits = limits if limits is not None else InputLimits()
    if input_format is not None and input_format not in FORMATS:
        raise InputError(f"unknown input format {input_format!r}", path=path,
                         hint=f"known: {', '.join(FORMATS)}")
    path = Path(path)
    if path.is_dir():
        for file_path in _files(path):
            yield from _iter_file(file_path, input_format or detect_format(file_path), limits)
    elif path.is_file():
        yield from _iter_file(path, input_format or detect_format(path), limits)
    else:
        raise InputError("no such events file or directory", path=path)


def _iter_file(path: Path, fmt: str, limits: InputLimits) -> Iterator[_Located]:
    name = str(path)
    if fmt == "evtx":
        yield from _read_evtx(path, limits)
        return
    if fmt == "archive":
        yield from _read_archive(path, limits)
        return
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise InputError(f"cannot read events: {exc.strerror}", path=path) from exc
    with fh:
        if fmt == "jsonl":
            for line, raw in _read_jsonl(fh, name, None, limits):
                yield name, None, line, raw
        else:
            for line, raw in _read_json_values(fh, name, limits):
                yield name, None, line, raw


def _json_format(head: bytes, path: Path) -> str:
    """``jsonl`` or ``sigma-regression`` from the first bytes of a JSON file."""
    text = head.decode("utf-8-sig", errors="replace")
    stripped = text.lstrip()
    if not stripped or stripped.startswith("#"):
        return "jsonl"
    if stripped.startswith("["):
        return "sigma-regression"
    if stripped.startswith("{"):
        first = stripped.split("\n", 1)[0]
        try:
            whole = isinstance(json.loads(first), dict)
        except json.JSONDecodeError:
            whole = False
        # A first line too long for the peek, or a pretty-printed object, goes to the
        # incremental reader, which also reads JSON lines correctly.
        return "jsonl" if whole else "sigma-regression"
    raise InputError("cannot tell the events format", path=path,
                     hint=f"expected JSON, .evtx or an archive; force one of: {', '.join(FORMATS)}")


# ---------------------------------------------------------------------------------------------
# Readers


def _read_jsonl(
    fh: IO[bytes], path: str, member: str | None, limits: InputLimits, cap: int | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each JSON-lines line; reads one bounded line at a time."""
    where = f"{path}!{member}" if member is not None else path
    for number, line in read_lines(fh, where, limits, cap):
        stripped = stripped_line(line, number, path, member)
        if not stripped or stripped.startswith(b"#"):
            continue
        obj = decode_json(stripped, path, number, member)
        if not isinstance(obj, dict):
            raise InputError(f"a line must hold a JSON object, not {json_kind(obj)}",
                             path=path, line=number, member=member)
        yield number, obj


def _read_json_values(
    fh: IO[bytes], path: str, limits: InputLimits
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, object) for JSON objects written one after another, or inside one top-level array.

    The buffer holds at most the object being decoded plus one read: after a failed decode more
    text is read (doubling the read size, so a large object costs O(n) reads) until the object
    is complete or the file ends, when the decoder's error is reported with its line and column.
    """
    decoder = STRICT_JSON
    reader = _text_reader(fh, path)
    buf, pos, base_line, eof, size = "", 0, 1, False, _CHUNK
    in_array = started = False
    while True:
        while pos < len(buf) and (buf[pos].isspace() or (in_array and buf[pos] == ",")):
            pos += 1
        if pos >= len(buf):
            if eof:
                break
            base_line += buf.count("\n", 0, pos)
            buf, pos = reader(size), 0
            eof = buf == ""
            continue
        char = buf[pos]
        if not started and char == "[":
            in_array, started, pos = True, True, pos + 1
            continue
        if in_array and char == "]":
            in_array, pos = False, pos + 1
            continue
        try:
            obj, end = decoder.raw_decode(buf, pos)
        except json.JSONDecodeError as exc:
            if not eof:
                if len(buf) - pos > limits.max_line_bytes:
                    line = base_line + buf.count("\n", 0, pos)
                    raise InputError(f"a JSON value longer than {limits.max_line_bytes:,} "
                                     "characters (max_line_bytes)", path=path, line=line) from None
                more = reader(size)
                eof = more == ""
                buf, size = buf + more, size * 2
                continue
            line = base_line + buf.count("\n", 0, exc.pos)
            column = exc.pos - buf.rfind("\n", 0, exc.pos)
            raise InputError(f"not valid JSON: {json_problem(exc)}", path=path, line=line, column=column,
                             hint="expected JSON objects (one after another) or an array of "
                             "them") from None
        except (ValueError, RecursionError) as exc:  # a huge integer, deep nesting
            raise decode_failure(exc, path, base_line + buf.count("\n", 0, pos)) from None
        started = True
        line = base_line + buf.count("\n", 0, pos)
        check_decoded(obj, buf[pos:end], path, line)
        if not isinstance(obj, dict):
            raise InputError(f"expected a JSON object, not {type(obj).__name__}", path=path,
                             line=line)
        yield line, obj
        # Drop what is decoded so the buffer never grows beyond the current object.
        base_line = line + buf.count("\n", pos, end)
        buf, pos, size = buf[end:], 0, _CHUNK


def _text_reader(fh: IO[bytes], path: str) -> Any:
    """A ``read(n) -> str`` over a binary file (UTF-8, optional BOM), errors as InputError."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8-sig")()

    def read(size: int) -> str:
        data = fh.read(size)
        try:
            return decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            raise InputError(f"not UTF-8 text ({exc.reason})", path=path) from exc

    return read


def _read_evtx(path: Path, limits: InputLimits) -> Iterator[_Located]:
    """(path, None, record number, record JSON) for each record of a Windows .evtx file.

    The parser stops quietly at a truncated chunk, so the file's size is checked against its
    layout (a 4 KiB header, then whole 64 KiB chunks): a file that does not fit gets a warning
    instead of passing as a shorter (or empty) log.
    """
    _evtx_layout(path, limits)
    try:
        from evtx import PyEvtxParser
    except ImportError as exc:
        raise InputError("reading .evtx files needs the 'evtx' package", path=path,
                         hint="pip install 'evtx>=0.14,<1'") from exc
    name = str(path)
    try:
        records = iter(PyEvtxParser(name).records_json())
    except (OSError, RuntimeError) as exc:
        raise InputError(f"not a readable .evtx file: {exc}", path=path) from exc
    number = 0
    while True:
        try:
            record = next(records)
        except StopIteration:
            return
        except (OSError, RuntimeError) as exc:
            # A damaged record: say which one followed the last good record.
            raise InputError(f"cannot read record: {exc}", path=path, line=number + 1) from exc
        if record is None:  # the iterator's declared type allows it; it ends with StopIteration
            return
        number += 1
        yield name, None, number, decode_json(record["data"], name, number)


def _evtx_layout(path: Path, limits: InputLimits) -> None:
    """Warn when an .evtx file's size is not a header plus whole chunks (a truncated file)."""
    try:
        size = path.stat().st_size
    except OSError:
        return  # the parser reports the unreadable file
    if size < _EVTX_HEADER or (size - _EVTX_HEADER) % _EVTX_CHUNK:
        limits.warn(f"{path}: truncated .evtx file: {size:,} bytes is not a {_EVTX_HEADER:,}-byte "
                    f"header plus whole {_EVTX_CHUNK:,}-byte chunks; records past the cut are "
                    "missing")


def _read_archive(path: Path, limits: InputLimits) -> Iterator[_Located]:
    """Every JSON-lines member of a zip or tar archive, streamed (or the events of a gzip file
    that holds no tar)."""
    name = str(path)
    if _plain_gzip(path):
        yield from _read_gzip(path, limits)
        return
    if zipfile.is_zipfile(path):
        try:
            zipped = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise InputError(f"not a readable zip archive: {exc}", path=path) from exc
        with zipped:
            for info in zipped.infolist():
                if info.is_dir() or not _wanted_member(info.filename):
                    continue
                try:
                    # ZipExtFile.readline is pure Python; a C BufferedReader over it reads
                    # lines about twice as fast, still one buffer at a time.
                    member_file = zipped.open(info)
                    # typeshed wants a raw stream here; a ZipExtFile has the readinto it uses.
                    with io.BufferedReader(member_file, _CHUNK) as fh:  # type: ignore[type-var]
                        for line, raw in _read_jsonl(fh, name, info.filename, limits,
                                                     limits.max_member_bytes):
                            yield name, info.filename, line, raw
                except (zipfile.BadZipFile, OSError, EOFError) as exc:
                    raise InputError(f"damaged archive member: {exc}", path=path,
                                     member=info.filename) from exc
        return
    member = None
    try:
        # "r|*": a forward-only stream (any compression), so nothing is seeked or extracted.
        with tarfile.open(path, mode="r|*") as archive:
            for entry in archive:
                member = entry.name
                if not entry.isfile() or not _wanted_member(entry.name):
                    continue
                extracted = archive.extractfile(entry)
                if extracted is None:
                    continue
                with extracted:
                    for line, raw in _read_jsonl(extracted, name, entry.name, limits,
                                                 limits.max_member_bytes):
                        yield name, entry.name, line, raw
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise InputError(f"not a readable zip or tar archive: {exc}", path=path,
                         member=member) from exc


#: Where a tar header holds its magic (``ustar``, POSIX and GNU alike) and how long the header is.
_TAR_MAGIC_AT, _TAR_HEADER = 257, 512


def _plain_gzip(path: Path) -> bool:
    """Whether ``path`` is gzip-compressed and its content no tar archive."""
    try:
        with open(path, "rb") as raw:
            if raw.read(2) != b"\x1f\x8b":
                return False
        with gzip.open(path, "rb") as unzipped:
            head = unzipped.read(_TAR_HEADER)
    except (OSError, EOFError, zlib.error):
        return False  # the tar reader reports the damage
    return head[_TAR_MAGIC_AT:_TAR_MAGIC_AT + 5] != b"ustar"


def _read_gzip(path: Path, limits: InputLimits) -> Iterator[_Located]:
    """The events of one gzip-compressed events file (not a tar), streamed: JSON lines, or the
    JSON objects / array of ``sigma-regression``, told apart by the first decompressed bytes."""
    name = str(path)
    try:
        with gzip.open(path, "rb") as unzipped:
            head = unzipped.read(_PEEK)
        fmt = _json_format(head, path)
        with gzip.open(path, "rb") as gzipped:
            stream = cast(IO[bytes], gzipped)  # typeshed's GzipFile is no IO[bytes]
            if fmt == "jsonl":
                for line, raw in _read_jsonl(stream, name, None, limits, limits.max_member_bytes):
                    yield name, None, line, raw
                return
            capped = io.BufferedReader(CappedStream(stream, limits.max_member_bytes, name, limits))
            for line, raw in _read_json_values(capped, name, limits):
                yield name, None, line, raw
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"not a readable gzip file: {exc}", path=path) from exc


def _wanted_member(name: str) -> bool:
    return not _skipped(name) and name.lower().endswith(_MEMBER_SUFFIXES)
