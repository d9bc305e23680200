"""Reference evaluator: does a Sigma rule match one event, by Sigma's own semantics.

This is the oracle the equivalence proof compares every emitted query against, so it must not
share code with any emitter: it reads pySigma's parsed rule (``rule.detection.parsed_condition``,
whose leaves carry typed values with the modifiers already applied by pySigma, which is Sigma's
own modifier semantics) and builds its own matchers from ``SigmaString.iter_parts()``. It never
calls ``SigmaString.convert()`` or any backend escaping, and never imports ``backends/``.

Usage::

    compiled = compile_rule(rule)          # once per rule
    verdict = compiled.evaluate(event)     # many events -> Verdict(matched, unsupported, ...)

Every choice the Sigma specification leaves open is an entry of ``SIGMA_SEMANTICS`` below with
the spec passage it rests on; the matcher code refers to those entries by name in comments.
Whatever cannot be evaluated faithfully (placeholders, time modifiers, correlations, logsources
without a membership rule) yields ``Verdict(matched=None, unsupported=<reason>)``, never a silent
``False``. Evaluation is two-valued: a missing field fails every value test, so ``not`` of it holds.
"""

from __future__ import annotations

import ipaddress
import operator
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import regex
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError
from sigma.modifiers import SigmaBase64Modifier, SigmaBase64OffsetModifier, SigmaUTF16Modifier
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
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
    SigmaTimestampPart,
    SigmaType,
    SpecialChars,
)

from .logsources import LogsourceUnsupported, describe, membership

RULES_SPEC = (
    "https://github.com/SigmaHQ/sigma-specification/blob/main/specification/"
    "sigma-rules-specification.md"
)
MODIFIERS_SPEC = (
    "https://github.com/SigmaHQ/sigma-specification/blob/main/specification/"
    "sigma-appendix-modifiers.md"
)
TAXONOMY_SPEC = (
    "https://github.com/SigmaHQ/sigma-specification/blob/main/specification/"
    "sigma-appendix-taxonomy.md"
)


@dataclass(frozen=True)
class Fact:
    """One semantic choice of the reference evaluator and the spec text it rests on."""

    value: object
    doc: str
    note: str = ""


SIGMA_SEMANTICS: dict[str, Fact] = {
    "string_case": Fact(
        "insensitive", RULES_SPEC,
        "'General': values are case-insensitive; both sides are folded with str.lower.",
    ),
    "cased": Fact("sensitive", MODIFIERS_SPEC, "'cased': values are applied case sensitively."),
    "wildcards": Fact(
        "* = any run (also empty, also newlines), ? = exactly one character", RULES_SPEC,
        "'String Wildcard' / 'Escape Character'; escapes are resolved by pySigma's SigmaString.",
    ),
    "whole_value": Fact(True, RULES_SPEC, "A plain value must equal the whole field value."),
    "regex": Fact(
        "Python re.search (unanchored), case-sensitive unless |i; |m and |s set re flags",
        MODIFIERS_SPEC, "The spec defines ^ and $ anchors, so an unanchored pattern may match "
        "anywhere (search semantics).",
    ),
    "numbers": Fact(
        "compared as strings; a numeric event value also compares numerically", RULES_SPEC,
        "'General': all values are strings; EventID: 4688 matches 4688 and '4688'.",
    ),
    "null": Fact(
        "missing key, JSON null, or an empty list", RULES_SPEC,
        "'Special Field Values': application depends on the target. pySigma backends render "
        "F: null as a not-exists test (inferred from their field_null_expression), so missing "
        "and null both count.",
    ),
    "exists": Fact(
        "the key is present, whatever its value (also null)", MODIFIERS_SPEC,
        "'exists': only verifies the presence of a field, not its value, be it empty or null. "
        "Targets that index null as absent diverge on events with explicit nulls.",
    ),
    "missing_field": Fact(
        "every value test is false; 'not' of it is true (two-valued)", RULES_SPEC,
        "The spec is silent; this is the SIEM backends' convention (SEMANTICS.md 7.1).",
    ),
    "multi_valued": Fact(
        "a value test holds when any list element matches", RULES_SPEC,
        "The spec is silent; backend convention (ES and Splunk multi-value fields).",
    ),
    "field_names": Fact(
        "exact, case-sensitive keys; a dotted name falls back to nested objects", TAXONOMY_SPEC,
        "Sigma Windows events are flat (Image, CommandLine).",
    ),
    "keywords": Fact(
        "some scalar value anywhere in the event contains the keyword (wildcards honoured, "
        "case-insensitive)", RULES_SPEC,
        "'Keywords search': keywords are searched across an entire event.",
    ),
    "neq": Fact(
        "not (v1 or v2 ...); a missing field therefore satisfies neq", MODIFIERS_SPEC,
        "pySigma implements neq by negating the detection item.",
    ),
    "fieldref": Fact(
        "the two fields' values compared as case-insensitive strings (any pair of elements)",
        MODIFIERS_SPEC, "Case-insensitive per 'General'; contains/startswith/endswith apply.",
    ),
    "encodings": Fact(
        "base64/base64offset/utf16*/windash are the typed values pySigma's modifiers produce, "
        "matched like any other string (so case-insensitively)", MODIFIERS_SPEC,
        "pySigma's windash only rewrites '-' and '/' at the start of a word.",
    ),
    "logsource": Fact(
        "a rule matches only events of its logsource (converter.logsources table)", TAXONOMY_SPEC,
    ),
}


