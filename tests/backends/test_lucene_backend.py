"""Tests of sigport's Lucene query_string emitter: exact output strings, errors, warnings, and
round trips (emit -> parse with the independent interpreter -> evaluate on events)."""

from __future__ import annotations

import pytest
from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import FieldMappingTransformation

from backends.lucene.backend import SigportLuceneBackend, embed_regex
from backends.lucene.parser import parse
from backends.lucene.regex import pcre_to_lucene
from backends.query.evaluate import matches
from backends.query.fields import FieldModel

CASELESS = ProcessingPipeline(
    [
        ProcessingItem(
            FieldMappingTransformation(
                {"Image": "process.executable.caseless", "CommandLine": "process.command_line.caseless"}
            ),
            identifier="caseless",
        )
    ]
)
FIELDS = FieldModel.from_dict(
    {
        "process.executable": {
            "type": "keyword",
            "ignore_above": 1024,
            "fields": {"caseless": {"type": "keyword", "normalizer": "lowercase", "ignore_above": 1024}},
        },
        "process.command_line": {
            "type": "wildcard",
            "fields": {"caseless": {"type": "keyword", "normalizer": "lowercase", "ignore_above": 1024}},
        },
        "n": {"type": "long"},
    }
)


def rule(detection: str, condition: str = "sel") -> SigmaCollection:
    """An inline Sigma rule around ``detection`` (YAML indented by two spaces)."""
    return SigmaCollection.from_yaml(
        "title: t\nstatus: test\nlogsource: {category: process_creation, product: windows}\n"
        f"detection:\n{detection}\n  condition: {condition}\n"
    )


def convert(detection: str, condition: str = "sel", pipeline=None, **options) -> list[str]:
    backend = SigportLuceneBackend(pipeline or ProcessingPipeline(), **options)
    return backend.convert(rule(detection, condition))


@pytest.mark.parametrize(
    ("detection", "expected"),
    [
        pytest.param(
            "  sel:\n    Image: 'C:\\Windows\\cmd.exe'",
            "Image:/[cC]:\\\\[wW][iIİ][nN][dD][oO][wW][sS]\\\\[cC][mM][dD]\\.[eE][xX][eE]/",
            id="letters-become-classes",
        ),
        pytest.param(
            "  sel:\n    Image|endswith: '\\cmd.exe'",
            "Image:/.*\\\\[cC][mM][dD]\\.[eE][xX][eE]/",
            id="endswith",
        ),
        pytest.param(
            "  sel:\n    CommandLine|contains: 'net user'", "CommandLine:/.*[nN][eE][tT] [uU][sS][eE][rR].*/",
            id="space-inside-regex",
        ),
        pytest.param("  sel:\n    F: 'a?c'", "F:/[aA].[cC]/", id="single-wildcard"),
        pytest.param("  sel:\n    F: '123'", "F:123", id="no-letters-plain-term"),
        pytest.param("  sel:\n    F: '1 2'", 'F:"1 2"', id="no-letters-phrase"),
        pytest.param("  sel:\n    F: '1*2 3'", "F:1*2\\ 3", id="no-letters-wildcard-space"),
        pytest.param("  sel:\n    F: ''", 'F:""', id="empty"),
        pytest.param("  sel:\n    F: '<1>'", 'F:"\\<1\\>"', id="leading-lt-quoted"),
        pytest.param("  sel:\n    F: '>=5'", 'F:"\\>\\=5"', id="leading-gt-quoted"),
        pytest.param("  sel:\n    F: '1<2'", "F:1\\<2", id="inner-lt-escaped"),
        pytest.param("  sel:\n    F: '<*'", "F:\\<*", id="leading-lt-wildcard-not-range"),
        pytest.param("  sel:\n    F: 'a/b@c'", "F:/[aA]\\/[bB]\\@[cC]/", id="regex-reserved"),
        pytest.param("  sel:\n    F|endswith: 'x\\'", "F:/.*[xX][\\\\]/", id="trailing-backslash"),
        pytest.param("  sel:\n    F: -5", "F:\\-5", id="negative-number"),
        pytest.param("  sel:\n    F|cased: 'AND'", 'F:"AND"', id="operator-word-quoted"),
        pytest.param("  sel:\n    F|cased: 'CmD*'", "F:CmD*", id="cased-wildcard"),
        pytest.param("  sel:\n    F|re: '^a/b$'", "F:/a\\/b(\n)?/", id="regex-anchors"),
        pytest.param("  sel:\n    F|re: 'a.c'", "F:/.*a[^\n]c.*/", id="regex-unanchored-dot"),
        pytest.param("  sel:\n    F|re|i: 'ab'", "F:/.*[aA][bB].*/", id="regex-i"),
        pytest.param("  sel:\n    F|re|s: '\\d+'", "F:/.*[0-9]+.*/", id="regex-s"),
        pytest.param(
            "  sel:\n    F:\n      - a\n      - '1'\n      - 2\n      - -3",
            "F:(/[aA]/ OR 1 OR 2 OR \\-3)",
            id="value-list",
        ),
        pytest.param("  sel:\n    F: null", "NOT _exists_:F", id="null"),
        pytest.param("  sel:\n    F|exists: true", "_exists_:F", id="exists"),
        pytest.param("  sel:\n    F|gte: 5", "F:>=5", id="compare"),
        pytest.param("  sel:\n    F|cidr: 10.0.0.0/8", "F:10.0.0.0\\/8", id="cidr"),
        pytest.param("  sel:\n    F(x): 1", "F\\(x\\):1", id="field-escape"),
    ],
)
def test_emitted_text(detection: str, expected: str) -> None:
    assert convert(detection) == [expected]


