"""How Splunk SPL (classic SPL1) matches, as a documented table the SPL interpreter reads.

Every entry links the Splunk page that states the fact. Entries whose behaviour the docs do not
state are marked "inferred" in their note, together with the choice made. The parser
(``backends/splunk/parser.py``) consults this table while lowering query text to the shared tree,
so the evaluator never needs to know it is running SPL.

Verified with the ``search`` tool against help.splunk.com / docs.splunk.com while writing this
module (the mvfind() entry, the match() description and the replace() note on eval escaping were
read from copies of the Splunk 10.0 reference pages, the same text as the 9.4 pages linked): the Boolean-expression order table (search: NOT, OR, AND; where/eval: NOT, AND, OR), the
Backslashes page ("The backslash symbol can't be used to escape the asterisk"), the regex command
page (unanchored PCRE, ``<field>!=<regex>`` keeps non-matching results, default field ``_raw``), the
rex page (unanchored, named groups become fields) and the Wildcards page (``*`` only outside
eval/where; ``like()`` uses ``%`` and ``_``).
"""

from __future__ import annotations

import ipaddress
import re

from backends.query.ast import Fold, Missing
from backends.query.semantics import Rule, Semantics

_BOOL = (
    "https://help.splunk.com/en/splunk-enterprise/search/search-manual/9.3/"
    "expressions-and-predicates"
)
_NOT = "https://docs.splunk.com/Documentation/Splunk/9.0.9/Search/NOTexpressions"
_CASE = "https://docs.splunk.com/Documentation/Splunk/9.1.1/Search/UseCASEandTERMtomatchphrases"
_BACKSLASH = (
    "https://help.splunk.com/splunk-enterprise/search/search-manual/9.4/search-primer/backslashes"
)
_WILDCARDS = (
    "https://help.splunk.com/splunk-enterprise/search/search-manual/9.3/search-primer/wildcards"
)
_PRIMER = "https://help.splunk.com/en/splunk-enterprise/search/search-manual/9.3/search-primer"
_WHERE = "https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/where"
_REGEX = "https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/regex"
_REX = "https://help.splunk.com/splunk-enterprise/spl-search-reference/9.1/search-commands/rex"
_SPL_RE = (
    "https://help.splunk.com/splunk-enterprise/search/search-manual/9.0/"
    "expressions-and-predicates/spl-and-regular-expressions"
)
_REF = "https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/"
_SEARCH_CMD = "https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/search"
_TSTATS = _REF + "tstats"
_EVAL_IF = (
    "https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/evaluation-functions/"
    "comparison-and-conditional-functions"
)
_EVAL_FUNCS = "https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/evaluation-functions/"
_EVAL_MV = _EVAL_FUNCS + "multivalue-eval-functions"
_EVAL_TEXT = _EVAL_FUNCS + "text-functions"
_FIELD_NAMES = (
    "https://docs.splunk.com/Documentation/Splunk/latest/Data/Configureindex-timefieldextraction"
)
_SPATH = "https://help.splunk.com/splunk-enterprise/spl-search-reference/9.0/search-commands/spath"
_PCRE2_CASE = "https://www.pcre.org/current/doc/html/pcre2pattern.html#SEC8"
_XML_DATA_SOURCE = (
    "https://github.com/splunk/security_content/blob/develop/data_sources/sysmon_eventid_1.yml"
)
_PCRE2_ANCHORS = "https://www.pcre.org/current/doc/html/pcre2pattern.html#SEC6"
#: Splunk's own detection that searches a JSON boolean as text (its test runs on attack data).
_JSON_BOOLEAN = (
    "https://github.com/splunk/security_content/blob/develop/detections/application/"
    "m365_copilot_non_compliant_devices_accessing_m365_copilot.yml"
)
_SYSMON_LINUX_XML = "https://github.com/Sysinternals/SysmonForLinux/blob/main/outputxml.c"

#: The language's name in messages (parse errors name it).
LANGUAGE = "spl"

