"""The tables' per-source pipeline rules: deleted values, per-source derived fields, prefixes.

* ``drop_values``: on ``windows``/``winlogbeat`` a test whose Sigma verdict on a value the
  shipper deletes differs from its verdict on a missing field is converted with a warning naming
  the value (so ``check`` never calls it equivalent); whether it warns is checked against the
  reference evaluator on those values.
* ``derived`` with ``sources``: ``ImageLoaded`` whole file names go to ``dll.name`` (Defend) or
  ``file.name`` (Sysmon pipelines), in queries and in rendered events.
* ``derived`` with ``field_prefix``: the CIM ``Filesystem.file_name``.
* network_connection rules convert and are proven on generated events for both kinds of source.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from sigma.collection import SigmaCollection

from converter.checking.checker import Checker
from converter.events.render import EventRenderer, SampleEvent
from converter.generate.generator import generate_events
from converter.mapping.loader import load_table
from converter.reference.evaluator import compile_rule
from converter.rules.load import load_text
from helpers import convert, proven_but_for_length_limits, rule_text

SYSMON = "Microsoft-Windows-Sysmon/Operational"
DROPPED = ("", "-", "{00000000-0000-0000-0000-000000000000}")


# --- drop_values -------------------------------------------------------------------------------

# One field, one test: the rule's verdict is the item's, so the reference decides the item.
ITEMS = [
    ("OriginalFileName", None),
    ("OriginalFileName", ""),
    ("OriginalFileName", "-"),
    ("OriginalFileName|exists", True),
    ("OriginalFileName|exists", False),
    ("CommandLine", "*"),
    ("CommandLine|contains", "-"),
    ("CommandLine|contains", " -"),
    ("CommandLine|endswith", ".exe"),
    ("CommandLine|startswith", "{"),
    ("CommandLine|re", "^$"),
    ("CommandLine|re", "^.+$"),
    ("CommandLine|neq", "-"),
    ("CommandLine|windash", "-x"),
    ("Image", ["", "C:\\x.exe"]),
    ("Image|endswith", ["\\a.exe", "-"]),
    ("ParentImage|contains|all", ["-", "0000"]),
    ("CurrentDirectory", "C:\\"),
]


@pytest.mark.parametrize(("key", "value"), ITEMS)
def test_dropped_values_warning_agrees_with_the_reference(key: str, value: Any) -> None:
    """Warned exactly when the reference tells a deleted value from a missing field."""
    text = rule_text({"sel": {key: value}, "condition": "sel"}, "process_creation")
    field = key.split("|")[0]
    rule = SigmaCollection.from_yaml(text).rules[0]
    reference = compile_rule(rule)
    base = {"Channel": SYSMON, "EventID": 1, "Image": "C:\\Windows\\x.exe"}
    base = {k: v for k, v in base.items() if k != field}
    missing = reference.detection_matches(base)
    differ = [d for d in DROPPED if reference.detection_matches({**base, field: d}) != missing]
    for source in ("windows", "winlogbeat"):
        conversion = convert("eql", text, source)
        assert conversion.status == "converted", (key, value, conversion.reason)
        dropped = [w for w in conversion.warnings if "deletes the values" in w]
        if differ:
            assert len(dropped) == 1, (key, value, conversion.warnings)
            assert field in dropped[0] and repr(differ[0]) in dropped[0]
        else:
            assert dropped == [], (key, value)
    defend = convert("eql", text, "defend")  # Defend keeps empty strings
    assert defend.status == "converted" and not [w for w in defend.warnings if "deletes" in w]


def test_vscode_tunnel_null_test_is_flagged_on_windows_data() -> None:
    """``OriginalFileName: null`` is false on Sysmon's "-" but the indexed event has no field."""
    text = rule_text({"sel": {"OriginalFileName": None, "CommandLine|endswith": ".exe tunnel"}, "condition": "sel"}, "process_creation")
    for target in ("eql", "lucene", "esql", "splunk"):
        conversion = convert(target, text, "windows")
        assert conversion.status == "converted", conversion.reason
        flagged = [w for w in conversion.warnings if "deletes the values" in w]
        if target == "splunk":  # the Splunk tables keep Sysmon's values as written
            assert flagged == []
            continue
        assert len(flagged) == 1, (target, conversion.warnings)
        assert "OriginalFileName" in flagged[0] and "'-'" in flagged[0]
        assert "false on ''" in flagged[0] and "true on a missing field" in flagged[0]


