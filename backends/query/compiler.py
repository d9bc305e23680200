"""Compiling query trees (``ast``) to predicates: one closure per node kind.

``Compiler`` turns each node kind into a closure (``evaluate.py`` caches them per node and shares
a leaf's verdict per event view); the semantics each leaf applies (three-valued logic, case
folding under every candidate reading, missing and multi-valued fields) are described in
``evaluate.py``'s docstring. Split out of ``evaluate.py``, which keeps the caches and the public
functions (``compile_query``, ``compile_once``, ``evaluate``, ``matches``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any, Optional

from . import ast
from .errors import UnsupportedQueryError, VerdictUndecided
from .folding import simple_lower
from .indexed import (
    Event,
    event_values,
    indexed_values,
    is_several,
    lexical_compare,
    missing_result,
    number_reader,
    undecided_values,
)
from .matching import (
    analyze,
    cidr_match,
    glob_predicate,
    glob_to_regex,
    globs_predicate,
    ip_prefix_match,
    iter_strings,
    lookup,
    parse_network,
    scalar_text,
    to_number,
)
from .plain_regex import PlainForm
from .regex_leaf import regex_form, regex_group_test, regex_test
from .readings import (
    ValueTest,
    agree,
    fold_parts,
    folded_test,
    foldings,
)

__all__ = ["Compiler", "Predicate", "junction"]

#: A compiled query: event in, True / False / None (unknown) out.
Predicate = Callable[[Mapping[str, Any]], Optional[bool]]

_ORDER = {
    ast.CompareOp.LT: operator.lt,
    ast.CompareOp.LTE: operator.le,
    ast.CompareOp.GT: operator.gt,
    ast.CompareOp.GTE: operator.ge,
    ast.CompareOp.EQ: operator.eq,
    ast.CompareOp.NEQ: operator.ne,
}


class Compiler(ast.Visitor[Predicate]):
    """Turns nodes into predicates; one ``_compile_<snake_case_class>`` method per node kind
    (``ast.Visitor``: found through the node class's MRO; a class with no method anywhere in its
    MRO is an error, never a default). Children go through ``child``, the function the compiler
    is built with: the cached ``compile_query``, or ``compile_once`` for a tree compiled once.
    """

    prefix = "_compile_"

    def __init__(self, child: Callable[[ast.Node], Predicate],
                 cached: Callable[[ast.Node], Predicate]) -> None:
        #: How a child node becomes a predicate (``evaluate.compile_query``, cached, or
        #: ``evaluate.compile_once``).
        self.child = child
        #: The cached compilation (``evaluate.compile_query``), for a subquery of its own.
        self.cached = cached

    def unknown(self, node: ast.Node) -> Predicate:
        raise UnsupportedQueryError(f"the evaluator has no rule for node type {type(node).__name__}")

    # --- boolean structure -------------------------------------------------------------------

    def _or_children(self, nodes: tuple[ast.Node, ...]) -> list[Predicate]:
        """OR children compiled, the children of OR children among them (``Or`` is associative in
        three-valued logic), with leaves of one field and the same flags merged into one test:
        Globs, string Equals, and Regexes that are string tests (``regex_leaf.regex_form``)."""
        groups: dict[tuple[Any, ...], list[Any]] = {}
        forms: dict[tuple[Any, ...], list[PlainForm]] = {}
        out: list[Predicate] = []
        key: tuple[Any, ...]
        for child in _or_operands(nodes):
            # Globs, and Equals with a string value, merge with their like on the same field.
            if type(child) is ast.Glob or (type(child) is ast.Equals and isinstance(child.value, str)):
                key = (type(child), child.field, child.case_sensitive, child.lowercase_value,
                       child.fold, child.missing, child.max_length, child.multi_valued)
                groups.setdefault(key, []).append(child)
            elif (type(child) is ast.Regex and child.multi_valued is ast.MultiValued.ANY
                  and (form := regex_form(child)) is not None):
                key = (ast.Regex, child.field, child.lowercase_value, child.missing,
                       child.max_length)
                groups.setdefault(key, []).append(child)
                forms.setdefault(key, []).append(form)
            else:
                out.append(self.child(child))
        for key, leaves in groups.items():
            if len(leaves) == 1:
                out.append(self.child(leaves[0]))
            elif key[0] is ast.Glob:
                out.append(self._compile_glob_group(tuple(leaves)))
            elif key[0] is ast.Regex:
                out.append(self._compile_regex_group(leaves[0], tuple(forms[key])))
            else:
                out.append(self._compile_equals_group(tuple(leaves)))
        return out

    def _compile_regex_group(self, first: ast.Regex, forms: tuple[PlainForm, ...]) -> Predicate:
        """OR-ed Regexes on one field whose tests are string tests (``regex_leaf.regex_form``),
        with the same value normalizer, missing-field outcome and length limit, each value read
        as any of them (``MultiValued.ANY``): one test. Exact for the reason
        ``_compile_glob_group`` is: some value passes one test exactly when one test passes
        some value."""
        return self._any_value(first, regex_group_test(first.lowercase_value, forms))

    def _compile_equals_group(self, leaves: tuple[ast.Equals, ...]) -> Predicate:
        """OR-ed string Equals on one field with the same flags: one set membership test (exact
        for the same reason as ``_compile_glob_group``; a rule's list of 300 hashes)."""
        first = leaves[0]
        functions = foldings(first.case_sensitive, first.lowercase_value, first.fold)

        def make(function: Callable[[str], str]) -> Callable[[str], bool]:
            wanted = frozenset(function(str(leaf.value)) for leaf in leaves)
            return wanted.__contains__

        return self._any_value(first, folded_test(first, functions, make))

    def _compile_and(self, node: ast.And) -> Predicate:
        return junction(tuple(self.child(c) for c in node.children), decisive=False)

    def _compile_or(self, node: ast.Or) -> Predicate:
        return junction(tuple(self._or_children(node.children)), decisive=True)

    def _compile_not(self, node: ast.Not) -> Predicate:
        child = self.child(node.child)

        def run(event: Mapping[str, Any]) -> bool | None:
            result = child(event)
            return None if result is None else not result

        return run

    def _compile_const(self, node: ast.Const) -> Predicate:
        value = bool(node.value)
        return lambda event: value

    # --- leaves ------------------------------------------------------------------------------

    @staticmethod
    def _any_value(leaf: ast.Leaf, test: ValueTest) -> Predicate:
        """Predicate true when any indexed value of the leaf's field passes ``test``."""
        field, max_length, missing = leaf.field, leaf.max_length, missing_result(leaf)
        if leaf.multi_valued is ast.MultiValued.UNDECIDED:

            def run_agreeing(event: Mapping[str, Any]) -> bool | None:
                values = indexed_values(event, field, max_length)
                if values is None:
                    return missing
                verdicts = {bool(test(v)) for v in values}
                if len(verdicts) > 1:
                    raise undecided_values(leaf, values)
                return verdicts.pop()

            return run_agreeing
        if leaf.multi_valued is not ast.MultiValued.ANY:

            def run_single(event: Mapping[str, Any]) -> bool | None:
                values = indexed_values(event, field, max_length)
                if values is None:
                    return missing
                if len(values) > 1 and is_several(leaf, values):
                    return None
                return any(test(v) for v in values)

            return run_single

        if max_length is not None:

            def run(event: Mapping[str, Any]) -> bool | None:
                values = indexed_values(event, field, max_length)
                if values is None:
                    return missing
                return any(test(v) for v in values)

            return run

        # No length limit: every value is indexed (``indexed_values`` is ``event_values``); the
        # common shapes, an ``Event`` view and one value, are read without the calls around them.
        def run_any(event: Mapping[str, Any]) -> bool | None:
            if type(event) is Event:
                values = event.values_of(field)
            else:
                values = event_values(event, field)
            if values is None:
                return missing
            if len(values) == 1:
                return True if test(values[0]) else False
            return any(test(v) for v in values)

        return run_any

    def _compile_exists(self, node: ast.Exists) -> Predicate:
        # An existence test is never unknown: a missing field is simply "does not exist", whatever
        # the leaf's missing policy (SPL isnotnull(), EQL `!= null` and ES `exists` all agree).
        field, max_length = node.field, node.max_length
        return lambda event: indexed_values(event, field, max_length) is not None

    def _compile_equals(self, node: ast.Equals) -> Predicate:
        value = node.value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            target_number = value
            read = number_reader(node)

            def test_number(v: Any) -> bool:
                number = read(v)
                return number is not None and number == target_number

            return self._any_value(node, test_number)
        # Booleans compare as their JSON text, so True matches a JSON true and the string "true"
        # (a keyword field indexes a JSON boolean as "true"; a boolean field accepts "true").
        text = scalar_text(value)
        functions = foldings(node.case_sensitive, node.lowercase_value, node.fold)

        def make(function: Callable[[str], str]) -> Callable[[str], bool]:
            return function(text).__eq__

        return self._any_value(node, folded_test(node, functions, make))

    def _compile_glob(self, node: ast.Glob) -> Predicate:
        functions = foldings(node.case_sensitive, node.lowercase_value, node.fold)

        def make(function: Callable[[str], str]) -> Callable[[str], bool]:
            return glob_predicate(fold_parts(node.parts, function))

        return self._any_value(node, folded_test(node, functions, make))

    def _compile_glob_group(self, leaves: tuple[ast.Glob, ...]) -> Predicate:
        """Several Globs on one field with the same flags, OR-ed: one test (``globs_predicate``:
        string operations for the plain shapes, one alternation regex for the rest).

        Exact: each Glob is "some value fullmatches its pattern" with the same field, case rule,
        length limit and missing-field outcome, so their OR is "some value fullmatches one of the
        patterns".
        """
        first = leaves[0]
        functions = foldings(first.case_sensitive, first.lowercase_value, first.fold)

        def make(function: Callable[[str], str]) -> Callable[[str], bool]:
            return globs_predicate(tuple(fold_parts(leaf.parts, function) for leaf in leaves))

        return self._any_value(first, folded_test(first, functions, make))

    def _compile_regex(self, node: ast.Regex) -> Predicate:
        return self._any_value(node, regex_test(node))

    def _compile_cidr(self, node: ast.Cidr) -> Predicate:
        network, mapped = node.network, node.ipv4_mapped
        parse_network(network)  # reject a bad network at compile time
        if node.prefix_match:
            return self._compile_prefix_match(node)
        return self._any_value(node, lambda v: cidr_match(v, network, mapped))

    @staticmethod
    def _compile_prefix_match(node: ast.Cidr) -> Predicate:
        """A three-valued cidr test (``ast.Cidr.prefix_match``): null on a value that is no
        address where ``invalid`` says so; over several values true if any is, else null if
        any is, else false (an OR of the per-value tests)."""
        field, max_length, missing = node.field, node.max_length, missing_result(node)
        network, invalid = node.network, None if node.invalid is ast.Missing.NULL else False

        def run(event: Mapping[str, Any]) -> bool | None:
            values = indexed_values(event, field, max_length)
            if values is None:
                return missing
            if len(values) > 1 and node.multi_valued is not ast.MultiValued.ANY and is_several(
                node, values
            ):
                return None
            verdicts = [ip_prefix_match(v, network, invalid) for v in values]
            if True in verdicts:
                return True
            return None if None in verdicts else False

        return run

    def _compile_compare(self, node: ast.Compare) -> Predicate:
        # NEQ is a per-value test like the others ("some value differs"); parsers lower
        # language-level inequality to Not(Equals) when that is what the language means.
        order = _ORDER[node.op]
        value = node.value
        if isinstance(value, (int, float)) and not isinstance(value, bool) and \
                node.coerce == "lexical":
            number = value
            return self._any_value(node, lambda v: lexical_compare(v, number, order))
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            target = value
            read = number_reader(node)

            def test_number(v: Any) -> bool:
                number = read(v)
                return number is not None and bool(order(number, target))

            return self._any_value(node, test_number)
        text = scalar_text(value)  # strings compare lexicographically, case-sensitively
        return self._any_value(node, lambda v: bool(order(scalar_text(v), text)))

    def _compile_text(self, node: ast.Text) -> Predicate:
        if node.analyzer != "standard":
            raise UnsupportedQueryError(f"text analysis with analyzer {node.analyzer!r}")
        wildcard = any(isinstance(p, ast.Wildcard) for p in node.parts)
        if wildcard and node.phrase:
            raise UnsupportedQueryError("a phrase query containing wildcards")
        if wildcard:
            # A wildcard term is not tokenised, only normalised (lowercased), and is matched
            # against single indexed tokens.
            parts = fold_parts(node.parts, simple_lower)
            fullmatch = glob_to_regex(parts, True).fullmatch
            return self._any_value(
                node, lambda v: any(fullmatch(t) for t in analyze(scalar_text(v)))
            )
        query = analyze("".join(p for p in node.parts if isinstance(p, str)))
        if not query:
            # A match query whose text analyses to nothing matches no document
            # (zero_terms_query defaults to none).
            return self._any_value(node, lambda v: False)
        if node.phrase:
            size = len(query)

            def test_phrase(v: Any) -> bool:
                tokens = analyze(scalar_text(v))
                return any(tokens[i : i + size] == query for i in range(len(tokens) - size + 1))

            return self._any_value(node, test_phrase)
        wanted = frozenset(query)
        return self._any_value(node, lambda v: not wanted.isdisjoint(analyze(scalar_text(v))))

    def _compile_field_equals(self, node: ast.FieldEquals) -> Predicate:
        field, other, max_length = node.field, node.other, node.max_length
        missing, fold = missing_result(node), not node.case_sensitive
        functions = foldings(node.case_sensitive, False, node.fold)
        single = node.multi_valued is not ast.MultiValued.ANY

        def equal(a: Any, b: Any) -> bool:
            if any(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (a, b)):
                na, nb = to_number(a), to_number(b)
                return na is not None and na == nb
            ta, tb = scalar_text(a), scalar_text(b)
            if not fold:
                return ta == tb
            return agree(node, ta, [f(ta) == f(tb) for f in functions])

        def run(event: Mapping[str, Any]) -> bool | None:
            left = indexed_values(event, field, max_length)
            right = indexed_values(event, other, max_length)
            if left is None or right is None:
                return missing
            if single and any(len(side) > 1 and is_several(node, side) for side in (left, right)):
                return None
            return any(equal(a, b) for a in left for b in right)

        return run

    def _compile_semi_join(self, node: ast.SemiJoin) -> Predicate:
        where = self.cached(node.where)
        field, rows, key, missing = node.field, node.rows, node.key, node.missing_key

        def key_text(values: list[Any] | None) -> str | None:
            # A key column holds one scalar; a missing one reads as ``missing`` (or never joins).
            if values is None:
                return missing
            return scalar_text(values[0]) if len(values) == 1 else None

        def run(event: Mapping[str, Any]) -> bool | None:
            wanted = key_text(event_values(event, field))
            if wanted is None:
                return False
            related = event.get(rows)
            if isinstance(related, Mapping):
                related = [related]
            if not isinstance(related, list):
                return False
            for row in related:
                if not isinstance(row, Mapping):
                    raise UnsupportedQueryError(f"{rows} holds a {type(row).__name__}, not a row")
                if key_text(lookup(row, key)) == wanted and where(Event(row)) is True:
                    return True
            return False

        return run

    def _compile_keyword(self, node: ast.Keyword) -> Predicate:
        functions = foldings(node.case_sensitive, False, node.fold)

        def make(function: Callable[[str], str]) -> Callable[[str], bool]:
            fullmatch = glob_to_regex(fold_parts(node.parts, function), True).fullmatch
            return lambda text: fullmatch(text) is not None

        test = folded_test(node, functions, make)
        fields = node.fields

        def texts(event: Mapping[str, Any]) -> Any:
            if not fields:
                return iter_strings(event)
            return (t for f in fields for t in iter_strings(event_values(event, f) or ()))

        def run(event: Mapping[str, Any]) -> bool | None:
            return any(test(text) for text in texts(event))

        return run


def _or_operands(nodes: tuple[ast.Node, ...]) -> list[ast.Node]:
    """``nodes`` with every ``Or`` among them replaced by its own operands, recursively."""
    out: list[ast.Node] = []
    for node in nodes:
        if type(node) is ast.Or:
            out.extend(_or_operands(node.children))
        else:
            out.append(node)
    return out


def junction(children: tuple[Predicate, ...], decisive: bool) -> Predicate:
    """An ``And`` (``decisive`` False) or ``Or`` (True) of ``children`` in three-valued logic.

    A child whose verdict is not known (``VerdictUndecided``: its readings of the engine's case
    folding or of an address disagree) does not decide the junction when another child does: an
    ``And`` with a false operand is false, an ``Or`` with a true one true, under every reading.
    Only when no child decides is the first undecided child's error raised.
    """

    def run(event: Mapping[str, Any]) -> bool | None:
        unknown = False
        undecided: VerdictUndecided | None = None
        for child in children:
            try:
                result = child(event)
            except VerdictUndecided as exc:
                undecided = undecided or exc
                continue
            if result is decisive:
                return decisive
            if result is None:
                unknown = True
        if undecided is not None:
            raise undecided
        return None if unknown else not decisive

    return run
