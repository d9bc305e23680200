"""Microsoft Kusto (Sentinel, Defender XDR advanced hunting): emitter, interpreter, semantics.

Not Kibana's KQL (``backends/kql``). ``backend.SigportKustoBackend`` converts Sigma rules to
Kusto text; ``parser.parse`` turns Kusto text back into the shared query tree using
``semantics.SEMANTICS``. The parser never imports the backend.
"""
