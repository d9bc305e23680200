"""Lucene regular expressions (EQL ``regex``/``regex~``) rewritten as equivalent Sigma ``|re`` PCRE.

Lucene's RegExp always matches the whole value, has no anchors, lets ``.`` match any character
(newlines too), and folds case for ``regex~`` ASCII-only. The rewrite keeps each of these exactly:
the PCRE is anchored ``^(?:...)$``, ``.`` is rewritten only under Sigma's ``|s`` flag (the caller
adds it when ``uses_dot`` says so), and case-insensitivity becomes explicit ASCII letter pairs
(``[aA]``), never a Unicode ``|i``; as in sigport's evaluator (``backends.query.matching``,
after Lucene's RegExp), single characters fold and class RANGES do not. Only the core syntax is
accepted (literals, ``\\`` escapes of punctuation, ``.``, classes with ranges and ``^``, groups,
``|``, ``* + ? {n} {n,} {n,m}``, ``"quoted"`` text, and the ASCII shorthands ``\\d \\w \\s``
and their negations, written out as explicit classes); the optional operators
(``~ & @ # <n-m> <name>``), whose availability depends on the query's flags, are refused.
https://www.elastic.co/guide/en/elasticsearch/reference/current/regexp-syntax.html

The one gap that remains is PCRE's ``$``, which also matches before a final newline: a value ending
in a newline can match the Sigma rule and not the Lucene regex (Sigma defines ``$`` by PCRE).
"""

from __future__ import annotations

import re

#: Characters that must be escaped to be literal in a PCRE (outside classes).
_PCRE_SPECIAL = set(".^$*+?()[]{}|\\/")
#: Lucene optional operators: refused rather than guessed (their meaning depends on flags).
_OPTIONAL = set("~&@#<")
#: Lucene's predefined classes (RegExp matchPredefinedCharacterClass): ASCII only, unlike PCRE's
#: Unicode-aware or locale-dependent shorthands, so they are written out.
_SHORTHANDS = {"d": "0-9", "s": " \\t\\n\\r", "w": "a-zA-Z_0-9"}


class LuceneRegexError(ValueError):
    """The Lucene pattern has no exact PCRE rewrite here."""


def _lit(ch: str, cased: bool) -> str:
    """One literal character as PCRE, with an explicit ASCII case pair when case-insensitive."""
    if not cased and ch.isascii() and ch.isalpha():
        return f"[{ch.lower()}{ch.upper()}]"
    return "\\" + ch if ch in _PCRE_SPECIAL else ch


def _class_char(ch: str) -> str:
    return "\\" + ch if ch in "\\]^-[" else ch


