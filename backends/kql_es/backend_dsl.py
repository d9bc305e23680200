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
* so is a string test whose KQL text would not be exact (a Sigma ``?`` or a literal ``*`` on a
  field that is no ``keyword`` field, whitespace a ``query_string`` splits, a pattern
  Elasticsearch would read as plain text): the glob as an anchored Lucene RegExp;
* ``and`` is ``bool.filter``, ``or`` is ``bool.should`` (``minimum_should_match`` 1 written
  out), ``not`` is ``bool.must_not``.

A rule whose tests need ``case_insensitive`` both true and false (``case.py``: a case-insensitive
value on a plain keyword field beside a ``|cased`` one, or beside a value on a lowercase-normalised
field that the folding would widen) is such a tree too: each subtree without that conflict is one
``kql`` query carrying the setting its own tests need.

This module is emitter-side (the interpreter reads the tree in ``dsl.py``, never this).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Union

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
)
from sigma.conversion.state import ConversionState
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import (
    SigmaCasedString,
    SigmaExpansion,
    SigmaRegularExpression,
    SigmaString,
)

from backends.common import refuse_empty_field
from backends.lucene.regex import glob_pieces, glob_to_lucene, has_case, translate_sigma_regex
from backends.regex_globs import NotGlobs, glob_condition

from .case import conflict, query_setting
from .semantics import SEMANTICS

#: Field types whose ``regexp`` query reads the whole value (``regexp_query``).
REGEXP_TYPES = frozenset({"keyword", "constant_keyword", "wildcard"})
#: ``index.max_regex_length``'s default (``regexp_max_length``).
MAX_REGEX_LENGTH = int(SEMANTICS.typed("regexp_max_length", int))


@dataclass(frozen=True)
class DslNode:
    """One node of the tree: ``op`` is ``and``, ``or`` or ``not`` over ``children`` (nodes),
    ``regexp`` with the finished query object in ``query``, or ``kql``: one KQL text (the one
    child), with the ``case_insensitive`` its tests need (``ci``: None when either setting
    matches them alike) and those tests (``records``, ``case.CaseRecord``)."""

    op: str
    children: tuple[Union[str, "DslNode"], ...] = ()
    query: dict[str, Any] | None = None
    ci: bool | None = None
    records: tuple[Any, ...] = ()


def kql_leaf(text: str, ci: bool | None, records: tuple[Any, ...] = ()) -> DslNode:
    """The tree leaf of one KQL text."""
    return DslNode("kql", (text,), ci=ci, records=records)


def _joined(op: str, leaves: list[DslNode]) -> list[DslNode]:
    """KQL leaves of one ``and``/``or`` node joined into as few texts as their settings allow
    (each parenthesised; the texts then share one ``case_insensitive``): the leaves that need
    true, and those that need false; a leaf that needs neither joins the false group (where it
    needs no declaration), else the true one."""
    groups: dict[bool | None, list[DslNode]] = {}
    for leaf in leaves:
        groups.setdefault(leaf.ci, []).append(leaf)
    free = groups.pop(None, [])
    host = False if False in groups else True if True in groups else None
    groups[host] = groups.get(host, []) + free
    out = []
    for ci, members in groups.items():
        if len(members) == 1:
            out.append(members[0])
            continue
        text = f" {op} ".join(f"({m.children[0]})" for m in members)
        out.append(kql_leaf(text, ci, tuple(r for m in members for r in m.records)))
    return out


def tree(op: str, children: list[DslNode]) -> DslNode:
    """An ``and``/``or`` node with same-operator children spliced in and its KQL leaves joined
    (``_joined``). A ``not`` node keeps its one child."""
    if op == "not":
        return DslNode(op, tuple(children))
    flat: list[DslNode] = []
    for child in children:
        if child.op == op:
            flat.extend(c for c in child.children if isinstance(c, DslNode))
        else:
            flat.append(child)
    leaves = [c for c in flat if c.op == "kql"]
    nodes = [c for c in flat if c.op != "kql"]
    if len(leaves) > 1:
        leaves = _joined(op, leaves)
    return DslNode(op, (*leaves, *nodes))


def kql_leaves(node: DslNode) -> list[DslNode]:
    """Every KQL leaf of ``node``."""
    if node.op == "kql":
        return [node]
    return [leaf for c in node.children if isinstance(c, DslNode) for leaf in kql_leaves(c)]


