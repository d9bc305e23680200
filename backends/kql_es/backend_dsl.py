"""The Query DSL tree of a ``kql-es`` rule holding a regex that no wildcard value can write.

KQL has no regular expressions. ``backends.regex_globs`` writes a regex that is a finite union
of wildcard values as those values; any other regex (an unbounded repetition inside the
pattern, a negated class, ``.`` without ``|s``...) used to leave the rule unconverted. A Query
DSL ``bool`` query combines ``kql`` queries with ``regexp`` queries (``query_dsl_bool`` and
``regexp_query`` in ``semantics.py``), so such a rule is written as one tree:

* a subtree of the condition without such a regex is one ``kql`` query (its KQL text, with the
  query's ``case_insensitive``), exactly as the whole rule would be;
* such a regex is a ``regexp`` query: the Sigma regex translated to an equivalent Lucene
  RegExp by the Lucene emitter's translator (``backends.lucene.regex``), letters of a ``|i``
  regex written as classes of their case variants, ``flags`` ``ALL`` and ``case_insensitive``
  false written out;
* ``and`` is ``bool.filter``, ``or`` is ``bool.should`` (``minimum_should_match`` 1 written
  out), ``not`` is ``bool.must_not``.

This module is emitter-side (the interpreter reads the tree in ``dsl.py``, never this).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
)
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import SigmaRegularExpression, SigmaRegularExpressionFlag

from backends.lucene.regex import translate_pcre
from backends.regex_globs import NotGlobs, glob_condition

from .semantics import SEMANTICS

#: Field types whose ``regexp`` query reads the whole value (``regexp_query``).
REGEXP_TYPES = frozenset({"keyword", "constant_keyword", "wildcard"})
#: ``index.max_regex_length``'s default (``regexp_max_length``).
MAX_REGEX_LENGTH = int(SEMANTICS.typed("regexp_max_length", int))


@dataclass(frozen=True)
class DslNode:
    """One node of the tree: ``op`` is ``and``, ``or`` or ``not`` over ``children`` (KQL text or
    nodes), or ``regexp`` with the finished query object in ``query``."""

    op: str
    children: tuple[Union[str, "DslNode"], ...] = ()
    query: dict[str, Any] | None = None


def tree(op: str, children: list[str | DslNode]) -> DslNode:
    """An ``and``/``or`` node with same-operator children spliced in and its KQL texts joined
    into one (each parenthesised), which means the same: the texts share the query's
    ``case_insensitive``. A ``not`` node keeps its one child."""
    if op == "not":
        return DslNode(op, tuple(children))
    flat: list[str | DslNode] = []
    for child in children:
        if isinstance(child, DslNode) and child.op == op:
            flat.extend(child.children)
        else:
            flat.append(child)
    texts = [c for c in flat if isinstance(c, str)]
    nodes = [c for c in flat if not isinstance(c, str)]
    if len(texts) > 1:
        texts = [f" {op} ".join(f"({t})" for t in texts)]
    return DslNode(op, (*texts, *nodes))


def needs_regexp(cond: Any) -> bool:
    """True when ``cond`` holds a field regex that no finite set of wildcard values writes."""
    if isinstance(cond, ConditionFieldEqualsValueExpression):
        if not isinstance(cond.value, SigmaRegularExpression):
            return False
        try:
            glob_condition(cond)
        except NotGlobs:
            return True
        return False
    if isinstance(cond, ConditionItem):
        return any(needs_regexp(arg) for arg in cond.args)
    return False


def tree_op(cond: Any) -> str:
    """The tree operator of a boolean condition node."""
    if isinstance(cond, ConditionAND):
        return "and"
    if isinstance(cond, ConditionOR):
        return "or"
    if isinstance(cond, ConditionNOT):
        return "not"
    raise TypeError(f"not a boolean condition: {type(cond).__name__}")


def regexp_query(field: str, value: SigmaRegularExpression, info: Any) -> dict[str, Any]:
    """The ``regexp`` query testing ``field`` as the Sigma regex ``value`` does.

    Raises SigmaFeatureNotSupportedByBackendError when the field's type reads tokens or parses
    the pattern (text, numbers), when a lowercase normalizer has lowered what a case-sensitive
    regex tells apart, or when the regex has no exact Lucene RegExp.
    """
    if info is not None and info.type not in REGEXP_TYPES:
        raise SigmaFeatureNotSupportedByBackendError(
            f"Elasticsearch's regexp query on {info.type} field {field} does not read the whole "
            "value (regexp_query); use the eql target"
        )
    translation = translate_pcre(
        str(value.regexp),
        case_insensitive=SigmaRegularExpressionFlag.IGNORECASE in value.flags,
        multiline=SigmaRegularExpressionFlag.MULTILINE in value.flags,
        dotall=SigmaRegularExpressionFlag.DOTALL in value.flags,
    )
    if info is not None and info.normalizer == "lowercase" and translation.case_sensitive:
        # The regexp query is not normalised, the indexed values are: the case is lost.
        raise SigmaFeatureNotSupportedByBackendError(
            f"field {field} is lowercase-normalised, so the case-sensitive regex {value.regexp} "
            "cannot be matched exactly; query a field without that normalizer or use |re|i"
        )
    return {"regexp": {field: {
        "value": translation.pattern, "flags": "ALL", "case_insensitive": False,
    }}}


def regexp_too_long(query: dict[str, Any]) -> str | None:
    """The regexp's text when it is longer than ``index.max_regex_length``'s default."""
    (spec,) = query["regexp"].values()
    return spec["value"] if len(spec["value"]) > MAX_REGEX_LENGTH else None


def to_query(node: str | DslNode, case_insensitive: bool) -> dict[str, Any]:
    """The Query DSL object of ``node``; KQL text becomes a ``kql`` query."""
    if isinstance(node, str):
        return {"kql": {"query": node, "case_insensitive": case_insensitive}}
    if node.op == "regexp":
        assert node.query is not None
        return node.query
    children = [to_query(child, case_insensitive) for child in node.children]
    if node.op == "and":
        return {"bool": {"filter": children}}
    if node.op == "or":
        return {"bool": {"should": children, "minimum_should_match": 1}}
    return {"bool": {"must_not": children}}
