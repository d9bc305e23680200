"""Registry rules on Elastic Defend: ``check`` renders each event in every hive spelling Defend
writes (``registry_hive``), so a query that accepts only one spelling is caught; Defend's
registry events are value sets only (Sysmon 13), and the generator makes those."""

from __future__ import annotations

from typing import Any

import pytest

from converter.checking.checker import Checker
from converter.conversion.convert import Converter
from converter.events.render import EventRenderer, SampleEvent
from converter.generate.generator import generate_events
from converter.mapping.loader import load_table
from converter.rules.load import load_text

RULE = """
title: run key
id: 7d1f0c2e-0000-4000-8000-0000000000{n}
status: test
logsource: {{category: {category}, product: windows}}
detection:
  sel:
    {detection}
  condition: sel
level: low
"""
SYSMON = "Microsoft-Windows-Sysmon/Operational"


def _loaded(detection: str, category: str = "registry_set", n: int = 1) -> Any:
    (loaded,) = load_text(RULE.format(n=f"{n:02d}", category=category, detection=detection),
                          "reg.yml")
    return loaded


def _events(*paths: str) -> list[SampleEvent]:
    return [SampleEvent({"EventID": 13, "Channel": SYSMON, "TargetObject": p}) for p in paths]


def test_every_spelling_is_rendered() -> None:
    renderer = EventRenderer(load_table("ecs-windows"), "defend")
    (sample,) = _events("HKU\\S-1-5-21-1\\Environment\\windir")
    paths = [e["registry.path"] for e in renderer.render_sample_all(sample)]
    assert paths == ["HKEY_USERS\\S-1-5-21-1\\Environment\\windir",
                     "\\REGISTRY\\USER\\S-1-5-21-1\\Environment\\windir"]
    # The single rendering other callers read holds the primary spelling.
    primary = renderer.render_sample(sample)
    assert primary is not None and primary["registry.path"] == paths[0]
    other = renderer.render({"EventID": 13, "Channel": SYSMON, "TargetObject": "HKLM\\x"})
    assert other == {**primary, "registry.path": "HKLM\\x"}


@pytest.mark.parametrize("target", ["eql", "lucene"])
def test_a_hive_test_is_proven_in_both_spellings(target: str) -> None:
    # A whole value: no longer value can match it, so the keyword length limit decides nothing.
    loaded = _loaded("TargetObject: 'HKLM\\System\\CurrentControlSet\\Services\\x\\ImagePath'")
    events = _events("HKLM\\System\\CurrentControlSet\\Services\\x\\ImagePath",
                     "HKU\\System\\CurrentControlSet\\Services\\x\\ImagePath",
                     "HKLM\\System\\CurrentControlSet\\Services\\x\\ImagePat")
    events[0].expect, events[1].expect, events[2].expect = True, False, False
    result = Checker([target], data_source="defend").check(loaded, events).targets[target]
    assert result.equivalent is True, result.reason
    assert result.matched == [0]


def test_a_query_accepting_one_spelling_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    import converter.mapping.functions.registry_hive as registry_hive

    real = registry_hive.hive_globs

    def primary_only(*args: Any, **kwargs: Any) -> Any:
        # What a plain rename of Sysmon's hive name would query: one spelling per hive.
        return [(hive, glob) for hive, glob in real(*args, **kwargs) if glob[:1] != ["\\"]]

    monkeypatch.setattr(registry_hive, "hive_globs", primary_only)
    loaded = _loaded("TargetObject: 'HKLM\\Software\\evil'", n=2)
    result = Checker(["eql"], data_source="defend").check(
        loaded, _events("HKLM\\Software\\evil")).targets["eql"]
    assert result.equivalent is False
    assert [d.event for d in result.disagreements] == [0]
    assert "REGISTRY" in result.disagreements[0].why


def test_undocumented_hive_is_refused_with_the_reason() -> None:
    conversion = Converter("eql", options={"data_source": "defend"}).convert(
        _loaded("TargetObject|startswith: 'HKCR\\CLSID\\'", n=3))
    assert conversion.status != "converted"
    assert "HKCR" in (conversion.reason or "") and "Defend" in (conversion.reason or "")


def test_key_creation_is_not_covered_on_defend() -> None:
    conversion = Converter("eql", options={"data_source": "defend"}).convert(
        _loaded("TargetObject|contains: '\\Run\\'", category="registry_delete", n=4))
    assert "records no registry key creation or deletion" in (conversion.reason or "")
    windows = Converter("eql", options={"data_source": "windows"}).convert(
        _loaded("TargetObject|contains: '\\Run\\'", category="registry_delete", n=5))
    assert windows.status == "converted"


def test_registry_event_rules_get_value_set_events_on_defend() -> None:
    loaded = _loaded("TargetObject|endswith: '\\Environment\\windir'", category="registry_event",
                     n=6)
    checker = Checker(["eql"], data_source="defend")
    events = generate_events(loaded.rule, carries=checker.carries)
    assert events and {e.fields["EventID"] for e in events if "EventID" in e.fields} >= {13}
    assert 12 not in {e.fields.get("EventID") for e in events}
    # Without a carrier constraint the logsource's main event (Sysmon 12) comes first.
    assert generate_events(loaded.rule)[0].fields["EventID"] == 12
    result = checker.check(loaded, events).targets["eql"]
    assert result.equivalent is not None or "ignore_above" in (result.reason or ""), result.reason
    assert not result.disagreements or all("not indexed" in d.why for d in result.disagreements)
