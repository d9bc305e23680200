"""``sigport mapping``: the template that makes Kibana KQL exact for a set of rules (issue 14).

Kibana's KQL matches ``keyword`` fields case-sensitively and has no regular expressions, so a Sigma
rule's case-insensitive match is exact in KQL only on a lowercase-normalised keyword form of the
field. This module finds every field the rules test case-insensitively on a data source, by
converting them for KQL with a field model that offers such a form for every string field
(``ProposingModel``), and writes the template that adds exactly those multi-fields:

* a ``keyword`` multi-field ``caseless`` with the custom normalizer ``sigport_lowercase``
  (one ``lowercase`` token filter: Lucene's LowerCaseFilter, the per-code-point lowercasing the
  KQL interpreter models; https://www.elastic.co/docs/reference/text-analysis/normalizers),
  defined in ``settings.analysis``;
* ``ignore_above: 8191``: Lucene refuses a term over 32,766 bytes (the whole document would be
  rejected), and 8,191 characters of at most 4 UTF-8 bytes each stay under it
  (https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/ignore-above). A longer
  value stays in ``_source`` and in the parent field but is not indexed in the multi-field, so a
  KQL query on it does not match there; for a parent with at least that limit (ECS keyword fields:
  1,024) nothing is lost.

Each field keeps its data source's definition (type, ``ignore_above``, other multi-fields), so the
template means the same whether Elasticsearch merges it with the integration's own mapping or
takes the field from it whole. It is named where Elastic lets users add mappings: the
``<type>-<dataset>@custom`` component template of each Fleet data stream
(https://www.elastic.co/docs/reference/fleet/data-streams#data-streams-index-templates), and for
Winlogbeat, which composes no ``@custom`` template, an index template.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backends.query.fields import FieldInfo, FieldModel

from converter.conversion.convert import CONVERTED, Converter
from converter.mapping.table import load_table
from converter.rules.load import LoadedRule, load_rules

#: The multi-field name and the normalizer sigport adds.
MULTI_FIELD = "caseless"
NORMALIZER = "sigport_lowercase"
#: 32,766 bytes (Lucene's term limit) / 4 bytes per UTF-8 character, rounded down.
IGNORE_ABOVE = 8191
IGNORE_ABOVE_DOC = "https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/ignore-above"
CUSTOM_TEMPLATE_DOC = "https://www.elastic.co/docs/reference/fleet/data-streams#data-streams-index-templates"
#: Field types that take a keyword multi-field and hold strings a Sigma value is matched against.
STRING_TYPES = frozenset({"keyword", "wildcard", "text", "match_only_text"})
#: Winlogbeat 8 loads its own index template (priority 150) for its data stream ``winlogbeat-*``.
WINLOGBEAT_TEMPLATE = "winlogbeat-sigport"
WINLOGBEAT_PRIORITY = 200


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

    def lookup(self, name: str) -> FieldInfo | None:
        """The proposed multi-field, or the data source's field."""
        return self.proposed.get(name) or super().lookup(name)

    def caseless_form(self, name: str) -> FieldInfo | None:
        """The data source's own lowercase form of ``name``, else a proposed one; also a proposed
        one when the own form stops at a shorter length than the proposal while the field
        itself indexes longer values (Defend's ``process.command_line.caseless``: 1,024)."""
        own = super().caseless_form(name)
        if own is not None and not (
            self.base.loses_values(own.name) and (own.ignore_above or 0) < IGNORE_ABOVE
        ):
            return own
        info = super().lookup(name)
        if info is None:
            self.unknown.add(name)
            return own
        if info.type not in STRING_TYPES or info.source != name:
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


def propose(loaded: Iterable[LoadedRule], data_source: str) -> Proposal:
    """Convert the rules for KQL on ``data_source`` and collect the fields that need a
    lowercase-normalised multi-field (those the conversion queried through a proposed one)."""
    base = FieldModel.builtin(data_source)
    model = ProposingModel(base)
    converter = Converter("kql", options={"data_source": data_source}, field_model=model)
    out = Proposal(data_source)
    for item in loaded:
        out.rules += 1
        model.used.clear()
        conversion = converter.convert(item)
        if conversion.status != CONVERTED:
            reason = (conversion.reason or conversion.status).split(":")[0]
            out.refused[reason] = out.refused.get(reason, 0) + 1
            continue
        out.converted += 1
        for name, sub in model.used.items():
            out.fields[name] = base.lookup(name)  # type: ignore[assignment]
            out.names[name] = sub.rpartition(".")[2]
    out.unknown = sorted(model.unknown)
    out.lossy = sorted(
        name for name, info in out.fields.items()
        if info.ignore_above is None or info.ignore_above > IGNORE_ABOVE
    )
    return out


def _spec(info: FieldInfo) -> dict[str, Any]:
    """A field's mapping parameters as Elasticsearch takes them."""
    spec: dict[str, Any] = {"type": info.type}
    for key in ("ignore_above", "normalizer", "analyzer"):
        if getattr(info, key) is not None:
            spec[key] = getattr(info, key)
    return spec


def _properties(proposal: Proposal) -> dict[str, Any]:
    """The nested ``properties`` object: each field with its own definition plus ``caseless``."""
    base = FieldModel.builtin(proposal.data_source)
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
    return root


