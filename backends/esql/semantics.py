"""ES|QL semantics, one documented entry per fact, read by the emitter and the interpreter.

The emitter reads how a field name is written (bare or back-quoted), how a string literal is
written (quotes, escapes, characters that may not appear raw), and which values ES|QL reads
otherwise than Sigma (case folding, ``ignore_above``, numeric coercion), which it declares. The
interpreter (``parser.py``, ``lower.py``) reads the same lexical entries and the operator
semantics below (null operands, multi-valued fields, LIKE wildcards, RLIKE, TO_LOWER, the
functions). Sources: the ES|QL reference and, where it is silent, Elasticsearch's source (the
ANTLR lexer ``Expression.g4``, the planner), marked "verified in source".
"""

from __future__ import annotations

from ..query.ast import Fold, Missing, MultiValued, RegexDialect, Wildcard
from ..query.semantics import IGNORE_ABOVE, NUMERIC_COERCE, Rule, Semantics

_SYNTAX = "https://www.elastic.co/guide/en/elasticsearch/reference/current/esql-syntax.html"
_FUNCTIONS = (
    "https://www.elastic.co/guide/en/elasticsearch/reference/current/esql-functions-operators.html"
)
_KEYWORD_MAPPER = (
    "https://github.com/elastic/elasticsearch/blob/main/server/src/main/java/org/elasticsearch/"
    "index/mapper/KeywordFieldMapper.java"
)
_ESQL = "https://www.elastic.co/docs/reference/query-languages/esql/"
_OPERATORS = _ESQL + "functions-operators/operators"
_STRING_FUNCTIONS = _ESQL + "functions-operators/string-functions"
_MULTIVALUED = _ESQL + "esql-multivalued-fields"
_WHERE = _ESQL + "commands/where"
_LIMITATIONS = _ESQL + "limitations"
_SOURCE = "https://github.com/elastic/elasticsearch/blob/main/x-pack/plugin/esql/src/main/java/"
_REGEX_MATCH = (
    _SOURCE + "org/elasticsearch/xpack/esql/expression/function/scalar/string/regex/RegexMatch.java"
)
_TRANSLATOR = _SOURCE + "org/elasticsearch/xpack/esql/planner/TranslatorHandler.java"
_WILDCARD_LIKE = (
    _SOURCE
    + "org/elasticsearch/xpack/esql/expression/function/scalar/string/regex/WildcardLike.java"
)
_FULL_TEXT_SOURCE = (
    _SOURCE + "org/elasticsearch/xpack/esql/expression/function/fulltext/FullTextFunction.java"
)
_QSTR_SOURCE = (
    "https://github.com/elastic/elasticsearch/blob/main/x-pack/plugin/esql-core/src/main/java/"
    "org/elasticsearch/xpack/esql/core/querydsl/query/QueryStringQuery.java"
)
_LEXER = (
    "https://github.com/elastic/elasticsearch/blob/main/x-pack/plugin/esql/src/main/antlr/"
    "lexer/Expression.g4"
)

#: The language's name in messages (parse errors name it).
LANGUAGE = "ES|QL"

