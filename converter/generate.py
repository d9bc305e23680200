"""Generate test events from a rule's own detection: positives and near misses.

``generate_events(rule)`` solves pySigma's parsed condition tree for the ways to make it true (one
event per OR branch, list value and windash/base64offset variant: an AND makes every child true,
an OR one child, a NOT makes its child false) and derives near misses from those events: case
flips, one character added or removed at every anchor and wildcard boundary, the value wrapped in
spaces/quotes/backslashes/wildcard characters, a required field removed, a filter (``not``)
branch triggered, the event moved to another logsource. Wildcards are filled with awkward text
(quotes, backslashes, literal ``*``/``?``, non-ASCII letters) so escaping bugs surface.

The generator's intention goes in ``SampleEvent.note``; ``SampleEvent.expect`` is always the
reference evaluator's verdict (``converter.reference``), and a note says when the two differ.
Events are Sigma-taxonomy (flat Sysmon names) and carry ``EventID``/``Channel`` of the rule's
logsource (``converter.logsources``); a rule whose logsource has no membership rule yields none.
"""

from __future__ import annotations

import ipaddress
import json
import random
import re
import string
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Union

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionIdentifier,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.rule import SigmaRule
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)

from .events import SampleEvent
from .logsources import (
    SYSMON,
    WINDOWS_CATEGORIES,
    WINDOWS_SERVICES,
    LogsourceUnsupported,
    membership,
)
from .reference import compile_rule

DEFAULT_COUNT = 40
MAX_ALTERNATIVES = 256  # per condition node: a 500-value list still yields its first 256 values
NEAR_MISS_BASES = 6  # positives whose literals are mutated into near misses

MULTI, SINGLE = SpecialChars.WILDCARD_MULTI, SpecialChars.WILDCARD_SINGLE
Parts = tuple[Union[str, SpecialChars], ...]
ABSENT: Any = object()  # Fixed(ABSENT): the field is removed


@dataclass(frozen=True)
class Glob:
    """A Sigma string as literal runs and wildcards (case-insensitive unless ``cased``)."""

    parts: Parts
    cased: bool = False


@dataclass(frozen=True)
class Rx:
    """A regular expression with its Python flags."""

    source: str
    flags: int


@dataclass(frozen=True)
class Fixed:
    """An exact event value (a near miss's mutated value; ``ABSENT`` removes the field)."""

    value: Any


@dataclass(frozen=True)
class Lit:
    """One leaf requirement: ``field`` (None: keyword) must (``positive``) or must not match."""

    field: str | None
    value: Any  # Glob | Rx | Fixed | a pySigma value type
    positive: bool
    origin: int = 0  # id of the nearest enclosing NOT node, to drop it when that filter fires
    selection: str = ""  # the detection identifier it comes from, for notes


Plan = tuple[Lit, ...]

# Neutral values an event of the logsource carries besides the tested fields.
_PROCESS = {
    "Image": "C:\\Windows\\System32\\notepad.exe", "OriginalFileName": "NOTEPAD.EXE",
    "CommandLine": "notepad.exe C:\\Users\\alice\\notes.txt",
    "CurrentDirectory": "C:\\Users\\alice\\",
    "User": "CORP\\alice", "IntegrityLevel": "Medium", "LogonId": "0x3a5f1",
    "ParentImage": "C:\\Windows\\explorer.exe", "ParentCommandLine": "C:\\Windows\\Explorer.EXE",
    "ProcessId": 4242, "ParentProcessId": 1337,
    "Hashes": "SHA256=2F1C0B1A9D7C4E3B5A6F7E8D9C0B1A2F3E4D5C6B7A8F9E0D1C2B3A4F5E6D7C8B,"
              "IMPHASH=0D4E3B2A1F0E9D8C7B6A5F4E3D2C1B0A",
}
COMPANIONS: dict[str, dict[str, Any]] = {
    "process_creation": _PROCESS,
    "image_load": {"Image": _PROCESS["Image"],
                   "ImageLoaded": "C:\\Windows\\System32\\kernel32.dll"},
    "file_event": {"Image": _PROCESS["Image"], "TargetFilename": "C:\\Users\\alice\\notes.txt"},
    "network_connection": {"Image": _PROCESS["Image"], "DestinationIp": "192.0.2.10",
                           "DestinationPort": 443, "Initiated": "true"},
    "registry_set": {"Image": _PROCESS["Image"], "TargetObject": "HKU\\S-1-5-21\\Software\\App",
                     "Details": "DWORD (0x00000001)", "EventType": "SetValue"},
    "ps_script": {"ScriptBlockText": "Get-Date"},
}
# Fields a Security 4688 record carries (Microsoft's 4688 schema: NewProcessName, ParentProcessName,
# CommandLine, Subject*, MandatoryLabel); others (Hashes, OriginalFileName...) are Sysmon-only.
SECURITY_4688_FIELDS = frozenset({"Image", "ParentImage", "CommandLine", "User", "LogonId",
                                  "IntegrityLevel", "Computer", "EventID", "Channel"})
