"""Mapping tables: Sigma taxonomy to a target schema, as data (``converter/mapping/tables/*.yml``).

One table has two uses that must never drift apart:

* ``converter/mapping/pipeline.py`` turns it into a pySigma processing pipeline (field renames, derived
  fields, logsource conditions) for conversion;
* ``converter/events/render.py`` renders Sigma-taxonomy sample events into the target schema with it, so
  the equivalence check evaluates each query on the events its pipeline assumes.

This module only loads and validates the tables; it knows nothing of pySigma or of any backend.
"""

from __future__ import annotations

import re

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from converter.errors import PipelineError
from converter.mapping.function_checks import (
    check_by,
    check_exact_only_when,
    check_value_columns,
    check_value_map,
)

#: Named value functions a table may use. Each is implemented in both directions: as a pySigma
#: transformation (query side) and as an event renderer (event side).
FIELD_FUNCTIONS = {
    "basename",
    "copy",
    "lowercase",
    "to_integer",
    "to_string",
    "any_of",
    "split_domain_user",
    "hashes",
    "split_hashes",
    "integrity_level_name",
    "hex_to_integer",
    "join_domain_user",
    "value_map",
    "value_columns",
    "to_ip",
    "registry_value_path",
    "registry_key_path",
    "auditd_record_type",
    "path_basename",
    "registry_hive",
    "registry_data",
    "trimmed",
}


#: Derived functions that also rewrite queries (``Image|endswith: '<sep><name>'`` -> a test on
#: the base name field), with the path separator each one splits at: ``basename`` for Windows
#: paths, ``path_basename`` (its render default, ``converter.mapping.functions.path``) for Linux
#: and macOS paths.
DERIVED_SEPARATORS = {"basename": "\\", "path_basename": "/"}


#: A Windows event's named data (``<Data Name='X'>``) as shippers index it: ASCII letters,
#: digits and ``_`` (a dotted name would nest, an empty one is no field).
EVENT_DATA_NAME = re.compile(r"[A-Za-z0-9_]+")
#: Where ``event_data`` is a template (``tostring(EventData.{name})``, a property of a dynamic
#: column), the name is written as a property name in the query: it must be an identifier
#: (a leading digit would need the bracket form, which the template does not write).
EVENT_DATA_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: The placeholder of an ``event_data`` template.
EVENT_DATA_PLACEHOLDER = "{name}"


@dataclass(frozen=True)
class FieldTarget:
    """Where one Sigma field goes in the target schema.

    Attributes:
        sigma: the Sigma taxonomy field name (``Image``).
        target: the target field (``process.executable``); for multi-target functions the first.
        function: None for a plain rename, else a name from ``FIELD_FUNCTIONS``.
        targets: every target field a function writes (``user.domain``, ``user.name``).
        params: extra function parameters from the table.
    """

    sigma: str
    target: str
    function: str | None = None
    targets: tuple[str, ...] = ()
    params: tuple[tuple[str, Any], ...] = ()

    def param(self, key: str, default: Any = None) -> Any:
        """Return a function parameter."""
        return dict(self.params).get(key, default)


@dataclass(frozen=True)
class Derived:
    """A target field computed from a Sigma field (``process.name`` = basename of ``Image``).

    ``target`` is a field name, or for ``split_hashes`` a mapping algorithm -> field name; like
    every target it is named without the entry's ``field_prefix``, which the pipeline adds.
    ``query`` is False for render-only entries. ``sources`` limits the entry to some data sources
    (empty: every source): ``ImageLoaded``'s base name is ``dll.name`` in Elastic Defend and
    ``file.name`` in the Sysmon pipelines.
    """

    source: str
    target: Any
    function: str
    query: bool = True
    sources: tuple[str, ...] = ()

    def applies_to(self, data_source: str | None) -> bool:
        """Whether the entry holds for this data source."""
        return not self.sources or data_source in self.sources


@dataclass(frozen=True)
class Variant:
    """Another kind of source event of the same logsource, with its own field names.

    A Splunk raw search must look at Sysmon event 1 AND Security event 4688 for a Sigma
    process_creation rule, and the two carry different field names (``Image`` vs
    ``NewProcessName``). Each variant becomes one OR branch of the query, guarded by its own
    conditions; the renderer writes events of that kind with its fields.
    """

    id: str
    conditions: dict[str, Any]
    events: tuple[dict[str, Any], ...]
    render: dict[str, Any]
    fields: dict[str, Any]

    def field_targets(self) -> dict[str, FieldTarget]:
        """The variant's field table (no per-data-source forms)."""
        return {name: _field_target(name, spec) for name, spec in self.fields.items()}


