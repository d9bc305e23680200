"""The target registry: one entry per query language sigport emits and interprets.

Each language lives in its own folder (``backends/<lang>/``) with the same files: ``backend.py``
(the pySigma emitter), ``grammar.lark`` + ``parser.py`` + ``lower.py`` (text to the shared tree in
``backends/query``) and ``semantics.py`` (``SEMANTICS``, its documented quirks, and ``LANGUAGE``). ``TARGETS`` is the one place that lists them; the CLI, the equivalence
checker and the tests iterate it, so adding a language touches its folder and one line here.

Entries name their classes and functions by import path and load them on first use, so that
importing the registry (and starting the CLI) costs nothing.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable


def _load(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class KibanaRuleKind:
    """How Elastic Security stores a rule of this target: the detection rule ``type`` and the
    query ``language`` (https://www.elastic.co/guide/en/security/current/rules-api-create.html)."""

    type: str
    language: str


@dataclass(frozen=True)
class TargetSpec:
    """One conversion target.

    Attributes:
        name: the target's CLI name (``-t NAME``).
        description: one line for ``sigport list targets``.
        backend: import path of the pySigma backend class (``module:Class``).
        parser: import path of the interpreter's ``parse`` function, or None when sigport cannot
            interpret this language yet (``check`` then reports "not checked" with the reason).
        semantics: import path of the language's ``SEMANTICS`` table, or None.
        pipeline: the built-in pipeline used when the user names none.
        schema: the event schema the target reads (``ecs``, ``splunk-sysmon``, ``splunk-cim``):
            which rendering of the sample events its queries are evaluated on.
        eql_category: the language has event categories (``process where``).
        caseless_subfields: how the pipeline uses ``.caseless`` multi-fields (see
            ``converter.mapping.pipeline.TargetTraits``).
        caseless_copies: the pipeline moves case-insensitive string tests to the caseless copies
            an ingest pipeline writes (``--mapping`` from ``sigport mapping``) and encodes their
            values; the emitter then tests them case-sensitively.
        regex_globs: the language has no regular expressions; the pipeline writes a ``|re``
            test whose regex is a finite union of wildcard values as those values
            (``backends.regex_globs``).
        field_model: the interpreter needs the Elasticsearch field model (types, multi-fields).
        suffix: the file suffix of a query in the ``default`` format (``-o DIR`` output).
        formats: output formats with descriptions; ``default`` is one query per rule.
        kibana_rule: the Elastic Security rule kind, for targets with the ``kibana-ndjson`` format.
        backend_options: keyword arguments for the backend's constructor.
        no_interpreter_reason: why ``parser`` is None.
    """

    name: str
    description: str
    backend: str
    parser: str | None
    semantics: str | None
    pipeline: str
    schema: str
    suffix: str
    eql_category: bool = False
    caseless_subfields: str = "no"
    caseless_copies: bool = False
    regex_globs: bool = False
    field_model: bool = False
    formats: dict[str, str] = field(default_factory=lambda: {"default": "one query per rule"})
    kibana_rule: KibanaRuleKind | None = None
    backend_options: dict[str, Any] = field(default_factory=dict)
    no_interpreter_reason: str | None = None

    def backend_class(self) -> type:
        """The pySigma backend class (imported on first use)."""
        return _load(self.backend)

    def parse_function(self) -> Callable[..., Any] | None:
        """The interpreter's ``parse(text, fields=None)`` function, or None."""
        return _load(self.parser) if self.parser else None



_ELASTIC_FORMATS = {
    "default": "one query per rule",
    "kibana-ndjson": "Elastic Security detection rules, one JSON object per line (Kibana rule import)",
}
_KUSTO_FORMATS = {
    "default": "one query per rule (`Table | where ...`)",
    "sentinel-yaml": "Microsoft Sentinel scheduled analytics rules (Azure-Sentinel detections YAML)",
}
_SPLUNK_FORMATS = {
    "default": "one search per rule",
    "savedsearches": "Splunk savedsearches.conf stanzas",
}

TARGETS: dict[str, TargetSpec] = {
    spec.name: spec
    for spec in (
        TargetSpec(
            "eql",
            "Elasticsearch Event Query Language (Elastic Security EQL rules)",
            "backends.eql.backend:SigportEqlBackend",
            "backends.eql.parser:parse",
            "backends.eql.semantics:SEMANTICS",
            pipeline="ecs-windows",
            schema="ecs",
            suffix=".eql",
            eql_category=True,
            caseless_copies=True,
            field_model=True,
            formats=_ELASTIC_FORMATS,
            kibana_rule=KibanaRuleKind("eql", "eql"),
        ),
        TargetSpec(
            "kql",
            "Kibana Query Language (Kibana search bar, Elastic Security custom query rules; "
            "not Microsoft's Kusto)",
            "backends.kql.backend:SigportKqlBackend",
            "backends.kql.parser:parse",
            "backends.kql.semantics:SEMANTICS",
            pipeline="ecs-windows",
            schema="ecs",
            suffix=".kql",
            caseless_subfields="all",
            caseless_copies=True,
            regex_globs=True,
            field_model=True,
            formats=_ELASTIC_FORMATS,
            kibana_rule=KibanaRuleKind("query", "kuery"),
        ),
        # Its own target, not a format of kql: Elasticsearch's KQL plugin has its own grammar and
        # escaping (backends/kql_es/semantics.py), so the query text itself differs, and a target
        # is what names an emitter and its interpreter here. Its formats only wrap that text.
        TargetSpec(
            "kql-es",
            "Elasticsearch's own KQL: the kql query / ES|QL KQL() with case_insensitive "
            "(stack 9.3)",
            "backends.kql_es.backend:SigportKqlEsBackend",
            "backends.kql_es.forms:parse",
            "backends.kql_es.semantics:SEMANTICS",
            pipeline="ecs-windows",
            schema="ecs",
            suffix=".json",
            caseless_subfields="all",
            caseless_copies=True,
            regex_globs=True,
            field_model=True,
            formats={
                "default": "one kql query object per query ({\"kql\": {\"query\": ..., "
                "\"case_insensitive\": ...}})",
                "es-dsl": "Elasticsearch search request bodies (the kql query in bool.filter), "
                "one JSON per line",
                "esql": "ES|QL queries `FROM <data source indices> | WHERE KQL(...)` (a tree: "
                "KQL() and QSTR() under AND/OR/NOT), one per line (an Elastic Security ES|QL "
                "rule's query)",
                "kibana-ndjson": "Elastic Security ES|QL rules (`FROM ... METADATA _id, _index, "
                "_version | WHERE KQL(...)`), one JSON object per line (Kibana rule import)",
            },
            kibana_rule=KibanaRuleKind("esql", "esql"),
        ),
        TargetSpec(
            "lucene",
            "Elasticsearch Lucene query_string syntax",
            "backends.lucene.backend:SigportLuceneBackend",
            "backends.lucene.parser:parse",
            "backends.lucene.semantics:SEMANTICS",
            pipeline="ecs-windows",
            schema="ecs",
            suffix=".lucene",
            caseless_subfields="lossless",
            caseless_copies=True,
            field_model=True,
            formats=_ELASTIC_FORMATS,
            kibana_rule=KibanaRuleKind("query", "lucene"),
        ),
        TargetSpec(
            "esql",
            "Elasticsearch ES|QL (from pysigma-backend-elasticsearch)",
            "backends.esql.backend:SigportEsqlBackend",
            "backends.esql.parser:parse",
            "backends.esql.semantics:SEMANTICS",
            pipeline="ecs-windows",
            schema="ecs",
            suffix=".esql",
            caseless_copies=True,
            field_model=True,
            formats=_ELASTIC_FORMATS,
            kibana_rule=KibanaRuleKind("esql", "esql"),
        ),
        TargetSpec(
            "splunk",
            "Splunk SPL searches over raw Sysmon / Windows event logs",
            "backends.splunk.backend:SigportSplunkBackend",
            "backends.splunk.parser:parse",
            "backends.splunk.semantics:SEMANTICS",
            pipeline="splunk-sysmon",
            schema="splunk-sysmon",
            suffix=".spl",
            formats=_SPLUNK_FORMATS,
        ),
        TargetSpec(
            "splunk-cim",
            "Splunk SPL tstats searches over the CIM Endpoint data model",
            "backends.splunk.backend_cim:SigportSplunkCimBackend",
            "backends.splunk.parser:parse",
            "backends.splunk.semantics:SEMANTICS",
            pipeline="splunk-cim",
            schema="splunk-cim",
            suffix=".spl",
            formats=_SPLUNK_FORMATS,
        ),
        TargetSpec(
            "kusto",
            "Microsoft Kusto (KQL of Sentinel and Defender XDR advanced hunting; "
            "not Kibana's kql)",
            "backends.kusto.backend:SigportKustoBackend",
            "backends.kusto.parser:parse",
            "backends.kusto.semantics:SEMANTICS",
            pipeline="kusto-windows",
            schema="kusto",
            suffix=".kusto",
            formats=_KUSTO_FORMATS,
        ),
    )
}

