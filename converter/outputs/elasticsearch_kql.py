"""The ``es-dsl`` and ``esql`` formats of the ``kql-es`` target: its query objects wrapped.

The target's query is a Query DSL query object: a ``kql`` query, or, for a rule holding a regex
that no wildcard value writes, a ``bool`` tree of ``kql`` and ``regexp`` queries
(``backends/kql_es/backend_dsl.py``).

* ``es-dsl``: one search request body per query, ``{"query": {"bool": {"filter": [<query>]}}}``
  (https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-kql-query);
* ``esql``: ``FROM <indices> | WHERE KQL("<query>", {"case_insensitive": ...})`` with the data
  source's index patterns (https://www.elastic.co/docs/reference/query-languages/esql/
  functions-operators/search-functions/kql; the options map needs stack 9.3): a standalone
  query, without ``METADATA``, which only makes metadata fields readable
  (https://www.elastic.co/docs/reference/query-languages/esql/esql-metadata-fields); the rule
  form below adds it;
* ``kibana-ndjson``: an Elastic Security ES|QL rule (``"type": "esql", "language": "esql"``,
  the only rule type whose query can carry ``case_insensitive``; a custom query rule's
  ``language`` is ``kuery`` or ``lucene``, read by Kibana, not by this plugin). Its query is the
  ``esql`` form with ``METADATA _id, _index, _version`` after the indices: a non-aggregating
  ES|QL rule needs them to deduplicate alerts before 9.4, where Kibana adds ``_id`` itself
  (Detection rules API, create an ES|QL rule:
  https://www.elastic.co/guide/en/security/current/rules-api-create.html; ES|QL rules:
  https://www.elastic.co/docs/solutions/security/detect-and-alert/esql).

The ``esql`` and ``kibana-ndjson`` forms hold one ``KQL()`` call: a ``bool`` tree has no exact
ES|QL form here (``RLIKE`` returns null on a multi-valued field, where the ``regexp`` query
matches any value; the docs do not say how ``KQL()`` behaves inside OR or NOT). ``unwritable``
gives those forms the rule written as one ``kql`` query instead, which the emitter records
beside the tree with its declared approximations (a case-insensitive value tested
case-sensitively, a ``.caseless`` field's length limit), or a refusal with the reason when there
is none (a regex that no wildcard value writes). The query text is the emitter's; only the
wrapping is done here.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from backends.kql_es import ONE_QUERY
from converter.conversion.result import UNSUPPORTED, Conversion

#: ES|QL string escapes (https://www.elastic.co/docs/reference/query-languages/esql/esql-syntax).
_ESQL_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
#: Where the data source names no index.
DEFAULT_INDEX = "logs-*"


def _query(query: str) -> dict[str, Any]:
    obj = json.loads(query)
    if not isinstance(obj, dict) or len(obj) != 1:
        raise ValueError("the es-dsl and esql formats need kql-es queries")
    return obj


def _kql(query: str) -> dict[str, Any]:
    obj = _query(query)
    if "kql" not in obj:
        raise ValueError("the esql format needs kql-es queries that are one kql query")
    return dict(obj["kql"])


#: The formats whose query is one ES|QL ``KQL()`` call.
ESQL_FORMATS = ("esql", "kibana-ndjson")


def unwritable(conv: Conversion, output_format: str) -> Conversion:
    """``conv`` as ``output_format`` can hold it: for an ES|QL form, a ``bool`` tree query is
    replaced by the rule's condition written as one ``kql`` query (``ONE_QUERY``, recorded by
    the emitter, with the approximations that brings among the warnings), or the conversion is
    a refusal with the reason when no such query exists (a regex that no wildcard value
    writes)."""
    if conv.target != "kql-es" or output_format not in ESQL_FORMATS or not conv.queries:
        return conv
    trees = [i for i, q in enumerate(conv.queries) if "kql" not in _query(q)]
    if not trees:
        return conv
    forms = (getattr(conv.rule, "custom_attributes", None) or {}).get(ONE_QUERY) or {}
    entries = [forms.get(i) or {} for i in trees]
    if not all("query" in entry for entry in entries):
        reason = next((e["reason"] for e in entries if "reason" in e), None)
        return replace(
            conv, status=UNSUPPORTED, queries=[],
            reason="ES|QL's KQL() holds one kql query, and this rule needs a regexp query beside "
            "it" + (f" ({reason})" if reason else "") + "; convert with -f es-dsl (a bool of "
            "kql and regexp queries) or use the lucene or eql target",
        )
    queries, warnings, exact = list(conv.queries), list(conv.warnings), list(conv.exact_warnings)
    for i, entry in zip(trees, entries):
        queries[i] = entry["query"]
        warnings += [w for w in entry["warnings"] if w not in warnings]
        exact += [w for w in entry["exact"] if w not in exact]
    return replace(conv, queries=queries, warnings=warnings, exact_warnings=exact)


def esql_string(text: str) -> str:
    """``text`` as an ES|QL double-quoted string literal."""
    return '"' + "".join(_ESQL_ESCAPES.get(c, c) for c in text) + '"'


def render_es_dsl(conversions: list[Conversion], **_: Any) -> str:
    """One search request body per query, one per line."""
    lines = [
        json.dumps({"query": {"bool": {"filter": [_query(q)]}}}, ensure_ascii=False)
        for c in conversions for q in c.queries
    ]
    return "\n".join(lines) + ("\n" if lines else "")


#: The metadata fields an ES|QL detection rule's non-aggregating query returns for alert
#: deduplication (see the module docstring).
RULE_METADATA = "METADATA _id, _index, _version"


def esql_query(
    conv: Conversion, query: str, data_source: str | None = None, metadata: bool = False
) -> str:
    """One ES|QL query reading the data source's indices (with the rule ``METADATA`` when
    ``metadata``)."""
    from converter.outputs.kibana import source_facts

    kql = _kql(query)
    indices = list(source_facts(conv.rule, data_source).get("index") or []) or [DEFAULT_INDEX]
    options = {"case_insensitive": bool(kql.get("case_insensitive", False))}
    source = ", ".join(indices) + (f" {RULE_METADATA}" if metadata else "")
    return f"FROM {source} | WHERE KQL({esql_string(kql['query'])}, {json.dumps(options)})"


def rule_query(conv: Conversion, query: str, data_source: str | None = None) -> str:
    """The query of the Elastic Security rule for ``query``: a kql-es query object becomes the
    ES|QL rule query; any other target's query is the rule's as it is."""
    if conv.target != "kql-es":
        return query
    return esql_query(conv, query, data_source, metadata=True)


def render_esql(conversions: list[Conversion], data_source: str | None = None, **_: Any) -> str:
    """One ES|QL query per line."""
    lines = [esql_query(c, q, data_source) for c in conversions for q in c.queries]
    return "\n".join(lines) + ("\n" if lines else "")
