"""The ``es-dsl`` and ``esql`` formats of the ``kql-es`` target: its query objects wrapped.

The target's query is a Query DSL query object: a ``kql`` query, or, for a rule holding a regex
that no wildcard value writes, a ``bool`` tree of ``kql`` and ``regexp`` queries
(``backends/kql_es/backend_dsl.py``).

* ``es-dsl``: one search request body per query, ``{"query": {"bool": {"filter": [<query>]}}}``
  (https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-kql-query);
* ``esql``: ``FROM <indices> | WHERE <condition>`` (``KQL("<query>", {"case_insensitive": ...})``
  for a ``kql`` query, see below) with the data
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

In the ``esql`` and ``kibana-ndjson`` forms the query object is an ES|QL condition: a ``kql``
query is ``KQL("<query>", {"case_insensitive": ...})``, a ``regexp`` query ``QSTR("<field>:/<regex>/")``
(query_string's regex term is the same Lucene RegExp, flags ALL, case-sensitive), a ``bool``
query ``AND`` of its ``filter``, ``OR`` of its ``should`` and ``NOT`` of each ``must_not``
(kql-es semantics ``esql_tree_form``: full-text functions are true or false, never null, and
may sit under AND, OR and NOT since 8.18 / 9.0). ``unwritable`` refuses, with the reason, a
query with a ``regexp`` on a field whose name query_string cannot hold. The query text is the
emitter's; only the wrapping is done here.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

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


#: The formats whose query is an ES|QL condition (``esql_condition``).
ESQL_FORMATS = ("esql", "kibana-ndjson")


def unwritable(conv: Conversion, output_format: str) -> Conversion:
    """``conv`` as ``output_format`` can hold it: for an ES|QL form, a refusal with the reason
    when a query has no ES|QL condition (a ``regexp`` on a field name query_string reads as a
    pattern), else ``conv``."""
    if conv.target != "kql-es" or output_format not in ESQL_FORMATS:
        return conv
    if not any('"regexp"' in query for query in conv.queries):
        return conv  # only a regexp's field can be unwritable
    # Only here: a run whose every result is cached imports no pySigma (the test of that in
    # tests/converter/conversion/test_convert_cache.py), and this runs for every conversion.
    from sigma.exceptions import SigmaError

    try:
        for query in conv.queries:
            esql_condition(_query(query))
    except SigmaError as exc:
        return replace(
            conv, status=UNSUPPORTED, queries=[],
            reason=f"no ES|QL form: {exc}; convert with -f es-dsl (a bool of kql and regexp "
            "queries)",
        )
    return conv


def esql_condition(obj: dict[str, Any]) -> str:
    """A kql-es query object (``kql``, ``regexp`` or a ``bool`` of them) as an ES|QL condition
    (see the module docstring)."""
    if "kql" in obj:
        kql = obj["kql"]
        options = {"case_insensitive": bool(kql.get("case_insensitive", False))}
        return f"KQL({esql_string(kql['query'])}, {json.dumps(options)})"
    if "regexp" in obj:
        from backends.esql.backend import qstr_regexp  # pySigma: imported only for a regexp

        ((field, spec),) = obj["regexp"].items()
        return qstr_regexp(field, spec["value"])
    clauses = obj["bool"]
    parts = [_operand(child) for child in clauses.get("filter", [])]
    should = [_operand(child) for child in clauses.get("should", [])]
    if should:
        parts.append(should[0] if len(should) == 1 else "(" + " OR ".join(should) + ")")
    parts += [f"NOT {_operand(child)}" for child in clauses.get("must_not", [])]
    return " AND ".join(parts)


def _operand(obj: dict[str, Any]) -> str:
    """``esql_condition`` of a child: a ``bool`` child parenthesised."""
    text = esql_condition(obj)
    return f"({text})" if "bool" in obj else text


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

    indices = list(source_facts(conv.rule, data_source).get("index") or []) or [DEFAULT_INDEX]
    source = ", ".join(indices) + (f" {RULE_METADATA}" if metadata else "")
    return f"FROM {source} | WHERE {esql_condition(_query(query))}"


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
