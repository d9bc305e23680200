"""Interpreter for Elasticsearch's KQL in the forms the ``kql-es`` target writes.

``parse(text, fields)`` accepts:

* a Query DSL query object, ``{"kql": {"query": "...", "case_insensitive": true}}`` or a ``bool``
  tree of ``kql`` and ``regexp`` queries (the target's default output, ``dsl.py``), or a search
  request body holding one (``-f es-dsl``);
* (through ``forms.py``) an ES|QL query ``FROM <indices> | WHERE <condition>`` (``-f esql``),
  which the ES|QL interpreter reads, handing each ``KQL()`` to this module;
* a bare KQL string, read with Elasticsearch's default ``case_insensitive: false``.

The KQL string is parsed by ``grammar.lark`` (a transcription of Elasticsearch's ``KqlBase.g4``)
and lowered by ``lower.py``. Neither module imports the emitter.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from lark import Token, Tree

from ..query.ast import Node
from ..query.errors import QueryParseError, UnsupportedQueryError, too_deep
from ..query.syntax import Grammar, SyntaxMessages, run_lowering
from .dsl import read_query
from .lower import Lowering
from .semantics import LANGUAGE, SEMANTICS

if TYPE_CHECKING:  # the field model is another module's; only its interface is used here
    from ..query.fields import FieldModel

_PARAMETERS = frozenset(SEMANTICS.typed("parameters", tuple))


class _Messages(SyntaxMessages):
    """Syntax errors, with a hint for the operator words Elasticsearch reads inside values."""

    def token(self, text: str, exc: Any) -> tuple[str, int]:
        token = exc.token
        hint = ""
        if token.type in ("NOT", "OR", "AND"):
            hint = "; an operator word inside a value must be escaped (\\and, \\or, \\not)"
        return f"unexpected {str(token).strip() or token.type!r}{hint}", max(1, len(str(token)))


# No position propagation: the lowering reads positions from tokens only (no rule's meta),
# and propagating them through every rule was a third of lark's time on this grammar.
GRAMMAR = Grammar(__file__, _Messages(LANGUAGE), parser="lalr", lexer="basic")


def parse_tree(text: str) -> Tree[Token]:
    """Parse a KQL string into lark's concrete tree (for tests and debugging)."""
    return GRAMMAR.parse(text)


def _form_error(text: str, message: str) -> QueryParseError:
    return QueryParseError(message, text, 0, 1, LANGUAGE)


def _kql_object(text: str, obj: Any) -> tuple[str, bool]:
    """The query string and case_insensitive of a ``kql`` query object's body."""
    if not isinstance(obj, dict) or not isinstance(obj.get("query"), str):
        raise _form_error(text, "a kql query needs a string \"query\"")
    unknown = set(obj) - _PARAMETERS
    if unknown:
        raise _form_error(text, f"unknown kql query parameter(s): {', '.join(sorted(unknown))}")
    if obj.get("default_field") is not None:
        raise UnsupportedQueryError("kql default_field is not evaluated")
    ci = obj.get("case_insensitive", False)
    if not isinstance(ci, bool):
        raise _form_error(text, "case_insensitive must be true or false")
    return obj["query"], ci


def _from_json(text: str) -> Any:
    """The query object of a query object or of a search request body (its ``query``)."""
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise _form_error(text, f"not JSON: {exc}") from None
    except RecursionError:
        raise too_deep() from None
    if isinstance(obj, dict) and "query" in obj:
        return obj["query"]  # a search request body (its other keys select no documents)
    return obj


def _lower_kql(query: str, case_insensitive: bool, fields: FieldModel | None) -> Node:
    """One KQL string under its ``case_insensitive``, parsed and lowered."""
    tree = GRAMMAR.parse(query)
    node = run_lowering(lambda: Lowering(fields, case_insensitive).transform(tree), query, LANGUAGE)
    assert isinstance(node, Node)
    return node


def parse(text: str, fields: FieldModel | None = None) -> Node:
    """Parse Elasticsearch KQL in any of its forms and lower it to the shared query tree.

    Args:
        text: a Query DSL query object or search body (``kql``, or a ``bool`` tree of ``kql``
            and ``regexp`` queries, ``dsl.py``), an ES|QL ``WHERE KQL(...)`` query or a KQL
            string.
        fields: the target's field model; without it every field is unmapped (match /
            query_string).

    Raises:
        QueryParseError: the text is not valid (line, column and caret in the message).
        UnsupportedQueryError: valid, but sigport cannot evaluate it faithfully.
    """
    stripped = text.strip()
    if stripped.startswith("{"):
        return read_query(
            _from_json(stripped), fields,
            lambda body: _lower_kql(*_kql_object(text, body), fields),
        )
    return _lower_kql(text, False, fields)
