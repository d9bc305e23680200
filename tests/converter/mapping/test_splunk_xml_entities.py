"""Splunk Windows add-ons extract XML event-log values with their entities still encoded.

The Splunk Add-on for Sysmon extracts every ``<Data Name='X'>v</Data>`` of an ``XmlWinEventLog``
record with a search-time regex (``[sysmon-data]``: ``REGEX = <Data Name='(.*?)'>(.*?)</Data>``,
``FORMAT = $1::$2``), and the Windows add-on reads its fields off ``EventData_Xml`` the same way.
A regex extraction copies the text of ``_raw`` as it is, and Windows writes ``&``, ``<`` and ``>``
of a value as ``&amp;``, ``&lt;`` and ``&gt;`` in the XML (security_content
``data_sources/sysmon_eventid_1.yml``: ``... %%temp%%\\sam &amp; reg save ...``). So a command
line ``a & b`` is the field value ``a &amp; b`` in Splunk: a query must test the encoded text,
and ``check`` must render the event as the add-on extracts it (semantics entry
``xmlwineventlog_values_entity_encoded``).
"""

from __future__ import annotations

import pytest

from converter.checking.checker import Checker
from converter.events.render import EventRenderer, SampleEvent
from converter.mapping.loader import load_table
from helpers import convert, load_one

# A process creation as Sysmon writes it: with the full image path (splunk-cim renders no event
# without one: cim_full_path).
SYSMON_1 = {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
            "Image": "C:\\Windows\\System32\\cmd.exe"}


def rule_text(detection: str, logsource: str = "{product: windows, category: process_creation}") -> str:
    """A rule with one selection (``detection`` is its indented body)."""
    return (
        "title: xml entities\nid: 0d7f1c2e-1111-4222-8333-944455556666\n"
        f"logsource: {logsource}\n"
        f"detection:\n    selection:\n{detection}\n    condition: selection\n"
    )


def check(text: str, target: str, events: list[tuple[str, bool]], field: str = "CommandLine",
          base: dict | None = None) -> object:
    """The check result of ``target`` on events whose ``field`` holds each value (expected verdict)."""
    samples = [SampleEvent({**(base or SYSMON_1), field: value}, expect=want) for value, want in events]
    return Checker([target]).check(load_one(text), samples).targets[target]


def test_the_sysmon_add_on_field_value_keeps_the_entities() -> None:
    event = {**SYSMON_1, "CommandLine": 'cmd /c "a & b" > out <in'}
    rendered = EventRenderer(load_table("splunk-sysmon")).render(event)
    assert rendered is not None
    assert rendered["CommandLine"] == 'cmd /c "a &amp; b" &gt; out &lt;in'
    assert "<Data Name=\"CommandLine\">cmd /c \"a &amp; b\" &gt; out &lt;in</Data>" in rendered["_raw"]


def test_the_windows_add_on_and_the_cim_fields_keep_the_entities_too() -> None:
    security = {"EventID": 4688, "Channel": "Security", "CommandLine": "a & b"}
    rendered = EventRenderer(load_table("splunk-sysmon")).render(
        {"EventID": 4625, "Channel": "Security", "TargetUserName": "a&b"}
    )
    assert rendered is not None and rendered["TargetUserName"] == "a&amp;b"
    application = EventRenderer(load_table("splunk-windows-channels")).render(
        {"EventID": 1000, "Channel": "Application", "AppName": "<x>"}
    )
    assert application is not None and application["AppName"] == "&lt;x&gt;"
    cim = EventRenderer(load_table("splunk-cim")).render({**SYSMON_1, "CommandLine": "a & b"})
    assert cim is not None and cim["process"] == "a &amp; b"
    raw_4688 = EventRenderer(load_table("splunk-sysmon")).render(security)
    assert raw_4688 is not None and raw_4688["CommandLine"] == "a &amp; b"


def test_a_value_with_an_ampersand_is_searched_encoded_and_proven() -> None:
    text = rule_text("        CommandLine|contains: ' & del '")
    query = "\n".join(convert("splunk", text).queries)
    assert 'CommandLine="* &amp; del *"' in query
    result = check(text, "splunk", [("x & del y", True), ("x &amp; del y", False), ("x del", False)])
    assert result.equivalent, result.reason


