"""Elasticsearch's own KQL: the ``kql`` Query DSL query and ES|QL's ``KQL()`` function.

Elasticsearch 9 parses KQL itself (x-pack/plugin/kql, an ANTLR grammar ``KqlBase.g4``), with
a ``case_insensitive`` parameter Kibana's search bar does not have. Its grammar and its
translation to queries differ from Kibana's in ways that change what a query matches (see
``semantics.py``), so it is a language folder of its own rather than a mode of ``backends/kql``:
``backend.py`` (the emitter, a configured subclass of the Kibana KQL emitter), ``grammar.lark``,
``parser.py`` (``parse(text, fields)``: the query string, a ``kql`` query / search body JSON or an
ES|QL ``WHERE KQL(...)``), ``lower.py`` and ``semantics.py``. The interpreter never imports the
emitter.
"""

#: The rule's ``custom_attributes`` key of its queries written as one ``kql`` query each, for the
#: forms that hold one (ES|QL ``KQL()``): query index -> ``{"query", "warnings", "exact"}``, or
#: ``{"reason"}`` when no such query exists. Written by the emitter beside a ``bool`` tree
#: (``backend.py``), read by ``converter/outputs/elasticsearch_kql.py``; defined here, where
#: reading it imports no pySigma.
ONE_QUERY = "sigport_kql_es_one_query"
