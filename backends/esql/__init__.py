"""Elasticsearch ES|QL: the emitter only.

``backend.py`` (``SigportEsqlBackend``) and ``semantics.py`` (``SEMANTICS``, ``LANGUAGE``);
sigport has no ES|QL interpreter yet (no ``grammar.lark``, ``parser.py``, ``lower.py``), so
``check`` reports the target as not checked.
"""
