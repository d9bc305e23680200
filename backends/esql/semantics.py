"""ES|QL lexical rules the emitter follows, one documented entry per fact.

sigport has no ES|QL interpreter yet (``check`` reports the target as not checked), so this table
is read by the emitter only: how a field name is written (bare or back-quoted), how a string
literal is written (quotes, escapes, characters that may not appear raw), and which values ES|QL
reads otherwise than Sigma (case folding, ``ignore_above``, numeric coercion), which the
emitter declares. Sources: the ES|QL
syntax reference and, where it is silent, Elasticsearch's ANTLR lexer (``Expression.g4``, the
expression-mode tokens), marked "verified in source".
"""

from __future__ import annotations

from ..query.semantics import IGNORE_ABOVE, NUMERIC_COERCE, Rule, Semantics

_SYNTAX = "https://www.elastic.co/guide/en/elasticsearch/reference/current/esql-syntax.html"
_FUNCTIONS = (
    "https://www.elastic.co/guide/en/elasticsearch/reference/current/esql-functions-operators.html"
)
_KEYWORD_MAPPER = (
    "https://github.com/elastic/elasticsearch/blob/main/server/src/main/java/org/elasticsearch/"
    "index/mapper/KeywordFieldMapper.java"
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
            "lowercases 'I' to 'ı'. A value whose letters include 'i' or 'σ' (in any case) can "
            "therefore miss events Sigma matches: the emitter declares it.",
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
    },
)