class ReferenceEvaluationError(Exception):
    """Root of the reference evaluator's errors: it was handed something that is not a rule."""


class _Unsupported(Exception):
    """Internal: a construct cannot be evaluated; the message is the verdict's reason."""


class _Undecided(Exception):
    """Internal: evaluating one event ran past a time limit; the verdict is unknown."""


@dataclass(frozen=True)
class Verdict:
    """Outcome of one rule on one event.

    Attributes:
        matched: True / False, or None when the rule cannot be evaluated.
        unsupported: why the rule cannot be evaluated (None when it can); set iff matched is None.
        logsource_ok: the event belongs to the rule's logsource.
    """

    matched: bool | None
    unsupported: str | None = None
    logsource_ok: bool = True


_MATCH = Verdict(True, None, True)
_NO_MATCH = Verdict(False, None, True)
_OUTSIDE = Verdict(False, None, False)

Event = Mapping[str, Any]
Predicate = Callable[[Event], bool]
ValueTest = Callable[[Any], bool]
Parts = tuple["str | SpecialChars", ...]

_MISSING: Any = object()  # sentinel: the key is absent (distinct from a JSON null)


# ---------------------------------------------------------------------------------------------
# Event access


def _field_getter(name: str) -> Callable[[Event], Any]:
    """Return a reader for field ``name`` ("field_names": exact key, then the dotted path)."""
    if "." not in name:
        return lambda event: event.get(name, _MISSING)
    path = name.split(".")

    def get(event: Event) -> Any:
        value = event.get(name, _MISSING)
        if value is not _MISSING:
            return value
        node: Any = event
        for part in path:
            if not isinstance(node, Mapping):
                return _MISSING
            node = node.get(part, _MISSING)
            if node is _MISSING:
                return _MISSING
        return node

    return get


def _scalars(value: Any) -> Iterator[Any]:
    """Yield the non-null scalars of a field value, flattening lists ("multi_valued")."""
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from _scalars(item)
    elif value is not None and value is not _MISSING:
        yield value


def _event_scalars(value: Any) -> Iterator[Any]:
    """Yield every scalar anywhere in an event, for keyword searches."""
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _event_scalars(item)
    else:
        yield from _scalars(value)


