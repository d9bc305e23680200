"""Reading Elastic rules for ``sigport import elastic``: files, NDJSON lines, and their shapes.

Every input is accounted for: each TOML file and each NDJSON line becomes a rule or an ``error``
entry naming the file (and line) and why, so one malformed rule never stops a batch. A rule's
settings are checked against the shapes sigport reads (``malformed``) before anything uses them.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10 (dependency: tomli>=2)
    import tomli as tomllib  # type: ignore[no-redef]

from converter.strict_json import json_problem

VERIFIED = "verified"
IMPORTED = "imported"
NOT_IMPORTABLE = "not_importable"
ERROR = "error"
#: File suffixes read as Elastic rules when a directory is given, in any case (``.TOML`` too).
ELASTIC_SUFFIXES = (".toml", ".ndjson")


@dataclass
class ImportEntry:
    """One rule's report entry (``to_json`` gives the documented keys).

    ``group`` is a short name of the reason's kind, for counting; it is not part of the JSON.
    """

    source: str
    rule_id: str
    language: str
    status: str
    reason: str | None = None
    output: str | None = None
    group: str | None = None
    deprecated: bool = False
    name: str = ""

    def to_json(self) -> dict[str, Any]:
        """``{"source", "rule_id", "language", "status", "reason", "output"}``."""
        return {
            "source": self.source,
            "rule_id": self.rule_id,
            "language": self.language,
            "status": self.status,
            "reason": self.reason,
            "output": self.output,
        }



# --- reading --------------------------------------------------------------------------------------


@dataclass
class ElasticRule:
    """One Elastic rule as read: its settings (``[rule]`` or an NDJSON object) and metadata."""

    source: str
    rule: dict[str, Any]
    metadata: dict[str, Any]
    relative: Path
    #: The TOML file's ``[transform]`` table (investigation-guide queries), kept for re-export.
    transform: dict[str, Any] | None = None


def _iter_files(paths: Iterable[str | Path]) -> Iterator[tuple[Path, Path]]:
    """(file, path relative to the input root) for TOML and NDJSON files under ``paths``."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for file in sorted(path.rglob("*")):
                if file.suffix.lower() in ELASTIC_SUFFIXES and file.is_file():
                    yield file, file.relative_to(path)
        else:
            yield path, Path(path.name)


def read_rules(paths: Iterable[str | Path]) -> Iterator[ElasticRule | ImportEntry]:
    """Yield each rule found, or an ``error`` entry for a file that cannot be read."""
    for file, relative in _iter_files(paths):
        source = str(file)
        try:
            # utf-8-sig: a byte order mark (which Windows editors write) is no TOML or JSON.
            text = file.read_text(encoding="utf-8-sig")
        except OSError as exc:
            yield ImportEntry(source, "", "", ERROR, f"{source}: cannot read: {exc.strerror or exc}",
                              group="unreadable file")
            continue
        except UnicodeDecodeError as exc:
            yield ImportEntry(source, "", "", ERROR, f"{_undecoded(source, exc)}",
                              group="unreadable file")
            continue
        if file.suffix.lower() == ".ndjson":
            yield from _read_ndjson(source, text, relative)
            continue
        try:
            doc = tomllib.loads(text)
        except (tomllib.TOMLDecodeError, ValueError, RecursionError) as exc:
            # ValueError: an integer over Python's digit limit; RecursionError: deep nesting.
            yield ImportEntry(source, "", "", ERROR, _toml_error(source, exc), group="invalid TOML")
            continue
        rule, metadata = doc.get("rule"), doc.get("metadata") or {}
        if not isinstance(rule, dict):
            yield ImportEntry(
                source, "", "", ERROR, f"{source}: not a detection rule (no [rule] table)",
                group="not a detection rule",
            )
            continue
        if not isinstance(metadata, dict):
            yield _malformed_entry(source, rule, "metadata must be a table, not "
                                   f"{_kind(metadata)}")
            continue
        transform = doc.get("transform") or None
        yield ElasticRule(source, rule, dict(metadata), relative.with_suffix(".yml"),
                          transform if isinstance(transform, dict) else None)


def _no_constant(name: str) -> Any:
    """Refuse ``NaN`` / ``Infinity``, which Python's decoder reads and Kibana's ``JSON.parse``
    refuses: an export holding one is no rule Kibana wrote."""
    raise ValueError(f"{name} is not a JSON value")


