"""Bounded reading of event inputs: the caps, the line reader and the JSON decoder they share.

A hostile input must cost bounded memory and time whatever it expands to: ``read_lines`` never
holds more than ``InputLimits.max_line_bytes`` of one line and stops an archive member at
``max_member_bytes`` (both reported as warnings, never silent); ``decode_json`` turns every way
JSON can fail (malformed, an integer past Python's digit limit, nesting too deep) into an
``InputError`` naming the file and line.
"""

from __future__ import annotations

import io
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterator

from converter.errors import EventsError
from converter.strict_json import STRICT_JSON, StrictJSONError, json_problem

#: Read size when skipping through an over-long line.
_CHUNK = 1 << 16

#: Default cap on one line (or one JSON object) of an events input: real event records are a few
#: KB; a 1 GiB line in a 1 MB archive would otherwise be held in memory several times over.
MAX_LINE_BYTES = 16 << 20
#: Default cap on the decompressed bytes read from one archive member (a zip bomb's size).
MAX_MEMBER_BYTES = 4 << 30
#: How deeply an event's JSON may nest: every consumer (normalising, the evaluators, pickling for
#: worker processes) walks values recursively. Real records nest fewer than ten levels.
MAX_EVENT_DEPTH = 100
#: Warnings kept in full; beyond this they are only counted.
MAX_WARNINGS = 100


@dataclass
class InputLimits:
    """Caps on what one input may cost, and the warnings about what was skipped or unreadable.

    Attributes:
        max_line_bytes: a longer line (or JSON object) is skipped with a warning.
        max_member_bytes: decompressed bytes read from one archive member; the rest is skipped.
        warnings: one line each (file, member, line and the limit concerned).
        dropped: warnings counted but not kept (past ``MAX_WARNINGS``).
    """

    max_line_bytes: int = MAX_LINE_BYTES
    max_member_bytes: int = MAX_MEMBER_BYTES
    warnings: list[str] = field(default_factory=list)
    dropped: int = 0

    def warn(self, message: str) -> None:
        """Record one warning."""
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(message)
        else:
            self.dropped += 1

    def all_warnings(self) -> list[str]:
        """The warnings, with a last line counting the ones not kept."""
        if self.dropped:
            return [*self.warnings, f"... and {self.dropped} more warnings"]
        return list(self.warnings)



class InputError(EventsError):
    """An events input cannot be read: names the file, the archive member and the line.

    Args:
        message: what went wrong.
        path: the file concerned.
        line: 1-based line (record number for ``.evtx``), if known.
        column: 1-based column, if known.
        hint: what the user can do about it.
        member: the archive member, for archives.
    """

    def __init__(
        self,
        message: str,
        path: str | Path | None = None,
        line: int | None = None,
        column: int | None = None,
        hint: str | None = None,
        member: str | None = None,
    ) -> None:
        self.member = member
        super().__init__(message, path=path, line=line, column=column, hint=hint)

    def location(self) -> str:
        """``archive!member:line:column`` (or ``file:line:column``) with the parts known."""
        where = self.path
        if self.member is not None:
            where = f"{where or ''}!{self.member}"
        parts = [p for p in (where, self.line, self.column) if p is not None]
        return ":".join(str(p) for p in parts)



class CappedStream(io.RawIOBase):
    """A binary stream read up to ``cap`` bytes; what lies past it is skipped with a warning
    (``read_lines`` caps JSON lines itself; this caps the incremental JSON reader)."""

    def __init__(self, stream: IO[bytes], cap: int, where: str, limits: InputLimits) -> None:
        self._stream, self._cap, self._left = stream, cap, cap
        self._where, self._limits, self._warned = where, limits, False

    def readable(self) -> bool:
        """Always: a read-only stream."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Up to ``len(buffer)`` more bytes below the cap; 0 at the cap or the end."""
        if self._left <= 0:
            if not self._warned and self._stream.read(1):
                self._limits.warn(f"{self._where}: the rest skipped: more than {self._cap:,} "
                                  "bytes decompressed (max_member_bytes)")
            self._warned = True
            return 0
        data = self._stream.read(min(len(buffer), self._left))
        buffer[:len(data)] = data
        self._left -= len(data)
        return len(data)


