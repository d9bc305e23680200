"""Splunk SPL: pySigma-based emitters (``backend.py``) and the SPL interpreter (``parser.py``).

The interpreter never imports the emitters; ``semantics.py`` documents every matching rule both
rely on, with Splunk doc links.
"""

from __future__ import annotations

from .parser import parse
from .semantics import SPL_SEMANTICS

__all__ = ["SPL_SEMANTICS", "parse"]