def _text(value: Any) -> str | None:
    """The string a scalar event value is compared as ("numbers"); None for objects."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):  # JSON true/false, spelled as Sigma's YAML would write them
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return None


def _number(value: Any) -> int | float | None:
    """The numeric reading of an event value for gt/gte/lt/lte (a decimal string counts)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip()
        for parse in (int, float):
            try:
                return parse(text)
            except ValueError:
                continue
    return None


# ---------------------------------------------------------------------------------------------
# Value matchers


def _string_parts(value: SigmaString) -> Parts:
    """Return the literal/wildcard parts of a Sigma string, merged; placeholders are refused."""
    parts: list[str | SpecialChars] = []
    for part in value.iter_parts():
        if isinstance(part, Placeholder):
            raise _Unsupported(
                f"placeholder %{part.name}% (expand modifier) needs a value source that the "
                "reference evaluator does not have"
            )
        if isinstance(part, str) and parts and isinstance(parts[-1], str):
            parts[-1] += part
        else:
            parts.append(part)
    return tuple(parts)


@lru_cache(maxsize=16384)
def _glob(parts: Parts, cased: bool, search: bool) -> Callable[[str], bool]:
    """Compile Sigma wildcard parts into a test on one string.

    ``search`` gives contains semantics (keywords); otherwise the whole value must match
    ("whole_value"). Case folding is ``str.lower`` on both sides unless ``cased``.
    """
    many = SpecialChars.WILDCARD_MULTI
    items = list(parts)
    if search:  # a leading or trailing '*' adds nothing to a substring search
        while items and items[0] is many:
            items.pop(0)
        while items and items[-1] is many:
            items.pop()
    fold: Callable[[str], str] = (lambda s: s) if cased else str.lower
    items = [fold(p) if isinstance(p, str) else p for p in items]
    # Fast paths for the shapes contains/startswith/endswith produce; a regex otherwise.
    if all(isinstance(p, str) for p in items):
        literal = "".join(items)  # type: ignore[arg-type]
        if search:
            return lambda s: literal in fold(s)
        return lambda s: fold(s) == literal
    # Only literal runs and '*' qualify: a '?' is one character, not a literal.
    if not search and all(isinstance(p, str) or p is many for p in items):
        strs = [p for p in items if isinstance(p, str)]
        shape = tuple(p is many for p in items)
        if shape == (True,):
            return lambda s: True
        if shape == (True, False):
            return lambda s: fold(s).endswith(strs[0])
        if shape == (False, True):
            return lambda s: fold(s).startswith(strs[0])
        if shape == (True, False, True):
            return lambda s: strs[0] in fold(s)
    source = "".join(
        re.escape(p) if isinstance(p, str) else (".*" if p is many else ".") for p in items
    )
    # DOTALL: '*' and '?' stand for any character, a newline in a command line included.
    pattern = _Bounded(re.compile(source, re.DOTALL), "wildcard value")
    find = pattern.search if search else pattern.fullmatch
    return lambda s: find(fold(s))


#: Seconds one regex (or wildcard) match against one value may take. Python's ``re`` backtracks,
#: so ``^(a+)+$`` on a long value runs for minutes; past this limit the event's verdict is
#: "unsupported" (naming the rule and the pattern), never a silent non-match.
MATCH_TIME_LIMIT = 1.0
_TO_REGEX_FLAGS = (
    (re.IGNORECASE, regex.IGNORECASE),
    (re.MULTILINE, regex.MULTILINE),
    (re.DOTALL, regex.DOTALL),
)