SEMANTICS = Semantics(
    "esql",
    {
        # --- identifiers -----------------------------------------------------------------------
        "identifier_part": Rule(
            r"[A-Za-z][A-Za-z0-9_]*|[_@][A-Za-z0-9_]+",
            _SYNTAX + "#esql-identifiers",
            "Identifiers need back-quotes unless they start with a letter, '_' or '@' and go on "
            "with letters, digits and '_' (UNQUOTED_IDENTIFIER; a lone '_' or '@' is not one, "
            "verified in source). A dotted field name is such identifiers joined by '.'.",
        ),
        "identifier_quote": Rule(
            "`",
            _SYNTAX + "#esql-identifiers",
            "A back-quoted identifier names the field whose name is its text (`1.field`); a "
            "back-quote inside is doubled. QUOTED_ID is '`' ('``' | ~'`')+ '`': at least one "
            "character, so an empty name cannot be written (verified in source).",
        ),
        "keywords": Rule(
            frozenset(
                "and asc by desc false first in is last like not null nulls or rlike true "
                "where".split()
            ),
            _LEXER,
            "Expression-mode keyword tokens: a name part spelled like one (in any case: newer "
            "lexers are case-insensitive) is back-quoted, as it would not lex as an identifier.",
        ),
        # --- string literals -------------------------------------------------------------------
        "string_quote": Rule(
            '"',
            _SYNTAX + "#esql-string-literals",
            "A string literal is delimited by double quotes; a quote inside is escaped (\\\").",
        ),
        "string_escapes": Rule(
            {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"},
            _LEXER,
            "QUOTED_STRING is '\"' (ESCAPE_SEQUENCE | UNESCAPED_CHARS)* '\"' with ESCAPE_SEQUENCE "
            "'\\\\' [tnr\"\\\\] and UNESCAPED_CHARS ~[\\r\\n\"\\\\]: a raw CR or LF ends the token "
            "(the query does not parse), so they are written as \\r and \\n; other control "
            "characters are valid raw and have no escape (verified in source).",
        ),
        # --- case folding (issue 11) -------------------------------------------------------------
        "to_lower_folding": Rule(
            "String.toLowerCase(locale)",
            _FUNCTIONS + "#esql-to_lower",
            "TO_LOWER 'returns a new string representing the input string converted to lower "
            "case'; the implementation is Java's String.toLowerCase with the request's locale "
            "(Locale.ROOT unless the `locale` parameter is set: "
            "https://github.com/elastic/elasticsearch/pull/127772). That is the full mapping of "
            "SpecialCasing.txt, not Sigma's per-code-point simple lowercase: U+0130 becomes two "
            "code points ('i' + U+0307), a final capital sigma becomes 'ς', and a Turkish locale "
            "lowercases 'I' to 'ı'. With the case-insensitive rewrite (to_lower_readings) 'k' "
            "and 's' also fold by version. The emitter writes TO_LOWER only for values whose "
            "letters every reading folds as Sigma does, and RLIKE with Sigma's letter classes "
            "('[iIİ]') for the others.",
        ),
        # --- values (issue 11) -------------------------------------------------------------------
        "ignore_above": Rule(
            "value longer than the limit reads as null",
            IGNORE_ABOVE.doc,
            "A keyword value longer than ignore_above is not indexed and has no doc values "
            "(" + IGNORE_ABOVE.doc + "). ES|QL loads keyword columns from doc values, and where "
            "it reads _source or synthetic source instead, KeywordFieldType.blockLoader applies "
            "the same limit (applyIgnoreAboveAndNormalizer returns null for a longer value; "
            "verified in source, " + _KEYWORD_MAPPER + "); a WHERE pushed down to Lucene runs "
            "term/wildcard/exists queries that never see it. So ES|QL reads such a value as "
            "null: LIKE, RLIKE, == and IS NOT NULL are not true on it, and IS NULL is. Kibana's ES|QL maintainers confirm the "
            "values are missing from ES|QL results (https://github.com/elastic/kibana/issues/"
            "225568). The emitter declares every test on a field with a finite ignore_above that "
            "a longer value could decide (backends.common.SubfieldLimitMixin).",
        ),
        "wildcard_field_copy": Rule(
            "the copy, through QSTR()",
            _LIMITATIONS + "#esql-supported-types",
            "ES|QL reads the keyword family, wildcard included. With the template of `sigport "
            "mapping` (--mapping) the pipeline moves a case-insensitive string test to the "
            "field's caseless copy, and a regex or |cased test on a field with an ignore_above "
            "to its cased copy (backends/query/ingest.py); QSTR() runs the lucene target's "
            "query_string test on it (any_value_form), which a wildcard field answers on the "
            "whole value at any length: its ignore_above defaults to 2147483647 "
            "(https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/keyword#wildcard-field-type).",
        ),
        "numeric_coerce": Rule(
            NUMERIC_COERCE.value,
            NUMERIC_COERCE.doc,
            NUMERIC_COERCE.note + " ES|QL reads numeric columns from doc values, which hold the "
            "coerced number, so `destination.port == 888` is true on an event whose source had "
            "'0888'.",
        ),
        "string_compare_case_sensitive": Rule(
            True,
            _FUNCTIONS,
            "==, LIKE, starts_with and ends_with compare strings case-sensitively.",
        ),
        # --- the interpreter: nulls and multi-valued fields --------------------------------------
        "null_operand": Rule(
            Missing.NULL,
            _WHERE,
            "WHERE keeps the rows whose condition is true; a missing field is null, a comparison "
            "with null is null, and `WHERE field != \"value\"` is read as `field != \"value\" "
            "AND field IS NOT NULL`: a null test drops the row, also under NOT (three-valued "
            "logic; AND/OR as in SQL, "
            + _OPERATORS + "#esql-logical-operators).",
        ),
        "multi_valued": Rule(
            "null",
            _OPERATORS + "#esql-equals",
            "== 'If either field is multivalued then the result is null'; so do the other "
            "comparisons (same page). 'Unless otherwise documented functions will return null "
            "when applied to a multivalued field' (" + _MULTIVALUED + "#esql-multivalued-fields-"
            "functions; its example is the operator `b + 2`): STARTS_WITH, ENDS_WITH, "
            "CIDR_MATCH, IN. LIKE and RLIKE: their docs are silent; the source makes them "
            "single-value operators (RegexMatch implements SingleValueTranslationAware, "
            + _REGEX_MATCH + ", and TranslatorHandler wraps their pushed-down wildcard/regexp "
            "query in a SingleValueQuery that rejects multi-valued documents, " + _TRANSLATOR
            + "; verified in source). IS NULL / IS NOT NULL are not: a field with several values "
            "is not null.",
        ),
        "multi_valued_duplicates": Rule(
            {
                "keyword": MultiValued.NULL_DISTINCT,
                "constant_keyword": MultiValued.NULL_DISTINCT,
                "long": MultiValued.NULL_EVERY,
            },
            _MULTIVALUED + "#esql-multivalued-fields-dups",
            "'Some field types, like keyword remove duplicate values on write' while 'other "
            "types, like long don't': [\"a\", \"a\"] on a keyword field is one value, [1, 1] "
            "on a long field two. For the types the page does not name (wildcard, ip, the other "
            "numbers) duplicates of one value leave the verdict undecided (MultiValued.NULL).",
        ),
        # --- the interpreter: operators ------------------------------------------------------------
        "like_wildcards": Rule(
            {"*": Wildcard.ANY, "?": Wildcard.ONE},
            _OPERATORS + "#esql-like",
            "LIKE matches the whole value: `*` any run of characters, `?` one character; a "
            "backslash makes the next character literal (the pattern `foo \\\\* bar` in a "
            "quoted string). Case-sensitive (string_compare_case_sensitive).",
        ),
        "like_escape": Rule(
            "\\",
            _WILDCARD_LIKE,
            "WildcardLike matches with Lucene's WildcardQuery automaton of the pattern (a "
            "backslash makes the next character literal) after WildcardPattern validated it "
            "with StringUtils.wildcardToJavaPattern (verified in source). The docs name only "
            "`\\\\*` and `\\\\?`; sigport reads a backslash before `*`, `?` or `\\\\` "
            "and refuses any other escape or a trailing backslash rather than guess.",
        ),
        "rlike_dialect": Rule(
            RegexDialect.LUCENE,
            _OPERATORS + "#esql-rlike",
            "RLIKE uses the regular expression syntax of the regexp query (Lucene RegExp): the "
            "pattern matches the whole value, `^` and `$` are not anchors, and a backslash "
            "escapes the next character. Case-sensitive.",
        ),
        "to_lower_readings": Rule(
            Fold.FULL_OR_ASCII_OR_UNICODE,
            _WILDCARD_LIKE,
            "TO_LOWER(field) LIKE/RLIKE/== with a pattern that is already lower case is what "
            "the planner rewrites to a case-insensitive match on the field "
            "(optimizeStringCasingWithInsensitiveRegexMatch; ReplaceStringCasingWith"
            "InsensitiveEquals): Elasticsearch's case_insensitive, ASCII-only or Unicode simple "
            "folding by version (kql-es case_insensitive_folding). Without the rewrite it is "
            "String.toLowerCase (to_lower_folding). The three readings are candidates; an event "
            "on which they disagree is undecided. A pattern with an upper-case letter is "
            "rewritten to false (never null), unlike the Java reading: refused.",
        ),
        "in_operator": Rule(
            "or of ==",
            _OPERATORS + "#esql-in-operator",
            "`f IN (a, b)` tests whether f equals an element of the list: the OR of `f == a`, "
            "`f == b` (null on a null or multi-valued f).",
        ),
        "is_null": Rule(
            "exists",
            _OPERATORS + "#esql-is_null",
            "'If a field is only in some documents it will be NULL in the documents that did not "
            "contain it': IS NULL is true on a missing field (or one whose values are all over "
            "ignore_above), IS NOT NULL on a field with at least one value; never null.",
        ),
        "starts_ends_with": Rule(
            "case-sensitive prefix / suffix",
            _STRING_FUNCTIONS + "#esql-starts_with",
            "STARTS_WITH(str, prefix) / ENDS_WITH(str, suffix) return whether the string starts "
            "or ends with the other, case-sensitively; null when either is null.",
        ),
        "cidr_match": Rule(
            "ip field, any block",
            _ESQL + "functions-operators/ip-functions#esql-cidr_match",
            "CIDR_MATCH(ip, block1, ...) 'Returns true if the provided IP is contained in one of "
            "the provided CIDR blocks'; its ip parameter is of type ip (an IPv4-mapped IPv6 "
            "address is the IPv4 address, as in an ip field).",
        ),
        "field_types": Rule(
            ("keyword", "constant_keyword", "wildcard"),
            _LIMITATIONS + "#esql-supported-types",
            "String operators (LIKE, RLIKE, TO_LOWER, STARTS_WITH, ==) take keyword or text; "
            "ES|QL reads keyword-family fields from doc values (so ignore_above and a lowercase "
            "normalizer apply). A text field is read from _source while a pushed-down query "
            "uses its keyword sub-field: sigport does not evaluate tests on text fields, nor a "
            "string test on a numeric, ip or date field (a verification error in ES|QL).",
        ),
        "equals_types": Rule(
            "same type family",
            _OPERATORS + "#esql-equals",
            "The supported types of == (and the other comparisons) pair keyword/text with "
            "keyword/text and numbers with numbers: `keyword_field == 4624` is a verification "
            "error, so the query fails. The emitter writes a Sigma number tested on a keyword "
            "field as its text (`== \"4624\"`), which is what Sigma compares (the number's "
            "text, converter/reference/semantics.py numbers).",
        ),
        "kql_function": Rule(
            "kql-es",
            _ESQL + "functions-operators/search-functions/kql",
            "KQL(query[, options]) runs Elasticsearch's KQL query on each document (a full-text "
            "function: true or false, never null; since 8.18 / 9.0, its options map with "
            "case_insensitive since 9.3.0); sigport hands its string and options to the kql-es "
            "interpreter (backends/kql_es).",
        ),
        "qstr_function": Rule(
            "lucene",
            _ESQL + "functions-operators/search-functions/qstr",
            "QSTR(query) runs a query_string query with the query as its text and every other "
            "parameter at its default (QueryStringQuery.asBuilder: queryStringQuery(query) with "
            "no fields, options only from the optional map, verified in source, "
            + _QSTR_SOURCE + "); true or false, never null (FullTextFunction.nullable is "
            "FALSE). sigport hands the string to the lucene interpreter (backends/lucene); the "
            "options map (9.1 and later) is refused.",
        ),
        "full_text_multi_valued": Rule(
            MultiValued.ANY,
            _ESQL + "functions-operators/search-functions",
            "The search functions page states that full-text functions match multi-valued "
            "fields: a document whose field holds a value that the query matches is a match. "
            "They run Lucene queries (term, wildcard, regexp...), which match a document when "
            "any of its values matches, unlike the single-value operators (multi_valued).",
        ),
        "full_text_in_boolean": Rule(
            "and, or, not",
            _FULL_TEXT_SOURCE,
            "A full-text function may be an operand of AND, OR, NOT, another full-text function "
            "or a comparison (FullTextFunction.checkFullTextFunctionsParents; any other parent is "
            "a verification error, verified in source), in a WHERE command; QSTR and KQL only "
            "after FROM, WHERE and SORT, and every full-text function must come before LIMIT "
            "and STATS (checkCommandsBeforeExpression; limitations page, "
            + _LIMITATIONS + "#esql-limitations-full-text-search: 'directly after the FROM "
            "source command, or close enough to it'). Inside OR they were refused before "
            "8.18 / 9.0: elastic/elasticsearch PR 118544 allowed an OR of full-text functions "
            "only, PR 120291 an OR with any condition (both backported to 8.x in January "
            "2025). sigport writes FROM ... | WHERE only.",
        ),
        "any_value_form": Rule(
            "QSTR",
            _ESQL + "esql-multivalued-fields",
            "Field model of the emitter: no field is known to hold one value. Elasticsearch "
            "has no single-value field type (any field accepts an array, "
            "https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/array), ECS "
            "marks only some fields as arrays (normalize: array) while data sources write "
            "arrays elsewhere too (the bundled Zoom rule's sample event has two "
            "process.parent.name values), and the single-value operators are null on them "
            "(multi_valued). So the emitter writes every value test as QSTR(\"<field>:<value>\") "
            "in the lucene target's query_string form, which any value can match "
            "(full_text_multi_valued), and needs Elasticsearch 8.18 / 9.0 or later "
            "(full_text_in_boolean). IS NULL / IS NOT NULL stay ES|QL (not single-value); a "
            "Sigma fieldref stays == and is declared.",
        ),
    },
)
