"""Kibana Query Language (KQL, Kibana's "kuery"; not Microsoft's Kusto).

The same files as every language folder: ``backend.py`` (the emitter, ``SigportKqlBackend``),
``grammar.lark`` and ``parser.py`` (``parse(text, fields)``, the interpreter's entry point),
``lower.py`` (``Lowering``: lark's tree to the shared tree in ``backends/query``) and
``semantics.py`` (``SEMANTICS``, every matching fact with its vendor doc, and ``LANGUAGE``). The
interpreter never imports the emitter.
"""
