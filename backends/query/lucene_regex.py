"""Lucene RegExp (the ``regexp`` query, query_string ``/.../``, ES EQL ``regex``) as Python regex.

Parsed with Lucene's own grammar into a small tuple tree, then emitted as a pattern for
``re.fullmatch`` (Lucene regexps always match the whole term). Split out of ``matching.py``, which
re-exports ``lucene_regex`` and ``decimal_interval``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from .errors import UnsupportedQueryError
from .folding import ASCII, equivalents
from .pattern_memo import remembered
from .patterns import BoundedPattern, PatternSyntaxError
from .plain_regex import PlainForm, forms_test

__all__ = ["decimal_interval", "lucene_plain", "lucene_plain_form", "lucene_regex"]


# --- Lucene RegExp -----------------------------------------------------------------------------
#
# Syntax: https://www.elastic.co/guide/en/elasticsearch/reference/current/regexp-syntax.html and
# the grammar in Lucene's RegExp javadoc (org.apache.lucene.util.automaton.RegExp, Lucene 9+, used
# by Elasticsearch 8+). The pattern always matches the whole term; ``^`` and ``$`` are ordinary
# characters; the optional operators (``# @ & ~ <n-m>``) are enabled, as the ``regexp`` query's
# default ``flags`` is ALL. Lucene 9 added ``\d \D \s \S \w \W`` (LUCENE-9336) with the ASCII
# meanings [0-9], [ \t\n\r], [a-zA-Z_0-9]; a backslash before any other ASCII letter is an error,
# and before anything else it makes that character literal. We parse with Lucene's own grammar
# into a small tuple tree, then emit Python syntax for ``re.fullmatch``.

_PRE_CLASSES = {"d": "0-9", "s": " \\t\\n\\r", "w": "a-zA-Z_0-9"}
_LUCENE_BAD_ESCAPES = set("abcefghijklmnopqrtuvxyzABCEFGHIJKLMNOPQRTUVXYZ")
_INT_MAX = 2**31 - 1


class _LuceneParser:
    """Recursive-descent parser mirroring Lucene's RegExp grammar, producing tuple nodes."""

    def __init__(self, pattern: str) -> None:
        self.s = pattern
        self.pos = 0

    def error(self, message: str) -> PatternSyntaxError:
        return PatternSyntaxError(f"invalid Lucene regular expression: {message}", self.s, self.pos)

    def more(self) -> bool:
        return self.pos < len(self.s)

    def peek(self, chars: str) -> bool:
        return self.more() and self.s[self.pos] in chars

    def match(self, ch: str) -> bool:
        if self.more() and self.s[self.pos] == ch:
            self.pos += 1
            return True
        return False

    def next(self) -> str:
        if not self.more():
            raise self.error("unexpected end of pattern")
        self.pos += 1
        return self.s[self.pos - 1]

    def parse(self) -> tuple:
        if not self.s:
            return ("str", "")
        node = self.union()
        if self.more():
            raise self.error("end of pattern expected")
        return node

    def union(self) -> tuple:
        items = [self.inter()]
        while self.match("|"):
            items.append(self.inter())
        return items[0] if len(items) == 1 else ("union", items)

    def inter(self) -> tuple:
        items = [self.concat()]
        while self.match("&"):
            items.append(self.concat())
        return items[0] if len(items) == 1 else ("inter", items)

    def concat(self) -> tuple:
        items = [self.repeat()]
        while self.more() and not self.peek(")|&"):
            items.append(self.repeat())
        return items[0] if len(items) == 1 else ("concat", items)

    def repeat(self) -> tuple:
        node = self.complement()
        while self.peek("?*+{"):
            op = self.next()
            if op == "?":
                node = ("repeat", node, 0, 1)
            elif op == "*":
                node = ("repeat", node, 0, None)
            elif op == "+":
                node = ("repeat", node, 1, None)
            else:
                low = self.integer()
                high: int | None = low
                if self.match(","):
                    high = self.integer() if self.peek("0123456789") else None
                if not self.match("}"):
                    raise self.error("expected '}'")
                node = ("repeat", node, low, high)
        return node

    def integer(self) -> int:
        start = self.pos
        while self.peek("0123456789"):
            self.pos += 1
        if start == self.pos:
            raise self.error("integer expected")
        return int(self.s[start : self.pos])

    def complement(self) -> tuple:
        if self.match("~"):
            return ("compl", self.complement())
        if self.match("["):
            negate = self.match("^")
            items = [self.class_item()]
            while self.more() and not self.peek("]"):
                items.append(self.class_item())
            if not self.match("]"):
                raise self.error("expected ']'")
            return ("class", negate, items)
        return self.simple()

    def predefined(self) -> tuple | None:
        """Lucene's matchPredefinedCharacterClass: consumes a backslash if one is next."""
        if self.match("\\"):
            if self.peek("dDwWsS"):
                return ("pre", self.next())
            if self.peek("\\"):
                return ("char", self.next())
            if self.more() and self.s[self.pos] in _LUCENE_BAD_ESCAPES:
                raise self.error(f"invalid character class \\{self.s[self.pos]}")
        return None

    def char(self) -> str:
        self.match("\\")
        return self.next()

    def class_item(self) -> tuple:
        pre = self.predefined()
        if pre is not None:
            return pre
        first = self.char()
        if self.match("-"):
            last = self.char()
            if first > last:
                raise self.error(f"invalid range {first}-{last}")
            return ("range", first, last)
        return ("char", first)

    def simple(self) -> tuple:
        if self.match("."):
            return ("any",)
        if self.match("#"):
            return ("nothing",)
        if self.match("@"):
            return ("anystr",)
        if self.match('"'):
            start = self.pos
            while self.more() and not self.peek('"'):
                self.pos += 1
            if not self.match('"'):
                raise self.error("expected '\"'")
            return ("str", self.s[start : self.pos - 1])
        if self.match("("):
            if self.match(")"):
                return ("str", "")
            node = self.union()
            if not self.match(")"):
                raise self.error("expected ')'")
            return node
        if self.match("<"):
            return self.interval()
        pre = self.predefined()
        if pre is not None:
            return pre
        return ("char", self.char())

    def interval(self) -> tuple:
        start = self.pos
        while self.more() and not self.peek(">"):
            self.pos += 1
        if not self.match(">"):
            raise self.error("expected '>'")
        body = self.s[start : self.pos - 1]
        m = re.fullmatch(r"(\d+)-(\d+)", body)
        if "-" not in body:
            # Named automata: Elasticsearch supplies none, so Lucene fails with "not found".
            raise self.error(f"named automaton <{body}> is not defined")
        if not m or int(m.group(1)) > _INT_MAX or int(m.group(2)) > _INT_MAX:
            raise self.error("interval syntax error")
        low, high = int(m.group(1)), int(m.group(2))
        digits = len(m.group(1)) if len(m.group(1)) == len(m.group(2)) else 0
        return ("interval", min(low, high), max(low, high), digits)