def needs_regexp(cond: Any, string_needs: Callable[[Any], bool]) -> bool:
    """True when ``cond`` holds a field regex that no finite set of wildcard values writes, or
    a string test for which ``string_needs`` says the KQL text would not be exact."""
    if isinstance(cond, ConditionFieldEqualsValueExpression):
        value = cond.value
        if isinstance(value, SigmaRegularExpression):
            try:
                union = glob_condition(cond)
            except NotGlobs:
                return True
            return needs_regexp(union, string_needs)  # the values it is written as
        if isinstance(value, SigmaExpansion):
            return any(string_needs(ConditionFieldEqualsValueExpression(cond.field, v))
                       for v in value.values)
        return isinstance(value, SigmaString) and string_needs(cond)
    if isinstance(cond, ConditionItem):
        return any(needs_regexp(arg, string_needs) for arg in cond.args)
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


def _refuse_type(field: str, info: Any) -> None:
    if info is not None and info.type not in REGEXP_TYPES:
        raise SigmaFeatureNotSupportedByBackendError(
            f"Elasticsearch's regexp query on {info.type} field {field} does not read the whole "
            "value (regexp_query); use the eql target"
        )


def _regexp(field: str, pattern: str) -> dict[str, Any]:
    return {"regexp": {field: {"value": pattern, "flags": "ALL", "case_insensitive": False}}}


def _refuse_lost_case(field: str, info: Any, what: str) -> None:
    """The regexp query is not normalised, the indexed values are: a case-sensitive test on a
    lowercase-normalised field has lost the case it tells apart."""
    if info is not None and info.normalizer == "lowercase":
        raise SigmaFeatureNotSupportedByBackendError(
            f"field {field} is lowercase-normalised, so the case-sensitive {what} cannot be "
            "matched exactly; query a field without that normalizer"
        )


def regexp_query(field: str, value: SigmaRegularExpression, info: Any) -> dict[str, Any]:
    """The ``regexp`` query testing ``field`` as the Sigma regex ``value`` does.

    Raises SigmaFeatureNotSupportedByBackendError when the field's type reads tokens or parses
    the pattern (text, numbers), when a lowercase normalizer has lowered what a case-sensitive
    regex tells apart, or when the regex has no exact Lucene RegExp.
    """
    _refuse_type(field, info)
    # On a cased copy (regexp_wildcard_field) every character set goes through its swap.
    translation = translate_sigma_regex(value, info)
    if translation.case_sensitive:
        _refuse_lost_case(field, info, f"regex {value.regexp} (use |re|i)")
    return _regexp(field, translation.pattern)


def glob_query(field: str, value: SigmaString, info: Any) -> dict[str, Any]:
    """The ``regexp`` query testing ``field`` as the Sigma string ``value`` does (its ``*`` and
    ``?`` live, the rest literal): a case-insensitive value's letters are classes of every
    character with the same simple lowercase, so the regexp is exact on any field, a lowercase
    normalised one included; a caseless copy holds values the pipeline lowercased, as it
    lowercased ``value``, so there the regexp is case-sensitive."""
    _refuse_type(field, info)
    copy = info is not None and bool(info.caseless_of)
    folded = not isinstance(value, SigmaCasedString) and not copy
    plain = "".join(p for p in value.iter_parts() if isinstance(p, str))
    if not folded and not copy and has_case(plain):
        _refuse_lost_case(field, info, f"value {str(value)!r}")
    return _regexp(field, glob_to_lucene(glob_pieces(value), case_insensitive=folded))


def regexp_too_long(query: dict[str, Any]) -> str | None:
    """The regexp's text when it is longer than ``index.max_regex_length``'s default."""
    (spec,) = query["regexp"].values()
    return spec["value"] if len(spec["value"]) > MAX_REGEX_LENGTH else None


def to_query(node: str | DslNode, case_insensitive: bool) -> dict[str, Any]:
    """The Query DSL object of ``node``; KQL text becomes a ``kql`` query with its leaf's
    setting, or ``case_insensitive`` (a bare text, a leaf that needs neither)."""
    if isinstance(node, str):
        return {"kql": {"query": node, "case_insensitive": case_insensitive}}
    if node.op == "kql":
        ci = case_insensitive if node.ci is None else node.ci
        return {"kql": {"query": node.children[0], "case_insensitive": ci}}
    if node.op == "regexp":
        assert node.query is not None
        return node.query
    children = [to_query(child, case_insensitive) for child in node.children]
    if node.op == "and":
        return {"bool": {"filter": children}}
    if node.op == "or":
        return {"bool": {"should": children, "minimum_should_match": 1}}
    return {"bool": {"must_not": children}}