class _Bounded:
    """A pattern validated by ``re`` and run by the ``regex`` package, whose default (VERSION0)
    mode has ``re``'s syntax and semantics and whose matching takes a ``timeout``."""

    __slots__ = ("_what", "_compiled", "_timed_out")

    def __init__(self, compiled: re.Pattern[str], what: str) -> None:
        bits = sum(new for old, new in _TO_REGEX_FLAGS if compiled.flags & old)
        self._what = what
        self._compiled = regex.compile(compiled.pattern, bits)
        # Length of the value a match timed out on; from then on the pattern refuses at once,
        # so a batch pays the time limit once per pattern, not once per event.
        self._timed_out: int | None = None

    def search(self, value: str) -> bool:
        return self._run(self._compiled.search, value)

    def fullmatch(self, value: str) -> bool:
        return self._run(self._compiled.fullmatch, value)

    def _run(self, method: Callable[..., Any], value: str) -> bool:
        if self._timed_out is None:
            try:
                return method(value, timeout=MATCH_TIME_LIMIT) is not None
            except TimeoutError:
                self._timed_out = len(value)
        raise _Undecided(
            f"{self._what} {self._compiled.pattern!r} ran past {MATCH_TIME_LIMIT:g}s on a "
            f"{self._timed_out}-character value (catastrophic backtracking); its matches are "
            "undecided"
        )


@lru_cache(maxsize=4096)
def _regex(source: str, flags: int) -> _Bounded:
    try:
        compiled = re.compile(source, flags)
    except re.error as error:
        raise _Unsupported(f"regular expression {source!r} does not compile: {error}") from None
    return _Bounded(compiled, "regular expression")


_REGEX_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: re.IGNORECASE,
    SigmaRegularExpressionFlag.MULTILINE: re.MULTILINE,
    SigmaRegularExpressionFlag.DOTALL: re.DOTALL,
}
_COMPARE = {
    CompareOperators.LT: operator.lt,
    CompareOperators.LTE: operator.le,
    CompareOperators.GT: operator.gt,
    CompareOperators.GTE: operator.ge,
    CompareOperators.NEQ: operator.ne,
}


def _regex_source(value: SigmaRegularExpression) -> str:
    """Rebuild the pattern text: pySigma parses it as a SigmaString without escapes, so its
    wildcard parts are the regex's own '*' and '?' characters."""
    out: list[str] = []
    for part in value.regexp.iter_parts():
        if isinstance(part, str):
            out.append(part)
        elif part is SpecialChars.WILDCARD_MULTI:
            out.append("*")
        elif part is SpecialChars.WILDCARD_SINGLE:
            out.append("?")
        else:
            raise _Unsupported(f"placeholder %{part.name}% inside a regular expression")
    return "".join(out)


def _string_test(match: Callable[[str], bool]) -> ValueTest:
    def test(value: Any) -> bool:
        if type(value) is str:  # the common case first, without _text's dispatch
            return match(value)
        text = _text(value)
        return text is not None and match(text)

    return test


def _value_test(value: SigmaType, keyword: bool) -> ValueTest:
    """Compile one typed Sigma value into a test on one scalar event value.

    Args:
        value: a value leaf of pySigma's condition tree.
        keyword: the value is an unbound keyword (substring search, "keywords").

    Raises:
        _Unsupported: the value type cannot be evaluated on an event.
    """
    if isinstance(value, SigmaExpansion):  # windash, base64offset: the variants are OR-ed
        tests = tuple(_value_test(v, keyword) for v in value.values)
        return lambda v: any(t(v) for t in tests)
    if isinstance(value, SigmaString):  # "string_case", "cased", "wildcards"
        cased = isinstance(value, SigmaCasedString)
        return _string_test(_glob(_string_parts(value), cased, keyword))
    if isinstance(value, SigmaRegularExpression):  # "regex"
        flags = 0
        for flag in value.flags:
            flags |= _REGEX_FLAGS[flag]
        return _string_test(_regex(_regex_source(value), flags).search)
    if isinstance(value, SigmaTimestampPart):  # subclass of SigmaNumber: test it first
        raise _Unsupported(
            f"time modifier ({value.timestamp_part.name.lower()}) needs a timestamp format and "
            "time zone that Sigma leaves undefined"
        )
    if isinstance(value, SigmaNumber):  # "numbers"
        number, text = value.number, str(value.number).lower()
        if keyword:
            return _string_test(lambda s: text in s.lower())

        def number_test(v: Any) -> bool:
            if isinstance(v, bool):
                return False
            if isinstance(v, (int, float)):
                return bool(v == number)
            return isinstance(v, str) and v.lower() == text

        return number_test
    if keyword:
        raise _Unsupported(f"keyword (unbound) value of type {type(value).__name__}")
    if isinstance(value, SigmaBool):
        wanted, spelled = value.boolean, str(value.boolean).lower()
        return lambda v: v is wanted or (isinstance(v, str) and v.lower() == spelled)
    if isinstance(value, SigmaCompareExpression):  # gt/gte/lt/lte
        compare, limit = _COMPARE[value.op], value.number.number

        def compare_test(v: Any) -> bool:
            n = _number(v)
            return n is not None and bool(compare(n, limit))

        return compare_test
    if isinstance(value, SigmaCIDRExpression):
        network = value.network

        def cidr_test(v: Any) -> bool:
            if not isinstance(v, str):
                return False
            try:
                address = ipaddress.ip_address(v.strip())
            except ValueError:
                return False
            return address.version == network.version and address in network

        return cidr_test
    raise _Unsupported(f"value type {type(value).__name__} has no reference semantics")


