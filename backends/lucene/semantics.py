"""Documented matching semantics of Elasticsearch's Lucene ``query_string`` syntax.

Every fact the Lucene interpreter (``parser.py``) relies on is one entry here, with the vendor
document that states it. Entries marked "verified in source" were checked against
``QueryStringQueryParser.java`` (elastic/elasticsearch) or Lucene's classic ``QueryParser.jj``
because the reference page is silent on them.
"""

from __future__ import annotations

from ..query.ast import Fold, Missing
from ..query.semantics import NUMERIC_COERCE, Rule, Semantics

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
LUCENE_REGEXP_JAVADOC = (
    "https://lucene.apache.org/core/9_0_0/core/org/apache/lucene/util/automaton/RegExp.html"
)
PY_RE_DOC = "https://docs.python.org/3/library/re.html#regular-expression-syntax"
PY_REGEX_DOC = "https://pypi.org/project/regex/"
PCRE2_TYPES_DOC = "https://www.pcre.org/current/doc/html/pcre2pattern.html#genericchartypes"
SIGMA_DOC = (
    "https://github.com/SigmaHQ/sigma-specification/blob/main/specification/"
    "sigma-rules-specification.md"
)

#: The language's name in messages (parse errors name it).
LANGUAGE = "lucene"

SEMANTICS = Semantics(
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
            True,
            EXISTS_DOC,
            "_exists_:f matches documents where f has an indexed non-null value: a multi-field "
            "reads its parent's value, and a value longer than a keyword field's ignore_above "
            "is not indexed, so it does not count (the exists query's own list of reasons).",
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
        "regex_max_length": Rule(
            1000,
            "https://github.com/elastic/elasticsearch/pull/31136",
            "query_string applies index.max_regex_length (1,000 characters by default, "
            + _ES + "index-modules.html) to each regex term, counted between the slashes as "
            "written (QueryStringQueryParser.getRegexpQuery): a longer one fails the request. "
            "The emitters declare such a term (a long case-insensitive value written as "
            "per-letter classes is one too); the interpreter refuses it.",
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
        "normalizer_folding": Rule(
            Fold.SIMPLE,
            NORMALIZER_DOC,
            "The lowercase normalizer is Lucene's LowerCaseFilter (https://lucene.apache.org/core/"
            "9_0_0/core/org/apache/lucene/analysis/LowerCaseFilter.html): Character.toLowerCase "
            "per code point (FİLE.EXE -> file.exe, ΟΔΟΣ -> οδοσ), the reading sigport's "
            "reference uses for Sigma strings.",
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
        "numeric_coerce": NUMERIC_COERCE,
        "ip_cidr": Rule(
            True, IP_DOC, "A term 'a.b.c.d/n' on an ip field matches addresses inside that network."
        ),
        "multi_valued": Rule(
            "any",
            ARRAY_DOC,
            "A field test matches when any value of an array matches; NOT matches when none does.",
        ),
        "default_field": Rule(
            "*",
            QS_DOC,
            "A term without a field searches the query's default_field, which defaults to the "
            "index.query.default_field setting, '*': every field eligible for term queries; "
            "each field reads the term as its type does (a keyword field a whole-value, "
            "case-sensitive term or wildcard; a text field analysed tokens).",
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
        # --- Lucene RegExp facts the Sigma-regex translation (regex.py) relies on --------------
        "regex_reserved": Rule(
            '.?+*|{}[]()"\\#@&<>~',
            REGEX_DOC,
            "Standard operators plus the optional ones (# @ & < > ~), which query_string and the "
            "regexp query enable by default (flags ALL); a backslash makes any of them literal.",
        ),
        "regex_empty_string": Rule(
            "()",
            LUCENE_REGEXP_JAVADOC,
            "'()' is the empty string; an empty alternative such as '(a|)' is not valid Lucene "
            "syntax (the parser reads ')' as a character), so it is written '(a|())'.",
        ),
        "regex_no_assertions": Rule(
            True,
            REGEX_DOC,
            "Lucene RegExp has no anchors, look-around or word boundaries (it compiles to an "
            "automaton over whole values): PCRE \\b and look-around have no translation.",
        ),
        "regex_predefined_classes": Rule(
            {"d": "[0-9]", "s": "[ \t\n\r]", "w": "[a-zA-Z_0-9]"},
            LUCENE_REGEXP_JAVADOC,
            "Lucene 9 added \\d \\s \\w (not on the Elasticsearch syntax page, absent before "
            "Lucene 9); its \\s lacks \\v and \\f, so the translation never emits them and "
            "writes explicit classes instead.",
        ),
        "regex_case_insensitive_expand": Rule(
            {
                "i": "iI", "I": "Ii", "\u0130": "\u0130i", "\u0131": "\u0131I",
                "k": "kK\u212a", "K": "Kk\u212a", "\u212a": "\u212akK",
                "s": "sS\u017f", "S": "Ss\u017f", "\u017f": "\u017fSs",
            },
            "https://github.com/elastic/elasticsearch/pull/153513",
            "case_insensitive regexps (EQL regex~) fold ASCII letters only in Lucene 9 "
            "(RegExp.ASCII_CASE_INSENSITIVE); since this change they use Lucene's "
            "CaseFolding.expand: Java's toUpperCase/toLowerCase plus special cases (Kelvin sign, "
            "long s, ...). These are the variants of ASCII letters and the characters that fold "
            "onto them (other ASCII letters: their pair in both versions).",
        ),
        # --- Sigma regex semantics, as sigport's reference evaluator runs them ----------------
        "sigma_regex_search": Rule(
            True,
            SIGMA_DOC,
            "A Sigma regex matches anywhere in the value (it has ^/$ anchors); the reference runs "
            "Python's regex package search(). Translations add '.*' on unanchored sides.",
        ),
        "sigma_regex_lazy_quantifiers": Rule(
            "greedy-equivalent",
            PY_RE_DOC,
            "*? +? ?? {m,n}? change which match is returned, never whether one exists (the same "
            "alternatives are tried in another order), so for a match/no-match test they equal "
            "the greedy forms. Possessive quantifiers and atomic groups do change it: refused.",
        ),
        "sigma_regex_inline_flags": Rule(
            {"i": "ignorecase", "s": "dotall", "m": "multiline", "a": "ascii", "u": "unicode"},
            PY_RE_DOC,
            "(?flags) is allowed only at the start of the pattern and applies to all of it; "
            "(?flags-flags:...) scopes them to a group. Flags elsewhere are a syntax error in "
            "Python 3.11+, and (?x) is refused (verbose mode).",
        ),
        "sigma_regex_quantifier_braces": Rule(
            "python",
            PY_RE_DOC,
            "{m}, {m,}, {m,n} and {,n} (lower bound zero) are quantifiers; any other brace, "
            "e.g. '{}' or '{1, 2}', is a literal character.",
        ),
        "sigma_regex_dollar": Rule(
            "end-or-before-final-newline",
            PY_RE_DOC,
            "Without the multi-line flag '$' matches at the end or just before a newline at the "
            "end; \\Z only at the very end, \\A only at the start. '.' excludes '\\n' unless "
            "dot-all.",
        ),
        "sigma_regex_shorthand": Rule(
            {
                "d": (("0", "9"),),
                "w": (("0", "9"), ("A", "Z"), ("_", "_"), ("a", "z")),
                "s": (("\t", "\r"), (" ", " ")),
            },
            PCRE2_TYPES_DOC,
            "PCRE's \\d \\w \\s match ASCII characters only unless UCP is set (\\s: space, "
            "\\t \\n \\v \\f \\r), as sigport's SPL interpreter models them. KNOWN GAP: the "
            "reference evaluator runs Python's Unicode classes, so a non-ASCII digit, letter or "
            "space (U+0663, 'é', U+00A0) matches there and not in the translation.",
        ),
        "sigma_regex_case_folding": Rule(
            {
                "i": "iI\u0130", "I": "Ii\u0131", "\u0130": "\u0130i", "\u0131": "\u0131I",
                "k": "kK\u212a", "K": "Kk\u212a", "\u212a": "\u212akK",
                "s": "sS\u017f", "S": "Ss\u017f", "\u017f": "\u017fsS",
            },
            PY_REGEX_DOC,
            "Case-insensitive matching in the reference's regex package (simple case folding of "
            "https://www.unicode.org/Public/UCD/latest/ucd/CaseFolding.txt plus the Turkic "
            "dotted/dotless i): 'k' also matches the Kelvin sign, 's' the long s, 'i' U+0130, "
            "'I' U+0131; other ASCII letters pair with their other case only. Verified against "
            "regex's own case table for every code point in tests/backends/test_regex_translation.py. "
            "Non-ASCII letters are refused: their variants depend on the Unicode version.",
        ),
        "sigma_case_insensitive": Rule(
            True,
            SIGMA_DOC,
            "Sigma string values match case-insensitively; regexes are case-sensitive unless |i. "
            "sigport's reference compares each code point's simple lowercase (Java's "
            "Character.toLowerCase), so a letter's class holds every character with the same "
            "simple lowercase: 'i' takes 'I' and 'İ', 'k' the Kelvin sign, 'ß' takes 'ẞ', 'σ' "
            "takes 'Σ' but not 'ς' (backends/query/folding.equivalents).",
        ),
    },
)
