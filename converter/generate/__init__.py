"""Test events generated from a rule's own detection: positives and near misses.

``plan.py`` turns the condition tree into plans (the literal tests an event must pass);
``regex.py`` finds a string a regular expression matches; ``values.py`` makes plans into
events and mutates values into near misses; ``generator.py`` puts them together.
"""

from __future__ import annotations

import importlib
from typing import Any

# Public names, imported on first use: importing one submodule of the package does not
# import the others (no cycles between packages, no cost for what is not used).
_EXPORTS = {
    "generate_events": "generator",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """The public name ``name``, imported from its submodule on first use."""
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
