"""Loading the mapping tables: YAML to the typed form of ``converter.mapping.table``, validated.

A table's errors are ``PipelineError`` naming the file (and the line and column of a YAML error)
and the entry (``logsources[3]: field X: …``), so a user's own table gets a one-line error, never
a traceback. The built-in tables are cached once loaded: every command reads them.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from converter.errors import PipelineError
from converter.mapping.function_checks import (
    check_by,
    check_exact_only_when,
    check_ipv6_text,
    check_rewrites,
    check_trimmed,
    check_unlisted,
    check_value_columns,
    check_value_map,
)
from converter.mapping.table import (
    DERIVED_SEPARATORS,
    EVENT_DATA_PLACEHOLDER,
    FIELD_FUNCTIONS,
    LINE_ENDINGS,
    Derived,
    LogsourceMapping,
    MappingTable,
    Variant,
    resolve_source,
)


def _validate(raw: Any, path: str) -> MappingTable:
    """Check the table's shape and build the typed form; errors name the file and the entry."""
    if not isinstance(raw, dict):
        raise PipelineError("mapping table must be a YAML mapping", path=path)
    for key in ("name", "schema", "logsources"):
        if key not in raw:
            raise PipelineError(f"mapping table lacks the {key!r} key", path=path)
    logsources = []
    for i, entry in enumerate(raw["logsources"]):
        where = f"logsources[{i}]"
        if not isinstance(entry, dict) or "match" not in entry or "id" not in entry:
            raise PipelineError(f"{where} needs 'id' and 'match'", path=path)
        derived = _derived(entry.get("derived") or [], where, path)
        render_derived = _derived(entry.get("render_derived") or [], where, path, query=False)
        fields = entry.get("fields") or {}
        for name, spec in fields.items():
            variants = spec.values() if isinstance(spec, dict) and "function" not in spec and "to" not in spec else [spec]
            for variant in variants:
                if isinstance(variant, dict) and variant.get("function") not in FIELD_FUNCTIONS:
                    raise PipelineError(
                        f"{where}: field {name}: unknown function {variant.get('function')!r}",
                        path=path,
                    )
                if isinstance(variant, dict) and variant.get("function") == "value_map":
                    check_value_map(variant.get("values"), f"{where}: field {name}", path)
                    check_unlisted(variant, f"{where}: field {name}", path)
                if isinstance(variant, dict) and variant.get("function") == "value_columns":
                    check_value_columns(variant, f"{where}: field {name}", path)
                if isinstance(variant, dict) and variant.get("function") == "rewritten_values":
                    check_rewrites(variant.get("rewrites"), f"{where}: field {name}", path)
                if isinstance(variant, dict) and variant.get("by") is not None:
                    check_by(variant, f"{where}: field {name}", path)
                if isinstance(variant, dict) and variant.get("trimmed") is not None:
                    check_trimmed(variant, f"{where}: field {name}", path)
                if isinstance(variant, dict) and variant.get("function") == "to_ip":
                    check_ipv6_text(variant, f"{where}: field {name}", path)
        logsources.append(
            LogsourceMapping(
                id=entry["id"],
                match=dict(entry["match"]),
                exact=bool(entry.get("exact", False)),
                conditions=dict(entry.get("conditions") or {}),
                events=tuple(entry.get("events") or ()),
                render=dict(entry.get("render") or {}),
                fields=dict(fields),
                derived=tuple(derived),
                eql_category=entry.get("eql_category"),
                state=dict(entry.get("state") or {}),
                field_prefix=entry.get("field_prefix", ""),
                unmapped=dict(entry.get("unmapped") or {}),
                render_by_source=dict(entry.get("render_by_source") or {}),
                event_render=tuple(entry.get("event_render") or ()),
                render_derived=tuple(render_derived),
                conditions_cased=bool(entry.get("conditions_cased", True)),
                unrecorded=_unrecorded(entry, where, path),
                event_data=_event_data(entry.get("event_data"), where, path),
                shared_rows_fields=tuple((entry.get("shared_rows") or {}).get("fields") or ()),
                shared_rows_reason=str((entry.get("shared_rows") or {}).get("reason") or ""),
                exact_only_when=tuple(check_exact_only_when(entry.get("exact_only_when"), where, path)),
                index=_index(entry.get("index"), where, path),
                value_encoding=_value_encoding(entry.get("value_encoding"), where, path),
                text_field=entry.get("text_field"),
                sources=tuple(entry.get("sources") or ()),
                variants=tuple(
                    Variant(
                        id=v["id"],
                        conditions=dict(v.get("conditions") or {}),
                        events=tuple(v.get("events") or ()),
                        render=dict(v.get("render") or {}),
                        fields=dict(v.get("fields") or {}),
                    )
                    for v in entry.get("variants") or []
                ),
            )
        )
    not_with = ((raw.get("options") or {}).get("data_source") or {}).get("not_with")
    if not_with is not None and not (isinstance(not_with, dict) and all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in not_with.items())):
        raise PipelineError("options.data_source.not_with must map a data source to a reason",
                            path=path)
    for source, facts in (raw.get("sources") or {}).items():
        rewrite = (facts or {}).get("line_endings") if isinstance(facts, dict) else None
        if rewrite is not None and rewrite not in LINE_ENDINGS:
            raise PipelineError(
                f"sources.{source}: line_endings must be one of {', '.join(LINE_ENDINGS)}",
                path=path,
            )
    return MappingTable(
        name=raw["name"],
        schema=raw["schema"],
        description=raw.get("description", ""),
        docs=tuple(raw.get("docs") or ()),
        options=dict(raw.get("options") or {}),
        logsources=tuple(logsources),
        path=path,
        source_aliases=dict(raw.get("source_aliases") or {}),
        sources=dict(raw.get("sources") or {}),
        datamodel=dict(raw.get("datamodel") or {}),
        extends=raw.get("extends"),
        not_covered=tuple(
            {"match": dict(item["match"]), "reason": str(item.get("reason", "")),
             "exact": bool(item.get("exact", False))}
            for item in raw.get("not_covered") or []
        ),
    )


