"""Elasticsearch EQL matching semantics, one documented entry per fact.

The parser (``backends/eql/parser.py``) reads every semantic choice it makes while lowering from
this table, so a change of mind about a fact is a one-line change here, next to its source.

Sources: the EQL syntax reference and function reference (Elastic docs), the Lucene regular
expression page, and where the docs are silent the ES source (``EqlBase.g4``,
``QueryTranslator.java``), which is marked "verified in source" in the note.
"""

from __future__ import annotations

from ..query.ast import Fold, Missing, RegexDialect, Wildcard
from ..query.semantics import IGNORE_ABOVE, NUMERIC_COERCE, Rule, Semantics

_SYNTAX = "https://www.elastic.co/guide/en/elasticsearch/reference/current/eql-syntax.html"
_FUNCS = "https://www.elastic.co/guide/en/elasticsearch/reference/current/eql-function-ref.html"
_REGEXP = "https://www.elastic.co/guide/en/elasticsearch/reference/current/regexp-syntax.html"
_REQS = "https://www.elastic.co/guide/en/elasticsearch/reference/current/eql-requirements.html"
_TERM = "https://www.elastic.co/guide/en/elasticsearch/reference/current/query-dsl-term-query.html"
_UNICODE_FOLDING_PR = "https://github.com/elastic/elasticsearch/pull/153513"
_NORMALIZER = "https://www.elastic.co/guide/en/elasticsearch/reference/current/normalizer.html"
_WILDCARD_FIELD = (
    "https://www.elastic.co/guide/en/elasticsearch/reference/current/keyword.html"
    "#wildcard-field-type"
)
_GRAMMAR = (
    "https://github.com/elastic/elasticsearch/blob/main/x-pack/plugin/eql/src/main/antlr/EqlBase.g4"
)
_TRANSLATOR = (
    "https://github.com/elastic/elasticsearch/blob/main/x-pack/plugin/eql/src/main/java/org/"
    "elasticsearch/xpack/eql/planner/QueryTranslator.java"
)

#: The language's name in messages (parse errors name it).
LANGUAGE = "EQL"