# Fields whose values come from a closed list: an event with anything else is not realistic (and
# a target schema may have no rendering for it). Sysmon writes the integrity level names; Security
# 4688 the mandatory label SIDs (Microsoft: "Mandatory Integrity Control", well-known SIDs).
VOCABULARIES: dict[str, tuple[str, ...]] = {
    "IntegrityLevel": ("System", "High", "Medium", "Low", "Untrusted", "S-1-16-16384",
                       "S-1-16-12288", "S-1-16-8192", "S-1-16-4096", "S-1-16-0"),
}
KEYWORD_CARRIERS = ("CommandLine", "ScriptBlockText", "Message", "Data")
# Filler text for '*' and '?': spaces, quotes, backslashes, literal wildcard characters, unicode.
FILLERS = (" ", "C:\\Program Files\\Ünï Çorp\\", " -x \"a b\" ", "\\\\srv\\share\\", "*?*",
           " 'q' ", "日本\\", "%TEMP%\\", "a\\*b ")
SINGLES = ("x", "*", "?", " ", "\\", "é", "'")
# Fields with a structure a shipper parses: fillers keep it. A user is "DOMAIN\\name" with one
# backslash (Sysmon's User); Hashes is "ALG=HEX,ALG=HEX" (Sysmon's Hashes).
USER_FIELDS = ("User", "ParentUser")
FIELD_FILLERS = {
    **dict.fromkeys(USER_FIELDS, (" ", "é", " 'q' ", "*?*", "x y", "日本")),
    "Hashes": (",", ", "),  # no digest of its own: a second MD5= would shadow the rule's
}
WRAPS = ((" ", " "), ('"', '"'), ("\\", "\\"), ("*", "*"), ("?", "?"), ("'", "'"))


# ---------------------------------------------------------------------------------------------
# Condition tree -> plans (lists of literals)


def _parts(value: SigmaString) -> Parts | None:
    """Merged literal/wildcard parts; None for placeholders (no value to generate)."""
    out: list[str | SpecialChars] = []
    for part in value.iter_parts():
        if isinstance(part, Placeholder):
            return None
        if isinstance(part, str) and out and isinstance(out[-1], str):
            out[-1] += part
        else:
            out.append(part)
    return tuple(out)


_RX_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: re.I,
    SigmaRegularExpressionFlag.MULTILINE: re.M,
    SigmaRegularExpressionFlag.DOTALL: re.S,
}


def _lit_values(value: Any, keyword: bool) -> list[Any]:
    """The generator's values for one Sigma value: expansions become one value per variant."""
    if isinstance(value, SigmaExpansion):
        return [v for item in value.values for v in _lit_values(item, keyword)]
    if isinstance(value, SigmaString):
        parts = _parts(value)
        if parts is None:
            return []
        if keyword:  # a keyword is found anywhere: model it as contains
            parts = (MULTI, *parts, MULTI)
        return [Glob(parts, isinstance(value, SigmaCasedString))]
    if isinstance(value, SigmaRegularExpression):
        parts = _parts(value.regexp)
        if parts is None:
            return []
        source = "".join(p if isinstance(p, str) else ("*" if p is MULTI else "?") for p in parts)
        flags = 0
        for flag in value.flags:
            flags |= _RX_FLAGS[flag]
        return [Rx(source, flags)]
    return [value]


def _clash(plan: Plan, chosen: list[Lit]) -> int:
    """How badly a plan contradicts literals already chosen: the same test with the other
    polarity is a sure conflict, a test of the same field with the other polarity a likely one."""
    score = 0
    for lit in plan:
        for other in chosen:
            if lit.field == other.field and lit.positive != other.positive:
                score += 100 if lit.value == other.value else 1
    return score


def _cover(children: list[list[Plan]]) -> list[Plan]:
    """AND of alternatives without a cartesian product: every alternative of every child shows
    up once, the other children taking a base alternative that contradicts the rest least."""
    if any(not c for c in children):
        return []
    base: list[Plan] = []
    for alternatives in children:
        chosen = [lit for plan in base for lit in plan]
        base.append(min(alternatives[:16], key=lambda plan: _clash(plan, chosen)))
    out = [tuple(lit for plan in base for lit in plan)]
    for i, alternatives in enumerate(children):
        for alt in alternatives[1:]:
            if len(out) >= MAX_ALTERNATIVES:
                return out
            out.append(tuple(lit for plan in (*base[:i], alt, *base[i + 1:]) for lit in plan))
    return out


