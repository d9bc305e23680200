"""Conversion: Sigma rules to one target's queries, one corpus on every core.

``convert.py`` converts rules for one target and accounts for every rule (converted,
unsupported, error, with the reason: ``result.py``, which needs no pySigma); ``routing.py``
makes a pipeline call only the items that may apply to a rule's log source, and ``shared.py``
applies the items that several targets' pipelines have in common once per rule (one pass per
schema); ``batch.py`` runs that over a corpus in worker processes, in input order (``worker.py``
is one worker's side, ``meta.py`` the picklable results they send back, ``filecache.py`` those
results in the persistent cache); ``datasource.py`` is the end-of-run hint about another data
source.
"""

from __future__ import annotations

from converter.lazy import lazy_getattr

# Public names, imported on first use: importing one submodule of the package does not
# import the others (no cycles between packages, no cost for what is not used).
_EXPORTS = {
    "convert_all": "convert",
    "Conversion": "convert",
    "Converter": "convert",
    "convert_paths": "batch",
}
__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__ + ".", _EXPORTS, __name__)