def _event_data(spec: Any, where: str, path: str) -> dict[str, str | None]:
    """``event_data``: one prefix (or template) for every source, or ``{source: prefix or
    null}``. A template holds ``{name}`` exactly once and no other brace."""
    if spec is None:
        return {}
    if isinstance(spec, str):
        out: dict[str, str | None] = {"*": spec}
    elif isinstance(spec, dict) and all(v is None or isinstance(v, str) for v in spec.values()):
        out = {str(k): v for k, v in spec.items()}
    else:
        raise PipelineError(
            f"{where}: event_data must be a prefix or {{source: prefix}}", path=path
        )
    for value in out.values():
        if value is None or ("{" not in value and "}" not in value):
            continue
        rest = value.replace(EVENT_DATA_PLACEHOLDER, "", 1)
        if EVENT_DATA_PLACEHOLDER not in value or "{" in rest or "}" in rest:
            raise PipelineError(
                f"{where}: event_data template {value!r} must hold {EVENT_DATA_PLACEHOLDER} "
                "once and no other brace",
                path=path,
            )
    return out


def _unrecorded(entry: dict[str, Any], where: str, path: str) -> dict[str, tuple[str, ...]]:
    """``unrecorded: {data source: [Sigma fields]}``: each field has a reason in ``unmapped`` and
    no target in that source (a field the source records cannot be evaluated as missing)."""
    raw = entry.get("unrecorded") or {}
    if not isinstance(raw, dict):
        raise PipelineError(f"{where}: `unrecorded` maps data sources to field lists", path=path)
    reasons = entry.get("unmapped") or {}
    out: dict[str, tuple[str, ...]] = {}
    for source, names in raw.items():
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise PipelineError(f"{where}: unrecorded.{source} must be a list of fields", path=path)
        for name in names:
            spec = (entry.get("fields") or {}).get(name)
            target = None if spec is None else resolve_source(spec, source)
            if name not in reasons or target is not None:
                raise PipelineError(
                    f"{where}: unrecorded field {name} of {source} needs a reason under "
                    f"`unmapped` and no target (null) for {source}",
                    path=path,
                )
        out[str(source)] = tuple(names)
    return out


