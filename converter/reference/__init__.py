"""The reference evaluator: does a Sigma rule match an event, by Sigma's own semantics.

It is the yardstick every target's query is checked against, so it imports nothing from
``backends`` (``tests/test_architecture.py``). ``evaluator.py`` compiles a rule and
evaluates its condition; ``predicates.py`` compiles its leaves (one field test, OR-ed
keywords); ``values.py`` matches one typed Sigma value; ``fields.py`` reads an
event's field values; ``semantics.py`` is the table of the semantic choices
(``SIGMA_SEMANTICS``) with the specification text each rests on; ``logsources.py`` decides
which events belong to a rule's logsource.
"""

from __future__ import annotations

from converter.lazy import lazy_getattr

# Public names, imported on first use: importing one submodule of the package does not
# import the others (no cycles between packages, no cost for what is not used).
_EXPORTS = {
    "compile_rule": "evaluator",
    "CompiledRule": "evaluator",
    "SIGMA_SEMANTICS": "semantics",
}
__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__ + ".", _EXPORTS, __name__)
