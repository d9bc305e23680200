"""Mapping Sigma's taxonomy onto each target's schema: tables as data, the pipelines they build.

``tables/*.yml`` are the mapping tables (documented in ``tables/README.md``); ``table.py``
loads and validates them; ``pipeline.py`` builds pySigma processing pipelines from them (and
loads users' own pipeline YAML); ``transformations.py`` holds sigport's own pySigma
transformations; ``index_mapping.py`` reads a user's Elasticsearch mapping (``--mapping``)
as a data source's field model; ``partial.py`` evaluates a rule on a data source that never
records some of its fields; ``functions/`` the tables' value functions, each in both directions.
"""

from __future__ import annotations

from converter.lazy import lazy_getattr

# Public names, imported on first use: importing one submodule of the package does not
# import the others (no cycles between packages, no cost for what is not used).
_EXPORTS = {
    "load_table": "table",
    "builtin_table_names": "table",
    "MappingTable": "table",
}
__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__ + ".", _EXPORTS, __name__)