def solve(node: object, want: bool, origin: int = 0) -> list[Plan]:
    """The ways to make ``node`` evaluate to ``want``, each a tuple of literals."""
    if isinstance(node, ConditionNOT):
        return solve(node.args[0], not want, id(node))
    if isinstance(node, (ConditionAND, ConditionOR)):
        children = [solve(arg, want, origin) for arg in node.args]
        if isinstance(node, ConditionAND) == want:  # AND true / OR false: all children
            return _cover(children)
        return [plan for alts in children for plan in alts][:MAX_ALTERNATIVES]
    if isinstance(node, (ConditionFieldEqualsValueExpression, ConditionValueExpression)):
        field, name = getattr(node, "field", None), _name(node)
        values = _lit_values(node.value, field is None)
        if want:
            return [(Lit(field, v, True, origin, name),) for v in values][:MAX_ALTERNATIVES]
        return [tuple(Lit(field, v, False, origin, name) for v in values)] if values else []
    return []


def _not_nodes(node: object) -> Iterator[ConditionNOT]:
    if isinstance(node, ConditionNOT):
        yield node
    for arg in getattr(node, "args", None) or ():
        if not isinstance(arg, str):
            yield from _not_nodes(arg)


def _name(node: object) -> str:
    """The detection identifier a condition node came from, for notes."""
    for _ in range(4):  # leaf -> detection item -> detection -> identifier
        if isinstance(node, ConditionIdentifier):
            return str(node.identifier)
        node = getattr(node, "parent", None)
    return "filter"


def describe(lit: Lit) -> str:
    """A short text of one literal for notes: ``Image=*\\cmd.exe``."""
    v = lit.value
    if isinstance(v, Glob):
        text = "".join(p if isinstance(p, str) else ("*" if p is MULTI else "?") for p in v.parts)
        text += "|cased" if v.cased else ""
    elif isinstance(v, Rx):
        text = f"/{v.source}/"
    elif isinstance(v, Fixed):
        text = "<absent>" if v.value is ABSENT else json.dumps(v.value, ensure_ascii=False)
    elif isinstance(v, SigmaNull):
        text = "null"
    elif isinstance(v, SigmaExists):
        text = "exists" if v.exists else "not exists"
    elif isinstance(v, SigmaFieldReference):
        text = f"fieldref({v.field})"
    elif isinstance(v, SigmaCompareExpression):
        text = f"{v.op.name.lower()} {v.number.number}"
    elif isinstance(v, SigmaCIDRExpression):
        text = str(v.network)
    else:
        text = str(getattr(v, "number", getattr(v, "boolean", v)))
    text = f"{lit.field}={text}" if lit.field else f"keyword {text}"
    return text if lit.positive else f"not {text}"


def _label(plan: Plan) -> str:
    text = ", ".join(describe(lit) for lit in plan)
    return text if len(text) <= 160 else text[:157] + "..."


# ---------------------------------------------------------------------------------------------
# Regular expression -> one matching string (the PCRE subset Sigma's modifiers appendix allows)


class RegexUnsupported(Exception):
    """The regex uses a construct the example generator does not model (lookaround, backref)."""


_PRINTABLE = string.ascii_letters + string.digits + " -_.,:;/\\'\"=@#%&~"
_ESCAPES = {"d": "7", "D": "x", "w": "k", "W": "-", "s": " ", "S": "x", "n": "\n", "t": "\t",
            "r": "\r", "f": "\f", "v": "\v", "0": "\0", "b": "", "B": "", "A": "", "Z": "", "z": ""}


class _Example:
    """Recursive descent over the pattern that builds an example while it parses."""

    def __init__(self, source: str, flags: int, rng: random.Random) -> None:
        self.s, self.i, self.flags, self.rng = source, 0, flags, rng

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
            out.append(atom * (max(low, 1) if high is None or high >= 1 else 0))
        return "".join(out)

    def quantifier(self) -> tuple[int, int | None]:
        c = self.peek()
        bounds = re.match(r"\{(\d*)(,(\d*))?\}", self.s[self.i:]) if c == "{" else None
        if c in "*+?" and c:
            self.i += 1
            low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[c]
        elif bounds and (bounds.group(1) or bounds.group(3)):
            self.i += bounds.end()
            low = int(bounds.group(1) or 0)
            if bounds.group(2) is None:
                high: int | None = low
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
    """A string in which ``re.search(source, ..., flags)`` finds a match.

    Raises:
        RegexUnsupported: lookarounds, backreferences, conditionals, or no example found.
    """
    try:
        gen = _Example(source, flags, rng)
        text = gen.alt()
        ok = gen.i == len(source) and re.search(source, text, flags) is not None
    except (re.error, ValueError, IndexError) as error:
        raise RegexUnsupported(str(error)) from None
    if not ok:
        raise RegexUnsupported(f"no example found for {source!r}")
    return text