SEMANTICS = Semantics(
    "spl",
    {
        # --- search command (also the implicit first command and the tstats WHERE clause) -----
        "search_case_sensitive": Rule(
            False, _CASE, "field values and keywords match case-insensitively in search"
        ),
        "search_folding": Rule(
            Fold.ASCII_OR_SIMPLE,
            _CASE,
            "How search folds letters is documented with ASCII examples only ('any case of that "
            "term is returned, such as Error, error, and ERROR'); no Splunk page found says what "
            "happens to non-ASCII letters, U+0130 or the Kelvin sign. Candidates: ASCII-only "
            "lowercasing, or per-code-point lowercasing (the page speaks of 'case', a lowercase "
            "mapping, so 'ſ' stays apart from 's' under both). An event on which they disagree "
            "is undecided; the emitter writes values with 'i', 'k' or a non-ASCII cased letter "
            "as a widened term plus an exact case-sensitive PCRE with explicit alternatives.",
        ),
        "eval_lower_folding": Rule(
            Fold.ASCII_OR_SIMPLE,
            _EVAL_TEXT,
            "lower(X) 'returns the string in lowercase'; which letters beyond ASCII it lowercases "
            "is not documented: the same two candidates as search_folding.",
        ),
        "regex_caseless_folding": Rule(
            Fold.ASCII_OR_UNICODE,
            _PCRE2_CASE,
            "(?i) in PCRE folds ASCII (and locale-table) letters without UTF mode, and uses "
            "Unicode case folding (Kelvin sign = k, ſ = s) in UTF mode; Splunk does not document "
            "how its PCRE is compiled. sigport's own regexes never use (?i) for that reason.",
        ),
        "search_numeric_comparison": Rule(
            "lexical",
            _SEARCH_CMD,
            "'<comparison-operator>': comparisons with < > <= >= compare two numbers "
            "numerically and other values lexicographically, so ProcessId>1000 holds on "
            "'abc', 'inf' and a tstats fill value 'null' (text after '1000'), where Sigma's gt "
            "needs a number. Which text counts as a number is not documented: a plain decimal "
            "(-12, 4.5) is one under every reading; text that only some parsers read as a "
            "number (' 12', '+5', '1e3', '1_000', '٩', '0x10', 'inf', 'nan') is undecided "
            "where its numeric and its text reading disagree (indexed.lexical_compare).",
        ),
        "case_function_sensitive": Rule(
            True, _CASE, "CASE(term) forces a case-sensitive match, wildcards still allowed"
        ),
        "search_wildcard_any": Rule("*", _WILDCARDS, "'*' is the only search wildcard"),
        "search_wildcard_one": Rule(
            None, _WILDCARDS, "there is no single-character wildcard: '?' is a literal character"
        ),
        "search_escape_backslash": Rule(
            True, _BACKSLASH, "'\\\\' passes one literal backslash; '\\\"' a literal quote"
        ),
        "search_star_escapable": Rule(
            False, _BACKSLASH, "a backslash cannot escape '*': every '*' in search is a wildcard"
        ),
        "search_precedence": Rule(
            ("NOT", "OR", "AND"),
            _BOOL,
            "search evaluates NOT, then OR, then AND (implicit or explicit AND share the tier)",
        ),
        "search_field_value_whole": Rule(
            True, _PRIMER, "field=value compares the whole value; wildcards make it a glob"
        ),
        "search_eq_missing": Rule(
            Missing.FALSE, _NOT, "NOT field=value also returns events that lack the field"
        ),
        "search_neq_requires_field": Rule(
            True,
            _NOT,
            "field!=value returns only events that have the field with another value; lowered "
            "to And(Exists(f), Not(test)) so a missing field is false even under NOT",
        ),
        "search_multivalue_any": Rule(
            True,
            _NOT,
            "inferred: field=value is true if any value of a multivalue field matches; "
            "f!=v is lowered with the same any-value test under Not (no value equals)",
        ),
        "json_boolean_text": Rule(
            True,
            _JSON_BOOLEAN,
            "a JSON true / false that the add-on's JSON extraction (KV_MODE = json, spath) reads "
            "is the field value text 'true' / 'false', compared like any other text "
            "(case-insensitively in search): Splunk's own detection searches the JSON boolean "
            "deviceDetail.isCompliant of o365:graph:api records with "
            "'deviceDetail.isCompliant=false', tested on its attack data. So a JSON boolean "
            "key is a plain rename in every Splunk table (Okta securityContext.isProxy, Zeek "
            "dns.log rejected, CloudTrail responseElements.publiclyAccessible), and the "
            "interpreter reads an event's JSON boolean as that text (query.matching.scalar_text)",
        ),
        "search_bare_term_raw": Rule(
            "_raw",
            _PRIMER,
            "bare keywords and quoted phrases match indexed terms of _raw (segmented by "
            "breakers); only a term wildcarded on both sides is lowered, as a substring "
            "search of _raw (approximation), anything else is unsupported",
        ),
        "search_cidr": Rule(
            True,
            "https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/search",
            "'The search command supports IPv4 and IPv6 addresses and subnets that use CIDR "
            "notation': a field value written as a CIDR block (IPv4 or IPv6) matches the "
            "addresses inside it",
        ),
        "search_cidr_ipv4_mapped": Rule(
            None,
            "https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/search",
            "Whether the search command reads an IPv4-mapped IPv6 text (::ffff:10.1.2.3, RFC 4291 "
            "2.5.5.2) as inside an IPv4 block (10.0.0.0/8), as Sigma's cidr and an Elasticsearch "
            "ip field do, is not documented (the page shows IPv4 and IPv6 blocks only): an event "
            "on which the two readings disagree is undecided, never proven (the emitter already "
            "refuses an IPv6 block that covers ::ffff:0:0/96 for the same reason).",
        ),
        "search_field_name": Rule(
            r"[A-Za-z_][A-Za-z0-9_]*(?:\{\})*(?:\.[A-Za-z0-9_]+(?:\{\})*)*",
            _FIELD_NAMES,
            "'Valid characters for field names are a-z, A-Z, 0-9, or _' (search-time extractions "
            "are cleaned to the same set by CLEAN_KEYS), joined by '.' as in data-model fields "
            "(Processes.process_name, see the tstats page). A JSON record's fields keep their "
            "path: an object key is followed by '.', an array by '{}' (json_array_fields), and "
            "Splunk's own detections search such names bare (security_content's 'AWS AMI "
            "Attribute Modification for Exfiltration': requestParameters.launchPermission.add."
            "items{}.userId = *). SPL1's search command documents no "
            "quoting for any other field name (the single quotes of the SPL2 manual are not SPL1 "
            "search syntax): the emitters refuse other names (a quote, space, '=', '|', newline "
            "or an empty name could change the query's meaning) and the interpreter reads search "
            "field names of this shape only",
        ),
        "json_array_fields": Rule(
            "{}",
            _SPATH,
            "JSON extraction (KV_MODE = json, INDEXED_EXTRACTIONS = json, spath without a path) "
            "names a value inside an array by the array's path with '{}' and one field per leaf: "
            "'a location step is composed of a field name and an optional index surrounded by "
            "curly brackets', and the leaves of an array of objects are read with an empty index "
            "(the page's commits{}.author.name). All elements' values of one leaf are one "
            "multivalue field, in the order of the array; the field holds no mark of which "
            "element a value came from, so two tests on two leaves may be met by two elements, "
            "as Sigma's reading of the path is (reference semantics object_lists). The field "
            "lists of splunk/security_content's data sources name them so "
            "(properties.targetResources{}.modifiedProperties{}.newValue, azure_active_directory_add_member_to_role.yml). "
            "Search compares a multivalue field by search_multivalue_any",
        ),
        "search_reserved_words": Rule(
            frozenset({"AND", "OR", "NOT", "IN", "CASE", "TERM"}),
            _BOOL,
            "the Boolean operators, IN and the CASE()/TERM() directives are upper-case words of "
            "the search language: a field named like one is refused (how search reads it is not "
            "documented)",
        ),
        # --- where / eval ----------------------------------------------------------------------
        "where_case_sensitive": Rule(True, _WHERE, "the where eval-expression is case-sensitive"),
        "where_precedence": Rule(("NOT", "AND", "OR"), _BOOL, "eval/where evaluate AND before OR"),
        "where_missing": Rule(
            Missing.NULL,
            _WHERE,
            "inferred: a comparison with a null field is null and where keeps only true results",
        ),
        "eval_field_quote": Rule(
            "'",
            _WHERE,
            "a field name with characters other than letters, digits and '_' (a dotted name "
            "included) is single-quoted in an eval expression; no escape for a single quote "
            "inside is documented, and search_field_name admits none",
        ),
        "where_like_wildcards": Rule(("%", "_"), _WILDCARDS, "like(): '%' any run, '_' one char"),
        "where_unquoted_is_field": Rule(
            True, _WHERE, "an unquoted or single-quoted right-hand side names a field"
        ),
        "eval_if_null_is_false": Rule(
            True, _EVAL_IF, "if(X,Y,Z) returns Z unless X is true (a null X selects Z)"
        ),
        "eval_isnull_two_valued": Rule(
            True, _EVAL_IF, "isnull(X) / isnotnull(X) return TRUE or FALSE, never NULL"
        ),
        "eval_string_unescape": Rule(
            True,
            _EVAL_TEXT,
            "an eval string literal gets one level of unescaping before PCRE sees it (replace(): "
            "'the eval expression performs one level of escaping'): '\\\\' -> '\\', '\\\"' "
            "-> '\"'; the documented examples (mvfind(f, \"err\\d+\"), match(f, \"^\\d...\")) "
            "show a backslash before any other character staying as it is",
        ),
        "eval_mvfind_any_value": Rule(
            True,
            _EVAL_MV,
            "mvfind(<mv>, <regex>) returns the index of the first value the (unanchored PCRE) "
            "regex matches and NULL when no value does, so isnotnull(mvfind(f, re)) is 'some value "
            "matches'. Inferred, not stated on the page: a single-valued field is a one-value "
            "list (the same page's mvcount() counts it as 1) and a missing field has no value, so "
            "NULL (as mvcount() returns for it)",
        ),
        "eval_match_multivalue": Rule(
            None,
            _EVAL_IF,
            "undocumented: match(<str>, <regex>) is described for one string value; what it "
            "does on a multivalue field is not stated, so the emitters use mvfind() instead and "
            "the interpreter's match() leaf (any value) is only trusted on single values",
        ),
        # --- regex / rex -----------------------------------------------------------------------
        "regex_anchored": Rule(False, _REGEX, "the regex command's expression is unanchored PCRE"),
        "regex_multivalue": Rule(
            None,
            _REGEX,
            "undocumented: the regex command's page describes matching a field's value and says "
            "nothing of a multivalue field, so the emitters test multivalue fields (JSON array "
            "'{}' names, and the fields a mapping entry declares: state multivalue_fields) with "
            "mvfind(); the interpreter's regex leaf decides an event with several values only "
            "when every value gives the same verdict (MultiValued.UNDECIDED)",
        ),
        "regex_dollar_before_newline": Rule(
            True,
            _PCRE2_ANCHORS,
            "SPL regular expressions (regex, rex, match(), mvfind()) are PCRE (" + _SPL_RE + "). "
            "In PCRE '$' matches at the end of the subject 'and also before a newline at the "
            "end of the subject' unless PCRE2_DOLLAR_ENDONLY is set, which no Splunk page says "
            "it is: '^.*\\\\cmd\\.exe$' also matches 'C:\\cmd.exe\\n', where the Sigma value "
            "ends at '.exe'. The emitters end anchored patterns with regex_end_of_subject.",
        ),
        "regex_end_of_subject": Rule(
            "\\z",
            _PCRE2_ANCHORS,
            "'\\z matches only at the end of the subject string' (the same section; \\Z, like "
            "$, also before a final newline): the end anchor of every pattern the emitters "
            "anchor.",
        ),
        "regex_case_sensitive": Rule(True, _SPL_RE, "PCRE is case-sensitive unless (?i)"),
        "regex_default_field": Rule("_raw", _REGEX, "without a field, regex applies to _raw"),
        "regex_string_unescape": Rule(
            True,
            _SPL_RE,
            "the quoted regex passes through the SPL string parser first: '\\\\' -> '\\'",
        ),
        "regex_neq_missing_keeps": Rule(
            True,
            _REGEX,
            "inferred (undocumented): field!=regex keeps results lacking the field, since "
            "nothing there matches; lowered as Not(Regex) with Missing.FALSE",
        ),
        "rex_missing_no_match": Rule(
            True, _REX, "rex on an absent field extracts nothing, so the named group is null"
        ),
        "rex_multivalue": Rule(
            None,
            _REX,
            "undocumented: which values of a multivalue field rex reads is not stated (reported "
            "as the first only); the emitters test regexes under OR/NOT with mvfind() instead, and "
            "the interpreter's rex-group leaf (any value) is only trusted on single values",
        ),
        # --- the Windows add-ons' XmlWinEventLog field values ------------------------------------
        "xmlwineventlog_values_entity_encoded": Rule(
            ("&", "&amp;", "<", "&lt;", ">", "&gt;"),
            _XML_DATA_SOURCE,
            "The Splunk Add-on for Sysmon extracts every <Data Name='X'>v</Data> of an "
            "XmlWinEventLog record with a search-time REPORT regex (transforms.conf [sysmon-data]: "
            "REGEX = <Data Name='(.*?)'>(.*?)</Data>, FORMAT = $1::$2; the Windows add-on reads "
            "its fields off EventData_Xml with regexes too), and a regex extraction copies the "
            "text of _raw unchanged (transforms.conf spec: FORMAT writes the capture groups, "
            "https://docs.splunk.com/Documentation/Splunk/latest/Admin/Transformsconf); nothing "
            "decodes XML entities. Windows writes '&', '<' and '>' of a value as '&amp;', '&lt;' "
            "and '&gt;' (the example record of this data source: '... sam &amp; reg save ...'; "
            "its quotes stay literal). So the field value is the encoded text: the pipeline "
            "encodes Sigma values, and a pattern that could match inside an entity is tested "
            "token by token (converter/mapping/entities.py, backends/splunk/xml_text.py).",
        ),
        "sysmon_linux_values_entities_unknown": Rule(
            ("&", "&amp;", "<", "&lt;", ">", "&gt;", '"', "&quot;", "\r", "&#13;"),
            _SYSMON_LINUX_XML,
            "Sysmon for Linux writes each event as XML with libxml2 (outputxml.c "
            "FormatSyslogString: xmlTextWriterWriteFormatString, which escapes text with "
            "xmlEncodeSpecialChars: '&', '<', '>', '\"' and a carriage return become '&amp;', "
            "'&lt;', '&gt;', '&quot;' and '&#13;'). How the Splunk Add-on for Sysmon for Linux "
            "(Splunkbase app 6652) extracts fields from that XML is not established (its "
            "props/transforms are in no corpus searched; security_content lists EventData_Xml "
            "among its fields, the name of the Windows add-on's regex extraction, which keeps "
            "entities). Inferred, undecided: a field may hold either text. The record itself, "
            "_raw, holds it as Sysmon wrote it, entities included (<Data Name=\"X\">value</Data> "
            "elements: security_content sysmon_for_linux_eventid_1.yml example_log), so a "
            "string or regex test whose verdict could differ on the two texts is written as a "
            "regex on that element of _raw, one decoded character (entity) at a time; a test "
            "with no such form, or one on a System element, is flagged "
            "(converter/mapping/entities.py UnknownEntityCheck) and check calls its query "
            "'not proven'.",
        ),
        # --- tstats ----------------------------------------------------------------------------
        "tstats_where_is_search": Rule(
            True, _TSTATS, "tstats WHERE takes a search-language query (search rules apply)"
        ),
        "tstats_fillnull": Rule(
            "null",
            _TSTATS,
            "fillnull_value replaces null BY-field values with this string after tstats, so "
            "later commands see the string instead of a missing field (a null test there is "
            "`F=\"null\"`, also true on that value); the WHERE clause runs before, on the data "
            "model's fields, so the CIM emitter puts every conjunct of plain, null and exists "
            "tests there and only the rest after tstats",
        ),
    },
)


#: A value in CIDR notation, IPv4 or IPv6 (the search command reads both: semantics
#: ``search_cidr``); ``ipaddress`` then decides whether it is a network. Shared by the interpreter
#: (``lower.py``) and the emitter (``spl_text.needs_exact_test``), which must never write a string
#: equality as such a term.
SEARCH_CIDR_SHAPE = re.compile(
    r"^(?:\d{1,3}(\.\d{1,3}){3}/\d{1,2}|[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*/\d{1,3})$"
)


def search_reads_as_cidr(text: str) -> bool:
    """True when ``field=<text>`` in SPL search is a CIDR match, not a text comparison."""
    if not SEARCH_CIDR_SHAPE.match(text) or not SEMANTICS.get("search_cidr"):
        return False
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True
