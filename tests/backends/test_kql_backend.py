"""Tests of the KQL emitter: inline Sigma rules -> exact KQL query strings and warnings."""

from __future__ import annotations

import pytest
from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import FieldMappingTransformation

from backends.common import is_limit_warning
from backends.kql.backend import SigportKqlBackend, kql_literal, quote

RULE = """
title: t
status: test
logsource: {{category: process_creation, product: windows}}
detection:
{detection}
"""


def _backend(mapping: dict[str, str] | None = None) -> SigportKqlBackend:
    """A KQL backend with an empty pipeline, or one simple field mapping."""
    if mapping is None:
        return SigportKqlBackend(ProcessingPipeline())
    item = ProcessingItem(FieldMappingTransformation(mapping), identifier="test_mapping")
    return SigportKqlBackend(ProcessingPipeline([item]))


def convert(detection: str, mapping: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """Convert one rule (detection block indented by two spaces) -> (query, warnings)."""
    backend = _backend(mapping)
    rules = SigmaCollection.from_yaml(RULE.format(detection=detection))
    queries = backend.convert(rules)
    assert len(queries) == 1
    return queries[0], list(backend.warnings)


@pytest.mark.parametrize(
    ("detection", "expected"),
    [
        pytest.param("  sel: {a: foo}\n  condition: sel", "a:foo", id="plain"),
        pytest.param("  sel: {a|contains: foo}\n  condition: sel", "a:*foo*", id="contains"),
        pytest.param("  sel: {a|startswith: foo}\n  condition: sel", "a:foo*", id="startswith"),
        pytest.param("  sel: {a|endswith: foo}\n  condition: sel", "a:*foo", id="endswith"),
        pytest.param("  sel: {a: [x, y, z]}\n  condition: sel", "a:(x or y or z)", id="or-list"),
        pytest.param(
            "  sel: {a|contains|all: [x, y]}\n  condition: sel", "a:(*x* and *y*)", id="all"
        ),
        pytest.param(
            "  sel: {a: x, b: y}\n  condition: sel", "a:x and b:y", id="and-of-fields"
        ),
        pytest.param("  sel: {a: 42}\n  condition: sel", "a:42", id="number"),
        pytest.param("  sel: {a: [1, 2]}\n  condition: sel", "a:(1 or 2)", id="number-list"),
        pytest.param("  sel: {a: true}\n  condition: sel", "a:true", id="boolean"),
        pytest.param("  sel: {a|gte: 5}\n  condition: sel", "a >= 5", id="gte"),
        pytest.param("  sel: {a|lt: 5}\n  condition: sel", "a < 5", id="lt"),
        pytest.param("  sel: {a: null}\n  condition: sel", "not a:*", id="null"),
        pytest.param("  sel: {a: null}\n  condition: not sel", "a:*", id="not-null"),
        pytest.param("  sel: {a|exists: true}\n  condition: sel", "a:*", id="exists"),
        pytest.param("  sel: {a|exists: false}\n  condition: sel", "not a:*", id="not-exists"),
        pytest.param(
            "  sel: {a|exists: false}\n  condition: not sel", "a:*", id="not-not-exists"
        ),
        pytest.param("  sel: {a: ''}\n  condition: sel", 'a:""', id="empty"),
        pytest.param(
            "  sel: {ip|cidr: 10.0.0.0/8}\n  condition: sel", "ip:10.0.0.0/8", id="cidr"
        ),
        pytest.param(
            "  sel: {ip|cidr: '2001:db8::/32'}\n  condition: sel",
            "ip:2001\\:db8\\:\\:/32",
            id="cidr-v6",
        ),
        pytest.param("  sel: {a: x}\n  condition: not sel", "not a:x", id="not"),
        pytest.param(
            "  a1: {a: x}\n  b1: {b: y}\n  c1: {c: z}\n  condition: a1 or (b1 and not c1)",
            "a:x or (b:y and not c:z)",
            id="precedence",
        ),
        pytest.param(
            "  a1: {a: x}\n  b1: {b: y}\n  c1: {c: z}\n  condition: (a1 or b1) and c1",
            "(a:x or b:y) and c:z",
            id="or-inside-and",
        ),
        pytest.param(
            "  a1: {a: x}\n  b1: {b: y}\n  condition: not (a1 or b1)",
            "not (a:x or b:y)",
            id="not-group",
        ),
        pytest.param(
            "  s1: {a: x}\n  s2: {b: y}\n  condition: 1 of s*",
            "a:x or b:y",
            id="1-of",
        ),
        pytest.param(
            "  s1: {a: x}\n  s2: {b: y}\n  condition: all of s*",
            "a:x and b:y",
            id="all-of",
        ),
        pytest.param(
            "  sel:\n    - a: x\n    - b: [y, z]\n  condition: sel",
            "a:x or b:(y or z)",
            id="list-of-maps",
        ),
        pytest.param(
            "  sel: {a: x, b: [y, z]}\n  condition: sel",
            "a:x and b:(y or z)",
            id="in-list-not-grouped",
        ),
    ],
)
def test_convert(detection: str, expected: str) -> None:
    query, _ = convert(detection)
    assert query == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("a\\b", "a\\\\b", id="backslash"),
        pytest.param("C:\\Windows\\\\*", "C\\:\\\\Windows\\\\*", id="path-prefix"),
        pytest.param("C:\\Windows\\*", "C\\:\\\\Windows\\*", id="sigma-escaped-star"),
        pytest.param("(x)", "\\(x\\)", id="parens"),
        pytest.param("a:b", "a\\:b", id="colon"),
        pytest.param("<a>", "\\<a\\>", id="angles"),
        pytest.param('say "hi"', 'say \\"hi\\"', id="double-quote"),
        pytest.param("{x}", "\\{x\\}", id="braces"),
        pytest.param("lit\\*star", "lit\\*star", id="literal-asterisk"),
        pytest.param("net user", "net user", id="inner-space"),
        pytest.param("a or b", "a \\or b", id="or-word"),
        pytest.param("a AND b", "a \\AND b", id="and-word"),
        pytest.param("a Not b", "a \\Not b", id="not-word-capital"),
        pytest.param("a not b", "a \\u006eot b", id="not-word-lowercase"),
        pytest.param("cannot x", "can\\u006eot x", id="not-suffix"),
        pytest.param("x or", "x \\or", id="or-at-end"),
        pytest.param("xnot", "x\\u006eot", id="not-at-end"),
        pytest.param("order android", "order android", id="words-containing-keywords"),
        pytest.param("tab\there", "tab\\there", id="tab"),
        pytest.param("cr\rlf\nx", "cr\\rlf\\nx", id="cr-lf-inside"),
        pytest.param("x\n", '"x\\n"', id="trailing-newline-quoted"),
        pytest.param(" lead", '" lead"', id="leading-space-quoted"),
        pytest.param("trail ", '"trail "', id="trailing-space-quoted"),
        pytest.param("null", '"null"', id="typed-null-quoted"),
        pytest.param("true", '"true"', id="typed-true-quoted"),
        pytest.param("a\u00a0or b", "a\\u00a0or b", id="nbsp"),
    ],
)
def test_value_escaping(value: str, expected: str) -> None:
    # YAML single-quoted scalars keep backslashes; `''` is a quote inside them.
    yaml_value = value.replace("'", "''")
    detection = f"  sel:\n    a|cased: '{yaml_value}'\n  condition: sel"
    detection = detection.replace("\t", "\\t")
    if any(c in value for c in "\t\r\n\u00a0"):
        escaped = value.encode("unicode_escape").decode().replace('"', '\\"')
        detection = f'  sel:\n    a|cased: "{escaped}"\n  condition: sel'
    query, _ = convert(detection)
    assert query == f"a:{expected}"


