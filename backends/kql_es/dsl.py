"""Reading a Query DSL query object of ``kql``, ``regexp`` and ``bool`` queries to the shared tree.

The ``kql-es`` target writes a rule holding a regex without a wildcard form as a ``bool`` tree of
``kql`` and ``regexp`` queries. This module reads any such object (and ``match_all`` /
``match_none``), clause by clause, as Elasticsearch evaluates it (entries ``query_dsl_bool``,
``regexp_query``, ``regexp_parameters``, ``match_all_none`` of ``semantics.py``): a ``kql`` query
through the KQL grammar and lowering of this folder, a ``regexp`` query as the Lucene
interpreter lowers a ``/re/`` term (``backends/lucene/lower.py``), the same field-type
``regexpQuery`` call. Anything else is refused as not evaluated. It never imports an emitter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ..lucene.fields import field_view
from ..lucene.lower import lower_regex
from ..query.ast import And, Const, Node, Not, Or
from ..query.errors import UnsupportedQueryError
from .semantics import SEMANTICS

if TYPE_CHECKING:  # the field model is another module's; only its interface is used here
    from ..query.fields import FieldModel

#: A ``kql`` query's body (query string, case_insensitive and options) to a tree.
KqlReader = Callable[[Any], Node]

_BOOL_KEYS = frozenset(SEMANTICS.typed("query_dsl_bool", tuple))
_REGEXP_KEYS = frozenset(SEMANTICS.typed("regexp_parameters", tuple))


def _clauses(body: dict[str, Any], key: str) -> list[Any]:
    value = body.get(key)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _minimum(value: Any, should: int, default: int) -> int:
    """``minimum_should_match`` as a count: absent (``default``), or an integer (or its decimal
    string) from 0 to the number of should clauses; percentages, negative counts and counts
    above the clauses are refused (not evaluated)."""
    if value is None:
        return default
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= should:
        raise UnsupportedQueryError(f"minimum_should_match {value!r} is not evaluated")
    return value


def read_bool(body: Any, fields: FieldModel | None, kql: KqlReader) -> Node:
    """A ``bool`` query (entry ``query_dsl_bool``)."""
    if not isinstance(body, dict):
        raise UnsupportedQueryError("a bool query needs an object")
    unknown = set(body) - _BOOL_KEYS - {"boost", "_name"}
    if unknown:
        raise UnsupportedQueryError(f"bool parameter(s) not evaluated: {', '.join(sorted(unknown))}")
    required = [read_query(c, fields, kql) for k in ("filter", "must") for c in _clauses(body, k)]
    excluded = [read_query(c, fields, kql) for c in _clauses(body, "must_not")]
    should = [read_query(c, fields, kql) for c in _clauses(body, "should")]
    default = 1 if should and not required else 0  # the documented default
    least = _minimum(body.get("minimum_should_match"), len(should), default)
    children = required + [Not(child) for child in excluded]
    if least == len(should):
        children += should
    elif least == 1:
        children.append(Or(tuple(should)))
    elif least > 1:
        raise UnsupportedQueryError(
            f"minimum_should_match {least} of {len(should)} should clauses is not evaluated"
        )
    if not children:
        return Const(True)  # an empty bool, or only optional should clauses
    return children[0] if len(children) == 1 else And(tuple(children))


def read_regexp(body: Any, fields: FieldModel | None) -> Node:
    """A ``regexp`` query (entries ``regexp_query`` and ``regexp_parameters``)."""
    if not isinstance(body, dict) or len(body) != 1:
        raise UnsupportedQueryError("a regexp query names one field")
    ((field, spec),) = body.items()
    if isinstance(spec, str):
        spec = {"value": spec}
    if not isinstance(spec, dict) or not isinstance(spec.get("value"), str):
        raise UnsupportedQueryError(f"the regexp query on {field} needs a string value")
    unknown = set(spec) - _REGEXP_KEYS
    if unknown:
        raise UnsupportedQueryError(
            f"regexp parameter(s) not evaluated: {', '.join(sorted(unknown))}"
        )
    if str(spec.get("flags", "ALL")).upper() != "ALL":
        raise UnsupportedQueryError(f"regexp flags {spec['flags']!r} are not evaluated")
    if spec.get("case_insensitive", False) is not False:
        raise UnsupportedQueryError("a case_insensitive regexp query is not evaluated")
    if len(spec["value"]) > SEMANTICS.typed("regexp_max_length", int):
        raise UnsupportedQueryError(
            f"the regexp on {field} is longer than index.max_regex_length allows by default "
            "(regexp_max_length): Elasticsearch rejects it"
        )
    return lower_regex(spec["value"], field_view(str(field), fields), None, _no_error, None)


def _no_error(message: str, token: Any) -> Any:
    """``lower_regex`` reports through ``UnsupportedQueryError``; a syntax error has no token."""
    raise UnsupportedQueryError(message)


def read_query(obj: Any, fields: FieldModel | None, kql: KqlReader) -> Node:
    """One query object: ``kql``, ``regexp``, ``bool``, ``match_all`` or ``match_none``."""
    if not isinstance(obj, dict) or len(obj) != 1:
        raise UnsupportedQueryError("a query object has exactly one query type")
    ((kind, body),) = obj.items()
    if kind == "kql":
        return kql(body)
    if kind == "regexp":
        return read_regexp(body, fields)
    if kind == "bool":
        return read_bool(body, fields, kql)
    if kind in ("match_all", "match_none"):
        return Const(kind == "match_all")
    raise UnsupportedQueryError(f"the {kind} query is not evaluated")