VSCODE_NULL = rule_text(
    {"sel": {"OriginalFileName": None, "CommandLine|endswith": ".exe tunnel"}, "condition": "sel"},
    "process_creation",
)


def _vscode_events(values: list[str | None]) -> list[SampleEvent]:
    """Process creations of ``code.exe tunnel`` with these OriginalFileName values (None: none)."""
    return [
        SampleEvent({"Channel": SYSMON, "EventID": 1, "CommandLine": "code.exe tunnel",
                     **({} if v is None else {"OriginalFileName": v})})
        for v in values
    ]


@pytest.mark.parametrize(("target", "source"), [("eql", "windows"), ("lucene", "winlogbeat"), ("kusto", "defender"),
                                                ("kusto", "sentinel-asim")])
def test_the_declared_difference_is_not_proven_never_differs(target: str, source: str) -> None:
    """On an event whose OriginalFileName is '', the warned query answers as for a missing one:
    the difference the emitter declared, which no query on that data avoids. ``check`` reports
    it "not proven" naming the event, neither "differs" nor "equivalent"."""
    (loaded,) = load_text(VSCODE_NULL, "inline.yml")
    events = _vscode_events([None, "Code.exe", ""])
    result = Checker([target], data_source=source).check(loaded, events).targets[target]
    assert result.disagreements == [] and result.equivalent is None, result.reason
    assert "deletes the values" in result.reason and "event 2 show" in result.reason
    agreeing = Checker([target], data_source=source).check(loaded, events[:2]).targets[target]
    assert agreeing.equivalent is None and "deletes the values" in agreeing.reason
    assert "show that difference" not in agreeing.reason


@pytest.mark.parametrize(
    ("query", "wrong"),
    [
        # Inverted: wrong on a kept value (its answer on the empty column, false, is that of
        # the '' event, which the data source cannot tell from the missing one: excused).
        ("isnotempty(ProcessVersionInfoOriginalFileName) and ProcessCommandLine endswith \".exe tunnel\"",
         [1]),
        # Right on missing and '', wrong on a kept value.
        ("ProcessCommandLine endswith \".exe tunnel\"", [1]),
    ],
)
def test_a_wrong_query_on_a_declared_field_still_differs(query: str, wrong: list[int]) -> None:
    """Only the declared difference is excused: a query that errs on an event the data source
    writes apart from every other (a kept value, or no twin the rule decides its way) differs."""
    from dataclasses import replace

    (loaded,) = load_text(VSCODE_NULL, "inline.yml")
    checker = Checker(["kusto"], data_source="defender")
    converter = checker.converters["kusto"]
    real = converter.convert(loaded)
    assert real.dropped == {"OriginalFileName": [""]}, real.dropped
    bad = replace(real, queries=[f"DeviceProcessEvents\n| where {query}"])
    converter.convert = lambda *args, **kwargs: bad  # type: ignore[method-assign]
    events = _vscode_events([None, "Code.exe", ""])
    result = checker.check(loaded, events).targets["kusto"]
    assert result.equivalent is False, result.reason
    assert [d.event for d in result.disagreements] == wrong


@pytest.mark.parametrize("source", ["defender", "sentinel", "sentinel-asim"])
@pytest.mark.parametrize(
    "item",
    [{"CommandLine": ""}, {"CommandLine": None}, {"CommandLine|exists": True},
     {"CommandLine|exists": False}, {"CommandLine": ["", "a"]}, {"CommandLine|contains": ["", "a"]}],
)
@pytest.mark.parametrize("negated", [False, True])
def test_kusto_empty_and_null_tests_are_never_proven_nor_differ(
    source: str, item: dict[str, Any], negated: bool
) -> None:
    """A Kusto string column reads '' where the value is missing: any test of '' or null is
    declared approximate and, on events with the value missing, '' and another, is reported
    "not proven", whichever way the query answers the empty column."""
    condition = "sel and not t" if negated else "sel and t"
    text = rule_text({"sel": {"Image|endswith": "\\x.exe"}, "t": item, "condition": condition},
                     "process_creation")
    (loaded,) = load_text(text, "inline.yml")
    kind = {"Channel": "Security", "EventID": 4688} if source == "sentinel" else {"Channel": SYSMON, "EventID": 1}
    events = [SampleEvent({**kind, "Image": "C:\\x.exe", **({} if v is None else {"CommandLine": v})})
              for v in (None, "", "a", "b")]
    result = Checker(["kusto"], data_source=source).check(loaded, events).targets["kusto"]
    assert result.disagreements == [] and result.equivalent is None, result.reason
    assert "deletes the values" in result.reason


