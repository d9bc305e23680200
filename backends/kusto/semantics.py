"""How Microsoft Kusto (KQL of Sentinel, Defender XDR advanced hunting and Azure Data Explorer)
matches, one documented fact per entry.

Not Kibana's KQL (``backends/kql``): the two languages share an acronym and nothing else. The
Kusto interpreter (``parser.py``) reads these entries while lowering query text to the shared
tree, so every Kusto-specific decision is visible here with the Microsoft Learn page that states
it. Entries whose behaviour Microsoft does not document say so in their note, with the choice
made (the interpreter then refuses, or ``check`` does not call the query equivalent).
"""

from __future__ import annotations

from backends.query.ast import Fold, Missing
from backends.query.semantics import Rule, Semantics

_Q = "https://learn.microsoft.com/kusto/query/"
STRING_OPERATORS = _Q + "datatypes-string-operators"
STRING_TYPE = _Q + "scalar-data-types/string"
NULL_VALUES = _Q + "scalar-data-types/null-values"
BOOL_TYPE = _Q + "scalar-data-types/bool"
DYNAMIC_TYPE = _Q + "scalar-data-types/dynamic"
ISEMPTY = _Q + "isempty-function"
ISNULL = _Q + "isnull-function"
RE2_SYNTAX = _Q + "re2"
MATCHES_REGEX = _Q + "matches-regex-operator"
IN_CI = _Q + "in-operator"
IN_CS = _Q + "in-cs-operator"
HAS = _Q + "has-operator"
HAS_ANY = _Q + "has-anyoperator"
HAS_ALL = _Q + "has-all-operator"
WHERE = _Q + "where-operator"
LOGICAL = _Q + "logical-operators"
NOT_FN = _Q + "not-function"
NUMERIC = _Q + "numerical-operators"
ENTITY_NAMES = _Q + "schema-entities/entity-names"
IPV4_RANGE = _Q + "ipv4-is-in-range-function"
IPV6_MATCH = _Q + "ipv6-is-match-function"
COALESCE = _Q + "coalesce-function"
TOSTRING = _Q + "tostring-function"
PARSE_JSON = _Q + "parse-json-function"
RE2_WIKI = "https://github.com/google/re2/wiki/Syntax"
JOIN = _Q + "join-operator"
JOIN_LEFTSEMI = _Q + "join-leftsemi"
DISTINCT = _Q + "distinct-operator"
INGESTION_TIME = _Q + "ingestion-time-function"
AGO = _Q + "ago-function"
TIMESPAN = _Q + "scalar-data-types/timespan"
INGESTION_DELAY = "https://learn.microsoft.com/azure/sentinel/ingestion-delay"

#: The readings Kusto's case-insensitive operators could use for letters beyond ASCII (entry
#: ``nonascii_case_folding``): a literal is exact under ``=~``/``contains``/``in~`` only when each of
#: its characters has the same case partners under all of them; an event on which they disagree is
#: undecided. Kusto runs on .NET, so ToUpperInvariant (``upper``: U+0131 = ``i``) is one of them.
CANDIDATE_FOLD = Fold.ASCII_OR_SIMPLE_OR_UNICODE_OR_UPPER
CANDIDATE_READINGS = CANDIDATE_FOLD.readings

#: Characters that make up a ``has`` term (ASCII letters and digits; see ``has_term``).
TERM_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

#: The language's name in messages (parse errors name it).
LANGUAGE = "kusto"

