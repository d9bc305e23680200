"""The semantic choices of the reference evaluator, each with the Sigma specification text it rests
on (``SIGMA_SEMANTICS``). ``converter.reference.evaluator`` and ``converter.reference.values`` cite these
entries by name in comments; ``converter.ruleindex.index`` relies on the same entries to stay sound."""

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
#: Java's per-code-point lowercase: the mapping of UnicodeData.txt, one code point to one.
JAVA_TO_LOWER = (
    "https://docs.oracle.com/en/java/javase/21/docs/api/java.base/java/lang/"
    "Character.html#toLowerCase(int)"
)
UNICODE_SIMPLE_LOWERCASE = "https://www.unicode.org/reports/tr44/#Simple_Lowercase_Mapping"
ES_LOWERCASE_NORMALIZER = (
    "https://www.elastic.co/docs/reference/text-analysis/analysis-lowercase-tokenfilter"
)
YAML_CORE_SCHEMA = "https://yaml.org/spec/1.2.2/#1032-tag-resolution"
ES_NUMBERS_TO_LONG = (
    "https://github.com/elastic/elasticsearch/blob/main/server/src/main/java/org/elasticsearch/"
    "common/Numbers.java"
)
ES_COERCE = "https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/coerce"
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
        "insensitive: both sides compared per code point after each code point's Unicode simple "
        "lowercase mapping", MODIFIERS_SPEC,
        "'cased': 'Default Sigma behavior is case-insensitive matching' (also the rules spec's "
        "'General'); the specification does not define the folding. The reference reads it as "
        "the simple lowercase mapping of every code point (UnicodeData.txt field 13, "
        f"{UNICODE_SIMPLE_LOWERCASE}), which is Java's Character.toLowerCase(int) "
        f"({JAVA_TO_LOWER}) and so what Elasticsearch's lowercase normalizer indexes "
        f"({ES_LOWERCASE_NORMALIZER}). Why this reading: it maps one code point to one, so a "
        "string keeps its length and '?' is always one character of the folded value as of the "
        "raw one; it has no context rules (a final capital sigma is σ, not ς); it is what the "
        "one engine-side case folding sigport targets does. Consequences: İ, I and i are equal "
        "(İ's simple lowercase is i; Python's str.lower gives two characters), the Kelvin sign "
        "equals k, ẞ equals ß, Σ equals σ but not ς, ſ is not s, É equals é, fullwidth Ａ "
        "equals ａ but not a. reference_events.fold implements it.",
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
    "regex_case": Fact(
        "|i: PCRE-style caseless matching by Unicode simple case folding (ſ matches s, the "
        "Kelvin sign k, ς σ), not the string_case folding", MODIFIERS_SPEC,
        "'re' sub-modifier 'i': 'to enable case-insensitive matching' in a PCRE-flavoured "
        "regex; PCRE2 in UTF mode matches caselessly by Unicode case equivalence "
        "(https://www.pcre.org/current/doc/html/pcre2unicode.html, 'Case-equivalence in UTF "
        "mode'), which relates more characters than string_case does. The reference runs "
        "the pattern with the regex package's IGNORECASE, the same folding except one known "
        "difference: its i also matches İ and its I also ı. PCRE2 and RE2 build their case "
        "sets from CaseFolding.txt's C and S lines only (pcre2 maint/GenerateUcd.py, "
        "get_other_case; re2/unicode.py, CaseGroups), where İ and ı have none, so each matches "
        "only itself there. Emitters therefore never hand |i to an engine's own caseless mode "
        "where that differs: the Lucene family and Kusto write the reference's variants as "
        "classes ([iIİ]), Splunk's interpreter leaves an event with such a letter undecided, "
        "and check --generate puts İ, ı, the Kelvin sign and ſ into the examples of every |i "
        "pattern (converter/generate/hostile.py). The rule index splits |i literal runs at i, "
        "s and every non-ASCII character, so it stays sound.",
    ),
    "regex_shorthand_classes": Fact(
        "ASCII", MODIFIERS_SPEC,
        "'re' hands the value to the backend as a regular expression without naming a flavour. "
        "PCRE without its UCP option (https://www.pcre.org/current/doc/html/pcre2pattern.html"
        "#genericchartypes) and every target engine here read \\d, \\s, \\w and \\b as ASCII, "
        "where Python's are Unicode; reference_values.ascii_shorthands spells them out.",
    ),
    "regex_scoped_case_in_alternative": Fact(
        "refused: a (?i:...) or (?-i:...) group inside an alternative of a 're' pattern",
        MODIFIERS_SPEC,
        "'re' names no regex flavour; the reference states the meaning of Python's re (which "
        "validates the pattern), where (?i:...) scopes the flag to its group "
        "(https://docs.python.org/3/library/re.html#regular-expression-syntax). The pattern is run by the regex package (for its "
        "time limit), and regex 2026.12.2 applies a scoped case flag of one alternative to a "
        "character class of another: r'[^Ss]|(?i:-)' finds no match in 'ſ' (U+017F, which "
        "folds to s), where re matches. No known upstream issue (mrabarnett/mrab-regex); "
        "engine_gaps.scoped_case_in_alternation detects the shape on re's own parse tree, "
        "conservatively, and the rule is not decided rather than decided wrongly; "
        "tests/converter/reference/test_engine_gaps.py pins the upstream behaviour (strict "
        "xfail) so a fixed release is noticed.",
    ),
    "numbers": Fact(
        "compared as strings; a numeric event value also compares numerically", RULES_SPEC,
        "'General': all values are strings; EventID: 4688 matches 4688 and '4688'.",
    ),
    "number_text": Fact(
        "a string is a number when it is an ASCII decimal as a whole: [-+]?(digits[.digits] | "
        ".digits)([eE][-+]?digits), digits 0-9", RULES_SPEC,
        "gt/gte/lt/lte (modifiers appendix, 'Numeric Modifiers') compare an event value with a "
        "number; Sigma's own numbers are YAML numbers, and the decimal int and float forms of "
        f"the YAML 1.2 core schema ({YAML_CORE_SCHEMA}) are read here; its 0x / 0o / .inf / "
        ".nan forms are not, and neither are surrounding whitespace, '_' separators, other "
        "scripts' digits (Python's int() reads '١٠٠١' and '1_001', float() reads 'inf'), or a "
        "non-finite JSON float. Targets differ from this reading: Elasticsearch coerces strings "
        f"on a long field ({ES_COERCE}) with Long.parseLong, then BigDecimal, truncating a "
        f"fraction ({ES_NUMBERS_TO_LONG}): '04242' and '4242.0' index as 4242, '4242.9' as "
        "4242, and Java's decimal digits include other scripts' (Character.digit), so '١٠٠١' "
        "indexes as 1001; ' 1001', '1_001', 'inf', 'nan' and '0x10' are rejected; a float "
        "field reads text with Java's Double.parseDouble (ASCII digits, ' 12 ' is 12: "
        "matching.es_double). Splunk's search compares two numbers numerically and other "
        "values lexicographically, so 'abc' > 1000 there, and does not document which strings "
        "count as numbers (semantics search_numeric_comparison).",
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
        "So F|exists: true holds on {\"F\": null}, as the spec says in so many words, although "
        "Elasticsearch indexes an explicit null as no value (its exists query does not match, "
        "https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-exists-query) "
        "and Splunk has no field for it: those targets differ from Sigma on explicit nulls, "
        "which the generator produces for every exists test.",
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
    "object_lists": Fact(
        "a dotted name whose path meets a list reads every element: the field's values are the "
        "values of all elements that hold the rest of the path (nested lists likewise, scalar "
        "elements and elements without the key add none); each test of a selection reads them "
        "on its own, with no notion of one element", RULES_SPEC,
        "The spec defines no path syntax into arrays and no way to tie two detection items to "
        "one element (a selection's items are AND-ed, each item a test on the event). Rule "
        "authors write the path through the array as if it were an object: SigmaHQ's okta rules "
        "test target.displayName, where the System Log's LogEvent.target is an array of Target "
        "objects (https://developer.okta.com/docs/reference/api/system-log/#logevent-object); "
        "gcp_access_policy_deleted tests protoPayload.authorizationInfo.permission and .granted, "
        "where AuditLog.authorizationInfo is an array of AuthorizationInfo objects "
        "(https://cloud.google.com/logging/docs/reference/audit/auditlog/rest/Shared.Types/"
        "AuditLog). Only the any-element reading lets such a rule match at all, and it is what "
        "the engines these rules are written for do: Elasticsearch flattens an array of objects "
        "into one multi-valued field per leaf, 'the association between' the fields of one "
        "object 'is lost' (https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/"
        "nested), and Splunk's JSON extraction gives each leaf of an array one multivalue field "
        "named with {} (spath, https://help.splunk.com/splunk-enterprise/spl-search-reference/"
        "9.0/search-commands/spath). So target.type: A and target.id: B hold when one element "
        "has type A and another id B. A test of a path that ends on objects (an object has no "
        "text) reads no value from them. 'multi_valued' then applies to the values found; "
        "'null' holds when they hold no non-null scalar, 'exists' when some element holds the "
        "key.",
    ),
    "keywords": Fact(
        "some scalar value anywhere in the event contains the keyword (wildcards honoured, "
        "case-insensitive)", RULES_SPEC,
        "'Keywords search': keywords are searched across an entire event. The sigport logsource "
        "tag a tagged taxonomy event carries as Channel (logsources.TAG_CHANNELS) is not part of "
        "the event's text and is not searched.",
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
        "pySigma's windash only rewrites '-' and '/' at the start of a word. Base64 text is "
        "case-significant (d2hvYW1p and D2HVYW1P decode to different bytes), but the modifiers "
        "appendix exempts no value from 'Default Sigma behavior is case-insensitive matching', "
        "pySigma gives the encoded value no cased flag, and every target's emitted query "
        "matches it case-insensitively: so |base64offset|contains: whoami also matches "
        "D2HVYW1P, a string that does not decode to 'whoami' (a superset of the decoded "
        "matches, never fewer). A rule that wants the exact bytes adds |cased.",
    ),
    "cidr": Fact(
        "an address in the block, compared as IPv6: an IPv4 address and its IPv4-mapped IPv6 "
        "form (::ffff:10.1.2.3) are the same address; a zone index (fe80::1%12) is ignored",
        MODIFIERS_SPEC,
        "'cidr': 'Supports both IPv4 and IPv6 notations' and says nothing of how they relate. "
        "RFC 4291 section 2.5.5.2 (https://www.rfc-editor.org/rfc/rfc4291#section-2.5.5.2) "
        "defines ::ffff:a.b.c.d as the IPv4 address a.b.c.d, and Elasticsearch's ip field "
        "stores every address as IPv6 that way "
        "(https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/ip), so the "
        "Elasticsearch targets match ::ffff:10.1.2.3 against 10.0.0.0/8; the reference does "
        "too (it did not before issue 11). Kusto's ipv4_is_in_range converts IPv4 text only "
        "and does not (backends/kusto/semantics.py, ipv4_range_reads_mapped_ipv6), so the "
        "Kusto emitter writes ipv6_is_match, which does (semantics ipv6_is_match). A zone "
        "index names the link an address is used on, not another "
        "address (RFC 4007 section 11, https://www.rfc-editor.org/rfc/rfc4007#section-11), so "
        "fe80::1%12 is in fe80::/10. A value with spaces around the address is read without "
        "them.",
    ),
    "logsource": Fact(
        "a rule matches only events of its logsource (converter.reference.logsources table)", TAXONOMY_SPEC,
    ),
    "logsource_case": Fact(
        "category, product and service are read in lower case", RULES_SPEC,
        "'LogSource': their values 'are in lower case'. The loader lowers them "
        "(converter.rules.shape.lower_logsource), so the pipelines, the reference and the "
        "generator route 'product: Windows' alike.",
    ),
}

