"""Python's own regular-expression parser, compiler and constants, under one name.

Several layers read a pattern's parse tree (the reference's engine gaps and the rule index's
required literals, the emitters' glob and plain-regex shapes, the mapping's line-break and
entity analyses, the interpreters' pattern checks). Python 3.11 moved these modules to
``re._parser`` / ``re._compiler`` / ``re._constants``; 3.10 names them ``sre_parse`` /
``sre_compile`` / ``sre_constants``. They are the standard library's, not a backend's escaping:
this module imports nothing of the project, so the reference evaluator may use it too
(tests/test_architecture.py).
"""

from __future__ import annotations

try:  # Python 3.11+
    from re import _compiler as sre_compile  # type: ignore[attr-defined]
    from re import _constants as sre_constants  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_compile  # type: ignore[no-redef]
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

__all__ = ["sre_compile", "sre_constants", "sre_parse"]
