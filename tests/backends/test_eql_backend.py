"""The EQL emitter with a small inline mapping table: exact expected queries per Sigma construct."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError, SigmaTransformationError

from backends.eql.backend import SigportEqlBackend
from converter.mapping.pipeline import TargetTraits, build_pipeline

TABLE = """
name: mini
schema: ecs
description: test table
options:
  data_source: {default: defend, choices: [defend, windows, winlogbeat]}
logsources:
  - id: windows-process-creation
    match: {product: windows, category: process_creation}
    eql_category: process
    conditions: {host.os.type: windows, event.type: start}
    fields:
      Image: process.executable
      ParentImage: process.parent.executable
      CommandLine: process.command_line
      ProcessId: process.pid
    derived:
      - {from: Image, to: process.name, function: basename}
      - {from: ParentImage, to: process.parent.name, function: basename}
"""

PREFIX = 'process where (host.os.type == "windows" and event.type == "start") and '


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> SigportEqlBackend:
    path: Path = tmp_path_factory.mktemp("tables") / "mini.yml"
    path.write_text(TABLE, encoding="utf-8")
    return SigportEqlBackend(
        processing_pipeline=build_pipeline(str(path), TargetTraits(eql_category=True))
    )


def convert(backend: SigportEqlBackend, detection: str) -> str:
    rule = SigmaCollection.from_yaml(
        "title: t\nlogsource: {product: windows, category: process_creation}\ndetection:\n"
        + textwrap.indent(textwrap.dedent(detection).strip("\n"), "    ")
        + "\n"
    ).rules[0]
    (query,) = backend.convert_rule(rule)
    assert query.startswith(PREFIX), query
    return query[len(PREFIX):]


@pytest.mark.parametrize(
    "detection, expected",
    [
        pytest.param(
            """
            sel:
                ParentImage|endswith: '\\Zoom.exe'
                Image|endswith: ['\\cmd.exe', '\\node.exe']
            condition: sel
            """,
            '(process.parent.name : "Zoom.exe" and (process.name : ("cmd.exe", "node.exe")))',
            id="zoom-shape-basename",
        ),
        pytest.param(
            """
            sel:
                Image|endswith: ['\\cmd.exe', '\\pwsh.exe']
            condition: sel
            """,
            # 's' folds to 'ſ' too under ES's Unicode case_insensitive (elastic#153513), where
            # Sigma keeps them apart: an explicit case-sensitive regex, exact on every version.
            '(process.name : "cmd.exe" or process.name regex "[pP][wW][sS][hH]\\\\.[eE][xX][eE]")',
            id="letters-folding-unlike-sigma-become-classes",
        ),
        pytest.param(
            """
            sel:
                Image|endswith: ['\\cmd.exe', '\\Temp\\x.exe']
            condition: sel
            """,
            '(process.name : "cmd.exe" or process.executable : "*\\\\Temp\\\\x.exe")',
            id="mixed-basename-and-path",
        ),
        pytest.param(
            """
            sel:
                Image|endswith|all: ['\\cmd.exe', 'd.exe']
            condition: sel
            """,
            '(process.name : "cmd.exe" and process.executable : "*d.exe")',
            id="all-keeps-and-linking",
        ),
        pytest.param(
            """
            sel:
                CommandLine|contains: 'a?b'
            condition: sel
            """,
            'process.command_line : "*a?b*"',
            id="single-wildcard-stays-single",
        ),
        pytest.param(
            """
            sel:
                CommandLine|contains: 'lot\\*eral'
            condition: sel
            """,
            'process.command_line regex~ ".*lot\\\\*eral.*"',
            id="literal-asterisk-becomes-exact-regex",
        ),
        pytest.param(
            """
            sel:
                CommandLine|contains|cased: 'AbC'
            condition: sel
            """,
            'process.command_line like "*AbC*"',
            id="cased-with-wildcards-uses-like",
        ),
        pytest.param(
            """
            sel:
                CommandLine|cased: 'AbC'
            condition: sel
            """,
            'process.command_line == "AbC"',
            id="cased-exact-uses-double-equals",
        ),
        pytest.param(
            """
            sel:
                CommandLine|re: 'ab+c'
            condition: sel
            """,
            'process.command_line regex ".*ab+c.*"',
            id="regex-case-sensitive-unanchored",
        ),
        pytest.param(
            """
            sel:
                CommandLine|re|i: '^ab+c$'
            condition: sel
            """,
            # PCRE `$` also matches before a final newline: the translation keeps that.
            'process.command_line regex~ "ab+c(\\n)?"',
            id="regex-i-anchors-translated",
        ),
        pytest.param(
            """
            sel:
                CommandLine: 'C:\\Data\\"quoted"'
            condition: sel
            """,
            'process.command_line : "C:\\\\Data\\\\\\"quoted\\""',
            id="backslash-and-quote-escaping",
        ),
        pytest.param(
            """
            sel:
                CommandLine: null
            condition: sel
            """,
            "(?process.command_line == null)",
            id="null",
        ),
        pytest.param(
            """
            sel:
                CommandLine|exists: true
            condition: sel
            """,
            "?process.command_line != null",
            id="exists",
        ),
        pytest.param(
            """
            sel:
                ProcessId|gt: 4
            condition: sel
            """,
            "process.pid > 4",
            id="numeric-compare",
        ),
        pytest.param(
            """
            a:
                CommandLine|contains: x
            b:
                CommandLine|contains: y
            c:
                CommandLine|contains: z
            condition: a or (b and not c)
            """,
            '(process.command_line : "*x*" or (process.command_line : "*y*" and '
            '(not process.command_line : "*z*")))',
            id="precedence",
        ),
    ],
)
def test_eql_output(backend: SigportEqlBackend, detection: str, expected: str) -> None:
    assert convert(backend, detection) == expected


def test_keyword_search_is_refused(backend: SigportEqlBackend) -> None:
    with pytest.raises(SigmaFeatureNotSupportedByBackendError, match="keyword"):
        convert(backend, "kw:\n    - mimikatz\ncondition: kw\n")


def test_unmapped_field_is_named(backend: SigportEqlBackend) -> None:
    with pytest.raises(SigmaTransformationError, match="field 'Foo' is not mapped"):
        convert(backend, "sel:\n    Foo: x\ncondition: sel\n")


def test_uncovered_logsource_fails(backend: SigportEqlBackend) -> None:
    rule = SigmaCollection.from_yaml(
        "title: t\nlogsource: {product: linux, category: process_creation}\n"
        "detection:\n  sel:\n    Image: x\n  condition: sel\n"
    ).rules[0]
    with pytest.raises(SigmaTransformationError, match="no mapping for logsource"):
        backend.convert_rule(rule)


@pytest.mark.parametrize(
    "name",
    ["aws.cloudtrail.flattened.request_parameters.x-amz-acl", "a.not", "6eyes", "my field", "a.b`c", "@timestamp"],
)
def test_field_names_that_are_not_identifiers_are_back_quoted(name: str) -> None:
    """Each dotted part that is not an EQL identifier is back-quoted, and our interpreter reads the
    field back under its own name (before, ``x-amz-acl`` came out bare: a syntax error)."""
    from backends.eql.parser import parse

    from sigma.rule import SigmaRule

    rule = SigmaRule.from_dict({
        "title": "field names",
        "logsource": {"product": "aws", "service": "cloudtrail"},
        "detection": {"sel": {name: "public-read"}, "condition": "sel"},
    })
    query = SigportEqlBackend().convert_rule(rule)[0]
    tree = parse(query)
    assert tree.field == name, query
    assert "[pP][uU][bB][lL][iIİ][cC]-[rR][eE][aA][dD]" in str(tree)
