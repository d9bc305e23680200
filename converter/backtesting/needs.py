"""Necessary literals of the query trees the interpreters build (the backtest's target side).

The backtest evaluates every target's query tree (``backends/query/ast.py``) on every event of a
rule's logsource; like the reference side (``converter.ruleindex.needs``) it skips trees that provably
cannot be true, filing each under the literals it needs in a ``converter.ruleindex.index.LiteralIndex``.
The literals come from the target's own tree, never from the rule: a target that matches where
the reference does not is what the backtest exists to find.

A tree leaf gives ``contains`` alternatives: the pattern's longest literal run occurs in the value
as the evaluator compares it. A case-insensitive leaf compares both sides folded by one of its
engine's readings (``backends/query/folding.py``: per-code-point simple lowercase, ASCII only,
Unicode simple case folding, simple uppercase; a ``lowercase`` normalizer lowercases the value
first). The filter
folds literal and texts with ``coarse_fold``, which maps every code point to one representative
of its class under the union of all those readings: whenever a reading makes two code points
equal, so does ``coarse_fold``, and since every reading is one code point for one code point,
a match under any reading implies the coarse-folded value contains the coarse-folded literal.
(Python's ``str.lower`` would not do: it maps ``İ`` to two code points, lowercases a final ``Σ``
by context, and leaves ``ſ`` and other Unicode fold partners apart.) ``tree_texts`` gives the
texts the evaluator compares for a field.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from converter.ruleindex.needs import ANY_FIELD, Alt, Form

__all__ = ["coarse_fold", "lucene_literal", "tree_form", "tree_texts"]

#: Code points beyond this have no case partner (``backends/query/folding.py``).
_CASED_LIMIT = 0x20000


@functools.lru_cache(maxsize=1)
def _coarse_table() -> dict[int, str]:
    """Code point -> the representative of its class under every folding reading united
    (union-find over the pairs each reading makes); the ASCII lowercase letter where the class
    has one (so ASCII text folds as ``str.lower``), else the lowest code point."""
    from backends.query.ast import Fold
    from backends.query.folding import fold_function

    # Every reading any leaf may name (a new one in ast.Fold is covered without a change here).
    readings = sorted({reading for fold in Fold for reading in fold.readings})
    every = "".join(map(chr, range(_CASED_LIMIT)))
    parent: dict[str, str] = {}

    def find(char: str) -> str:
        while parent.get(char, char) != char:
            char = parent[char]
        return char

    for reading in readings:
        for char, folded in zip(every, fold_function(reading)(every)):
            if char != folded:
                a, b = find(char), find(folded)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    classes: dict[str, list[str]] = {}
    for char in parent:
        classes.setdefault(find(char), []).append(char)
    table: dict[int, str] = {}
    for root, members in classes.items():
        members.append(root)
        lowered = [c for c in members if "a" <= c <= "z"]
        representative = lowered[0] if lowered else min(members)
        table.update({ord(c): representative for c in members if c != representative})
    return table


def coarse_fold(text: str) -> str:
    """``text`` with every code point replaced by its class representative (see the module)."""
    if text.isascii():
        return text.lower()
    return text.translate(_coarse_table())


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
        return ("leaf", _alts((node.field,), coarse_fold(literal) if fold else literal, fold))
    if isinstance(node, ast.Keyword):
        # evaluate.py: fullmatch of the (folded) glob on each text of the event or of the
        # listed fields, so each literal run occurs in one of them.
        literal = _longest(node.parts)
        if not literal:
            return ("leaf", None)
        fold = not node.case_sensitive
        literal = coarse_fold(literal) if fold else literal
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
    pairs, ``\\c`` escapes of non-letters, the ``\\d \\s \\w`` classes, ``.`` and ``.*``
    requires; None for any other construct.

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
            if token.isalpha():
                # \d \s \w (and capitals) are character classes in Lucene's RegExp (the
                # shared evaluator's backends/query/lucene_regex.py); other escaped letters are
                # refused there. Neither is a literal.
                if token not in "dswDSW":
                    return None
                token = None
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
