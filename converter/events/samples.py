"""Sample events: the JSON-lines events a rule is checked on, with their expected verdicts,
labels and per-schema extras (``SampleEvent``, ``read_jsonl``), read before ``EventRenderer``
(``converter.events.render``) writes them in each target's schema."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from converter.errors import EventsError

#: Key of the expected verdict in a JSON-lines event; it is not an event field.
EXPECT_KEY = "_expect"
#: Optional human label of a sample event; not an event field either.
NOTE_KEY = "_note"
#: Optional per-schema extra values the shipper writes beyond the Sigma fields, e.g.
#: ``{"ecs": {"event.type": ["start", "process_started"]}}``; merged into the rendered event.
RENDER_KEY = "_render"


@dataclass
class SampleEvent:
    """One event with its optional expected verdict and label."""

    fields: dict[str, Any]
    expect: bool | None = None
    note: str | None = None
    source: str = ""
    render: dict[str, dict[str, Any]] | None = None
    #: The event as given in a target schema (``--schema ecs``): used as is for that schema.
    native: dict[str, dict[str, Any]] | None = None


def read_jsonl(path: str | Path, limits: Any = None) -> list[SampleEvent]:
    """Read a JSON-lines events file (one JSON object per line; blank lines and ``#`` skipped).

    Lines are read through ``converter.events.bounded`` (a line over ``max_line_bytes`` is
    skipped with a warning in ``limits``; JSON that cannot be decoded is a positioned error).

    Raises:
        EventsError: naming the file, line and column of a line that is not a JSON object.
    """
    from converter.events.bounded import (
        InputLimits, decode_json, json_kind, read_lines, stripped_line,
    )

    path = Path(path)
    limits = limits if limits is not None else InputLimits()
    out = []
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise EventsError(f"cannot read events: {exc.strerror}", path=path) from exc
    with fh:
        for number, raw in read_lines(fh, str(path), limits):
            line = stripped_line(raw, number, path)  # a UTF-8 BOM on the first line only
            if not line or line.startswith(b"#"):
                continue
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise EventsError(f"events file is not UTF-8 ({exc.reason})", path=path,
                                  line=number) from exc
            obj = decode_json(line, str(path), number)
            if not isinstance(obj, dict):
                raise EventsError(
                    f"a line must hold a JSON object, not {json_kind(obj)}", path=path,
                    line=number,
                )
            expect = obj.pop(EXPECT_KEY, None)
            if expect is not None and not isinstance(expect, bool):
                raise EventsError(f"{EXPECT_KEY} must be true or false", path=path, line=number)
            note = obj.pop(NOTE_KEY, None)
            render = obj.pop(RENDER_KEY, None)
            if render is not None and not (
                isinstance(render, dict) and all(isinstance(v, dict) for v in render.values())
            ):
                raise EventsError(
                    f"{RENDER_KEY} must map a schema name to field values", path=path, line=number
                )
            out.append(SampleEvent(obj, expect, note, f"{path}:{number}", render))
    return out


def sample_events_path(rule_path: str | Path) -> Path:
    """Where a bundled rule's own sample events live: beside it, ``<rule>.events.jsonl``."""
    rule_path = Path(rule_path)
    return rule_path.with_name(rule_path.stem + ".events.jsonl")
