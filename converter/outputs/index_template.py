"""``sigport mapping``: what makes Kibana KQL exact for a set of rules (issue 14).

Kibana's KQL matches ``keyword`` fields case-sensitively and has no regular expressions, so a Sigma
rule's case-insensitive match is exact in KQL only on a field that holds the value lowercased. A
lowercase-normalised ``keyword`` multi-field stops at its ``ignore_above`` (Lucene refuses a term
over 32,766 bytes, so at most 8,191 characters:
https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/ignore-above), and an ECS
keyword field itself at 1,024, while Sigma matches values of any length. This module finds every
field the rules test case-insensitively on a data source, by converting them for KQL with a field
model that offers a copy of every string field (``ProposingModel``), and writes:

* the ingest pipeline that writes each such field's *caseless copy* (``backends.query.ingest``:
  lowercased per code point, query_string whitespace swapped for visible symbols) into a
  ``wildcard`` field ``sigport.caseless.<field>``, which indexes values of any length;
* the template that maps those copies, each with ``meta.sigport_caseless_of`` naming its field,
  so ``--mapping`` tells the emitter and the interpreters what the copy holds. A field whose name
  is too long for a ``meta`` value (50 characters) gets a ``keyword`` multi-field ``caseless``
  with the normalizer ``sigport_lowercase`` (one ``lowercase`` filter) and ``ignore_above: 8191``.

Both are named where Elastic lets users add them: each Fleet data stream's ``<type>-<dataset>@custom``
ingest pipeline and component template
(https://www.elastic.co/docs/reference/fleet/data-streams#data-streams-index-templates), and for
Winlogbeat, which composes no ``@custom`` template, an index template whose
``index.final_pipeline`` is the pipeline.

The command itself (files written, requests and what is not covered printed) is in
``converter.outputs.mapping_command``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backends.query.fields import FieldInfo, FieldModel
from backends.query.ingest import (
    CASED_META_KEY,
    CASED_PREFIX,
    COPY_PREFIX,
    META_KEY,
    painless_params,
    painless_source,
)

from converter.conversion.convert import CONVERTED, Converter
from converter.mapping.index_mapping import field_model_for
from converter.outputs.fleet import (
    WINLOGBEAT_PIPELINE,
    WINLOGBEAT_PRIORITY,
    index_patterns,
    pipeline_names,
)
from converter.rules.load import LoadedRule

#: The multi-field name and the normalizer sigport adds.
MULTI_FIELD = "caseless"
NORMALIZER = "sigport_lowercase"
#: 32,766 bytes (Lucene's term limit) / 4 bytes per UTF-8 character, rounded down.
IGNORE_ABOVE = 8191
IGNORE_ABOVE_DOC = "https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/ignore-above"
CUSTOM_TEMPLATE_DOC = "https://www.elastic.co/docs/reference/fleet/data-streams#data-streams-index-templates"
#: Field types that take a keyword multi-field and hold strings a Sigma value is matched against.
STRING_TYPES = frozenset({"keyword", "wildcard", "text", "match_only_text"})
PIPELINE_DOC = "https://www.elastic.co/docs/reference/fleet/data-streams-pipeline-tutorial"


class ProposingModel(FieldModel):
    """A data source's field model that offers a lowercase-normalised ``caseless`` multi-field for
    every string field that has none, and records which ones a conversion used."""

    def __init__(self, base: FieldModel) -> None:
        state = base.__reduce__()[1]
        super().__init__(*state)
        self.base = base
        self.proposed: dict[str, FieldInfo] = {}  # name of the multi-field -> its info
        self.used: dict[str, str] = {}  # parent -> proposed multi-field, since the last reset
        self.unknown: set[str] = set()  # fields tested that the data source's model lacks

    def without_multi_fields_of(self, other: FieldModel, name: str | None = None) -> FieldModel:
        """The proposing model of the indices that lack ``other``'s multi-fields (an
        integration's, beside Defend's): it records into this model's proposals."""
        twin = ProposingModel(self.base.without_multi_fields_of(other, name))
        twin.proposed, twin.used, twin.unknown = self.proposed, self.used, self.unknown
        return twin

    def lookup(self, name: str) -> FieldInfo | None:
        """The proposed multi-field or copy, or the data source's field."""
        return self.proposed.get(name) or super().lookup(name)

    def _string_field(self, name: str) -> FieldInfo | None:
        """The data source's field ``name`` when it holds strings a Sigma value is matched
        against (not a multi-field); a field the model does not know is recorded as unknown."""
        info = super().lookup(name)
        if info is None:
            self.unknown.add(name)
            return None
        return info if info.type in STRING_TYPES and info.source == name else None

    def caseless_copy(self, name: str) -> FieldInfo | None:
        """The data source's own caseless-encoded copy of ``name``, else a proposed one for a
        string field. A copy is a ``wildcard`` field, which indexes values of any length: a
        keyword multi-field stops at its ``ignore_above`` (at most ``IGNORE_ABOVE``), and a
        keyword field's own limit (ECS: 1,024) makes every query on it miss longer values that
        Sigma matches."""
        own = super().caseless_copy(name)
        if own is not None or self._string_field(name) is None:
            return own
        if len(name) > 50:  # ES caps a meta value at 50 characters: a multi-field instead
            return None
        form = FieldInfo(f"{COPY_PREFIX}{name}", f"{COPY_PREFIX}{name}", "wildcard",
                         caseless_of=name)
        self.proposed[form.name] = form
        self.used[name] = form.name
        return form

    def cased_copy(self, name: str) -> FieldInfo | None:
        """The data source's own cased copy of ``name``, else a proposed one for a string field
        (asked only for a case-sensitive pattern a query_string would split)."""
        own = super().cased_copy(name)
        if own is not None or self._string_field(name) is None or len(name) > 50:
            return own
        form = FieldInfo(f"{CASED_PREFIX}{name}", f"{CASED_PREFIX}{name}", "wildcard",
                         cased_of=name)
        self.proposed[form.name] = form
        self.used[name + "\0cased"] = form.name
        return form

    def caseless_form(self, name: str) -> FieldInfo | None:
        """The data source's own lowercase form of ``name``, else a proposed one; also a proposed
        one when the own form stops at a shorter length than the proposal while the field
        itself indexes longer values (Defend's ``process.command_line.caseless``: 1,024)."""
        own = super().caseless_form(name)
        if own is not None and not (
            self.base.loses_values(own.name) and (own.ignore_above or 0) < IGNORE_ABOVE
        ):
            return own
        if self._string_field(name) is None:
            return own
        for suffix in (MULTI_FIELD, f"sigport_{MULTI_FIELD}"):
            sub = f"{name}.{suffix}"
            taken = self.base.lookup(sub)
            # A dynamic template such as winlog.event_data.* answers for any name below it:
            # that does not count, the template maps the multi-field explicitly.
            if taken is None or taken.source != name:
                break
        else:
            return own  # both names are taken by multi-fields of another kind
        form = FieldInfo(sub, name, "keyword", "lowercase", IGNORE_ABOVE)
        self.proposed[sub] = form
        self.used[name] = sub
        return form


