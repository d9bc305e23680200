"""Kibana Query Language (KQL, Kibana's "kuery") matching semantics, one documented fact per entry.

The KQL interpreter (``parser.py``) reads these entries while lowering query text to the shared
tree, so every language-specific decision is visible here with the vendor source that states it.
The grammar facts were checked against Kibana's ``grammar.peggy`` and the translation facts
against ``functions/is.ts`` and ``node_types/wildcard.ts`` (elastic/kibana,
packages/kbn-es-query/src/kuery).
"""

from __future__ import annotations

from ..query.ast import Fold, Missing
from ..query.semantics import NUMERIC_COERCE, Rule, Semantics

KQL_DOC = "https://www.elastic.co/guide/en/kibana/current/kuery-query.html"
GRAMMAR = (
    "https://github.com/elastic/kibana/blob/main/packages/kbn-es-query/src/kuery/grammar/"
    "grammar.peggy"
)
IS_TS = (
    "https://github.com/elastic/kibana/blob/main/packages/kbn-es-query/src/kuery/functions/is.ts"
)
WILDCARD_TS = (
    "https://github.com/elastic/kibana/blob/main/packages/kbn-es-query/src/kuery/node_types/"
    "wildcard.ts"
)
ES_REF = "https://www.elastic.co/guide/en/elasticsearch/reference/current"

