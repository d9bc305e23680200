"""Elasticsearch EQL.

The same files as every language folder: ``backend.py`` (the emitter, ``SigportEqlBackend``),
``grammar.lark`` and ``parser.py`` (``parse(text, fields)``, the interpreter's entry point),
``lower.py`` (``Lowering``: lark's tree to the shared tree in ``backends/query``) and
``semantics.py`` (``SEMANTICS``, every matching fact with its vendor doc, and ``LANGUAGE``). Also
``operands.py`` (operand values and string decoding). The interpreter never imports the emitter.
"""