# ---------------------------------------------------------------------------------------------
# Values: does a candidate satisfy a literal value, and candidates that do


@lru_cache(maxsize=8192)
def _glob_regex(glob: Glob) -> re.Pattern[str]:
    source = "".join(re.escape(p) if isinstance(p, str) else (".*" if p is MULTI else ".")
                     for p in glob.parts)
    return re.compile(source, re.S if glob.cased else re.S | re.I)


def satisfies(candidate: Any, value: Any) -> bool | None:
    """Whether an event value passes one literal value (None: cannot tell without the event).

    Only picks candidates; every final verdict comes from the reference evaluator.
    """
    if candidate is ABSENT or candidate is None:
        if isinstance(value, (SigmaNull, SigmaExists, SigmaFieldReference)):
            return None
        return False
    text = str(candidate).lower() if isinstance(candidate, bool) else str(candidate)
    if isinstance(value, Glob):
        return _glob_regex(value).fullmatch(text) is not None
    if isinstance(value, Rx):
        return re.search(value.source, text, value.flags) is not None
    if isinstance(value, Fixed):
        return candidate == value.value
    if isinstance(value, SigmaNumber):
        return text.lower() == str(value.number).lower()
    if isinstance(value, SigmaBool):
        return text.lower() == str(value.boolean).lower()
    if isinstance(value, SigmaCIDRExpression):
        try:
            return ipaddress.ip_address(text) in value.network
        except ValueError:
            return False
    if isinstance(value, SigmaCompareExpression):
        try:
            number = float(text)
        except ValueError:
            return False
        limit = value.number.number
        return {CompareOperators.LT: number < limit, CompareOperators.LTE: number <= limit,
                CompareOperators.GT: number > limit, CompareOperators.GTE: number >= limit,
                CompareOperators.NEQ: number != limit}[value.op]
    return None


def fill(parts: Parts, rng: random.Random | None, field: str = "") -> str:
    """Realize wildcard parts; ``rng=None`` fills plainly (one space, one 'x').

    A filler never repeats the character next to it ('\\' before '\\cmd.exe'), so that
    removing that character in a near miss really removes it from the value.
    """
    out = []
    for i, part in enumerate(parts):
        if isinstance(part, str):
            out.append(part)
            continue
        pool = FIELD_FILLERS.get(field, FILLERS) if part is MULTI else SINGLES
        start = int(rng.random() * len(pool)) if rng else 0  # one draw per wildcard, always
        before = out[-1][-1:] if out and out[-1] else ""
        after = parts[i + 1][:1] if i + 1 < len(parts) and isinstance(parts[i + 1], str) else ""
        for k in range(len(pool)):
            text = pool[(start + k) % len(pool)]
            if not ((before and text.lower().startswith(before.lower()))
                    or (after and text.lower().endswith(after.lower()))):
                break
        out.append(text if rng else (" " if part is MULTI else "x"))
    return "".join(out)


def _combine(globs: list[Glob], rng: random.Random | None, extra: tuple[str, ...] = (),
             field: str = "") -> str:
    """One string meant to match every glob: the longest anchored head and tail around the
    unanchored middles and the ``extra`` texts (exact when some glob has no wildcard)."""
    for glob in globs:
        if all(isinstance(p, str) for p in glob.parts):
            return "".join(glob.parts)  # type: ignore[arg-type]
    heads = [g.parts[0] for g in globs if isinstance(g.parts[0], str)]
    tails = [g.parts[-1] for g in globs if isinstance(g.parts[-1], str)]
    middles = list(extra)
    for glob in globs:
        parts = list(glob.parts)
        if isinstance(parts[0], str):
            parts.pop(0)
        if parts and isinstance(parts[-1], str):
            parts.pop()
        middles.append(fill(tuple(parts), rng, field))
    head = max(heads, key=len, default="")
    tail = max(tails, key=len, default="")
    return head + "".join(middles) + tail


