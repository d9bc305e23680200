"""Interpreter for Elasticsearch's KQL in the three forms the ``kql-es`` target writes.

``parse(text, fields)`` accepts:

* a Query DSL query object, ``{"kql": {"query": "...", "case_insensitive": true}}`` or a ``bool``
  tree of ``kql`` and ``regexp`` queries (the target's default output, ``dsl.py``), or a search
  request body holding one (``-f es-dsl``);
* an ES|QL query ``FROM <indices> | WHERE KQL("...", {"case_insensitive": true})`` (``-f esql``);
* a bare KQL string, read with Elasticsearch's default ``case_insensitive: false``.

The KQL string is parsed by ``grammar.lark`` (a transcription of Elasticsearch's ``KqlBase.g4``)
and lowered by ``lower.py``. Neither module imports the emitter.
"""

from __future__ import annotations

import json
import re
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


GRAMMAR = Grammar(
    __file__, _Messages(LANGUAGE), parser="lalr", lexer="basic", propagate_positions=True
)

#: ``FROM <indices> | WHERE KQL(<string>[, <map>])``; the string and the map are read apart.
_ESQL = re.compile(
    r"\s*FROM\s+(?P<indices>[^|]+?)\s*\|\s*WHERE\s+KQL\s*\(\s*(?P<rest>.*)\)\s*\Z",
    re.IGNORECASE | re.DOTALL,
)
_ESQL_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "r": "\r", "t": "\t"}


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


def _esql_string(text: str, rest: str) -> tuple[str, str]:
    """An ES|QL string literal at the start of ``rest`` and what follows it."""
    if rest.startswith('"""'):
        end = rest.find('"""', 3)
        if end < 0:
            raise _form_error(text, "unterminated ES|QL string")
        return rest[3:end], rest[end + 3:]
    if not rest.startswith('"'):
        raise _form_error(text, "KQL() needs a string literal")
    out: list[str] = []
    i = 1
    while i < len(rest):
        char = rest[i]
        if char == '"':
            return "".join(out), rest[i + 1:]
        if char == "\\":
            escaped = _ESQL_ESCAPES.get(rest[i + 1:i + 2])
            if escaped is None:
                raise _form_error(text, f"invalid ES|QL escape {rest[i:i + 2]!r}")
            out.append(escaped)
            i += 2
            continue
        out.append(char)
        i += 1
    raise _form_error(text, "unterminated ES|QL string")


def _from_esql(text: str, rest: str) -> tuple[str, bool]:
    """``KQL(<string>[, {named parameters}])`` of an ES|QL WHERE."""
    query, after = _esql_string(text, rest)
    after = after.strip()
    if not after:
        return query, False
    if not after.startswith(","):
        raise _form_error(text, "KQL() takes a query string and an options map")
    try:
        options = json.loads(after[1:])
    except (ValueError, RecursionError):
        raise _form_error(text, "the KQL() options must be a map literal") from None
    if not isinstance(options, dict):
        raise _form_error(text, "the KQL() options must be a map literal")
    return _kql_object(text, {"query": query, **options})


def unwrap(text: str) -> tuple[str, bool]:
    """The KQL string and its ``case_insensitive`` of an ES|QL ``WHERE KQL(...)`` query or a
    bare KQL string."""
    match = _ESQL.match(text)
    if match:
        return _from_esql(text, match.group("rest").strip())
    return text, False


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
    return _lower_kql(*unwrap(text), fields)