@pytest.mark.parametrize(
    "detection,events",
    [
        # ';' after a wildcard would also find the ';' that ends an entity.
        ("        CommandLine|contains: ';'", [("a & b", False), ("a;b", True), ("&;", True)]),
        ("        CommandLine|endswith: 'amp;'", [("x&", False), ("xamp;", True), ("x&amp;", True)]),
        ("        CommandLine|contains: 'lt;'", [("<", False), ("alt;", True)]),
        ("        CommandLine|contains: 'a'", [("&", False), ("<", False), ("ba", True)]),
        ("        CommandLine|contains|all: ['x', 'gt']", [("x>", False), ("xgt", True)]),
        # '?' is one character of the value, which the add-on writes as up to five.
        ("        CommandLine: 'a?b'", [("a&b", True), ("a<b", True), ("ab", False), ("a&&b", False)]),
        ("        CommandLine|cased: 'A?b'", [("A&b", True), ("a&b", False)]),
    ],
)
def test_a_pattern_that_could_match_inside_an_entity_is_tested_token_by_token(
    detection: str, events: list[tuple[str, bool]]
) -> None:
    result = check(rule_text(detection), "splunk", events)
    assert result.equivalent, result.reason


@pytest.mark.parametrize(
    "pattern,events",
    [
        ("amp", [("&", False), ("ramp", True)]),
        ("^a\\d+b$", [("a12b", True), ("a1&b", False)]),
        ("gt;x", [(">x", False), ("gt;x", True)]),
        ("a.b", [("a&b", True), ("a<b", True), ("a&&b", False), ("ab", False)]),
        ("a&b|<x>", [("a&b", True), ("<x>", True), ("a&amp;b", False)]),
        ("^a&+b$", [("a&&b", True), ("a&b", True), ("a&;b", False)]),
        ("^a\\&{2}b$", [("a&&b", True), ("a&b", False)]),
        ("a[^x]b", [("a<b", True), ("axb", False), ("a&amp;b", False)]),
        ("a[&x]b", [("a&b", True), ("axb", True), ("aab", False)]),
        ("a\\Wb", [("a>b", True), ("a b", True), ("a&gt;b", False)]),
        ("^[%-(]+$", [("&'", True), ("%", True), ("a", False), ("&amp;", False)]),
        ("a\\x26b", [("a&b", True), ("a&amp;b", False)]),
        ("(?i)(?:&|\\.)\\s*\\(", [("& (", True), (". (", True), ("amp; (", False)]),
    ],
)
def test_a_regex_is_translated_to_the_encoded_text_and_proven(pattern: str, events: list) -> None:
    text = rule_text(f"        CommandLine|re: '{pattern}'")
    result = check(text, "splunk", events)
    assert result.equivalent, result.reason


@pytest.mark.parametrize("pattern", ["(?<=;)x", "(?P<n>a)(?P=n)&", "(?x)a & b", "(?<!x)&"])
def test_a_regex_without_a_translation_is_declared_approximate(pattern: str) -> None:
    text = rule_text(f"        CommandLine|re: '{pattern}'")
    conversion = convert("splunk", text)
    assert conversion.status == "converted"
    assert any("&amp;" in w for w in conversion.warnings), conversion.warnings
    result = check(text, "splunk", [("a&b", True)])
    assert result.equivalent is not True


def test_cim_process_with_an_ampersand_is_proven() -> None:
    text = rule_text("        CommandLine|contains: '2>&1'")
    query = "\n".join(convert("splunk-cim", text).queries)
    assert "2&gt;&amp;1" in query
    result = check(text, "splunk-cim", [("cmd 2>&1", True), ("cmd 2&gt;&amp;1", False)])
    assert result.equivalent, result.reason


def test_a_security_channel_value_with_entities_is_proven() -> None:
    text = rule_text("        TargetUserName|contains: '<'", "{product: windows, service: security}")
    base = {"EventID": 4625, "Channel": "Security"}
    result = check(text, "splunk", [("a<b", True), ("a&lt;b", False), ("alt;", False)],
                   field="TargetUserName", base=base)
    assert result.equivalent, result.reason
