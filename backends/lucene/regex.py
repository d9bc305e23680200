"""Translate Sigma's PCRE-subset regexes and globs into Lucene RegExp syntax, exactly or not at all.

Sigma ``re`` values are PCRE-flavoured, *unanchored* (search semantics) and case-sensitive unless
``|i``; Lucene RegExp (query_string ``/re/``, Query DSL ``regexp``, EQL ``regex``) is anchored to
the whole value, has no ``^``/``$``, no shorthand guarantees, and reserves extra operator characters
(``# @ & < > ~``;
https://www.elastic.co/guide/en/elasticsearch/reference/current/regexp-syntax.html).

Anything without an exact Lucene equivalent (look-around, back-references, lazy quantifiers,
inline flags, anchors in the middle, ``^``/``$`` under ``|m``) raises
``SigmaFeatureNotSupportedByBackendError`` with the reason: an approximate regex would make the
equivalence proof lie.

Case folding uses per-letter classes (``[cC]``). Only letters whose lower and upper case forms are
single characters mapping back to each other are folded; others (``ß``, ``İ``, ``ı``, ``ſ``, the
Kelvin sign) raise, because no 1:1 class describes them.
"""

from __future__ import annotations

import re
from typing import Iterable, Union

from sigma.exceptions import SigmaFeatureNotSupportedByBackendError

#: Characters Lucene RegExp reserves: the standard operators plus the optional ones, which ES'
#: query_string enables (it parses with RegExp.ALL). ``/`` is not here: it only matters to the
#: query_string tokenizer, and the Lucene emitter escapes it when embedding.
LUCENE_RESERVED = frozenset('.?+*|{}[]()"\\#@&<>~')

#: PCRE ``\s`` (PCRE2: space, \t, \n, \v, \f, \r) as literal characters for a Lucene class.
_SPACE_CHARS = " \t\n\x0b\x0c\r"
_DIGITS = [("0", "9")]
_WORD = [("a", "z"), ("A", "Z"), ("0", "9"), ("_", "_")]
_SPACE = [(c, c) for c in _SPACE_CHARS]
_SIMPLE_ESCAPES = {
    "t": "\t", "n": "\n", "r": "\r", "f": "\x0c", "v": "\x0b", "a": "\x07", "e": "\x1b"
}

_QUANT_RE = re.compile(r"\{(\d+)(,(\d*))?\}")

GlobPiece = Union[str, "GlobWildcard"]


class GlobWildcard:
    """Marker for a live glob wildcard passed to ``glob_to_lucene`` (``*`` or ``?``)."""

    def __init__(self, char: str) -> None:
        if char not in ("*", "?"):
            raise ValueError(f"not a wildcard: {char!r}")
        self.char = char


def _unsupported(pattern: str, reason: str) -> SigmaFeatureNotSupportedByBackendError:
    return SigmaFeatureNotSupportedByBackendError(
        f"regular expression {pattern!r} cannot be translated to Lucene RegExp exactly: {reason}"
    )


def case_variants(char: str) -> str:
    """Return the characters a case-insensitive match of ``char`` accepts (lower case first).

    Raises:
        ValueError: the character's case mapping is not 1:1 (``ß`` -> ``SS``, ``İ``, ``ı`` ...).
    """
    lower, upper = char.lower(), char.upper()
    if lower == upper == char:
        return char
    if len(lower) != 1 or len(upper) != 1 or lower.upper() != upper or upper.lower() != lower:
        raise ValueError(f"character {char!r} has no one-to-one case mapping")
    # Lower case first ([cC]); a title-case letter (U+01C5) keeps itself as a third member.
    return "".join(dict.fromkeys((lower, upper, char)))


def has_case(text: str) -> bool:
    """True when some character of ``text`` has a distinct other-case form."""
    return any(c.lower() != c or c.upper() != c for c in text)


def escape_literal(char: str) -> str:
    """Escape one literal character for Lucene RegExp."""
    return "\\" + char if char in LUCENE_RESERVED else char


def literal_to_lucene(char: str, case_insensitive: bool) -> str:
    """A literal character as Lucene RegExp, folded to a ``[xX]`` class when requested."""
    if case_insensitive:
        variants = case_variants(char)
        if len(variants) > 1:
            return "[" + variants + "]"
    return escape_literal(char)


def glob_to_lucene(parts: Iterable[GlobPiece], case_insensitive: bool) -> str:
    """Translate a whole-value glob (literal strings and ``GlobWildcard``) to an anchored regex.

    Raises:
        SigmaFeatureNotSupportedByBackendError: a letter without a one-to-one case mapping.
    """
    out = []
    for part in parts:
        if isinstance(part, GlobWildcard):
            out.append(".*" if part.char == "*" else ".")
            continue
        for char in part:
            try:
                out.append(literal_to_lucene(char, case_insensitive))
            except ValueError as exc:
                raise SigmaFeatureNotSupportedByBackendError(
                    f"case-insensitive match of {part!r} cannot use letter classes: {exc}"
                ) from exc
    return "".join(out)


