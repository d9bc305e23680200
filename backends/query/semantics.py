"""The per-language semantics table: every way a language's matching differs, as named data.

Each language's ``backends/<lang>/semantics.py`` builds one frozen ``Semantics`` with a vendor doc
link per entry. Parsers consult it while lowering text to the shared tree (``ast.py``), so the
evaluator itself is language-neutral.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

from .ast import Missing

T = TypeVar("T")


@dataclass(frozen=True)
class Rule:
    """One documented semantic fact: its value and the vendor document that states it."""

    value: object
    doc: str
    note: str = ""


@dataclass(frozen=True)
class Semantics:
    """How one query language matches, entry by entry.

    Attributes:
        name: the language's name.
        entries: named facts (``"eq_case_sensitive"``, ``"single_wildcard"``, ...), each a ``Rule``
            with its doc link. Parsers and emitters read them with ``get``.
    """

    name: str
    entries: dict[str, Rule] = field(default_factory=dict)

    def get(self, key: str) -> object:
        """Return the value of entry ``key``; a missing entry is a programming error."""
        return self.entries[key].value

    def typed(self, key: str, kind: type[T]) -> T:
        """Return entry ``key``, checked to be a ``kind`` (a table of the wrong shape is a
        programming error, found at import rather than while matching)."""
        value = self.get(key)
        if not isinstance(value, kind):
            raise TypeError(
                f"semantics entry {key!r} of {self.name} is a {type(value).__name__}, "
                f"not a {kind.__name__}"
            )
        return value

    def missing(self, key: str) -> Missing:
        """Return entry ``key`` as a ``Missing`` policy."""
        return self.typed(key, Missing)