def _any_element(get: Callable[[Event], Any], test: ValueTest) -> Predicate:
    """Field predicate: the field is present and some element passes ("multi_valued")."""

    def predicate(event: Event) -> bool:
        value = get(event)
        if value is _MISSING or value is None:  # "missing_field"
            return False
        if isinstance(value, (list, tuple)):
            return any(test(item) for item in _scalars(value))
        return test(value)

    return predicate


def _fieldref_predicate(get: Callable[[Event], Any], ref: SigmaFieldReference) -> Predicate:
    """Compare two fields of the same event ("fieldref")."""
    other = _field_getter(ref.field)
    if ref.starts_with and ref.ends_with:
        relation: Callable[[str, str], bool] = lambda a, b: b in a
    elif ref.starts_with:
        relation = str.startswith
    elif ref.ends_with:
        relation = str.endswith
    else:
        relation = str.__eq__

    def predicate(event: Event) -> bool:
        left = [t.lower() for t in map(_text, _scalars(get(event))) if t is not None]
        if not left:
            return False
        right = [t.lower() for t in map(_text, _scalars(other(event))) if t is not None]
        return any(relation(a, b) for a in left for b in right)

    return predicate


def _field_predicate(field: str, value: SigmaType) -> Predicate:
    """Compile ``field <op> value`` (one leaf of the condition tree)."""
    get = _field_getter(field)
    if isinstance(value, SigmaNull):  # "null"
        return lambda event: next(_scalars(get(event)), _MISSING) is _MISSING
    if isinstance(value, SigmaExists):  # "exists"
        wanted = value.exists
        return lambda event: (get(event) is not _MISSING) is wanted
    if isinstance(value, SigmaFieldReference):
        return _fieldref_predicate(get, value)
    return _any_element(get, _value_test(value, keyword=False))


def _keyword_predicate(values: list[SigmaType]) -> Predicate:
    """Compile OR-ed unbound values: some scalar of the event contains one ("keywords").

    OR-ed keywords share one pass over the event; top-level strings skip the generator.
    """
    tests = [_value_test(value, keyword=True) for value in values]
    test = tests[0] if len(tests) == 1 else (lambda v: any(t(v) for t in tests))

    def predicate(event: Event) -> bool:
        for value in event.values():
            if type(value) is str or not isinstance(value, (Mapping, list, tuple)):
                if value is not None and test(value):
                    return True
            elif any(test(v) for v in _event_scalars(value)):
                return True
        return False

    return predicate


# ---------------------------------------------------------------------------------------------
# Condition tree