def _fixed_width_range(low: str, high: str) -> str:
    """Regex for the digit strings of one width between ``low`` and ``high`` inclusive."""
    n = len(low)
    if low == high:
        return low
    if low == "0" * n and high == "9" * n:
        return f"[0-9]{{{n}}}"
    if low[0] == high[0]:
        return low[0] + _fixed_width_range(low[1:], high[1:])
    alts = [low[0] + _fixed_width_range(low[1:], "9" * (n - 1))]
    if int(high[0]) - int(low[0]) > 1:
        middle = f"[{int(low[0]) + 1}-{int(high[0]) - 1}]"
        alts.append(middle + (f"[0-9]{{{n - 1}}}" if n > 1 else ""))
    alts.append(high[0] + _fixed_width_range("0" * (n - 1), high[1:]))
    return "(?:" + "|".join(alts) + ")"


def decimal_interval(low: int, high: int, digits: int) -> str:
    """Python regex for Lucene's ``<low-high>`` numeric interval (Automata.makeDecimalInterval).

    When both bounds were written with the same number of digits, the value must have exactly
    that many digits (zero-padded); otherwise any number of leading zeros is accepted.
    """
    if digits > 0:
        return _fixed_width_range(str(low).zfill(digits), str(high).zfill(digits))
    alts = []
    for width in range(len(str(low)), len(str(high)) + 1):
        lo = max(low, 10 ** (width - 1) if width > 1 else 0)
        hi = min(high, 10**width - 1)
        alts.append(_fixed_width_range(str(lo), str(hi)))
    return "0*(?:" + "|".join(alts) + ")"


def _variants(ch: str, case_sensitive: bool | str) -> str:
    """The characters a literal ``ch`` matches: itself when case-sensitive, else its class under
    the reading (``"ascii"``: Lucene ASCII_CASE_INSENSITIVE, RegExp.toCaseInsensitiveChar;
    ``"unicode"``: Automata.makeCaseInsensitiveChar, Unicode simple case folding)."""
    if case_sensitive is True:
        return ch
    return equivalents(ch, ASCII if case_sensitive is False else str(case_sensitive))


def _lucene_char(ch: str, case_sensitive: bool | str) -> str:
    """A literal character, folded as ``_variants`` says."""
    variants = _variants(ch, case_sensitive)
    if len(variants) > 1:
        return "[" + "".join(re.escape(c) for c in variants) + "]"
    return re.escape(ch)


def _lucene_class(node: tuple, case_sensitive: bool | str) -> str:
    """Emit a character class; ranges are not case-folded (RegExp.toAutomaton, CHAR_RANGE)."""
    _, negate, items = node
    members: list[str] = []
    negated_pre: list[str] = []
    for item in items:
        if item[0] == "pre":
            (negated_pre if item[1].isupper() else members).append(_PRE_CLASSES[item[1].lower()])
        elif item[0] == "range":
            members.append(f"{re.escape(item[1])}-{re.escape(item[2])}")
        else:
            members.extend(re.escape(c) for c in _variants(item[1], case_sensitive))
    alts = ([f"[{''.join(members)}]"] if members else []) + [f"[^{p}]" for p in negated_pre]
    if not negate and len(alts) == 1:
        return alts[0]
    if negate and not negated_pre:
        return f"[^{''.join(members)}]"
    either = "(?:" + "|".join(alts) + ")"
    return f"(?!{either})." if negate else either


