"""Primitive matchers for the evaluator: field lookup, globs, regex dialects, CIDR, text analysis.

Pure functions with no knowledge of the query tree. ``evaluate.py`` compiles tree leaves into
closures built from these. Every vendor fact they rely on is cited next to the code.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any, Callable

import regex

from .ast import GlobPart, Wildcard, glob_text
from .errors import QueryError, UnsupportedQueryError

__all__ = [
    "MATCH_TIME_LIMIT",
    "BoundedPattern",
    "MatchTimeout",
    "PatternSyntaxError",
    "analyze",
    "cidr_match",
    "glob_to_regex",
    "lookup",
    "lucene_regex",
    "pcre_regex",
    "scalar_text",
    "to_number",
]


class PatternSyntaxError(QueryError):
    """A regex or network pattern that the target engine itself would reject.

    ``position`` is the 0-based offset inside the pattern (not the query), so a parser can turn it
    into a ``QueryParseError`` pointing at the right column of its query text.
    """

    def __init__(self, message: str, pattern: str, position: int = 0) -> None:
        self.pattern = pattern
        self.position = position
        super().__init__(f"{message} (pattern {pattern!r}, offset {position})")


# --- bounded matching --------------------------------------------------------------------------
#
# Python's ``re`` backtracks, so a pattern like ``^(a+)+$`` (or a glob ``*a*a*a*a*a*a*a*b``) on a
# long value runs for minutes and would hang ``check``. Patterns are validated and translated with
# ``re`` as before (what compiles, and the error positions, stay those of ``re``), then run by the
# ``regex`` package, which matches ``re``'s syntax and semantics (its default VERSION0 mode) and
# takes a ``timeout``. A match that runs past the limit raises ``MatchTimeout`` (an
# ``UnsupportedQueryError``): the verdict is "cannot evaluate", never a silent non-match.
# A linear-time engine (RE2) was not used: its ``$`` matches only at the very end of the text,
# where PCRE and Python also match before a final newline, so it would change verdicts.

#: Seconds one match of one pattern against one value may take before it is abandoned.
MATCH_TIME_LIMIT = 1.0

_RE_TO_REGEX_FLAGS = (
    (re.IGNORECASE, regex.IGNORECASE),
    (re.MULTILINE, regex.MULTILINE),
    (re.DOTALL, regex.DOTALL),
    (re.VERBOSE, regex.VERBOSE),
    (re.ASCII, regex.ASCII),
)


class MatchTimeout(UnsupportedQueryError):
    """A pattern match ran past ``MATCH_TIME_LIMIT`` (catastrophic backtracking)."""


class BoundedPattern:
    """A compiled pattern whose ``search``/``fullmatch`` give up after ``MATCH_TIME_LIMIT``.

    After one timeout the pattern refuses at once on every later value, so a batch of events pays
    the time limit once per pattern, not once per event.
    """

    __slots__ = ("pattern", "_compiled", "_timed_out")

    def __init__(self, compiled: re.Pattern[str], shown: str) -> None:
        """Re-compile an ``re`` pattern (already validated) with the ``regex`` engine.

        Args:
            compiled: the pattern as ``re`` compiled it (its text and flags are reused).
            shown: the pattern as the query wrote it, for messages.
        """
        bits = 0
        for re_bit, regex_bit in _RE_TO_REGEX_FLAGS:
            if compiled.flags & re_bit:
                bits |= regex_bit
        self.pattern = shown
        self._compiled = regex.compile(compiled.pattern, bits)
        self._timed_out = False

    def search(self, value: str) -> Any:
        """Leftmost match anywhere in ``value``, or None.

        Raises:
            MatchTimeout: the match ran past the time limit.
        """
        return self._run(self._compiled.search, value)

    def fullmatch(self, value: str) -> Any:
        """Match of the whole ``value``, or None.

        Raises:
            MatchTimeout: the match ran past the time limit.
        """
        return self._run(self._compiled.fullmatch, value)

    def _run(self, method: Callable[..., Any], value: str) -> Any:
        if self._timed_out:
            raise MatchTimeout(
                f"pattern {self.pattern!r} ran past {MATCH_TIME_LIMIT:g}s on an earlier value "
                "(catastrophic backtracking); its matches are undecided"
            )
        try:
            return method(value, timeout=MATCH_TIME_LIMIT)
        except TimeoutError:
            self._timed_out = True
            raise MatchTimeout(
                f"pattern {self.pattern!r} ran past {MATCH_TIME_LIMIT:g}s on a "
                f"{len(value)}-character value (catastrophic backtracking); the match is undecided"
            ) from None

    def __repr__(self) -> str:
        return f"BoundedPattern({self.pattern!r})"


# --- field lookup ------------------------------------------------------------------------------


def _walk(obj: Any, parts: list[str], out: list[Any]) -> bool:
    """Collect the values at dotted path ``parts`` below ``obj``; return whether any key existed.

    At each level the longest dotted key present wins, so flat (``{"process.name": ..}``), nested
    and mixed (``{"process": {"parent.name": ..}}``) shapes all resolve. Arrays of objects are
    flattened the way Elasticsearch flattens them (``process: [{name: a}, {name: b}]`` gives
    ``process.name: [a, b]``).
    """
    if isinstance(obj, list):
        found = False
        for item in obj:
            found = _walk(item, parts, out) or found
        return found
    if not isinstance(obj, Mapping):
        return False
    for i in range(len(parts), 0, -1):
        key = ".".join(parts[:i])
        if key in obj:
            if i == len(parts):
                out.append(obj[key])
                return True
            if _walk(obj[key], parts[i:], out):
                return True
    return False


def _flatten(value: Any, out: list[Any]) -> None:
    """Append the scalar values of ``value``: lists flattened, nulls and objects dropped."""
    if value is None or isinstance(value, Mapping):
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _flatten(item, out)
        return
    out.append(value)


def lookup(event: Mapping[str, Any], field: str) -> list[Any] | None:
    """Return the scalar values of ``field`` in ``event``, or None when the field is missing.

    A dotted flat key is tried first, then nested objects. A scalar becomes a one-element list;
    JSON nulls (also inside lists) are dropped and an all-null or empty list counts as missing,
    as Elasticsearch indexes no value for them. Field names are case-sensitive.
    """
    raw: list[Any] = []
    if field in event:
        raw.append(event[field])
    else:
        _walk(event, field.split("."), raw)
    values: list[Any] = []
    for item in raw:
        _flatten(item, values)
    return values or None


# --- scalar helpers ----------------------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def to_number(value: Any) -> int | float | None:
    """Coerce an event value to a number, or None when it is not numeric.

    Numeric strings count (``"4688"``): Windows events often carry numbers as strings and
    Elasticsearch coerces numeric strings on numeric fields (mapping parameter ``coerce``, on by
    default: https://www.elastic.co/guide/en/elasticsearch/reference/current/coerce.html).
    Booleans are not numbers.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return None if isinstance(value, float) and math.isnan(value) else value
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        number = float(value)
        if number.is_integer() and re.fullmatch(r"[+-]?\d+", value):
            return int(value)
        return number
    return None


def scalar_text(value: Any) -> str:
    """Render an event scalar as the text a keyword field would index.

    Booleans become ``true``/``false`` (their JSON spelling, which is what a keyword field stores
    for a JSON boolean); numbers use Python's ``str``.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- glob --------------------------------------------------------------------------------------


def _glob_source(parts: tuple[GlobPart, ...]) -> str:
    out = []
    for part in parts:
        if part is Wildcard.ANY:
            out.append(".*")
        elif part is Wildcard.ONE:
            out.append(".")
        else:
            out.append(re.escape(part))
    return "".join(out)


@functools.lru_cache(maxsize=4096)
def glob_to_regex(parts: tuple[GlobPart, ...], case_sensitive: bool = True) -> BoundedPattern:
    """Compile a glob (literal strings and ``Wildcard`` markers) to a whole-value regex.

    ``*`` matches any run of characters including newlines, ``?`` exactly one character. Literal
    parts are escaped. With ``case_sensitive=False`` the pattern uses Unicode ``IGNORECASE``;
    the evaluator instead lowercases both sides and passes ``True`` so every case-insensitive
    operator folds case the same way (``str.lower``).
    """
    flags = re.DOTALL | (0 if case_sensitive else re.IGNORECASE)
    # Bounded: a glob with many '*' backtracks polynomially ('*a*a*a*a*a*a*a*b').
    return BoundedPattern(re.compile(_glob_source(parts), flags), glob_text(parts))


@functools.lru_cache(maxsize=1024)
def globs_to_regex(globs: tuple[tuple[GlobPart, ...], ...]) -> BoundedPattern:
    """One whole-value regex matching a value when ANY of the globs matches it (case-sensitive;
    callers fold case themselves). A rule's list of 100 patterns on one field becomes one scan."""
    source = "|".join(f"(?:{_glob_source(parts)})" for parts in globs)
    shown = " or ".join(glob_text(parts) for parts in globs)
    return BoundedPattern(re.compile(source, re.DOTALL), shown)


@functools.lru_cache(maxsize=4096)
def glob_predicate(parts: tuple[GlobPart, ...]) -> Callable[[str], bool]:
    """A case-sensitive whole-value test for one glob; plain string operations for the shapes
    Sigma's modifiers produce (``x``, ``x*``, ``*x``, ``*x*``), the bounded regex otherwise."""
    shape = tuple(isinstance(p, str) for p in parts)
    if shape == ():
        return lambda v: v == ""
    if shape == (True,):
        literal = parts[0]
        return lambda v: v == literal
    if shape == (True, False) and parts[1] is Wildcard.ANY:
        prefix = parts[0]
        return lambda v: v.startswith(prefix)
    if shape == (False, True) and parts[0] is Wildcard.ANY:
        suffix = parts[1]
        return lambda v: v.endswith(suffix)
    if shape == (False, True, False) and parts[0] is Wildcard.ANY and parts[2] is Wildcard.ANY:
        inner = parts[1]
        return lambda v: inner in v
    if shape == (False,) and parts[0] is Wildcard.ANY:
        return lambda v: True
    fullmatch = glob_to_regex(parts, True).fullmatch
    return lambda v: fullmatch(v) is not None


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


def _lucene_char(ch: str, case_sensitive: bool) -> str:
    """A literal character; case-insensitive matching folds ASCII letters only (Lucene's
    ASCII_CASE_INSENSITIVE, RegExp.toCaseInsensitiveChar)."""
    if not case_sensitive and ch.isascii() and ch.lower() != ch.upper():
        return f"[{ch.lower()}{ch.upper()}]"
    return re.escape(ch)


def _lucene_class(node: tuple, case_sensitive: bool) -> str:
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
            ch = item[1]
            folded = {ch, ch.lower(), ch.upper()} if not case_sensitive and ch.isascii() else {ch}
            members.extend(re.escape(c) for c in sorted(folded))
    alts = ([f"[{''.join(members)}]"] if members else []) + [f"[^{p}]" for p in negated_pre]
    if not negate and len(alts) == 1:
        return alts[0]
    if negate and not negated_pre:
        return f"[^{''.join(members)}]"
    either = "(?:" + "|".join(alts) + ")"
    return f"(?!{either})." if negate else either


def _emit_lucene(node: tuple, case_sensitive: bool, top: bool) -> str:
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


@functools.lru_cache(maxsize=2048)
def lucene_regex(pattern: str, case_sensitive: bool = True) -> BoundedPattern:
    """Compile a Lucene RegExp to a Python regex meant for ``fullmatch`` (whole-value match).

    Args:
        pattern: the pattern as Lucene receives it (query-language escaping already removed).
        case_sensitive: False models ``case_insensitive: true`` / EQL ``regex~``: ASCII letters
            in literal characters and strings fold, ranges do not.

    Raises:
        PatternSyntaxError: Lucene would reject the pattern.
        UnsupportedQueryError: ``&`` or ``~`` nested inside a concatenation or repetition.
    """
    tree = _LuceneParser(pattern).parse()
    # Lucene runs regexps as automata (linear); the Python translation backtracks, so bound it.
    return BoundedPattern(re.compile(_emit_lucene(tree, case_sensitive, True), re.DOTALL), pattern)


# --- PCRE --------------------------------------------------------------------------------------

# PCRE escapes with no Python equivalent of the same meaning (\v and \h are classes in PCRE).
_PCRE_UNSUPPORTED_ESCAPES = set("hHvVKRXpPCGgcoNu")
_FLAG_BITS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


def _pcre_escape(pattern: str, i: int, in_class: bool) -> tuple[str, int]:
    """Translate the escape starting at ``pattern[i] == '\\'``; return (python text, next index)."""
    if i + 1 >= len(pattern):
        raise PatternSyntaxError("trailing backslash", pattern, i)
    ch = pattern[i + 1]
    if ch == "Q":  # \Q...\E quotes a literal run
        end = pattern.find("\\E", i + 2)
        end = len(pattern) if end < 0 else end
        text = pattern[i + 2 : end]
        quoted = "".join("\\" + c if not c.isalnum() else c for c in text) if in_class else (
            re.escape(text)
        )
        return quoted, min(len(pattern), end + 2)
    if ch == "E":  # a stray \E is ignored by PCRE
        return "", i + 2
    if ch == "z":
        return r"\Z", i + 2
    if ch == "Z":  # PCRE \Z: end of subject or before a final newline
        return r"(?=\n?\Z)", i + 2
    if ch == "e":
        return r"\x1b", i + 2
    if ch == "x" and i + 2 < len(pattern) and pattern[i + 2] == "{":
        end = pattern.find("}", i + 3)
        if end < 0:
            raise PatternSyntaxError("unterminated \\x{...}", pattern, i)
        try:
            return re.escape(chr(int(pattern[i + 3 : end], 16))), end + 1
        except ValueError as exc:
            raise PatternSyntaxError("bad \\x{...} escape", pattern, i) from exc
    if ch == "k" and not in_class and i + 2 < len(pattern) and pattern[i + 2] in "<{'":
        close = {"<": ">", "{": "}", "'": "'"}[pattern[i + 2]]
        end = pattern.find(close, i + 3)
        if end < 0:
            raise PatternSyntaxError("unterminated named back-reference", pattern, i)
        return f"(?P={pattern[i + 3 : end]})", end + 1
    if ch in _PCRE_UNSUPPORTED_ESCAPES:
        raise UnsupportedQueryError(f"PCRE escape \\{ch} has no exact Python equivalent")
    return pattern[i : i + 2], i + 2


def _translate_pcre(pattern: str) -> tuple[str, int]:
    """Translate a PCRE pattern to Python syntax; return (python pattern, leading inline flags)."""
    out: list[str] = []
    flags = 0
    i = 0
    n = len(pattern)
    leading = True  # still at the start, where global inline flags are allowed
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            text, i = _pcre_escape(pattern, i, in_class=False)
            out.append(text)
        elif ch == "[":
            i = _copy_pcre_class(pattern, i, out)
        elif ch == "(" and pattern.startswith("(*", i):
            raise UnsupportedQueryError("PCRE verbs such as (*UCP) are not supported")
        elif ch == "(" and pattern.startswith("(?", i):
            m = re.match(r"\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?([):])", pattern[i:])
            if m and m.group(3) == ")" and not m.group(2):
                if not leading:
                    raise UnsupportedQueryError(
                        "PCRE inline flags in the middle of a pattern (Python allows them only at "
                        "the start)"
                    )
                for letter in m.group(1):
                    if letter not in _FLAG_BITS:
                        raise UnsupportedQueryError(f"PCRE inline flag {letter!r}")
                    flags |= _FLAG_BITS[letter]
                i += m.end()
                continue
            if m and m.group(3) == ":":
                letters = (m.group(1) or "") + (m.group(2) or "")
                if any(letter not in "imsx" for letter in letters):
                    raise UnsupportedQueryError(f"PCRE scoped flags {m.group(0)!r}")
                out.append(m.group(0))
                i += m.end()
            else:
                text, i = _pcre_group_opening(pattern, i)
                out.append(text)
        elif ch in "*+?}" and i + 1 < n and pattern[i + 1] == "+" and _is_quantifier(pattern, i):
            raise UnsupportedQueryError("PCRE possessive quantifiers (e.g. a++)")
        else:
            out.append(ch)
            i += 1
        leading = False
    return "".join(out), flags


def _is_quantifier(pattern: str, i: int) -> bool:
    """Whether ``pattern[i]`` (one of ``*+?}``) ends a quantifier rather than being a literal."""
    if pattern[i] == "}":
        start = pattern.rfind("{", 0, i)
        return start >= 0 and re.fullmatch(r"\d+(?:,\d*)?", pattern[start + 1 : i]) is not None
    return i > 0 and pattern[i - 1] not in "(|"


def _pcre_group_opening(pattern: str, i: int) -> tuple[str, int]:
    """Translate a ``(?`` group opening other than flag groups."""
    rest = pattern[i + 2 :]
    for ok in (":", "=", "!", "<=", "<!", "#", "P<", "P="):
        if rest.startswith(ok):
            return "(?" + ok, i + 2 + len(ok)
    m = re.match(r"<([A-Za-z_]\w*)>|'([A-Za-z_]\w*)'", rest)
    if m:
        return f"(?P<{m.group(1) or m.group(2)}>", i + 2 + m.end()
    construct = rest[:1] or "end of pattern"
    names = {">": "atomic group (?>...)", "|": "branch reset (?|...)", "(": "conditional (?(...)"}
    raise UnsupportedQueryError(f"PCRE {names.get(construct, '(?' + construct + ' construct')}")


def _copy_pcre_class(pattern: str, i: int, out: list[str]) -> int:
    """Copy a character class starting at ``pattern[i] == '['``; return the index after it."""
    j = i + 1
    buf = ["["]
    if j < len(pattern) and pattern[j] == "^":
        buf.append("^")
        j += 1
    first = True
    while j < len(pattern):
        ch = pattern[j]
        if ch == "]" and not first:
            buf.append("]")
            out.append("".join(buf))
            return j + 1
        if ch == "[" and pattern.startswith(("[:", "[=", "[."), j):
            raise UnsupportedQueryError("POSIX bracket expressions such as [[:alpha:]]")
        if ch == "\\":
            text, j = _pcre_escape(pattern, j, in_class=True)
            buf.append(text)
        elif ch in "[&~|" or (ch == "]" and first):
            # Python warns about possible future set operations on these; escaping keeps the
            # literal meaning PCRE gives them inside a class.
            buf.append("\\" + ch)
            j += 1
        else:
            buf.append(ch)
            j += 1
        first = False
    raise PatternSyntaxError("missing ] at end of character class", pattern, i)


@functools.lru_cache(maxsize=2048)
def pcre_regex(
    pattern: str, flags: str = "", case_sensitive: bool = True, anchored: bool = False
) -> BoundedPattern:
    """Compile a PCRE pattern (the subset Sigma and Splunk use) to a Python regex.

    Args:
        pattern: the PCRE pattern text.
        flags: PCRE flag letters (subset of ``"imsx"``).
        case_sensitive: False adds IGNORECASE.
        anchored: recorded for the caller, which uses ``fullmatch`` when True and ``search``
            otherwise; the compiled pattern is the same.

    Named groups ``(?<n>..)``/``(?'n'..)`` become ``(?P<n>..)``, ``\\z``/``\\Z``/``\\Q..\\E``/
    ``\\x{..}``/``\\e`` are rewritten. Compiled with ``re.ASCII`` because PCRE without the UCP
    option gives ``\\d \\w \\s \\b`` and caseless matching their ASCII meanings
    (https://www.pcre.org/current/doc/html/pcre2pattern.html, "Generic character types").

    Raises:
        UnsupportedQueryError: possessive quantifiers, atomic groups, verbs, conditionals, branch
            reset, mid-pattern inline flags, ``\\h \\v \\R \\K \\p`` and similar.
        PatternSyntaxError: the pattern does not compile.
    """
    del anchored  # the caller chooses search or fullmatch
    text, inline = _translate_pcre(pattern)
    bits = inline | re.ASCII
    for letter in flags:
        if letter not in _FLAG_BITS:
            raise UnsupportedQueryError(f"regex flag {letter!r}")
        bits |= _FLAG_BITS[letter]
    if not case_sensitive:
        bits |= re.IGNORECASE
    try:
        compiled = re.compile(text, bits)
    except re.error as exc:
        raise PatternSyntaxError(f"invalid regular expression: {exc.msg}", pattern, exc.pos or 0)
    # Bounded: Python's backtracking must not hang the check on a pathological pattern.
    return BoundedPattern(compiled, pattern)


# --- CIDR --------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def parse_network(network: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """Parse a CIDR network (host bits allowed, as Elasticsearch allows them)."""
    try:
        return ipaddress.ip_network(network.strip(), strict=False)
    except ValueError as exc:
        raise PatternSyntaxError(f"invalid CIDR network: {exc}", network) from exc


def cidr_match(value: Any, network: str) -> bool:
    """True when ``value`` is an IP address inside ``network``; non-IP values are False.

    IPv4 and IPv4-mapped IPv6 (``::ffff:10.0.0.1``) are the same address, as in an Elasticsearch
    ``ip`` field, which stores every address as IPv6
    (https://www.elastic.co/guide/en/elasticsearch/reference/current/ip.html).
    """
    net = parse_network(network)
    if not isinstance(value, str):
        return False
    try:
        addr = ipaddress.ip_address(value.strip())
    except ValueError:
        return False
    if addr.version != net.version:
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        elif isinstance(addr, ipaddress.IPv4Address):
            addr = ipaddress.IPv6Address("::ffff:" + str(addr))
        else:
            return False
    return addr in net


# --- standard analyzer -------------------------------------------------------------------------

# UAX#29 word-break classes (https://unicode.org/reports/tr29/#Word_Boundaries): characters that
# do not break between two letters (MidLetter, MidNumLet, Single_Quote) and between two digits
# (MidNum, MidNumLet, Single_Quote). Only the ASCII and common typographic members are listed.
_MID_LETTER = set(":.'\u00b7\u2018\u2019\u2024\u2027\ufe13\ufe52\ufe55\uff07\uff0e\uff1a")
_MID_NUM = set(",;.'\u037e\u2018\u2019\u2024\ufe50\ufe52\ufe54\uff07\uff0c\uff0e\uff1b")
_MAX_TOKEN_LENGTH = 255  # standard tokenizer default max_token_length


def _kind(ch: str) -> str:
    """Classify one character for the tokenizer: L(etter), D(igit), I(deograph), E(xtend), other."""
    if ch == "_":  # ExtendNumLet joins letters and digits (WB13a/b)
        return "X"
    if ch.isdecimal():
        return "D"
    cat = unicodedata.category(ch)
    if cat in ("Mn", "Mc", "Me"):
        return "E"
    if ch.isalpha() or ch.isnumeric():
        name = unicodedata.name(ch, "")
        if name.startswith(("CJK UNIFIED", "CJK COMPATIBILITY IDEOGRAPH", "HIRAGANA")):
            return "I"
        return "L"
    return "O"


def analyze(text: str) -> list[str]:
    """Tokenize and lowercase ``text`` like Elasticsearch's ``standard`` analyzer (approximation).

    The standard tokenizer follows the Unicode Text Segmentation word-break rules (UAX#29): see
    https://www.elastic.co/guide/en/elasticsearch/reference/current/analysis-standard-tokenizer.html
    and Lucene's ``StandardTokenizer`` javadoc (package org.apache.lucene.analysis.standard).
    Implemented here: letters and digits form words; ``_`` joins (WB13); ``.``, ``'`` and ``:``
    between two letters do not break (WB6/7: ``cmd.exe`` and ``o'neil`` are one token); ``.``,
    ``,``, ``;`` and ``'`` between two digits do not break (WB11/12: ``10.0.0.1``); every other
    character breaks and is dropped. Ideographs and Hiragana become one-character tokens; tokens
    over 255 characters are split. Not implemented: Katakana/Hebrew special rules, emoji and
    ZWJ sequences, Format characters. The ``lowercase`` filter is approximated with ``str.lower``.
    """
    tokens: list[str] = []
    current: list[str] = []
    kinds = [_kind(c) for c in text]

    def flush() -> None:
        if current and any(k in "LDI" for k in map(_kind, current)):
            word = "".join(current).lower()
            tokens.extend(
                word[i : i + _MAX_TOKEN_LENGTH] for i in range(0, len(word), _MAX_TOKEN_LENGTH)
            )
        current.clear()

    for i, ch in enumerate(text):
        kind = kinds[i]
        if kind == "I":
            flush()
            tokens.append(ch.lower())
        elif kind in "LDX" or (kind == "E" and current):
            current.append(ch)
        elif current and 0 < i < len(text) - 1:
            before, after = kinds[i - 1], kinds[i + 1]
            if (before == after == "L" and ch in _MID_LETTER) or (
                before == after == "D" and ch in _MID_NUM
            ):
                current.append(ch)
            else:
                flush()
        else:
            flush()
    flush()
    return tokens


def iter_strings(value: Any) -> Iterable[str]:
    """Yield every scalar inside ``value`` (recursing into objects and lists) as text.

    Strings and numbers are yielded (numbers via ``str``, as a free-text search over numeric
    fields compares their text); nulls and booleans are skipped.
    """
    if isinstance(value, Mapping):
        for item in value.values():
            yield from iter_strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from iter_strings(item)
    elif isinstance(value, str):
        yield value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield str(value)