#: JavaScript ``String.prototype.trim`` whitespace (WhiteSpace + LineTerminator of ECMA-262): the
#: grammar trims unquoted literals with it after resolving escapes.
JS_TRIM_WHITESPACE = frozenset(
    "\t\n\x0b\x0c\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)

#: The language's name in messages (parse errors name it).
LANGUAGE = "KQL"

SEMANTICS = Semantics(
    "kql",
    {
        "precedence": Rule(
            ("or", "and", "not"),
            GRAMMAR,
            "OrQuery -> AndQuery -> NotQuery -> SubQuery: not binds tightest, then and, then or.",
        ),
        "keywords_case_insensitive": Rule(
            True, GRAMMAR, "'or'i, 'and'i, 'not'i: operators are case-insensitive."
        ),
        "keyword_spacing": Rule(
            "or/and need whitespace on both sides, not needs whitespace after",
            GRAMMAR,
            "Or = Space+ 'or'i Space+; And = Space+ 'and'i Space+; Not = 'not'i Space+. "
            "An unquoted literal stops before any of them, so `cannot x` ends the literal at "
            "`not `.",
        ),
        "space_chars": Rule(
            " \t\r\n\u00a0", GRAMMAR, "Space = [\\ \\t\\r\\n\\u00A0] (operators, padding)."
        ),
        "unquoted_special_chars": Rule(
            '\\():<>"*{}',
            GRAMMAR,
            "SpecialCharacter; must be backslash-escaped to be literal in an unquoted value.",
        ),
        "unquoted_escapes": Rule(
            "\\t \\r \\n, \\<special>, \\uXXXX, \\or \\and \\not (in that order of preference)",
            GRAMMAR,
            "UnquotedCharacter tries EscapedWhitespace first, so `\\not` reads as newline + 'ot'; "
            "only `\\Not`/`\\NOT` (or `\\u006eot`) escape a lowercase-n keyword. "
            "A backslash before any other character is a syntax error.",
        ),
        "unquoted_whitespace_inside": Rule(
            True,
            GRAMMAR,
            "Whitespace is an ordinary UnquotedCharacter; the literal is trimmed "
            "(chars.join('').trim()) after escapes are resolved, so escaped edge whitespace is "
            "trimmed too.",
        ),
        "unquoted_typed_literals": Rule(
            ("null", "true", "false"),
            GRAMMAR,
            "An unquoted literal equal to null/true/false (case-sensitive) becomes a typed "
            "literal.",
        ),
        "quoted_escapes": Rule(
            '\\t \\r \\n \\uXXXX \\\\ \\"',
            GRAMMAR,
            "QuotedCharacter; a backslash before anything else is kept literally.",
        ),
        "quoted_no_wildcards": Rule(
            True,
            "https://github.com/elastic/kibana/issues/161377",
            "A quoted value is a literal node: `*` inside quotes is a plain asterisk.",
        ),
        "multi_wildcard": Rule(
            "*", GRAMMAR, "Wildcard = '*' (unquoted, unescaped) is the only wildcard."
        ),
        "single_wildcard": Rule(
            None, WILDCARD_TS, "`?` is an ordinary character; escapeQueryString escapes it."
        ),
        "leading_wildcard_allowed": Rule(
            True,
            "https://www.elastic.co/guide/en/kibana/current/advanced-options.html",
            "query:allowLeadingWildcards defaults to true (grammar option default true too).",
        ),
        "exists_value": Rule(
            "*", KQL_DOC, "`field:*` is an exists query, which also matches empty strings."
        ),
        "keyword_path": Rule(
            "esTypes == ['keyword']",
            IS_TS,
            "Only a field whose single ES type is keyword gets term (plain) / wildcard (pattern) "
            "queries; everything else takes match / match_phrase / query_string.",
        ),
        "keyword_case_sensitive": Rule(
            True,
            KQL_DOC,
            "Keyword, numeric, date and boolean values must match exactly, including case "
            "(KueryQueryOptions.caseInsensitive is an API option, off in the search bar).",
        ),
        "normalizer_lowercase": Rule(
            "case-insensitive",
            f"{ES_REF}/normalizer.html",
            "A lowercase normalizer lowercases indexed values and term/wildcard query values "
            "(Elastic Defend `.caseless` multi-fields) with Lucene's LowerCaseFilter: Java's "
            "Character.toLowerCase per code point (entry normalizer_folding).",
        ),
        "normalizer_folding": Rule(
            Fold.SIMPLE,
            f"{ES_REF}/normalizer.html",
            "The lowercase normalizer is Lucene's LowerCaseFilter (https://lucene.apache.org/core/"
            "9_0_0/core/org/apache/lucene/analysis/LowerCaseFilter.html): Character.toLowerCase "
            "per code point, never str.lower's full mapping: FİLE.EXE -> file.exe, ΟΔΟΣ -> οδοσ, "
            "ẞ -> ß, Kelvin sign -> k; ſ and ς stay themselves. The same per-code-point reading "
            "as sigport's reference, so a .caseless match is exact on every letter.",
        ),
        "ignore_above": Rule(
            "value longer than the limit matches nothing",
            f"{ES_REF}/ignore-above.html",
            "Keyword values longer than ignore_above are not indexed: no query on the field "
            "sees them.",
        ),
        "wildcard_field_plain": Rule(
            "exact, case-sensitive",
            f"{ES_REF}/keyword.html#wildcard-field-type",
            "match / match_phrase on a `wildcard`-typed field compare the whole value (keyword "
            "search analysis, no normalizer).",
        ),
        "query_string_splits_whitespace": Rule(
            " \t\n\r\u3000",
            f"{ES_REF}/query-dsl-query-string-query.html",
            "(inferred from is.ts + wildcard.ts) On non-keyword fields a wildcard value goes to "
            "query_string with escapeQueryString, which does not escape whitespace: the value "
            "splits into OR-ed terms (default_operator OR). Uppercase AND/OR/NOT words would act "
            "as operators there, so the interpreter refuses them.",
        ),
        "text_unquoted": Rule(
            "match: any analysed token",
            KQL_DOC,
            "Unquoted values on text fields are analysed and match documents with any token.",
        ),
        "text_quoted": Rule(
            "match_phrase", KQL_DOC, "Quoted values on text fields are phrase searches."
        ),
        "text_wildcard": Rule(
            "query_string wildcard term against single tokens",
            f"{ES_REF}/query-dsl-query-string-query.html#query-string-wildcard",
            "(inferred) Wildcard terms are normalised by the field's analyzer and match tokens.",
        ),
        "numeric_coerce": NUMERIC_COERCE,
        "numeric_match": Rule(
            "numeric equality",
            f"{ES_REF}/number.html",
            "match on numeric fields compares numbers; an unparsable value is an ES error.",
        ),
        "ip_cidr": Rule(
            "a.b.c.d/n is a CIDR term",
            f"{ES_REF}/ip.html#query-ip-fields",
            "Term (and match) queries on ip fields accept CIDR notation.",
        ),
        "range": Rule(
            ("<", "<=", ">", ">="),
            KQL_DOC,
            "Ranges on numbers compare numerically; on keyword/wildcard fields lexicographically.",
        ),
        "missing_under_not": Rule(
            Missing.FALSE,
            "https://github.com/elastic/elasticsearch/pull/114050",
            "`not f:x` is bool.must_not, which keeps documents lacking f (two-valued logic).",
        ),
        "multi_valued": Rule(
            "any element",
            f"{ES_REF}/array.html",
            "A positive test is true when any element matches; `f:(a and b)` needs both present.",
        ),
        "unbound_value": Rule(
            "default fields",
            IS_TS,
            "A value without a field searches index.query.default_field (multi_match lenient or "
            "query_string): modelled as a case-insensitive Keyword glob; an approximation, since "
            "each field's mapping decides the real outcome.",
        ),
        "unknown_field": Rule(
            "non-keyword path",
            IS_TS,
            "A field absent from the data view gets type '' and therefore the non-keyword path "
            "(match / query_string); the real outcome depends on the actual mapping.",
        ),
        "nested_query": Rule(
            "unsupported",
            KQL_DOC,
            "`field:{ ... }` queries nested documents; events here are flat, so it is refused.",
        ),
    },
)