def test_field_name_escaping() -> None:
    query, _ = convert("  sel: {'odd:name (x)': v}\n  condition: sel")
    assert query == "odd\\:name \\(x\\):v"


def test_wildcard_with_edge_space_is_refused() -> None:
    # process.name is a keyword field, so the value would be one wildcard query, but KQL trims it.
    with pytest.raises(SigmaFeatureNotSupportedByBackendError, match="trimmed"):
        convert("  sel: {process.name|startswith: ' x'}\n  condition: sel")


@pytest.mark.parametrize("field", ["process.command_line", "no.such.field"])
def test_wildcard_with_inner_space_off_keyword_fields_is_refused(field: str) -> None:
    """Kibana sends it through query_string, which splits it at the space (SEMANTICS.md 2.2)."""
    with pytest.raises(SigmaFeatureNotSupportedByBackendError, match="splits it at the spaces"):
        convert(f"  sel: {{{field}|contains: 'net user'}}\n  condition: sel")


def test_wildcard_with_inner_space_on_keyword_fields_is_one_term() -> None:
    query, _ = convert("  sel: {process.command_line.caseless|contains: 'net user'}\n  condition: sel")
    assert query == "process.command_line.caseless:*net user*"


@pytest.mark.parametrize(
    "detection",
    [
        "  sel: {a|cased: 'x?y'}\n  condition: sel",
        "  sel: {a: '?'}\n  condition: sel",
        "  sel: {a|contains: 'x?y'}\n  condition: sel",
        "  keywords: ['x?y']\n  condition: keywords",
    ],
)
def test_question_mark_is_refused(detection: str) -> None:
    """Kibana KQL has no one-character wildcard (semantics ``single_wildcard``): widening '?' to
    '*' matched more than the rule (check said "differs"), so the value is refused."""
    with pytest.raises(SigmaFeatureNotSupportedByBackendError, match="exactly one character"):
        convert(detection)