def test_not_under_or_is_grouped() -> None:
    out = convert("  a:\n    X: 1\n  b:\n    Y: 2", "a or not b")
    assert out == ["X:1 OR (NOT Y:2)"]


def test_caseless_field_keeps_value() -> None:
    assert convert("  sel:\n    Image|endswith: '\\CMD.exe'", pipeline=CASELESS) == [
        "process.executable.caseless:*\\\\CMD.exe"
    ]


def test_caseless_field_regex_i_allowed() -> None:
    out = convert("  sel:\n    CommandLine|re|i: 'Ab'", pipeline=CASELESS)
    assert out == ["process.command_line.caseless:/.*[aA][bB].*/"]
    # A leading (?i) is the same as |i; a regex without letters needs no case at all.
    out = convert("  sel:\n    CommandLine|re: '(?i)Ab'", pipeline=CASELESS)
    assert out == ["process.command_line.caseless:/.*[aA][bB].*/"]
    assert convert("  sel:\n    CommandLine|re: '\\d+'", pipeline=CASELESS) == [
        "process.command_line.caseless:/.*[0-9]+.*/"
    ]


@pytest.mark.parametrize("pattern", ["(?i)a(?-i:b)", "(?i:a)b", "[^a]", "\\W"])
def test_caseless_field_rejects_case_sensitive_letters(pattern: str) -> None:
    with pytest.raises(SigmaFeatureNotSupportedByBackendError, match="lowercase-normalised"):
        convert(f"  sel:\n    CommandLine|re: '{pattern}'", pipeline=CASELESS)


def test_kelvin_sign_joins_k_in_string_classes() -> None:
    # The reference lower-cases both sides, and the Kelvin sign lower-cases to 'k'.
    assert convert("  sel:\n    F: 'k'") == ["F:/[kK\u212a]/"]


@pytest.mark.parametrize(
    "detection",
    ["  sel:\n    CommandLine|cased: 'Ab'", "  sel:\n    CommandLine|re: 'Ab'"],
    ids=["cased", "re"],
)
def test_caseless_field_rejects_case_sensitive(detection: str) -> None:
    with pytest.raises(SigmaFeatureNotSupportedByBackendError, match="process.command_line.caseless"):
        convert(detection, pipeline=CASELESS)


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("a(?=b)", "look-around"),
        ("(a)\\1", "back-references"),
        ("a++", "possessive"),
        ("a^b", "anchor"),
        ("a(?i)b", "inline flags are only valid at the start"),
        ("(?x)a", "inline flag 'x'"),
        ("a\\b", "word-boundary"),
        ("(?i)\u00e9", "case variants"),
        ("(?>a)", "special group"),
    ],
)
def test_untranslatable_regex(pattern: str, reason: str) -> None:
    with pytest.raises(SigmaFeatureNotSupportedByBackendError, match=reason):
        pcre_to_lucene(pattern)


def test_multiline_with_anchor_rejected_without_is_fine() -> None:
    with pytest.raises(SigmaFeatureNotSupportedByBackendError, match="multi-line"):
        pcre_to_lucene("^a", multiline=True)
    assert pcre_to_lucene("a", multiline=True) == ".*a.*"