def _candidates(values: list[Any], rng: random.Random, field: str) -> list[Any]:
    """Candidate event values for a field that must pass all ``values``."""
    fixed = [v.value for v in values if isinstance(v, Fixed)]
    if fixed:
        return fixed[:1]
    if field in VOCABULARIES:
        return [w for w in VOCABULARIES[field] if all(satisfies(w, v) is not False for v in values)]
    globs = [v for v in values if isinstance(v, Glob)]
    examples: list[str] = []
    for value in values:
        if isinstance(value, Rx):
            try:
                examples.append(regex_example(value.source, value.flags, rng))
            except RegexUnsupported:
                continue
    out: list[Any] = []
    if globs or examples:  # regex examples go between the anchored head and tail
        spaced = tuple(f" {e} " for e in examples)
        out += [_combine(globs, rng, tuple(examples), field), _combine(globs, None, spaced)]
        out += ["".join(examples), " ".join(examples)] if examples else []
        if globs and examples:  # an exact glob leaves no room inside: try both ends
            plain = _combine(globs, None)
            out += [plain + examples[0], examples[0] + plain]
    for value in values:
        if isinstance(value, SigmaNumber):
            out += [value.number, str(value.number)]
        elif isinstance(value, SigmaBool):
            out.append(str(value.boolean).lower())
        elif isinstance(value, SigmaCIDRExpression):
            net = value.network
            out.append(str(net.network_address + (1 if net.num_addresses > 2 else 0)))
        elif isinstance(value, SigmaCompareExpression):
            limit = value.number.number
            step = {CompareOperators.LT: -1, CompareOperators.GT: 1}.get(value.op, 0)
            out.append(limit + step if value.op is not CompareOperators.NEQ else limit + 1)
    needs_presence = any(isinstance(v, SigmaExists) and v.exists for v in values)
    if not out and needs_presence:
        out.append("present value")
    if field in USER_FIELDS:  # a Windows account is DOMAIN\name: one backslash, preferably
        out = [f"CORP\\{c}" for c in out if isinstance(c, str) and "\\" not in c] + out
    return out


def _pick(candidates: list[Any], pos: list[Any], neg: list[Any]) -> Any:
    """The first candidate passing every positive and no negative value; best effort else."""
    for strict in (True, False):
        for c in candidates:
            if all(satisfies(c, p) is not False for p in pos) and (
                not strict or all(satisfies(c, n) is not True for n in neg)
            ):
                return c
    return candidates[0]


def _absent_by(values: list[Any]) -> bool:
    return any(isinstance(v, SigmaNull) or (isinstance(v, SigmaExists) and not v.exists)
               for v in values)


# ---------------------------------------------------------------------------------------------
# Plans -> events


@dataclass(frozen=True)
class Context:
    """Per-rule state for realizing plans."""

    base: dict[str, Any]  # EventID/Channel of the logsource
    companions: dict[str, Any]
    carrier: str  # where keywords are written


def realize(plan: Plan, ctx: Context, seed: str, present: bool = False) -> dict[str, Any] | None:
    """Build an event satisfying the plan's literals (None when no value can be generated).

    ``present``: fields only constrained negatively get a non-matching value instead of being
    left out (where the targets' missing-field rules differ).
    """
    rng = random.Random(seed)  # same seed, same fillers: mutations differ only where mutated
    pos: dict[str | None, list[Any]] = {}
    neg: dict[str | None, list[Any]] = {}
    for lit in plan:
        (pos if lit.positive else neg).setdefault(lit.field, []).append(lit.value)
    if ctx.base.get("EventID") == 4688:
        if not set(pos) <= SECURITY_4688_FIELDS:
            return None  # such a record has no such field (a filter merged into a 4688 positive)
        # Nor can it carry a value for a field it does not have, even a non-matching one.
        neg = {f: v for f, v in neg.items() if f is None or f in SECURITY_4688_FIELDS}
    event = dict(ctx.base)
    refs: list[tuple[str, SigmaFieldReference]] = []
    for field, values in pos.items():
        if field is None:
            continue
        refs += [(field, v) for v in values if isinstance(v, SigmaFieldReference)]
        values = [v for v in values if not isinstance(v, SigmaFieldReference)]
        if not values:
            continue
        if _absent_by(values) or any(isinstance(v, Fixed) and v.value is ABSENT for v in values):
            event.pop(field, None)
            continue
        candidates = _candidates(values, rng, field)
        if not candidates:
            return None
        event[field] = _pick(candidates, values, neg.get(field, []))
    for field, values in neg.items():
        if field is None or field in pos:
            continue
        must_exist = any(isinstance(v, SigmaNull) or (isinstance(v, SigmaExists) and not v.exists)
                         for v in values)
        must_not = any(isinstance(v, SigmaExists) and v.exists for v in values)
        if (present or must_exist) and not must_not:
            pool = [*VOCABULARIES.get(field, ()), event.get(field), ctx.companions.get(field),
                    "other value", "0", "C:\\Temp\\x.bin"]
            event[field] = _pick([c for c in pool if c is not None], [], values)
        elif field not in ("EventID", "Channel"):
            event.pop(field, None)
    for field, ref in refs:
        other = event.setdefault(ref.field, ctx.companions.get(ref.field, "shared value"))
        event[field] = (("pre " if ref.ends_with else "") + str(other)
                        + (" post" if ref.starts_with else ""))
    keywords = [v for v in pos.get(None, []) if isinstance(v, Glob)]
    if keywords:
        carrier = next((c for c in KEYWORD_CARRIERS if c not in pos), ctx.carrier)
        event[carrier] = " ".join(fill(k.parts, rng).strip() or fill(k.parts, None)
                                  for k in keywords)
    return event


