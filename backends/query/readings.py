"""Value tests under every candidate case-folding reading of a leaf (``ast.Fold``): one string
function per reading, and the verdict they agree on, or ``FoldingUndecided`` when they do not."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from . import ast
from .errors import FoldingUndecided
from .folding import ASCII, UNICODE, fold_function, folds_alike, full_lower, simple_lower
from .matching import scalar_text


#: A test of one event value.
ValueTest = Callable[[Any], bool]


def identity(text: str) -> str:
    """``text`` unchanged: the string function of a case-sensitive leaf without a normalizer."""
    return text


def foldings(
    case_sensitive: bool, lowercase_value: bool, fold: ast.Fold
) -> tuple[Callable[[str], str], ...]:
    """One string function per candidate reading of a leaf: its normalizer, then its fold.

    A case-sensitive leaf has one function (the normalizer, or the identity); a case-insensitive
    one has one per reading of ``fold``.
    """
    normalize = simple_lower if lowercase_value else None
    if case_sensitive:
        return (normalize or identity,)
    out: list[Callable[[str], str]] = []
    for reading in fold.readings:
        function = fold_function(reading)
        if normalize is None:
            out.append(function)
        else:
            out.append(_after_simple_lower(function))
    return tuple(out)


def _after_simple_lower(function: Callable[[str], str]) -> Callable[[str], str]:
    """``function`` applied to the value a lowercase normalizer indexed."""
    return lambda text: function(simple_lower(text))


def lowered_first(match: Callable[[str], object]) -> Callable[[str], object]:
    """``match`` run on the value's full lowercase (Java ``String.toLowerCase``, ES|QL
    ``TO_LOWER``): a regex under the ``full`` reading matches the lowered value as written."""
    return lambda text: match(full_lower(text))


def fold_parts(parts: tuple[ast.GlobPart, ...], function: Callable[[str], str]) -> tuple[ast.GlobPart, ...]:
    """The glob's literal parts passed through ``function``; wildcards unchanged."""
    return tuple(function(p) if isinstance(p, str) else p for p in parts)


def agree(leaf: ast.Node, text: str, results: list[bool]) -> bool:
    """The common verdict of the candidate readings, or ``FoldingUndecided`` naming the leaf."""
    if all(r == results[0] for r in results[1:]):
        return results[0]
    fold = getattr(leaf, "fold", ast.Fold.SIMPLE)
    verdicts = ", ".join(f"{name}: {str(r).lower()}" for name, r in zip(fold.readings, results))
    raise FoldingUndecided(
        f"{ast.describe(leaf)} on {text[:80]!r}: the verdict depends on the engine's case "
        f"folding ({verdicts})"
    )


def folded_test(
    leaf: ast.Node,
    functions: tuple[Callable[[str], str], ...],
    make: Callable[[Callable[[str], str]], Callable[[str], bool]],
) -> ValueTest:
    """A value test under every candidate reading: ``make(f)`` tests a value already folded by
    ``f`` (it folds its own pattern with ``f``). Readings that disagree raise."""
    tests = [(function, make(function)) for function in functions]
    if len(tests) == 1:
        function, test = tests[0]
        return lambda v: test(function(scalar_text(v)))

    def run(v: Any) -> bool:
        text = scalar_text(v)
        results = [test(function(text)) for function, test in tests]
        first = results[0]
        for result in results:
            if result != first:  # the readings disagree: ``agree`` names them and raises
                return agree(leaf, text, results)
        return first

    return run


#: Pattern escapes that can name a non-ASCII character in ASCII text (``\x{212a}``, ``\p{L}``).
#: Only a backslash that is itself unescaped starts one: ``\\NTUSER`` is a literal backslash
#: followed by ``N``; an escape needs an odd run of backslashes before its letter.
NON_ASCII_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\[xuNpP]")


def caseless_alike(pattern: str, text: str) -> bool:
    """True when ASCII-only and Unicode caseless matching of ``pattern`` must agree on ``text``.

    Unicode caseless matching adds only non-ASCII partners to what ASCII folding accepts (the
    Kelvin sign to ``k``, ``ſ`` to ``s``, ``É`` to ``é``). With a pattern that cannot name a
    non-ASCII character, the readings then agree on every value whose non-ASCII characters have
    no case partners; otherwise, on values none of whose characters has such a partner.
    """
    if pattern.isascii() and not NON_ASCII_ESCAPE.search(pattern):
        return all(c.isascii() or folds_alike(c, (ASCII, UNICODE)) for c in text)
    return all(folds_alike(c, (ASCII, UNICODE)) for c in text)
