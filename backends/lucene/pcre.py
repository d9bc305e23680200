"""The PCRE-subset parser behind ``pcre_to_lucene``: Sigma regex text in, Lucene RegExp text out.

Sigma ``re`` values are matched the way sigport's reference evaluator runs them (Python's regex
package, ``search``: unanchored, case-sensitive unless ``|i``/``(?i)``). Lucene RegExp matches
whole values and has no flags, assertions or lazy quantifiers, so the translator

* wraps each top-level alternative in ``.*`` on the sides it is not anchored, turning ``$`` into
  ``(\\n)?`` (it also matches before a final newline) and ``\\Z``/``\\A`` into nothing;
* makes lazy quantifiers greedy (the set of values with a match is the same);
* turns every class (``[...]``, ``.``, ``\\d``, ``\\W`` ...) into an explicit code-point set,
  folded when case-insensitive, and writes it as a Lucene class;
* writes case-insensitive letters as classes (``[kK\\u212a]``), or, in *engine folding* mode (for
  EQL ``regex~``, which folds ASCII letters itself), leaves the letters whose variants every
  Elasticsearch version folds identically bare.

Whatever has no exact Lucene spelling raises ``SigmaFeatureNotSupportedByBackendError`` naming the
construct: an approximate regex would make the equivalence proof lie. Each fact used here is an
entry of ``SEMANTICS`` (``regex_*`` and ``sigma_regex_*``). Which letters and classes have case
variants, and which of them every Elasticsearch ``regex~`` folds alike, is in ``pcre_case.py``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from sigma.exceptions import SigmaFeatureNotSupportedByBackendError

from .charset import (
    DIGIT,
    NEWLINE,
    SPACE,
    WORD,
    CharSet,
    FoldError,
    escape_char,
    literal_variants,
    variant_class,
)
from .pcre_case import ENGINE_SAFE, case_variants, engine_stable, has_case, non_ascii_cased
from .semantics import SEMANTICS

#: Python's brace quantifiers (``sigma_regex_quantifier_braces``): ``{m}``, ``{m,}``, ``{m,n}``,
#: ``{,n}``, ``{,}``; a brace that does not match (``{}``, ``{1, 2}``) is a literal.
_BRACES = re.compile(r"\{(\d*)(,(\d*))?\}")
_LEADING_FLAGS = re.compile(r"\(\?([a-zA-Z]+)\)")
_SCOPED_FLAGS = re.compile(r"\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?:")
_SIMPLE_ESCAPES = {"a": "\x07", "f": "\x0c", "n": "\n", "r": "\r", "t": "\t", "v": "\x0b"}
_SHORTHAND = {"d": DIGIT, "w": WORD, "s": SPACE}


class EngineFoldingUnusable(Exception):
    """Engine folding mode cannot express the pattern; use the explicit translation."""


@dataclass(frozen=True)
class Flags:
    """Match flags in force at one point of the pattern."""

    ci: bool = False
    dotall: bool = False
    multiline: bool = False
    ascii: bool = False


def unsupported(pattern: str, reason: str) -> SigmaFeatureNotSupportedByBackendError:
    """The error for a regex without an exact Lucene translation."""
    return SigmaFeatureNotSupportedByBackendError(
        f"regular expression {pattern!r} cannot be translated to Lucene RegExp exactly: {reason}"
    )


def _with_flags(flags: Flags, on: str, off: str) -> Flags:
    names = SEMANTICS.get("sigma_regex_inline_flags")
    assert isinstance(names, dict)
    changes: dict[str, bool] = {}
    for letters, value in ((on, True), (off, False)):
        for letter in letters:
            name = names.get(letter)
            if name is None:
                raise ValueError(f"inline flag {letter!r} is not supported")
            if name == "unicode":
                continue  # str patterns are Unicode already
            if name == "ascii" and not value:
                raise ValueError("the ASCII flag cannot be turned off")
            key = "ci" if name == "ignorecase" else name
            changes[key] = value
    return replace(flags, **changes)


def _group_name_end(pattern: str, start: int, close: str) -> int:
    end = pattern.find(close, start)
    if end < 0:
        raise ValueError("unterminated group name")
    return end + 1


class Translator:
    """One pass of recursive descent over the pattern; ``translate()`` returns Lucene text.

    Attributes:
        folded: some case-insensitive letter or class was widened to its case variants.
        sensitive_letters: some letter (or class with letters) is matched case-sensitively, so a
            lower-cased copy of the value would not match the same way.
    """

    def __init__(self, pattern: str, flags: Flags, engine_folding: bool = False,
                 swap: Mapping[str, str] | None = None) -> None:
        self.p = pattern
        self.i = 0
        self.flags = flags
        self.engine = engine_folding
        # A cased copy's character swap (both ways): every character the pattern matches is
        # written as its image, so the result matches the swapped value exactly where the
        # pattern matches the value (a bijection maps matches to matches).
        self.swap: Mapping[str, str] = swap or {}
        self.folded = False
        self.sensitive_letters = False

    def peek(self, offset: int = 0) -> str:
        j = self.i + offset
        return self.p[j] if j < len(self.p) else ""

    def fail(self, reason: str) -> SigmaFeatureNotSupportedByBackendError:
        return unsupported(self.p, f"{reason} (at offset {self.i})")

    # --- top level: flags, then alternatives that carry their own anchors ------------------
    def translate(self) -> str:
        # Global flags are only valid before anything else (Python 3.11+ rejects them later).
        while match := _LEADING_FLAGS.match(self.p, self.i):
            try:
                self.flags = _with_flags(self.flags, match.group(1), "")
            except ValueError as exc:
                raise self.fail(str(exc)) from None
            self.i = match.end()
        branches = [self.branch(top=True)]
        while self.peek() == "|":
            self.i += 1
            branches.append(self.branch(top=True))
        if self.i < len(self.p):
            raise self.fail(f"unbalanced {self.peek()!r}")
        if len(branches) > 1:
            branches = [branch or "()" for branch in branches]  # 'regex_empty_string'
        return "|".join(branches)

    def branch(self, top: bool) -> str:
        start = end = ""
        if top and (self.peek() == "^" or self.p.startswith("\\A", self.i)):
            start = self.peek()
            self.i += 1 if start == "^" else 2
        atoms: list[str] = []
        while self.i < len(self.p) and self.peek() not in "|)":
            if top and self.peek() == "$" and self._at_branch_end(self.i + 1):
                end, self.i = "$", self.i + 1
                break
            if top and self.p.startswith("\\Z", self.i) and self._at_branch_end(self.i + 2):
                end, self.i = "Z", self.i + 2
                break
            atoms.append(self.quantified())
        body = "".join(atoms)
        if not top:
            return body
        if (start == "^" or end == "$") and self.flags.multiline:
            raise self.fail("'^'/'$' with the multi-line flag match at line breaks")
        prefix = "" if start else ".*"
        # 'sigma_regex_dollar': '$' also matches just before a final newline, '\Z' does not.
        newline = escape_char(self.swap.get("\n", "\n"))
        suffix = {"$": f"({newline})?", "Z": ""}.get(end, ".*")
        if not body and prefix == suffix == ".*":
            return ".*"
        return prefix + body + suffix

    def _at_branch_end(self, j: int) -> bool:
        return j >= len(self.p) or self.p[j] == "|"

    # --- quantifiers -----------------------------------------------------------------------
    def quantified(self) -> str:
        start = self.i
        atom = self.atom()
        quant = self.quantifier()
        if quant is None:
            return atom
        if not atom:
            self.i = start
            raise self.fail("quantifier without an operand")
        if self.peek() == "?":
            # 'sigma_regex_lazy_quantifiers': laziness never changes whether a match exists.
            self.i += 1
        elif self.peek() == "+":
            raise self.fail("possessive quantifiers change which values match; no equivalent")
        if self.peek() in ("*", "+", "?") or self._braces() is not None:
            raise self.fail("stacked quantifiers")
        return atom + quant

    def _braces(self) -> re.Match[str] | None:
        match = _BRACES.match(self.p, self.i)
        if match and (match.group(1) or match.group(2)):
            return match
        return None

    def quantifier(self) -> str | None:
        char = self.peek()
        if char in ("*", "+", "?"):
            self.i += 1
            return char
        match = self._braces()
        if match is None:
            return None
        low = int(match.group(1) or 0)
        high = match.group(3) if match.group(2) else match.group(1)
        if high and int(high) < low:
            raise self.fail("quantifier minimum greater than maximum")
        self.i = match.end()
        # Lucene accepts {n}, {n,} and {n,m}, not {,m}.
        if not match.group(2):
            return f"{{{low}}}"
        return f"{{{low},{high}}}" if high else ("*" if low == 0 else f"{{{low},}}")

    # --- atoms -----------------------------------------------------------------------------
    def atom(self) -> str:
        char = self.peek()
        if char == "(":
            return self.group()
        if char == "[":
            return self.char_class()
        if char == "\\":
            return self.escape()
        if char in ("^", "$"):
            raise self.fail(f"anchor {char!r} inside the pattern has no Lucene equivalent")
        if char in ("*", "+", "?") or (char == "{" and self._braces() is not None):
            raise self.fail("quantifier without an operand")
        self.i += 1
        if char == ".":
            # 'sigma_regex_dollar': '.' excludes '\n' unless dot-all; Lucene '.' matches anything.
            return "." if self.flags.dotall else self.charset(NEWLINE, negated=True)
        return self.literal(char)

    def literal(self, char: str) -> str:
        """One literal character, widened to its case variants when case-insensitive."""
        if char in self.swap:  # whitespace, '*' and their symbols: no case to fold
            return escape_char(self.swap[char])
        if not self.flags.ci:
            if has_case(char):
                self.sensitive_letters = True
                if self.engine:
                    raise EngineFoldingUnusable(char)
            return escape_char(char)
        try:
            variants = case_variants(char, self.flags.ascii)
        except FoldError as exc:
            raise self.fail(f"case-insensitive {exc}") from None
        if len(variants) == 1:
            if has_case(char):  # a non-ASCII letter under the ASCII flag stays case-sensitive
                self.sensitive_letters = True
                if self.engine:
                    raise EngineFoldingUnusable(char)  # the engine would fold what Python does not
            return escape_char(char)
        self.folded = True
        if self.engine:
            if char in ENGINE_SAFE:
                return char  # regex~ folds exactly this pair in every version
            if not engine_stable(CharSet.of(variants)):
                raise EngineFoldingUnusable(char)
        return variant_class(variants if self.flags.ascii else literal_variants(char))

    def charset(self, members: CharSet, negated: bool) -> str:
        """A class with member set ``members`` (``[^...]`` when ``negated``) as Lucene text."""
        folded = members
        if not self.flags.ci and members.has_cased():
            self.sensitive_letters = True
        elif self.flags.ascii and non_ascii_cased(members):
            self.sensitive_letters = True  # non-ASCII letters are not folded under (?a)
        if self.flags.ci:
            try:
                folded = members.fold(ascii_only=self.flags.ascii)
            except FoldError as exc:
                raise self.fail(f"case-insensitive class: {exc}") from None
            if folded != members or members.has_cased():
                self.folded = True
        if self.engine:
            # Negated classes with letters, and letters matched case-sensitively, would be folded
            # by regex~ differently across Elasticsearch versions: only caseless sets are safe,
            # plus positive case-insensitive sets closed under every version's folding.
            if negated or not self.flags.ci:
                if folded.has_cased():
                    raise EngineFoldingUnusable("class")
            elif not engine_stable(folded):
                raise EngineFoldingUnusable("class")
        result = folded.complement() if negated else folded
        if self.swap:
            result = result.swapped(self.swap)
        try:
            return result.render()
        except FoldError as exc:
            raise self.fail(str(exc)) from None

    def group(self) -> str:
        self.i += 1  # '('
        saved = self.flags
        if self.peek() == "?":
            self._group_extension()
        inner = [self.branch(top=False)]
        while self.peek() == "|":
            self.i += 1
            inner.append(self.branch(top=False))
        if self.peek() != ")":
            raise self.fail("missing ')'")
        self.i += 1
        self.flags = saved
        if len(inner) > 1:
            # 'regex_empty_string': an empty alternative is spelled '()' in Lucene.
            inner = [branch or "()" for branch in inner]
        return "(" + "|".join(inner) + ")"

    def _group_extension(self) -> None:
        """Consume a ``(?...`` opening (after the ``(``), applying scoped flags."""
        rest = self.p[self.i + 1 : self.i + 3]
        if rest.startswith(":"):
            self.i += 2
        elif rest.startswith("P<") or (rest.startswith("<") and rest[1:2] not in ("=", "!")):
            try:
                self.i = _group_name_end(self.p, self.i, ">")
            except ValueError as exc:
                raise self.fail(str(exc)) from None
        elif rest.startswith("P="):
            raise self.fail("back-references have no Lucene equivalent")
        elif rest[:1] in ("=", "!") or rest in ("<=", "<!"):
            raise self.fail("look-around assertions have no Lucene equivalent")
        elif rest.startswith("#"):
            raise self.fail("comment groups are not supported")
        elif (match := _SCOPED_FLAGS.match(self.p, self.i - 1)) is not None:
            try:
                self.flags = _with_flags(self.flags, match.group(1), match.group(2) or "")
            except ValueError as exc:
                raise self.fail(str(exc)) from None
            self.i = match.end()
        elif _LEADING_FLAGS.match(self.p, self.i - 1):
            raise self.fail("inline flags are only valid at the start of the pattern")
        else:
            raise self.fail(f"special group '(?{rest[:1]}' is not supported")

    # --- escapes ---------------------------------------------------------------------------
    def escape(self) -> str:
        self.i += 1
        char = self.peek()
        if not char:
            raise self.fail("trailing backslash")
        self.i += 1
        if char.lower() in _SHORTHAND:
            return self.charset(_SHORTHAND[char.lower()], negated=char.isupper())
        if char in "bB":
            raise self.fail(
                f"the word-boundary assertion '\\{char}' depends on the neighbouring characters; "
                "Lucene RegExp has no assertions"
            )
        if char in "AZ":
            raise self.fail(f"anchor '\\{char}' inside the pattern has no Lucene equivalent")
        value = self._character_escape(char)
        if value is None:
            if char.isalnum():
                raise self.fail(f"escape '\\{char}' has no Lucene equivalent")
            value = char
        return self.literal(value)

    def _character_escape(self, char: str) -> str | None:
        """The character an escape letter or digit stands for (``\\n``, ``\\x41``, ``\\0``)."""
        if char in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[char]
        width = {"x": 2, "u": 4, "U": 8}.get(char)
        if width is not None:
            digits = self.p[self.i : self.i + width]
            if len(digits) != width or not all(c in "0123456789abcdefABCDEF" for c in digits):
                raise self.fail(f"malformed \\{char} escape")
            self.i += width
            if int(digits, 16) > 0x10FFFF:
                raise self.fail(f"\\{char} escape beyond the last code point")
            return chr(int(digits, 16))
        if char.isdigit():
            # Python: '\0' and three octal digits are characters, other digits back-references.
            octal = re.match(r"[0-7]{0,2}", self.p[self.i :]).group(0)  # type: ignore[union-attr]
            if char == "0":
                self.i += len(octal)
                return chr(int("0" + octal, 8))
            if char in "1234567" and len(octal) == 2:
                self.i += 2
                code = int(char + octal, 8)
                if code > 0o377:
                    raise self.fail("octal escape above \\377")
                return chr(code)
            raise self.fail("back-references have no Lucene equivalent")
        return None

    # --- classes ---------------------------------------------------------------------------
    def char_class(self) -> str:
        self.i += 1  # '['
        negated = self.peek() == "^"
        if negated:
            self.i += 1
        members = CharSet()
        first = True
        while True:
            char = self.peek()
            if not char:
                raise self.fail("unterminated character class")
            if char == "]" and not first:
                self.i += 1
                break
            first = False
            if char == "[" and self.peek(1) in (":", "=", "."):
                raise self.fail("POSIX bracket expressions are not supported")
            low = self.class_member()
            if isinstance(low, CharSet):
                members = members | low
                continue
            if self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.i += 1
                high = self.class_member()
                if isinstance(high, CharSet):
                    raise self.fail("range with a shorthand class")
                if ord(high) < ord(low):
                    raise self.fail("reversed class range")
                members = members | CharSet.span(low, high)
            else:
                members = members | CharSet.of(low)
        return self.charset(members, negated)

    def class_member(self) -> str | CharSet:
        """One class member: a character, or the set of a shorthand escape (``\\d``, ``\\S``)."""
        char = self.peek()
        self.i += 1
        if char != "\\":
            return char
        esc = self.peek()
        if not esc:
            raise self.fail("trailing backslash")
        self.i += 1
        if esc.lower() in _SHORTHAND:
            members = _SHORTHAND[esc.lower()]
            return members.complement() if esc.isupper() else members
        if esc == "b":
            return "\x08"  # inside a class Python reads \b as backspace
        value = self._character_escape(esc)
        if value is not None:
            return value
        if esc.isalnum():
            raise self.fail(f"escape '\\{esc}' inside a class has no Lucene equivalent")
        return esc


__all__ = ["EngineFoldingUnusable", "Flags", "Translator", "unsupported"]
