"""ES|QL output is valid ES|QL: field names stay one identifier, strings one literal (issue 16).

These tests read the output with a lexer written from Elasticsearch's ES|QL grammar
(``x-pack/plugin/esql/src/main/antlr/lexer/Expression.g4``: QUOTED_STRING, QUOTED_IDENTIFIER,
UNQUOTED_IDENTIFIER, WS), independent of the emitter, and read each ``QSTR()`` string with the
lucene interpreter:

* a hostile field name from a pipeline becomes exactly one identifier token that decodes to the
  name where ES|QL names it (``IS NULL``), and one field of the ``query_string`` inside ``QSTR()``
  (the stock backend let ``y`) like "q" or true or TO_LOWER(`z`` close its back-quotes and add
  conditions);
* a value with a raw newline, CR, tab, quote or backslash is one string literal the grammar
  accepts (a raw CR/LF is not allowed inside one), whose ``query_string`` matches the value.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from backends.query.evaluate import matches
from helpers import convert, rule_text, to_query

_TOKEN = re.compile(
    r"""(?P<ws>[ \r\n\t]+)
    |(?P<str>"(?:\\[tnr"\\]|[^\r\n"\\])*")
    |(?P<qid>`(?:``|[^`])+`)
    |(?P<id>[A-Za-z][A-Za-z0-9_]*|[_@][A-Za-z0-9_]+)
    |(?P<num>[0-9]+)
    |(?P<op>==|!=|<=|>=|[()<>.,|*=])""",
    re.X,
)
_UNESCAPE = {"t": "\t", "n": "\n", "r": "\r", '"': '"', "\\": "\\"}


def tokens(query: str) -> list[tuple[str, str]]:
    """(kind, decoded text) for every non-blank token; fails on text the lexer rejects."""
    out, pos = [], 0
    while pos < len(query):
        match = _TOKEN.match(query, pos)
        assert match, f"not ES|QL at offset {pos}: {query[pos:pos + 20]!r} in {query!r}"
        kind, text = match.lastgroup, match.group()
        if kind == "str":
            text = re.sub(r"\\(.)", lambda m: _UNESCAPE[m.group(1)], text[1:-1])
        elif kind == "qid":
            text = text[1:-1].replace("``", "`")
        if kind != "ws":
            out.append((kind, text))
        pos = match.end()
    return out


def _rule(detection: str) -> str:
    return rule_text(f"sel:\n    {detection}\ncondition: sel")


def _convert(detection: str, pipelines: list[str] | None = None) -> str:
    return to_query("esql", _rule(detection), pipelines=pipelines)


def _pipeline(name: str, tmp: Path) -> str:
    """A pipeline file renaming process.executable (Sigma Image) to ``name``."""
    path = tmp / f"rename-{abs(hash(name))}.yml"
    path.write_text(yaml.safe_dump({"name": "r", "priority": 100, "transformations": [
        {"id": "r", "type": "field_name_mapping", "mapping": {"process.executable": name}}]}),
        encoding="utf-8")
    return str(path)


def _renamed(name: str, tmp: Path, detection: str = "Image: 'C:\\x\\a.exe'") -> str:
    return _convert(detection, [_pipeline(name, tmp)])


NAMES = [
    'process.x" OR * OR "', 'y`) like "q" or true or TO_LOWER(`z', "tick`s``", "a b", "a=b",
    "a|b", "back\\slash", "line\nbreak", "1digit", "dash-ed", "process.not", "OR", "_", "@",
    "a..b", "é",
]


@pytest.mark.parametrize("name", NAMES, ids=repr)
def test_a_hostile_field_name_is_one_identifier(name: str, tmp_path: Path) -> None:
    def where(field: str) -> list[tuple[str, str]]:
        return tokens(_renamed(field, tmp_path, "Image: null"))

    hostile, plain = where(name), where("plain_name")
    assert len(hostile) == len(plain), (hostile, plain)
    differ = [(h, p) for h, p in zip(hostile, plain) if h != p]
    assert differ == [(("qid", name), ("id", "plain_name"))], differ


#: query_string reads * and ? in a field name as a pattern (refused: next test).
QS_NAMES = [n for n in NAMES if "*" not in n and "?" not in n]


@pytest.mark.parametrize("name", QS_NAMES, ids=repr)
def test_a_hostile_field_name_is_one_query_string_field(name: str, tmp_path: Path) -> None:
    from backends.lucene.parser import parse

    hostile, plain = tokens(_renamed(name, tmp_path)), tokens(_renamed("plain_name", tmp_path))
    assert [kind for kind, _ in hostile] == [kind for kind, _ in plain], (hostile, plain)
    node = parse(hostile[-2][1])  # QSTR ( "<query_string>" )
    assert getattr(node, "field", None) == name, node
    assert matches(node, {name: "C:\\x\\A.EXE"}) and not matches(node, {name: "C:\\x\\b.exe"})


def test_plain_dotted_names_stay_bare(tmp_path: Path) -> None:
    assert "process.executable is null" in _convert("Image: null")
    assert "@ts.x_1 is null" in _renamed("@ts.x_1", tmp_path, "Image: null")


# NUL is refused by the emitter (no ES|QL document defines its escape: tests/backends/test_nul.py).
VALUES = ["a\nb", "a\r\nb", "\n", "tab\there", 'q"uote', "back\\slash\\", "\x01\x0b\x1f", "é\n"]


def _query_string(detection: str) -> Any:
    """The lucene reading of the last string literal of the query (its one QSTR())."""
    from backends.lucene.parser import parse

    strings = [text for kind, text in tokens(_convert(detection)) if kind == "str"]
    return parse(strings[-1])


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_a_value_with_control_characters_is_one_valid_string(value: str) -> None:
    detection = "CommandLine|contains: " + yaml.safe_dump(value, default_style='"').strip()
    node = _query_string(detection)
    field = "process.command_line"
    assert matches(node, {field: "x" + value.upper() + "y"}), node
    assert not matches(node, {field: "x" + value[:-1] + "y"}), node


def test_a_regex_with_a_newline_is_one_valid_string() -> None:
    detection = "CommandLine|re: " + yaml.safe_dump('x\ny"z\r', default_style='"').strip()
    query = _convert(detection)
    assert "\n" not in query and "\r" not in query
    # A Lucene RegExp over the whole value: the Sigma regex, translated (unanchored).
    node = _query_string(detection)
    assert matches(node, {"process.command_line": 'ax\ny"z\rb'})
    assert not matches(node, {"process.command_line": 'ax\nyz\rb'})


@pytest.mark.parametrize("name, reason", [
    ("", "empty field name"),
    ("a*b", "pattern"),  # query_string expands * and ? in a field name, even escaped
])
def test_an_unwritable_field_name_is_refused(name: str, reason: str, tmp_path: Path) -> None:
    conversion = convert("esql", _rule("Image: a"), pipelines=[_pipeline(name, tmp_path)])
    assert conversion.status == "unsupported"
    assert reason in conversion.reason
