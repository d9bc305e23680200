"""Elasticsearch's KQL (the ``kql`` query, ES|QL ``KQL()``): matching semantics, one fact per entry.

Elasticsearch 9 parses KQL in its own plugin (x-pack/plugin/kql): an ANTLR grammar
(``KqlBase.g4``), ``ParserUtils`` (escapes, wildcard detection) and ``KqlAstBuilder`` (the
translation to term / wildcard / match / query_string queries), with the ``case_insensitive``,
``default_field`` and ``time_zone`` parameters (``KqlParsingContext``). None of it is shared with
Kibana's peggy grammar, and several facts differ from Kibana's KQL (``backends/kql/semantics.py``);
every such difference is an entry here, named and cited: ``DIFFERS_FROM_KIBANA`` lists them.
The interpreter (``lower.py``) reads these entries; the emitter (``backend.py``) reads them too, but
never the other way round.
"""

from __future__ import annotations

from ..query.ast import Fold, Missing
from ..query.semantics import IGNORE_ABOVE, NUMERIC_COERCE, Rule, Semantics

_SRC = "https://github.com/elastic/elasticsearch/blob/main/x-pack/plugin/kql/src/main"
GRAMMAR = f"{_SRC}/antlr/KqlBase.g4"
AST_BUILDER = f"{_SRC}/java/org/elasticsearch/xpack/kql/parser/KqlAstBuilder.java"
PARSER_UTILS = f"{_SRC}/java/org/elasticsearch/xpack/kql/parser/ParserUtils.java"
PARSING_CONTEXT = f"{_SRC}/java/org/elasticsearch/xpack/kql/parser/KqlParsingContext.java"
AUTOMATON_QUERIES = (
    "https://github.com/elastic/elasticsearch/blob/main/server/src/main/java/org/elasticsearch/"
    "common/lucene/search/AutomatonQueries.java"
)
KQL_QUERY_DOC = (
    "https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-kql-query"
)
ESQL_KQL_DOC = (
    "https://www.elastic.co/docs/reference/query-languages/esql/functions-operators/"
    "search-functions/kql"
)
ES_REF = "https://www.elastic.co/guide/en/elasticsearch/reference/current"
BOOL_DOC = "https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-bool-query"
REGEXP_DOC = (
    "https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-regexp-query"
)
REGEXP_BUILDER = (
    "https://github.com/elastic/elasticsearch/blob/main/server/src/main/java/org/elasticsearch/"
    "index/query/RegexpQueryBuilder.java"
)

#: The language's name in messages.
LANGUAGE = "Elasticsearch KQL"

#: Whitespace the lexer skips between tokens (fragment WHITESPACE); a raw one never joins a token.
WHITESPACE = " \t\n\r\u3000"
#: Characters an unquoted literal cannot hold raw (fragment NON_SPECIAL_CHAR excludes them).
SPECIAL = '\\():<>"*{}'
#: Characters Java's ``.`` does not match (java.util.regex.Pattern, no DOTALL): a token holding
#: one after its first ``*`` fails UNESCAPED_WILDCARD_PATTERN (entry ``wildcard_detection``).
JAVA_LINE_TERMINATORS = "\n\r\u0085\u2028\u2029"

