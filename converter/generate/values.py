"""Generator, part 3: plans made into events, and the near-miss mutations of their values.

``realize(plan, ctx, seed)`` picks an event value for every field a plan tests (wildcards filled
with awkward text: quotes, backslashes, literal ``*``/``?``, non-ASCII letters, so escaping bugs
surface) and adds the logsource's neutral companion fields; ``_mutations`` lists the near misses
of one literal (case flips, one character added or removed at every anchor and wildcard boundary,
the value wrapped in spaces, quotes, backslashes or wildcard characters). Used by
``converter.generate.generator``.
"""

from __future__ import annotations

import ipaddress
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sigma.types import (
    CompareOperators,
    SigmaBool,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
)

from converter.generate.plan import ABSENT, MULTI, SINGLE, Fixed, Glob, Lit, Parts, Plan, Rx
from converter.generate.regex import RegexUnsupported, regex_example
from converter.reference.values import Undecided, Unsupported, compiled_regex


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
# A product whose process records name executables by absolute POSIX paths: its neutral parent
# is one (a macOS process's parent is launchd, /sbin/launchd, when no other is tested). The
# Windows companion path is no path such a record holds (splunk-macos's path_basename with
# `absolute` does not render it).
_MACOS_PROCESS = {
    "Image": "/System/Applications/TextEdit.app/Contents/MacOS/TextEdit",
    "CommandLine": "/System/Applications/TextEdit.app/Contents/MacOS/TextEdit "
                   "/Users/alice/notes.txt",
    "CurrentDirectory": "/Users/alice", "ParentImage": "/sbin/launchd",
    "ParentCommandLine": "/sbin/launchd",
}
PRODUCT_COMPANIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("macos", "process_creation"): _MACOS_PROCESS,
    ("macos", "file_event"): {"Image": _MACOS_PROCESS["Image"],
                              "TargetFilename": "/Users/alice/notes.txt"},
}
#: Fields that hold an IP address and nothing else in the records that have them (Sysmon's
#: DestinationIp / SourceIp, Zeek's addr fields: ``to_ip`` with ``canonical`` in the tables):
#: candidates that are addresses are tried first, so a test any text passes (``endswith: ''``)
#: gets an event the data source can write. A sample in each text form (Sysmon's, RFC 5952's).
ADDRESS_FIELDS = frozenset({"DestinationIp", "SourceIp", "id.orig_h", "id.resp_h"})
_ADDRESSES = ("192.0.2.10", "10.0.0.1", "0:0:0:0:0:0:0:1", "fe80:0:0:0:0:0:0:1", "::1",
              "fe80::1", "2001:db8::1")
#: Completions of a candidate's text into an address (``10.`` -> ``10.0.0.1``, ``fe80:`` -> ...).
_ADDRESS_TAILS = ("", "1", ".1", "0.1", ".0.1", "0.0.1", ".0.0.1", "1.1.1", ":1", "0:0:0:1",
                  ":0:0:0:0:0:0:1", "0:0:0:0:0:0:1")
# Fields a Security 4688 record carries (Microsoft's 4688 schema: NewProcessName, ParentProcessName,
# CommandLine, Subject*, MandatoryLabel); others (Hashes, OriginalFileName...) are Sysmon-only.
SECURITY_4688_FIELDS = frozenset({"Image", "ParentImage", "CommandLine", "User", "LogonId",
                                  "IntegrityLevel", "Computer", "EventID", "Channel"})