@pytest.mark.parametrize(
    ("pattern", "ci", "expected"),
    [
        ("[a-c]x", True, ".*[A-Ca-c][xX].*"),
        ("[^\\d_]", False, ".*[^0-9_].*"),
        ("\\w\\s", False, ".*[a-zA-Z0-9_][ \t\n\x0b\x0c\r].*"),
        ('a@b#c&d<e>f~g"', False, '.*a\\@b\\#c\\&d\\<e\\>f\\~g\\".*'),
        ("(?:ab|cd){2,3}$", False, ".*(ab|cd){2,3}(\n)?"),
        ("^a|b$", False, "a.*|.*b(\n)?"),
        ("a{,2}", False, ".*a{0,2}.*"),  # Python reads {,n} as {0,n}
        ("a{}b{1, 2}", False, ".*a\\{\\}b\\{1, 2\\}.*"),  # other braces are literal
        ("a+?b{2,3}?", False, ".*a+b{2,3}.*"),  # laziness does not change the match/no-match
        ("(?i)ks", False, ".*[kK\u212a][sS\u017f].*"),
        ("(?i:a)b", False, ".*([aA])b.*"),
        ("(?i)a(?-i:b)", False, ".*[aA](b).*"),
        ("(?s).(?-s:.)", False, ".*.([^\n]).*"),
        ("\\Aa|b\\Z", False, "a.*|.*b"),
        ("(a|)", False, ".*(a|()).*"),
        ("\\x41\\u00e9\\0\\101[\\b]", False, ".*A\u00e9\x00A\x08.*"),
    ],
)
def test_pcre_translation(pattern: str, ci: bool, expected: str) -> None:
    assert pcre_to_lucene(pattern, case_insensitive=ci) == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        # Sigma folds each code point to its simple lowercase (Java Character.toLowerCase):
        # 'ẞ' lowercases to 'ß' and 'İ' to 'i', so each letter still has an exact class.
        ("straße", "F:/[sS][tT][rR][aA][ßẞ][eE]/"),
        ("İstanbul", "F:/[iIİ][sS][tT][aA][nN][bB][uU][lL]/"),
        # 'ſ' lowercases to itself and 'S' to 's': the long s stands alone.
        ("ſa", "F:/ſ[aA]/"),
        # A title-case letter folds to a three-member class, which is exact.
        ("ǅ", "F:/[ǆǄǅ]/"),
        # 'ς' lowercases to itself and 'Σ' to 'σ': final sigma has no partner.
        ("ς", "F:ς"),
    ],
)
def test_letters_without_one_to_one_case_get_their_simple_lowercase_class(
    value: str, expected: str
) -> None:
    assert convert(f"  sel:\n    F: '{value}'") == [expected]


def test_case_mode_none_warns_and_resets() -> None:
    backend = SigportLuceneBackend(ProcessingPipeline(), case_insensitive="none")
    assert backend.convert(rule("  sel:\n    F: 'Cmd'")) == ["F:Cmd"]
    assert len(backend.warnings) == 1 and "case-sensitive" in backend.warnings[0]
    backend.convert(rule("  sel:\n    F: '1'"))
    assert backend.warnings == []


def test_bad_case_mode() -> None:
    with pytest.raises(ValueError, match="case_insensitive"):
        SigportLuceneBackend(ProcessingPipeline(), case_insensitive="lower")


def test_embed_regex_trailing_backslash() -> None:
    assert embed_regex("a\\\\") == "/a[\\\\]/"
    assert embed_regex("a/b") == "/a\\/b/"


def test_output_formats_inherited() -> None:
    backend = SigportLuceneBackend(ProcessingPipeline())
    assert set(backend.formats) >= {"default", "kibana_ndjson", "dsl_lucene", "siem_rule", "siem_rule_ndjson"}
    out = backend.convert(rule("  sel:\n    F: '1'"), "dsl_lucene")
    assert out[0]["query"]["bool"]["must"][0]["query_string"]["query"] == "F:1"


# --- round trips: emitted text, parsed independently, evaluated on events -------------------

