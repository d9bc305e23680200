"""The user's Elasticsearch mapping (``--mapping FILE``) as the field model of a data source.

``convert`` and ``check`` read the same file the same way, so a query is emitted for the fields
the index really has and proven on the same fields: the pipeline moves case-insensitive matches
to the best lowercase-normalised keyword form the mapping offers (``FieldModel.caseless_form``),
and the KQL and Lucene interpreters lower the query with the same model.

A template (index or component) is one part of the indices' mapping, so it completes the data
source's built-in model (ECS types plus the shipper's multi-fields); an index mapping response
replaces it (``FieldModel.from_es_mapping``).
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

from converter.errors import PipelineError

#: The data source whose built-in model a template completes when none is chosen.
DEFAULT_SOURCE = "defend"
#: The data sources ``sigport mapping`` writes a template for: the base tables' and the companion
#: tables' that are no table's default (``auditd``, ``filestream``: the Linux audit log read by
#: the Auditd Logs or the Custom Logs integration); a data source without a built-in model reads
#: Defend's (``field_model_for``).
TEMPLATE_SOURCES = ("defend", "windows", "winlogbeat", "winlog", "auditd", "filestream")


def field_model_for(data_source: str | None, mapping: str | Path | None = None) -> Any:
    """The field model of ``data_source`` (default Defend), or of the user's ``mapping`` file.

    Raises:
        PipelineError: the file cannot be read, is not JSON, or is no usable mapping; the message
            names the file (and line and column for JSON syntax errors).
    """
    from backends.query.fields import BUILTIN_SOURCES, FieldModel

    source = data_source if data_source in BUILTIN_SOURCES else DEFAULT_SOURCE
    if mapping is None:
        return FieldModel.builtin(source)
    return _load(str(mapping), source, _stamp(str(mapping)))


def _stamp(path: str) -> tuple[int, ...] | None:
    """What tells one version of the file from another for the caches below: a file rewritten in
    place (another size, modification time, inode or status change) is read again; None when
    it cannot be looked at (``_read`` then reports why)."""
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)


@functools.lru_cache(maxsize=8)
def _read(path: str, stamp: tuple[int, ...] | None = None) -> Any:
    """The parsed JSON of a mapping file (``stamp``: its version, the cache key); every failure
    is a ``PipelineError`` naming it."""
    # Elasticsearch's decoder: a key twice in one object and NaN are refused, as ES refuses them.
    from converter.strict_json import STRICT_JSON, json_problem

    where = Path(path)
    try:
        obj = STRICT_JSON.decode(where.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PipelineError(f"cannot read mapping: {exc.strerror}", path=where) from exc
    except json.JSONDecodeError as exc:
        raise PipelineError(
            f"mapping is not valid JSON: {json_problem(exc)}", path=where, line=exc.lineno, column=exc.colno
        ) from exc
    except UnicodeDecodeError as exc:
        raise PipelineError(f"mapping is not UTF-8 ({exc.reason})", path=where) from exc
    except (ValueError, RecursionError) as exc:  # a huge integer, nesting too deep to decode
        raise PipelineError(
            f"mapping cannot be read: {' '.join(str(exc).split())[:200]}", path=where
        ) from exc
    return obj


@functools.lru_cache(maxsize=8)
def _load(path: str, source: str, stamp: tuple[int, ...] | None) -> Any:
    from backends.query.errors import QueryError
    from backends.query.fields import FieldModel

    where = Path(path)
    obj = _read(path, stamp)
    try:
        return FieldModel.from_es_mapping(obj, name=where.name, base=FieldModel.builtin(source))
    except (QueryError, RecursionError) as exc:
        raise PipelineError(f"unusable index mapping: {exc}", path=where) from exc


def mapping_is_template(mapping: str | Path) -> bool:
    """True when the mapping file is a template (one part of the indices' mapping), False for an
    index mapping.

    Raises:
        PipelineError: the file is unusable (as ``field_model_for``).
    """
    from backends.query.es_mapping import mapping_roots

    field_model_for(None, mapping)
    return all(root.partial for root in mapping_roots(_read(str(mapping), _stamp(str(mapping)))))


def mapping_option(options: dict[str, Any] | None) -> tuple[dict[str, Any] | None, str | None]:
    """Split the ``mapping`` entry (a file path) off pipeline options: the options for the mapping
    tables, and the path (or None)."""
    if not options or "mapping" not in options:
        return options, None
    rest = {k: v for k, v in options.items() if k != "mapping"}
    return rest or None, str(options["mapping"]) if options["mapping"] is not None else None
