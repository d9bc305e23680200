"""Generator, part 4: the near misses that find folding, length-limit and number-reading bugs.

Every value a rule tests gets, besides the mutations of ``generate_values``:

* **case partners** of its letters (``partner ...``): the non-ASCII characters whose Unicode
  simple lowercase equals a letter's (İ for i, the Kelvin sign for k, ẞ for ß, Σ for σ, É for é)
  and those that look alike but fold elsewhere (ı for i, ſ for s, ς for σ, a fullwidth letter
  for an ASCII one), and every other code point equal to a letter under one of the foldings
  the interpreters model (the micro sign for Greek mu: ``backends/query/folding.py``). Sigma's
  folding ("string_case" in ``converter.reference.semantics``) says which match; an engine
  that folds ASCII only, or with Python's ``str.lower``, differs here;
* a **long value** (``long value past every field limit ...``): longer than every value limit the field model knows
  (``ignore_above`` of each field, 1,024 on Defend's ``.caseless`` sub-fields, or a user
  mapping's), so a target that stops indexing a value past its limit shows it; also where a
  ``null`` or ``|exists`` test is made, as an exists query misses such a value;
* a **long positive** (``long positive ...``, ``long_positives``): for each field a positive
  tests with a pattern (``*``, a regex), the positive event with that field's value made longer
  than every limit while every test of the event's plan on that field still holds, so a target
  whose index drops the value misses an event the rule matches (the limit decides the query,
  not just one leaf: ``converter.checking.limits.limit_shows``);
* a **trailing** ``\\n`` / ``\\r\\n`` (``trailing ...``): a regex ``$`` also matches before a
  final newline;
* **number-like text** (``numeric-text ...``) for a number or a comparison: ``1_001``,
  Arabic-Indic digits, ``inf``, ``nan``, ``0x10``, leading zeros, ``4242.0``, a fraction of the
  limit, a space before the digits; read as numbers only as "number_text" says.

Each is a ``(value, meant to match, what)`` triple as ``generate_values._mutations`` gives;
``converter.generate`` labels every event with the reference verdict.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from sigma.types import (
    CompareOperators,
    SigmaCompareExpression,
    SigmaExists,
    SigmaNull,
    SigmaNumber,
)

from backends.query.fields import BUILTIN_SOURCES, FieldModel

from converter.generate.plan import MULTI, SINGLE, Fixed, Glob, Lit, Plan, Rx
from converter.generate.regex import RegexUnsupported, regex_example
from converter.generate.values import (
    FIELD_FILLERS,
    LEADING_FILLERS,
    STRUCTURED_FIELDS,
    VOCABULARIES,
    satisfies,
)
from converter.reference.fields import fold, number_of

#: Non-ASCII characters that fold to the same character as a letter (``True``: the same under
#: Sigma's folding) or look like it and fold elsewhere (``False``), per letter folded.
_PARTNERS: dict[str, tuple[tuple[str, str], ...]] = {
    "i": (("\u0130", "İ (capital I with dot)"), ("\u0131", "ı (dotless i)")),
    "k": (("\u212a", "K (Kelvin sign)"),),
    "s": (("\u017f", "ſ (long s)"),),
    "ß": (("\u1e9e", "ẞ (capital sharp s)"),),
    "σ": (("\u03a3", "Σ (capital sigma)"), ("\u03c2", "ς (final sigma)")),
    "ς": (("\u03c3", "σ (sigma)"), ("\u03a3", "Σ (capital sigma)")),
}
_FULLWIDTH = 0xFEE0  # an ASCII letter plus this is its fullwidth form ('A' -> 'Ａ', 'a' -> 'ａ')
MAX_PARTNERS = 4  # case-partner mutations per value


def _partners(char: str) -> Iterator[tuple[str, str]]:
    """(replacement, description) for one character of a literal: the named partners, the other
    case of a non-ASCII letter, every other code point that some engine's folding takes for it
    (``_reading_partners``), and the fullwidth form of an ASCII letter."""
    folded = fold(char)
    named = _PARTNERS.get(folded, ())
    yield from named
    known = {char, *(c for c, _ in named)}
    if not char.isascii() and char.isalpha():  # É for é and é for É: the other case, if one
        other = char.lower() if fold(char) != char else char.upper()
        if len(other) == 1 and other not in known:
            known.add(other)
            yield other, f"{other} (other case of {char})"
    for other in _reading_partners(char):
        if other not in known and not (other.isascii() and char.isascii()):
            known.add(other)
            yield other, (f"{other} (U+{ord(other):04X}, equal to {char!r} under some engine's "
                          "folding)")
    if char.isascii() and char.isalpha():
        wide = chr(ord(char.swapcase()) + _FULLWIDTH)
        yield wide, f"{wide} (fullwidth)"


@lru_cache(maxsize=4096)
def _reading_partners(char: str) -> tuple[str, ...]:
    """Every code point equal to ``char`` under one of the case foldings the interpreters model
    (per code point lowercase, Unicode simple case folding, .NET's uppercase: ``folding.py``),
    in code-point order. ``_PARTNERS`` names the common ones; this finds the rest, such as the
    micro sign for Greek mu or the symbol ``ϐ`` for beta (equal under case folding only), so an
    emitter that kept such a letter as a caseless literal meets the event that shows it."""
    from backends.query.folding import SIMPLE, UNICODE, UPPER, equivalents

    found = set("".join(equivalents(char, reading) for reading in (SIMPLE, UNICODE, UPPER)))
    return tuple(sorted(found - {char}, key=ord))


def _partner_mutations(glob: Glob) -> Iterator[tuple[Glob, bool, str]]:
    """One character of a literal replaced by a case partner: the first occurrence of each kind
    of partner, at most ``MAX_PARTNERS``; a fullwidth letter only once."""
    if SINGLE in glob.parts:  # '?' is one character, also one whose str.lower is two
        at = glob.parts.index(SINGLE)
        yield (Glob(glob.parts[:at] + ("\u0130",) + glob.parts[at + 1:], glob.cased), True,
               "partner İ (capital I with dot) fills '?'")
    seen: set[str] = set()
    fullwidth = False
    count = 0
    for i, part in enumerate(glob.parts):
        if not isinstance(part, str):
            continue
        for j, char in enumerate(part):
            for replacement, what in _partners(char):
                wide = what.endswith("(fullwidth)")
                if replacement in seen or (wide and fullwidth) or count >= MAX_PARTNERS:
                    continue
                seen.add(replacement)
                fullwidth = fullwidth or wide
                count += 1
                same = replacement == char if glob.cased else fold(replacement) == fold(char)
                text = part[:j] + replacement + part[j + 1:]
                yield (Glob(glob.parts[:i] + (text,) + glob.parts[i + 1:], glob.cased), same,
                       f"partner {what} for {char!r}")


def _long_mutations(glob: Glob, length: int, lead: str = "") -> Iterator[tuple[Fixed, bool, str]]:
    """The value made longer than ``length``: its first ``*`` filled with the padding (still a
    match), else the padding after its end (a near miss). A fixed value, not a pattern: a
    pattern holding the padding would cost a quadratic match for every candidate value.
    ``lead`` starts the padding of a leading ``*`` (a field whose values begin with a fixed
    kind of prefix, ``LEADING_FILLERS``: a registry path still starts with a hive)."""
    pad = "x" * length
    if MULTI in glob.parts:
        at = glob.parts.index(MULTI)
        if at == 0 and lead:
            pad = lead + "\\" + pad
        text = "".join(p if isinstance(p, str) else pad if i == at else " " if p is MULTI
                       else "x" for i, p in enumerate(glob.parts))
        yield (Fixed(text), True,
               f"long value past every field limit ({len(text)} characters) inside a wildcard")
    else:
        text = "".join(p if isinstance(p, str) else "x" for p in glob.parts) + pad
        yield (Fixed(text), False,
               f"long value past every field limit ({len(text)} characters) after the literal")


def _newline_mutations(glob: Glob) -> Iterator[tuple[Glob, bool, str]]:
    keep = glob.parts[-1] is MULTI if glob.parts else False
    for ending, name in (("\n", "\\n"), ("\r\n", "\\r\\n")):
        yield Glob(glob.parts + (ending,), glob.cased), keep, f"trailing {name}"


def _regex_newline_mutations(rx: Rx, rng: random.Random) -> Iterator[tuple[Fixed, bool, str]]:
    """A regex example with a newline after it (PCRE's and Python's ``$`` match before it)."""
    try:
        example = regex_example(rx.source, rx.flags, rng)
    except RegexUnsupported:
        return
    for ending, name in (("\n", "\\n"), ("\r\n", "\\r\\n")):
        keep = satisfies(example + ending, rx) is True  # bounded, as the reference runs it
        yield Fixed(example + ending), keep, f"trailing {name} after the regex example"


#: An inline flag group that turns caseless matching on somewhere in a pattern (``(?i)``,
#: ``(?si:``).
_INLINE_CASELESS = re.compile(r"\(\?[a-zA-Z]*i[a-zA-Z]*[:)]")


def _regex_partner_mutations(rx: Rx, rng: random.Random) -> Iterator[tuple[Fixed, bool, str]]:
    """A caseless regex's example with one character replaced by a case partner (İ or ı for i,
    the Kelvin sign for k, ſ for s, a fullwidth letter ...), at most ``MAX_PARTNERS``.

    Engines fold differently under ``(?i)``: PCRE2 and RE2 pair only the simple case foldings of
    CaseFolding.txt (İ matches only itself), Java's Pattern and the reference's regex package
    also pair i with İ and I with ı, an ASCII-only reading pairs none. An emitter that keeps
    ``(?i)`` or writes ``[iI]`` is shown on these events, not proven on ASCII examples alone.
    The reference labels each (``satisfies``, its bounded engine)."""
    if not (rx.flags & re.IGNORECASE or _INLINE_CASELESS.search(rx.source)):
        return
    try:
        example = regex_example(rx.source, rx.flags, rng)
    except RegexUnsupported:
        return
    # The named partners (İ, ı, the Kelvin sign, ſ ...) first: engines disagree on them most.
    candidates = sorted(
        ((replacement not in dict(_PARTNERS.get(fold(char), ())), at, replacement, what)
         for at, char in enumerate(example) for replacement, what in _partners(char)),
        key=lambda c: c[:2])
    seen: set[str] = set()
    for _, at, replacement, what in candidates:
        if replacement in seen or len(seen) >= MAX_PARTNERS:
            continue
        seen.add(replacement)
        text = example[:at] + replacement + example[at + 1:]
        yield (Fixed(text), bool(satisfies(text, rx)),
               f"partner {what} for {example[at]!r} in the regex example")


def _number_texts(number: Any) -> list[tuple[str, str]]:
    """(text, description) of the strings that look like ``number`` and are read differently
    by Python, Java, Elasticsearch's coercion or Sigma ("number_text")."""
    text = str(number)
    sign = "-" if text.startswith("-") else ""
    out = [(sign + "0" + text.lstrip("-"), "leading zero"), (f"{text}.0" if isinstance(number, int) else text + "0",
                                          "trailing .0"),
           (" " + text, "space before the digits"),
           (text.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")), "Arabic-Indic digits")]
    if isinstance(number, int):
        digits = text.lstrip("-")
        if len(digits) > 1:  # Python's int() reads '1_001' (PEP 515), nothing else does
            grouped = f"{number:_}" if len(digits) > 3 else text[:-len(digits) + 1] + "_" + \
                digits[1:]
            out.append((grouped, "'_' between digits"))
        out.append((hex(number), "hexadecimal"))
    return out


def _number_mutations(value: Any) -> Iterator[tuple[Fixed, bool, str]]:
    if isinstance(value, SigmaNumber):
        wanted = value.number
        for text, what in _number_texts(wanted):
            yield Fixed(text), text == str(wanted), f"numeric-text {text!r} ({what})"
        return
    op, limit = value.op, value.number.number
    compare = {CompareOperators.LT: lambda n: n < limit, CompareOperators.LTE: lambda n: n <= limit,
               CompareOperators.GT: lambda n: n > limit, CompareOperators.GTE: lambda n: n >= limit,
               CompareOperators.NEQ: lambda n: n != limit}[op]
    inside = limit + 1 if op in (CompareOperators.GT, CompareOperators.GTE,
                                 CompareOperators.NEQ) else limit - 1
    texts = _number_texts(inside) + [
        ("inf" if inside > limit else "-inf", "infinity"), ("nan", "not a number"),
        (f"{limit}.5" if isinstance(limit, int) else f"{limit}1", "a fraction past the limit"),
    ]
    for text, what in texts:
        number = number_of(text)
        yield (Fixed(text), number is not None and compare(number),
               f"numeric-text {text!r} ({what})")


def hostile_mutations(lit: Lit, length: int, rng: random.Random
                      ) -> Iterator[tuple[Any, bool, str]]:
    """(replacement value, still meant to match, what changed) for one positive literal:
    case partners, a value longer than ``length``, trailing newlines, number-like text."""
    value = lit.value
    if isinstance(value, Glob) and lit.field in STRUCTURED_FIELDS:
        # Sysmon writes the algorithm names and hex digits of Hashes / Hash in ASCII, one line:
        # an İ in "IMPHASH" or a trailing newline is a record no shipper parses (its kv split
        # drops the key), so such near misses would show differences on data that cannot exist.
        return
    if isinstance(value, Glob):
        yield from _partner_mutations(value)
        if lit.field not in FIELD_FILLERS:  # a padded User or Hashes loses its structure
            lead = LEADING_FILLERS.get(lit.field or "", ("",))[0]
            yield from _long_mutations(value, length, lead)
        yield from _newline_mutations(value)
    elif isinstance(value, Rx):
        yield from _regex_partner_mutations(value, rng)
        yield from _regex_newline_mutations(value, rng)
    elif isinstance(value, (SigmaNumber, SigmaCompareExpression)):
        yield from _number_mutations(value)
    else:
        yield from presence_mutations(lit, length)


def presence_mutations(lit: Lit, length: int) -> Iterator[tuple[Fixed, bool, str]]:
    """A value longer than ``length`` where ``lit`` tests null or presence (``null``,
    ``|exists``), positive or negated: no keyword field indexes it, so an exists query does not
    see it, while to Sigma it is a value (not null, present). A negated literal also gets the
    field present with a JSON null, which Sigma's ``exists`` counts as present and Elasticsearch
    and Splunk as absent. ``(value, the rule still matches, what)``; nothing for other literals."""
    value = lit.value
    if not isinstance(value, (SigmaNull, SigmaExists)):
        return
    if not lit.positive:  # a positive literal gets its null event from ``values._mutations``
        # Present with a JSON null: null to Sigma, and present ('exists' checks presence only).
        null_matches = not isinstance(value, SigmaExists) or value.exists
        yield Fixed(None), null_matches is lit.positive, "present with a JSON null"
    if lit.field in FIELD_FILLERS:
        return
    lead = LEADING_FILLERS.get(lit.field or "", ("",))[0]
    text = (lead + "\\" if lead else "") + "x" * length
    present_matches = isinstance(value, SigmaExists) and value.exists
    yield (Fixed(text), present_matches is lit.positive,
           f"long value past every field limit ({len(text)} characters) where null or "
           "absence is tested")


#: Where padding goes in a value, tried in this order: after a path or word separator (the value
#: keeps its shape: ``C:\\xxx…\\Windows\\cmd.exe``), at its end, at its start.
_SEPARATORS = "\\/ "
#: Padding characters tried in turn (a negated test of the same field may hold the first).
_PADDING = ("x", "0", "_")
MAX_PAD_POSITIONS = 32


def long_positives(plan: Plan, event: dict[str, Any], length: int
                   ) -> Iterator[tuple[str, str, str]]:
    """``(field, value, what)`` per field that ``plan``'s positive literals test with a pattern
    (a ``*`` or a regex): ``event``'s value of that field (a positive of the plan) made longer
    than ``length`` so that every positive test of the plan on the field still holds and no
    negated one does.

    A value over a field's ``ignore_above`` is not indexed: the target's query then misses an
    event the rule matches. The per-literal long value (``hostile_mutations``) replaces one test's
    value only, so where a field has several tests (``contains|all``, a filter on it) the rest of
    the query masks the limit; this one keeps them, so the limit decides the whole query
    (``converter.checking.limits.limit_shows``) and ``check`` shows the difference, or, with a
    form of the field that has no limit, proves it. Fields whose values have a structure a
    shipper parses (``FIELD_FILLERS``, ``STRUCTURED_FIELDS``) or come from a closed list
    (``VOCABULARIES``) get none: no record holds such a value.
    """
    tests: dict[str, tuple[list[Any], list[Any]]] = {}
    for lit in plan:
        if lit.field is not None:
            pos, neg = tests.setdefault(lit.field, ([], []))
            (pos if lit.positive else neg).append(lit.value)
    for field, (pos, neg) in tests.items():
        if field in FIELD_FILLERS or field in STRUCTURED_FIELDS or field in VOCABULARIES:
            continue
        if not pos or not all(isinstance(v, (Glob, Rx)) for v in pos):
            continue  # a number, a Fixed value, null: nothing a padding keeps
        if not any(isinstance(v, Rx) or MULTI in v.parts for v in pos):
            continue  # only exact values: a longer value matches none of them
        value = event.get(field)
        if not isinstance(value, str):
            continue
        padded = _padded(value, pos, neg, length, field in LEADING_FILLERS)
        if padded is not None:
            yield (field, padded,
                   f"long positive: {field} past every field limit ({len(padded)} characters) "
                   "with every test of it kept")


def _padded(value: str, pos: list[Any], neg: list[Any], length: int, fixed_start: bool
            ) -> str | None:
    """``value`` with ``length`` padding characters inserted where every ``pos`` value still
    holds and no ``neg`` value does (``satisfies``), or None. ``fixed_start``: the field's values
    begin with a fixed kind of prefix (a registry hive), so nothing goes before it."""
    positions = [i + 1 for i, char in enumerate(value) if char in _SEPARATORS]
    positions = positions[:MAX_PAD_POSITIONS] + [len(value)] + ([] if fixed_start else [0])
    for char in _PADDING:
        pad = char * length
        for at in dict.fromkeys(positions):
            candidate = value[:at] + pad + value[at:]
            if all(satisfies(candidate, p) is not False for p in pos) and not any(
                satisfies(candidate, n) is True for n in neg
            ):
                return candidate
    return None


@lru_cache(maxsize=1)
def _builtin_limit() -> int:
    return max(_model_limit(FieldModel.builtin(source)) for source in BUILTIN_SOURCES)


@lru_cache(maxsize=8)
def _model_limit(model: FieldModel) -> int:
    limits = (model.lookup(name) for name in model)
    return max((info.ignore_above for info in limits if info and info.ignore_above), default=0)


def long_value_length(model: FieldModel | None = None) -> int:
    """A length past every value limit the built-in field models and ``model`` (a user's
    mapping, ``--mapping``) know: the longest ``ignore_above`` plus one."""
    limit = _builtin_limit()
    if model is not None:
        limit = max(limit, _model_limit(model))
    return limit + 1