@dataclass(frozen=True)
class LogsourceMapping:
    """The mapping of one Sigma logsource (product/category/service) to the target schema."""

    id: str
    match: dict[str, str]
    conditions: dict[str, Any]
    events: tuple[dict[str, Any], ...]
    render: dict[str, Any]
    fields: dict[str, Any]
    derived: tuple[Derived, ...]
    eql_category: str | None = None
    state: dict[str, Any] = field(default_factory=dict)
    field_prefix: str = ""
    unmapped: dict[str, str] = field(default_factory=dict)
    render_by_source: dict[str, dict[str, Any]] = field(default_factory=dict)
    event_render: tuple[dict[str, Any], ...] = ()
    render_derived: tuple[Derived, ...] = ()
    #: Conditions compare case-sensitively (ECS keyword terms) or not (Splunk search values).
    conditions_cased: bool = True
    variants: tuple[Variant, ...] = ()
    #: data source -> Sigma fields that source never records for this logsource (each has its
    #: reason in ``unmapped``); the pipeline evaluates their tests as on a missing field.
    unrecorded: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: data source (``*``: every source) -> where the shipper writes the record's named event
    #: data (``winlog.event_data``; ``""``: under the name itself, as the Splunk add-ons do).
    #: A Sigma field that ``fields`` does not name and ``unmapped`` does not explain is then the
    #: event-data field ``<prefix>.<name>``; a source mapped to null has no such catch-all. A
    #: prefix holding ``{name}`` is a template instead (``tostring(EventData.{name})``: the
    #: text of a property of a dynamic column), and the value is written as its text.
    event_data: dict[str, str | None] = field(default_factory=dict)
    #: Sigma fields that the rows of other source events sharing this entry's dataset never
    #: carry, and what the dataset holds (``shared_rows``: converter.mapping.partial
    #: ``SharedRowsTransformation``).
    shared_rows_fields: tuple[str, ...] = ()
    shared_rows_reason: str = ""
    #: ``exact_only_when``: fields the data source keeps only where a gate field holds some
    #: values (converter.mapping.conditional ``ConditionalFieldsTransformation``).
    exact_only_when: tuple[dict[str, Any], ...] = ()
    #: data source -> the index patterns this logsource's events are in, where they differ from
    #: the source's ``index`` (Elastic Defend writes each event kind to its own data stream).
    index: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: How this logsource's records write field values, where it differs from the data source's
    #: ``value_encoding`` (``xml_text_unknown``: XML text with entities, extraction not known).
    value_encoding: str | None = None

    def event_data_prefix(self, data_source: str | None) -> str | None:
        """Where ``data_source`` writes the record's named event data, or None (no catch-all)."""
        if (data_source or "") in self.event_data:
            return self.event_data[data_source or ""]
        return self.event_data.get("*")

    def event_data_target(self, name: str, data_source: str | None) -> str | None:
        """The event-data field a Sigma field not in ``fields`` is written to, or None when the
        entry has no catch-all for ``data_source``, explains the field in ``unmapped``, or the
        name is not an event-data name (``<Data Name='X'>``: letters, digits, ``_``)."""
        prefix = self.event_data_prefix(data_source)
        if prefix is None or name in self.unmapped or not EVENT_DATA_NAME.fullmatch(name):
            return None
        if EVENT_DATA_PLACEHOLDER in prefix:
            if not EVENT_DATA_IDENTIFIER.fullmatch(name):
                return None
            return prefix.replace(EVENT_DATA_PLACEHOLDER, name)
        return f"{prefix}.{name}" if prefix else name

    def event_data_template(self, data_source: str | None) -> str | None:
        """The ``event_data`` template of ``data_source`` (holding ``{name}``), or None when
        the catch-all is a plain prefix or absent."""
        prefix = self.event_data_prefix(data_source)
        return prefix if prefix is not None and EVENT_DATA_PLACEHOLDER in prefix else None

    def unrecorded_fields(self, data_source: str | None) -> tuple[str, ...]:
        """The Sigma fields ``data_source`` never records for this logsource."""
        return self.unrecorded.get(data_source or "", ())

    #: Data sources this entry belongs to (empty: all). Kusto keeps one entry per table
    #: (Defender XDR ``DeviceProcessEvents`` vs Sentinel ``SecurityEvent``) for one logsource.
    sources: tuple[str, ...] = ()

    def applies_to(self, data_source: str | None) -> bool:
        """Whether the entry is part of the table for this data source."""
        return not self.sources or data_source in self.sources

    def matches_logsource(self, product: str | None, category: str | None, service: str | None) -> bool:
        """True when a rule's logsource is this entry's (every key the entry names must agree)."""
        given = {"product": product, "category": category, "service": service}
        return all(given.get(k) == v for k, v in self.match.items())

    def derived_for(self, data_source: str | None, render: bool = False) -> tuple[Derived, ...]:
        """The ``derived`` entries of one data source; with ``render``, ``render_derived`` too."""
        entries = (*self.derived, *self.render_derived) if render else self.derived
        return tuple(d for d in entries if d.applies_to(data_source))

    def field_targets(self, data_source: str | None) -> dict[str, FieldTarget]:
        """Resolve the field table for one data source (per-source entries pick theirs)."""
        out: dict[str, FieldTarget] = {}
        for sigma_name, spec in self.fields.items():
            resolved = _resolve_source(spec, data_source)
            if resolved is None:
                continue
            out[sigma_name] = _field_target(sigma_name, resolved)
        return out