def test_twins_swap_only_declared_missing_or_deleted_values() -> None:
    from converter.checking.dropped import twins

    dropped = {"A": ["", "-"], "B": [""]}
    got = list(twins({"A": "", "B": "x", "C": ""}, dropped))
    assert got == [{"B": "x", "C": ""}, {"A": "-", "B": "x", "C": ""}]
    assert list(twins({"A": "kept", "B": "x"}, dropped)) == []
    assert len(list(twins({}, dropped))) == 3 * 2 - 1


def two_detection_rule(selection: dict[str, Any], filters: dict[str, Any]) -> str:
    """``selection and not 1 of filter_*``, SigmaHQ's usual shape."""
    return yaml.safe_dump(
        {
            "title": "mapping pipeline test",
            "id": "5b0c1f4e-0d8f-4c59-9a51-0f1f4c6b2a11",
            "logsource": {"product": "windows", "category": "process_creation"},
            "detection": {"selection": selection, **filters,
                          "condition": "selection and not 1 of filter_*"},
        }
    )


@pytest.mark.parametrize(
    ("selection", "filters", "flagged"),
    [
        # The selection needs a CommandLine that is neither '' nor missing: the null filter
        # cannot change the verdict on an event whose CommandLine was deleted.
        ({"Image|endswith": "\\dllhost.exe", "CommandLine": ["dllhost.exe", "dllhost"]},
         {"filter_main_null": {"CommandLine": None}}, False),
        # Here it can: an event with CommandLine '' matches Sigma's rule, the missing one not.
        ({"Image|endswith": "\\dllhost.exe"}, {"filter_main_null": {"CommandLine": None}}, True),
        # Inside an OR with a test that '' does not decide, it can too.
        ({"Image|endswith": "\\dllhost.exe"},
         {"filter_a": {"CommandLine": None}, "filter_b": {"CommandLine|contains": "x"}}, True),
    ],
)
def test_dropped_value_flag_looks_at_the_whole_condition(
    selection: dict[str, Any], filters: dict[str, Any], flagged: bool
) -> None:
    text = two_detection_rule(selection, filters)
    conversion = convert("kusto", text, "defender")
    assert conversion.status == "converted", conversion.reason
    assert bool([w for w in conversion.warnings if "deletes the values" in w]) is flagged
    # The checker agrees: unflagged, the query is proven on the generated events (which hold
    # CommandLine '' where the rule tests it); flagged, it is never called equivalent.
    (loaded,) = load_text(text, "inline.yml")
    target = Checker(["kusto"], data_source="defender").check(
        loaded, generate_events(loaded.rule)).targets["kusto"]
    assert (target.equivalent is True) is (not flagged), target.reason


def test_system_section_fields_are_not_deleted() -> None:
    """``Provider_Name`` comes from <System>: a '-' there is indexed, so the test is kept."""
    text = yaml.safe_dump(
        {
            "title": "system",
            "logsource": {"product": "windows", "service": "system"},
            "detection": {"sel": {"Provider_Name|contains": "-", "EventID": 7045}, "condition": "sel"},
        }
    )
    assert convert("eql", text, "windows").status == "converted"
    renderer = EventRenderer(load_table("ecs-windows"), "windows")
    event = renderer.render({"Channel": "System", "EventID": 7045, "Provider_Name": "-", "ImagePath": "-"})
    assert event is not None
    assert event["winlog.provider_name"] == "-"
    assert "winlog.event_data.ImagePath" not in event


# --- derived: per data source and with a field prefix ------------------------------------------


@pytest.mark.parametrize(
    ("source", "field"), [("defend", "dll.name"), ("windows", "file.name"), ("winlogbeat", "file.name")]
)
def test_image_loaded_base_name_per_source(source: str, field: str) -> None:
    text = rule_text({"sel": {"ImageLoaded|endswith": "\\amsi.dll"}, "condition": "sel"}, "image_load")
    conversion = convert("eql", text, source)
    assert conversion.status == "converted", conversion.reason
    assert f'{field} regex "[aA][mM][sS][iIİ]\\\\.[dD][lL][lL]"' in conversion.queries[0]
    other = "file.name" if field == "dll.name" else "dll.name"
    assert other not in conversion.queries[0]
    renderer = EventRenderer(load_table("ecs-windows"), source)
    event = renderer.render(
        {"Channel": SYSMON, "EventID": 7, "ImageLoaded": "C:\\Windows\\System32\\amsi.dll"}
    )
    assert event is not None and event[field] == "amsi.dll" and other not in event