# ---------------------------------------------------------------------------------------------
# Near misses: mutated literals


def _other(char: str) -> str:
    return "z" if char.lower() == "y" else "y"


def _glob_mutations(glob: Glob) -> Iterator[tuple[Glob, bool, str]]:
    """(mutated glob, still meant to match, what changed) for one Sigma string."""
    parts = glob.parts
    flipped = tuple(p.swapcase() if isinstance(p, str) else p for p in parts)
    if flipped != parts:
        what = "case flipped" + (" (cased)" if glob.cased else "")
        yield Glob(flipped, glob.cased), not glob.cased, what
    last = len(parts) - 1
    for i, part in enumerate(parts):
        if part is SINGLE:
            for text, what in (("", "nothing"), ("xy", "two chars")):
                yield Glob(parts[:i] + (text,) + parts[i + 1:], glob.cased), False, \
                    f"'?' filled by {what}"
        if not isinstance(part, str) or not part:
            continue
        edit = lambda text: Glob(parts[:i] + (text,) + parts[i + 1:], glob.cased)  # noqa: E731
        # At an anchor the char is removed; next to a wildcard, which could supply it again, it
        # is replaced by another one ('\\cmd.exe' -> 'ycmd.exe').
        if i == 0:
            yield edit(part[1:]), False, f"first char {part[0]!r} removed at start boundary"
        else:
            yield edit(_other(part[0]) + part[1:]), False, \
                f"first char {part[0]!r} replaced at wildcard boundary"
        if i == last:
            yield edit(part[:-1]), False, f"last char {part[-1]!r} removed at end boundary"
        else:
            yield edit(part[:-1] + _other(part[-1])), False, \
                f"last char {part[-1]!r} replaced at wildcard boundary"
        if i == 0:
            yield edit("x" + part), False, "char added before anchored start"
        if i == last:
            yield edit(part + ".mui"), False, "chars added after anchored end"
    if isinstance(parts[0], str) or isinstance(parts[-1], str):
        for before, after in WRAPS:
            keep = parts[0] is MULTI and parts[-1] is MULTI
            yield Glob((before, *parts, after), glob.cased), keep, f"wrapped in {before!r}"


def _mutations(lit: Lit, rng: random.Random, vocabulary: tuple[str, ...] | None = None
               ) -> Iterator[tuple[Any, bool, str]]:
    """(replacement value, still meant to match, what changed) for one positive literal."""
    v = lit.value
    if vocabulary:  # a closed list: the near misses are the other values of the list
        others = [w for w in vocabulary if satisfies(w, v) is False]
        yield from ((Fixed(w), False, f"another listed value {w!r}") for w in others[:2])
    elif isinstance(v, Glob):
        yield from _glob_mutations(v)
    elif isinstance(v, Rx):
        try:
            ex = regex_example(v.source, v.flags, rng)
        except RegexUnsupported:
            return
        if ex.swapcase() != ex:
            insensitive = bool(v.flags & re.I) or re.match(r"\(\?[a-zL]*i", v.source) is not None
            yield Fixed(ex.swapcase()), insensitive, "regex example case flipped"
        if len(ex) > 1:
            yield Fixed(ex[1:]), False, "regex example without its first char"
            yield Fixed(ex[:-1]), False, "regex example without its last char"
    elif isinstance(v, SigmaNumber):
        yield Fixed(str(v.number)), True, "number written as a string"
        yield Fixed(v.number + 1), False, "number + 1"
    elif isinstance(v, SigmaCIDRExpression):
        outside = v.network.broadcast_address + 1 if v.network.prefixlen else None
        if outside is not None and int(outside) < 2 ** v.network.max_prefixlen:
            yield Fixed(str(outside)), False, "address just outside the network"
    elif isinstance(v, SigmaCompareExpression):
        keep = v.op in (CompareOperators.GTE, CompareOperators.LTE)
        yield Fixed(v.number.number), keep, "the limit itself"
    elif isinstance(v, SigmaNull):
        yield Fixed(None), True, "explicit JSON null"
        yield Fixed(""), False, "empty string instead of null"
    elif isinstance(v, SigmaExists) and v.exists:
        yield Fixed(None), True, "present with a JSON null"


# ---------------------------------------------------------------------------------------------
# Logsource


