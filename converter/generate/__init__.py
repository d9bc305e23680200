"""Test events generated from a rule's own detection: positives and near misses.

``plan.py`` turns the condition tree into plans (the literal tests an event must pass);
``regex.py`` finds a string a regular expression matches; ``values.py`` makes plans into
events and mutates values into near misses; ``generator.py`` puts them together.
"""

from __future__ import annotations

from converter.lazy import lazy_getattr

# Public names, imported on first use: importing one submodule of the package does not
# import the others (no cycles between packages, no cost for what is not used).
_EXPORTS = {
    "generate_events": "generator",
}
__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__ + ".", _EXPORTS, __name__)
