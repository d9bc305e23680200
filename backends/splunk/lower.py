"""Lowering of SPL commands to the shared query tree, consulting ``SEMANTICS``.

``Lowering`` walks one query's commands (split by ``parser.py``): the search language of the
initial search, ``| search`` and ``tstats ... where``, the ``regex``/``rex``/``eval``/``where``
pipes (eval expressions are lowered by ``where.WhereLowering``), and the ``tstats`` BY-field fill.
The interpreter never imports an emitter.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from lark import Token, Tree

from backends.query.ast import (
    Fold,
    And,
    Cidr,
    Compare,
    CompareOp,
    Const,
    Equals,
    Exists,
    FieldEquals,
    Glob,
    GlobPart,
    Keyword,
    Leaf,
    Missing,
    MultiValued,
    Node,
    Not,
    Or,
    Regex,
    RegexDialect,
    Span,
    Wildcard,
)
from backends.query.errors import QueryParseError, UnsupportedQueryError

from .semantics import LANGUAGE, SEARCH_CIDR_SHAPE, SEMANTICS
from .where import WhereLowering, unescape

if TYPE_CHECKING:
    from backends.query.fields import FieldModel
    from backends.query.syntax import Grammar

#: A value in CIDR notation (``semantics.SEARCH_CIDR_SHAPE``).
_CIDR = SEARCH_CIDR_SHAPE
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
#: A field name of the regex / rex commands: word characters, '.', and a JSON array's '{}'
#: (semantics json_array_fields).
_ARG_FIELD = r"((?:[\w.]|\{\})+)"
_REGEX_ARGS = re.compile(r'^\s*(?:' + _ARG_FIELD + r'\s*(!=|=)\s*)?("(?:[^"\\]|\\.)*")\s*$')
_REX_ARGS = re.compile(r'^\s*field=' + _ARG_FIELD + r'\s+("(?:[^"\\]|\\.)*")\s*$')
_REX_GROUP = re.compile(r"^\(\?<(\w+)>(.*)\)$", re.S)
_EVAL_IF = re.compile(
    r'^\s*([\w.]+)\s*=\s*if\((.*),\s*"true"\s*,\s*"false"\s*\)\s*$', re.S
)
_FIELD_NAME = re.compile(str(SEMANTICS.get("search_field_name")) + r"\Z")
_RESERVED = SEMANTICS.typed("search_reserved_words", frozenset)
_TSTATS = re.compile(r"\bfrom\s+datamodel=([\w]+)\.([\w]+)(\s+where\s+)?", re.I)


@dataclass
class Lowering:
    """Lowering of one query's commands to the shared tree, and the state carried between them.

    ``parser.parse`` calls one ``*_command`` method per pipe; each adds to ``filters`` (the
    conjunction that is the query) or defines the fields a later search reads.
    """

    text: str
    grammar: Grammar
    fields: FieldModel | None = None
    dataset: str | None = None
    by_fields: frozenset[str] | None = None  # set once tstats has run
    fill: str | None = None
    groups: dict[str, Node] = field(default_factory=dict)  # rex group -> "group is not null"
    conditions: dict[str, Node] = field(default_factory=dict)  # eval field -> "is true" node
    filters: list[Node] = field(default_factory=list)

    # --- helpers shared by all commands ---------------------------------------------------

    def error(self, message: str, offset: int, width: int = 1) -> QueryParseError:
        return QueryParseError(message, self.text, offset, width, LANGUAGE)

    def field_name(self, name: str) -> str:
        """Strip the data-model ``<Set>.`` prefix: rendered CIM events use bare field names."""
        if self.dataset and name.startswith(self.dataset + "."):
            return name[len(self.dataset) + 1 :]
        return name

    def fill_leaf(self, leaf: Node) -> Node:
        """After tstats a missing BY field holds the fill string; rewrite the leaf for that."""
        if self.by_fields is None:
            return leaf
        if isinstance(leaf, Keyword):
            raise UnsupportedQueryError("a bare search term after tstats (there is no _raw)")
        if isinstance(leaf, FieldEquals):
            return self._fill_pair(leaf)
        assert isinstance(leaf, Leaf)
        name = leaf.field
        if name not in self.by_fields:
            raise UnsupportedQueryError(
                f"field {name!r} is used after tstats but is not one of its BY fields"
            )
        if self.fill is None:  # rows with a null BY field were dropped: the field exists
            return leaf
        if isinstance(leaf, Exists):
            return Const(True)
        from backends.query.evaluate import evaluate  # lazy: only tstats queries need it

        if evaluate(leaf, {name: self.fill}):
            return Or((Not(Exists(field=name)), leaf))
        return And((Exists(field=name), leaf))

    def _fill_pair(self, leaf: FieldEquals) -> Node:
        a, b = leaf.field, leaf.other
        for name in (a, b):
            if name not in self.by_fields:  # type: ignore[operator]
                raise UnsupportedQueryError(
                    f"field {name!r} is used after tstats but is not one of its BY fields"
                )
        if self.fill is None:
            return leaf
        fill, cs = self.fill, leaf.case_sensitive
        present = And((Exists(field=a), Exists(field=b), leaf))
        return Or(
            (
                present,
                And((Not(Exists(field=a)), Not(Exists(field=b)))),
                And((Not(Exists(field=a)), Equals(field=b, value=fill, case_sensitive=cs))),
                And((Not(Exists(field=b)), Equals(field=a, value=fill, case_sensitive=cs))),
            )
        )

    # --- search language ------------------------------------------------------------------

    def parse_search(self, body: str, offset: int) -> Node:
        """Lower a search-language fragment (``body`` starts at ``offset`` in the query)."""
        if not body.strip():
            return Const(True)
        tree = self.grammar.parse(body, "search_query", self.text, offset)
        return self._search(tree, offset)

    def _search(self, tree: Tree | Token, base: int) -> Node:
        span = _span(tree, base)
        if not isinstance(tree, Tree):  # pragma: no cover - the grammar wraps every token
            raise self.error(f"unexpected search construct {tree.type!r}", span.offset)
        kind = tree.data
        if kind == "s_and":
            return And(tuple(self._search(c, base) for c in tree.children), span=span)
        if kind == "s_or":
            return Or(tuple(self._search(c, base) for c in tree.children), span=span)
        if kind == "s_neg":
            return Not(self._search(tree.children[0], base), span=span)
        if kind == "s_term":
            return self._bare_term(tree.children[0], base)
        if kind == "s_in":
            name = self._field(tree.children[0])
            tests = [self._value_test(name, v, base) for v in tree.children[1:]]
            return Or(tuple(tests), span=span)
        if kind == "s_cmp":
            field_tree, op, value = tree.children
            name = self._field(field_tree)
            if op == "=":
                return self._value_test(name, value, base)
            if op == "!=":
                # '!=' needs the field: true only when it exists with another value (NOT field=v
                # would also keep events lacking it).
                assert SEMANTICS.get("search_neq_requires_field")
                if name in self.conditions:
                    return Not(self._value_test(name, value, base), span=span)
                exists = self.fill_leaf(Exists(field=name, span=span))
                return And((exists, Not(self._value_test(name, value, base))), span=span)
            return self._compare(name, str(op), value, base)
        raise self.error(f"unexpected search construct {kind!r}", span.offset)  # pragma: no cover

    def _field(self, tree: Tree) -> str:
        """A search field name; one of another shape is not guessed (``search_field_name``)."""
        name = str(tree.children[0])
        if not _FIELD_NAME.match(name) or name in _RESERVED:
            raise UnsupportedQueryError(
                f"search field name {name!r}: SPL search documents no such field name "
                "(semantics entry search_field_name)"
            )
        return self.field_name(name)

    def _value(self, tree: Tree, base: int) -> tuple[tuple[GlobPart, ...], bool, bool]:
        """Decode a search value: (glob parts, case_sensitive, quoted)."""
        kind = tree.data
        if kind == "cased":
            inner, _, quoted = self._value(tree.children[0], base)
            return inner, bool(SEMANTICS.get("case_function_sensitive")), quoted
        if kind == "termed":
            raise UnsupportedQueryError("TERM() (matching one indexed term) is not evaluated")
        token = cast(Token, tree.children[0])
        raw = str(token)[1:-1] if kind == "quoted" else str(token)
        parts: list[GlobPart] = []
        literal: list[str] = []
        # Only an escape (a backslash and the next character) or the wildcard does anything; the
        # text between them is literal ('?' included: search has no single-character wildcard).
        i = 0
        for special in _value_syntax().finditer(raw):
            literal.append(raw[i:special.start()])
            i = special.end()
            nxt = special.group(1)
            if nxt is None:  # the wildcard
                text = "".join(literal)
                if text:
                    parts.append(text)
                literal = []
                if not (parts and parts[-1] is Wildcard.ANY):
                    parts.append(Wildcard.ANY)
            elif nxt == "*":
                # The Backslashes page: a backslash cannot escape '*'; what '\*' then means
                # is not documented, so it is not guessed.
                offset = base + (token.start_pos or 0) + special.start()
                raise UnsupportedQueryError(
                    f"'\\*' in a search value at offset {offset}: a "
                    "backslash cannot escape '*' in SPL search"
                )
            else:
                literal.append(nxt if nxt in '\\"' else "\\" + nxt)
        literal.append(raw[i:])
        text = "".join(literal)
        if text:
            parts.append(text)
        return tuple(parts), bool(SEMANTICS.get("search_case_sensitive")), kind == "quoted"

    def _value_test(self, name: str, tree: Tree, base: int) -> Node:
        """``field=value`` in search: whole-value, case-insensitive unless CASE()."""
        span = _span(tree, base)
        parts, case_sensitive, _ = self._value(tree, base)
        if name in self.conditions:
            text = "".join(p if isinstance(p, str) else "*" for p in parts).lower()
            if text == "true":
                return self.conditions[name]
            if text == "false":
                return Not(self.conditions[name])
            raise UnsupportedQueryError(f"condition field {name} compared with {text!r}")
        if parts == (Wildcard.ANY,):
            return self.fill_leaf(Exists(field=name, span=span))
        if all(isinstance(p, str) for p in parts):
            value = "".join(p for p in parts if isinstance(p, str))
            if _CIDR.match(value) and SEMANTICS.get("search_cidr"):
                try:
                    network = str(ipaddress.ip_network(value, strict=False))
                except ValueError:
                    network = ""
                if network:
                    return self.fill_leaf(Cidr(
                        field=name, network=network, span=span,
                        ipv4_mapped=SEMANTICS.typed("search_cidr_ipv4_mapped", type(None)),
                    ))
            leaf: Node = Equals(field=name, value=value, case_sensitive=case_sensitive,
                                 fold=_search_fold(case_sensitive), span=span)
        else:
            leaf = Glob(field=name, parts=parts, case_sensitive=case_sensitive,
                        fold=_search_fold(case_sensitive), span=span)
        return self.fill_leaf(leaf)

    def _compare(self, name: str, op: str, tree: Tree, base: int) -> Node:
        parts, _, _ = self._value(tree, base)
        text = "".join(p if isinstance(p, str) else "*" for p in parts)
        if not _NUMBER.fullmatch(text):
            leaf = Compare(field=name, op=CompareOp(op), value=text, span=_span(tree, base))
            return self.fill_leaf(leaf)
        value = float(text) if "." in text else int(text)
        if str(value) != text:
            # Other values compare with the number's text (search_numeric_comparison); the
            # leaf keeps the number, whose canonical text this is not.
            raise UnsupportedQueryError(f"the number {text!r} in a comparison is not in its "
                                        "canonical form, the text other values compare with")
        leaf = Compare(field=name, op=CompareOp(op), value=value, span=_span(tree, base),
                       coerce=str(SEMANTICS.get("search_numeric_comparison")))
        return self.fill_leaf(leaf)

    def _bare_term(self, tree: Tree, base: int) -> Node:
        """A bare keyword: only ``*`` and ``*term*`` (substring of _raw) are evaluated."""
        parts, case_sensitive, _ = self._value(tree, base)
        if parts == (Wildcard.ANY,):
            return Const(True, span=_span(tree, base))
        if len(parts) >= 3 and parts[0] is Wildcard.ANY and parts[-1] is Wildcard.ANY:
            raw = str(SEMANTICS.get("search_bare_term_raw"))
            keyword = Keyword(parts=parts, case_sensitive=case_sensitive, fields=(raw,),
                              fold=_search_fold(case_sensitive))
            return self.fill_leaf(dataclasses.replace(keyword, span=_span(tree, base)))
        raise UnsupportedQueryError(
            f"bare search term {''.join(p if isinstance(p, str) else '*' for p in parts)!r}: it "
            "matches indexed terms of _raw (segmented by breakers), which is not evaluated; only "
            "'*term*' is (as a substring of _raw)"
        )

    # --- pipe commands --------------------------------------------------------------------

    def regex_command(self, args: str, offset: int) -> None:
        match = _REGEX_ARGS.match(args)
        if not match:
            message = 'expected regex <field>="<pcre>" or <field>!="<pcre>"'
            raise self.error(message, offset, len(args))
        name = self.field_name(match.group(1) or str(SEMANTICS.get("regex_default_field")))
        pattern = unescape(match.group(3)[1:-1])
        leaf = self.fill_leaf(_pcre(name, pattern, Missing.FALSE))
        # '!=' keeps results whose value does not match; a missing field is kept (inferred, see
        # the regex_neq_missing_keeps entry).
        self.filters.append(Not(leaf) if match.group(2) == "!=" else leaf)

    def rex_command(self, args: str, offset: int) -> None:
        match = _REX_ARGS.match(args)
        group = _REX_GROUP.match(unescape(match.group(2)[1:-1])) if match else None
        if not match or not group:
            raise UnsupportedQueryError(
                f'rex other than field=F "(?<name>pcre)" at offset {offset}: {args.strip()!r}'
            )
        name = self.field_name(match.group(1))
        # The group is null unless the pattern matches (rex_missing_no_match).
        self.groups[group.group(1)] = self.fill_leaf(_pcre(name, group.group(2), Missing.FALSE))

    def eval_command(self, args: str, offset: int) -> None:
        match = _EVAL_IF.match(args)
        if not match:
            raise UnsupportedQueryError(
                'eval other than C=if(<expr>, "true", "false") '
                f"at offset {offset}: {args.strip()!r}"
            )
        inner_offset = offset + match.start(2)
        tree = self.grammar.parse(match.group(2), "eval_expr", self.text, inner_offset)
        node = WhereLowering(self, inner_offset).lower(tree)
        # if() takes the "false" branch unless its condition is true (null included).
        assert SEMANTICS.get("eval_if_null_is_false")
        self.conditions[match.group(1)] = WhereLowering.definitely(node, True)

    def where_command(self, args: str, offset: int) -> None:
        tree = self.grammar.parse(args, "eval_expr", self.text, offset)
        self.filters.append(WhereLowering(self, offset).lower(tree))

    def tstats_command(self, args: str, offset: int) -> None:
        match = _TSTATS.search(args)
        if not match:
            message = "expected tstats ... from datamodel=<model>.<dataset>"
            raise self.error(message, offset, len(args))
        self.dataset = match.group(2)
        by = _find_by(args, match.end())
        if by is None:
            raise self.error("expected 'by <fields>' in tstats", offset + len(args.rstrip()))
        fill = re.search(r'\bfillnull_value=("(?:[^"\\]|\\.)*"|\S+)', args[: match.start()])
        if match.group(3):
            self.filters.append(self.parse_search(args[match.end() : by], offset + match.end()))
        names = frozenset(self.field_name(n) for n in args[by + 4 :].replace(",", " ").split())
        if fill:
            value = fill.group(1)
            self.fill = unescape(value[1:-1]) if value.startswith('"') else value
        else:
            # Without fillnull_value tstats drops rows in which a BY field is null.
            self.filters.append(And(tuple(Exists(field=n) for n in sorted(names))))
        self.by_fields = names


def _find_by(args: str, start: int) -> int | None:
    """Offset of the last top-level `` by `` (outside quotes) after ``start``."""
    found, quote, i = None, False, start
    while i < len(args):
        ch = args[i]
        if quote and ch == "\\":
            i += 2
            continue
        if ch == '"':
            quote = not quote
        elif not quote and re.match(r"\sby\s", args[i : i + 4], re.I):
            found = i
        i += 1
    return found


#: How search terms fold letters (semantics entry search_folding).
_SEARCH_FOLD: Any = SEMANTICS.get("search_folding")


def _search_fold(case_sensitive: bool) -> Any:
    """The fold of a search leaf: none applies to a ``CASE()`` (case-sensitive) term."""
    return Fold.SIMPLE if case_sensitive else _SEARCH_FOLD


def _pcre(name: str, pattern: str, missing: Missing) -> Regex:
    """An unanchored PCRE leaf of the regex and rex commands (unanchored, case-sensitive unless
    (?i)); which values of a multivalue field they read is not documented (regex_multivalue,
    rex_multivalue), so on several values the leaf is decided only when all agree."""
    return Regex(
        field=name,
        pattern=pattern,
        dialect=RegexDialect.PCRE,
        anchored=bool(SEMANTICS.get("regex_anchored")),
        case_sensitive=bool(SEMANTICS.get("regex_case_sensitive")),
        fold=SEMANTICS.typed("regex_caseless_folding", Fold),
        missing=missing,
        multi_valued=MultiValued.UNDECIDED,
    )


def _span(tree: Tree | Token, base: int) -> Span:
    meta = getattr(tree, "meta", None)
    if isinstance(tree, Token):
        return Span(base + (tree.start_pos or 0), len(tree))
    if meta is not None and not meta.empty:
        return Span(base + meta.start_pos, meta.end_pos - meta.start_pos)
    return Span(base, 0)


@functools.lru_cache(maxsize=1)
def _value_syntax() -> re.Pattern[str]:
    """A search value's escape (a backslash and the character after it, group 1) or its
    wildcard (``search_wildcard_any``)."""
    return re.compile(r"\\(.)|" + re.escape(str(SEMANTICS.get("search_wildcard_any"))), re.S)
