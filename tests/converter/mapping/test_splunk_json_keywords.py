"""Keywords on JSON records keyed by the Sigma names (``splunk-zeek.yml``, state ``json_record``).

Splunk keeps a Zeek JSON log line as ``_raw``; a Sigma keyword means "some value contains it".
The query reads the object from its start over whole strings and finds the keyword inside a
string no ``:`` follows (``backends/splunk/backend_text_record.py``); the renderer writes the
event as that object (``converter/events/json_line.py``). Checked here on hostile values and
keywords, and on a line written by another encoder (raw UTF-8, no ``\\u`` escapes).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backends import TARGETS
from backends.query.evaluate import matches
from converter.checking.checker import Checker
from converter.events.render import SampleEvent
from converter.generate.generator import generate_events
from helpers import load_one, to_query

CORPUS_RULES = Path(__file__).resolve().parents[3] / "../shared/corpus/sigmahq/rules/network/zeek"


def zeek_rule(detection: str) -> str:
    return ("title: t\nid: 0e5b1c4e-0000-4000-8000-000000000014\n"
            "logsource: {product: zeek, service: smb_files}\ndetection:\n" + detection)


HOSTILE = [
    # a key name, the object's punctuation (outside every string) and a value's text
    "    keywords: ['path', 'name', ':', ',', 'samr']\n    condition: keywords\n",
    # wildcards stay inside one string; case partners (the Kelvin sign) escaped or not
    "    keywords: ['sam*pc', 'KELVIN', 'nsamr']\n    condition: keywords\n",
    # all of several, a negated one, a cased one
    "    a:\n        '|all': ['IPC', 'samr']\n    b: ['lsarpc']\n"
    "    c:\n        '|cased': ['Srv']\n    condition: (a and not b) or c\n",
]
VALUES = ["samr", "SAMR", "x\\samr", 'a"samr', "\nsamr", "path", "name", "lsarpc", "sam lsarpc",
          "\u212aelvin", "kelvin", "Srv", "srv", "\\\\*\\IPC$", "IPC samr", "nsamr", "a:b", "", "a,b"]


@pytest.mark.parametrize("detection", HOSTILE)
def test_hostile_keyword_rules_are_proven(detection: str) -> None:
    loaded = load_one(zeek_rule(detection))
    events = generate_events(loaded.rule)
    for i, value in enumerate(VALUES):
        other = VALUES[(i + 1) % len(VALUES)]
        events += [
            SampleEvent({"Channel": "zeek/smb_files", "name": value}),
            SampleEvent({"Channel": "zeek/smb_files", "path": other, "name": value}),
            SampleEvent({"Channel": "zeek/smb_files", value or "k": other, "size": 7}),
            SampleEvent({"Channel": "zeek/smb_files", "times": [value, other], "ok": True}),
        ]
    result = Checker(["splunk"]).check(loaded, events).targets["splunk"]
    assert result.equivalent, (result.reason, result.disagreements[:2])


@pytest.mark.parametrize("keyword,expected", [
    ("samr", True), ("SAMR", True), ("kelvin", True), ("path", False), ("name", False),
    ("7", None), ("nsamr", False), ("x\\samr", None),
])
def test_query_on_a_line_with_raw_utf8(keyword: str, expected: bool | None) -> None:
    # Zeek writes valid UTF-8 as it is: the Kelvin sign unescaped, a newline escaped.
    line = json.dumps({"path": "\\\\PC\\IPC$", "name": "\u212aelvin\nsamr", "size": 7},
                      ensure_ascii=False)
    text = zeek_rule(f"    keywords: [{keyword!r}]\n    condition: keywords\n")
    if expected is None:
        reason = Checker(["splunk"]).check(load_one(text), []).targets["splunk"].reason or ""
        assert reason.startswith("not converted"), reason
        return
    parse = TARGETS["splunk"].parse_function()
    assert parse is not None
    query = parse(to_query("splunk", text, None))
    assert matches(query, {"sourcetype": "bro:smb_files:json", "_raw": line}) is expected


@pytest.mark.parametrize("keyword,why", [
    ("a/b", "escape"), ('a"b', "escape"), ("<x>", "escape"), ("s?mr", "'?'"),
    ("123", "number"), ("true", "boolean"),
])
def test_keywords_without_an_exact_form_on_json_are_refused(keyword: str, why: str) -> None:
    text = zeek_rule(f"    keywords: [{keyword!r}]\n    condition: keywords\n")
    reason = Checker(["splunk"]).check(load_one(text), []).targets["splunk"].reason or ""
    assert reason.startswith("not converted") and why in reason, reason


@pytest.mark.skipif(not CORPUS_RULES.is_dir(), reason="../shared/corpus is absent")
def test_sigmahq_zeek_keyword_rule_is_proven() -> None:
    name = "zeek_smb_converted_win_lm_namedpipe.yml"
    loaded = load_one((CORPUS_RULES / name).read_text("utf-8"), name)
    result = Checker(["splunk"]).check(loaded, generate_events(loaded.rule)).targets["splunk"]
    assert result.equivalent, result.reason