def _all(predicates: list[Predicate]) -> Predicate:
    if len(predicates) == 1:
        return predicates[0]
    if len(predicates) == 2:
        first, second = predicates
        return lambda event: first(event) and second(event)
    frozen = tuple(predicates)
    return lambda event: all(p(event) for p in frozen)


def _any(predicates: list[Predicate]) -> Predicate:
    if len(predicates) == 1:
        return predicates[0]
    if len(predicates) == 2:
        first, second = predicates
        return lambda event: first(event) or second(event)
    frozen = tuple(predicates)
    return lambda event: any(p(event) for p in frozen)


def _compile_node(node: object) -> Predicate:
    """Compile one node of pySigma's post-processed condition tree into a predicate."""
    if isinstance(node, ConditionAND):
        return _all([_compile_node(arg) for arg in node.args])
    if isinstance(node, ConditionOR):
        # OR-ed keywords (a keyword list) share one pass over the event.
        keywords = [a.value for a in node.args if isinstance(a, ConditionValueExpression)]
        rest = [_compile_node(a) for a in node.args if not isinstance(a, ConditionValueExpression)]
        return _any(rest + ([_keyword_predicate(keywords)] if keywords else []))
    if isinstance(node, ConditionNOT):
        inner = _compile_node(node.args[0])
        return lambda event: not inner(event)
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return _field_predicate(node.field, node.value)
    if isinstance(node, ConditionValueExpression):
        return _keyword_predicate([node.value])
    raise _Unsupported(f"condition node {type(node).__name__} has no reference semantics")


def _detection_items(detection: SigmaDetection) -> Iterator[SigmaDetectionItem]:
    for item in detection.detection_items:
        if isinstance(item, SigmaDetection):
            yield from _detection_items(item)
        else:
            yield item


def _refuse_known_modifier_bugs(rule: SigmaRule) -> None:
    """Refuse modifier chains whose pySigma 1.5.1 output contradicts the spec.

    ``utf16`` then ``base64``/``base64offset``: pySigma puts U+FEFF in the string and base64
    encodes its UTF-8 form (EF BB BF), where the modifiers appendix requires the UTF-16 byte
    order mark FF FE; evaluating pySigma's value would prove the wrong bytes.
    """
    for detection in rule.detection.detections.values():
        for item in _detection_items(detection):
            chain = item.modifiers
            if SigmaUTF16Modifier in chain and any(
                m in (SigmaBase64Modifier, SigmaBase64OffsetModifier)
                for m in chain[chain.index(SigmaUTF16Modifier):]
            ):
                raise _Unsupported(
                    f"{item.field or 'keyword'}|utf16|base64*: pySigma 1.5.1 encodes the byte "
                    "order mark as UTF-8 (EF BB BF) instead of FF FE"
                )


def _compile_detection(rule: SigmaRule) -> Predicate:
    """Compile all of a rule's conditions; a list of conditions is OR-ed (rules spec)."""
    _refuse_known_modifier_bugs(rule)
    predicates = []
    for condition in rule.detection.parsed_condition:
        tree = condition.parsed  # re-parsed on every access: done once, here
        if tree is None:
            raise _Unsupported(f"condition {condition.condition!r} selects no detection")
        predicates.append(_compile_node(tree))
    return _any(predicates)


# ---------------------------------------------------------------------------------------------
# Rules