class DslTreeMixin:
    """The kql-es emitter's tree conversion (put before the KQL emitter in the bases): boolean
    nodes holding a ``regexp`` leaf, or tests that need different ``case_insensitive`` settings,
    become ``DslNode`` trees; the string test the emitter cannot write exactly is decided by its
    ``_string_needs_regexp``, the keyword-field tests of a text are its ``_records``
    (``case.CaseRecord``)."""

    _records: list[Any]
    #: Set while a boolean node is converted as one text, to see whether its tests agree.
    _one_text: bool = False

    def convert_condition(self, cond: Any, state: ConversionState) -> Any:
        """A boolean node holding a regexp leaf (``_needs_regexp``) becomes a ``bool`` node over
        its children's conversions, as does an expansion holding one (its values OR-ed), and a
        boolean node whose tests need ``case_insensitive`` both true and false (``case.conflict``);
        any other node is KQL text as before."""
        boolean = isinstance(cond, (ConditionAND, ConditionOR, ConditionNOT))
        if boolean and self._needs_regexp(cond):
            return tree(tree_op(cond), [self._child(a, state) for a in cond.args])
        if isinstance(cond, ConditionFieldEqualsValueExpression) and isinstance(
            cond.value, SigmaExpansion
        ) and self._needs_regexp(cond):
            return tree("or", [
                self._child(ConditionFieldEqualsValueExpression(cond.field, v), state)
                for v in cond.value.values
            ])
        if not boolean or self._one_text:
            return super().convert_condition(cond, state)  # type: ignore[misc]
        mark = len(self._records)
        self._one_text = True
        try:
            text = super().convert_condition(cond, state)  # type: ignore[misc]
        finally:
            self._one_text = False
        if not conflict(self._records[mark:]):
            return text
        # Warnings are recorded once per message, so converting the children again adds none.
        del self._records[mark:]
        return tree(tree_op(cond), [self._child(a, state) for a in cond.args])

    def _child(self, cond: Any, state: ConversionState) -> DslNode:
        """``cond`` converted as a tree node: a text becomes a KQL leaf holding its records."""
        mark = len(self._records)
        result = self.convert_condition(cond, state)
        if isinstance(result, DslNode):
            return result
        records = tuple(self._records[mark:])
        del self._records[mark:]
        needs = {record.need() for record in records} - {None}
        return kql_leaf(str(result), query_setting(records) if needs else None, records)

    def _needs_regexp(self, cond: Any) -> bool:
        """``cond`` holds a regex without a wildcard form, or a string test whose KQL text
        would not be exact on a field the regexp query reads whole."""
        return needs_regexp(cond, self._string_needs_regexp)  # type: ignore[attr-defined]

    def convert_condition_field_eq_val_re(self, cond: Any, state: ConversionState) -> Any:
        """A regex with a wildcard form is written as its values (KQL); any other is a
        ``regexp`` query (``regexp_query``)."""
        if not self._needs_regexp(cond):
            return super().convert_condition_field_eq_val_re(cond, state)  # type: ignore[misc]
        field = refuse_empty_field(cond.field)
        self.warn_length_limit(field, cond.value)  # type: ignore[attr-defined]
        info = self.field_model().lookup(field)  # type: ignore[attr-defined]
        return self._regexp_leaf(field, regexp_query(field, cond.value, info))

    def _regexp_leaf(self, field: str, query: dict[str, Any]) -> DslNode:
        """The tree leaf of a regexp query, declared when Elasticsearch would reject it."""
        if regexp_too_long(query):
            self.warn(  # type: ignore[attr-defined]
                f"the regexp query on {field} is longer than {MAX_REGEX_LENGTH:,} characters: "
                "Elasticsearch rejects it unless the index's index.max_regex_length is raised "
                "(regexp_max_length)"
            )
        return DslNode("regexp", query=query)

    def finish_query(self, rule: Any, query: Any, state: ConversionState) -> Any:
        """A tree is finished as it is (KQL has no deferred parts); text as in pySigma."""
        return query if isinstance(query, DslNode) else super().finish_query(  # type: ignore[misc]
            rule, query, state)