def _class_item(char: str) -> str:
    # Inside a Lucene class only ] \ - ^ and the class opener are special; escaping every reserved
    # character as well is harmless because '\x' is always the literal x.
    return "\\" + char if char in LUCENE_RESERVED or char in "-^]" else char


def _render_class(ranges: list[tuple[str, str]], negated: bool) -> str:
    items = []
    for lo, hi in ranges:
        items.append(_class_item(lo) if lo == hi else _class_item(lo) + "-" + _class_item(hi))
    return "[" + ("^" if negated else "") + "".join(items) + "]"


def _fold_ranges(ranges: list[tuple[str, str]], pattern: str) -> list[tuple[str, str]]:
    """Add the other-case forms of every letter in ``ranges`` (for ``|i`` classes)."""
    extra: list[tuple[str, str]] = []
    for lo, hi in ranges:
        if ord(hi) - ord(lo) > 0x3000:
            raise _unsupported(pattern, "case-insensitive class range too wide to fold")
        for code in range(ord(lo), ord(hi) + 1):
            try:
                variants = case_variants(chr(code))
            except ValueError as exc:
                raise _unsupported(pattern, str(exc)) from exc
            extra.extend((v, v) for v in variants if v != chr(code))
    return ranges + extra


class _Translator:
    """One-pass recursive-descent translator over the PCRE subset Sigma allows."""

    def __init__(self, pattern: str, case_insensitive: bool, multiline: bool, dotall: bool):
        self.p = pattern
        self.i = 0
        self.ci = case_insensitive
        self.multiline = multiline
        self.dotall = dotall

    def peek(self, offset: int = 0) -> str:
        j = self.i + offset
        return self.p[j] if j < len(self.p) else ""

    def fail(self, reason: str) -> SigmaFeatureNotSupportedByBackendError:
        return _unsupported(self.p, f"{reason} (at offset {self.i})")

    # --- top level: alternatives carry their own anchors -----------------------------------
    def translate(self) -> str:
        branches = [self.branch(top=True)]
        while self.peek() == "|":
            self.i += 1
            branches.append(self.branch(top=True))
        if self.i < len(self.p):
            raise self.fail(f"unbalanced {self.peek()!r}")
        return "|".join(branches)

    def branch(self, top: bool) -> str:
        start_anchor = end_anchor = False
        if top and self.peek() == "^":
            start_anchor = True
            self.i += 1
        atoms: list[str] = []
        while self.i < len(self.p) and self.peek() not in "|)":
            if top and self.peek() == "$" and self._at_branch_end(self.i + 1):
                end_anchor = True
                self.i += 1
                break
            atoms.append(self.quantified())
        body = "".join(atoms)
        if not top:
            return body
        if (start_anchor or end_anchor) and self.multiline:
            raise self.fail("'^'/'$' with the multi-line flag match at line breaks")
        prefix = "" if start_anchor else ".*"
        # PCRE '$' (no multi-line) also matches just before a final newline.
        suffix = "(\n)?" if end_anchor else ".*"
        return prefix + body + suffix

    def _at_branch_end(self, j: int) -> bool:
        return j >= len(self.p) or self.p[j] == "|"

    # --- atoms and quantifiers -------------------------------------------------------------
    def quantified(self) -> str:
        atom = self.atom()
        char = self.peek()
        quant = ""
        if char in ("*", "+", "?"):
            quant = char
            self.i += 1
        elif char == "{":
            match = _QUANT_RE.match(self.p, self.i)
            if match:
                quant = match.group(0)
                self.i = match.end()
        if quant:
            if not atom:
                raise self.fail("quantifier without an operand")
            if self.peek() == "?":
                raise self.fail("lazy quantifiers have no Lucene equivalent")
            if self.peek() == "+":
                raise self.fail("possessive quantifiers have no Lucene equivalent")
            if self.peek() == "*" or _QUANT_RE.match(self.p, self.i):
                raise self.fail("stacked quantifiers")
        return atom + quant

    def atom(self) -> str:
        char = self.peek()
        if char == "(":
            return self.group()
        if char == "[":
            return self.char_class()
        if char == "\\":
            return self.escape()
        if char in ("^", "$"):
            raise self.fail(f"anchor {char!r} inside the pattern")
        if char in ("*", "+", "?"):
            raise self.fail("quantifier without an operand")
        self.i += 1
        if char == ".":
            # PCRE '.' excludes '\n' unless dot-all; Lucene '.' matches any character.
            return "." if self.dotall else "[^\n]"
        if char == "{" and _QUANT_RE.match(self.p, self.i - 1):
            raise self.fail("quantifier without an operand")
        return self.literal(char)

    def literal(self, char: str) -> str:
        try:
            return literal_to_lucene(char, self.ci)
        except ValueError as exc:
            raise self.fail(str(exc)) from exc

    def group(self) -> str:
        self.i += 1  # '('
        if self.peek() == "?":
            rest = self.p[self.i + 1 : self.i + 3]
            if rest.startswith(":"):
                self.i += 2
            elif rest.startswith("P<") or (rest.startswith("<") and rest[1:2] not in ("=", "!")):
                close = self.p.find(">", self.i)
                if close < 0:
                    raise self.fail("unterminated group name")
                self.i = close + 1
            elif rest[:1] in ("=", "!") or rest in ("<=", "<!"):
                raise self.fail("look-around assertions have no Lucene equivalent")
            else:
                raise self.fail("inline flags and special groups are not supported")
        inner = [self.branch(top=False)]
        while self.peek() == "|":
            self.i += 1
            inner.append(self.branch(top=False))
        if self.peek() != ")":
            raise self.fail("missing ')'")
        self.i += 1
        return "(" + "|".join(inner) + ")"

    def escape(self) -> str:
        self.i += 1
        char = self.peek()
        if not char:
            raise self.fail("trailing backslash")
        self.i += 1
        if char in "dws":
            ranges = {"d": _DIGITS, "w": _WORD, "s": _SPACE}[char]
            return _render_class(list(ranges), False)
        if char in "DWS":
            ranges = {"D": _DIGITS, "W": _WORD, "S": _SPACE}[char]
            return _render_class(list(ranges), True)
        if char in _SIMPLE_ESCAPES:
            return self.literal(_SIMPLE_ESCAPES[char])
        if char == "x":
            return self.literal(self._hex_escape())
        if char.isdigit():
            raise self.fail("back-references and octal escapes have no Lucene equivalent")
        if char.isalnum():
            raise self.fail(f"escape '\\{char}' has no Lucene equivalent")
        return self.literal(char)

    def _hex_escape(self) -> str:
        if self.peek() == "{":
            close = self.p.find("}", self.i)
            digits = self.p[self.i + 1 : close] if close > 0 else ""
            self.i = close + 1
        else:
            digits = self.p[self.i : self.i + 2]
            self.i += 2
        try:
            return chr(int(digits, 16))
        except ValueError as exc:
            raise self.fail("malformed \\x escape") from exc

    def char_class(self) -> str:
        self.i += 1  # '['
        negated = False
        if self.peek() == "^":
            negated = True
            self.i += 1
        ranges: list[tuple[str, str]] = []
        first = True
        while True:
            char = self.peek()
            if not char:
                raise self.fail("unterminated character class")
            if char == "]" and not first:
                self.i += 1
                break
            first = False
            if char == "[" and self.peek(1) == ":":
                raise self.fail("POSIX classes are not supported")
            lo = self.class_char(ranges)
            if lo is None:
                continue
            if self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.i += 1
                hi = self.class_char(ranges)
                if hi is None:
                    raise self.fail("range with a shorthand class")
                if ord(hi) < ord(lo):
                    raise self.fail("reversed class range")
                ranges.append((lo, hi))
            else:
                ranges.append((lo, lo))
        if self.ci:
            ranges = _fold_ranges(ranges, self.p)
        return _render_class(ranges, negated)

    def class_char(self, ranges: list[tuple[str, str]]) -> str | None:
        """Read one class member; shorthand classes are merged into ``ranges`` (returns None)."""
        char = self.peek()
        self.i += 1
        if char != "\\":
            return char
        esc = self.peek()
        self.i += 1
        if esc in "dws":
            ranges.extend({"d": _DIGITS, "w": _WORD, "s": _SPACE}[esc])
            return None
        if esc in "DWSbB" or (esc.isalnum() and esc not in _SIMPLE_ESCAPES and esc != "x"):
            raise self.fail(f"escape '\\{esc}' inside a class has no Lucene equivalent")
        if esc in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[esc]
        if esc == "x":
            return self._hex_escape()
        if not esc:
            raise self.fail("trailing backslash")
        return esc


def pcre_to_lucene(
    pattern: str, case_insensitive: bool = False, multiline: bool = False, dotall: bool = False
) -> str:
    """Translate a Sigma (PCRE-subset, unanchored) regex into an equivalent Lucene RegExp.

    The result is anchored the Lucene way (whole value): unanchored sides get ``.*``. ``/`` is not
    escaped (only the query_string tokenizer needs that; the Lucene emitter adds it).

    Args:
        pattern: the Sigma regex text.
        case_insensitive: Sigma ``|i``; letters become ``[xX]`` classes.
        multiline: Sigma ``|m``; accepted when the pattern has no ``^``/``$`` (then it has no
            effect), rejected otherwise.
        dotall: Sigma ``|s``; ``.`` then matches newlines, as Lucene's ``.`` does.

    Raises:
        SigmaFeatureNotSupportedByBackendError: no exact translation exists.
    """
    return _Translator(pattern, case_insensitive, multiline, dotall).translate()
