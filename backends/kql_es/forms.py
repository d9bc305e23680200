"""The ``kql-es`` target's interpreter: every form of its output.

The default output and ``-f es-dsl`` are Query DSL JSON, read by ``parser.py``; the ``esql`` and
``kibana-ndjson`` forms are ES|QL queries (``KQL()`` and ``QSTR()`` calls under AND / OR / NOT,
semantics ``esql_tree_form``), read by the ES|QL interpreter (``backends/esql/parser.py``), which
hands each ``KQL()`` back to ``parser.py``. Kept apart from ``parser.py`` so that the two
interpreters do not import each other. Nothing here imports an emitter.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..esql.parser import parse as parse_esql
from ..query.ast import Node
from .parser import parse as parse_kql_es

if TYPE_CHECKING:  # the field model is another module's; only its interface is used here
    from ..query.fields import FieldModel

#: An ES|QL query starts with its source command.
_ESQL = re.compile(r"\s*FROM\s", re.IGNORECASE)


def parse(text: str, fields: FieldModel | None = None) -> Node:
    """Parse any form of a ``kql-es`` query (see the module docstring) to the shared tree.

    Raises:
        QueryParseError: the text is not valid (line, column and caret in the message).
        UnsupportedQueryError: valid, but sigport cannot evaluate it faithfully.
    """
    if _ESQL.match(text):
        return parse_esql(text, fields)
    return parse_kql_es(text, fields)
