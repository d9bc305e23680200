"""Mapping tables: Sigma taxonomy to a target schema, as data (``converter/mapping/tables/*.yml``).

One table has two uses that must never drift apart:

* ``converter/mapping/pipeline.py`` turns it into a pySigma processing pipeline (field renames, derived
  fields, logsource conditions) for conversion;
* ``converter/events/render.py`` renders Sigma-taxonomy sample events into the target schema with it, so
  the equivalence check evaluates each query on the events its pipeline assumes.

This module is the tables' typed form; ``converter.mapping.loader`` reads and validates the YAML.
Neither knows anything of pySigma or of any backend.
"""

from __future__ import annotations

import re

from dataclasses import dataclass, field
from typing import Any

from converter.errors import PipelineError

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
    "mandatory_label",
    "to_boolean",
    "cim_fillnull",
    "cim_full_path",
    "rewritten_values",
    "lowercased_when",
    "xml_unnamed_data",
    "unnamed_params",
    "auditd_pair",
    "access_column",
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


#: The rewritings ``sources.<data source>.line_endings`` may name (``lf``: every ``\\r\\n`` as
#: ``\\n``; ``converter/mapping/line_endings.py``).
LINE_ENDINGS = ("lf",)


def rewrite_line_endings(value: Any) -> Any:
    """A value as the shipper writes it: ``\\r\\n`` as ``\\n`` in every string (lists item by
    item); other values unchanged."""
    if isinstance(value, str):
        return value.replace("\r\n", "\n")
    if isinstance(value, list):
        return [rewrite_line_endings(v) for v in value]
    return value


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
    #: ``text_field``: the target field that holds each record of this logsource whole (one line
    #: of a plain-text log); a keyword (field-less value) becomes the test "this field contains
    #: it" (``converter.mapping.text_fields.KeywordTextField``), and a rendered event is that
    #: field holding the line (``converter.events.text_lines.filestream_line``).
    text_field: str | None = None
    #: ``exact: true``: the entry selects only rules whose logsource names exactly its ``match``
    #: parts (``product: linux`` alone: keyword rules over any Linux log), not every rule whose
    #: logsource names more (the Linux categories and services have entries of their own).
    exact: bool = False

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
        if self.exact:
            return all(given[k] == self.match.get(k) for k in given)
        return all(given.get(k) == v for k, v in self.match.items())

    def derived_for(self, data_source: str | None, render: bool = False) -> tuple[Derived, ...]:
        """The ``derived`` entries of one data source; with ``render``, ``render_derived`` too."""
        entries = (*self.derived, *self.render_derived) if render else self.derived
        return tuple(d for d in entries if d.applies_to(data_source))

    def field_targets(self, data_source: str | None) -> dict[str, FieldTarget]:
        """Resolve the field table for one data source (per-source entries pick theirs)."""
        out: dict[str, FieldTarget] = {}
        for sigma_name, spec in self.fields.items():
            resolved = resolve_source(spec, data_source)
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

    def line_endings(self, data_source: str | None) -> str | None:
        """How the data source's shipper rewrites line endings in event-data values (``lf``:
        every ``\\r\\n`` as ``\\n``, Winlogbeat and the winlog input), or None when it keeps
        them (``converter/mapping/line_endings.py``)."""
        facts = self.sources.get(data_source or "", {}) or {}
        rewrite = facts.get("line_endings")
        return str(rewrite) if rewrite else None

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


def resolve_source(spec: Any, data_source: str | None) -> Any:
    """Pick the per-data-source variant of a field spec, if it is one."""
    if isinstance(spec, dict) and "function" not in spec and "to" not in spec:
        if data_source is None:
            raise PipelineError("a per-data-source field mapping needs the data_source option")
        return spec.get(data_source)
    return spec


def _field_target(sigma_name: str, spec: Any) -> FieldTarget:
    """One Sigma field's target, from its spec: a field name, or ``{to, function, params…}``."""
    if isinstance(spec, str):
        return FieldTarget(sigma_name, spec, None, (spec,))
    if isinstance(spec, dict):
        to = spec.get("to")
        targets = tuple(to) if isinstance(to, list) else (to,)
        params = tuple(sorted((k, v) for k, v in spec.items() if k not in {"to", "function"}))
        return FieldTarget(sigma_name, targets[0], spec.get("function"), targets, params)
    raise PipelineError(f"field {sigma_name!r}: mapping must be a field name or a mapping")
