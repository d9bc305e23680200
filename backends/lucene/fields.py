"""What the query_string interpreter knows about a queried field, read from the field model: its
kind (keyword, text, numeric, ...), normalizer, ``ignore_above`` and number coercion; and Lucene's
unescaping of field names and terms.

Split from ``lower.py``, which lowers clauses to leaves with these views. Also read by the Query
DSL ``regexp`` query of ``backends/kql_es/dsl.py``. Nothing here imports the emitter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field as dataclass_field
from typing import TYPE_CHECKING, Any, Callable

from ..query.errors import QueryParseError, UnsupportedQueryError
from ..query.fields import NUMERIC_TYPES, TEXT_TYPES, number_coercion

if TYPE_CHECKING:
    from ..query.fields import FieldModel

ErrorFactory = Callable[[str, Any], QueryParseError]

EXISTS_FIELD = "_exists_"
KEYWORD_TYPES = frozenset({"keyword", "constant_keyword", "wildcard"})

@dataclass(frozen=True)
class FieldView:
    """What the interpreter needs to know about a queried field.

    Attributes:
        name: the field as written in the query (``process.name.caseless``).
        source: the event field whose value is indexed (``process.name``).
        kind: ``keyword``, ``text``, ``numeric``, ``boolean``, ``ip``, ``date`` or the raw ES type.
        lowercase: the field has a ``lowercase`` normalizer.
        max_length: keyword ``ignore_above``.
        analyzer: analyzer of a text field.
        known: False when the field model does not know the field (treated as keyword).
        coerce: ``Leaf.coerce`` of a numeric field (``number_coercion``).
        model: the field model, kept on the ``_exists_`` pseudo-field to describe the field it
            names (``exists_field``).
    """

    name: str
    source: str
    kind: str
    lowercase: bool = False
    max_length: int | None = None
    analyzer: str = "standard"
    known: bool = True
    coerce: str = ""
    model: FieldModel | None = dataclass_field(default=None, compare=False, repr=False)

    @property
    def limit(self) -> dict[str, Any]:
        """Leaf arguments from the mapping: the length limit (``max_length`` and the field it
        belongs to) and how a numeric field reads values (``coerce``)."""
        out: dict[str, Any] = {"coerce": self.coerce} if self.coerce else {}
        if self.max_length is not None:
            out.update(max_length=self.max_length, limited_by=self.name)
        return out


def resolve_field(
    name: str, fields: FieldModel | None, error: ErrorFactory, token: Any
) -> FieldView:
    """Describe the field ``name`` (as written in the query) using the field model."""
    return describe_field(unescape(name), fields)


def describe_field(name: str, fields: FieldModel | None) -> FieldView:
    """Describe the unescaped field ``name`` using the field model."""
    if "*" in name or "?" in name:
        raise UnsupportedQueryError(f"field-name pattern {name!r} expands over the mapping")
    if name == EXISTS_FIELD:
        return FieldView(name, name, EXISTS_FIELD, model=fields)
    return field_view(name, fields)


def field_view(name: str, fields: FieldModel | None) -> FieldView:
    """Describe the field named exactly ``name`` (no query_string escapes) using the field
    model; also read by the Query DSL ``regexp`` query of ``backends/kql_es/dsl.py``."""
    info = fields.lookup(name) if fields is not None else None
    if info is None:
        # SEMANTICS "unknown_field": exact, case-sensitive keyword.
        return FieldView(name, name, "keyword", known=False)
    es_type = str(info.type)
    normalizer = getattr(info, "normalizer", None)
    if normalizer not in (None, "lowercase"):
        raise UnsupportedQueryError(f"field {name} uses normalizer {normalizer!r}")
    if es_type in KEYWORD_TYPES:
        kind = "keyword"
    elif es_type in TEXT_TYPES:
        kind = "text"
    elif es_type in NUMERIC_TYPES:
        kind = "numeric"
    elif es_type in ("date", "date_nanos"):
        kind = "date"
    else:
        kind = es_type
    return FieldView(
        name,
        str(info.source or name),
        kind,
        lowercase=normalizer == "lowercase",
        max_length=getattr(info, "ignore_above", None) if kind == "keyword" else None,
        analyzer=getattr(info, "analyzer", None) or "standard",
        coerce=number_coercion(es_type),
    )


def unescape(text: str) -> str:
    """Lucene ``discardEscapeChar``: ``\\x`` is the literal x, ``\\uXXXX`` a code point."""
    out = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "u" and re.match(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6]):
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append(nxt)
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)
