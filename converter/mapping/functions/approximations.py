"""Approximations a value function declares instead of refusing a test.

Some shippers change a value on its way to the index in a way no query can undo, yet the test
stays right on all but a sliver of values: the Windows integration trims a PowerShell script
block's edges (``trim.py``), so ``ScriptBlockText|contains: 'IEX '`` misses only a block whose
last characters are ``IEX`` and whitespace. Refusing such a rule leaves the user with nothing;
converting it silently would be a false promise. A query side calls ``approximate(reason)``: while
``FunctionFieldTransformation`` maps a rule (``collecting``), the reason becomes a conversion
warning on the rule, which ``check`` reads as a declared approximation ("not proven", never
"equivalent"); with no collector (a caller outside a pipeline) it is refused as before. A
declaration may name the Sigma field whose value the shipper trims (``trims``): ``check`` then
knows an event that disagrees only because of the trimming for the declared difference it is
(``converter/checking/dropped.py``), not a "differs".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from converter.mapping.functions.tree import NotExact

#: One declaration: its reason and the Sigma field whose value the shipper trims (or None).
Declaration = tuple[str, "str | None"]

_COLLECTED: ContextVar[list[Declaration] | None] = ContextVar(
    "sigport_approximations", default=None
)


def approximate(reason: str, trims: str | None = None) -> None:
    """Declare that the test being rewritten is approximate for ``reason`` (a full sentence
    naming the field), and, with ``trims``, that the difference is the shipper trimming that
    Sigma field's value; refused with ``NotExact`` when no pipeline collects declarations."""
    collected = _COLLECTED.get()
    if collected is None:
        raise NotExact(reason)
    if (reason, trims) not in collected:
        collected.append((reason, trims))


@contextmanager
def collecting() -> Iterator[list[Declaration]]:
    """Collect the ``approximate`` declarations made inside the block, in order."""
    found: list[Declaration] = []
    token = _COLLECTED.set(found)
    try:
        yield found
    finally:
        _COLLECTED.reset(token)
