"""Generated events hold what the data source writes: an address in a field that holds only
addresses (Sysmon's DestinationIp, ``to_ip`` canonical), POSIX paths in a macOS record."""

from __future__ import annotations

import ipaddress

import pytest

from converter.checking.checker import Checker
from converter.generate.generator import generate_events
from helpers import load_one, rule_text


def _is_address(value: object) -> bool:
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(("key", "value"), [("DestinationIp|endswith", ""),
                                            ("DestinationIp|startswith", "10."),
                                            ("DestinationIp|contains", "0")])
def test_an_address_field_gets_an_address_where_the_rule_lets_it(key: str, value: str) -> None:
    """``endswith: ''`` holds on any text: a filler such as " 'q' " matched the rule, but
    Sysmon never writes it, so no matching event could be rendered ("not proven")."""
    rule = load_one(rule_text({"sel": {key: value}, "condition": "sel"}, "network_connection"))
    events = generate_events(rule.rule)
    # The positives themselves (the probes built on them, a long value past every field limit,
    # a trailing line ending, are deliberately values of no record).
    matching = [e for e in events if e.expect and e.note.count(": ") == 1]
    assert matching and all(_is_address(e.fields["DestinationIp"]) for e in matching), [
        e.fields.get("DestinationIp") for e in matching]


def test_any_address_rule_is_proven_on_eql() -> None:
    rule = load_one(rule_text({"sel": {"DestinationIp|endswith": "", "Image|endswith": "\\x.exe"},
                               "condition": "sel"}, "network_connection"))
    outcome = Checker(["eql"]).check(rule, generate_events(rule.rule)).targets["eql"]
    assert outcome.equivalent is True, outcome.reason


def test_macos_companions_are_posix_paths() -> None:
    rule = load_one(rule_text({"sel": {"CommandLine|contains": " -e "}, "condition": "sel"},
                              "process_creation", "macos"))
    for event in generate_events(rule.rule):
        for name in ("Image", "ParentImage", "CurrentDirectory"):
            value = event.fields.get(name)
            assert value is None or str(value).startswith("/"), (name, value)
