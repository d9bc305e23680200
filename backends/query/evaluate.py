"""The language-neutral evaluator: compiles a query tree to closures and runs them on events.

Every interpreter lowers its query text to ``ast`` nodes whose leaves carry their own semantics,
so nothing here asks which language a tree came from. A tree is compiled once (and cached per
node, nodes being hashable) into nested closures, as the eql library's engine does; evaluating an
event does not walk the tree again.

Logic is three-valued: a predicate returns True, False or None (unknown). ``And`` is False if any
child is False, else None if any child is None, else True; ``Or`` is symmetric; ``Not(None)`` is
None. A leaf whose field is missing returns what its ``missing`` policy says (``Missing.FALSE``
gives False, ``Missing.NULL`` gives None). A multi-valued field satisfies a leaf when ANY value
does, so a negated leaf is true only when NO value matches; unless the leaf's ``multi_valued``
says otherwise (ES|QL: several values make the test null, ``indexed.is_several``).

Case folding: a case-insensitive leaf folds both sides with the reading its ``fold`` names
(``folding.py``: per-code-point simple lowercase, ASCII only, or Unicode simple case folding),
never with ``str.lower``. A ``lowercase_value`` leaf (a ``lowercase`` normalizer) lowercases the
indexed value per code point, as Lucene's LowerCaseFilter does
(https://www.elastic.co/guide/en/elasticsearch/reference/current/normalizer.html). A fold with
several candidate readings (a version-dependent or undocumented engine folding) is evaluated
under each; an event on which they disagree raises ``FoldingUndecided`` rather than being decided
by a guess.

What a leaf reads from an event (indexed values, numbers, a missing field) is ``indexed.py``; the
tests under every candidate folding ``readings.py``; the explanation of a verdict ``explain.py``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from . import ast
from .compiler import Compiler, Predicate
from .indexed import Event

__all__ = ["Predicate", "compile_once", "compile_query", "evaluate", "matches"]


#: No verdict remembered yet (None is the verdict "unknown").
_UNSEEN: Any = object()


def _shared(leaf: Predicate) -> Predicate:
    """``leaf``, its verdict on an ``Event`` remembered in the event's ``verdicts``.

    The memo is keyed by the compiled predicate itself, which ``_compile_cached`` returns for
    one node's type and ``repr`` only: two leaves that differ in anything that changes a verdict
    (field, value, folding, missing or multi-valued reading, length limit, whole value or
    substring) differ in their ``repr`` and never share an entry. An undecided verdict (an
    exception) is not remembered: the next query asks again."""

    def run(event: Mapping[str, Any]) -> bool | None:
        if type(event) is not Event:
            return leaf(event)
        verdicts = event.verdicts  # type: ignore[attr-defined]
        # Most leaves are asked once per event: ``get`` spares raising KeyError.
        verdict = verdicts.get(run, _UNSEEN)
        if verdict is _UNSEEN:
            verdict = verdicts[run] = leaf(event)
        return verdict  # type: ignore[no-any-return]

    return run


@functools.lru_cache(maxsize=8192)
def _compile_cached(key: tuple[type, str], node: ast.Node) -> Predicate:
    """Cache entry for ``compile_query``; ``key`` keeps apart nodes that ``==`` conflates.
    A leaf's predicate shares its verdict per ``Event`` (``_shared``)."""
    predicate = _COMPILER.visit(node)
    if isinstance(node, (ast.And, ast.Or, ast.Not)):
        return predicate
    return _shared(predicate)


def compile_query(node: ast.Node) -> Predicate:
    """Compile ``node`` once into a predicate (cached per structurally equal node).

    The cache key includes the node's ``repr`` because dataclass equality follows Python's
    ``True == 1 == 1.0``: ``Equals(value=True)`` equals ``Equals(value=1)`` yet matches differently.

    Raises:
        UnsupportedQueryError: a node type or construct the evaluator cannot run faithfully.
        matching.PatternSyntaxError: a regex or CIDR network the engine would reject.
    """
    return _compile_cached((type(node), repr(node)), node)


def compile_once(node: ast.Node) -> Predicate:
    """``compile_query`` for a tree the caller compiles once and keeps (the backtest engine):
    its junctions (And, Or, Not) are compiled directly, without the cache, and its leaves
    through the cache as ever (so their verdicts are still shared per event view).

    The cache's key for a junction is the ``repr`` of its whole subtree, computed again at every
    level of the tree; for a tree that is compiled once, the keys cost more than the
    junctions (a warm backtest of the SigmaHQ process_creation rules: compile 1.76 -> 1.14 CPU
    s). The predicate is the same as ``compile_query``'s.

    Raises:
        as ``compile_query``.
    """
    if isinstance(node, (ast.And, ast.Or, ast.Not)):
        return _ONCE.visit(node)
    return compile_query(node)


def evaluate(node: ast.Node, event: Mapping[str, Any]) -> bool | None:
    """Three-valued result of ``node`` on ``event``: True, False, or None (unknown)."""
    return compile_query(node)(Event(event))


def matches(node: ast.Node, event: Mapping[str, Any]) -> bool:
    """Whether ``event`` matches ``node``; unknown counts as no match (as in every engine)."""
    return compile_query(node)(Event(event)) is True


#: The compiler behind ``compile_query``: children through the cache.
_COMPILER = Compiler(compile_query, compile_query)
#: Compiles the junctions of a tree ``compile_once`` is given (its leaves still go through the
#: cache).
_ONCE = Compiler(compile_once, compile_query)