class _Rewriter:
    """Recursive descent over Lucene's RegExp grammar, emitting PCRE text as it goes."""

    def __init__(self, pattern: str, cased: bool) -> None:
        self.s = pattern
        self.i = 0
        self.cased = cased
        self.dot = False

    def fail(self, message: str) -> LuceneRegexError:
        return LuceneRegexError(f"{message} at offset {self.i} of {self.s!r}")

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def union(self) -> str:
        items = [self.concat()]
        while self.peek() == "|":
            self.i += 1
            items.append(self.concat())
        return "|".join(items)

    def concat(self) -> str:
        out = []
        while self.peek() and self.peek() not in "|)":
            out.append(self.repeat())
        return "".join(out)

    def repeat(self) -> str:
        atom = self.atom()  # always one PCRE unit: a character, class or (?:group)
        quantified = False
        while self.peek() and self.peek() in "*+?{":
            ch = self.peek()
            if ch == "{":
                match = re.compile(r"\{(\d+)(,(\d*))?\}").match(self.s, self.i)
                if not match:
                    raise self.fail("malformed repeat")
                quant = match.group(0)
                self.i = match.end()
            else:
                quant = ch
                self.i += 1
            # A stacked quantifier (`a**`) is legal Lucene but possessive/invalid PCRE: group it.
            atom = f"(?:{atom}){quant}" if quantified else atom + quant
            quantified = True
        return atom

    def atom(self) -> str:
        ch = self.peek()
        if ch in _OPTIONAL:
            raise self.fail(f"the optional operator {ch!r}")
        if ch == "(":
            self.i += 1
            inner = self.union()
            if self.peek() != ")":
                raise self.fail("unclosed group")
            self.i += 1
            return f"(?:{inner})"
        if ch == "[":
            return self.char_class()
        if ch == ".":
            self.i += 1
            self.dot = True
            return "."
        if ch == '"':
            end = self.s.find('"', self.i + 1)
            if end < 0:
                raise self.fail("unclosed quoted string")
            text = self.s[self.i + 1:end]
            self.i = end + 1
            return "(?:" + "".join(_lit(c, self.cased) for c in text) + ")"
        if ch in "*+?{":
            raise self.fail(f"a repeat {ch!r} with nothing to repeat")
        shorthand = self.shorthand()
        if shorthand is not None:
            return f"[{'^' if shorthand.isupper() else ''}{_SHORTHANDS[shorthand.lower()]}]"
        return _lit(self.char(), self.cased)

    def shorthand(self) -> str | None:
        """Consume ``\\d``/``\\w``/``\\s`` (or a negation) and return its letter, else None."""
        if self.peek() == "\\" and self.i + 1 < len(self.s) and self.s[self.i + 1] in "dDwWsS":
            self.i += 2
            return self.s[self.i - 1]
        return None

    def char(self) -> str:
        ch = self.peek()
        if ch == "\\":
            if self.i + 1 >= len(self.s):
                raise self.fail("a trailing backslash")
            nxt = self.s[self.i + 1]
            if nxt.isalnum():
                raise self.fail(f"the escape \\{nxt}")
            self.i += 2
            return nxt
        self.i += 1
        return ch

    def char_class(self) -> str:
        self.i += 1
        negate = self.peek() == "^"
        if negate:
            self.i += 1
        items: list[str] = []
        while self.peek() != "]":
            if not self.peek():
                raise self.fail("unclosed character class")
            if self.peek() in "[&~":
                raise self.fail(f"{self.peek()!r} inside a character class")
            shorthand = self.shorthand()
            if shorthand is not None:
                if shorthand.isupper():
                    raise self.fail(f"the negated shorthand \\{shorthand} inside a class")
                items.append(_SHORTHANDS[shorthand])
                continue
            low = self.char()
            if self.peek() == "-" and self.i + 1 < len(self.s) and self.s[self.i + 1] != "]":
                self.i += 1
                high = self.char()
                if ord(high) < ord(low):
                    raise self.fail("a reversed range")
                # Ranges are not case-folded under regex~ (Lucene CHAR_RANGE; see module doc).
                items.append(f"{_class_char(low)}-{_class_char(high)}")
            else:
                items.append(_class_char(low))
                if not self.cased and low.isascii() and low.isalpha():
                    items.append(low.swapcase())
        self.i += 1
        if not items:
            raise self.fail("an empty character class")
        return "[" + ("^" if negate else "") + "".join(items) + "]"


def lucene_to_pcre(pattern: str, case_sensitive: bool = True) -> tuple[str, bool]:
    """Rewrite a Lucene regex as an anchored PCRE with the same matches.

    Returns:
        ``(pcre, uses_dot)``: ``uses_dot`` says the pattern has ``.``, which needs Sigma's ``|s``
        flag to match newlines as Lucene's ``.`` does.

    Raises:
        LuceneRegexError: for syntax outside the exactly-rewritable core (see the module doc).
    """
    rewriter = _Rewriter(pattern, case_sensitive)
    body = rewriter.union()
    if rewriter.i != len(pattern):
        raise rewriter.fail("an unbalanced ')'")
    return f"^(?:{body})$", rewriter.dot
