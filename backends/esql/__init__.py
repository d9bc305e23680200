"""Elasticsearch ES|QL: the emitter and its interpreter.

``backend.py`` (``SigportEsqlBackend``) writes the queries; ``grammar.lark``, ``parser.py`` and
``lower.py`` read them back into the shared query tree; ``semantics.py`` (``SEMANTICS``,
``LANGUAGE``) holds the documented facts both follow. The interpreter never imports the emitter.
"""