@dataclass(frozen=True)
class MappingTable:
    """A whole mapping table (one YAML file)."""

    name: str
    schema: str
    description: str
    docs: tuple[str, ...]
    options: dict[str, dict[str, Any]]
    logsources: tuple[LogsourceMapping, ...]
    path: str
    source_aliases: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    datamodel: dict[str, Any] = field(default_factory=dict)
    #: The built-in table whose pipeline this table's logsources join (``ecs-linux`` extends
    #: ``ecs-windows``: the eql/kql/lucene/esql targets cover Linux rules from it), or None.
    extends: str | None = None
    #: ``[{match, reason}]``: logsources the table deliberately does not map, with the reason the
    #: pipeline gives when it refuses their rules.
    not_covered: tuple[dict[str, Any], ...] = ()

    def dropped(self, data_source: str | None) -> tuple[tuple[str, ...], frozenset[str]]:
        """The values a data source's shipper deletes, and the Sigma fields it never deletes."""
        facts = self.sources.get(data_source or "", {}) or {}
        values = tuple(str(v) for v in facts.get("drop_values") or ())
        return values, frozenset(facts.get("drop_exempt") or ())

    def has_caseless_subfields(self, data_source: str | None) -> bool:
        """False when the data source's documents lack the ``.caseless`` multi-fields of the
        Windows table's field model (``sources.<source>.caseless_subfields: false``: an
        integration's index template, not Elastic Defend's)."""
        facts = self.sources.get(data_source or "", {}) or {}
        return bool(facts.get("caseless_subfields", True))

    def value_encoding(self, data_source: str | None) -> str | None:
        """How the data source's shipper writes field values (``xml_text``: XML text with its
        entities kept, the Splunk Windows add-ons), or None for the values themselves."""
        facts = self.sources.get(data_source or "", {}) or {}
        encoding = facts.get("value_encoding")
        return str(encoding) if encoding else None

    def option_default(self, key: str) -> Any:
        """The default value of a table option (e.g. ``data_source``)."""
        return self.options.get(key, {}).get("default")

    def check_option(self, key: str, value: Any) -> Any:
        """Validate an option value against the table's declared choices."""
        if key not in self.options:
            raise PipelineError(
                f"pipeline {self.name} has no option {key!r}",
                hint=f"options: {', '.join(sorted(self.options)) or 'none'}",
            )
        choices = self.options[key].get("choices")
        if choices and value not in choices:
            raise PipelineError(
                f"pipeline {self.name}: {key}={value!r} is not one of {', '.join(choices)}"
            )
        return value

    def for_logsource(
        self,
        product: str | None,
        category: str | None,
        service: str | None,
        data_source: str | None = None,
    ) -> LogsourceMapping | None:
        """The first logsource entry that matches (of ``data_source``, when given), or None."""
        for entry in self.entries_for(data_source):
            if entry.matches_logsource(product, category, service):
                return entry
        return None

    def entries_for(self, data_source: str | None) -> tuple[LogsourceMapping, ...]:
        """The logsource entries of one data source (entries without ``sources`` belong to all;
        ``None`` keeps every entry)."""
        if data_source is None:
            return self.logsources
        return tuple(e for e in self.logsources if e.applies_to(data_source))


def _resolve_source(spec: Any, data_source: str | None) -> Any:
    """Pick the per-data-source variant of a field spec, if it is one."""
    if isinstance(spec, dict) and "function" not in spec and "to" not in spec:
        if data_source is None:
            raise PipelineError("a per-data-source field mapping needs the data_source option")
        return spec.get(data_source)
    return spec


def _field_target(sigma_name: str, spec: Any) -> FieldTarget:
    if isinstance(spec, str):
        return FieldTarget(sigma_name, spec, None, (spec,))
    if isinstance(spec, dict):
        to = spec.get("to")
        targets = tuple(to) if isinstance(to, list) else (to,)
        params = tuple(sorted((k, v) for k, v in spec.items() if k not in {"to", "function"}))
        return FieldTarget(sigma_name, targets[0], spec.get("function"), targets, params)
    raise PipelineError(f"field {sigma_name!r}: mapping must be a field name or a mapping")


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
                if isinstance(variant, dict) and variant.get("function") == "value_columns":
                    check_value_columns(variant, f"{where}: field {name}", path)
                if isinstance(variant, dict) and variant.get("by") is not None:
                    check_by(variant, f"{where}: field {name}", path)
        logsources.append(
            LogsourceMapping(
                id=entry["id"],
                match=dict(entry["match"]),
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
            {"match": dict(item["match"]), "reason": str(item.get("reason", ""))}
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
            target = None if spec is None else _resolve_source(spec, source)
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


@lru_cache(maxsize=None)
def load_table(name: str) -> MappingTable:
    """Load a built-in mapping table by name (``ecs-windows``) or a table file by path."""
    if name.endswith((".yml", ".yaml")) or "/" in name:
        path = Path(name)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PipelineError(f"cannot read mapping table: {exc.strerror}", path=path) from exc
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