def _logsource_events(product: str | None, category: str | None, service: str | None
                      ) -> list[dict[str, Any]]:
    """EventID/Channel dicts of the logsource, the main one first; [] when untabled."""
    if (product or "").lower() != "windows":
        return []
    channels = WINDOWS_SERVICES.get((service or "").lower()) if service else None
    if category:
        out = [{"EventID": ec.event_ids[0] if ec.event_ids else 1, "Channel": ch}
               for ec in WINDOWS_CATEGORIES.get(category.lower(), ()) for ch in ec.channels
               if channels is None or ch in channels]
    elif channels:
        out = [{"Channel": ch} for ch in channels]
    else:
        out = [{"Channel": "Application", "EventID": 1000}]
    member = membership(product, category, service)
    return [e for e in out if member(e)]


_ELSEWHERE = ({"EventID": 1, "Channel": SYSMON}, {"EventID": 3, "Channel": SYSMON},
              {"EventID": 4624, "Channel": "Security"}, {"EventID": 7045, "Channel": "System"}, {})


def _wrong_logsource(product: str | None, category: str | None, service: str | None
                     ) -> dict[str, Any] | None:
    member = membership(product, category, service)
    return next((dict(e) for e in _ELSEWHERE if not member(e)), None)


# ---------------------------------------------------------------------------------------------
# Public API


def _interleave(groups: list[list[Any]]) -> list[Any]:
    out = []
    for row in range(max((len(g) for g in groups), default=0)):
        out += [g[row] for g in groups if row < len(g)]
    return out


Item = tuple[dict[str, Any], str, frozenset[Any], Context]  # event, label, touched, context


