"""Many rules per event: evaluate a rule set on each event, touching only the candidates.

``index.py`` is the ``RuleIndex``; ``needs.py`` derives each rule's necessary literals;
``literals.py`` finds which of them occur in an event (Aho-Corasick when available).
"""

from __future__ import annotations

from converter.lazy import lazy_getattr

# Public names, imported on first use: importing one submodule of the package does not
# import the others (no cycles between packages, no cost for what is not used).
_EXPORTS = {
    "RuleIndex": "index",
}
__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__ + ".", _EXPORTS, __name__)
