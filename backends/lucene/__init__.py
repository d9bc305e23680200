"""Elasticsearch Lucene ``query_string``.

The same files as every language folder: ``backend.py`` (the emitter, ``SigportLuceneBackend``),
``grammar.lark`` and ``parser.py`` (``parse(text, fields)``, the interpreter's entry point),
``lower.py`` (``Lowering``: lark's tree to the shared tree in ``backends/query``) and
``semantics.py`` (``SEMANTICS``, every matching fact with its vendor doc, and ``LANGUAGE``). Also
``regex.py``, ``pcre.py`` and ``charset.py`` (the emitter's regex translation). The interpreter
never imports the emitter.
"""