# Fields a Sysmon registry record does not carry, by event id: 12 (key or value created or
# deleted) has neither Details nor NewName, 13 (value set) no NewName, 14 (key or value renamed)
# no Details (https://learn.microsoft.com/sysinternals/downloads/sysmon, events 12, 13, 14). A
# registry_event plan that tests Details is made a 13 record, not a 12 record holding Details.
SYSMON_RECORD_LACKS: dict[int, frozenset[str]] = {
    12: frozenset({"Details", "NewName"}),
    13: frozenset({"NewName"}),
    14: frozenset({"Details"}),
}
# What a Sysmon registry record of an id always carries besides the tested fields: EventType
# names the operation (12: CreateKey, DeleteKey or DeleteValue; 13: SetValue; 14: RenameKey),
# written in one fixed spelling, the closed list ASIM's Sysmon registry parsers look up
# (Azure/Azure-Sentinel Parsers/ASimRegistryEvent/Parsers/vimRegistryEventMicrosoftSysmon.yaml,
# `RegistryAction`).
SYSMON_KIND_COMPANIONS: dict[int, dict[str, Any]] = {
    12: {"EventType": "CreateKey"}, 13: {"EventType": "SetValue"}, 14: {"EventType": "RenameKey"},
}
SYSMON_REGISTRY_VOCABULARIES: dict[str, tuple[str, ...]] = {
    "EventType": ("CreateKey", "DeleteKey", "DeleteValue", "SetValue", "RenameKey"),
}
# Fields whose values come from a closed list: an event with anything else is not realistic (and
# a target schema may have no rendering for it). Sysmon writes the integrity level names; Security
# 4688 the mandatory label SIDs (Microsoft: "Mandatory Integrity Control", well-known SIDs).
VOCABULARIES: dict[str, tuple[str, ...]] = {
    "IntegrityLevel": ("System", "High", "Medium", "Low", "Untrusted", "S-1-16-16384",
                       "S-1-16-12288", "S-1-16-8192", "S-1-16-4096", "S-1-16-0"),
    # Sysmon writes these network-connection flags as the words true/false (the tables map them
    # with value_map, which has no target for other text).
    **dict.fromkeys(("Initiated", "SourceIsIpv6", "DestinationIsIpv6"), ("true", "false")),
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
    "Hash": (",", ", "),  # Sysmon 15's Hash has the same structure (the shippers parse it alike)
}
#: Fillers for a wildcard that starts the value of a field whose values always begin with a
#: fixed kind of prefix: Sysmon writes every TargetObject from a hive (HKLM, HKU, HKCR), and a
#: positive event that starts elsewhere is one no shipper sees (ASIM's registry parser, for one,
#: cannot normalise its hive). None ends with a backslash, so a value name follows.
LEADING_FILLERS: dict[str, tuple[str, ...]] = {
    "TargetObject": ("HKLM\\SOFTWARE\\Vendor", "HKU\\S-1-5-21-1-2-3-1001\\Software",
                     "HKCR\\CLSID\\{0}"),
}
#: Fields whose values the shippers parse into parts (hash lists): mutations keep the structure.
STRUCTURED_FIELDS = frozenset(("Hashes", "Hash"))
WRAPS = ((" ", " "), ('"', '"'), ("\\", "\\"), ("*", "*"), ("?", "?"), ("'", "'"))


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
        # The reference's engine (its ASCII shorthand classes, its time limit): a hostile
        # pattern backtracks without end in a plain re.search on a candidate or near miss.
        try:
            return compiled_regex(value.source, value.flags).search(text)
        except (Unsupported, Undecided):
            return None
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
        if i == 0 and part is MULTI and field in LEADING_FILLERS:
            pool = LEADING_FILLERS[field]
        else:
            pool = FIELD_FILLERS.get(field, FILLERS) if part is MULTI else SINGLES
        start = int(rng.random() * len(pool)) if rng else 0  # one draw per wildcard, always
        before = out[-1][-1:] if out and out[-1] else ""
        following = parts[i + 1] if i + 1 < len(parts) else None
        after = following[:1] if isinstance(following, str) else ""
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
    if field in ADDRESS_FIELDS:
        out = _addresses(out, values) + out
    return out


def _addresses(candidates: list[Any], values: list[Any]) -> list[str]:
    """Address texts that pass all ``values``: the samples, then each text candidate completed
    (``_ADDRESS_TAILS``)."""
    texts = [*_ADDRESSES,
             *(c + t for c in candidates if isinstance(c, str) for t in _ADDRESS_TAILS)]
    found: list[str] = []
    for text in texts:
        try:
            ipaddress.ip_address(text)
        except ValueError:
            continue
        if text not in found and all(satisfies(text, v) is not False for v in values):
            found.append(text)
    return found


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


def _glob_mutations(glob: Glob, field: str = "") -> Iterator[tuple[Glob, bool, str]]:
    """(mutated glob, still meant to match, what changed) for one Sigma string of ``field``."""
    parts = glob.parts
    if not parts:  # the empty string: its only near misses are non-empty values
        for before, after in WRAPS:
            yield Glob((before + after,), glob.cased), False, f"{before + after!r} instead of ''"
        return
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
    # Letters glued to a text next to '*' ('*whoami*' -> 'xwhoamix'): still a match, but no
    # longer a whole term, which tells a substring test from a term test (Kusto's `has`, a
    # tokenised full-text match) that fillers of spaces and punctuation never do.
    glued = tuple(
        ("q" if i > 0 and parts[i - 1] is MULTI else "") + part
        + ("q" if i < last and parts[i + 1] is MULTI else "")
        if isinstance(part, str) and part else part
        for i, part in enumerate(parts)
    )
    # Not in a value with a structure the shipper parses ("MD5=<hex>,SHA1=<hex>": a letter
    # glued to it makes a record no shipper writes, its digest one character longer).
    if glued != parts and field not in STRUCTURED_FIELDS:
        yield Glob(glued, glob.cased), True, "letters glued to the text"


def _mutations(lit: Lit, rng: random.Random, vocabulary: tuple[str, ...] | None = None
               ) -> Iterator[tuple[Any, bool, str]]:
    """(replacement value, still meant to match, what changed) for one positive literal."""
    v = lit.value
    if vocabulary:  # a closed list: the near misses are the other values of the list
        others = [w for w in vocabulary if satisfies(w, v) is False]
        yield from ((Fixed(w), False, f"another listed value {w!r}") for w in others[:2])
    elif isinstance(v, Glob):
        yield from _glob_mutations(v, lit.field or "")
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
    elif isinstance(v, SigmaExists):
        # Sigma's modifiers appendix: exists "only verifies the presence of a field, not its
        # value, be it empty or null" (an Elasticsearch exists query and Splunk read null as
        # absent): the null event shows it for |exists: false as for |exists: true.
        yield Fixed(None), v.exists, "present with a JSON null"
