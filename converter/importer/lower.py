"""Lowering for ``sigport import elastic``: a parsed Elastic query tree to a Sigma detection.

The input is the shared query tree (``backends/query/ast.py``) that sigport's EQL and KQL
interpreters build from the ORIGINAL rule text, so the leaves already say what the query means
(case, wildcards, regex dialect). This module

1. checks that every construct has an exact Sigma equivalent (``NotImportable`` otherwise, with a
   reason; nothing is ever approximated);
2. maps ECS fields back to Sigma taxonomy fields where the ``ecs-windows`` mapping table allows an
   exact inversion (``to_taxonomy``), else keeps the ECS names (``ecs_logsource``), both in
   ``taxonomy.py``;
3. writes the Sigma ``detection`` (named selections and a condition) from the tree
   (``build_detection``).

Sigma facts used here (values case-insensitive unless ``|cased``; ``*``/``?`` wildcards escaped with
a backslash; ``contains``/``startswith``/``endswith``/``re``/``cidr``/``exists``/``gt``... modifiers)
are those of the Sigma specification and its modifiers appendix:
https://github.com/SigmaHQ/sigma-specification/blob/main/specification/sigma-rules-specification.md
https://github.com/SigmaHQ/sigma-specification/blob/main/specification/sigma-appendix-modifiers.md
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from backends.errors import UnsupportedError
from backends.query import ast

from converter.importer.regex import LuceneRegexError, lucene_to_pcre


class NotImportable(UnsupportedError):
    """The query uses something Sigma cannot express exactly.

    Attributes:
        group: a short, stable name of the kind of construct (for grouping report reasons).
        detail: what exactly, for the reader.
    """

    def __init__(self, group: str, detail: str) -> None:
        self.group = group
        self.detail = detail
        super().__init__(f"{group}: {detail}")


# --- checks ---------------------------------------------------------------------------------------


def check_tree(node: ast.Node, negated: bool = False) -> None:
    """Raise ``NotImportable`` for the first construct without an exact Sigma equivalent."""
    _Check(negated).visit(node)


class _Check(ast.Visitor[None]):
    """``check_tree``: one method per kind of node; ``negated`` is true under an odd number of
    ``not``."""

    def __init__(self, negated: bool) -> None:
        self.negated = negated

    def visit_and(self, node: ast.And) -> None:
        for child in node.children:
            self.visit(child)

    def visit_or(self, node: ast.Or) -> None:
        for child in node.children:
            self.visit(child)

    def visit_not(self, node: ast.Not) -> None:
        self.negated = not self.negated
        self.visit(node.child)
        self.negated = not self.negated

    def visit_const(self, node: ast.Const) -> None:
        raise NotImportable("constant condition", f"the query holds the constant {node.value}")

    def visit_text(self, node: ast.Text) -> None:
        raise NotImportable(
            "full-text match",
            f"{node.field} is an analysed text field matched by tokens; Sigma has no token "
            "or phrase match",
        )

    def visit_keyword(self, node: ast.Keyword) -> None:
        raise NotImportable("unbound value", "a value searched in any field")

    def visit_field_equals(self, node: ast.FieldEquals) -> None:
        raise NotImportable("field comparison", f"{node.field} compared with field {node.other}")

    def visit_compare(self, node: ast.Compare) -> None:
        self._two_valued(node)
        if isinstance(node.value, str) or isinstance(node.value, bool):
            raise NotImportable(
                "string comparison", f"{node.field} {node.op.value} {node.value!r} (Sigma "
                "compares numbers only)",
            )

    def visit_regex(self, node: ast.Regex) -> None:
        self._two_valued(node)
        _regex_value(node)

    def visit_leaf(self, node: ast.Leaf) -> None:
        """Equals, Glob, Exists and Cidr have exact Sigma forms; another field test has none."""
        self._two_valued(node)
        if not isinstance(node, (ast.Equals, ast.Glob, ast.Exists, ast.Cidr)):
            self.unknown(node)

    def unknown(self, node: ast.Node) -> None:
        raise NotImportable("unknown construct", type(node).__name__)

    def _two_valued(self, node: ast.Leaf) -> None:
        if node.missing is ast.Missing.NULL and self.negated:
            # Sigma's reference semantics are two-valued: `not` of a test on a missing field holds.
            raise NotImportable(
                "null-propagating test under not",
                f"{node.field}: unknown on a missing field, and not of it stays unknown",
            )


def _regex_value(node: ast.Regex) -> tuple[str, bool]:
    """``(anchored PCRE, uses_dot)`` for a regex leaf, or ``NotImportable``."""
    if node.dialect is not ast.RegexDialect.LUCENE or not node.anchored or node.flags:
        raise NotImportable("regular expression", "only whole-value Lucene regexes are rewritten")
    try:
        return lucene_to_pcre(node.pattern, node.case_sensitive and not node.lowercase_value)
    except LuceneRegexError as exc:
        raise NotImportable("regular expression", f"{node.field}: {exc}") from None

# --- detection ------------------------------------------------------------------------------------


def sigma_escape(parts: tuple[ast.GlobPart, ...]) -> str:
    """A Sigma string for glob parts: wildcards live, literal ``*``/``?``/backslash escaped.

    A backslash is only an escape in Sigma before ``*``, ``?`` or another backslash, so a lone
    one (``C:\\Windows``) is written as is and doubled only where it would start an escape.
    """
    text: list[str] = []
    for part in parts:
        if isinstance(part, ast.Wildcard):
            text.append(part.value)
            continue
        for ch in part:
            text.append({"*": "\\*", "?": "\\?"}.get(ch, ch))
    out = []
    for i, piece in enumerate(text):
        following = text[i + 1][:1] if i + 1 < len(text) else ""
        if piece == "\\" and (following in {"*", "?", "\\"} or following == ""):
            out.append("\\\\")
        else:
            out.append(piece)
    return "".join(out)


def _has_case(text: str) -> bool:
    return text.lower() != text.upper()


@dataclass(frozen=True)
class _IsNull(ast.Leaf):
    """Sigma's ``field: null`` (missing, null or empty list): the negation of an ECS exists test.

    Elasticsearch's ``exists`` (EQL ``!= null``, KQL ``field:*``) is true for a non-null value, while
    Sigma's ``|exists`` also holds for an explicit null; ``not field: null`` is the exact form.
    https://www.elastic.co/guide/en/elasticsearch/reference/current/query-dsl-exists-query.html
    """


@dataclass(frozen=True)
class Item:
    """One Sigma detection item: ``field|mod1|mod2: value``."""

    field: str
    modifiers: tuple[str, ...]
    value: Any

    @property
    def key(self) -> str:
        """The detection key (``Image|endswith|cased``)."""
        return "|".join((self.field, *self.modifiers))


def _glob_items(field: str, parts: tuple[ast.GlobPart, ...], cased: bool) -> tuple[Item, Item]:
    """(shaped item, plain item): ``contains``/``startswith``/``endswith`` form and wildcard form."""
    literal = "".join(p for p in parts if isinstance(p, str))
    case = ("cased",) if cased and _has_case(literal) else ()
    plain = Item(field, case, sigma_escape(parts))
    wild = [isinstance(p, ast.Wildcard) for p in parts]
    inner = parts
    shape: str | None = None
    if len(parts) >= 3 and parts[0] is ast.Wildcard.ANY and parts[-1] is ast.Wildcard.ANY:
        inner, shape = parts[1:-1], "contains"
    elif len(parts) >= 2 and parts[-1] is ast.Wildcard.ANY:
        inner, shape = parts[:-1], "startswith"
    elif len(parts) >= 2 and parts[0] is ast.Wildcard.ANY:
        inner, shape = parts[1:], "endswith"
    if shape is None or any(isinstance(p, ast.Wildcard) for p in inner) or not any(wild):
        return plain, plain
    return Item(field, (shape, *case), sigma_escape(inner)), plain


def leaf_items(node: ast.Leaf) -> tuple[Item, Item]:
    """(preferred item, plain item) for one leaf; the plain form merges into value lists."""
    if isinstance(node, ast.Equals):
        if isinstance(node.value, str):
            cased = node.case_sensitive and not node.lowercase_value and _has_case(node.value)
            item = Item(node.field, ("cased",) if cased else (), sigma_escape((node.value,)))
            return item, item
        item = Item(node.field, (), node.value)
        return item, item
    if isinstance(node, ast.Glob):
        return _glob_items(node.field, node.parts, node.case_sensitive and not node.lowercase_value)
    if isinstance(node, _IsNull):
        item = Item(node.field, (), None)
        return item, item
    if isinstance(node, ast.Cidr):
        item = Item(node.field, ("cidr",), node.network)
        return item, item
    if isinstance(node, ast.Compare):
        names = {
            ast.CompareOp.GT: "gt", ast.CompareOp.GTE: "gte",
            ast.CompareOp.LT: "lt", ast.CompareOp.LTE: "lte",
        }
        item = Item(node.field, (names[node.op],) if node.op in names else (), node.value)
        return item, item
    if isinstance(node, ast.Regex):
        # Case folding is already spelled out as ASCII pairs in the pattern (regex~ folds ASCII
        # only); `|s` lets `.` match newlines as Lucene's `.` does.
        pcre, dot = _regex_value(node)
        item = Item(node.field, ("re", "s") if dot else ("re",), pcre)
        return item, item
    raise NotImportable("unknown construct", type(node).__name__)


def _normalise(node: ast.Node) -> ast.Node:
    """Flatten nested And/Or; ``Exists`` becomes ``not field: null``; ``Compare ==/!=`` becomes
    equality (and its negation)."""
    if isinstance(node, (ast.And, ast.Or)):
        flat: list[ast.Node] = []
        for child in node.children:
            child = _normalise(child)
            if type(child) is type(node):
                flat.extend(child.children)  # type: ignore[attr-defined]
            else:
                flat.append(child)
        return flat[0] if len(flat) == 1 else type(node)(tuple(flat))
    if isinstance(node, ast.Not):
        child = _normalise(node.child)
        return child.child if isinstance(child, ast.Not) else ast.Not(child)
    if isinstance(node, ast.Exists):
        return ast.Not(_IsNull(field=node.field))
    if isinstance(node, ast.Compare) and node.op in (ast.CompareOp.EQ, ast.CompareOp.NEQ):
        eq = ast.Equals(field=node.field, missing=node.missing, value=node.value)
        return eq if node.op is ast.CompareOp.EQ else ast.Not(eq)
    return node


class _Builder:
    """Writes named selections and the condition expression for a normalised tree."""

    def __init__(self) -> None:
        self.selections: dict[str, Any] = {}
        self._counts = {"selection": 0, "filter": 0}

    def _name(self, negated: bool) -> str:
        base = "filter" if negated else "selection"
        self._counts[base] += 1
        n = self._counts[base]
        return base if n == 1 else f"{base}_{n}"

    def _add(self, body: Any, negated: bool) -> str:
        name = self._name(negated)
        self.selections[name] = body
        return name

    def as_map(self, node: ast.Node) -> dict[str, Any] | None:
        """One selection map for a leaf, a same-key value list, or an AND of distinct keys."""
        if isinstance(node, ast.Leaf):
            item = leaf_items(node)[0]
            return {item.key: item.value}
        if isinstance(node, ast.Or) and all(isinstance(c, ast.Leaf) for c in node.children):
            pairs = [leaf_items(c) for c in node.children]  # type: ignore[arg-type]
            for pick in (0, 1):
                keys = {p[pick].key for p in pairs}
                if len(keys) == 1 and pairs[0][pick].value is not None:
                    key = keys.pop()
                    values = []
                    for p in pairs:
                        if p[pick].value not in values:
                            values.append(p[pick].value)
                    return {key: values if len(values) > 1 else values[0]}
            return None
        if isinstance(node, ast.And):
            merged: dict[str, Any] = {}
            for child in node.children:
                part = self.as_map(child)
                if part is None or set(part) & set(merged):
                    return None
                merged.update(part)
            return merged
        return None

    def condition(self, node: ast.Node, negated: bool = False) -> str:
        """The condition text for ``node``, registering selections as it goes."""
        whole = self.as_map(node)
        if whole is not None:
            return self._add(whole, negated)
        if isinstance(node, ast.Not):
            return "not " + self._wrap(self.condition(node.child, not negated))
        if isinstance(node, ast.And):
            merged: dict[str, Any] = {}
            others: list[ast.Node] = []
            for child in node.children:
                part = self.as_map(child)
                if part is not None and not set(part) & set(merged):
                    merged.update(part)
                else:
                    others.append(child)
            texts = [self._add(merged, negated)] if merged else []
            texts += [self._wrap(self.condition(c, negated)) for c in others]
            return " and ".join(texts)
        if isinstance(node, ast.Or):
            maps = [self.as_map(c) for c in node.children]
            if all(m is not None for m in maps):
                # A list of maps is Sigma's OR of maps (spec "Lists of maps").
                return self._add(maps, negated)
            return " or ".join(self._wrap(self.condition(c, negated)) for c in node.children)
        raise NotImportable("unknown construct", type(node).__name__)

    @staticmethod
    def _wrap(text: str) -> str:
        # `not` binds tighter than `and`/`or` in Sigma conditions, so `not name` needs no parens.
        return f"({text})" if " " in text and not re.fullmatch(r"not \w+", text) else text


def build_detection(tree: ast.Node) -> dict[str, Any]:
    """The Sigma ``detection`` mapping (selections plus ``condition``) for a checked tree."""
    builder = _Builder()
    condition = builder.condition(_normalise(tree))
    return {**builder.selections, "condition": condition}
