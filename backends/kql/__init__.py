"""Kibana Query Language (KQL, Kibana's "kuery"): emitter, interpreter and semantics table.

``backend.KqlBackend`` converts Sigma rules to KQL text; ``parser.parse`` turns KQL text back into
the shared query tree using ``semantics.SEMANTICS``. The parser never imports the backend.
"""