class _Generator:
    """One rule's generation state: its logsource kinds, plans, positives and near misses."""

    def __init__(self, rule: SigmaRule, kinds: list[dict[str, Any]], seed: int) -> None:
        source = rule.logsource
        self.logsource = (source.product, source.category, source.service)
        self.kinds, self.seed = kinds, seed
        self.rng = random.Random(f"{seed}:{rule.id or rule.title}")
        self.companions = COMPANIONS.get((source.category or "").lower(), {})
        self.carrier = next((c for c in KEYWORD_CARRIERS if c in self.companions), "Message")
        self.trees = [c.parsed for c in rule.detection.parsed_condition]  # parsed once
        self.plans = [p for tree in self.trees for p in solve(tree, True)][:MAX_ALTERNATIVES]

    def context(self, plan: Plan, index: int) -> Context:
        """Process creation: mostly Sysmon 1; every fifth plan Security 4688, when 4688 records
        carry every field the plan tests."""
        fields = {lit.field for lit in plan if lit.positive}
        usable = [k for k in self.kinds
                  if k.get("EventID") != 4688 or fields <= SECURITY_4688_FIELDS]
        kind = usable[1] if len(usable) > 1 and index % 5 == 4 else usable[0]
        companions = self.companions
        if kind.get("EventID") == 4688:  # 4688 records carry the label SID, not the name
            companions = {k: v for k, v in companions.items() if k in SECURITY_4688_FIELDS}
            if "IntegrityLevel" in companions:
                companions["IntegrityLevel"] = "S-1-16-8192"
        return Context(kind, companions, self.carrier)

    def positives(self, limit: int) -> list[tuple[int, Plan, Item]]:
        """One event per plan (the first ``limit`` plans: no more can be shown); plans with
        negated fields also with those fields present."""
        out = []
        for i, plan in enumerate(self.plans[:max(limit, DEFAULT_COUNT)]):
            touched = frozenset(lit.field for lit in plan)
            label = "positive: " + _label(plan)
            if i == 0 and len(self.kinds) > 1:  # the first way to match in the other event kind
                ctx = self.context(plan, 4)
                event = realize(plan, ctx, f"{self.seed}:0")
                if event is not None and event.get("EventID") != self.kinds[0].get("EventID"):
                    out.append((i, plan, (event, label + " (second event kind)", touched, ctx)))
            ctx = self.context(plan, i)
            for present in (False, True) if any(not lit.positive for lit in plan) else (False,):
                event = realize(plan, ctx, f"{self.seed}:{i}", present)
                if event is not None:
                    suffix = " (negated fields present)" if present else ""
                    out.append((i, plan, (event, label + suffix, touched, ctx)))
        return out

    def near_misses(self, index: int, plan: Plan, base: Item) -> dict[str, list[Item]]:
        """Mutations of one positive, by kind."""
        event, _, touched, ctx = base
        key = f"{self.seed}:{index}"
        out: dict[str, list[Item]] = {}
        for j, lit in enumerate(plan):
            if not lit.positive:
                continue
            for value, keep, what in _mutations(lit, self.rng, VOCABULARIES.get(lit.field or "")):
                mutated = realize(plan[:j] + (replace(lit, value=value),) + plan[j + 1:], ctx, key)
                if mutated is not None:
                    kind = "boundary" if what.startswith(("first", "last")) else what.split()[0]
                    tag = "positive" if keep else "near miss"
                    out.setdefault(kind, []).append(
                        (mutated, f"{tag}: {describe(lit)}: {what}", touched, ctx))
            if lit.field and lit.field not in ("EventID", "Channel") and lit.field in event:
                dropped = {k: v for k, v in event.items() if k != lit.field}
                out.setdefault("removed", []).append(
                    (dropped, f"near miss: {lit.field} removed", touched, ctx))
        for node in (n for tree in self.trees for n in _not_nodes(tree)):
            if not any(lit.origin == id(node) for lit in plan):
                continue  # this positive does not go through that filter
            for fplan in solve(node.args[0], True)[:3]:
                merged = tuple(lit for lit in plan if lit.origin != id(node)) + fplan
                triggered = realize(merged, ctx, key)
                if triggered is not None:
                    label = f"near miss: {fplan[0].selection} triggered: {_label(fplan)}"
                    fields = touched | {lit.field for lit in fplan}
                    out.setdefault("filter", []).append((triggered, label, fields, ctx))
        elsewhere = _wrong_logsource(*self.logsource)
        if elsewhere is not None:
            moved = {k: v for k, v in event.items() if k not in ("EventID", "Channel")}
            out.setdefault("logsource", []).append(
                ({**moved, **elsewhere}, "near miss: wrong logsource", touched, ctx))
        return out

    def ordered(self, limit: int) -> list[Item]:
        """A plain positive, a near miss, a still-matching variant (case flip...), and again."""
        positives = self.positives(limit)
        kinds: dict[str, list[Item]] = {}
        # Near misses from a few positives spread over the first plans, whatever the count.
        first = [p for p in positives if p[0] < DEFAULT_COUNT]
        for index, plan, item in first[::max(1, len(first) // NEAR_MISS_BASES)][:NEAR_MISS_BASES]:
            for kind, items in self.near_misses(index, plan, item).items():
                kinds.setdefault(kind, []).extend(items)
        mutated = _interleave(list(kinds.values()))
        misses = [m for m in mutated if not m[1].startswith("positive")]
        variants = [m for m in mutated if m[1].startswith("positive")]
        return _interleave([[item for _, _, item in positives], misses, variants])


def generate_events(rule: SigmaRule, count: int | None = None, seed: int = 0) -> list[SampleEvent]:
    """Generate positives and near misses for one rule, most informative first.

    Args:
        rule: a parsed pySigma rule (before any target pipeline).
        count: how many events at most (default ``DEFAULT_COUNT``).
        seed: fillers and choices are drawn from it; the same seed gives the same events.

    Returns:
        ``SampleEvent``s whose ``expect`` is the reference verdict and whose ``note`` says what the
        event was meant to be. [] for rules the reference cannot evaluate or whose logsource has
        no membership rule.
    """
    compiled = compile_rule(rule)
    if compiled.unsupported is not None or not isinstance(rule, SigmaRule):
        return []
    try:
        kinds = _logsource_events(rule.logsource.product, rule.logsource.category,
                                  rule.logsource.service)
    except LogsourceUnsupported:
        return []
    if not kinds:
        return []
    limit = DEFAULT_COUNT if count is None else max(count, 0)
    out: list[SampleEvent] = []
    seen: set[str] = set()
    for event, label, touched, ctx in _Generator(rule, kinds, seed).ordered(limit):
        if len(out) >= limit:
            break
        key = json.dumps(event, sort_keys=True, default=str)
        verdict = compiled.evaluate(event)
        if key in seen or verdict.unsupported is not None:
            continue
        seen.add(key)
        companions = {k: v for k, v in ctx.companions.items() if k not in touched}
        fields = _with_companions(event, companions, compiled, verdict.matched)
        intended = label.startswith("positive")
        note = label if intended == verdict.matched else (
            f"{label} [reference: {'match' if verdict.matched else 'no match'}]")
        out.append(SampleEvent(fields, bool(verdict.matched), note, source="generated"))
    return out


def _with_companions(event: dict[str, Any], companions: dict[str, Any], compiled: Any,
                     matched: bool | None) -> dict[str, Any]:
    """Add the logsource's neutral fields that the event lacks, keeping the reference verdict."""
    extra = {k: v for k, v in companions.items() if k not in event}
    if not extra:
        return event
    full = {**event, **extra}
    if compiled.evaluate(full).matched == matched:
        return full
    out = dict(event)
    for key, value in extra.items():  # one at a time: keep those that change nothing
        trial = {**out, key: value}
        if compiled.evaluate(trial).matched == matched:
            out = trial
    return out
