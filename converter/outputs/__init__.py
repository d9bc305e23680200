"""Outputs around the emitted queries: the formats and what they write.

``formats.py`` renders results per format and writes the directory tree; ``kibana.py``
(Kibana rule NDJSON), ``savedsearches.py`` (Splunk savedsearches.conf), ``sentinel.py``
(Microsoft Sentinel analytics YAML), ``attack.py`` (the bundled MITRE ATT&CK table),
``index_template.py`` (``sigport mapping``: the Elasticsearch index template that makes KQL
exact for a rule set), and ``files.py`` (writing files safely: never through a symbolic
link, always whole).
"""

from __future__ import annotations

from converter.lazy import lazy_getattr

# Public names, imported on first use: importing one submodule of the package does not
# import the others (no cycles between packages, no cost for what is not used).
_EXPORTS = {
    "FORMATS": "formats",
    "write_named_file": "files",
}
__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__ + ".", _EXPORTS, __name__)