@dataclass
class Proposal:
    """The fields to add for a set of rules on one data source.

    Attributes:
        data_source: ``defend``, ``windows`` or ``winlogbeat``.
        fields: parent field -> the data source's definition of it (``FieldInfo``).
        rules: how many rules were read; ``converted``: how many convert for KQL with the
            proposed fields; ``refused``: reason -> count for the others.
        unknown: fields the rules test that the data source's field model does not know.
        lossy: added multi-fields whose parent indexes longer values (a ``wildcard`` field).
        copies: field -> its caseless-encoded copy, which the ingest pipeline writes
            (``pipeline_body``), for the fields whose values a keyword multi-field cannot hold.
    """

    data_source: str
    fields: dict[str, FieldInfo] = field(default_factory=dict)
    #: parent field -> the name of its added multi-field (``caseless``, or ``sigport_caseless``
    #: where the data source has a ``caseless`` multi-field already).
    names: dict[str, str] = field(default_factory=dict)
    rules: int = 0
    converted: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    lossy: list[str] = field(default_factory=list)
    copies: dict[str, str] = field(default_factory=dict)
    #: The index patterns the converted rules read (their logsources' data streams, as
    #: ``-f kibana-ndjson`` names them), in the order first met: where the copies must be
    #: written and mapped.
    streams: list[str] = field(default_factory=list)
    #: field -> its cased copy (``backends.query.ingest.cased_encode``), for the case-sensitive
    #: patterns a query_string would split, and for the regexes and ``|cased`` values on a field
    #: with an ``ignore_above`` (a wildcard copy has none).
    cased: dict[str, str] = field(default_factory=dict)