SEMANTICS = Semantics(
    "kusto",
    {
        # --- query shape ----------------------------------------------------------------------
        "tabular_source": Rule(
            "$table",
            WHERE,
            "`T | where P` keeps the rows of table T for which P is true. The interpreter models "
            "the table as a pseudo-column `$table` (the rendered events carry it), compared "
            "case-sensitively: entity names are case-sensitive (" + ENTITY_NAMES + ").",
        ),
        "semi_join": Rule(
            "$<Table>",
            JOIN_LEFTSEMI,
            "`T | join kind=leftsemi (R | where P | distinct K) on K` keeps the rows of T that "
            "match a row of the right side: those whose K equals the K of some row of R for "
            "which P is true (only T's columns are returned, each T row at most once; `distinct` "
            "(" + DISTINCT + ") removes R's repeated keys, e.g. the many DeviceInfo rows of one "
            "device). The key comparison is equality of the key values (" + JOIN + "); K is a "
            "string column, never null (string_never_null). The interpreter models the right "
            "table's rows as the pseudo-column `$R` of the evaluated row (a list of row "
            "objects the renderer supplies: the DeviceInfo rows of the event's device), and "
            "accepts only this form: kind=leftsemi, one `where`, `distinct` of the `on` column.",
        ),
        "ingestion_window": Rule(
            "$ingestion_age",
            INGESTION_TIME,
            "`ingestion_time() > ago(T)` keeps the rows ingested less than T before the query "
            "runs (ingestion_time() is the row's ingestion time; ago(T) is now minus T (" + AGO +
            "); T a timespan literal such as 5m or 2d (" + TIMESPAN + ")). A scheduled Sentinel "
            "rule uses it to read each row in one run only (" + INGESTION_DELAY + "). The "
            "interpreter models the row's age at the run as the pseudo-column `$ingestion_age` "
            "(seconds); a row without it is one the evaluated run reads: `check` evaluates the "
            "events it is given as the rows of one run. Only `>` against ago() is accepted.",
        ),
        "where_null_drops_row": Rule(
            Missing.NULL,
            WHERE,
            "`where` keeps a row only when the predicate is true: a null predicate drops it.",
        ),
        "precedence": Rule(
            ("or", "and"),
            LOGICAL,
            "`and` binds tighter than `or`; negation is the function not(expr), so it needs no "
            "precedence level of its own (" + NOT_FN + ").",
        ),
        "keywords_case_sensitive": Rule(
            True, LOGICAL, "Operators and keywords are lowercase (`and`, `or`, `not`, `in~`)."
        ),
        "string_literals": Rule(
            '\\\\ \\" \\\' \\t \\n',
            STRING_TYPE,
            "Double- or single-quoted; a backslash escapes the enclosing quote, tab (\\t), "
            "newline (\\n) and itself. Verbatim literals (@\"...\") keep backslashes and double "
            "the quote. Other backslash sequences are not documented: the interpreter refuses "
            "them.",
        ),
        "quoted_identifiers": Rule(
            "['name']",
            ENTITY_NAMES,
            "A column whose name is not a plain identifier (or is a keyword) is written "
            "['name'] or [\"name\"].",
        ),
        # --- string comparison ----------------------------------------------------------------
        "eq_case_sensitive": Rule(True, STRING_OPERATORS, "`==` and `!=` are case-sensitive."),
        "eq_tilde_case_insensitive": Rule(
            False, STRING_OPERATORS, "`=~` and `!~` are case-insensitive equality."
        ),
        "contains_family": Rule(
            "substring, case-insensitive; _cs forms case-sensitive",
            STRING_OPERATORS,
            "`contains`: RHS occurs as a subsequence of LHS; `startswith` / `endswith`: RHS is "
            "an initial / closing subsequence; all three case-insensitive, the `_cs` forms "
            "case-sensitive; `!op` is the negation of `op`.",
        ),
        "has_term": Rule(
            "whole terms of ASCII letters and digits",
            STRING_OPERATORS,
            "`has`: RHS is a whole term in LHS (case-insensitive; `has_cs` sensitive). Each "
            "string is broken into maximal sequences of alphanumeric characters, each a term. "
            "So `has` is NOT substring containment: 'xwhoami' has no term 'whoami'. The "
            "interpreter reads an RHS as matching where it occurs in LHS with no term character "
            "just before its first character (when that is a term character) and none just after "
            "its last; which non-ASCII letters count as alphanumeric is not documented, so an "
            "RHS with non-ASCII characters is refused.",
        ),
        "has_short_terms": Rule(
            "same meaning, slower",
            STRING_OPERATORS,
            "Only terms of three or more characters (four in EngineV2) are indexed; a shorter "
            "RHS is answered by scanning the column, with the same term semantics.",
        ),
        "has_any_all": Rule(
            "OR / AND of has",
            HAS_ANY,
            "`has_any(a, b)` is true when any of the RHS values is a term of LHS (`has` for "
            "each, OR-ed); `has_all` needs every one (" + HAS_ALL + ").",
        ),
        "in_operators": Rule(
            "in: case-sensitive; in~: case-insensitive",
            IN_CI,
            "`in~ (a, b)` is true when LHS equals any element ignoring case; `in` is the "
            "case-sensitive form and `!in`/`!in~` the negations (" + IN_CS + ").",
        ),
        "nonascii_case_folding": Rule(
            CANDIDATE_FOLD,
            STRING_OPERATORS,
            "Microsoft documents the case-insensitive operators (=~, !~, contains, startswith, "
            "endswith, in~, has and their negations) with ASCII examples only and does not say "
            "how non-ASCII letters fold (simple lowercase, ASCII only, Unicode case folding or "
            ".NET's ToUpperInvariant differ on U+0130, U+0131, U+017F, the Kelvin sign, final "
            "sigma). The interpreter "
            "evaluates those operators under every candidate reading and leaves an event on "
            "which they disagree undecided (so `check` never calls such a query equivalent); it "
            "refuses a case-insensitive literal with a non-ASCII cased letter outright. The "
            "emitter writes a value with i, k, s or a non-ASCII cased letter as an explicit "
            "class regex, exact under every reading.",
        ),
        # --- regular expressions --------------------------------------------------------------
        "regex_dialect": Rule(
            "RE2",
            RE2_SYNTAX,
            "`matches regex` uses the syntax of the RE2 library: no look-around, no "
            "back-references, no possessive quantifiers; `$` matches only at the end of the "
            "text unless (?m). The interpreter runs patterns with RE2 itself.",
        ),
        "regex_unanchored_case_sensitive": Rule(
            "search, case-sensitive",
            MATCHES_REGEX,
            "`LHS matches regex RHS` is true when RHS matches somewhere in LHS; matching is "
            "case-sensitive unless the pattern sets (?i), which RE2 applies by Unicode simple "
            "case folding (" + RE2_WIKI + "): its case groups come from the C and S lines of "
            "CaseFolding.txt only (re2/unicode.py, CaseGroups), so 'i' does not match 'İ' nor "
            "'I' 'ı', where the reference's regex package pairs them. The emitter writes no "
            "(?i) for a Sigma |i pattern: each letter becomes the class of the reference's "
            "variants ([iIİ], [kKK]; backends/kusto/regex.py), and a non-ASCII cased letter is "
            "refused.",
        ),
        "regex_in_string_literal": Rule(
            "string unescaping first",
            RE2_SYNTAX,
            "A regex is written as a string literal and follows the string quoting rules: the "
            "RE2 expression \\A is \"\\\\A\" in query text.",
        ),
        # --- missing values -------------------------------------------------------------------
        "string_never_null": Rule(
            "",
            NULL_VALUES,
            "The string type has no null: an absent string value is the empty string, so a "
            "string test on a missing column is evaluated on \"\" (isempty/isnotempty are the "
            "documented tests).",
        ),
        "isempty": Rule(
            "null or empty",
            ISEMPTY,
            "isempty(x) is true when x is an empty string or null; isnotempty its negation.",
        ),
        "isnull": Rule(
            "null only",
            ISNULL,
            "isnull(x) is true for the null value of non-string types; a string is never null.",
        ),
        "null_equality": Rule(
            Missing.FALSE,
            NULL_VALUES,
            "Section \"Null values and binary operators\", exceptions: `==` between a null and a "
            "non-null value is false and `!=` is true (the page's example `where ival != 5` keeps "
            "the null row); `in` is an OR of `==` and `!in` an AND of `!=`. So a test `X == 5` on "
            "a missing numeric column is false, and not() of it is true.",
        ),
        "bool_equality": Rule(
            Missing.FALSE,
            BOOL_TYPE + " " + NULL_VALUES,
            "A bool column holds true, false or null, and the literals true and false compare "
            "with it by `==` / `!=`. As for numbers (null_equality), `==` between a null and "
            "a non-null value is false and `!=` true, so `X == true` on a missing bool column is "
            "false and not() of it is true. The emitter writes a boolean literal only on the "
            "bool columns the pipeline lists (a mapping table's to_boolean targets).",
        ),
        "bool_as_text": Rule(
            "text",
            TOSTRING,
            "A Sigma boolean on a property read with tostring() is compared as its text: "
            "tostring() of a dynamic scalar is its text (dynamic_property_tostring), and a "
            "Windows event's EventData values are XML text in any case, so `tostring(...) =~ "
            "\"true\"` holds exactly where the value is the text true in any letter case, "
            "which is what Sigma's boolean means on a text value (" + STRING_OPERATORS + ": "
            "`=~` is case-insensitive equality). On a column whose type the pipeline does not "
            "give, the emitter refuses the boolean.",
        ),
        "null_comparisons": Rule(
            Missing.NULL,
            NULL_VALUES,
            "Every other binary operator is null when an operand is null (\"sticky\"): "
            "`X > 3` on a null X is null (the page's IsBiggerThan3 example), and not(null) is "
            "null, so `not(X > 3)` drops the row where Sigma's negated comparison is true. The "
            "emitter writes an ordering comparison under not() as coalesce(X > 3, false).",
        ),
        "null_logic": Rule(
            "Kleene",
            NULL_VALUES,
            "`and` is false when one operand is false and `or` true when one is true; otherwise a "
            "null operand makes the result null; not(null) is null. This is the shared "
            "evaluator's three-valued logic.",
        ),
        "coalesce": Rule(
            "first non-null argument",
            COALESCE,
            "coalesce(e, false) is e when e is not null and false otherwise. The interpreter "
            "accepts it around a predicate without not() (whose leaves are then false instead "
            "of null on a missing column, which equals coalesce for an and/or of leaves) with "
            "the default false.",
        ),
        "numeric_comparison": Rule(
            ("==", "!=", "<", "<=", ">", ">="),
            NUMERIC,
            "Numbers compare numerically.",
        ),
        "dynamic_columns": Rule(
            "unsupported",
            DYNAMIC_TYPE,
            "dynamic (JSON array/object) columns need mv-expand or array functions: the "
            "interpreter refuses operators on a whole dynamic column, and sigport maps Sigma "
            "fields only to scalar properties read with tostring() (dynamic_property_tostring).",
        ),
        "dynamic_property_tostring": Rule(
            "tostring(Column.key...) or tostring(parse_json(Column).key...)",
            TOSTRING,
            "A property of a dynamic object is read with the accessor `Column.key` (names are "
            "case-sensitive; a missing property is null: " + DYNAMIC_TYPE + "), of a JSON text "
            "column after parse_json(Column) (" + PARSE_JSON + "). tostring() of a scalar is its "
            "text, and of null the empty string, so the accessor reads as a string column that "
            "is \"\" when the property is absent (string_never_null). The interpreter reads the "
            "accessor text as one pseudo-column of the rendered row (sigport maps only "
            "properties that hold scalars) and refuses it with a number operand.",
        ),
        "ipv4_is_in_range": Rule(
            "CIDR membership",
            IPV4_RANGE,
            "ipv4_is_in_range(ip, \"a.b.c.d/n\") is true when ip lies in the range, and null "
            "when the conversion to IPv4 fails (an empty or non-address value): under not() the "
            "row is dropped, so the interpreter refuses a negated range test.",
        ),
        "ipv4_range_reads_mapped_ipv6": Rule(
            False,
            IPV4_RANGE,
            "The address argument is 'an expression representing an IPv4 address' and the "
            "result is null 'if conversion for one of the two IPv4 strings wasn't successful': "
            "an IPv6 text, even the IPv4-mapped ::ffff:10.1.2.3 (RFC 4291 2.5.5.2; Defender "
            "reports such RemoteIP values), does not convert, so it is never in an IPv4 range, "
            "where Sigma's cidr (and an Elasticsearch ip field) takes it as 10.1.2.3. The "
            "emitter therefore writes ipv6_is_match for every cidr; the interpreter still reads "
            "ipv4_is_in_range.",
        ),
        "ipv6_is_match": Rule(
            Missing.NULL,
            IPV6_MATCH,
            "ipv6_is_match(ip1, ip2) 'matches two IPv6 or IPv4 network address strings': both "
            "are parsed in IP-prefix notation (a.b.c.d/n, n from 0 to 32, is the network with "
            "n leading mask bits; IPv6 /n from 0 to 128) and compared 'while accounting for the "
            "combined IP-prefix mask calculated from argument prefixes'; 'IPv4 are compared as "
            "IPv6 addresses' ('192.168.1.1' equals '::ffff:c0a8:0101', and '::ffff:c0a8:0101' "
            "matches '192.168.1.255/24': an IPv4 /n is n + 96 bits of the IPv4-mapped form, RFC "
            "4291 2.5.5.2). The result is null 'if conversion for one of the two IPv6/IPv4 "
            "strings wasn't successful' (\"\" included: a missing string). So with a network "
            "literal it is Sigma's cidr for an address of either family, but a value carrying "
            "its own /n is compared on the shorter prefix, and under not() null drops the row: "
            "the emitter writes `(F !contains \"/\" and ipv6_is_match(F, \"net\"))`, and "
            "coalesce(..., false) around the call under not(). The page shows plain address "
            "text only: whether spaces around an address, a zone index (fe80::1%12) or IPv4 "
            "octets with leading zeros convert is not documented, so the interpreter leaves an "
            "event undecided where such a reading would change the verdict.",
        ),
    },
)
