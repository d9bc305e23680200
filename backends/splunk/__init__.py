"""Splunk SPL (raw event searches and CIM ``tstats``).

The same files as every language folder: ``backend.py`` and ``backend_cim.py`` (the emitters,
``SigportSplunkBackend``, ``SigportSplunkCimBackend``), ``grammar.lark`` and ``parser.py``
(``parse(text, fields)``, the interpreter's entry point), ``lower.py`` (``Lowering``: lark's tree
to the shared tree in ``backends/query``) and ``semantics.py`` (``SEMANTICS``, every matching fact
with its vendor doc, and ``LANGUAGE``). Also ``where.py`` (eval expressions of the interpreter),
``simplify.py``, ``spl_text.py``, ``terms.py`` and ``backend_deferred.py`` (the emitter's). The
interpreter never imports the emitter.
"""