#: The targets that query the caseless copies (``TargetSpec.caseless_copies``); KQL first, the
#: one ``Proposal.converted`` and ``refused`` count. kql-es is one of them: where its
#: ``case_insensitive`` does not reach (a ``wildcard`` or text field) it reads the copies too.
COPY_TARGETS = ("kql", "eql", "lucene", "kql-es", "esql")


def propose(loaded: Iterable[LoadedRule], data_source: str) -> Proposal:
    """Convert the rules for KQL, EQL, Lucene, kql-es and ES|QL on ``data_source`` and collect
    the fields that need a caseless copy or a lowercase-normalised multi-field (those a conversion
    queried through a proposed one): EQL and Lucene also convert rules KQL refuses (regexes), whose
    other tests then read the copies too."""
    # A data source of a companion table only (auditd, filestream) reads the base table's model.
    base = field_model_for(data_source)
    model = ProposingModel(base)
    converters = [
        Converter(target, options={"data_source": data_source}, field_model=model)
        for target in COPY_TARGETS
    ]
    out = Proposal(data_source)
    for item in loaded:
        out.rules += 1
        for index, converter in enumerate(converters):
            model.used.clear()
            known = set(model.unknown)
            conversion = converter.convert(item)
            if conversion.status == CONVERTED:
                _record_used(out, model, base)
                for pattern in _streams(item, data_source):
                    if pattern not in out.streams:
                        out.streams.append(pattern)
            else:
                # A refused rule (an unmapped logsource, ...) needs no copy: its fields, which
                # may be Sigma names no table renamed, are no gap of the template.
                model.unknown &= known
            if index:
                continue
            if conversion.status != CONVERTED:
                # The whole reason: a part of it (up to a colon) may be a bare field name.
                reason = conversion.reason or conversion.status
                out.refused[reason] = out.refused.get(reason, 0) + 1
            else:
                out.converted += 1
    out.unknown = sorted(model.unknown)
    out.lossy = sorted(
        name for name, info in out.fields.items()
        if info.ignore_above is None or info.ignore_above > IGNORE_ABOVE
    )
    return out


def _streams(item: LoadedRule, data_source: str) -> list[str]:
    """The index patterns a rule converted on ``data_source`` reads: its logsource's data
    streams (Defend's registry, file, library, network ones; a cloud integration's), as the
    Kibana rule export names them."""
    from converter.outputs.kibana import source_facts

    return [str(p) for p in source_facts(item.rule, data_source).get("index") or ()]


def _record_used(out: Proposal, model: ProposingModel, base: FieldModel) -> None:
    """Add the copies and multi-fields one conversion queried to the proposal."""
    for name, sub in model.used.items():
        if sub.startswith(CASED_PREFIX):
            out.cased[name.split("\0")[0]] = sub
            continue
        if sub.startswith(COPY_PREFIX):
            out.copies[name] = sub
            continue
        out.fields[name] = base.lookup(name)  # type: ignore[assignment]
        out.names[name] = sub.rpartition(".")[2]


def _spec(info: FieldInfo) -> dict[str, Any]:
    """A field's mapping parameters as Elasticsearch takes them."""
    spec: dict[str, Any] = {"type": info.type}
    for key in ("ignore_above", "normalizer", "analyzer"):
        if getattr(info, key) is not None:
            spec[key] = getattr(info, key)
    return spec


def _properties(proposal: Proposal) -> dict[str, Any]:
    """The nested ``properties`` object: each field with its own definition plus ``caseless``."""
    base = field_model_for(proposal.data_source)
    root: dict[str, Any] = {}
    for name in sorted(proposal.fields):
        spec = _spec(proposal.fields[name])
        subs = {m.name[len(name) + 1:]: _spec(m) for m in base.multi_fields(name)
                if m.name.startswith(name + ".")}
        subs[proposal.names.get(name, MULTI_FIELD)] = {"type": "keyword", "normalizer": NORMALIZER,
                             "ignore_above": IGNORE_ABOVE}
        spec["fields"] = dict(sorted(subs.items()))
        node = root
        *parents, leaf = name.split(".")
        for part in parents:
            node = node.setdefault(part, {"properties": {}})["properties"]
        node[leaf] = spec
    for name, copy in sorted(proposal.copies.items()):
        node = root
        *parents, leaf = copy.split(".")
        for part in parents:
            node = node.setdefault(part, {"properties": {}})["properties"]
        node[leaf] = {"type": "wildcard", "meta": {META_KEY: name}}
    for name, copy in sorted(proposal.cased.items()):
        node = root
        *parents, leaf = copy.split(".")
        for part in parents:
            node = node.setdefault(part, {"properties": {}})["properties"]
        node[leaf] = {"type": "wildcard", "meta": {CASED_META_KEY: name}}
    return root