def test_case_warning_and_caseless_field() -> None:
    _, warnings = convert("  sel: {Image: CMD.exe}\n  condition: sel")
    assert warnings == [
        "KQL matches Image case-sensitively; Sigma's match is case-insensitive; add a "
        "lowercase-normalised keyword multi-field of Image to the index (`sigport mapping RULES "
        "--data-source defend` writes the template) and convert with --mapping, or use the "
        "eql/lucene target"
    ]
    query, warnings = convert(
        "  sel: {Image: CMD.exe}\n  condition: sel", {"Image": "process.name.caseless"}
    )
    assert query == "process.name.caseless:CMD.exe"
    # The exact value cannot match a value past the sub-field's 1,024 characters: no caveat.
    assert warnings == []
    query, warnings = convert(
        "  sel: {Image|contains: CMD}\n  condition: sel", {"Image": "process.name.caseless"}
    )
    # process.name itself stops at 1,024 too, so the sub-field loses nothing the base field
    # has; but both lose the long values Sigma matches: declared (check proves it from events).
    assert [w for w in warnings if not is_limit_warning(w)] == []
    assert any("1024 characters" in w for w in warnings)
    query, warnings = convert(
        "  sel: {CommandLine|contains: CMD}\n  condition: sel",
        {"CommandLine": "process.command_line.caseless"},
    )
    # Only the sub-field's length limit is declared (check proves it from long events): the
    # wildcard-typed process.command_line indexes values of any length.
    assert [w for w in warnings if not is_limit_warning(w)] == []
    assert any("1024 characters" in w for w in warnings)
    _, warnings = convert("  sel: {Image: '1234'}\n  condition: sel")
    assert warnings == []  # no letters, case cannot matter


def _sigport_kql(rule: str, data_source: str) -> list[str]:
    """The warnings of the real KQL conversion (ecs-windows pipeline) for one data source."""
    from converter.conversion.convert import Converter
    from converter.rules.load import load_text

    converter = Converter("kql", options={"data_source": data_source})
    conversion = converter.convert(load_text(rule, "r.yml")[0])
    assert conversion.status == "converted", conversion.reason
    return list(conversion.warnings)


OFN_RULE = """
title: t
logsource: {category: process_creation, product: windows}
detection:
  sel: {OriginalFileName: Cmd.Exe, CommandLine|contains: Whoami}
  condition: sel
"""


