"""The shared query tree that every language's parser lowers its text into.

Each interpreter (``backends/<lang>/parser.py``) turns an emitted query *text* into this tree; one
evaluator (``backends/query/evaluate.py``) runs it on events. The leaves carry their own semantics
(case, wildcard, missing-field outcome, field type effects), decided once at lowering time from the
language's ``Semantics`` table, so the evaluator never asks which language it is running.

Nodes are small frozen dataclasses: structural ``==``, hashable, and a ``repr`` that evaluates back
to an equal node (``eval(repr(node)) == node`` with this module's names in scope).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from dataclasses import field as _dataclass_field
from typing import Callable, ClassVar, Generic, TypeVar

# The leaves' kinds live in kinds.py; imported here, they stay in every node repr's scope and
# importable as ``ast.Fold`` (as before the split).
from backends.query.kinds import (  # noqa: F401 - MIRROR is re-exported for the parsers
    MIRROR,
    CompareOp,
    Fold,
    GlobPart,
    Missing,
    MultiValued,
    RegexDialect,
    Wildcard,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Span:
    """Where a node came from in the query text: character offset and length."""

    offset: int
    length: int

    def __repr__(self) -> str:
        return f"Span({self.offset}, {self.length})"


@dataclass(frozen=True)
class Node:
    """Base of all tree nodes. ``span`` is excluded from equality so trees compare structurally."""

    span: Span | None = field(default=None, compare=False, kw_only=True, repr=False)


# --- boolean structure -------------------------------------------------------------------------


@dataclass(frozen=True)
class And(Node):
    """True when every child is true (three-valued: false wins, then unknown)."""

    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or(Node):
    """True when any child is true (three-valued: true wins, then unknown)."""

    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not(Node):
    """Negation; the negation of unknown stays unknown."""

    child: Node


@dataclass(frozen=True)
class Const(Node):
    """A constant truth value (``any where true``, an empty SPL search ``*``)."""

    value: bool


# --- field tests (leaves) ----------------------------------------------------------------------


@dataclass(frozen=True)
class Leaf(Node):
    """A test of one field. Common semantics every leaf carries.

    Attributes:
        field: the event field name, dotted for nested ECS objects (``process.parent.name``).
        missing: outcome when the event lacks the field.
        max_length: values longer than this were never indexed and match nothing (ES keyword
            ``ignore_above``); None when there is no such limit.
        limited_by: the field (or multi-field) the limit belongs to.
        coerce: how the field's mapping reads an event value compared with a number: ``""``
            (no numeric mapping known: the value's own number), ``"integer"`` (an ES
            whole-number field: Java's long parsing, a fraction truncated) or ``"float"``;
            ``"lexical"`` for an ordering comparison with a number where the engine compares
            numbers numerically and other values as text (Splunk search:
            ``indexed.lexical_compare``).
        multi_valued: outcome when the field holds several values (``MultiValued``).
    """

    field: str = ""
    missing: Missing = Missing.FALSE
    max_length: int | None = None
    coerce: str = ""
    multi_valued: MultiValued = MultiValued.ANY
    #: The indexed field whose ``ignore_above`` set ``max_length`` (``process.name.caseless``
    #: for a multi-field); informational, so it takes no part in equality.
    limited_by: str = _dataclass_field(default="", compare=False, repr=False)


@dataclass(frozen=True)
class Exists(Leaf):
    """The field has at least one non-null value (an empty string counts as a value)."""


@dataclass(frozen=True)
class Equals(Leaf):
    """Whole-value equality with a string, number or boolean.

    ``case_sensitive`` applies to strings; a case-insensitive comparison folds both sides with
    ``fold``. ``lowercase_value`` lowercases the stored value per code point before comparing (a
    keyword field with a ``lowercase`` normalizer, which also lowercases query terms).
    """

    value: str | int | float | bool = ""
    case_sensitive: bool = True
    lowercase_value: bool = False
    fold: Fold = Fold.SIMPLE


@dataclass(frozen=True)
class Glob(Leaf):
    """Whole-value glob match: ``parts`` are literal strings and live ``Wildcard`` markers."""

    parts: tuple[GlobPart, ...] = ()
    case_sensitive: bool = True
    lowercase_value: bool = False
    fold: Fold = Fold.SIMPLE


@dataclass(frozen=True)
class Regex(Leaf):
    """Regular-expression match in the given dialect.

    ``anchored`` means the pattern must match the whole value (Lucene always; PCRE never unless the
    pattern anchors itself). ``flags`` is a subset of ``"ims"`` (PCRE inline-flag letters).
    """

    pattern: str = ""
    dialect: RegexDialect = RegexDialect.PCRE
    anchored: bool = False
    case_sensitive: bool = True
    flags: str = ""
    lowercase_value: bool = False
    fold: Fold = Fold.SIMPLE


@dataclass(frozen=True)
class Cidr(Leaf):
    """The value is an IP address inside the network ``network`` (``10.0.0.0/8``, IPv6 too).

    ``ipv4_mapped``: an IPv4-mapped IPv6 text (``::ffff:10.1.2.3``) is that IPv4 address, as in
    an Elasticsearch ``ip`` field; False where the engine reads only IPv4 text for an IPv4
    network (Kusto's ``ipv4_is_in_range``), so such a value is no match; None where the engine
    documents neither (Splunk's search CIDR): a value the two readings decide apart is undecided.

    ``prefix_match``: both sides are read in IP-prefix notation as one IPv6 space (IPv4 as its
    IPv4-mapped form) and compared on the shorter of their prefixes, so a value carrying its own
    ``/n`` widens the test (Kusto's ``ipv6_is_match``); a value only a lenient reading takes as an
    address (spaces around it, a zone index, leading zeros) is undecided
    (``matching.ip_prefix_match``). ``invalid``: what a value that is no address gives (False,
    or null where the engine's function returns null on a failed conversion).
    """

    network: str = ""
    ipv4_mapped: bool | None = True
    prefix_match: bool = False
    invalid: Missing = Missing.FALSE


@dataclass(frozen=True)
class Compare(Leaf):
    """Ordering comparison. Numbers compare numerically; strings lexicographically (sensitive)."""

    op: CompareOp = CompareOp.EQ
    value: str | int | float = 0


@dataclass(frozen=True)
class Text(Leaf):
    """Full-text match on an analysed (``text``/``match_only_text``) field.

    The stored value and the query are both tokenised with ``analyzer`` (``"standard"``: split on
    non-alphanumerics, lowercase). ``phrase`` requires the tokens in order and adjacent; otherwise
    any one token matching is enough (``match`` query with the default OR operator). ``parts`` may
    hold wildcards; a wildcard term matches single tokens.
    """

    parts: tuple[GlobPart, ...] = ()
    phrase: bool = False
    analyzer: str = "standard"


@dataclass(frozen=True)
class FieldEquals(Leaf):
    """Compare ``field`` with another field of the same event (Sigma ``fieldref``, SPL ``where``)."""

    other: str = ""
    case_sensitive: bool = True
    fold: Fold = Fold.SIMPLE


@dataclass(frozen=True)
class Keyword(Node):
    """An unbound value: matches when any field of the event (or its raw text) matches.

    ``fields`` restricts the search to those fields when not empty (Kibana default fields, Splunk
    ``_raw``). The value is a glob with the given case rule.
    """

    parts: tuple[GlobPart, ...] = ()
    case_sensitive: bool = False
    fields: tuple[str, ...] = ()
    fold: Fold = Fold.SIMPLE


def glob_text(parts: tuple[GlobPart, ...]) -> str:
    """Render a glob for humans (messages): wildcards as ``*``/``?``, literal ones escaped."""
    out = []
    for part in parts:
        if isinstance(part, Wildcard):
            out.append(part.value)
        else:
            out.append(part.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?"))
    return "".join(out)


@dataclass(frozen=True)
class SemiJoin(Node):
    """The event has a related row in another table: a left semi join on one key column.

    True when some row of the table held in the event's pseudo-column ``rows`` (a list of row
    objects, e.g. ``$DeviceInfo``: the related table's rows the renderer supplies with the event)
    satisfies ``where`` and has ``key`` equal (case-sensitively, as text) to the event's ``field``.
    Never unknown: a row whose ``where`` is unknown is not kept. ``missing_key`` is the text a
    missing key column reads as (Kusto strings: ``""``), or None when a missing key matches
    nothing. The ``where`` predicate tests the related rows, not the event, so ``children`` does
    not descend into it.
    """

    field: str = ""
    rows: str = ""
    key: str = ""
    where: Node = Const(True)
    missing_key: str | None = None


# --- walking the tree ---------------------------------------------------------------------------


#: (visitor class, node class) -> method name; as many entries as such pairs in the code.
_METHODS: dict[tuple[type, type], str | None] = {}


def _method_name(visitor: type[Visitor[T]], node: type[Node]) -> str | None:
    """The visitor's method for a node class: the first class of its MRO that has one."""
    key = (visitor, node)
    if key not in _METHODS:
        names = (
            visitor.prefix + re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()
            for cls in node.__mro__
        )
        _METHODS[key] = next((name for name in names if hasattr(visitor, name)), None)
    return _METHODS[key]


class Visitor(Generic[T]):
    """The one walk over the tree: ``visit(node)`` calls ``<prefix><snake_case node class>``.

    Methods are found through the node class's MRO (``visit_field_equals``, else ``visit_leaf``,
    else ``visit_node``), so a subclass of a known node reuses its parent's method; a node with
    no method anywhere in its MRO goes to ``unknown``, which raises: a new kind of node is never
    skipped silently. Children are visited by the methods that want them (``self.visit(child)``).
    """

    prefix: ClassVar[str] = "visit_"

    def visit(self, node: Node) -> T:
        """The visitor's result for ``node``."""
        name = _method_name(type(self), type(node))
        if name is None:
            return self.unknown(node)
        method: Callable[[Node], T] = getattr(self, name)
        return method(node)

    def unknown(self, node: Node) -> T:
        """A node class without a method (a programming error unless a visitor says otherwise)."""
        raise TypeError(f"{type(self).__name__} has no method for {type(node).__name__}")


def children(node: Node) -> tuple[Node, ...]:
    """The direct children of ``node`` (none for a leaf or a constant)."""
    if isinstance(node, (And, Or)):
        return node.children
    if isinstance(node, Not):
        return (node.child,)
    return ()


def walk(node: Node) -> Iterator[Node]:
    """``node`` and every node below it, parents before children (iteratively: a tree may nest
    deeper than Python's recursion limit)."""
    todo = [node]
    while todo:
        current = todo.pop()
        yield current
        todo.extend(reversed(children(current)))


class _Describe(Visitor[str]):
    """``describe``: one short, language-neutral phrase per node."""

    def visit_and(self, node: And) -> str:
        return "and(" + ", ".join(self.visit(c) for c in node.children) + ")"

    def visit_or(self, node: Or) -> str:
        return "or(" + ", ".join(self.visit(c) for c in node.children) + ")"

    def visit_not(self, node: Not) -> str:
        return f"not {self.visit(node.child)}"

    def visit_const(self, node: Const) -> str:
        return str(node.value).lower()

    def visit_exists(self, node: Exists) -> str:
        return f"{node.field} exists"

    def visit_equals(self, node: Equals) -> str:
        return f"{node.field} == {node.value!r}{_case(node)}"

    def visit_glob(self, node: Glob) -> str:
        return f"{node.field} like {glob_text(node.parts)!r}{_case(node)}"

    def visit_regex(self, node: Regex) -> str:
        anchor = "whole value" if node.anchored else "anywhere"
        return f"{node.field} regex {node.pattern!r} [{node.dialect.value}, {anchor}]{_case(node)}"

    def visit_cidr(self, node: Cidr) -> str:
        return f"{node.field} in {node.network}"

    def visit_compare(self, node: Compare) -> str:
        return f"{node.field} {node.op.value} {node.value!r}"

    def visit_text(self, node: Text) -> str:
        kind = "phrase" if node.phrase else "any token"
        return f"{node.field} text {kind} {glob_text(node.parts)!r}"

    def visit_field_equals(self, node: FieldEquals) -> str:
        return f"{node.field} == field {node.other}{_case(node)}"

    def visit_keyword(self, node: Keyword) -> str:
        return f"keyword {glob_text(node.parts)!r}"

    def visit_semi_join(self, node: SemiJoin) -> str:
        return (f"{node.field} == {node.key} of a {node.rows} row where "
                f"{self.visit(node.where)}")

    def visit_node(self, node: Node) -> str:
        return type(node).__name__


def _case(node: Equals | Glob | Regex | FieldEquals) -> str:
    """How a string test treats case, for ``describe``."""
    if node.case_sensitive:
        return " (case-sensitive)"
    if node.fold is not Fold.SIMPLE:
        return f" (case-insensitive, {node.fold.value} folding)"
    return " (case-insensitive)"


_DESCRIBE = _Describe()


def describe(node: Node) -> str:
    """A short, language-neutral description of a node, for disagreement reports."""
    return _DESCRIBE.visit(node)