def test_cim_derived_target_takes_the_dataset_prefix() -> None:
    text = rule_text({"sel": {"TargetFilename|endswith": "\\bad.exe"}, "condition": "sel"}, "file_event")
    conversion = convert("splunk-cim", text)
    assert conversion.status == "converted", conversion.reason
    where = conversion.queries[0].split(" by ")[0]  # the BY fields list every dataset field
    assert 'Filesystem.file_name="bad.exe"' in where
    assert "Filesystem.file_path" not in where
    renderer = EventRenderer(load_table("splunk-cim"))
    event = renderer.render({"Channel": SYSMON, "EventID": 11, "TargetFilename": "C:\\t\\evil.exe"})
    assert event is not None and event["file_name"] == "evil.exe"


def test_derived_sources_are_declared_data_sources() -> None:
    for name in ("ecs-windows", "splunk-sysmon", "splunk-cim"):
        table = load_table(name)
        declared = set(table.options["data_source"]["choices"])
        for entry in table.logsources:
            for derived in (*entry.derived, *entry.render_derived):
                assert set(derived.sources) <= declared, (name, entry.id, derived)


# --- network_connection: converted and proven --------------------------------------------------

NETWORK = yaml.safe_dump(
    {
        "title": "network functions",
        "id": "0c6b8b6e-6f53-4d53-8b1e-8f6c0a9e2b11",
        "logsource": {"product": "windows", "category": "network_connection"},
        "detection": {
            "selection": {
                "Initiated": "true",
                "Image|endswith": "\\rundll32.exe",
                "SourceIsIpv6": "false",
            },
            "filter_local": {
                "DestinationIp|cidr": ["127.0.0.0/8", "10.0.0.0/8", "::1/128", "fe80::/10"]
            },
            "filter_loopback": {"DestinationIp": ["127.0.0.1", "0:0:0:0:0:0:0:1"]},
            "filter_prefix": {"DestinationIp|startswith": "192.168."},
            "condition": "selection and not 1 of filter_*",
        },
    }
)


@pytest.mark.parametrize("source", ["defend", "windows"])
def test_network_rule_is_proven_on_generated_events(source: str) -> None:
    (loaded,) = load_text(NETWORK, "network.yml")
    assert loaded.rule is not None
    events = generate_events(loaded.rule, seed=1)
    assert any(e.expect for e in events) and any(e.expect is False for e in events)
    result = Checker(["eql", "lucene"], data_source=source).check(loaded, events)
    for target in ("eql", "lucene"):
        outcome = result.targets[target]
        assert proven_but_for_length_limits(outcome), (
            target, outcome.reason, outcome.disagreements[:2]
        )


@pytest.mark.parametrize(("other", "security_ref"), [
    ("ParentImage", "lower('ParentProcessName')"),
    # 4688 has no OriginalFileName: the Security branch's comparison is false, not a test of a
    # field the record never holds under its Sysmon name.
    ("OriginalFileName", None),
])
def test_fieldref_names_the_variant_field_of_the_referenced_field(other: str,
                                                                   security_ref: str | None) -> None:
    """Splunk's Security 4688 branch renamed the tested field (Image -> NewProcessName) but not
    the one |fieldref names, so it compared NewProcessName with ParentImage, which 4688 never
    holds: the branch never matched (shown as 'differs' on the generated 4688 events)."""
    text = rule_text({"sel": {"Image|fieldref": other}, "condition": "sel"})
    query = convert("splunk", text).queries[0]
    assert ("lower('NewProcessName')" in query) is (security_ref is not None), query
    if security_ref is not None:
        assert f"lower('NewProcessName')={security_ref}" in query
    (loaded,) = load_text(text, "r.yml")
    events = generate_events(loaded.rule)
    result = Checker(["splunk"]).check(loaded, events)
    assert result.targets["splunk"].equivalent is True, result.targets["splunk"].reason