def read_lines(
    fh: IO[bytes], where: str, limits: InputLimits, cap: int | None = None
) -> Iterator[tuple[int, bytes]]:
    """(line number, line) for each line of ``fh``, never holding more than ``max_line_bytes``.

    A longer line is read through in bounded pieces, skipped and reported; reading stops (with a
    warning) once ``cap`` bytes were read (an archive member's ``max_member_bytes``).
    """
    limit = limits.max_line_bytes
    total = number = 0
    while True:
        line = fh.readline(limit + 1)
        if not line:
            return
        number += 1
        total += len(line)
        if len(line) > limit and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n") and (cap is None or total <= cap):
                line = fh.readline(_CHUNK)
                total += len(line)
            limits.warn(f"{where}:{number}: line skipped: longer than {limit:,} bytes "
                        "(max_line_bytes)")
            continue
        if cap is not None and total > cap:
            limits.warn(f"{where}: the rest skipped from line {number}: more than {cap:,} bytes "
                        "decompressed (max_member_bytes)")
            return
        yield number, line


#: The UTF-8 encoding of U+FEFF, the byte order mark an editor may write at a file's start.
UTF8_BOM = b"\xef\xbb\xbf"


def stripped_line(line: bytes, number: int, path: str | Path, member: str | None = None) -> bytes:
    """A JSON-lines line without its surrounding white space and, on the first line only, the
    BOM that opens the file (RFC 8259 8.1 lets a parser ignore it there).

    Raises:
        InputError: a BOM opening any other line, or after white space: a byte-level defect of
            the input (files joined together, each with its BOM), named by line and column.
    """
    start = len(UTF8_BOM) if number == 1 and line.startswith(UTF8_BOM) else 0
    rest = line[start:]
    stripped = rest.strip()
    if stripped.startswith(UTF8_BOM):
        # Columns count characters: the first line's BOM is one, the white space one each.
        column = (1 if start else 0) + len(rest) - len(rest.lstrip()) + 1
        raise InputError("a UTF-8 byte order mark (EF BB BF) inside the file: only its first "
                         "bytes may hold one", path=path, line=number, column=column,
                         member=member, hint="remove it; files joined together keep each one's")
    return stripped


