"""Elasticsearch's own KQL: the ``kql`` Query DSL query and ES|QL's ``KQL()`` function.

Elasticsearch 9 parses KQL itself (x-pack/plugin/kql, an ANTLR grammar ``KqlBase.g4``), with
a ``case_insensitive`` parameter Kibana's search bar does not have. Its grammar and its
translation to queries differ from Kibana's in ways that change what a query matches (see
``semantics.py``), so it is a language folder of its own rather than a mode of ``backends/kql``:
``backend.py`` (the emitter, a configured subclass of the Kibana KQL emitter), ``grammar.lark``,
``parser.py`` (``parse(text, fields)``: the query string, a ``kql`` query / search body JSON or an
ES|QL query of its ``KQL()`` / ``QSTR()`` tree form, read by the ES|QL interpreter), ``lower.py`` and ``semantics.py``. The interpreter never imports the
emitter.
"""