def _read_ndjson(source: str, text: str, relative: Path) -> Iterator[ElasticRule | ImportEntry]:
    """Each line of a Kibana export: a rule, or an ``error`` entry saying why it is none.

    Only the export summary (``exported_count``) and exception lists and their items
    (``list_id``) are passed over: Kibana writes them into every export, and they are no rules.
    """
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            obj = json.loads(line, parse_constant=_no_constant)
        except json.JSONDecodeError as exc:
            yield ImportEntry(where, "", "", ERROR,
                              f"{where}:{exc.colno}: invalid JSON: {json_problem(exc)}",
                              group="invalid JSON")
            continue
        except (ValueError, RecursionError) as exc:  # huge integers, deep nesting
            yield ImportEntry(where, "", "", ERROR, f"{where}: invalid JSON: {_one_line(exc)}",
                              group="invalid JSON")
            continue
        if isinstance(obj, dict) and ("exported_count" in obj or "list_id" in obj):
            continue
        if not isinstance(obj, dict):
            yield ImportEntry(where, "", "", ERROR, f"{where}: a JSON {_kind(obj)} is not a rule "
                              "object", group="not a rule object")
            continue
        if obj.get("rule_id") in (None, ""):
            yield _malformed_entry(where, obj, "no rule_id: not a Kibana rule object")
            continue
        stem = slug(str(obj.get("name") or obj["rule_id"]))
        yield ElasticRule(where, obj, {}, relative.with_suffix("") / f"{stem}.yml")


# --- shapes -----------------------------------------------------------------------------------

#: The settings sigport reads, with the JSON/TOML shape each must have. Anything else is carried
#: as it is (under ``elastic:``) without being interpreted.
_TEXT = (str,)
_SHAPES: dict[str, tuple[type, ...]] = {
    "rule_id": (str, int), "name": _TEXT, "description": _TEXT, "query": _TEXT,
    "language": _TEXT, "type": _TEXT, "severity": _TEXT, "license": _TEXT, "note": _TEXT,
    "risk_score": (int, float), "author": (str, list), "tags": (list,), "references": (list,),
    "false_positives": (list,), "index": (list,), "threat": (list,),
}
_LISTS_OF_TEXT = ("tags", "references", "false_positives", "index", "author")


def _kind(value: Any) -> str:
    return {dict: "object", list: "list", str: "string", type(None): "null", bool: "boolean"}.get(
        type(value), "number")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


#: The position tomllib appends to its message (Python 3.11: "... (at line 1, column 6)").
_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def _toml_error(source: str, exc: BaseException) -> str:
    """``file:line:column: invalid TOML: problem`` where tomllib gives the position."""
    message = _one_line(exc)
    at = _TOML_AT.search(message)
    if at is None:
        return f"{source}: invalid TOML: {message}"
    return f"{source}:{at.group(1)}:{at.group(2)}: invalid TOML: {message[:at.start()]}"


def _undecoded(source: str, exc: UnicodeDecodeError) -> str:
    """``file:line:column: not UTF-8 text`` at the first byte that does not decode."""
    data, at = bytes(exc.object), exc.start
    line = data.count(b"\n", 0, at) + 1
    column = at - (data.rfind(b"\n", 0, at) + 1) + 1
    return (f"{source}:{line}:{column}: not UTF-8 text (byte 0x{data[at]:02x}); save the rule as "
            "UTF-8")


def malformed(rule: dict[str, Any]) -> str | None:
    """Why a rule's settings do not have the shape sigport reads, naming the setting, or None."""
    found = _non_finite(rule)
    if found is not None:
        # TOML's inf/nan literals and a JSON number beyond a double (1e999) read as floats no
        # Kibana rule holds; imported, they were written back as the non-JSON Infinity / NaN.
        path, number = found
        return f"{path} is {'NaN' if math.isnan(number) else 'infinity'}, not a finite number"
    for key, types in _SHAPES.items():
        value = rule.get(key)
        if value is not None and (not isinstance(value, types) or isinstance(value, bool)):
            return f"{key} must be a {' or '.join(dict.fromkeys(_kind(t()) for t in types))}, not {_kind(value)}"
    for key in _LISTS_OF_TEXT:
        value = rule.get(key)
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            return f"{key} must be a list of strings"
    for i, entry in enumerate(rule.get("threat") or []):
        where = f"threat[{i}]"
        if not isinstance(entry, dict):
            return f"{where} must be an object, not {_kind(entry)}"
        if not isinstance(entry.get("tactic") or {}, dict):
            return f"{where}.tactic must be an object"
        techniques = entry.get("technique") or []
        if not isinstance(techniques, list) or not all(isinstance(t, dict) for t in techniques):
            return f"{where}.technique must be a list of objects"
        for j, tech in enumerate(techniques):
            subs = tech.get("subtechnique") or []
            if not isinstance(subs, list) or not all(isinstance(s, dict) for s in subs):
                return f"{where}.technique[{j}].subtechnique must be a list of objects"
    return None


def _non_finite(value: Any, path: str = "") -> tuple[str, float] | None:
    """``(dotted path, value)`` of the first float in ``value`` that is not finite, or None."""
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:  # iterative: a hostile rule may nest deeply
        where, item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return where, item
        if isinstance(item, dict):
            stack.extend((f"{where}.{k}" if where else str(k), v) for k, v in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", v) for i, v in reversed(list(enumerate(item))))
    return None


def _malformed_entry(where: str, rule: dict[str, Any], why: str) -> ImportEntry:
    rule_id = rule.get("rule_id")
    return ImportEntry(where, rule_id if isinstance(rule_id, str) else "", "", ERROR,
                       f"{where}: malformed rule: {why}", group="malformed rule")



def slug(text: str) -> str:
    """A file-name stem from a rule name: lowercase letters, digits and underscores."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:80] or "rule"