SEMANTICS = Semantics(
    "eql",
    {
        # --- lexical ---------------------------------------------------------------------------
        "keywords_case_sensitive": Rule(
            True,
            _GRAMMAR,
            "Keywords are lower-case literals in the ANTLR lexer ('and', 'where', ...) and EqlParser "
            "feeds it the raw text (no case-folding stream), so `AND` is an identifier, not a "
            "keyword. Verified in source; the syntax doc only ever shows lower case.",
        ),
        "string_quote": Rule(
            '"',
            _SYNTAX + "#eql-syntax-strings",
            "Strings are enclosed in double quotes; single-quoted strings are not supported.",
        ),
        "string_escapes": Rule(
            {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "'": "'"},
            "https://github.com/elastic/elasticsearch/blob/main/x-pack/plugin/eql/src/main/antlr/EqlBase.g4",
            "The documented escape table (" + _SYNTAX + "#eql-syntax-escape-characters) plus "
            "\\' -> ': the doc says an escaped single quote cannot be used, but ES's lexer "
            "(STRING: '\\\\' [btnfr\"'\\\\]) accepts it and Elastic's prebuilt rules use it "
            "inside double-quoted strings. Any other backslash sequence is rejected.",
        ),
        "unicode_escape_digits": Rule(
            (2, 8),
            _SYNTAX + "#eql-syntax-escape-characters",
            "\\u{XXXXXXXX}: 2 to 8 hex digits, case-insensitive.",
        ),
        "raw_string_delimiter": Rule(
            '"""',
            _SYNTAX + "#eql-syntax-raw-strings",
            "Raw strings keep backslashes literally and cannot contain three double quotes.",
        ),
        "raw_string_prefix_supported": Rule(
            False,
            _SYNTAX + "#eql-unsupported-syntax",
            "?\"...\" and ?'...' are not raw strings in Elasticsearch EQL (Endgame syntax only).",
        ),
        "field_quote": Rule(
            "`",
            _SYNTAX + "#eql-syntax-escape-a-field-name",
            "Back-ticks escape field names; a doubled back-tick is a literal back-tick.",
        ),
        "field_name_part": Rule(
            r"[A-Za-z_@][A-Za-z0-9_]*",
            _GRAMMAR,
            "IDENTIFIER is (LETTER | '_' | '@') (LETTER | DIGIT | '_')*; a dotted field name is "
            "identifiers joined by '.', any of which may be back-quoted instead.",
        ),
        "keywords": Rule(
            frozenset(
                "and any by false fork in join maxspan not null of or sequence true until where "
                "with".split()
            ),
            _GRAMMAR,
            "The lexer's keyword tokens: a field name part spelled like one must be back-quoted.",
        ),
        "optional_field_prefix": Rule(
            "?",
            _SYNTAX + "#eql-syntax-optional-fields",
            "?field only turns the 'unmapped field' error into null; on an event lacking the "
            "field it behaves like the plain field.",
        ),
        # --- event category --------------------------------------------------------------------
        "category_field": Rule(
            "event.category",
            _SYNTAX + "#eql-basic-syntax",
            "`<category> where C` tests the event category field (ECS event.category by default).",
        ),
        "category_case_sensitive": Rule(
            True,
            _GRAMMAR,
            "LogicalPlanBuilder.visitEventFilter builds a case-sensitive Equals on the category "
            "field (verified in source).",
        ),
        "any_category": Rule(
            "any",
            _SYNTAX + "#eql-syntax-match-any-event-category",
            "`any where C` adds no category test and matches documents without the field.",
        ),
        # --- comparison operators --------------------------------------------------------------
        "eq_case_sensitive": Rule(
            True, _SYNTAX + "#eql-syntax-comparison-operators", "`==` is case-sensitive."
        ),
        "eq_wildcards": Rule(
            False,
            _SYNTAX + "#eql-syntax-comparison-operators",
            "`==`/`!=` do not support wildcards: `*` and `?` are literal characters.",
        ),
        "neq_missing": Rule(
            Missing.FALSE,
            _TRANSLATOR,
            "`f != v` is translated to must_not{term}: an event lacking f matches (two-valued). "
            "Verified in source (BinaryComparisons: NotEquals -> NotQuery).",
        ),
        "not_missing": Rule(
            Missing.FALSE,
            _TRANSLATOR,
            "`not X` becomes must_not{X}; positive tests on a missing field are false, so their "
            "negation is true (verified in source, Nots translator).",
        ),
        "null_literal": Rule(
            "exists",
            _SYNTAX + "#eql-syntax-check-field-exists",
            "`f != null` tests that f has a value; `f == null` that it has none.",
        ),
        "compare_strings_case_sensitive": Rule(
            True,
            _SYNTAX + "#eql-syntax-comparison-operators",
            "`<`, `<=`, `>`, `>=` order strings lexicographically, case-sensitively.",
        ),
        "assign_is_error": Rule(
            True, _SYNTAX + "#eql-syntax-comparison-operators", "`=` is not an equality operator."
        ),
        "field_vs_field_is_error": Rule(
            True,
            _SYNTAX + "#limitations-for-comparisons",
            "Comparing a field with another field is an error for the whole query.",
        ),
        # --- pattern operators -----------------------------------------------------------------
        "seq_case_sensitive": Rule(
            False,
            _SYNTAX + "#eql-syntax-comparison-operators",
            "`:` is case-insensitive, supports wildcards and list lookups; equivalent to `like~`.",
        ),
        "like_case_sensitive": Rule(
            True, _SYNTAX + "#eql-syntax-pattern-comparison-keywords", "`like` is case-sensitive."
        ),
        "like_insensitive_case_sensitive": Rule(
            False,
            _SYNTAX + "#eql-syntax-pattern-comparison-keywords",
            "`like~` is case-insensitive.",
        ),
        "wildcards": Rule(
            {"*": Wildcard.ANY, "?": Wildcard.ONE},
            _SYNTAX + "#eql-syntax-wildcards",
            "`*` is zero or more characters, `?` exactly one, in `:`/`like`/`like~` patterns. No "
            "escape exists: a backslash is a literal character in the pattern.",
        ),
        "regex_case_sensitive": Rule(
            True, _SYNTAX + "#eql-syntax-pattern-comparison-keywords", "`regex` is case-sensitive."
        ),
        "regex_insensitive_case_sensitive": Rule(
            False,
            _SYNTAX + "#eql-syntax-pattern-comparison-keywords",
            "`regex~` is case-insensitive.",
        ),
        "case_insensitive_folding": Rule(
            Fold.ASCII_OR_UNICODE,
            _TERM,
            "`:`, `like~`, `in~`, `regex~` and the `~` functions run term/wildcard/regexp/prefix "
            "queries with case_insensitive=true (QueryTranslator). The term query page says "
            "'Allows ASCII case insensitive matching': AutomatonQueries.toCaseInsensitiveChar "
            "leaves code points above 128 alone, so 'café' misses 'CAFÉ' and 'k' misses the "
            "Kelvin sign. " + _UNICODE_FOLDING_PR + " (merged 2026-07) replaced it with Lucene "
            "10.5's Unicode simple case folding (CaseFolding.expand: 'k' = Kelvin sign, 's' = "
            "'ſ', 'σ' = 'ς', still never 'İ' = 'i'). Which one a cluster uses depends on its "
            "version, so both readings are candidates: an event on which they disagree is "
            "undecided, and the emitter writes case-insensitive values whose letters fold "
            "differently under either reading or under Sigma's (per-code-point lowercase) as "
            "case-sensitive `regex` with explicit classes.",
        ),
        "normalizer_folding": Rule(
            Fold.SIMPLE,
            _NORMALIZER,
            "A keyword field with the `lowercase` normalizer (Elastic Defend's .caseless) indexes "
            "each value through Lucene's LowerCaseFilter: Character.toLowerCase per code point "
            "(FİLE.EXE -> file.exe, ΟΔΟΣ -> οδοσ), and normalizes term and wildcard query text "
            "the same way; regexp patterns are not normalized.",
        ),
        "regex_insensitive_folding": Rule(
            "version-dependent",
            "https://github.com/elastic/elasticsearch/pull/153513",
            "`regex~` runs the regexp with case_insensitive. Up to this change Lucene folds ASCII "
            "letters of literal characters only (RegExp.ASCII_CASE_INSENSITIVE, "
            "elastic/elasticsearch#59441), never class ranges; after it, Unicode simple case "
            "folding ('k' also matches U+212A). The interpreter models the ASCII behaviour, so "
            "the emitter uses `regex~` only for patterns where both agree with the Sigma regex: "
            "other letters are written as explicit classes, else it emits `regex`.",
        ),
        "regex_dialect": Rule(
            RegexDialect.LUCENE,
            _REGEXP,
            "EQL regex uses the Lucene regular-expression syntax (linked from the EQL syntax page).",
        ),
        "regex_max_length": Rule(
            1000,
            "https://github.com/elastic/elasticsearch/blob/main/x-pack/plugin/ql/src/main/java/"
            "org/elasticsearch/xpack/ql/querydsl/query/RegexQuery.java",
            "A `regex` / `regex~` test on a field is pushed down as a Query DSL regexp query "
            "(RegexQuery.asBuilder), which applies index.max_regex_length (1,000 characters by "
            "default: " + _REGEXP + ") to the pattern: a longer one fails the request. The "
            "emitter declares such a pattern (a long value written with explicit case classes "
            "is one too); the interpreter refuses it.",
        ),
        "regex_anchored": Rule(
            True,
            _REGEXP,
            "Lucene regular expressions always match the whole value; there are no ^/$ anchors.",
        ),
        "in_case_sensitive": Rule(
            True, _SYNTAX + "#eql-syntax-lookup-operators", "`in`/`not in` are case-sensitive."
        ),
        "in_insensitive_case_sensitive": Rule(
            False,
            _SYNTAX + "#eql-syntax-lookup-operators",
            "`in~`/`not in~` are case-insensitive.",
        ),
        # --- functions -------------------------------------------------------------------------
        "functions_case_sensitive": Rule(
            True,
            _SYNTAX + "#eql-case-insensitive-functions",
            "String functions are case-sensitive; the `~` suffix (`endsWith~`) makes them "
            "case-insensitive.",
        ),
        "function_missing": Rule(
            Missing.FALSE,
            _TRANSLATOR,
            "The docs say a null argument makes startsWith/endsWith/stringContains/cidrMatch return "
            "null. But with a field and literal arguments the ES planner pushes them down as Query "
            "DSL (prefix, wildcard, terms), and `not` becomes must_not, so a missing field behaves "
            "as for `:` (verified in source; this corrects the 'null' inference of SEMANTICS.md "
            "1.4, which holds only for script-evaluated forms the parser does not accept).",
        ),
        "cidr_function": Rule(
            "cidrMatch",
            _FUNCS + "#eql-fn-cidrmatch",
            "cidrMatch(ip, cidr, ...) is true if the address is in any of the listed networks.",
        ),
        "cidr_field_types": Rule(
            ("ip",),
            "https://github.com/elastic/elasticsearch/blob/main/x-pack/plugin/eql/src/main/java/"
            "org/elasticsearch/xpack/eql/expression/function/scalar/string/CIDRMatch.java",
            "cidrMatch's first argument must be an ip field (resolveType: isIPAndExact): on a "
            "keyword or any other field type the query fails verification and matches nothing.",
        ),
        "substring_functions": Rule(
            {
                "startswith": ("", "*"),
                "endswith": ("*", ""),
                "stringcontains": ("*", "*"),
            },
            _FUNCS + "#eql-fn-startswith",
            "startsWith/endsWith/stringContains test a prefix/suffix/substring; the searched text "
            "is literal (no wildcards). Function names are looked up case-insensitively, as the QL "
            "FunctionRegistry normalises names (inferred).",
        ),
        # --- values ----------------------------------------------------------------------------
        "numeric_coerce": NUMERIC_COERCE,
        "ignore_above": Rule(
            IGNORE_ABOVE.value,
            IGNORE_ABOVE.doc,
            "EQL evaluates a single-event condition as Query DSL on the indexed terms "
            "(QueryTranslator: `:`, `like`, `regex` and `in` become term, wildcard, regexp and "
            "terms queries, `f != null` an exists query and `f == null` must_not exists; "
            + _TRANSLATOR + "). " + IGNORE_ABOVE.note + " So on a keyword field such as "
            "process.name or file.path (ECS ignore_above 1024) a longer value matches no `:`, "
            "`==`, `like`, `regex` or `!= null`, and `== null` (and every `not`) is true on it. "
            "The interpreter lowers with the data source's field model (check and backtest), "
            "and the emitter declares every test a longer value could decide.",
        ),
        "wildcard_field_copy": Rule(
            "case-sensitive operators exact",
            _WILDCARD_FIELD,
            "On a `wildcard` field (Elastic Defend's process.command_line; the caseless copies "
            "`sigport mapping` adds) QueryTranslator runs `==` as a term query, `like` as a "
            "wildcard query and `regex` as a regexp query, each without case_insensitive: the "
            "field answers them from its n-gram index and then verifies every candidate against "
            "the whole value it keeps in doc values, so they compare the exact value, and its "
            "ignore_above defaults to 2147483647 (every value is indexed). `:` and `like~` run "
            "the same queries with case_insensitive=true and fold the pattern again "
            "(case_insensitive_folding: a lowercase `ſ` also matches `s`), so on a copy, whose "
            "values are already lowercased per code point, the emitter uses `==`, `like` and "
            "`regex` with the encoded value.",
        ),
        "multi_valued": Rule(
            "any",
            _SYNTAX + "#eql-array-fields",
            "Arrays are officially unsupported ('may return inconsistent results'); pushed-down "
            "Query DSL matches if ANY element matches and must_not only if none does (inferred "
            "from Lucene term semantics). event.category arrays: `process where` matches "
            "['process', 'network'].",
        ),
        "text_fields_supported": Rule(
            False,
            _SYNTAX + "#eql-text-fields",
            "EQL cannot search text fields; use a keyword sub-field.",
        ),
        "unsupported_query_types": Rule(
            ("sequence", "sample", "join"),
            _SYNTAX + "#eql-sequences",
            "Only single-event queries are evaluated; sequences, samples and pipes need a timeline.",
        ),
        "requirements": Rule(
            "event.category",
            _REQS,
            "EQL searches need an event category field unless the query uses `any`.",
        ),
    },
)
