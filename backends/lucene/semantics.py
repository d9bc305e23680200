"""Documented matching semantics of Elasticsearch's Lucene ``query_string`` syntax.

Every fact the Lucene interpreter (``parser.py``) relies on is one entry here, with the vendor
document that states it. Entries marked "verified in source" were checked against
``QueryStringQueryParser.java`` (elastic/elasticsearch) or Lucene's classic ``QueryParser.jj``
because the reference page is silent on them.
"""

from __future__ import annotations

from ..query.ast import Missing
from ..query.semantics import Rule, Semantics

QS_DOC = (
    "https://www.elastic.co/guide/en/elasticsearch/reference/current/"
    "query-dsl-query-string-query.html#query-string-syntax"
)
REGEX_DOC = "https://www.elastic.co/guide/en/elasticsearch/reference/current/regexp-syntax.html"
KEYWORD_DOC = "https://www.elastic.co/guide/en/elasticsearch/reference/current/keyword.html"
NORMALIZER_DOC = "https://www.elastic.co/guide/en/elasticsearch/reference/current/normalizer.html"
_ES = "https://www.elastic.co/guide/en/elasticsearch/reference/current/"
IGNORE_ABOVE_DOC = _ES + "ignore-above.html"
EXISTS_DOC = _ES + "query-dsl-exists-query.html"
BOOL_DOC = _ES + "query-dsl-bool-query.html"
TEXT_DOC = "https://www.elastic.co/guide/en/elasticsearch/reference/current/text.html"
IP_DOC = "https://www.elastic.co/guide/en/elasticsearch/reference/current/ip.html"
ARRAY_DOC = "https://www.elastic.co/guide/en/elasticsearch/reference/current/array.html"
CLASSIC_DOC = (
    "https://lucene.apache.org/core/9_0_0/queryparser/org/apache/lucene/queryparser/classic/"
    "package-summary.html"
)
SIGMA_DOC = (
    "https://github.com/SigmaHQ/sigma-specification/blob/main/specification/"
    "sigma-rules-specification.md"
)

LUCENE_SEMANTICS = Semantics(
    "lucene",
    {
        "default_operator": Rule(
            "OR",
            QS_DOC,
            "Bare clauses separated by whitespace are optional (SHOULD): 'foo bar baz' finds any.",
        ),
        "boolean_precedence": Rule(
            "flat-clauses",
            QS_DOC,
            "AND/OR/NOT do not honour the usual precedence. Lucene's classic parser builds one "
            "flat clause list per group: AND marks its left and right neighbours MUST, NOT/- marks "
            "MUST_NOT, + marks MUST, other clauses SHOULD (verified in QueryParserBase.addClause). "
            "sigport rejects a group that mixes AND with OR/implicit OR.",
        ),
        "should_with_must": Rule(
            "optional",
            BOOL_DOC,
            "In a bool query with a MUST clause, SHOULD clauses only score: "
            "'a AND b OR c' = a AND b.",
        ),
        "pure_negative_group": Rule(
            "match-all-minus",
            QS_DOC,
            "A group of only NOT/- clauses matches every document except those "
            "(ES adds a match_all; "
            "verified in QueryStringQueryParser.getBooleanQuery -> fixNegativeQueryIfNeeded).",
        ),
        "not_missing": Rule(
            Missing.FALSE,
            BOOL_DOC,
            "NOT f:x is a must_not clause, so documents without f match it.",
        ),
        "exists_pure_wildcard": Rule(
            True,
            QS_DOC,
            "f:* is rewritten to an exists query: matches '' but not missing or null.",
        ),
        "exists_field": Rule(
            True, EXISTS_DOC, "_exists_:f matches documents where f has an indexed non-null value."
        ),
        "wildcards": Rule(
            "*?",
            QS_DOC,
            "'*' is zero or more characters, '?' exactly one, in unquoted terms only.",
        ),
        "phrase_no_wildcards": Rule(
            True,
            QS_DOC,
            "A quoted phrase has no wildcard or regex interpretation; on keyword fields the "
            "keyword "
            "analyzer makes it one whole-value term.",
        ),
        "escape_char": Rule("\\", QS_DOC, "Reserved characters are escaped with a backslash."),
        "range_prefix_lt_gt": Rule(
            True,
            QS_DOC,
            "'<' and '>' cannot be escaped: an unquoted term whose text (after unescaping) starts "
            "with < or > and is longer than one character is a one-sided range (verified in "
            "QueryStringQueryParser.getFieldQuery). Quoted phrases and wildcard terms are exempt.",
        ),
        "regex_anchored": Rule(
            True, REGEX_DOC, "Lucene regular expressions always match the whole value (no ^/$)."
        ),
        "regex_case_sensitive": Rule(
            True,
            REGEX_DOC,
            "query_string regexes are case-sensitive and not passed through a field normalizer.",
        ),
        "keyword_case_sensitive": Rule(
            True, KEYWORD_DOC, "keyword/wildcard terms, prefixes and wildcards compare exactly."
        ),
        "normalizer_lowercase": Rule(
            True,
            NORMALIZER_DOC,
            "A lowercase normalizer applies to indexed values and to query terms, phrases and "
            "prefixes. In wildcard terms escaped characters are kept unnormalised (verified in "
            "StringFieldType.wildcardQuery).",
        ),
        "ignore_above": Rule(
            True,
            IGNORE_ABOVE_DOC,
            "Keyword values longer than ignore_above are not indexed, so no query matches them.",
        ),
        "text_fields_analyzed": Rule(
            "standard",
            TEXT_DOC,
            "text/match_only_text fields are tokenised and lowercased; terms match single tokens, "
            "quoted phrases match adjacent tokens.",
        ),
        "ip_cidr": Rule(
            True, IP_DOC, "A term 'a.b.c.d/n' on an ip field matches addresses inside that network."
        ),
        "multi_valued": Rule(
            "any",
            ARRAY_DOC,
            "A field test matches when any value of an array matches; NOT matches when none does.",
        ),
        "empty_query": Rule(
            False, QS_DOC, "An empty or whitespace-only query string matches nothing."
        ),
        "unknown_field": Rule(
            "keyword",
            QS_DOC,
            "Without a field model sigport treats every field as an exact, case-sensitive keyword.",
        ),
        "classic_term_chars": Rule(
            "javacc",
            CLASSIC_DOC,
            "A term may not start with + - ! ( ) : ^ [ ] \" { } ~ \\ / or whitespace; "
            "'-', '+', '*', '?' "
            "are allowed inside a term; 'AND', 'OR', 'NOT', '&&', '||' alone are operators.",
        ),
        "sigma_case_insensitive": Rule(
            True,
            SIGMA_DOC,
            "Sigma string values match case-insensitively; regexes are case-sensitive unless |i.",
        ),
    },
)
