"""Loading Sigma rules: files, directories and standard input, bounded YAML, per-rule limits.

``load.py`` finds and parses rule files, losing none of them (every failure is a
``RuleLoadError`` with the file); ``bounded_yaml.py`` reads YAML with libyaml's speed and
refuses hostile documents; ``limits.py`` caps what one rule may cost before pySigma builds it.
"""

from __future__ import annotations

import importlib
from typing import Any

# Public names, imported on first use: importing one submodule of the package does not
# import the others (no cycles between packages, no cost for what is not used).
_EXPORTS = {
    "load_rules": "load",
    "load_text": "load",
    "expand_paths": "load",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """The public name ``name``, imported from its submodule on first use."""
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
