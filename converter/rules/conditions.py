"""Sigma conditions parsed without pyparsing, into pySigma's own condition objects.

pySigma parses a rule's condition with a pyparsing grammar every time the condition is read (at
load for sigport's checks, again in every target's conversion, and in the pipelines that read
the tree), deep-copying a cached parse each time: about a tenth of a cold conversion's CPU.
``FastCondition`` is a ``SigmaCondition`` whose ``parse`` builds the same tree from a small
recursive-descent parser instead, for the conditions written the usual way; any other text goes
to pySigma's parser unchanged, so its result and its errors are pySigma's own.

What this parser accepts (else: pySigma's parser): tokens separated by spaces, tabs, line breaks
and parentheses; ``and``, ``or``, ``not`` as whole words; identifiers of ASCII letters, digits,
``_`` and ``-`` that neither start with ``and``, ``or`` or ``not`` (pyparsing reads ``not_x`` as
``not _x``) nor are one of ``of``, ``them``, ``1``, ``any``, ``all``; selectors ``1|any|all of
PATTERN`` with a pattern of letters, digits, ``_`` and ``*``. The tree is pyparsing's: ``not``
binds tighter than ``and``, which binds tighter than ``or``; a chain of one operator is one node
with every operand (``a and b and c`` is one ``ConditionAND``); a parenthesised expression is its
content. A test parses generated conditions both ways and compares the trees.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionIdentifier,
    ConditionNOT,
    ConditionOR,
    ConditionSelector,
    SigmaCondition,
)

__all__ = ["FastCondition", "parse_shape", "use_fast_conditions"]

#: A parsed condition before its objects are built: ("id", name), ("sel", quantifier,
#: pattern), or (operator, operand, ...) for "and", "or", "not".
Shape = tuple[Any, ...]

_TOKEN = re.compile(r"[ \t\r\n]*(?:(\()|(\))|([A-Za-z0-9_*-]+))")
_SPACE = re.compile(r"[ \t\r\n]*")
_IDENTIFIER = re.compile(r"[A-Za-z0-9_-]+")
_PATTERN = re.compile(r"[A-Za-z0-9_*]+")
_QUANTIFIERS = ("1", "any", "all")
_RESERVED = frozenset(("of", "them", *_QUANTIFIERS))
_OPERATOR_PREFIXES = ("and", "or", "not")
#: Most parentheses and "not"s in a condition this parser reads.
MAX_NESTING = 32


class _Outside(Exception):
    """The text is not in the form this parser reads: pySigma's parser takes it."""


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    position = 0
    end = len(text)
    while True:
        position = _SPACE.match(text, position).end()  # type: ignore[union-attr]
        if position == end:
            return out
        found = _TOKEN.match(text, position)
        if found is None:
            raise _Outside
        out.append(found.group(found.lastindex or 0))
        position = found.end()


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.at = 0

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise _Outside
        self.at += 1
        return token

    def chain(self, operator: str, operand: Any) -> Shape:
        items = [operand()]
        while self.peek() == operator:
            self.at += 1
            items.append(operand())
        return items[0] if len(items) == 1 else (operator, *items)

    def any_of(self) -> Shape:
        return self.chain("or", self.all_of)

    def all_of(self) -> Shape:
        return self.chain("and", self.negated)

    def negated(self) -> Shape:
        if self.peek() == "not":
            self.at += 1
            return ("not", self.negated())
        return self.atom()

    def atom(self) -> Shape:
        token = self.take()
        if token == "(":
            inner = self.any_of()
            if self.take() != ")":
                raise _Outside
            return inner
        if token in _QUANTIFIERS and self.peek() == "of":
            self.at += 1
            pattern = self.take()
            if not _PATTERN.fullmatch(pattern) or pattern in ("of", "and", "or", "not"):
                raise _Outside
            return ("sel", token, pattern)
        if (token in _RESERVED or token.startswith(_OPERATOR_PREFIXES)
                or not _IDENTIFIER.fullmatch(token)):
            raise _Outside
        return ("id", token)


@lru_cache(maxsize=4096)
def parse_shape(text: str) -> Shape | None:
    """The shape of the condition ``text``, or None when this parser does not read it (pySigma's
    parser then decides: the tree or the error)."""
    try:
        tokens = _tokens(text)
        # This parser recurses once per parenthesis and per "not"; beyond a few, pySigma's
        # parser decides (its recursion limit is what sigport's depth check reports).
        if tokens.count("(") + tokens.count("not") > MAX_NESTING:
            return None
        parser = _Parser(tokens)
        shape = parser.any_of()
    except _Outside:
        return None
    if parser.at != len(parser.tokens):
        return None
    return shape


def build(shape: Shape) -> Any:
    """pySigma's condition objects for ``shape`` (new ones on every call: postprocessing
    changes them)."""
    kind = shape[0]
    if kind == "id":
        return ConditionIdentifier([shape[1]])
    if kind == "sel":
        return ConditionSelector([shape[1], shape[2]])
    args = [build(operand) for operand in shape[1:]]
    if kind == "and":
        return ConditionAND(args)
    if kind == "or":
        return ConditionOR(args)
    return ConditionNOT(args)


class FastCondition(SigmaCondition):
    """A ``SigmaCondition`` parsed by this module's parser when it reads the text (else by
    pySigma's); the tree, and every error, is what pySigma's ``parse`` gives."""

    def parse(self, postprocess: bool = True) -> Any:
        """The condition tree (``postprocess``) or parse tree, as ``SigmaCondition.parse``."""
        shape = None if "|" in self.condition else parse_shape(self.condition)
        if shape is None:
            return super().parse(postprocess)
        tree = build(shape)
        return tree.postprocess(self.detections, source=self.source) if postprocess else tree


def use_fast_conditions(rule: Any) -> None:
    """Make a loaded pySigma rule's conditions ``FastCondition``s (in place)."""
    detection = getattr(rule, "detection", None)
    conditions = getattr(detection, "parsed_condition", None)
    if detection is None or not conditions:
        return
    detection.parsed_condition = [
        c if type(c) is not SigmaCondition else FastCondition(c.condition, c.detections, c.source)
        for c in conditions
    ]
