"""ES|QL output is valid ES|QL: field names stay one identifier, strings one literal (issue 16).

sigport has no ES|QL interpreter, so these tests read the output with a lexer written from
Elasticsearch's ES|QL grammar (``x-pack/plugin/esql/src/main/antlr/lexer/Expression.g4``:
QUOTED_STRING, QUOTED_IDENTIFIER, UNQUOTED_IDENTIFIER, WS), independent of the emitter:

* a hostile field name from a pipeline becomes exactly one identifier token that decodes to the
  name, and the rest of the query is token for token the query for a harmless name (the stock
  backend let ``y`) like "q" or true or TO_LOWER(`z`` close its back-quotes and add conditions);
* a value with a raw newline, CR, tab, quote or backslash is one string literal the grammar
  accepts (a raw CR/LF is not allowed inside one), decoding to the LIKE pattern or regex.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

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


def _renamed(name: str, tmp: Path) -> str:
    path = tmp / f"rename-{abs(hash(name))}.yml"
    path.write_text(yaml.safe_dump({"name": "r", "priority": 100, "transformations": [
        {"id": "r", "type": "field_name_mapping", "mapping": {"process.executable": name}}]}),
        encoding="utf-8")
    return _convert("Image: 'C:\\x\\a.exe'", [str(path)])


NAMES = [
    'process.x" OR * OR "', 'y`) like "q" or true or TO_LOWER(`z', "tick`s``", "a b", "a=b",
    "a|b", "back\\slash", "line\nbreak", "1digit", "dash-ed", "process.not", "OR", "_", "@",
    "a..b", "é",
]


@pytest.mark.parametrize("name", NAMES, ids=repr)
def test_a_hostile_field_name_is_one_identifier(name: str, tmp_path: Path) -> None:
    hostile, plain = tokens(_renamed(name, tmp_path)), tokens(_renamed("plain_name", tmp_path))
    assert len(hostile) == len(plain), (hostile, plain)
    differ = [(h, p) for h, p in zip(hostile, plain) if h != p]
    assert differ == [(("qid", name), ("id", "plain_name"))], differ


def test_plain_dotted_names_stay_bare(tmp_path: Path) -> None:
    assert "TO_LOWER(process.executable)" in _convert("Image: 'a'")
    assert "TO_LOWER(@ts.x_1)" in _renamed("@ts.x_1", tmp_path)


def _like(value: str) -> str:
    """The LIKE pattern of ``*value*``: \\ * ? escaped with a backslash (ES|QL LIKE)."""
    escaped = value.lower().replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")
    return "*" + escaped + "*"


def _regex(value: str) -> str:
    """The RLIKE regex of ``*value*`` with letters as case classes (values TO_LOWER would fold
    unlike Sigma: ``k``, ``s``, ``é``...); the translation is the Lucene emitter's."""
    from backends.lucene.regex import GlobWildcard, glob_to_lucene

    return glob_to_lucene([GlobWildcard("*"), value, GlobWildcard("*")], case_insensitive=True)


VALUES = ["a\nb", "a\r\nb", "\n", "tab\there", 'q"uote', "back\\slash\\", "\x00\x0b\x1f", "é\n"]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_a_value_with_control_characters_is_one_valid_string(value: str) -> None:
    detection = "CommandLine|contains: " + yaml.safe_dump(value, default_style='"').strip()
    strings = [text for kind, text in tokens(_convert(detection)) if kind == "str"]
    assert strings[-1] in (_like(value), _regex(value)), strings


def test_a_regex_with_a_newline_is_one_valid_string() -> None:
    detection = "CommandLine|re: " + yaml.safe_dump('x\ny"z\r', default_style='"').strip()
    query = _convert(detection)
    assert "\n" not in query and "\r" not in query
    strings = [text for kind, text in tokens(query) if kind == "str"]
    # RLIKE reads a Lucene RegExp over the whole value: the Sigma regex, translated.
    assert strings[-1] == '.*x\ny\\"z\r.*'


def test_an_empty_field_name_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.yml"
    path.write_text(yaml.safe_dump({"name": "r", "priority": 100, "transformations": [
        {"id": "r", "type": "field_name_mapping", "mapping": {"process.executable": ""}}]}),
        encoding="utf-8")
    conversion = convert("esql", _rule("Image: a"), pipelines=[str(path)])
    assert conversion.status == "unsupported"
    assert "empty field name" in conversion.reason