#: The ``value_encoding`` a table may declare (see README.md "Splunk: values keep XML entities").
VALUE_ENCODINGS = ("xml_text", "xml_text_unknown")


def _value_encoding(value: Any, where: str, path: Path | str) -> str | None:
    """A logsource entry's own ``value_encoding``, checked against ``VALUE_ENCODINGS``."""
    if value is None:
        return None
    if value not in VALUE_ENCODINGS:
        raise PipelineError(f"{where}: value_encoding must be one of {', '.join(VALUE_ENCODINGS)}"
                            f", not {value!r}", path=path)
    return str(value)


def _index(raw: Any, where: str, path: str) -> dict[str, tuple[str, ...]]:
    """An entry's ``index``: data source -> list of index patterns."""
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(
        isinstance(v, list) and v and all(isinstance(p, str) and p for p in v)
        for v in raw.values()
    ):
        raise PipelineError(f"{where}: `index` must map a data source to index patterns", path=path)
    return {str(k): tuple(v) for k, v in raw.items()}


def _derived(
    entries: list[dict[str, Any]], where: str, path: str, query: bool = True
) -> tuple[Derived, ...]:
    out = []
    for d in entries:
        if d.get("function") not in FIELD_FUNCTIONS:
            raise PipelineError(
                f"{where}: unknown derived function {d.get('function')!r}",
                path=path,
                hint=f"known: {', '.join(sorted(FIELD_FUNCTIONS))}",
            )
        if query and d.get("query", True) and d.get("function") not in DERIVED_SEPARATORS:
            # A queried derivation rewrites `endswith '<separator><name>'` tests: only the two
            # base-name functions say what the separator is.
            raise PipelineError(
                f"{where}: derived function {d.get('function')!r} has no query form",
                path=path,
                hint="use render_derived, or `query: false`; queried: "
                + ", ".join(sorted(DERIVED_SEPARATORS)),
            )
        sources = d.get("sources") or []
        if not isinstance(sources, list) or not all(isinstance(x, str) for x in sources):
            raise PipelineError(f"{where}: derived `sources` must be a list of data sources", path=path)
        out.append(
            Derived(
                d["from"], d["to"], d["function"], query and d.get("query", True), tuple(sources)
            )
        )
    return tuple(out)


def builtin_table_names() -> list[str]:
    """Names of the mapping tables shipped with sigport."""
    folder = resources.files("converter.mapping") / "tables"
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".yml"))


def _parse_yaml(text: str) -> Any:
    """``yaml.safe_load`` with libyaml's parser when available (the ecs-windows table took
    0.15 s to parse in pure Python, at the start of every command); on an error, the pure
    Python parse again, so the message and position are the ones it gives."""
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return yaml.load(text, Loader=fast)
        except yaml.YAMLError:
            pass
    return yaml.safe_load(text)


@lru_cache(maxsize=None)
def companion_tables(name: str) -> tuple[str, ...]:
    """Built-in tables that extend ``name`` (``extends: name``), by name: their logsources join
    the pipeline and the renderer of every target whose table is ``name``, each with its own
    data sources (a ``--data-source`` value it does not list leaves it at its default)."""
    return tuple(
        other for other in builtin_table_names()
        if other != name and load_table(other).extends == name
    )


def offered_by_companion(name: str, data_source: str | None) -> bool:
    """True when ``data_source`` is no value the built-in table ``name`` offers and a table that
    extends it takes that data source over (``options.data_source.takes_over``: ``winlog``,
    Custom Windows Event Logs, in ``ecs-windows-channels``).

    The user then said how their records of the base table's product arrive, and it is none of
    the base table's shippers: its logsources map nothing (the pipeline refuses them naming
    that data source, and the renderer renders none of their events). Converting them for the
    base table's default instead gave Elastic Defend registry queries, checked on the raw Sysmon
    records the companion's channel entry rendered. A data source of another product (``okta``
    for ``ecs-okta``) takes nothing over: the Windows rules stay at their table's default.
    """
    if data_source is None or name.endswith((".yml", ".yaml")) or "/" in name:
        return False
    if data_source in (load_table(name).options.get("data_source", {}).get("choices") or []):
        return False
    return any(
        data_source in (load_table(other).options.get("data_source", {}).get("takes_over") or [])
        for other in companion_tables(name)
    )