class CompiledRule:
    """A Sigma rule compiled to closures: build with ``compile_rule``, call ``evaluate``.

    Attributes:
        rule_id: the rule's ``id`` as a string, or None.
        title: the rule's title.
        logsource: the logsource as ``product/category/service``.
        unsupported: why the rule cannot be evaluated, or None.
    """

    __slots__ = ("rule_id", "title", "logsource", "unsupported", "_member", "_detection",
                 "_refusals")

    def __init__(
        self,
        rule_id: str | None,
        title: str,
        logsource: str,
        unsupported: str | None,
        member: Predicate | None,
        detection: Predicate | None,
    ) -> None:
        self.rule_id = rule_id
        self.title = title
        self.logsource = logsource
        self.unsupported = unsupported
        self._member = member
        self._detection = detection
        # Pre-built verdicts: evaluate() allocates nothing.
        self._refusals = (Verdict(None, unsupported, False), Verdict(None, unsupported, True))

    def in_logsource(self, event: Event) -> bool:
        """Return whether ``event`` belongs to the rule's logsource (False if unknown)."""
        return self._member is not None and self._member(event)

    def detection_matches(self, event: Event) -> bool | None:
        """Evaluate the detection alone, ignoring the logsource; None if it is unsupported or a
        match ran past the time limit."""
        if self._detection is None:
            return None
        try:
            return self._detection(event)
        except _Undecided:
            return None

    def evaluate(self, event: Event) -> Verdict:
        """Evaluate the rule on one flat event.

        Returns:
            ``Verdict(True/False, None, logsource_ok)`` when the rule is evaluable; an event
            outside the logsource never matches. ``Verdict(None, reason, logsource_ok)`` when
            the rule is unsupported, or when one of its matches ran past ``MATCH_TIME_LIMIT``
            on this event.
        """
        member = self._member is not None and self._member(event)
        if self.unsupported is not None:
            return self._refusals[member]
        if not member:
            return _OUTSIDE
        try:
            return _MATCH if self._detection(event) else _NO_MATCH  # type: ignore[misc]
        except _Undecided as error:
            return Verdict(None, f"rule {self.rule_id or self.title!r}: {error}", True)

    def __repr__(self) -> str:
        state = f"unsupported={self.unsupported!r}" if self.unsupported else "ok"
        return f"CompiledRule({self.rule_id or self.title!r}, {self.logsource}, {state})"


def compile_rule(rule: SigmaRule | SigmaCorrelationRule) -> CompiledRule:
    """Compile a pySigma rule (parsed, before any target pipeline) for repeated evaluation.

    Args:
        rule: a ``SigmaRule`` from ``SigmaCollection``; a ``SigmaCorrelationRule`` compiles to
            an unsupported rule. Compile before handing the rule to a backend, which may apply
            its processing pipeline to it.

    Returns:
        A ``CompiledRule``; check ``.unsupported`` for rules that cannot be evaluated.

    Raises:
        ReferenceEvaluationError: ``rule`` is not a pySigma rule.
    """
    if isinstance(rule, SigmaCorrelationRule):
        return CompiledRule(
            str(rule.id) if rule.id else None, rule.title, "-", "correlation rules aggregate "
            "several events and cannot be evaluated on one event", None, None,
        )
    if not isinstance(rule, SigmaRule):
        raise ReferenceEvaluationError(
            f"expected a pySigma SigmaRule, got {type(rule).__name__}; load rules with "
            "SigmaCollection.from_yaml"
        )
    source = rule.logsource
    reasons: list[str] = []
    if rule.errors:
        reasons.append("rule failed to load: " + "; ".join(str(e) for e in rule.errors))
    member: Predicate | None = None
    try:
        member = membership(source.product, source.category, source.service)
    except LogsourceUnsupported as error:
        reasons.append(str(error))
    detection: Predicate | None = None
    if not rule.errors:
        try:
            detection = _compile_detection(rule)
        except _Unsupported as error:
            reasons.append(str(error))
        except SigmaError as error:  # e.g. the retired "| count()" pipe syntax
            reasons.append(f"pySigma cannot parse the condition: {error}")
    return CompiledRule(
        str(rule.id) if rule.id else None,
        rule.title,
        describe(source.product, source.category, source.service),
        "; ".join(reasons) or None,
        member,
        detection,
    )


def evaluate_rule(rule: SigmaRule | SigmaCorrelationRule, event: Event) -> Verdict:
    """Evaluate one rule on one event (compiles every call; use ``compile_rule`` for bulk)."""
    return compile_rule(rule).evaluate(event)
