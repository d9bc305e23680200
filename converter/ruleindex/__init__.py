"""Many rules per event: evaluate a rule set on each event, touching only the candidates.

``index.py`` is the ``RuleIndex``; ``needs.py`` derives each rule's necessary literals;
``literals.py`` finds which of them occur in an event (Aho-Corasick when available).
"""

from __future__ import annotations

import importlib
from typing import Any

# Public names, imported on first use: importing one submodule of the package does not
# import the others (no cycles between packages, no cost for what is not used).
_EXPORTS = {
    "RuleIndex": "index",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """The public name ``name``, imported from its submodule on first use."""
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