def json_kind(value: Any) -> str:
    """What a decoded JSON value is, in JSON's words (``an array``, ``null``), for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return "a string" if isinstance(value, str) else "a value"


def decode_json(data: bytes | str, path: str, line: int, member: str | None = None) -> Any:
    """``json.loads`` with every failure an ``InputError`` naming the file and line.

    Besides malformed JSON: an integer longer than Python converts (``ValueError``), nesting too
    deep for the decoder (``RecursionError``) or deeper than ``MAX_EVENT_DEPTH``, and what
    ``STRICT_JSON`` refuses (a key twice in one object, ``NaN``, ``Infinity``).
    """
    try:
        # UTF-8 only (json.loads would also take UTF-16/32 from the bytes, which check's reader
        # refuses: every reader must read the same events; RFC 8259 8.1). The line readers drop
        # the BOM that opens a file and refuse any other (``stripped_line``).
        text = data if isinstance(data, str) else _utf8(data)
        value = STRICT_JSON.decode(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {json_problem(exc)}", path=path, line=line + exc.lineno - 1,
                         column=exc.colno,
                         member=member, hint="expected one JSON object per line") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason})", path=path, line=line,
                         member=member) from None
    except (ValueError, RecursionError) as exc:
        raise decode_failure(exc, path, line, member) from None
    check_decoded(value, data, path, line, member)
    return value


def _utf8(data: bytes) -> str:
    """The UTF-8 text of ``data`` (a leading BOM dropped); UTF-16/32 raise UnicodeDecodeError.

    ``surrogatepass`` lets an encoded surrogate through to ``check_decoded``, which names it.
    """
    encoding = json.detect_encoding(data)
    if encoding not in ("utf-8", "utf-8-sig"):
        raise UnicodeDecodeError(encoding, data, 0, len(data), f"the bytes are {encoding.upper()}")
    return data.decode(encoding, "surrogatepass")


def decode_failure(exc: ValueError | RecursionError, path: str, line: int,
                   member: str | None = None) -> InputError:
    """The error for JSON that is well-formed but cannot be decoded: nesting too deep for the
    decoder (``RecursionError``), an integer longer than Python converts (``ValueError``)."""
    if isinstance(exc, RecursionError):
        return InputError("JSON nested too deeply to read", path=path, line=line, member=member,
                          hint=f"events may nest at most {MAX_EVENT_DEPTH} levels")
    if isinstance(exc, StrictJSONError):
        return InputError(str(exc), path=path, line=line, member=member,
                          hint=exc.hint or "Elasticsearch refuses such a document; fix the event")
    text = " ".join(str(exc).split())
    if "integer string conversion" in text:  # CPython's guard against quadratic conversion
        text = f"an integer longer than {sys.get_int_max_str_digits():,} digits"
    return InputError(f"unreadable JSON value: {text}", path=path, line=line, member=member,
                      hint="quote long numbers as strings")


def check_decoded(value: Any, data: bytes | str, path: str, line: int,
                  member: str | None = None) -> None:
    """Refuse a decoded JSON value sigport cannot evaluate faithfully (``InputError``): nesting
    past ``MAX_EVENT_DEPTH`` (``check_depth``), or a string holding a lone UTF-16 surrogate.

    JSON escapes are UTF-16 code units: ``"\\ud83d\\ude00"`` is one character, but a lone
    ``"\\ud800"`` decodes to a code point that is no character. No UTF-8 text (an index, a
    query, sigport's own output) can hold it, so it is refused with the line, not carried until
    printing fails. Only text with a ``\\u`` escape of the surrogate range is walked.
    """
    check_depth(value, data, path, line, member)
    collision = dotted_collision(value)
    if collision is not None:
        raise InputError(f"the field {collision!r} is written both with a dotted key and as a path "
                         "of objects: Elasticsearch indexes the two as one field holding both "
                         "values, while a reader of either spelling sees one", path=path,
                         line=line, member=member, hint="write each field one way")
    escape = _SURROGATE_ESCAPE if isinstance(data, str) else _SURROGATE_ESCAPE_BYTES
    if escape.search(data) is None:  # type: ignore[arg-type]
        return
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and (found := _SURROGATE.search(item)) is not None:
            raise InputError(f"a string holds the escape of a lone UTF-16 surrogate "
                             f"(U+{ord(found.group()):04X}), which is not a character: no "
                             "index, query or output can hold it", path=path, line=line,
                             member=member, hint="a surrogate escape must be half of a pair")


#: A JSON ``\u`` escape in the UTF-16 surrogate range (a pair is fine; which ones are lone is
#: decided on the decoded strings).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")
#: A code point of the surrogate range in a decoded string.
_SURROGATE = re.compile("[\ud800-\udfff]")


def dotted_collision(value: Any) -> str | None:
    """The first field path that ``value`` spells two ways, a key with dots and nested objects
    (``{"a": {"b": 1}, "a.b": 2}``, at any depth, through arrays), or None.

    Elasticsearch takes a dot in a key as an object path and indexes both spellings into one
    field holding both values; the reference and the interpreters read the dotted key alone
    (``field_names``: exact key first). Arrays of objects repeat one spelling, which is no
    collision. The paths are built only when some key holds a dot.
    """
    stack: list[Any] = [value]
    nested = (dict, list)
    while stack:  # any dotted key at all? (on every event read: loops, no generators)
        item = stack.pop()
        if isinstance(item, dict):
            try:  # one search of the keys joined: no key can make a "." with the next one
                dotted = "." in "\0".join(item)
            except TypeError:  # a key that is no text (a reader's dict, not JSON's)
                dotted = any("." in key for key in item)
            if dotted:
                break
            for v in item.values():
                if isinstance(v, nested):
                    stack.append(v)
        elif isinstance(item, list):
            for v in item:
                if isinstance(v, nested):
                    stack.append(v)
    else:
        return None
    return path_collision(value)


def path_collision(value: Any) -> str | None:
    """``dotted_collision`` by walking every leaf's path (no search for a dotted key first)."""
    spellings: dict[str, tuple[str, ...]] = {}
    paths: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while paths:
        node, keys = paths.pop()
        if isinstance(node, dict):
            paths.extend((v, (*keys, k)) for k, v in node.items())
        elif isinstance(node, list):
            paths.extend((v, keys) for v in node)
        elif keys:
            joined = ".".join(keys)
            if spellings.setdefault(joined, keys) != keys:
                return joined
    return None


def check_depth(value: Any, data: bytes | str, path: str, line: int,
                member: str | None = None) -> None:
    """Refuse a decoded value nesting deeper than ``MAX_EVENT_DEPTH`` (``InputError``).

    The walk runs only when the text holds enough brackets to nest that deep at all, so an
    ordinary event costs two ``count`` calls.
    """
    opens = (b"[", b"{") if isinstance(data, bytes) else ("[", "{")
    if data.count(opens[0]) + data.count(opens[1]) <= MAX_EVENT_DEPTH:  # type: ignore[arg-type]
        return
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_EVENT_DEPTH:
            raise InputError(f"the event nests more than {MAX_EVENT_DEPTH} levels deep",
                             path=path, line=line, member=member,
                             hint="MAX_EVENT_DEPTH in converter/events/inputs.py")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
