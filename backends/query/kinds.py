"""The kinds a query tree's leaves carry (``backends.query.ast``): wildcards, regex dialects,
what a missing or multi-valued field yields, case folding, comparison operators.

Each is decided once at lowering time from a language's ``Semantics`` table; the evaluator reads
them from the leaf. Split from ``ast.py`` (the node classes), which imports every name here, so
``ast.Fold`` and the nodes' ``repr`` (evaluated with ``ast``'s names in scope) are unchanged.
"""

from __future__ import annotations

import enum
from typing import Union


class Wildcard(enum.Enum):
    """A live wildcard inside a glob pattern (literal ``*``/``?`` are plain text parts)."""

    ANY = "*"  #: zero or more characters
    ONE = "?"  #: exactly one character

    def __repr__(self) -> str:
        return f"Wildcard.{self.name}"


#: A glob pattern: literal text runs and live wildcards, already unescaped by the parser.
GlobPart = Union[str, Wildcard]


class RegexDialect(enum.Enum):
    """Which regular-expression language a pattern is written in."""

    #: Lucene RegExp (ES ``regexp`` query, query_string ``/re/``, EQL ``regex``): always matches the
    #: whole value, no ``^``/``$`` anchors, ``@``/``#``/``&``/``~``/``<n-m>`` operators.
    #: https://www.elastic.co/guide/en/elasticsearch/reference/current/regexp-syntax.html
    LUCENE = "lucene"
    #: PCRE (Splunk ``regex``/``match()``, Sigma ``re``): unanchored search unless anchors are written.
    PCRE = "pcre"
    #: RE2 (Kusto ``matches regex``): unanchored search, linear time; ``$`` matches only at the very
    #: end of the text, ``(?i)`` folds by Unicode simple case folding, ``\\d \\w \\s \\b`` are ASCII.
    #: https://learn.microsoft.com/kusto/query/re2 and https://github.com/google/re2/wiki/Syntax
    RE2 = "re2"

    def __repr__(self) -> str:
        return f"RegexDialect.{self.name}"


class Missing(enum.Enum):
    """What a field test yields when the event lacks the field (or has only nulls)."""

    #: Two-valued: the positive test is false, so its negation is true (Query DSL ``must_not``,
    #: SPL ``NOT f=v``).
    FALSE = "false"
    #: Null-propagating: the test is unknown, ``NOT`` keeps it unknown, and unknown never matches
    #: (SPL ``f!=v`` and ``| where``, EQL functions evaluated as scripts).
    NULL = "null"

    def __repr__(self) -> str:
        return f"Missing.{self.name}"


class MultiValued(enum.Enum):
    """What a field test yields when the field holds several values.

    ``ANY`` is the Query DSL reading (a term, wildcard or regexp query matches a document when
    any of its values matches). The ``NULL_*`` readings are ES|QL's single-value functions and
    operators: a field with several values makes the test null (unknown, so also under ``NOT``).
    They differ in what counts as several: distinct values only (a ``keyword`` field removes
    duplicates on write), every value (a ``long`` field keeps them), or unknown (duplicates of
    one value leave the verdict undecided).
    """

    #: True when any value passes (Query DSL, Lucene, EQL, KQL).
    ANY = "any"
    #: Null when the field holds two or more distinct values (duplicates are one value).
    NULL_DISTINCT = "null-distinct"
    #: Null when the field holds two or more values, duplicates included.
    NULL_EVERY = "null-every"
    #: Null on two or more distinct values; duplicates of one value: undecided.
    NULL = "null"
    #: Several values: the engine's reading is not documented (Splunk's ``| regex`` on a
    #: multivalue field), so the verdict is known only when every value gives the same one.
    UNDECIDED = "undecided"

    def __repr__(self) -> str:
        return f"MultiValued.{self.name}"


class Fold(enum.Enum):
    """How a case-insensitive leaf folds case: the reading(s) it may be evaluated with.

    A leaf with ``case_sensitive=False`` compares both sides after folding them with its reading
    (``folding.py``). Where the engine's folding depends on its version or is undocumented, the
    leaf names every candidate reading; the evaluator then refuses to decide an event on which
    they disagree (``FoldingUndecided``) instead of picking one.
    """

    #: Java ``Character.toLowerCase`` per code point (the ``lowercase`` normalizer; Sigma).
    SIMPLE = "simple"
    #: ASCII letters only.
    ASCII = "ascii"
    #: Unicode simple case folding (``ſ`` = ``s``, Kelvin sign = ``k``).
    UNICODE = "unicode"
    #: Elasticsearch ``case_insensitive``: ASCII before elastic/elasticsearch#153513, Unicode after.
    ASCII_OR_UNICODE = "ascii|unicode"
    #: Undocumented lowercase mapping: ASCII only or per code point.
    ASCII_OR_SIMPLE = "ascii|simple"
    #: .NET ``ToUpperInvariant`` per code point (``ı`` = ``i``, ``ſ`` = ``s``).
    UPPER = "upper"
    #: Undocumented case-insensitive comparison in a .NET engine: any of four readings (Kusto).
    ASCII_OR_SIMPLE_OR_UNICODE_OR_UPPER = "ascii|simple|unicode|upper"
    #: ES|QL ``TO_LOWER(field) LIKE "lowercase pattern"``: Java ``String.toLowerCase`` (the full
    #: mapping), or, where the planner rewrites it to a case-insensitive match, Elasticsearch's
    #: ``case_insensitive`` (ASCII or Unicode, by version).
    FULL_OR_ASCII_OR_UNICODE = "full|ascii|unicode"

    @property
    def readings(self) -> tuple[str, ...]:
        """The candidate readings, by name (``folding.SIMPLE`` ...)."""
        return tuple(self.value.split("|"))

    def __repr__(self) -> str:
        return f"Fold.{self.name}"


class CompareOp(enum.Enum):
    """Ordering comparison operators."""

    LT = "<"
    LTE = "<="
    GT = ">"
    GTE = ">="
    EQ = "=="
    NEQ = "!="

    def __repr__(self) -> str:
        return f"CompareOp.{self.name}"


#: Comparison operators (their text) with the operands swapped: ``"x" < f`` is ``f > "x"``. EQL
#: and ES|QL both allow a literal on the left of a comparison.
MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