ROUND_TRIPS = [
    # (detection, condition, pipeline, events, indices Sigma matches)
    (
        "  sel:\n    Image|endswith: '\\cmd.exe'",
        "sel",
        None,
        [{"Image": "C:\\Windows\\CMD.EXE"}, {"Image": "C:\\cmd.exe2"}, {"Image": "xcmd.exe"}, {}],
        [0],
    ),
    (
        "  sel:\n    Image|endswith: '\\cmd.exe'",
        "sel",
        CASELESS,
        [{"process": {"executable": "C:\\Windows\\CMD.EXE"}}, {"process": {"executable": "cmd.exe"}}],
        [0],
    ),
    (
        "  sel:\n    CommandLine|contains: 'net user'",
        "sel",
        None,
        [{"CommandLine": "NET USER admin"}, {"CommandLine": "net  user"}, {"CommandLine": "x\nnet user"}],
        [0, 2],
    ),
    (
        "  sel:\n    F: '<script>'",
        "sel",
        None,
        [{"F": "<SCRIPT>"}, {"F": "script>"}, {"F": "<script>x"}],
        [0],
    ),
    ("  sel:\n    F: '<1>'", "sel", None, [{"F": "<1>"}, {"F": "0"}], [0]),
    (
        "  sel:\n    F|re: '^a.c$'",
        "sel",
        None,
        [{"F": "abc"}, {"F": "abc\n"}, {"F": "a\nc"}, {"F": "ABC"}, {"F": "xabc"}],
        [0, 1],
    ),
    (
        "  sel:\n    F|re|i: 'b/c'",
        "sel",
        None,
        [{"F": "aB/Cd"}, {"F": "bc"}],
        [0],
    ),
    (
        "  sel:\n    F|re: '(?i)\\s(-u|--user)\\s*:'",
        "sel",
        None,
        [{"F": "curl --USER :x"}, {"F": "curl\t-U:"}, {"F": "curl -user:"}, {"F": "--u\u017fer:"}],
        [0, 1],
    ),
    (
        "  sel:\n    CommandLine|re: '(?i)echo.*clip'",
        "sel",
        CASELESS,
        [{"process": {"command_line": "ECHO x | CLIP"}}, {"process": {"command_line": "clip echo"}}],
        [0],
    ),
    (
        "  sel:\n    F|contains: 'kill'",
        "sel",
        None,
        [{"F": "xKILL"}, {"F": "\u212aill"}, {"F": "kil"}],
        [0, 1],
    ),
    ("  a:\n    X: 1\n  b:\n    Y: 2", "a or not b", None, [{"X": 1, "Y": 2}, {"Y": 2}, {}], [0, 2]),
    ("  sel:\n    F: -5", "sel", None, [{"F": -5}, {"F": 5}], [0]),
    ("  sel:\n    F|cased: 'AND'", "sel", None, [{"F": "AND"}, {"F": "and"}], [0]),
    ("  sel:\n    F|endswith: 'x\\'", "sel", None, [{"F": "aX\\"}, {"F": "x"}], [0]),
    ("  sel:\n    F: null", "sel", None, [{"F": None}, {}, {"F": ""}], [0, 1]),
]


@pytest.mark.parametrize(("detection", "condition", "pipeline", "events", "expected"), ROUND_TRIPS)
def test_round_trip(detection, condition, pipeline, events, expected) -> None:
    (query,) = convert(detection, condition, pipeline=pipeline)
    tree = parse(query, FIELDS)
    assert [i for i, event in enumerate(events) if matches(tree, event)] == expected, query


def test_dotted_capital_i_class() -> None:
    from backends.lucene.regex import case_variants

    assert case_variants("\u0130") == case_variants("i") == "iI\u0130"
    # The reference folds U+0130 to 'i' too (string_case): the value converts, with that class.
    (query,) = convert("  sel:\n    F: '\u0130stanbul'")
    assert query.startswith("F:/[iI\u0130][sS]"), query


@pytest.mark.parametrize(
    "detection",
    ["  sel:\n    - 'whoami'", "  sel:\n    - 42", "  sel:\n    '|re': 'who.mi'",
     "  sel:\n    '|all':\n      - 'a b'\n      - c"],
)
def test_keyword_search_is_refused_with_the_reason(detection: str) -> None:
    # A bare Lucene term searches the default fields (keyword: case-sensitive whole values;
    # text: analysed tokens), never Sigma's case-insensitive substring of any value.
    with pytest.raises(SigmaFeatureNotSupportedByBackendError, match="keyword search .*substring"):
        convert(detection)


def test_field_tests_beside_a_keyword_do_not_rescue_it() -> None:
    with pytest.raises(SigmaFeatureNotSupportedByBackendError, match="keyword search"):
        convert("  sel:\n    Image: 'x.exe'\n  kw:\n    - 'whoami'", "sel and kw")


def test_a_field_named_like_an_operator_is_escaped_and_reads_back() -> None:
    """`OR:x` is the operator OR followed by `:x` to the classic parser (a syntax error); the
    field named OR is written `\\OR:x`, which the interpreter reads as that field."""
    (query,) = convert("  sel:\n    OR: x\n    NOT|contains: y\n    ORDER: z")
    assert query.startswith("\\OR:") and " AND \\NOT:" in query and " AND ORDER:" in query, query
    tree = parse(query)
    assert matches(tree, {"OR": "X", "NOT": "ayb", "ORDER": "z"})
    assert not matches(tree, {"OR": "y", "NOT": "ayb", "ORDER": "z"})
