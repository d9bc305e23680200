"""Necessary literals of the query trees the interpreters build (the backtest's target side).

The backtest evaluates every target's query tree (``backends/query/ast.py``) on every event of a
rule's logsource; like the reference side (``converter.ruleindex.needs``) it skips trees that provably
cannot be true, filing each under the literals it needs in a ``converter.ruleindex.index.LiteralIndex``.
The literals come from the target's own tree, never from the rule: a target that matches where
the reference does not is what the backtest exists to find.

A tree leaf gives ``contains`` alternatives: each literal run of the pattern (a glob's, and a
regex's longest) occurs in the value as the evaluator compares it. A case-insensitive leaf
compares both sides folded by one of its engine's readings (``backends/query/folding.py``:
per-code-point simple lowercase, ASCII only, Unicode simple case folding, simple uppercase; a
``lowercase`` normalizer lowercases the value first). The filter folds literal and texts with
``coarse_fold``, which maps every code point to one representative of its class under the union
of all those readings: whenever a reading makes two code points equal, so does ``coarse_fold``,
and since every reading is one code point for one code point, a match under any reading implies
the coarse-folded value contains the coarse-folded literal. (Python's ``str.lower`` would not do:
it maps ``İ`` to two code points, lowercases a final ``Σ`` by context, and leaves ``ſ`` and other
Unicode fold partners apart.) ``tree_texts`` gives the texts the evaluator compares for a field.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from converter.ruleindex.needs import ANY_FIELD, Alt, Form

__all__ = ["coarse_fold", "regex_literal", "tree_form", "tree_texts", "use_prebuilt_coarse_table"]

#: Code points beyond this have no case partner (``backends/query/folding.py``).
_CASED_LIMIT = 0x20000


#: The table, once built or read back (``_coarse_table``, ``use_prebuilt_coarse_table``).
_COARSE: list[dict[int, str]] = []


def _coarse_table() -> dict[int, str]:
    """The table of ``coarse_fold`` (built on first use)."""
    if not _COARSE:
        _COARSE.append(_build_coarse_table())
    return _COARSE[0]


def use_prebuilt_coarse_table(store: Any) -> None:
    """Make the table of ``coarse_fold`` now: read back from ``store`` (a
    ``converter.conversion.cache.Store``, or None when the cache is off) when an earlier run
    stored it, else built and stored. Built, it took 0.12 CPU s before the backtest's shards
    could start (``engine.before_fork``); the store's fingerprint covers this code and the
    Python version, whose Unicode data the readings come from."""
    from converter.conversion.cache import prebuilt

    def valid(value: Any) -> bool:
        return isinstance(value, dict) and all(
            type(k) is int and type(v) is str and len(v) == 1 for k, v in value.items())

    if not _COARSE:
        _COARSE.append(prebuilt(store, "coarse fold table", _build_coarse_table, valid))


def _build_coarse_table() -> dict[int, str]:
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
        function = fold_function(reading)
        folded_all = function(every)
        # A reading that maps some code point to several (``full``: U+0130 to i + U+0307) is
        # read one code point at a time; only its one-for-one mappings join classes (leaves
        # under such a reading give no literal: ``_one_for_one``).
        pairs = (zip(every, folded_all) if len(folded_all) == len(every)
                 else ((char, function(char)) for char in every))
        for char, folded in pairs:
            if char != folded and len(folded) == 1:
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


@functools.lru_cache(maxsize=None)
def _one_for_one(fold: Any) -> bool:
    """Whether every reading of ``fold`` (an ``ast.Fold``) maps each code point to one code
    point: the containment argument of the module needs it (``full`` lowercasing does not)."""
    from backends.query.folding import fold_function

    every = "".join(map(chr, range(_CASED_LIMIT)))
    return all(len(fold_function(reading)(every)) == len(every) for reading in fold.readings)


def coarse_fold(text: str) -> str:
    """``text`` with every code point replaced by its class representative (see the module)."""
    if text.isascii():
        return text.lower()
    return text.translate(_coarse_table())


def _alts(fields: Iterable[str], literal: str, fold: bool) -> frozenset[Alt]:
    return frozenset(Alt(name, "contains", literal, not fold) for name in fields)


def _runs(parts: Iterable[Any]) -> list[str]:
    """The literal runs of merged glob parts (wildcards break runs), longest first."""
    runs, run = [], ""
    for part in parts:
        if isinstance(part, str):
            run += part
        else:
            runs.append(run)
            run = ""
    runs.append(run)
    return sorted((r for r in runs if r), key=len, reverse=True)


def _glob_form(fields: Iterable[str], parts: Iterable[Any], fold: bool) -> Form:
    """A glob's form: each of its literal runs must occur in a text of ``fields`` (an AND of
    one leaf per run, so the cost estimate may pick a rare run over the longest one)."""
    fields = tuple(fields)
    leaves: list[Form] = [("leaf", _alts(fields, coarse_fold(run) if fold else run, fold))
                          for run in _runs(parts)]
    if not leaves:
        return ("leaf", None)
    return leaves[0] if len(leaves) == 1 else ("and", leaves)


#: Leaf forms already derived, by leaf: the targets of a rule, and rules among themselves, repeat
#: leaves (splunk and splunk-cim the same patterns, every ECS target its category test).
_LEAF_FORMS: dict[tuple[type, Any], Form] = {}
#: Leaves remembered before the memo starts over (a bound on its memory).
_LEAF_MEMO = 1 << 17


def tree_form(node: Any) -> Form:
    """Reduce a query tree (``backends/query/ast.py``) to a Form (target side)."""
    from backends.query import ast

    if isinstance(node, ast.And):
        return ("and", [tree_form(c) for c in node.children])
    if isinstance(node, ast.Or):
        return ("or", [tree_form(c) for c in node.children])
    # Keyed by type and value: equal leaves give equal forms (a Const is not remembered, as
    # Const(False) == Const(0) would conflate the two).
    key = (type(node), node)
    try:
        return _LEAF_FORMS[key]
    except (KeyError, TypeError):  # TypeError: a node that does not hash
        pass
    form = _leaf_form(node)
    if not isinstance(node, ast.Const):
        if len(_LEAF_FORMS) >= _LEAF_MEMO:
            _LEAF_FORMS.clear()
        try:
            _LEAF_FORMS[key] = form
        except TypeError:
            pass
    return form


def _leaf_form(node: Any) -> Form:
    """``tree_form`` of a node that is no ``And`` / ``Or``."""
    from backends.query import ast

    if isinstance(node, ast.Const) and node.value is False:
        return ("leaf", frozenset())
    readings = getattr(node, "fold", None)
    if (readings is not None and not getattr(node, "case_sensitive", True)
            and not _one_for_one(readings)):
        return ("leaf", None)
    if isinstance(node, (ast.Glob, ast.Equals)):
        # evaluate.py: fold = not case_sensitive or lowercase_value; the value is str.lower-ed
        # whole and the pattern's literal parts one by one, then compared (fullmatch / ==).
        fold = (not node.case_sensitive) or node.lowercase_value
        if isinstance(node, ast.Glob):
            return _glob_form((node.field,), node.parts, fold)
        literal = node.value if type(node.value) is str else None
        if not literal:
            return ("leaf", None)
        return ("leaf", _alts((node.field,), coarse_fold(literal) if fold else literal, fold))
    if isinstance(node, ast.Keyword):
        # evaluate.py: fullmatch of the (folded) glob on each text of the event or of the
        # listed fields, so each literal run occurs in one of them.
        return _glob_form(node.fields or (ANY_FIELD,), node.parts, not node.case_sensitive)
    if isinstance(node, ast.Regex):
        literal = regex_literal(node.pattern, node.dialect.name, node.flags)
        return ("leaf", None if literal is None else _alts((node.field,), literal, True))
    return ("leaf", None)



#: Characters that are never a literal of a pattern in any dialect here (syntax, or an anchor).
_SYNTAX = frozenset(".^$*+?{}[]()|\\")
#: Lucene RegExp's other operators (https://www.elastic.co/guide/en/elasticsearch/reference/
#: current/regexp-syntax.html: ``"`` quotes, ``#`` ``@`` ``&`` ``~`` ``<>`` optional operators).
_LUCENE_OPERATORS = frozenset('"#@&<>~')
#: Escaped letters that stand for a class or an assertion (never a literal) in PCRE, RE2 and
#: Python (``\\d \\w \\s \\b \\A \\z`` ...); Lucene's RegExp has the classes ``\\d \\s \\w``
#: (``backends/query/lucene_regex.py``). Any other escaped letter or digit (``\\x41``, ``\\Q``,
#: ``\\1``, ``\\p{L}``) makes the pattern give no literal.
_CLASS_ESCAPES = {"LUCENE": frozenset("dswDSW"), "PCRE": frozenset("dDwWsSbBAzZGhHvVNR"),
                  "RE2": frozenset("dDwWsSbBAzZ")}
#: Inline flag letters that keep literal characters literal (``x`` would make spaces syntax).
_SAFE_FLAGS = frozenset("imsU-")


class _NoLiteral(Exception):
    """A construct the scanner does not read: the leaf gives no condition."""


def _escaped(pattern: str, i: int, dialect: str) -> tuple[str | None, int]:
    """The character a backslash at ``i`` stands for (None: a class or assertion), and the
    position after the escape."""
    if i + 1 >= len(pattern):
        raise _NoLiteral
    char = pattern[i + 1]
    if not char.isalnum():
        return char, i + 2
    if char.isascii() and char in _CLASS_ESCAPES[dialect]:
        return None, i + 2
    raise _NoLiteral


def _class(pattern: str, i: int, dialect: str) -> tuple[str | None, int]:
    """A bracket class at ``i``: the one ASCII character (coarse-folded) that every member folds
    to, or None; and the position after the ``]``."""
    j = i + 1
    if pattern[j : j + 1] in ("^", "]", ""):
        raise _NoLiteral  # negation, or a leading ']' that some dialects read as a member
    members: list[str | None] = []
    while j < len(pattern) and pattern[j] != "]":
        char = pattern[j]
        if char == "[":
            raise _NoLiteral  # POSIX classes, nested classes
        if char == "\\":
            member, j = _escaped(pattern, j, dialect)
            members.append(member)
        else:
            members.append(None if char in "-&~" else char)  # ranges, set operators
            j += 1
    if j >= len(pattern):
        raise _NoLiteral
    return _one_letter(members), j + 1


def _one_letter(members: list[str | None]) -> str | None:
    """The ASCII representative all ``members`` share under ``coarse_fold``, or None."""
    if all(m is not None and m.isascii() for m in members):
        folded: set[str | None] = {m.lower() for m in members if m}  # coarse_fold of ASCII
    else:
        folded = {coarse_fold(m) if m is not None else None for m in members}
    if len(folded) != 1:
        return None
    (only,) = folded
    return only if only is not None and only.isascii() else None


def _group(pattern: str, i: int, dialect: str) -> tuple[str | None, int, bool]:
    """A group at ``i``: the one character a group of one-character alternatives
    (``(?:k|K|\u212a)``) stands for, or None; the position after it; and whether it is a bare
    inline flag setting (``(?s)``), which matches nothing."""
    j = i + 1
    if pattern.startswith("?", j):
        if dialect == "LUCENE":
            raise _NoLiteral
        k = j + 1
        while k < len(pattern) and pattern[k] in _SAFE_FLAGS:
            k += 1
        if pattern[k : k + 1] == ")":
            return None, k + 1, True
        if pattern[k : k + 1] != ":":
            raise _NoLiteral  # lookarounds, named groups, 'x' and other flags
        j = k + 1
    start, depth = j, 1
    while j < len(pattern):
        char = pattern[j]
        if char == "\\":
            j = _escaped(pattern, j, dialect)[1]
            continue
        if char == "[":
            j = _class(pattern, j, dialect)[1]
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if not depth:
                break
        j += 1
    else:
        raise _NoLiteral
    pieces = pattern[start:j].split("|")
    if all(len(p) == 1 and p not in _SYNTAX for p in pieces):
        return _one_letter(list(pieces)), j + 1, False
    return None, j + 1, False


@functools.lru_cache(maxsize=1 << 15)
def regex_literal(pattern: str, dialect: str, flags: str = "") -> str | None:
    """The longest run of characters every match of ``pattern`` contains, coarse-folded
    (``coarse_fold``), or None when the scanner finds none or meets a construct it does not read.

    ``dialect`` is ``ast.RegexDialect``'s name (``LUCENE``, ``PCRE``, ``RE2``). Only the top-level
    sequence is read: an ASCII character, an escaped non-alphanumeric character, a bracket class
    or a group of one-character alternatives whose members all fold to one ASCII character
    extend the run; anything else (``.``, anchors, other classes and groups, a quantified item)
    ends it. A top-level ``|``, an escape with an argument, lookarounds and Lucene's optional
    operators give None.

    Sound for every dialect's matching, case-sensitive or caseless under any folding reading: a
    text character the engine lets match a pattern character (itself, or a case partner under
    the pattern's or the leaf's caseless matching, or under the ``lowercase`` normalizer) has
    the same ``coarse_fold``, so the coarse-folded value contains the run. Only ASCII run
    characters are kept, whose caseless partners in the ``regex`` and RE2 engines are checked
    against ``coarse_fold`` over all of Unicode (tests/converter/backtesting/
    test_backtest_prefilter.py).
    """
    if "x" in flags or (dialect == "LUCENE" and (flags or _LUCENE_OPERATORS & set(pattern))):
        return None
    runs, run, i, last_literal = [], "", 0, False
    try:
        while i < len(pattern):
            char = pattern[i]
            token: str | None = None
            flag_only = False
            if char == "\\":
                token, i = _escaped(pattern, i, dialect)
                token = _one_letter([token]) if token is not None else None
            elif char == "[":
                token, i = _class(pattern, i, dialect)
            elif char == "(":
                token, i, flag_only = _group(pattern, i, dialect)
            elif char == "|":
                return None
            elif char in "*+?{":
                # The item before a quantifier is not required (the run keeps what precedes it).
                if char == "{":
                    close = pattern.find("}", i)
                    if close < 0:
                        raise _NoLiteral
                    i = close + 1
                else:
                    i += 1
                if run and last_literal:
                    run = run[:-1]
                runs.append(run)
                run, last_literal = "", False
                continue
            else:
                token = (None if char in _SYNTAX else char.lower() if char.isascii()
                         else _one_letter([char]))
                i += 1
            if flag_only:
                continue
            if token is None:
                runs.append(run)
                run = ""
            else:
                run += token
            last_literal = token is not None
    except _NoLiteral:
        return None
    runs.append(run)
    best = max(runs, key=len)
    return best or None


def tree_texts(event: dict[str, Any], name: str) -> list[str]:
    """Texts the shared evaluator compares for field ``name`` (``lookup`` + ``scalar_text``;
    ``iter_strings`` of the whole event for keywords)."""
    from backends.query.indexed import event_values
    from backends.query.matching import iter_strings, scalar_text

    if name == ANY_FIELD:
        return list(iter_strings(event))
    # Memoised per event when ``event`` is an ``indexed.Event`` (the engine's view).
    return [scalar_text(v) for v in event_values(event, name) or ()]
