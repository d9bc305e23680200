"""Tests of the long positives (``converter/generate/hostile.py`` ``long_positives``): the
generated events whose value of one field is past every field limit while every test of the
plan on that field still holds, so that a field's ``ignore_above`` decides the whole query (not
one leaf the rest of the query masks), for positives and for near misses that trigger a filter.
"""

from __future__ import annotations

from test_generate import assert_reference_verdicts, rule_of

from converter.generate.generator import DEFAULT_COUNT, generate_events
from converter.generate.hostile import long_positives, long_value_length
from converter.generate.plan import MULTI, Glob, Lit, Rx

LONG = long_value_length()


def _long(events: list, field: str) -> list:
    return [e for e in events if "long positive" in e.note
            and len(str(e.fields.get(field, ""))) > LONG]


def test_contains_all_keeps_every_value_in_the_long_value() -> None:
    """The per-literal long value holds one of the ``|all`` values; this one holds both."""
    rule = rule_of("  sel:\n    CommandLine|contains|all: ['--remote-debugging-', '--headless']\n"
                   "  condition: sel\n")
    events = generate_events(rule)
    (long,) = _long(events, "CommandLine")
    value = long.fields["CommandLine"].lower()
    assert "--remote-debugging-" in value and "--headless" in value
    assert long.expect is True
    assert_reference_verdicts(rule, events)


def test_one_long_positive_per_value_of_a_list_on_top_of_the_count() -> None:
    """A list of 12 ``endswith`` values: one long positive for each, beyond the near misses of
    the first plans, and they do not displace the other events (they come on top of the count)."""
    names = [f"tool{i}.exe" for i in range(12)]
    detection = "  sel:\n    Image|endswith:\n" + "".join(f"      - '\\{n}'\n" for n in names)
    rule = rule_of(detection + "    CommandLine|contains: ' -x '\n  condition: sel\n")
    events = generate_events(rule)
    images = _long(events, "Image")
    assert sorted(e.fields["Image"].rsplit("\\", 1)[1] for e in images) == sorted(names)
    assert all(e.expect is True for e in images)
    # The command line's test is the same in every plan: one long positive for it.
    assert len(_long(events, "CommandLine")) == 1
    others = [e for e in events if "long positive" not in e.note]
    assert len(others) == DEFAULT_COUNT
    assert_reference_verdicts(rule, events)


def test_a_triggered_filter_on_the_same_field_gets_a_long_value() -> None:
    """``not filter`` on the field itself: a long value that the filter matches is a near miss
    Sigma filters out, and a target that does not index it lets through."""
    rule = rule_of("  sel:\n    Image|endswith: '\\rundll32.exe'\n"
                   "  filter:\n    Image|contains: '\\System32\\'\n"
                   "  condition: sel and not filter\n")
    events = generate_events(rule)
    long = _long(events, "Image")
    kept = [e for e in long if e.expect]
    filtered = [e for e in long if not e.expect]
    assert kept and "\\system32\\" not in kept[0].fields["Image"].lower()
    assert filtered and "\\system32\\" in filtered[0].fields["Image"].lower()
    assert filtered[0].note.startswith("near miss")
    assert_reference_verdicts(rule, events)


def test_no_long_value_where_no_padding_keeps_the_tests() -> None:
    """Only exact values, a number, a closed vocabulary or a structured field: none."""
    plan = (Lit("Image", Glob(("C:\\a.exe",)), True),)
    assert list(long_positives(plan, {"Image": "C:\\a.exe"}, 50)) == []
    plan = (Lit("IntegrityLevel", Glob((MULTI, "igh")), True),)
    assert list(long_positives(plan, {"IntegrityLevel": "High"}, 50)) == []
    plan = (Lit("Hashes", Glob((MULTI, "IMPHASH=ABC", MULTI)), True),)
    assert list(long_positives(plan, {"Hashes": "IMPHASH=ABC"}, 50)) == []


def test_padding_goes_where_the_anchors_allow() -> None:
    """Start and end anchors both kept: the padding goes after a separator in the middle, and
    a negated test on the field (one the first padding character would make true) is avoided."""
    plan = (Lit("Image", Glob(("C:\\", MULTI, "\\cmd.exe")), True),
            Lit("Image", Glob((MULTI, "xxxx", MULTI)), False))
    ((field, value, _),) = list(long_positives(plan, {"Image": "C:\\Windows\\cmd.exe"}, 50))
    assert field == "Image" and value.startswith("C:\\") and value.endswith("\\cmd.exe")
    assert len(value) > 50 and "xxxx" not in value
    # A regex searched anywhere in the value.
    plan = (Lit("CommandLine", Rx("-enc [a-z]+$", 0), True),)
    ((_, value, _),) = list(long_positives(plan, {"CommandLine": "ps -enc abc"}, 50))
    assert value.endswith("-enc abc") and len(value) > 50