def left_out_on(name: str, data_source: str | None) -> str | None:
    """Why the companion table ``name`` does not apply beside its base table's data source
    ``data_source`` (``options.data_source.not_with``: {base data source: reason}), else None.

    A companion not listing the data source in force is built for its own default; where that
    default names records the chosen data source's engine does not hold (Sentinel's WindowsEvent
    table beside Defender XDR advanced hunting), its entries would select rules and convert them
    for another data source than the one the user chose. Its logsources are then refused with
    the reason instead."""
    if data_source is None:
        return None
    table = load_table(name)
    if data_source in (table.options.get("data_source", {}).get("choices") or []):
        return None
    reason = (table.options.get("data_source", {}).get("not_with") or {}).get(data_source)
    return None if reason is None else str(reason)


def declared_data_sources() -> list[str]:
    """Every data source a built-in table with logsource entries declares
    (``options.data_source.choices``): each base table's (``extends`` none), then those of the
    tables that extend it, by name; a table of ``not_covered`` refusals only (``none``) adds
    nothing. A new table's data source is a ``--data-source`` value with no CLI edit."""
    out: dict[str, None] = {}
    names = builtin_table_names()
    bases = [n for n in names if load_table(n).extends is None]
    for base in bases:
        for name in (base, *companion_tables(base)):
            table = load_table(name)
            if table.logsources:
                out.update(dict.fromkeys(
                    str(c) for c in table.options.get("data_source", {}).get("choices") or []))
    return list(out)


#: Built-in tables given by ``use_tables`` (read back whole from the persistent cache), by name.
_PREBUILT: dict[str, MappingTable] = {}


def builtin_tables() -> dict[str, MappingTable]:
    """Every built-in table by name, loaded as ``load_table`` loads it."""
    return {name: load_table(name) for name in builtin_table_names()}


def use_tables(tables: dict[str, MappingTable]) -> None:
    """Answer ``load_table`` for these built-in tables' names with them from now on.

    For tables an earlier run loaded, which a caller above this package read back from the
    persistent cache (``converter.backtesting.run.use_prebuilt_tables``): that cache's
    fingerprint covers every table file and this code, so they are what loading gives. The
    mapping package itself knows no cache."""
    _PREBUILT.update(tables)


@lru_cache(maxsize=None)
def load_table(name: str) -> MappingTable:
    """Load a built-in mapping table by name (``ecs-windows``) or a table file by path."""
    found = _PREBUILT.get(name)
    if found is not None:
        return found
    if name.endswith((".yml", ".yaml")) or "/" in name:
        path = Path(name)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PipelineError(f"cannot read mapping table: {exc.strerror}", path=path) from exc
        except UnicodeDecodeError as exc:
            raise PipelineError(f"mapping table is not UTF-8 ({exc.reason})", path=path) from None
        where = str(path)
    else:
        resource = resources.files("converter.mapping") / "tables" / f"{name}.yml"
        if not resource.is_file():
            raise PipelineError(
                f"unknown mapping table {name!r}", hint=f"known: {', '.join(builtin_table_names())}"
            )
        text = resource.read_text(encoding="utf-8")
        where = f"converter/mapping/tables/{name}.yml"
    try:
        raw = _parse_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise PipelineError(
            f"invalid YAML: {getattr(exc, 'problem', exc)}",
            path=where,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from exc
    try:
        return _validate(raw, where)
    except PipelineError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        # A table of the wrong shape must give a clear error naming the file, not a traceback.
        raise PipelineError(f"invalid mapping table: {type(exc).__name__}: {exc}", path=where) from exc
