"""Generator, part 2: one string that a regular expression matches.

``regex_example(source, flags, rng)`` builds an example for the PCRE subset Sigma's modifiers
appendix allows, by recursive descent over the pattern, and checks it with the reference's
time-bounded engine; constructs it does not model (lookarounds, backreferences), and patterns
whose example would be huge, raise ``RegexUnsupported``. Used by ``converter.generate.generator``.
"""

from __future__ import annotations

import random
import re
import string

from backends.errors import UnsupportedError

from converter.reference.values import Undecided, Unsupported, compiled_regex


# ---------------------------------------------------------------------------------------------
# Regular expression -> one matching string (the PCRE subset Sigma's modifiers appendix allows)


class RegexUnsupported(UnsupportedError):
    """The regex uses a construct the example generator does not model (lookaround, backref)."""


#: The most characters building one example may take (its shortest example, and every branch
#: tried on the way); a pattern needing more is refused with the reason.
MAX_EXAMPLE_CHARS = 100_000
_PRINTABLE = string.ascii_letters + string.digits + " -_.,:;/\\'\"=@#%&~"
_ESCAPES = {"d": "7", "D": "x", "w": "k", "W": "-", "s": " ", "S": "x", "n": "\n", "t": "\t",
            "r": "\r", "f": "\f", "v": "\v", "0": "\0", "b": "", "B": "", "A": "", "Z": "", "z": ""}


class _Example:
    """Recursive descent over the pattern that builds an example while it parses."""

    def __init__(self, source: str, flags: int, rng: random.Random) -> None:
        self.s, self.i, self.flags, self.rng = source, 0, flags, rng
        self.built = 0  # characters built so far, over every branch and repetition

    def peek(self, n: int = 1) -> str:
        return self.s[self.i:self.i + n]

    def alt(self) -> str:
        branches = [self.seq()]
        while self.peek() == "|":
            self.i += 1
            branches.append(self.seq())
        return self.rng.choice(branches)

    def seq(self) -> str:
        out = []
        while self.peek() not in ("", "|", ")"):
            atom = self.atom()
            low, high = self.quantifier()
            # The fewest repetitions, but at least one when allowed: an empty '*' run shows less.
            count = max(low, 1) if high is None or high >= 1 else 0
            # Every string built counts ('a{4000000000}' is a 4 GB string, '(a{9999}|...)'
            # builds each branch), so a hostile quantifier costs at most this much memory.
            self.built += len(atom) * count
            if self.built > MAX_EXAMPLE_CHARS:
                raise RegexUnsupported(
                    f"an example needs over {MAX_EXAMPLE_CHARS:,} characters")
            out.append(atom * count)
        return "".join(out)

    def quantifier(self) -> tuple[int, int | None]:
        c = self.peek()
        bounds = re.match(r"\{(\d*)(,(\d*))?\}", self.s[self.i:]) if c == "{" else None
        high: int | None
        if c in "*+?" and c:
            self.i += 1
            low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[c]
        elif bounds and (bounds.group(1) or bounds.group(3)):
            self.i += bounds.end()
            low = int(bounds.group(1) or 0)
            if bounds.group(2) is None:
                high = low
            else:
                high = int(bounds.group(3)) if bounds.group(3) else None
        else:
            return 1, 1
        if self.peek() in ("?", "+") and self.peek():  # lazy or possessive: same strings
            self.i += 1
        return low, high

    def atom(self) -> str:
        c = self.peek()
        self.i += 1
        if c == "(":
            if self.peek() == "?":
                head = re.match(r"\?(:|P?<[A-Za-z_]\w*>|[aiLmsux-]*:|[aiLmsux]+\)|#[^)]*\))",
                                self.s[self.i:])
                if head is None:
                    raise RegexUnsupported(f"group construct {self.s[self.i - 1:self.i + 3]!r}")
                self.i += head.end()
                if head.group(0).endswith(")"):  # inline flags or a comment
                    return ""
            inner = self.alt()
            if self.peek() != ")":
                raise RegexUnsupported("unbalanced parenthesis")
            self.i += 1
            return inner
        if c == "[":
            end = self.i + (self.peek() == "^")
            end += self.s[end:end + 1] == "]"
            while end < len(self.s) and self.s[end] != "]":
                end += 2 if self.s[end] == "\\" else 1
            cls, self.i = self.s[self.i - 1:end + 1], end + 1
            return self.pick(cls)
        if c in "^$":
            return ""
        if c == ".":
            return self.pick(".")
        if c == "\\":
            e = self.peek()
            self.i += 1
            if e.isdigit() and e != "0":
                raise RegexUnsupported("backreference")
            if e in ("x", "u"):
                width = 2 if e == "x" else 4
                code, self.i = self.s[self.i:self.i + width], self.i + width
                return chr(int(code, 16))
            return _ESCAPES.get(e, e)
        return c

    def pick(self, pattern: str) -> str:
        chars = list(_PRINTABLE)
        self.rng.shuffle(chars)
        for ch in chars:
            if re.fullmatch(pattern, ch, self.flags):
                return ch
        raise RegexUnsupported(f"no printable character matches {pattern!r}")


def regex_example(source: str, flags: int, rng: random.Random) -> str:
    """A string in which the reference's search for ``source`` (with ``flags``) finds a match.

    Raises:
        RegexUnsupported: lookarounds, backreferences, conditionals, or no example found.
    """
    try:
        gen = _Example(source, flags, rng)
        text = gen.alt()
        # Checked in the reference's engine: bounded in time, its reading of the pattern.
        ok = gen.i == len(source) and compiled_regex(source, flags).search(text)
    except (re.error, ValueError, IndexError, Unsupported, Undecided) as error:
        raise RegexUnsupported(str(error)) from None
    if not ok:
        raise RegexUnsupported(f"no example found for {source!r}")
    return text
