"""The semantic choices of the reference evaluator, each with the Sigma specification text it rests
on (``SIGMA_SEMANTICS``). ``converter.reference`` and ``converter.reference_values`` cite these
entries by name in comments; ``converter.ruleindex`` relies on the same entries to stay sound."""

from __future__ import annotations

from dataclasses import dataclass

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
    "regex_shorthand_classes": Fact(
        "ASCII", MODIFIERS_SPEC,
        "'re' hands the value to the backend as a regular expression without naming a flavour. "
        "PCRE without its UCP option (https://www.pcre.org/current/doc/html/pcre2pattern.html"
        "#genericchartypes) and every target engine here read \\d, \\s, \\w and \\b as ASCII, "
        "where Python's are Unicode; reference_values.ascii_shorthands spells them out.",
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