def _emit_lucene(node: tuple, case_sensitive: bool | str, top: bool) -> str:
    """Emit Python regex text for a Lucene node. ``top`` means the node spans the whole value,
    where intersection and complement can be expressed exactly with lookaheads anchored at
    ``\\Z``; anywhere else they raise ``UnsupportedQueryError``."""
    kind = node[0]
    if kind == "union":
        return "(?:" + "|".join(_emit_lucene(c, case_sensitive, top) for c in node[1]) + ")"
    if kind == "concat":
        return "".join(_emit_lucene(c, case_sensitive, False) for c in node[1])
    if kind in ("inter", "compl") and not top:
        name = "intersection '&'" if kind == "inter" else "complement '~'"
        raise UnsupportedQueryError(
            f"Lucene regex {name} inside a larger expression has no exact Python translation"
        )
    if kind == "inter":
        parts = [_emit_lucene(c, case_sensitive, True) for c in node[1]]
        return "".join(f"(?=(?:{p})\\Z)" for p in parts[:-1]) + f"(?:{parts[-1]})"
    if kind == "compl":
        return f"(?!(?:{_emit_lucene(node[1], case_sensitive, True)})\\Z).*"
    if kind == "repeat":
        _, child, low, high = node
        base = f"(?:{_emit_lucene(child, case_sensitive, False)})"
        if high is None:
            return base + ("*" if low == 0 else "+" if low == 1 else f"{{{low},}}")
        if low > high:
            return "(?!)"  # Lucene's repeat(min > max) is the empty language
        return base + ("?" if (low, high) == (0, 1) else f"{{{low},{high}}}")
    if kind == "class":
        return _lucene_class(node, case_sensitive)
    if kind == "pre":
        letter = node[1]
        return f"[{'^' if letter.isupper() else ''}{_PRE_CLASSES[letter.lower()]}]"
    if kind == "char":
        return _lucene_char(node[1], case_sensitive)
    if kind == "str":
        return "".join(_lucene_char(c, case_sensitive) for c in node[1])
    if kind == "any":
        return "."
    if kind == "anystr":
        return ".*"
    if kind == "nothing":
        return "(?!)"
    return f"(?:{decimal_interval(node[1], node[2], node[3])})"  # interval


@remembered("lucene_regex")
def lucene_regex(pattern: str, case_sensitive: bool = True, reading: str = ASCII) -> BoundedPattern:
    """Compile a Lucene RegExp to a Python regex meant for ``fullmatch`` (whole-value match).

    Args:
        pattern: the pattern as Lucene receives it (query-language escaping already removed).
        case_sensitive: False models ``case_insensitive: true`` / EQL ``regex~``: letters in
            literal characters and strings fold, ranges do not.
        reading: how they fold when ``case_sensitive`` is False: ``"ascii"`` (ES before
            elastic/elasticsearch#153513) or ``"unicode"`` (after it).

    Raises:
        PatternSyntaxError: Lucene would reject the pattern.
        UnsupportedQueryError: ``&`` or ``~`` nested inside a concatenation or repetition.
    """
    tree = _LuceneParser(pattern).parse()
    # Lucene runs regexps as automata (linear); the Python translation backtracks, so bound it.
    fold: bool | str = True if case_sensitive else reading
    return BoundedPattern.compile(_emit_lucene(tree, fold, True), re.DOTALL, pattern)


#: Lucene RegExp's reserved characters (every operator of the grammar above, with the optional
#: ones enabled): a pattern without them is a plain string of literal characters.
_RESERVED = frozenset('.?+*|{}[]()"\\#@&<>~')


@functools.lru_cache(maxsize=8192)
def lucene_plain(pattern: str) -> Callable[[str], bool] | None:
    """A string test equal to the case-sensitive ``lucene_regex(pattern).fullmatch`` when the
    pattern is a literal, optionally opened by ``.*`` on either side (``.*cmd /c.*``: the
    contains, prefix and suffix shapes emitters write), else None.

    Exact, not a heuristic: such a pattern parses to ``.*``, literal characters, ``.*``, and
    Lucene's ``.`` is any code point, as Python's ``.`` under DOTALL, so the whole-value match is
    ``in``, ``startswith``, ``endswith`` or ``==`` on the code points
    (``tests/backends/test_lucene_plain.py`` compares the two on generated patterns and values).
    No backtracking regex is compiled or run, so no time limit applies.
    """
    form = lucene_plain_form(pattern)
    return None if form is None else forms_test((form,))


def lucene_plain_form(pattern: str) -> PlainForm | None:
    """``lucene_plain``'s test as a ``plain_regex.PlainForm`` (no table), or None."""
    start = pattern.startswith(".*")
    body = pattern[2:] if start else pattern
    end = body.endswith(".*") and len(body) >= 2
    literal = body[:-2] if end else body
    if not literal or not _RESERVED.isdisjoint(literal):
        return None
    kind = ("contains" if start and end else "endswith" if start else "startswith" if end
            else "equals")
    return kind, literal, None, False