def template_body(proposal: Proposal) -> dict[str, Any]:
    """The component template (Fleet integrations) or index template (Winlogbeat) JSON."""
    inner = {
        "settings": {"analysis": {"normalizer": {
            NORMALIZER: {"type": "custom", "char_filter": [], "filter": ["lowercase"]},
        }}},
        "mappings": {"properties": _properties(proposal)},
    }
    meta = {
        "managed_by": "sigport",
        "description": (
            "Lowercase-normalised keyword multi-fields (.caseless) for the fields Sigma rules "
            f"test case-insensitively, so Kibana KQL matches them exactly; ignore_above "
            f"{IGNORE_ABOVE}: Lucene's term limit is 32,766 bytes ({IGNORE_ABOVE_DOC})"
        ),
    }
    if proposal.data_source == "winlogbeat":
        return {"index_patterns": index_patterns("winlogbeat"), "data_stream": {},
                "priority": WINLOGBEAT_PRIORITY, "template": inner, "_meta": meta}
    return {"template": inner, "_meta": meta}


def index_patterns(data_source: str) -> list[str]:
    """The data streams a data source writes (``sources`` of the ``ecs-windows`` table)."""
    facts = load_table("ecs-windows").sources.get(data_source) or {}
    return [str(p) for p in facts.get("index") or ()]


def requests(data_source: str, body_name: str) -> list[str]:
    """The requests a user runs: the PUT of the template (``body_name`` says where its body is)
    and the rollover that gives the data stream a backing index built with it."""
    if data_source == "winlogbeat":
        return [
            f"PUT _index_template/{WINLOGBEAT_TEMPLATE}    (body: {body_name})",
            "POST winlogbeat-<version>/_rollover    (the data stream Winlogbeat writes, e.g. "
            "winlogbeat-8.17.0)",
        ]
    out = []
    for pattern in index_patterns(data_source):
        stream = pattern.rstrip("*").rstrip("-")
        out.append(f"PUT _component_template/{stream}@custom    (body: {body_name})")
    for pattern in index_patterns(data_source):
        stream = pattern.rstrip("*").rstrip("-")
        out.append(f"POST {stream}-default/_rollover    (once per namespace; default: default)")
    return out


def not_covered(proposal: Proposal) -> list[str]:
    """What the template does not make exact, one sentence each."""
    out = [
        "indices written before the rollover keep their mapping: KQL stays case-sensitive on "
        "them (reindex them, or search them with the eql/lucene target)",
        f"a PUT replaces a template of that name: merge this body into yours if you have one "
        f"({CUSTOM_TEMPLATE_DOC})",
    ]
    if proposal.lossy:
        out.append(
            f"values over {IGNORE_ABOVE} characters are not indexed in the .caseless "
            f"multi-field (Lucene's 32,766-byte term limit, {IGNORE_ABOVE_DOC}); of "
            f"{', '.join(proposal.lossy)} the parent field indexes such values and KQL does not "
            "match them there (convert warns, check proves it only on longer values)"
        )
    if proposal.unknown:
        out.append(
            f"fields the {proposal.data_source} field model does not know get no multi-field: "
            + ", ".join(proposal.unknown)
        )
    if proposal.data_source == "winlogbeat":
        out.append(
            f"Elasticsearch applies only the highest-priority index template to an index: this "
            f"one (priority {WINLOGBEAT_PRIORITY}) replaces Winlogbeat's own (priority 150), so "
            "copy the settings and mappings of GET _index_template/winlogbeat-<version> into it "
            "before the PUT (sigport adds only the fields above)"
        )
    for reason, count in sorted(proposal.refused.items(), key=lambda kv: -kv[1]):
        out.append(f"{count} rule(s) KQL does not convert on {proposal.data_source}: {reason}")
    return out


def run_mapping(paths: list[str], data_source: str, output: Path | None) -> int:
    """``sigport mapping``: write the template (to ``output`` or stdout), print the requests and
    what is not covered on stderr; return the exit code (0, or 2 when no rule converts)."""
    from converter.outputs.files import write_named_file

    proposal = propose(load_rules(paths), data_source)
    text = json.dumps(template_body(proposal), indent=2, ensure_ascii=False) + "\n"
    if output is not None:
        write_named_file(output, text)
    else:
        sys.stdout.write(text)
    err = sys.stderr
    print(
        f"sigport mapping: {proposal.converted} of {proposal.rules} rules convert for kql on "
        f"{data_source}; {len(proposal.fields)} fields get a lowercase-normalised keyword "
        f"multi-field (normalizer {NORMALIZER}, ignore_above {IGNORE_ABOVE}): "
        + (", ".join(f"{n}.{proposal.names.get(n, MULTI_FIELD)}" for n in sorted(proposal.fields))
           or "none"),
        file=err,
    )
    print("Run, in Kibana Dev Tools or with curl:", file=err)
    for line in requests(data_source, str(output) if output is not None else "the JSON above"):
        print(f"  {line}", file=err)
    print("Then convert and check with --mapping "
          f"{output if output is not None else 'FILE'} --data-source {data_source}.", file=err)
    print("Not covered:", file=err)
    for line in not_covered(proposal):
        print(f"  - {line}", file=err)
    return 0 if proposal.converted else 2


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
    source = data_source if data_source in ("defend", "windows", "winlogbeat") else "defend"
    command = shlex.join(["sigport", "mapping", *paths, "--data-source", source,
                          "-o", "caseless.json"])
    text = (
        f"kql: {len(exact)} of {len(converted)} converted rules are exact, {len(cased)} are "
        "case-sensitive approximations (Sigma matches case-insensitively)"
        + (f" and {other} other approximations" if other else "")
        + f"; `{command}` writes the index template that makes the case-sensitive ones exact"
        " (then convert with --mapping caseless.json)"
    )
    if mapping is not None:
        text += f"; {mapping} has no lowercase-normalised multi-field for their fields"
    return text
