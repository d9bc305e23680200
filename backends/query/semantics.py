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


#: Elasticsearch's coercion of numeric fields, an entry of each Elasticsearch language's table.
NUMERIC_COERCE = Rule(
    "strings and fractions coerced at index time",
    "https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/coerce",
    "coerce (on by default) indexes a string on a numeric field as the number it reads, and a "
    "whole-number field (long, integer, short, byte) truncates a fraction "
    "(https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/number): '0888', "
    "'888.0' and '888.7' are all 888 on a long field, so a term or range query for 888 matches "
    "them. Sigma compares an event's string with a number as text (converter/"
    "reference/semantics.py, numbers), so the emitters declare a number tested on a numeric "
    "field (backends.common.NumberCoercionMixin) and check shows such events.",
)

#: Elasticsearch's keyword ignore_above, an entry of each Elasticsearch language's table.
IGNORE_ABOVE = Rule(
    "value longer than the limit matches nothing",
    "https://www.elastic.co/guide/en/elasticsearch/reference/current/ignore-above.html",
    "Keyword values longer than ignore_above (1,024 on ECS keyword fields and Defend's "
    ".caseless sub-fields) are kept in _source but not indexed: no term, wildcard, regexp or "
    "exists query on the field sees them, while Sigma matches them. The emitters warn where a "
    "longer value could match (backends.common.can_exceed), and check proves the target only "
    "with an event whose long value decides that test.",
)
