"""Kibana rule NDJSON: one Elastic Security detection rule object per converted rule.

Built from the rule's metadata, not by pySigma's stock finalizer (which downloads MITRE ATT&CK
data at conversion time and drops the Elastic settings a rule carries in its ``elastic:`` custom
attribute: index, interval, from, max signals, note, ...). Fields follow Elastic's detection rule
schema (https://www.elastic.co/guide/en/security/current/rules-api-create.html):

* ``threat``: tactics, techniques and sub-techniques with ids, names and references, from the
  bundled ATT&CK table (``converter/outputs/attack.py``);
* ``index``, ``timestamp_override`` and ``related_integrations``: from the data source the rule
  was converted for (``--data-source``; the ``sources`` section of the ``ecs-windows`` mapping
  table), unless the rule's ``elastic:`` settings name them;
* ``required_fields``: the fields the query tests, with their type from the bundled ECS field
  model (``backends/query/ecs_fields.yml``; ``ecs: false`` and type ``unknown`` for a field
  outside it).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any, Callable

import yaml

from backends import TARGETS
from backends.query.ingest import COPY_PREFIX

from converter.outputs.attack import attack_tags, threat
from converter.outputs.ids import DistinctIds
from converter.conversion.meta import detection_fields
from converter.conversion.result import Conversion

__all__ = ["attack_tags", "kibana_rule", "render_kibana_ndjson"]

#: Sigma level -> Elastic severity and default risk score (Elastic's prebuilt rules use 21/47/73/99).
ELASTIC_SEVERITY = {
    "informational": ("low", 21),
    "low": ("low", 21),
    "medium": ("medium", 47),
    "high": ("high", 73),
    "critical": ("critical", 99),
}

DEFAULT_INTERVAL = "5m"
_ESQL_FROM_ALL = "from * "


def _elastic_attrs(rule: Any) -> dict[str, Any]:
    value = (getattr(rule, "custom_attributes", None) or {}).get("elastic")
    return value if isinstance(value, dict) else {}


def _level(rule: Any) -> str:
    level = getattr(rule, "level", None)
    return level.name.lower() if level is not None else "medium"


def source_facts(rule: Any, data_source: str | None) -> dict[str, Any]:
    """The ``sources`` facts (index, timestamp_override, related_integrations) of the data
    source the rule was converted for: from the table that covers the rule's logsource, the
    ``ecs-windows`` table or one that extends it (``ecs-aws`` for CloudTrail, ...), each with
    ``data_source`` when it offers it, else its default (as the pipeline chose)."""
    from converter.mapping.loader import companion_tables, load_table, offered_by_companion
    from converter.mapping.table import MappingTable

    def source_of(table: MappingTable) -> str:
        choices = table.options.get("data_source", {}).get("choices") or []
        return str(data_source if data_source in choices else table.option_default("data_source"))

    main = load_table("ecs-windows")
    logsource = getattr(rule, "logsource", None)
    if logsource is not None:
        given = (logsource.product, logsource.category, logsource.service)
        # A data source only a companion offers (winlog): the pipeline mapped no logsource of
        # the main table, so its entries (Defend's security events ...) are not the rule's.
        skip_main = offered_by_companion(main.name, data_source)
        for table in (main, *(load_table(n) for n in companion_tables(main.name))):
            if table is main and skip_main:
                continue
            entry = table.for_logsource(*given, source_of(table))
            if entry is not None:
                facts = dict(table.sources.get(source_of(table)) or {})
                if source_of(table) in entry.index:  # the logsource's own data stream
                    facts["index"] = list(entry.index[source_of(table)])
                return facts
    return dict(main.sources.get(source_of(main)) or {})


@lru_cache(maxsize=1)
def _ecs_types() -> tuple[dict[str, str], dict[str, str]]:
    """(ECS field -> type, other known field -> type) from the bundled field model."""
    text = resources.files("backends.query").joinpath("ecs_fields.yml").read_text("utf-8")
    data = yaml.safe_load(text)
    ecs = {k: str(v.get("type", "unknown")) for k, v in (data.get("ecs_fields") or {}).items()}
    other: dict[str, str] = {}
    for section, value in data.items():
        if section in ("ecs_fields", "ecs_version") or not isinstance(value, dict):
            continue
        for name, spec in value.items():
            if isinstance(spec, dict) and "type" in spec:
                other.setdefault(name, str(spec["type"]))
    return ecs, other


def required_fields(conv: Conversion) -> list[dict[str, Any]]:
    """``required_fields``: each field the query names, with its ECS type."""
    query = conv.queries[0] if conv.queries else ""
    ecs, other = _ecs_types()
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for name in detection_fields(conv.rule):
        # A field of the rule that the query does not name (a test decided as a constant for
        # this data source) is not required.
        if name not in query:
            continue
        parent = name.rpartition(".")[0]
        if name not in ecs and name not in other and (parent in ecs or name.endswith(".caseless")):
            # A multi-field (Defend's or sigport mapping's .caseless, or one of the user's
            # --mapping whatever its name, below an ECS field): the field required is its parent.
            name = parent
        if name in seen:
            continue
        seen.add(name)
        if name in ecs:
            out.append({"name": name, "type": ecs[name], "ecs": True})
        elif name.startswith(COPY_PREFIX):  # a copy `sigport mapping`'s ingest pipeline writes
            out.append({"name": name, "type": "wildcard", "ecs": False})
        else:
            out.append({"name": name, "type": other.get(name, "unknown"), "ecs": False})
    return sorted(out, key=lambda f: f["name"])


#: Tag and note heading of a rule whose query the emitter declared approximate.
APPROXIMATION_TAG = "sigport: approximate"
APPROXIMATION_HEADING = "## sigport: where this query differs from the Sigma rule"


def approximations(conv: Conversion) -> list[str]:
    """The emitter's warnings that say where the query does not mean the rule (not the facts of
    the data source the query relies on, which leave it exact there)."""
    return [w for w in conv.warnings if w not in conv.exact_warnings]


#: Rewrites a converted query into the rule's query (the ES|QL wrapping of a kql-es query).
RuleQuery = Callable[[Conversion, str], str]


def kibana_rule(
    conv: Conversion, data_source: str | None = None, rule_query: RuleQuery | None = None
) -> dict[str, Any]:
    """One Elastic Security detection rule object for Kibana's rule import (its query through
    ``rule_query`` when given)."""
    rule = conv.rule
    elastic = _elastic_attrs(rule)
    facts = source_facts(rule, data_source)
    severity, risk = ELASTIC_SEVERITY.get(_level(rule), ("medium", 47))
    kind = TARGETS[conv.target].kibana_rule  # the Elastic rule type and query language
    if kind is None:
        raise ValueError(f"target {conv.target} has no Elastic Security rule kind")
    rule_type, language = kind.type, kind.language
    author = getattr(rule, "author", None)
    obj: dict[str, Any] = {
        "rule_id": str(elastic.get("rule_id") or conv.id),
        "name": conv.title,
        "description": (getattr(rule, "description", None) or conv.title or "").strip(),
        "risk_score": int(elastic.get("risk_score", risk)),
        "severity": str(elastic.get("severity", severity)),
        "type": rule_type,
        "language": language,
        "query": (rule_query or (lambda _, q: q))(conv, conv.queries[0]) if conv.queries else "",
        "index": list(elastic.get("index") or facts.get("index") or []),
        "interval": str(elastic.get("interval", DEFAULT_INTERVAL)),
        "from": str(elastic.get("from", "now-9m")),
        "to": "now",
        "max_signals": int(elastic.get("max_signals", 100)),
        "enabled": False,
        "author": [a.strip() for a in str(author).split(",")] if author else [],
        "tags": list(elastic.get("tags") or [f"{t.namespace}.{t.name}" for t in rule.tags]),
        "threat": elastic.get("threat") or threat(rule),
        "false_positives": list(getattr(rule, "falsepositives", None) or []),
        "references": list(getattr(rule, "references", None) or []),
        "required_fields": required_fields(conv),
        "version": 1,
    }
    if rule_type == "esql":
        # An ES|QL query names its indices in FROM: the data source's, where the query reads all.
        index = obj.pop("index")
        if index and obj["query"].startswith(_ESQL_FROM_ALL):
            obj["query"] = f"from {', '.join(index)} " + obj["query"][len(_ESQL_FROM_ALL):]
    elif not obj["index"]:
        obj.pop("index")
    timestamp = elastic.get("timestamp_override") or facts.get("timestamp_override")
    if timestamp:
        obj["timestamp_override"] = str(timestamp)
    integrations = elastic.get("related_integrations") or facts.get("related_integrations")
    if integrations:
        obj["related_integrations"] = [dict(i) for i in integrations]
    if getattr(rule, "license", None):
        obj["license"] = rule.license
    for key in ("note", "setup"):
        if elastic.get(key):
            obj[key] = elastic[key]
    caveats = approximations(conv)
    if caveats:
        # The analyst who opens the rule in Kibana sees where the query is not the Sigma rule.
        section = APPROXIMATION_HEADING + "\n\n" + "\n".join(f"- {c}" for c in caveats)
        obj["note"] = f"{obj['note']}\n\n{section}" if obj.get("note") else section
        if APPROXIMATION_TAG not in obj["tags"]:
            obj["tags"].append(APPROXIMATION_TAG)
    if len(conv.queries) > 1:
        obj["description"] += " (sigport: the rule has several conditions; this is the first)"
    return obj


def render_kibana_ndjson(
    conversions: list[Conversion], data_source: str | None = None,
    rule_query: RuleQuery | None = None,
) -> str:
    """All converted rules as NDJSON (one rule object per line); rules sharing an id get
    distinct rule_ids (``converter.outputs.ids``)."""
    ids = DistinctIds()
    lines = []
    for conv in conversions:
        if not conv.queries:
            continue
        obj = kibana_rule(conv, data_source, rule_query)
        obj["rule_id"], note = ids.claim(obj["rule_id"], conv.path, conv.title)
        if note:
            obj["description"] = f"{obj['description']} {note}".strip()
        lines.append(json.dumps(obj, ensure_ascii=False))
    return "\n".join(lines) + ("\n" if lines else "")
