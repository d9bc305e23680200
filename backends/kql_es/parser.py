"""Interpreter for Elasticsearch's KQL in the three forms the ``kql-es`` target writes.

``parse(text, fields)`` accepts:

* a ``kql`` query object ``{"kql": {"query": "...", "case_insensitive": true}}`` (the target's
  default output) or a search request body holding it, alone or as the one clause of
  ``bool.filter`` / ``bool.must`` (``-f es-dsl``);
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


def _from_json(text: str) -> tuple[str, bool]:
    """A ``kql`` query object or a search request body whose query is one kql query."""
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise _form_error(text, f"not JSON: {exc}") from None
    except RecursionError:
        raise too_deep() from None
    query = obj.get("query") if isinstance(obj, dict) and "kql" not in obj else obj
    if isinstance(query, dict) and set(query) == {"bool"} and isinstance(query["bool"], dict):
        clauses = [c for key in ("filter", "must") for c in _as_list(query["bool"].get(key))]
        if len(clauses) != 1 or set(query["bool"]) - {"filter", "must"}:
            raise UnsupportedQueryError("a search body evaluates one kql clause in bool.filter")
        query = clauses[0]
    if not isinstance(query, dict) or set(query) != {"kql"}:
        raise UnsupportedQueryError("the JSON holds no kql query")
    return _kql_object(text, query["kql"])


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


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
    """The KQL string and its ``case_insensitive`` for any of the three forms."""
    stripped = text.strip()
    if stripped.startswith("{"):
        return _from_json(stripped)
    match = _ESQL.match(text)
    if match:
        return _from_esql(text, match.group("rest").strip())
    return text, False


def parse(text: str, fields: FieldModel | None = None) -> Node:
    """Parse Elasticsearch KQL in any of its forms and lower it to the shared query tree.

    Args:
        text: a kql query / search body JSON, an ES|QL ``WHERE KQL(...)`` query or a KQL string.
        fields: the target's field model; without it every field is unmapped (match /
            query_string).

    Raises:
        QueryParseError: the text is not valid (line, column and caret in the message).
        UnsupportedQueryError: valid, but sigport cannot evaluate it faithfully.
    """
    query, case_insensitive = unwrap(text)
    tree = GRAMMAR.parse(query)
    node = run_lowering(lambda: Lowering(fields, case_insensitive).transform(tree), query, LANGUAGE)
    assert isinstance(node, Node)
    return node