SEMANTICS = Semantics(
    "kql-es",
    {
        "boolean_precedence": Rule(
            "and/or share one precedence (right-associative)",
            GRAMMAR,
            "query: <assoc=right> query operator=(AND|OR) query, so `a and b or c` is "
            "`a and (b or c)`; the first grammar (2024) gave `and` its own, tighter alternative. "
            "Differs from Kibana. The interpreter refuses and/or mixed without parentheses (the "
            "versions disagree); the emitter always parenthesises them.",
        ),
        "not_operand": Rule(
            "not simpleQuery", GRAMMAR,
            "notQuery: NOT subQuery=simpleQuery; must_not keeps documents lacking the field.",
        ),
        "keywords": Rule(
            ("and", "or", "not"),
            GRAMMAR,
            "options { caseInsensitive=true; }: AND/OR/NOT are case-insensitive tokens; a word is "
            "an operator only when it is a whole token (ANTLR's longest match makes `nota` or "
            "`not*` a literal).",
        ),
        "whitespace_separates": Rule(
            WHITESPACE,
            GRAMMAR,
            "DEFAULT_SKIP: [ \\t\\n\\r\\u3000] -> skip and NON_SPECIAL_CHAR excludes them: raw "
            "whitespace always ends a token. Differs from Kibana (whitespace is part of a value "
            "there, then trimmed).",
        ),
        "value_tokens_joined": Rule(
            " ",
            PARSER_UTILS,
            "extractText joins a value's tokens with one space (UNQUOTED_LITERAL_TERM_DELIMITER): "
            "`a   b` is the value 'a b'. Differs from Kibana.",
        ),
        "unquoted_escapes": Rule(
            "\\t \\r \\n, \\uXXXX, \\<one of space \\ ( ) : < > \" * { }>, \\and \\or \\not",
            PARSER_UTILS,
            "unescapeUnquotedLiteral tries the escaped keywords first, so `\\not` is 'not' (in "
            "Kibana it is a newline and 'ot'); \\t \\n \\r \\u (lowercase only) decode; "
            "\\\\ \\\" \\( \\) \\: \\< \\> \\* \\{ \\} give the character; every other escape the "
            "lexer accepts (`\\ `, `\\T`, `\\U0041`) keeps its backslash.",
        ),
        "unicode_escape_surrogate": Rule(
            "error", PARSER_UTILS,
            "handleUnicodeSequence rejects \\uD800-\\uDFFF (KqlParsingException).",
        ),
        "quoted_escapes": Rule(
            '\\t \\r \\n \\uXXXX \\\\ \\"',
            PARSER_UTILS,
            "unescapeQuotedString; a backslash before anything else, or right before the "
            "closing quote, is kept.",
        ),
        "wildcard_detection": Rule(
            "[^\\\\]*[*].*",
            PARSER_UTILS,
            "hasWildcard: a value is a pattern when one of its tokens is a lone `*` (WILDCARD) or "
            "an UNQUOTED_LITERAL whose text matches UNESCAPED_WILDCARD_PATTERN (Java matches(), "
            "`.` stops at line terminators): a token with any backslash before its first `*` is "
            "no pattern at all, and then its escaped and unescaped `*` alike are plain "
            "characters. Differs from Kibana.",
        ),
        "keyword_path": Rule(
            "typeName == keyword",
            PARSING_CONTEXT,
            "isKeywordField: only `keyword` fields get term (plain) / wildcard (pattern) queries; "
            "wildcard, constant_keyword, text and unmapped fields take match / match_phrase / "
            "query_string, as in Kibana's is.ts.",
        ),
        "keyword_pattern_syntax": Rule(
            "Lucene wildcard: * any, ? one, \\ escapes",
            AST_BUILDER,
            "A pattern on a keyword field is QueryBuilders.wildcardQuery(field, queryText) with "
            "the unescaped text: `?` is a single-character wildcard and a backslash escapes the "
            "next character (WildcardQuery; a trailing one is literal). Differs from Kibana, "
            "where `?` is always a plain character.",
        ),
        "query_string_pattern": Rule(
            "escapeLuceneQueryString(text, true)",
            PARSER_UTILS,
            "A pattern on any other field is a query_string of the text with everything but `*` "
            "escaped (QueryParser.escape leaves whitespace alone): every `*` of the unescaped "
            "text is live, `?` is plain, and whitespace splits the value into OR-ed terms (entry "
            "query_string_splits_whitespace).",
        ),
        "query_string_splits_whitespace": Rule(
            " \t\n\r\u3000",
            f"{ES_REF}/query-dsl-query-string-query.html",
            "query_string splits unescaped whitespace into terms joined by default_operator OR; "
            "uppercase AND/OR/NOT words would be operators, so the interpreter refuses them.",
        ),
        "case_insensitive_scope": Rule(
            "term and wildcard queries on keyword fields",
            AST_BUILDER,
            "case_insensitive (default false, https://www.elastic.co/docs/reference/"
            "query-languages/query-dsl/query-dsl-kql-query) is passed to termQuery / "
            "wildcardQuery only; match, match_phrase, query_string, range and exists ignore it, "
            "so it never reaches wildcard-typed fields such as ECS process.command_line.",
        ),
        "case_insensitive_folding": Rule(
            Fold.ASCII_OR_UNICODE,
            AUTOMATON_QUERIES,
            "caseInsensitive term/wildcard queries build AutomatonQueries.toCaseInsensitiveString "
            "/ toCaseInsensitiveWildcardAutomaton: toCaseInsensitiveChar folds code points up to "
            "128 only ('For now we only work with ASCII characters'), so 'É' misses 'é' and 'k' "
            "misses the Kelvin sign; elastic/elasticsearch#153513 (merged 2026-07) moved it to "
            "Lucene's Unicode simple case folding ('s' then also matches 'ſ'). Both readings are "
            "candidates (as for EQL); Sigma's per-code-point lowercase also takes 'İ' for 'i'.",
        ),
        "normalizer_lowercase": Rule(
            "case-insensitive",
            f"{ES_REF}/normalizer.html",
            "A lowercase normalizer lowercases indexed values and term/wildcard query values per "
            "code point (Lucene LowerCaseFilter), before case_insensitive folds the query too.",
        ),
        "ignore_above": IGNORE_ABOVE,
        "exists_value": Rule(
            "*", GRAMMAR, "existsQuery: fieldName COLON WILDCARD is an exists query."
        ),
        "match_all": Rule("* or *:*", GRAMMAR, "matchAllQuery: (WILDCARD COLON)? WILDCARD."),
        "wildcard_field_plain": Rule(
            "exact, case-sensitive",
            f"{ES_REF}/keyword.html#wildcard-field-type",
            "match / match_phrase on a `wildcard`-typed field compare the whole value.",
        ),
        "text_unquoted": Rule(
            "match", AST_BUILDER, "An unquoted plain value on a text field is a match query."
        ),
        "text_quoted": Rule(
            "match_phrase", AST_BUILDER, "A quoted value on a non-keyword field is match_phrase."
        ),
        "numeric_coerce": NUMERIC_COERCE,
        "ip_cidr": Rule(
            "a.b.c.d/n is a CIDR term",
            f"{ES_REF}/ip.html#query-ip-fields",
            "A match query on an ip field accepts CIDR notation.",
        ),
        "range": Rule(
            ("<", "<=", ">", ">="),
            AST_BUILDER,
            "rangeQuery on the field with the value text: numeric or lexicographic.",
        ),
        "missing_under_not": Rule(
            Missing.FALSE,
            AST_BUILDER,
            "`not` is bool.must_not, which keeps documents lacking the field.",
        ),
        "unbound_value": Rule(
            "default fields",
            AST_BUILDER,
            "A value without a field is a multi_match (lenient) or query_string over "
            "default_field / index.query.default_field: modelled as a case-insensitive Keyword "
            "glob, an approximation.",
        ),
        "field_value_group": Rule(
            "unsupported",
            GRAMMAR,
            "`field:(a or b)` (booleanFieldQueryValue) exists only in recent grammars "
            "(elastic/elasticsearch#133863): the emitter writes `(field:a or field:b)` and the "
            "interpreter refuses the group form.",
        ),
        "nested_query": Rule(
            "unsupported", GRAMMAR, "`field:{ ... }` queries nested documents; events are flat."
        ),
        "parameters": Rule(
            ("query", "case_insensitive", "default_field", "time_zone", "boost", "_name"),
            KQL_QUERY_DOC,
            "The kql query's parameters; ES|QL KQL(query, {options}) takes case_insensitive, "
            "time_zone, default_field and boost as named parameters from stack 9.3 "
            f"({ESQL_KQL_DOC}).",
        ),
        "esql_default_case": Rule(
            "explicit case_insensitive",
            "https://github.com/elastic/elasticsearch/pull/135776",
            "ES|QL's KQL() matched keyword fields case-insensitively by default before 9.2: the "
            "emitter always writes the parameter, true or false.",
        ),
        # --- the Query DSL tree a rule with regexes becomes (backend_dsl.py, dsl.py) ----------
        "query_dsl_bool": Rule(
            ("filter", "must", "should", "must_not", "minimum_should_match"),
            BOOL_DOC,
            "A bool query matches a document when every must and filter clause matches, no "
            "must_not clause does, and at least minimum_should_match should clauses do; "
            "minimum_should_match defaults to 1 when the bool has should clauses and no must or "
            "filter clause, else to 0. The emitter writes and as filter, or as should with "
            "minimum_should_match 1, not as must_not; the interpreter reads any mix, with "
            "minimum_should_match 0, 1 or the number of should clauses.",
        ),
        "regexp_query": Rule(
            "the query_string /re/ term",
            REGEXP_BUILDER,
            "RegexpQueryBuilder.doToQuery calls the field type's regexpQuery, as "
            "QueryStringQueryParser.getRegexpQuery does for a /re/ term, with flags ALL (the "
            f"default, {REGEXP_DOC}) and case_insensitive false: a Lucene RegExp over each whole "
            "indexed value of a keyword, constant_keyword or wildcard field, not normalised, so "
            "a value above ignore_above (not indexed) never matches. The Lucene target's entries "
            "regex_* (backends/lucene/semantics.py) hold for it; other flags and "
            "case_insensitive true are not evaluated.",
        ),
        "case_insensitive_per_query": Rule(
            "one setting per kql query object",
            KQL_QUERY_DOC,
            "case_insensitive is a parameter of the kql query object (default false), so it "
            f"applies to the whole KQL text of that object; a bool query's clauses ({BOOL_DOC}) "
            "are separate query objects, each kql clause with its own. The emitter splits a rule "
            "whose tests need both settings (backends/kql_es/case.py) into kql clauses that each "
            "carry theirs; the reader (dsl.py) reads each kql clause with its own.",
        ),
        "regexp_wildcard_field": Rule(
            "whole value, any length",
            f"{ES_REF}/keyword.html#wildcard-field-type",
            "A wildcard field indexes every value whole (no ignore_above by default) and answers "
            "regexp queries on it: where case_insensitive cannot reach (case_insensitive_scope) "
            "or a lowercase-normalised multi-field stops at its ignore_above, the emitter tests "
            "a case-insensitive value with a regexp query whose letters are case classes.",
        ),
        "regexp_parameters": Rule(
            ("value", "flags", "case_insensitive", "max_determinized_states", "rewrite", "boost",
             "_name"),
            REGEXP_DOC,
            "The regexp query's parameters; a string instead of the object is the value alone. "
            "max_determinized_states, rewrite, boost and _name change cost or scores, not which "
            "documents match.",
        ),
        "regexp_max_length": Rule(
            1000,
            REGEXP_DOC,
            "'By default, regular expressions are limited to 1,000 characters' "
            "(index.max_regex_length); a longer one fails the request.",
        ),
        "esql_tree_form": Rule(
            "KQL() / QSTR() under AND, OR, NOT",
            "https://github.com/elastic/elasticsearch/blob/main/x-pack/plugin/esql/src/main/java/"
            "org/elasticsearch/xpack/esql/expression/function/fulltext/FullTextFunction.java",
            "The -f esql / kibana-ndjson forms write the query object as an ES|QL condition: a "
            "kql query is KQL(text, {\"case_insensitive\": ...}) (the options map since 9.3.0, "
            + ESQL_KQL_DOC + "), a regexp query QSTR(\"field:/regex/\") (query_string's regex "
            "term: the same Lucene RegExp, flags ALL, case-sensitive, not normalised; lucene "
            "semantics regex_reserved, regex_case_sensitive), a bool query the AND of its "
            "filter clauses, the OR of its should clauses (minimum_should_match 1) and NOT of "
            "each must_not clause. Full-text functions are true or false, never null "
            "(FullTextFunction.nullable), match when any value does, and may be operands of "
            "AND, OR and NOT (checkFullTextFunctionsParents, verified in source; OR with them "
            "since 8.18 / 9.0: esql semantics full_text_in_boolean), so the condition selects "
            "the documents the bool query selects.",
        ),
        "match_all_none": Rule(
            ("match_all", "match_none"),
            "https://www.elastic.co/docs/reference/query-languages/query-dsl/"
            "query-dsl-match-all-query",
            "match_all matches every document, match_none none.",
        ),
    },
)

#: The entries where Elasticsearch's KQL is known to differ from Kibana's.
DIFFERS_FROM_KIBANA = (
    "boolean_precedence",
    "whitespace_separates",
    "value_tokens_joined",
    "unquoted_escapes",
    "wildcard_detection",
    "keyword_pattern_syntax",
    "case_insensitive_scope",
    "case_insensitive_folding",
    "field_value_group",
)
