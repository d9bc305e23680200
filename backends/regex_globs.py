"""Sigma regular expressions whose meaning is a finite union of wildcard patterns.

KQL has no regular expressions, but many Sigma regexes mean exactly what a few wildcard values
mean: ``\\.exe$`` is "ends with .exe, or with .exe and a newline", ``(cmd|powershell)\\.exe`` is
two ``contains`` values, ``[0-9]`` a small set of characters. ``regex_globs`` turns such a regex
into the *exactly equivalent* list of Sigma wildcard values (``SigmaString``, case-sensitive or
not), or refuses with the reason. Emitters (both KQL targets) write the list as an OR of
``field:value`` terms; ``check`` proves the result on events, so the translation is never trusted.

Meaning translated (``SIGMA_SEMANTICS["regex"]`` of the reference): Python ``re.search`` —
unanchored; ``$`` also matches before a final newline; ``.`` excludes the newline unless ``|s``;
``^``/``$`` match at every line under ``|m``; ``\\d \\s \\w`` are ASCII
(``regex_shorthand_classes``); ``|i`` folds letters as the reference's engine does
(``regex_case``; the table ``backends.lucene.charset.regex_case_variants``, which its tests hold
against that engine's own). A wildcard value is
matched against the whole value: ``*`` is any run (also newlines), ``?`` exactly one code point,
a case-insensitive value compares per code point by simple lowercase (``wildcards``,
``string_case``).

What is accepted: literals, finite classes (no negation), ``.`` under ``|s``, bounded
repetition, alternation, non-capturing/capturing groups, ``^ $ \\A \\Z`` at the ends of an
alternative, and unbounded repetition only where search semantics absorbs it (a leading or
trailing ``x*``/``x+`` of an unanchored pattern) or of ``.`` under ``|s``. Everything else
(negated classes, ``.`` without ``|s`` inside the pattern, lookarounds, backreferences, ``\\b``,
scoped flags, non-ASCII letters under ``|i``) is refused, as is an expansion beyond
``MAX_GLOBS`` values.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Iterable, Sequence, Union

from sigma.conditions import ConditionFieldEqualsValueExpression, ConditionItem, ConditionOR
from sigma.types import (
    SigmaCasedString,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)

from backends.common import refuse_placeholders
from backends.lucene.charset import FoldError, regex_case_variants
from backends.query.folding import SIMPLE, equivalents

import re

from backends.query.sre import sre_constants as _c, sre_parse as _parser

#: At most this many wildcard values for one regex (beyond it the query is refused: an OR of
#: hundreds of terms helps nobody and slows the cluster).
MAX_GLOBS = 64
#: At most this many characters in one class (``[a-z]`` has 26); beyond, refused.
MAX_CLASS = 64
#: The ASCII shorthand classes (``regex_shorthand_classes``; PCRE without UCP).
_ASCII_CATEGORIES = {
    _c.CATEGORY_DIGIT: frozenset("0123456789"),
    _c.CATEGORY_SPACE: frozenset(" \t\n\r\x0b\x0c"),
    _c.CATEGORY_WORD: frozenset(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
    ),
}
_FLAGS_REFUSED = re.ASCII | re.LOCALE


class NotGlobs(ValueError):
    """The regex has no exactly equivalent finite union of wildcard values (the reason)."""


@dataclass(frozen=True)
class _Star:
    """Any run of characters, newlines included (``.*`` under ``|s``; an unanchored end)."""


@dataclass(frozen=True)
class _One:
    """Exactly one character, newline included (``.`` under ``|s``)."""


@dataclass(frozen=True)
class _Anchor:
    """A zero-width position: ``start``/``end`` of the value, ``end_nl`` (``$``: the end or
    before a final newline), ``line_start``/``line_end`` (``^``/``$`` under ``|m``)."""

    kind: str


STAR, ONE = _Star(), _One()
#: One position of an expanded alternative: a set of characters, STAR, ONE or an anchor.
Token = Union[frozenset, _Star, _One, _Anchor]
_Seq = tuple[Token, ...]


@dataclass(frozen=True)
class Globs:
    """The translation: ``values`` OR-ed are exactly the regex (each is a ``SigmaString``,
    a ``SigmaCasedString`` where case matters)."""

    values: tuple[SigmaString, ...]


def regex_globs(pattern: str, ignorecase: bool = False, multiline: bool = False,
                dotall: bool = False) -> Globs:
    """The wildcard values whose union matches exactly the values ``pattern`` is found in.

    ``ignorecase``/``multiline``/``dotall`` are Sigma's ``|i``/``|m``/``|s``; inline global
    flags (``(?i)``) are read too.

    Raises:
        NotGlobs: the regex is not a finite union of wildcard values within ``MAX_GLOBS``.
    """
    flags = (re.IGNORECASE if ignorecase else 0) | (re.MULTILINE if multiline else 0) | (
        re.DOTALL if dotall else 0)
    try:
        parsed = _parser.parse(pattern, flags)
    except re.error as error:
        raise NotGlobs(f"invalid regular expression: {error}") from None
    flags = parsed.state.flags
    if flags & _FLAGS_REFUSED:
        raise NotGlobs("the (?a)/(?L) flags are not translated")
    ctx = _Context(bool(flags & re.IGNORECASE), bool(flags & re.MULTILINE),
                   bool(flags & re.DOTALL))
    seqs: list[_Seq] = []
    for items in _alternatives(list(parsed)):
        for seq in ctx.expand(_trim_edges(items), top=True):
            seqs.extend(_anchor(seq))
            _bound(len(seqs))
    values: list[SigmaString] = []
    for seq in dict.fromkeys(_merge_stars(s) for s in seqs):
        values.extend(_render(seq))
        _bound(len(values))
    unique = {(type(v), tuple(v.s)): v for v in values}
    return Globs(tuple(unique.values()))


def regex_text(value: SigmaRegularExpression) -> str:
    """The pattern text (pySigma keeps it as a SigmaString without escapes, whose text is the
    pattern again, as the Lucene emitter uses it).

    Raises:
        NotGlobs: the pattern holds a placeholder.
    """
    from sigma.exceptions import SigmaFeatureNotSupportedByBackendError

    try:
        return str(refuse_placeholders(value.regexp))
    except SigmaFeatureNotSupportedByBackendError as error:
        raise NotGlobs(str(error)) from None


def sigma_regex_globs(value: SigmaRegularExpression) -> tuple[SigmaString, ...]:
    """The wildcard values of a Sigma regex value (its ``|i|m|s`` flags applied).

    Raises:
        NotGlobs: the regex has no exactly equivalent finite union of wildcard values (or
            matches no value at all).
    """
    flags = set(value.flags)
    globs = regex_globs(
        regex_text(value),
        ignorecase=SigmaRegularExpressionFlag.IGNORECASE in flags,
        multiline=SigmaRegularExpressionFlag.MULTILINE in flags,
        dotall=SigmaRegularExpressionFlag.DOTALL in flags,
    )
    if not globs.values:
        raise NotGlobs("the pattern matches no value")
    return globs.values


def glob_condition(cond: ConditionFieldEqualsValueExpression) -> ConditionItem:
    """The condition ``field|re: pattern`` as the OR of its wildcard values (one value: the
    single field condition), linked under ``cond``'s parent so emitters can convert it.

    Raises:
        NotGlobs: the regex has no exactly equivalent finite union of wildcard values.
    """
    assert isinstance(cond.value, SigmaRegularExpression)
    terms: list[Any] = []
    for glob in sigma_regex_globs(cond.value):
        terms.append(ConditionFieldEqualsValueExpression(cond.field, glob))
    if len(terms) == 1:
        terms[0].parent = cond.parent
        return terms[0]
    union = ConditionOR(list(terms), getattr(cond, "source", None))
    union.parent = cond.parent
    for term in terms:
        term.parent = union
    return union


def _bound(count: int) -> None:
    if count > MAX_GLOBS:
        raise NotGlobs(f"more than {MAX_GLOBS} wildcard values")


# --- flattening alternations -----------------------------------------------------------------

def _alternatives(items: list[Any]) -> list[list[Any]]:
    """``items`` with every alternation outside a repetition distributed: a list of
    alternation-free item lists whose union is ``items``."""
    out: list[list[Any]] = [[]]
    for op, av in items:
        if op is _c.BRANCH:
            options = [alt for branch in av[1] for alt in _alternatives(list(branch))]
        elif op is _c.SUBPATTERN:
            _group, add, remove, body = av
            if add or remove:
                raise NotGlobs("scoped flags (?i:...) are not translated")
            options = _alternatives(list(body))
        else:
            options = [[(op, av)]]
        out = [prefix + option for prefix in out for option in options]
        _bound(len(out))
    return out


def _unconditionally_nullable(item: tuple[Any, Any]) -> bool:
    """True when ``item`` can match the empty string at every position (an anchor cannot)."""
    op, av = item
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
        return av[0] == 0 or all(_unconditionally_nullable(i) for i in av[2])
    if op is _c.SUBPATTERN:
        return all(_unconditionally_nullable(i) for i in av[3])
    if op is _c.BRANCH:
        return any(all(_unconditionally_nullable(i) for i in b) for b in av[1])
    return False


def _contains_anchor(items: Iterable[tuple[Any, Any]]) -> bool:
    for op, av in items:
        if op is _c.AT:
            return True
        if op in (_c.MAX_REPEAT, _c.MIN_REPEAT) and _contains_anchor(av[2]):
            return True
        if op is _c.SUBPATTERN and _contains_anchor(av[3]):
            return True
        if op is _c.BRANCH and any(_contains_anchor(b) for b in av[1]):
            return True
    return False


def _trim_edges(items: list[Any]) -> list[Any]:
    """Search semantics at an unanchored end: ``search(X Y) == search(Y)`` when X matches the
    empty string anywhere, and ``search(X{m,n} Y) == search(X{m} Y)`` (the last m copies of a
    longer run are a match too); the same at the right end."""
    for reverse in (False, True):
        seq = items[::-1] if reverse else items
        while seq and not _contains_anchor([seq[0]]) and _unconditionally_nullable(seq[0]):
            seq = seq[1:]
        if seq and seq[0][0] in (_c.MAX_REPEAT, _c.MIN_REPEAT) and not _contains_anchor([seq[0]]):
            low, _high, body = seq[0][1]
            seq = [(_c.MAX_REPEAT, (low, low, body)), *seq[1:]]
        items = seq[::-1] if reverse else seq
    return items


# --- expansion ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Context:
    ignorecase: bool
    multiline: bool
    dotall: bool

    def expand(self, items: Sequence[Any], top: bool = False) -> list[_Seq]:
        """The token sequences of an alternation-free item list (anchors allowed when ``top``)."""
        seqs: list[_Seq] = [()]
        for op, av in items:
            options = self._item(op, av, top)
            seqs = [s + o for s in seqs for o in options]
            _bound(len(seqs))
        return seqs

    def _item(self, op: Any, av: Any, top: bool) -> list[_Seq]:
        if op is _c.LITERAL:
            return [(self._letter(chr(av)),)]
        if op is _c.IN:
            return [(self._class(av),)]
        if op is _c.NOT_LITERAL:
            raise NotGlobs("a negated character has no finite wildcard form")
        if op is _c.ANY:
            if not self.dotall:
                raise NotGlobs("'.' excludes the newline (no |s): no wildcard value says that")
            return [(ONE,)]
        if op is _c.AT:
            if not top:
                raise NotGlobs("an anchor inside a repetition is not translated")
            return [(self._at(av),)]
        if op in (_c.BRANCH, _c.SUBPATTERN):
            if op is _c.SUBPATTERN and (av[1] or av[2]):
                raise NotGlobs("scoped flags (?i:...) are not translated")
            body = [(op, av)]
            return [s for alt in _alternatives(body) for s in self.expand(alt, top=False)]
        if op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
            return self._repeat(*av)
        raise NotGlobs(f"{str(op).lower()} is not translated")

    def _repeat(self, low: int, high: Any, body: Any) -> list[_Seq]:
        inner = [s for alt in _alternatives(list(body)) for s in self.expand(alt)]
        if high == _c.MAXREPEAT:
            if inner != [(ONE,)]:
                raise NotGlobs("an unbounded repetition inside the pattern is not translated")
            return [(ONE,) * low + (STAR,)]
        out: list[_Seq] = []
        for count in range(low, high + 1):
            for combo in itertools.product(inner, repeat=count):
                out.append(tuple(t for part in combo for t in part))
                _bound(len(out))
        return out

    def _at(self, code: Any) -> _Anchor:
        if code is _c.AT_BEGINNING_STRING:
            return _Anchor("start")
        if code is _c.AT_END_STRING:
            return _Anchor("end")
        if code is _c.AT_BEGINNING:
            return _Anchor("line_start" if self.multiline else "start")
        if code is _c.AT_END:
            return _Anchor("line_end" if self.multiline else "end_nl")
        raise NotGlobs(f"{str(code).lower()} (word boundary) is not translated")

    def _letter(self, char: str) -> frozenset:
        if not self.ignorecase:
            return frozenset(char)
        try:
            # SIGMA_SEMANTICS["regex_case"], as the table the Lucene translation checks against
            # the reference engine's own (s joins U+017F, k the Kelvin sign, i U+0130).
            return frozenset(regex_case_variants(char))
        except FoldError as error:
            raise NotGlobs(f"|i with the non-ASCII letter {char!r}: {error}") from None

    def _class(self, members: Any) -> frozenset:
        chars: set[str] = set()
        for op, av in members:
            if op is _c.LITERAL:
                chars.add(chr(av))
            elif op is _c.RANGE:
                if av[1] - av[0] >= MAX_CLASS:
                    raise NotGlobs(f"a class of more than {MAX_CLASS} characters")
                chars.update(chr(c) for c in range(av[0], av[1] + 1))
            elif op is _c.CATEGORY and av in _ASCII_CATEGORIES:
                chars.update(_ASCII_CATEGORIES[av])
            else:
                raise NotGlobs("a negated class has no finite wildcard form")
        out: set[str] = set()
        for char in chars:
            out |= self._letter(char)
        if len(out) > MAX_CLASS:
            raise NotGlobs(f"a class of more than {MAX_CLASS} characters")
        return frozenset(out)


# --- anchors and rendering ------------------------------------------------------------------

def _anchor(seq: _Seq) -> list[_Seq]:
    """The whole-value patterns of one alternative: an unanchored side gets a STAR; ``$`` and
    the ``|m`` anchors become the patterns of each place they may match; an alternative with
    characters before its start anchor (or after its end anchor) matches nothing."""
    body = list(seq)
    heads: list[_Seq] = [(STAR,)]
    tails: list[_Seq] = [(STAR,)]
    first, last = (body[0], body[-1]) if body else (None, None)
    if isinstance(first, _Anchor) and first.kind in ("start", "line_start"):
        body.pop(0)
        heads = [()] if first.kind == "start" else [(), (STAR, frozenset("\n"))]
    if isinstance(last, _Anchor) and last.kind in ("end", "end_nl", "line_end") and body:
        body.pop()
        newline: _Seq = (frozenset("\n"),)
        ends: dict[str, list[_Seq]] = {
            "end": [()], "end_nl": [(), newline], "line_end": [(), newline + (STAR,)]}
        tails = ends[last.kind]
    for index, token in enumerate(body):
        if isinstance(token, _Anchor):
            before, after = body[:index], body[index + 1:]
            if (token.kind == "start" and any(isinstance(t, frozenset) for t in before)) or (
                token.kind == "end" and any(isinstance(t, frozenset) for t in after)
            ):
                return []  # a character before the value's start (after its end): no match
            raise NotGlobs("an anchor inside the pattern is not translated")
    return [h + tuple(body) + t for h in heads for t in tails]


def _merge_stars(seq: _Seq) -> _Seq:
    out: list[Token] = []
    for token in seq:
        if token is STAR and out and out[-1] is STAR:
            continue
        out.append(token)
    return tuple(out)


def _ci_representatives(chars: frozenset) -> str | None:
    """Characters whose case-insensitive (simple lowercase) classes make up ``chars`` exactly,
    or None when ``chars`` is not closed under that folding."""
    picked = ""
    covered: set[str] = set()
    for char in sorted(chars, key=lambda c: (c != c.lower(), c)):  # lowercase reads best
        if char in covered:
            continue
        group = set(equivalents(char, SIMPLE))
        if not group <= chars:
            return None
        picked += char
        covered |= group
    return picked


def _render(seq: _Seq) -> list[SigmaString]:
    """The Sigma values of one whole-value pattern: case-insensitive when every class is made
    of whole case classes and that needs fewer values than spelling each case out."""
    cased: list[list[Any]] = [[t] if not isinstance(t, frozenset) else sorted(t) for t in seq]
    options = cased
    caseless = False
    reps = [_ci_representatives(t) if isinstance(t, frozenset) else None for t in seq]
    if all(r is not None or not isinstance(t, frozenset) for r, t in zip(reps, seq)):
        ci = [[t] if r is None else list(r) for r, t in zip(reps, seq)]
        if _count(ci) < _count(cased):  # a tie keeps the cased form: exact without a copy
            options, caseless = ci, True
    _bound(_count(options))
    values: list[SigmaString] = []
    for choice in itertools.product(*options):
        value = _sigma_string(choice)
        values.append(value if caseless else SigmaCasedString.from_sigma_string(value))
    return values


def _count(options: list[list[Any]]) -> int:
    total = 1
    for option in options:
        total *= len(option)
    return total


def _sigma_string(tokens: Iterable[Any]) -> SigmaString:
    parts: list[Any] = []
    for token in tokens:
        if token is STAR:
            parts.append(SpecialChars.WILDCARD_MULTI)
        elif token is ONE:
            parts.append(SpecialChars.WILDCARD_SINGLE)
        elif parts and isinstance(parts[-1], str):
            parts[-1] += token
        else:
            parts.append(token)
    value = SigmaString()
    value.s = parts
    value.original = "".join(p if isinstance(p, str) else "*?"[p is SpecialChars.WILDCARD_SINGLE]
                             for p in parts)
    return value
