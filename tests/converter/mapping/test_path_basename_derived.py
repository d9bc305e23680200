"""Linux and macOS base names on Elastic Defend: ``Image|endswith: '/curl'`` is ``process.name``.

A test of a whole file name at the end of a path (``endswith '/<name>'``) holds exactly when the
path's base name is ``<name>``; the ecs-linux and ecs-macos tables derive ``process.name`` /
``process.parent.name`` / ``file.name`` with ``path_basename``, so the query tests the name field,
which no file name can push past its 1,024-character ``ignore_above`` (``process.executable``
can: a longer path is not indexed, and the path test then misses it where Sigma matches).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sigma.types import SigmaCasedString, SigmaString

from converter.checking.checker import Checker
from converter.errors import PipelineError
from converter.generate.generator import generate_events
from converter.mapping.loader import load_table
from converter.mapping.transformations import whole_file_name
from helpers import load_one, to_query

RULE = """
title: wget into tmp
id: 6b8e4a1c-5a47-4f0a-9d53-2d1b6f7a0c11
logsource: {{product: {product}, category: process_creation}}
detection:
    selection:
        Image|endswith: ['/wget', '/curl']
        ParentImage|endswith: '/bash'
        CommandLine|contains: '/tmp/'
    condition: selection
"""

FILE_RULE = """
title: sudoers drop-in
id: 6b8e4a1c-5a47-4f0a-9d53-2d1b6f7a0c12
logsource: {product: linux, category: file_event}
detection:
    selection:
        TargetFilename|endswith: '/sudoers'
        Image|endswith: '/cp'
    condition: selection
"""


@pytest.mark.parametrize(
    "value,separator,name",
    [
        ("*/curl", "/", "curl"),
        ("*/ps-empire server", "/", "ps-empire server"),
        ("*\\cmd.exe", "\\", "cmd.exe"),
        # Not a whole file name after the separator: stays a path test.
        ("*/usr/bin/curl", "/", None),
        ("*\\curl", "/", None),
        ("*/cmd.exe", "\\", None),
        ("*/", "/", None),
        ("*/cu*rl", "/", None),
        ("/curl", "/", None),
    ],
)
def test_whole_file_name_reads_the_separator(value: str, separator: str, name: str | None) -> None:
    assert whole_file_name(SigmaString(value), separator) == name


@pytest.mark.parametrize("target", ["eql", "lucene"])
@pytest.mark.parametrize("product", ["linux", "macos"])
def test_endswith_a_file_name_is_a_name_test_and_proven(target: str, product: str) -> None:
    loaded = load_one(RULE.format(product=product))
    query = to_query(target, RULE.format(product=product))
    assert "process.name" in query and "process.parent.name" in query
    assert "process.executable" not in query and "process.parent.executable" not in query
    result = Checker([target]).check(loaded, generate_events(loaded.rule)).targets[target]
    # Equivalent outright: the generated paths over 1,024 characters end in the same names.
    assert result.equivalent, result.reason


@pytest.mark.parametrize("target", ["eql", "lucene"])
def test_linux_file_event_names_are_proven(target: str) -> None:
    loaded = load_one(FILE_RULE)
    query = to_query(target, FILE_RULE)
    assert "file.name" in query and "file.path" not in query
    result = Checker([target]).check(loaded, generate_events(loaded.rule)).targets[target]
    assert result.equivalent, result.reason


def test_a_directory_test_stays_on_the_path_field() -> None:
    rule = RULE.format(product="linux").replace("Image|endswith: ['/wget', '/curl']",
                                                "Image|startswith: '/tmp/'")
    query = to_query("eql", rule)
    assert 'process.executable : "/tmp/*"' in query


def test_a_queried_derivation_needs_a_base_name_function(tmp_path: Path) -> None:
    text = (Path(__file__).resolve().parents[3] / "converter" / "mapping" / "tables"
            / "ecs-macos.yml").read_text("utf-8")
    bad = text.replace("{from: Image, to: process.name, function: path_basename}",
                       "{from: Image, to: process.name, function: copy}", 1)
    assert bad != text
    path = tmp_path / "bad.yml"
    path.write_text(bad, "utf-8")
    with pytest.raises(PipelineError, match="has no query form"):
        load_table(str(path))


@pytest.mark.parametrize(("product", "value", "name"), [
    ("linux", "/curl", "curl"), ("macos", "/curl", "curl"), ("windows", "\\\\cmd.exe", "cmd.exe"),
])
@pytest.mark.parametrize("target", ["eql", "lucene"])
def test_a_cased_file_name_is_a_cased_name_test_and_proven(
        target: str, product: str, value: str, name: str) -> None:
    """``Image|endswith|cased: '/curl'`` is the base name ``curl``, case-sensitive on both sides.
    It stayed a path test on process.executable, which misses a path over its 1,024-character
    ignore_above where Sigma matches (an Elastic rule's case-sensitive ``process.name == "curl"``
    imported back to Sigma converted to such a path test)."""
    rule = (f"title: cased name\nid: 6b8e4a1c-5a47-4f0a-9d53-2d1b6f7a0c13\n"
            f"logsource: {{product: {product}, category: process_creation}}\n"
            f"detection:\n    selection:\n        Image|endswith|cased: '{value}'\n"
            "    condition: selection\n")
    loaded = load_one(rule)
    query = to_query(target, rule)
    assert "process.name" in query and "process.executable" not in query, query
    assert name in query and name.upper() not in query
    result = Checker([target]).check(loaded, generate_events(loaded.rule)).targets[target]
    assert result.equivalent, result.reason


def test_a_cased_file_name_keeps_its_case() -> None:
    assert whole_file_name(SigmaCasedString("*/Curl"), "/") == "Curl"
