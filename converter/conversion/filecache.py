"""A batch conversion's per-file results in the persistent cache (``converter.conversion.cache``).

An entry is one input file's ``FileResult`` (its rules' summaries and conversions), keyed by the
file's path and text under the conversion's configuration (targets, pipelines, table options,
whether the other data sources were tried). This module needs neither pySigma nor the converters:
the parent of a batch reads every entry back before it builds anything, so a run whose every file
is cached builds no converter, starts no worker and imports no pySigma (``batch.convert_paths``).
"""

from __future__ import annotations

import hashlib
import io
from typing import Any, Sequence

from converter.conversion.cache import Store, options_context
from converter.conversion.meta import RuleSummary
from converter.conversion.result import Conversion

__all__ = ["FileResult", "WorkItem", "file_key", "is_file_result", "open_store", "read_back", "store_context"]

#: One input: (path, text) where text is None for a file read from disk.
WorkItem = tuple[str, "str | None"]
#: What a worker returns per file.
FileResult = tuple[list[RuleSummary], list[Conversion]]


def store_context(targets: Sequence[str], pipelines: Sequence[str] | None,
                  options: dict[str, Any] | None, alternatives: bool) -> list[str]:
    """The cache context of a conversion configuration (``Store``'s ``context``)."""
    return [*options_context(targets, pipelines or (), options), f"alternatives={alternatives}"]


def open_store(targets: Sequence[str], pipelines: Sequence[str] | None,
               options: dict[str, Any] | None, alternatives: bool) -> Store | None:
    """The store of per-file results for the configuration, or None (cache off or unusable)."""
    store = Store("convert", store_context(targets, pipelines, options, alternatives))
    return store if store.enabled else None


def file_key(path: str, text: str | None, store: Store) -> tuple[str, str] | None:
    """The cache key of one input (its path and content) and its text, read once here so that
    what is converted is what the key names; None when the file cannot be read or decoded here
    or is too long for the loader (the loader then reads it and reports why, nothing stored)."""
    from converter.rules.limits import MAX_RULE_CHARS

    if text is None:
        limit = 4 * MAX_RULE_CHARS  # UTF-8 bytes of the longest text the loader accepts
        try:
            with open(path, "rb") as handle:
                data = handle.read(limit + 1)
            if len(data) > limit:
                return None
            # As the loader's Path.read_text: UTF-8, universal newlines.
            text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8").read()
        except (OSError, UnicodeDecodeError):
            return None
        kind = "file"
    else:
        kind = "text"
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return store.key(path, kind, digest), text


def is_file_result(value: Any) -> bool:
    """Whether ``value`` (read from the cache) has the shape of a ``FileResult``."""
    return (isinstance(value, tuple) and len(value) == 2
            and isinstance(value[0], list) and all(isinstance(v, RuleSummary) for v in value[0])
            and isinstance(value[1], list) and all(isinstance(v, Conversion) for v in value[1]))


def read_back(path: str, text: str | None, store: Store) -> FileResult | None:
    """The results an earlier run stored for this input and configuration, or None."""
    entry = file_key(path, text, store)
    if entry is None:
        return None
    value = store.get(entry[0])
    return value if is_file_result(value) else None
