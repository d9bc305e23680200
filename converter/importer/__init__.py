"""``sigport import elastic``: Elastic detection rules to Sigma rules, each proven by a round trip.

``read.py`` reads detection-rules TOML and Kibana NDJSON; ``lower.py`` lowers a parsed
Elastic query to a Sigma detection, with ``taxonomy.py`` mapping its ECS fields back to Sigma
taxonomy where that is exact; ``regex.py`` rewrites Lucene regular expressions as
PCRE; ``roundtrip.py`` proves each imported rule on generated events; ``elastic.py``
drives the import and writes the rules and the report.
"""

from __future__ import annotations

from converter.lazy import lazy_getattr

# Public names, imported on first use: importing one submodule of the package does not
# import the others (no cycles between packages, no cost for what is not used).
_EXPORTS = {
    "import_elastic": "elastic",
}
__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__ + ".", _EXPORTS, __name__)