@pytest.mark.parametrize("data_source", ["defend", "windows", "winlogbeat"])
def test_case_advice_follows_data_source_and_field(data_source: str) -> None:
    """Defend has no .caseless for process.pe.original_file_name: never advise switching to it
    for that field; advise it for process.command_line only when the data source is not Defend
    (Defend's own .caseless sub-field is used then, and nothing is warned)."""
    warnings = _sigport_kql(OFN_RULE, data_source)
    ofn = [w for w in warnings if "original_file_name" in w]
    assert ofn == [
        "KQL matches process.pe.original_file_name case-sensitively; Sigma's match is "
        "case-insensitive; add a lowercase-normalised keyword multi-field of "
        "process.pe.original_file_name to the index (`sigport mapping RULES --data-source "
        f"{data_source}` writes the template) and convert with --mapping, or use the eql/lucene "
        "target"
    ]
    command_line = [w for w in warnings if "command_line" in w and not is_limit_warning(w)]
    if data_source == "defend":
        assert command_line == []
    else:
        assert command_line == [
            "KQL matches process.command_line case-sensitively; Sigma's match is "
            "case-insensitive; add a lowercase-normalised keyword multi-field of "
            "process.command_line to the index (`sigport mapping RULES --data-source "
            f"{data_source}` writes the template) and convert with --mapping, or use "
            "data_source=defend (process.command_line.caseless) or the eql/lucene target"
        ]


def test_cased_on_caseless_warns() -> None:
    _, warnings = convert(
        "  sel: {Image|cased: CMD.exe}\n  condition: sel", {"Image": "process.name.caseless"}
    )
    warnings = [w for w in warnings if not is_limit_warning(w)]
    assert len(warnings) == 1 and "case-insensitively" in warnings[0]


def test_case_warning_in_value_lists() -> None:
    query, warnings = convert("  sel: {Image: [A, B]}\n  condition: sel", {"Image": "process.name"})
    assert query == "process.name:(A or B)"
    assert len(warnings) == 1 and "process.name" in warnings[0]


def test_warnings_reset_per_rule() -> None:
    backend = _backend()
    first = SigmaCollection.from_yaml(RULE.format(detection="  s: {a: X}\n  condition: s"))
    second = SigmaCollection.from_yaml(RULE.format(detection="  s: {a: '1'}\n  condition: s"))
    backend.convert(first)
    assert backend.warnings
    backend.convert(second)
    assert backend.warnings == []
    assert SigportKqlBackend(ProcessingPipeline()).warnings == []  # instance state, not class state


def test_regex_unsupported() -> None:
    with pytest.raises(SigmaFeatureNotSupportedByBackendError) as info:
        convert("  sel: {a|re: 'x.y'}\n  condition: sel")
    assert "KQL has no regular expressions" in str(info.value)
    assert "excludes the newline" in str(info.value)
    assert "lucene or eql target" in str(info.value)
    # An unbound regular expression only arises from pipelines; the method refuses it too.
    with pytest.raises(SigmaFeatureNotSupportedByBackendError, match="no regular"):
        _backend().convert_condition_val_re(None, None)  # type: ignore[arg-type]


def test_regex_of_wildcard_values() -> None:
    """A regex that is a finite union of wildcard values is written as their OR, grouped so that
    a negation covers all of them (backends/regex_globs.py)."""
    assert convert("  sel: {a|re: '(cmd|pwsh)\\.exe\\Z'}\n  condition: not sel") == (
        "not (a:(*cmd.exe or *pwsh.exe))", []
    )
    assert convert("  sel: {a|re: '^x.*'}\n  condition: sel") == ("a:x*", [])


def test_fieldref_unsupported() -> None:
    with pytest.raises(SigmaFeatureNotSupportedByBackendError, match="another field"):
        convert("  sel: {a|fieldref: b}\n  condition: sel")


def test_keyword_search() -> None:
    query, warnings = convert("  keywords: [mimikatz]\n  condition: keywords")
    assert query == "*mimikatz*"
    assert any("default fields" in w for w in warnings)
    query, warnings = convert("  keywords: ['sekurlsa logonpasswords']\n  condition: keywords")
    assert query == '"sekurlsa logonpasswords"'
    assert any("phrase" in w for w in warnings)
    with pytest.raises(SigmaFeatureNotSupportedByBackendError, match="split"):
        convert("  keywords: ['a * b']\n  condition: keywords")


