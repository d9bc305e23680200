"""A UTF-8 BOM is read only where a file starts; anywhere else it is a positioned error.

An editor may open a file with a byte order mark (RFC 8259 8.1 lets a parser ignore it there).
The JSON-lines readers (``check --events`` / ``backtest`` through ``iter_events``, a rule's own
``.events.jsonl`` through ``read_jsonl``) once dropped it at the start of any line, so files
joined together, each with its BOM, were read as if clean; such a BOM is now refused with
``<file>:<line>:<column>`` like the other reader errors.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from converter.events.inputs import InputError, iter_events
from converter.events.samples import read_jsonl

BOM = b"\xef\xbb\xbf"
ONE = json.dumps({"EventID": 1, "Channel": "Security"}).encode()
TWO = json.dumps({"EventID": 2, "Channel": "Security", "Note": "\ufeff inside a value"},
                 ensure_ascii=False).encode()


def read_both(path: Path) -> list[int]:
    """The event count each reader reads (the same, or an error)."""
    return [len(list(iter_events(path))), len(read_jsonl(path))]


@pytest.mark.parametrize(("content", "line", "column"), [
    (ONE + b"\n" + BOM + TWO + b"\n", 2, 1),        # files joined, each with its BOM
    (ONE + b"\n  " + BOM + TWO + b"\n", 2, 3),      # after white space
    (BOM + BOM + ONE + b"\n", 1, 2),                # a second BOM after the file's own
    (b" " + BOM + ONE + b"\n", 1, 2),               # not the file's first bytes
])
def test_a_bom_inside_the_file_is_refused_with_its_position(
    tmp_path: Path, content: bytes, line: int, column: int
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(content)
    for read in (lambda: list(iter_events(path)), lambda: read_jsonl(path)):
        with pytest.raises(InputError) as caught:
            read()
        message = str(caught.value)
        assert f"{path}:{line}:{column}" in message, message
        assert "byte order mark" in message, message


def test_the_files_own_bom_and_u_feff_inside_values_still_read(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(BOM + ONE + b"\n" + TWO + b"\n")
    assert read_both(path) == [2, 2]
    assert read_jsonl(path)[1].fields["Note"].startswith("\ufeff")


def test_an_archive_member_opens_with_its_own_bom(tmp_path: Path) -> None:
    """Each member is a file of its own: its first line may hold a BOM, its second may not."""
    path = tmp_path / "events.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.jsonl", BOM + ONE + b"\n" + TWO + b"\n")
        archive.writestr("b.jsonl", ONE + b"\n" + BOM + TWO + b"\n")
    path.write_bytes(buffer.getvalue())
    with pytest.raises(InputError) as caught:
        list(iter_events(path))
    message = str(caught.value)
    assert "b.jsonl" in message and ":2:1" in message, message
