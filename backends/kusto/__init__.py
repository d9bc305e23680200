"""Microsoft Kusto (Sentinel, Defender XDR advanced hunting; not Kibana's KQL).

The same files as every language folder: ``backend.py`` (the emitter, ``SigportKustoBackend``),
``grammar.lark`` and ``parser.py`` (``parse(text, fields)``, the interpreter's entry point),
``lower.py`` (``Lowering``: lark's tree to the shared tree in ``backends/query``) and
``semantics.py`` (``SEMANTICS``, every matching fact with its vendor doc, and ``LANGUAGE``). Also
``regex.py`` and ``text.py`` (the emitter's regex translation and literals). The interpreter never
imports the emitter.
"""
