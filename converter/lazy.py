"""Lazy public names for the packages of ``converter``.

Each package lists its public names with the module that defines them and imports that module
on first use, so importing one submodule does not import its siblings (no cycles between
packages, no start-up cost for what a command does not use). One implementation serves every
package's module-level ``__getattr__`` (PEP 562).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_getattr(prefix: str, exports: dict[str, str], package: str) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``prefix + exports[name]`` and returns ``name``.

    Args:
        prefix: prepended to each module name (``"converter.checking."`` for a package's own
            submodules, ``""`` when ``exports`` holds absolute module names).
        exports: public name -> module defining it.
        package: the package's ``__name__``, for the AttributeError of an unknown name.
    """

    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(importlib.import_module(prefix + exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