def template_body(proposal: Proposal) -> dict[str, Any]:
    """The component template (Fleet integrations) or index template (Winlogbeat) JSON."""
    settings: dict[str, Any] = {}
    if proposal.fields:  # the multi-fields' normalizer
        settings["analysis"] = {"normalizer": {
            NORMALIZER: {"type": "custom", "char_filter": [], "filter": ["lowercase"]},
        }}
    inner = {"settings": settings, "mappings": {"properties": _properties(proposal)}}
    meta = {
        "managed_by": "sigport",
        "description": (
            "Caseless copies (wildcard fields written by the ingest pipeline "
            f"{'/'.join(pipeline_names(proposal.data_source, proposal.streams))}) of the fields "
            "Sigma rules test "
            "case-insensitively, so Kibana KQL matches them exactly at any length"
        ),
    }
    if proposal.data_source == "winlogbeat":
        if proposal.copies or proposal.cased:
            settings["index"] = {"final_pipeline": WINLOGBEAT_PIPELINE}
        return {"index_patterns": index_patterns("winlogbeat"), "data_stream": {},
                "priority": WINLOGBEAT_PRIORITY, "template": inner, "_meta": meta}
    return {"template": inner, "_meta": meta}


def pipeline_body(proposal: Proposal) -> dict[str, Any]:
    """The ingest pipeline that writes the caseless-encoded copies (one Painless ``script``
    processor, ``backends.query.ingest.painless_source``)."""
    return {
        "description": (
            "sigport: caseless-encoded copies (lowercase per code point, query_string whitespace "
            "as visible symbols) of the fields Sigma rules test case-insensitively and whose "
            "values a keyword multi-field cannot hold, so Kibana KQL matches them exactly"
        ),
        "processors": [{"script": {
            "tag": "sigport-caseless",
            "lang": "painless",
            "source": painless_source(),
            "params": painless_params(sorted(proposal.copies.items()),
                                      sorted(proposal.cased.items())),
            # A failure (a script the cluster refuses to run) must not drop the document: it is
            # indexed without copies and says why.
            "on_failure": [{"set": {
                "field": "sigport.caseless_error", "value": "{{ _ingest.on_failure_message }}",
            }}],
        }}],
        "_meta": {"managed_by": "sigport"},
    }


def kql_exactness(
    results: list[Any], paths: list[str], data_source: str | None, mapping: Path | None
) -> str | None:
    """The conversion summary's line on KQL: how many converted rules are exact, how many are
    case-sensitive approximations, and the one command that makes those exact; None when no
    KQL rule is a case-sensitive approximation."""
    import shlex

    from backends.common import is_limit_warning
    from backends.kql.backend import CASE_WARNING

    converted = [r for r in results if r.target == "kql" and r.status == CONVERTED]
    cased = [r for r in converted if any(CASE_WARNING in w for w in r.warnings)]
    if not cased:
        return None
    # A length limit is proven from events (check), not an approximation of the query.
    exact = [r for r in converted
             if not [w for w in set(r.warnings) - set(r.exact_warnings) if not is_limit_warning(w)]]
    other = len(converted) - len(exact) - len(cased)
    source = data_source if data_source in ("defend", "windows", "winlogbeat", "winlog") else "defend"
    command = shlex.join(["sigport", "mapping", *paths, "--data-source", source,
                          "-o", "caseless.json"])
    text = (
        f"kql: {len(exact)} of {len(converted)} converted rules are exact, {len(cased)} are "
        "case-sensitive approximations (Sigma matches case-insensitively)"
        + (f" and {other} other approximations" if other else "")
        + f"; `{command}` writes the ingest pipeline and index template that make the "
        "case-sensitive ones exact"
        " (then convert with --mapping caseless.json)"
    )
    if mapping is not None:
        text += f"; {mapping} has no caseless copy or lowercase-normalised multi-field of them"
    return text