def test_literal_helpers() -> None:
    assert quote('a\\b"c\td') == '"a\\\\b\\"c\\td"'
    assert kql_literal(["x"]) == ("x", False)


def test_warnings_are_per_rule_and_deduplicated() -> None:
    """The shared WarningsMixin: a warning per caveat, cleared for the next rule."""
    from sigma.collection import SigmaCollection
    from sigma.processing.pipeline import ProcessingPipeline

    backend = SigportKqlBackend(ProcessingPipeline())
    widened = SigmaCollection.from_yaml(
        "title: t\nlogsource: {product: windows}\ndetection:\n"
        "  keywords: ['x1', 'y2', 'y2']\n  condition: keywords\n"
    ).rules[0]
    plain = SigmaCollection.from_yaml(
        "title: t\nlogsource: {product: windows}\ndetection:\n  sel:\n"
        "    a: '12'\n  condition: sel\n"
    ).rules[0]
    backend.convert_rule(widened)
    assert len(backend.warnings) == 2 and all("free text" in w for w in backend.warnings)
    backend.convert_rule(plain)
    assert backend.warnings == []


def test_backend_metadata() -> None:
    assert SigportKqlBackend.name == "Kibana KQL"
    assert set(SigportKqlBackend.formats) == {"default"}
    assert SigportKqlBackend.requires_pipeline is True


CIDR_RULE = """
title: cidr on a keyword field
id: 6a7b8c9d-0000-4000-8000-0000000000c7
status: test
logsource: {product: windows, service: security}
detection:
  sel:
    EventID: 4624
  private:
    IpAddress|cidr: ['10.0.0.0/8', '::1/128']
  condition: sel and not private
level: low
"""


@pytest.mark.parametrize("target", ["kql", "kql-es"])
def test_cidr_on_a_field_that_is_not_ip_is_refused(target: str) -> None:
    """Only an ``ip`` field reads ``a.b.c.d/n`` as a network (``ip_cidr``); on the Security
    channel's ``winlog.event_data.IpAddress`` (a keyword field) the term is the literal text, so
    ``not IpAddress:10.0.0.0/8`` would also be true for 10.1.2.3. Refused; the reason does not
    send the user to EQL, whose cidrMatch rejects a keyword field too (CIDRMatch.resolveType)."""
    from converter.conversion.convert import Converter
    from converter.rules.load import load_text

    (loaded,) = load_text(CIDR_RULE, "cidr.yml")
    conversion = Converter(target, None, {"data_source": "windows"}).convert(loaded)
    assert conversion.status == "unsupported", conversion.queries
    assert "winlog.event_data.IpAddress" in (conversion.reason or "")
    assert "keyword" in (conversion.reason or "") and "ip field only" in (conversion.reason or "")


def test_cidr_on_an_ip_field_is_a_network_term() -> None:
    from converter.checking.checker import Checker
    from converter.events.render import SampleEvent
    from converter.rules.load import load_text

    rule = CIDR_RULE.replace("service: security", "category: network_connection").replace(
        "EventID: 4624", "Initiated: 'true'").replace("IpAddress|cidr", "DestinationIp|cidr")
    (loaded,) = load_text(rule, "cidr.yml")
    events = [SampleEvent({"EventID": 3, "Channel": "Microsoft-Windows-Sysmon/Operational",
                           "Initiated": "true", "DestinationIp": address})
              for address in ("10.1.2.3", "8.8.8.8", "::1", "2001:db8::1")]
    result = Checker(["kql"], data_source="windows").check(loaded, events).targets["kql"]
    assert "destination.ip:10.0.0.0/8" in (result.query or ""), result.reason
    assert result.equivalent is True, result.reason


def test_operator_words_start_only_with_their_letters() -> None:
    """``_keyword_escape`` looks for an operator word only where a character of
    ``_WORD_STARTS`` stands: every code point whose lowercase begins with the first letter of
    ``not``, ``and`` or ``or`` must be in it, or a word spelt with it would go unescaped."""
    import sys

    from backends.kql.literals import _WORD_STARTS

    firsts = {word[0] for word in ("not", "and", "or")}
    starts = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).lower()[:1] in firsts}
    assert starts <= _WORD_STARTS
