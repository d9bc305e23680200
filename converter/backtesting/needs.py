"""Necessary literals of the query trees the interpreters build (the backtest's target side).

The backtest evaluates every target's query tree (``backends/query/ast.py``) on every event of a
rule's logsource; like the reference side (``converter.ruleindex.needs``) it skips trees that provably
cannot be true, filing each under the literals it needs in a ``converter.ruleindex.index.LiteralIndex``.
A tree leaf gives ``contains`` alternatives: the shared evaluator lowercases a value whole (unless
case-sensitive) and compares it with the pattern, so the pattern's longest literal run occurs in
the (folded) value. ``tree_texts`` gives the texts the evaluator compares for a field.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from converter.ruleindex.needs import ANY_FIELD, Alt, Form

__all__ = ["lucene_literal", "tree_form", "tree_texts"]


def _alts(fields: Iterable[str], literal: str, fold: bool) -> frozenset[Alt]:
    return frozenset(Alt(name, "contains", literal, not fold) for name in fields)


def _longest(parts: Iterable[Any]) -> str | None:
    """The longest literal run of merged glob parts (wildcards break runs)."""
    best, run = "", ""
    for part in parts:
        if isinstance(part, str):
            run += part
        else:
            best, run = max(best, run, key=len), ""
    best = max(best, run, key=len)
    return best or None


def tree_form(node: Any) -> Form:
    """Reduce a query tree (``backends/query/ast.py``) to a Form (target side)."""
    from backends.query import ast

    if isinstance(node, ast.And):
        return ("and", [tree_form(c) for c in node.children])
    if isinstance(node, ast.Or):
        return ("or", [tree_form(c) for c in node.children])
    if isinstance(node, ast.Const) and node.value is False:
        return ("leaf", frozenset())
    if isinstance(node, (ast.Glob, ast.Equals)):
        # evaluate.py: fold = not case_sensitive or lowercase_value; the value is str.lower-ed
        # whole and the pattern's literal parts one by one, then compared (fullmatch / ==).
        fold = (not node.case_sensitive) or node.lowercase_value
        if isinstance(node, ast.Glob):
            literal = _longest(node.parts)
        else:
            literal = node.value if type(node.value) is str else None
        if not literal:
            return ("leaf", None)
        return ("leaf", _alts((node.field,), literal.lower() if fold else literal, fold))
    if isinstance(node, ast.Keyword):
        # evaluate.py: fullmatch of the (folded) glob on each text of the event or of the
        # listed fields, so each literal run occurs in one of them.
        literal = _longest(node.parts)
        if not literal:
            return ("leaf", None)
        fold = not node.case_sensitive
        literal = literal.lower() if fold else literal
        return ("leaf", _alts(node.fields or (ANY_FIELD,), literal, fold))
    if isinstance(node, ast.Regex) and node.dialect is ast.RegexDialect.LUCENE and not node.flags:
        literal = lucene_literal(node.pattern)
        return ("leaf", None if literal is None else _alts((node.field,), literal, True))
    return ("leaf", None)



#: Lucene RegExp operator characters; any other character is itself
#: (https://www.elastic.co/guide/en/elasticsearch/reference/current/regexp-syntax.html).
_LUCENE_OPERATORS = set('.?+*|{}[]()"\\#@&<>~')


def lucene_literal(pattern: str) -> str | None:
    """The longest lowercased literal a Lucene regex built of ASCII characters, ``[xX]`` case
    pairs, ``\\c`` escapes, ``.`` and ``.*`` requires; None for any other construct.

    Sound for ``fold=True``: a run of ASCII tokens matches a substring s whose ``str.lower`` is the
    run's literal, and lowercasing a whole value maps ASCII characters context-free, so the
    lowered value contains it (also when the evaluator lowercases the value first)."""
    runs, run, i = [], "", 0
    while i < len(pattern):
        ch = pattern[i]
        token: str | None
        if ch == ".":
            token, i = None, i + (2 if pattern[i + 1 : i + 2] == "*" else 1)
        elif ch == "\\" and i + 1 < len(pattern):
            token, i = pattern[i + 1], i + 2
        elif ch == "[" and pattern[i + 3 : i + 4] == "]" and pattern[i + 1 : i + 3].isalpha():
            low, high = pattern[i + 1], pattern[i + 2]
            if low.lower() != high.lower():
                return None
            token, i = low.lower(), i + 4
        elif ch in _LUCENE_OPERATORS:
            return None
        else:
            token, i = ch, i + 1
        if i < len(pattern) and pattern[i] in "?+*{":
            return None  # a quantified token is not required
        if token is None or not token.isascii():
            runs.append(run)
            run = ""
        else:
            run += token.lower()
    runs.append(run)
    best = max(runs, key=len)
    return best or None


def tree_texts(event: dict[str, Any], name: str) -> list[str]:
    """Texts the shared evaluator compares for field ``name`` (``lookup`` + ``scalar_text``;
    ``iter_strings`` of the whole event for keywords)."""
    from backends.query.matching import iter_strings, lookup, scalar_text

    if name == ANY_FIELD:
        return list(iter_strings(event))
    return [scalar_text(v) for v in lookup(event, name) or ()]
