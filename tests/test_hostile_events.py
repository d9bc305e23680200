"""Hostile events and index-mapping inputs, round three: JSON that decodes but is no text, or
no mapping Elasticsearch would accept.

Each case was an "internal error"; each must be an error naming the file (and line).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from converter.cli import main
from converter.events.inputs import iter_events
from converter.events.render import read_jsonl
from converter.errors import ConverterError
from helpers import ROOT

ZOOM = ROOT / "sigma_rules/windows/process_creation/proc_creation_win_zoom_suspicious_child_process.yml"
SYSMON = "Microsoft-Windows-Sysmon/Operational"


def _event_line(image: str) -> str:
    # The escape is written by hand: json.dumps would write a lone surrogate the same way.
    return ('{"EventID": 1, "Channel": "' + SYSMON + '", "Image": "C:\\\\x\\\\' + image
            + '", "ParentImage": "C:\\\\Zoom.exe"}\n')


GOOD = _event_line("cmd.exe")
LONE = _event_line("cmd\\ud800.exe")
PAIR = _event_line("cmd\\ud83d\\ude00.exe")

# Duplicate keys and the non-JSON constants NaN / Infinity: Python's json reads them (the last
# duplicate wins; NaN becomes a float), Elasticsearch refuses the whole document (duplicate
# keys since 6.0; RFC 8259 has no NaN), so a proof on such an event would be a proof on an
# event no Elastic index holds. Every reader refuses them with the file and line.
_DUPLICATE = ('{"EventID": 1, "Channel": "' + SYSMON + '", "Image": "C:\\\\x\\\\cmd.exe", '
              '"ParentImage": "C:\\\\Zoom.exe", "Image": "C:\\\\x\\\\calc.exe"}\n')
_NESTED_DUPLICATE = '{"EventID": 1, "winlog": {"a": 1, "b": {"c": 1, "c": 2}}}\n'


@pytest.mark.parametrize(("line", "words"), [
    (LONE, "a string holds the escape of a lone UTF-16 surrogate (U+D800)"),
    (_DUPLICATE, "the key 'Image' appears twice in one object"),
])
@pytest.mark.parametrize("command", ["check", "backtest"])
def test_an_undecodable_event_is_a_positioned_error(
    tmp_path: Path, command: str, line: str, words: str
) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text(GOOD + line, encoding="utf-8")
    extra = ["--workers", "1", "--no-cache"] if command == "backtest" else []
    result = CliRunner().invoke(main, [command, str(ZOOM), "--events", str(events), "-t", "eql",
                                       *extra])
    assert result.exit_code == 2, result.output
    assert "internal error" not in result.output
    assert f"{events}:2: {words}" in result.output


def test_a_surrogate_pair_is_one_character_and_reads(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text(PAIR, encoding="utf-8")
    (event,) = read_jsonl(events)
    assert event.fields["Image"] == "C:\\x\\cmd\U0001F600.exe"


@pytest.mark.parametrize("text", [
    LONE,
    "[" + LONE.strip() + "]",  # SigmaHQ regression JSON: one array of objects
    '{"a": {"\\udfff": 1}}\n',  # in a key
])
def test_every_reader_refuses_a_lone_surrogate(tmp_path: Path, text: str) -> None:
    path = tmp_path / "e.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConverterError, match="lone UTF-16 surrogate"):
        list(iter_events(path))


@pytest.mark.parametrize(("spec", "words"), [
    ({"type": "keyword", "fields": [1]}, "multi-fields ('fields') of 'process.name' must be"),
    ({"type": "keyword", "fields": {"c": "keyword"}}, "the spec of field 'process.name.c'"),
    ({"type": "keyword", "ignore_above": -5}, "ignore_above of 'process.name' must be"),
    ({"type": "keyword", "ignore_above": True}, "ignore_above of 'process.name' must be"),
    ({"type": "keyword", "normalizer": 5}, "normalizer of 'process.name' must be"),
])
def test_a_malformed_field_spec_in_a_mapping_is_an_error_naming_it(
    tmp_path: Path, spec: dict[str, object], words: str
) -> None:
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"idx": {"mappings": {"properties": {"process": {
        "properties": {"name": spec}}}}}}), encoding="utf-8")
    for command in ("convert", "check"):
        result = CliRunner().invoke(main, [command, str(ZOOM), "-t", "kql", "--mapping",
                                           str(mapping)])
        assert result.exit_code == 2, result.output
        assert "internal error" not in result.output
        assert f"sigport: error: {mapping}: unusable index mapping" in result.output
        assert words in result.output, result.output


def test_an_event_with_nested_arrays_is_rendered_flat_as_the_reference_reads_it(
    tmp_path: Path
) -> None:
    # The renderer wrote a nested list's Python repr ("Zoom.exe']") as the value: every target
    # behind a value function "differed" from the reference, which flattens the lists.
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps({
        "EventID": 1, "Channel": SYSMON, "Image": [["C:\\x\\cmd.exe"]],
        "ParentImage": [[["C:\\Zoom.exe"]], "C:\\y\\other.exe"],
    }) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(ZOOM), "--events", str(events), "-t",
                                       "eql,kusto,splunk", "--format", "json"])
    (rule,) = json.loads(result.stdout)["rules"]
    for name, target in rule["targets"].items():
        assert target["equivalent"] is True, (name, target["reason"])




@pytest.mark.parametrize(("line", "words"), [
    (_DUPLICATE, "the key 'Image' appears twice in one object"),
    (_NESTED_DUPLICATE, "the key 'c' appears twice in one object"),
    ('{"EventID": 1, "Hashes": NaN}\n', "NaN is not a JSON value"),
    ('{"EventID": 1, "Size": [1, -Infinity]}\n', "-Infinity is not a JSON value"),
    ('{"EventID": 1, "Size": Infinity}\n', "Infinity is not a JSON value"),
    # Python reads 1e400 as infinity (text "inf"); a keyword field and Splunk's _raw keep 1e400
    ('{"EventID": 1, "Size": 1e400}\n', "the number 1e400 is past a double's range"),
    ('{"EventID": 1, "Size": [1, -2.5E+999]}\n', "the number -2.5E+999 is past"),
])
@pytest.mark.parametrize("layout", ["jsonl", "array", "pretty"])
def test_duplicate_keys_and_nan_are_refused_by_every_reader(
    tmp_path: Path, line: str, words: str, layout: str
) -> None:
    text = {"jsonl": GOOD + line,
            "array": "[" + GOOD.strip() + ",\n" + line.strip() + "]",
            "pretty": "\n" + line.strip().replace(", ", ",\n  ")}[layout]
    path = tmp_path / ("e.jsonl" if layout == "jsonl" else "e.json")
    path.write_text(text, encoding="utf-8")
    readers = [lambda: list(iter_events(path))]
    if layout == "jsonl":
        readers.append(lambda: read_jsonl(path))
    for read in readers:
        with pytest.raises(ConverterError) as caught:
            read()
        assert words in str(caught.value)
        assert caught.value.one_line().startswith(f"{path}:2"), caught.value.one_line()


def test_equal_keys_in_different_objects_and_nan_in_strings_still_read(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text('{"a": {"x": 1}, "b": {"x": 2}, "c": "NaN", "d": "Infinity", "e": "1e400", '
                    '"f": 1.7976931348623157e308}\n', encoding="utf-8")
    (event,) = iter_events(path)
    assert event["c"] == "NaN" and event["d"] == "Infinity" and event["e"] == "1e400"
    assert event["f"] == 1.7976931348623157e308  # the largest double is in range


def test_an_overflowing_number_proves_no_query(tmp_path: Path) -> None:
    # Before: `eventType: 'inf'` was "equivalent" on every target on {"eventType": 1e400}, the
    # reference and each interpreter reading Python's infinity, no store its text "1e400".
    rule = tmp_path / "r.yml"
    rule.write_text("title: t\nid: 2da54a07-d6ae-4cae-bfc2-47155b5b46c1\n"
                    "logsource: {product: okta, service: okta}\n"
                    "detection:\n  sel:\n    eventType: 'inf'\n  condition: sel\n", encoding="utf-8")
    events = tmp_path / "e.jsonl"
    events.write_text('{"Channel": "okta/okta", "eventType": 1e400}\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(rule), "--events", str(events), "-t", "splunk"])
    assert result.exit_code == 2, result.output
    assert "e.jsonl:1: the number 1e400 is past a double's range" in result.output


@pytest.mark.parametrize(("event", "path"), [
    ({"EventID": 1, "a": {"b": "x"}, "a.b": "y"}, "a.b"),
    ({"EventID": 1, "a.b": {"c": "y"}, "a": {"b": {"c": "x"}}}, "a.b.c"),
    ({"EventID": 1, "a": [{"b": "x"}], "a.b": ["y"]}, "a.b"),
    ({"EventID": 1, "x": {"a": {"b.c": 1, "b": {"c": 2}}}}, "x.a.b.c"),
])
def test_a_field_written_both_dotted_and_nested_is_refused(
    tmp_path: Path, event: dict[str, object], path: str
) -> None:
    # Elasticsearch indexes both spellings into one field (a.b = [x, y]); the reference and the
    # interpreters read the dotted key alone, so a proof on such an event would hold for an event
    # no index stores that way.
    events = tmp_path / "e.jsonl"
    events.write_text(json.dumps({"EventID": 1}) + "\n" + json.dumps(event) + "\n",
                      encoding="utf-8")
    with pytest.raises(ConverterError) as caught:
        list(iter_events(events))
    assert caught.value.one_line().startswith(f"{events}:2: the field {path!r} is written both")


def test_arrays_of_objects_and_distinct_dotted_keys_still_read(tmp_path: Path) -> None:
    events = tmp_path / "e.jsonl"
    event = {"EventID": 1, "a": [{"b": 1}, {"b": 2}], "c.d": 1, "c": {"e": 2}, "f.g": {"h": 3}}
    events.write_text(json.dumps(event) + "\n", encoding="utf-8")
    assert list(iter_events(events)) == [event]


@pytest.mark.parametrize("parameter", [
    {"null_value": "NULL"}, {"index": False}, {"split_queries_on_whitespace": True},
])
def test_a_mapping_parameter_no_interpreter_models_leaves_the_field_not_checked(
    tmp_path: Path, parameter: dict[str, object]
) -> None:
    # null_value indexes a JSON null as "NULL" (exists and term queries match it), index: false
    # makes the field unsearchable: the interpreters read the field as if neither were set, so
    # a user's --mapping with them got "equivalent" where Elasticsearch differs.
    rule = tmp_path / "r.yml"
    rule.write_text("title: t\nlogsource: {product: windows, category: process_creation}\n"
                    "detection: {sel: {CommandLine: 'NULL'}, condition: sel}\n", encoding="utf-8")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"idx": {"mappings": {"properties": {"process": {
        "properties": {"command_line": {"type": "keyword", **parameter}}}}}}}), encoding="utf-8")
    result = CliRunner().invoke(main, ["check", str(rule), "--generate", "-t", "eql,lucene,esql",
                                       "--mapping", str(mapping), "--format", "json"])
    (checked,) = json.loads(result.stdout)["rules"]
    for name, target in checked["targets"].items():
        assert target["equivalent"] is None, (name, target["reason"])
        assert f"sets {next(iter(parameter))}" in target["reason"], (name, target["reason"])


@pytest.mark.parametrize("parameter", [
    {"null_value": "NULL"}, {"index": False}, {"split_queries_on_whitespace": True},
])
@pytest.mark.parametrize("detection", [
    "{sel: {CommandLine: 'NULL'}, condition: sel}",
    "{sel: {CommandLine: ['a', 'b*']}, condition: sel}",
    "{sel: {CommandLine|re: 'x.*y'}, condition: sel}",
    "{sel: {CommandLine: null}, condition: sel}",
])
def test_convert_declares_a_mapping_parameter_no_interpreter_models(
    tmp_path: Path, parameter: dict[str, object], detection: str
) -> None:
    # check says "not checked" for such a field (test above); convert was silent, so the query
    # read as exact. It now warns, naming the field and the parameter, on every Elastic target.
    rule = tmp_path / "r.yml"
    rule.write_text("title: t\nlogsource: {product: windows, category: process_creation}\n"
                    f"detection: {detection}\n", encoding="utf-8")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"idx": {"mappings": {"properties": {"process": {
        "properties": {"command_line": {"type": "keyword", **parameter}}}}}}}), encoding="utf-8")
    for target in ("eql", "kql", "kql-es", "lucene", "esql"):
        result = CliRunner().invoke(main, ["convert", str(rule), "-t", target, "--mapping",
                                           str(mapping), "--verbose"])
        if f"{target}: unsupported" in result.output:
            continue  # KQL has no regex: nothing converted, nothing to declare
        words = f"field process.command_line sets {next(iter(parameter))}"
        assert words in result.output, (target, result.output)


def test_a_number_keeps_the_spelling_the_event_wrote(tmp_path: Path) -> None:
    # A rule's string test reads a number's text (reference semantics "numbers"); a keyword field
    # and Splunk's _raw keep the event's spelling. Before: Python's text, so `eventType:
    # '100000.0'` was "equivalent" on every target on {"eventType": 1E5}, which no store reads
    # as 100000.0, and `eventType: '1e5'` never matched it.
    import pickle

    path = tmp_path / "e.jsonl"
    path.write_text('{"a": 1E5, "b": 1.5, "c": 1.50, "d": [2e-7, -0.0], "e": 7}\n', encoding="utf-8")
    (event,) = iter_events(path)
    assert [str(event[k]) for k in "abc"] == ["1E5", "1.5", "1.50"]
    assert [str(v) for v in event["d"]] == ["2e-7", "-0.0"] and event["e"] == 7
    assert event["a"] == 100000 and pickle.loads(pickle.dumps(event["a"])).text == "1E5"
    rule = tmp_path / "r.yml"
    events = tmp_path / "o.jsonl"
    events.write_text('{"Channel": "okta/okta", "eventType": 1E5}\n'
                      '{"Channel": "okta/okta", "eventType": "100000.0"}\n', encoding="utf-8")
    for value, matched in (("100000.0", [1]), ("1e5", [0])):
        rule.write_text("title: t\nid: 2da54a07-d6ae-4cae-bfc2-47155b5b46c2\n"
                        "logsource: {product: okta, service: okta}\n"
                        f"detection:\n  sel:\n    eventType: '{value}'\n  condition: sel\n",
                        encoding="utf-8")
        result = CliRunner().invoke(main, ["check", str(rule), "--events", str(events), "-t",
                                           "splunk,eql", "--format", "json"])
        (checked,) = json.loads(result.stdout)["rules"]
        assert checked["reference"]["matched"] == matched, value
        assert checked["targets"]["splunk"]["matched"] == matched, value


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
@pytest.mark.parametrize("lines", [1, 2])
@pytest.mark.parametrize("command", ["check", "backtest"])
def test_an_events_file_in_utf16_or_utf32_is_refused_by_every_reader(
    tmp_path: Path, command: str, lines: int, encoding: str
) -> None:
    """Events are UTF-8 (JSON lines, RFC 8259 section 8.1): ``check`` refused a UTF-16 file while
    ``backtest`` proved on it (its reader took ``json.loads``'s detection of UTF-16/32 on bytes),
    and a second line of it was "not valid JSON" rather than not UTF-8."""
    events = tmp_path / "events.jsonl"
    events.write_bytes((GOOD * lines).encode(encoding))
    extra = ["--workers", "1", "--no-cache"] if command == "backtest" else []
    result = CliRunner().invoke(main, [command, str(ZOOM), "--events", str(events), "-t", "eql",
                                       *extra])
    assert result.exit_code == 2, result.output
    assert "internal error" not in result.output
    assert f"{events}:1: " in result.output and "not UTF-8" in result.output, result.output
    with pytest.raises(ConverterError, match="not UTF-8"):
        list(iter_events(events))


def test_a_utf8_bom_on_the_first_line_still_reads(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"\xef\xbb\xbf" + (GOOD * 2).encode("utf-8"))
    assert len(list(iter_events(events))) == 2
    assert len(read_jsonl(events)) == 2
