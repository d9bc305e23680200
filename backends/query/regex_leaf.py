"""Regex leaves: the value test of a pattern in its dialect (Lucene RegExp, PCRE, RE2), and
the string-test form (``plain_regex``) OR-ed leaves on one field merge into.

A Lucene pattern always matches the whole value; a PCRE or RE2 pattern is searched unless the
leaf is anchored. A caseless pattern folds case itself, under each candidate reading of the
leaf's engine; a ``lowercase`` normalizer lowercases the indexed value first (not the pattern).
A pattern that is a string of character sets, read in its dialect, is decided with ``in`` /
``startswith`` / ``endswith`` / ``==`` on the mapped value, with no regex run. Split out of
``compiler.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import ast
from .errors import FoldingUndecided, UnsupportedQueryError
from .folding import FULL, ascii_view, simple_lower
from .lucene_regex import lucene_plain_form
from .matching import lucene_plain, lucene_regex, pcre_regex, re2_regex, scalar_text
from .plain_regex import PlainForm, forms_test, plain_form, plain_test
from .re2 import re2_plain_shape
from .readings import (
    NON_ASCII_ESCAPE,
    ValueTest,
    agree,
    caseless_alike,
    identity,
    lowered_first,
)

__all__ = ["regex_form", "regex_group_test", "regex_test"]


def regex_test(node: ast.Regex) -> ValueTest:
    """The value test of a Regex leaf in its dialect, under every candidate reading of its
    folding (``compiler.Compiler`` runs it on every indexed value of the field).

    Raises:
        UnsupportedQueryError: a construct the evaluator cannot run faithfully.
        PatternSyntaxError: the engine would reject the pattern.
    """
    # A lowercase normalizer lowercases the indexed value but not the regex pattern; the
    # pattern folds case itself (inside the automaton), per candidate reading.
    normalize = simple_lower if node.lowercase_value else identity
    match: Callable[[str], object]  # the pattern's fullmatch or search; None: no match
    test: Callable[[str], bool]  # the same as a verdict (BoundedPattern.tester)
    if node.dialect is ast.RegexDialect.LUCENE:
        if node.flags:
            raise UnsupportedQueryError(f"Lucene regex with flags {node.flags!r}")
        plain = lucene_plain(node.pattern) if node.case_sensitive else None
        if plain is not None:  # a literal, maybe opened by .*: a string test, no regex
            test = plain
            return lambda v: test(normalize(scalar_text(v)))
        readings = ("",) if node.case_sensitive else node.fold.readings
        # ``full`` (ES|QL TO_LOWER) lowers the value, which can change its length (U+0130),
        # and matches the pattern as written; the other readings fold inside the automaton.
        testers = [
            lowered_first(lucene_regex(node.pattern).tester(True)) if r == FULL
            else lucene_regex(node.pattern, node.case_sensitive, r or "ascii").tester(True)
            for r in readings
        ]
        if len(testers) == 1:
            only = testers[0]
            return lambda v: bool(only(normalize(scalar_text(v))))

        def test_all(v: Any) -> bool:
            text = normalize(scalar_text(v))
            return agree(node, text, [bool(t(text)) for t in testers])

        return test_all
    if node.dialect is ast.RegexDialect.RE2:
        # RE2's (?i) is Unicode simple case folding, one documented reading (Kusto semantics).
        compiled_re2 = re2_regex(node.pattern, node.flags, node.case_sensitive)
        match = compiled_re2.fullmatch if node.anchored else compiled_re2.search
        readings = () if node.case_sensitive else node.fold.readings
        shape = re2_plain_shape(node.pattern, node.flags) if node.case_sensitive else None
        if shape is not None:  # a string of character sets: a string test, no RE2 match
            test = plain_test(shape, node.anchored)
            return lambda v: test(normalize(scalar_text(v)))
        if len(readings) < 2:
            return lambda v: match(normalize(scalar_text(v))) is not None
        # A leaf whose engine folding is undocumented (Kusto `has`): each reading is the
        # ASCII-only pattern's match on the value as that reading presents it.
        if not node.pattern.isascii() or NON_ASCII_ESCAPE.search(node.pattern):
            raise UnsupportedQueryError(
                f"{ast.describe(node)}: candidate foldings need an ASCII-only pattern"
            )

        def test_re2(v: Any) -> bool:
            text = normalize(scalar_text(v))
            return agree(node, text, [match(ascii_view(text, r)) is not None for r in readings])

        return test_re2
    compiled = pcre_regex(node.pattern, node.flags, node.case_sensitive, node.anchored)
    test = compiled.tester(node.anchored)
    caseless = not node.case_sensitive or "i" in node.flags or compiled.caseless
    if caseless and node.fold.readings != ("ascii",):
        # Python's regex folds ASCII only here (PCRE without UTF); a caseless PCRE in UTF
        # mode folds Unicode-wide. They agree on a value none of whose characters has a
        # case partner under one reading that it lacks under the other.
        def test_pcre(v: Any) -> bool:
            text = normalize(scalar_text(v))
            if not caseless_alike(node.pattern, text):
                raise FoldingUndecided(
                    f"{ast.describe(node)} on {text[:80]!r}: a caseless PCRE folds non-ASCII "
                    f"letters only in UTF mode (candidate foldings {node.fold.value})"
                )
            return test(text)

        return test_pcre
    return lambda v: test(normalize(scalar_text(v)))


def regex_form(node: ast.Regex) -> PlainForm | None:
    """The string test ``regex_test`` runs for ``node`` (``plain_regex.PlainForm``: a
    pattern that is a string of character sets, read in the node's dialect, under its one
    reading), or None when it runs anything else (a regex, several readings, a check that
    may leave the verdict undecided).

    Raises:
        as ``regex_test`` (the pattern is compiled the same way).
    """
    if node.dialect is ast.RegexDialect.LUCENE:
        if node.flags:
            return None
        if node.case_sensitive:
            form = lucene_plain_form(node.pattern)
            if form is not None:
                return form
            return lucene_regex(node.pattern, True, "ascii").plain_form(True)
        readings = node.fold.readings
        if len(readings) != 1 or readings[0] == FULL:
            return None
        return lucene_regex(node.pattern, False, readings[0]).plain_form(True)
    if node.dialect is ast.RegexDialect.RE2:
        re2_regex(node.pattern, node.flags, node.case_sensitive)  # RE2 validates it
        if not node.case_sensitive:
            return None
        shape = re2_plain_shape(node.pattern, node.flags)
        return None if shape is None else plain_form(shape, node.anchored)
    compiled = pcre_regex(node.pattern, node.flags, node.case_sensitive, node.anchored)
    caseless = not node.case_sensitive or "i" in node.flags or compiled.caseless
    if caseless and node.fold.readings != ("ascii",):
        return None
    return compiled.plain_form(node.anchored)


def regex_group_test(lowercase_value: bool, forms: tuple[PlainForm, ...]) -> ValueTest:
    """The value test true when any of ``forms`` (``regex_form`` of OR-ed leaves) holds on the
    value, lowercased first under a ``lowercase`` normalizer (``plain_regex.forms_test``)."""
    test = forms_test(forms)
    if lowercase_value:
        return lambda v: test(simple_lower(scalar_text(v)))
    return lambda v: test(scalar_text(v))
