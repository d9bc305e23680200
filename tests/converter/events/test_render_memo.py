"""The renderer's remembered routes and escapes give what scanning and escaping every time give.

``EventRenderer`` remembers, per value of the fields its entries' criteria name, which entry and
variant render an event, and ``raw_xml`` skips XML escaping on text with nothing to escape: both
are speed only. Generated events (``Channel`` in any case, ``EventID`` as number, text, list or
null, values with and without XML specials) are rendered twice by one renderer and once by a
fresh one, and compared with the entry scan and with ``xml.sax.saxutils`` itself.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings, strategies as st

from converter.events.record_xml import raw_xml, xml_escaped
from converter.events.render import EventRenderer, SampleEvent
from converter.mapping.loader import load_table

TABLES = ("ecs-windows", "splunk-sysmon", "splunk-cim", "kusto-windows")
CHANNELS = ("Microsoft-Windows-Sysmon/Operational", "microsoft-windows-sysmon/operational",
            "Security", "security", "SECURITY", "System", "Windows PowerShell", "Other")
TEXT = st.text(alphabet=st.sampled_from('ab&<>"\r\n é\x00'), max_size=8)

events = st.fixed_dictionaries(
    {},
    optional={
        "Channel": st.sampled_from(CHANNELS),
        "EventID": st.one_of(st.integers(0, 4700), st.sampled_from(["1", "4688", "01", "x"]),
                             st.none(), st.lists(st.integers(1, 3), max_size=2)),
        "Image": TEXT, "CommandLine": TEXT, "User": st.lists(TEXT, max_size=2),
        "Provider_Name": TEXT,
    },
)


@pytest.fixture(scope="module")
def renderers() -> list[EventRenderer]:
    return [EventRenderer.routed(load_table(name)) for name in TABLES]


@settings(max_examples=300, deadline=None)
@given(batch=st.lists(events, min_size=1, max_size=6))
def test_remembered_route_is_the_scan(renderers: list[EventRenderer],
                                      batch: list[dict]) -> None:
    for renderer in renderers:
        fresh = EventRenderer.routed(renderer.table)
        for event in batch:
            assert renderer._route(event) == renderer._scan(event)
            assert renderer.logsource_of(event) == renderer._scan(event)[0]
            try:
                first = repr(renderer.render(event))
            except ValueError as exc:
                first = f"refused {exc}"
            try:
                again = repr(fresh.render(event))
            except ValueError as exc:
                again = f"refused {exc}"
            assert first == again


@settings(max_examples=300, deadline=None)
@given(value=TEXT, libxml2=st.booleans())
def test_escapes_are_saxutils(value: str, libxml2: bool) -> None:
    assert xml_escaped(value) == escape(value)
    assert xml_escaped([value, 1]) == [escape(value), 1]
    extra = {'"': "&quot;", "\r": "&#13;"} if libxml2 else {}
    raw = raw_xml({"EventID": 1, "Channel": "c", "a&b": value}, libxml2=libxml2)
    assert raw == ('<Event><System><EventID>1</EventID><Channel>c</Channel></System><EventData>'
                   f'<Data Name="a&amp;b">{escape(value, extra)}</Data></EventData></Event>')


def test_route_memo_is_bounded(renderers: list[EventRenderer]) -> None:
    from converter.events import render

    renderer = EventRenderer.routed(load_table("ecs-windows"))
    for n in range(render.MEMO + 50):
        renderer.logsource_of({"Channel": "Security", "EventID": n})
    assert len(renderer._routes) == render.MEMO


def _channels() -> list[str]:
    """Every ``Channel`` the tables' (and their companions') entries name, so that generated
    events reach the companion renderers too."""
    found: set[str] = set()
    for name in TABLES:
        renderer = EventRenderer.routed(load_table(name))
        for r in (renderer, *renderer.companions):
            for entry in r._entries:
                for crit in (*entry.events, *(c for v in entry.variants for c in v.events)):
                    if isinstance(crit.get("Channel"), str):
                        found.add(crit["Channel"])
    return sorted(found)


#: Values the renderers treat apart: dropped ("", "-"), line endings, XML specials, nulls.
VALUE = st.one_of(st.sampled_from(["", "-", "a\r\nb", "x&<y>", "HKLM\\SOFTWARE\\a", "1"]), TEXT,
                  st.none(), st.integers(-2, 70000))
wide_events = st.fixed_dictionaries(
    {"Channel": st.sampled_from([*_channels(), "Security", "security", "Other"])},
    optional={
        "EventID": st.one_of(st.integers(0, 4700), st.sampled_from(["1", "13", "4688", "x"])),
        "Image": VALUE, "CommandLine": VALUE, "TargetObject": VALUE, "Details": VALUE,
        "User": st.lists(VALUE, max_size=3), "SomeData_1": VALUE, "a.b": VALUE,
        "EventType": st.sampled_from(["SetValue", "CreateKey", "DeleteValue"]),
        "ProcessId": VALUE, "ParentImage": VALUE,
    },
)
#: Sysmon registry events: Elastic Defend writes their hive and DWORD values in several
#: spellings (``Alternatives``), of which ``render`` keeps the first.
registry_events = st.fixed_dictionaries({
    "Channel": st.just("Microsoft-Windows-Sysmon/Operational"),
    "EventID": st.sampled_from([12, 13, 14, "13"]),
    "TargetObject": st.sampled_from(["HKLM\\SOFTWARE\\a", "HKU\\S-1\\b", "HKCR\\c", "x"]),
    "Details": st.sampled_from(["DWORD (0x00000001)", "text", "", "QWORD (0x1-0x2)"]),
    "EventType": st.sampled_from(["SetValue", "CreateKey"]),
})
#: (table, data source): each Windows table's data sources, with their drop values and line
#: endings (``windows``, ``winlogbeat``: ``\r\n`` written as ``\n``).
SOURCES = [("ecs-windows", "defend"), ("ecs-windows", "windows"), ("ecs-windows", "winlogbeat"),
           ("splunk-sysmon", None), ("splunk-cim", None), ("kusto-windows", None),
           ("kusto-windows", "sentinel")]


def _outcome(render: Any) -> str:
    try:
        return repr(render())
    except ValueError as exc:
        return f"refused {exc}"


@pytest.fixture(scope="module")
def routed() -> list[EventRenderer]:
    out = []
    for name, source in SOURCES:
        table = load_table(name)
        if source is None or source in (table.options.get("data_source", {}).get("choices") or []):
            out.append(EventRenderer.routed(table, source))
    return out


@settings(max_examples=300, deadline=None)
@given(batch=st.lists(st.one_of(wide_events, registry_events), min_size=1, max_size=8))
def test_render_is_the_sample_path(routed: list[EventRenderer], batch: list[dict]) -> None:
    """``render`` (the backtest's path: the covering renderer remembered per criteria values,
    the primary spelling taken in place) gives what ``render_sample_all`` (each renderer's own
    route, every spelling expanded) gives first, for the base table and its companions."""
    for renderer in routed:
        for event in batch:
            fast = _outcome(lambda: renderer.render(dict(event)))
            sample = _outcome(lambda: (renderer.render_sample_all(SampleEvent(dict(event)))
                                       or [None])[0])
            assert fast == sample, (renderer.table.name, renderer.data_source, event)


@pytest.mark.parametrize("name", ["splunk-sysmon", "kusto-windows", "splunk-cim"])
def test_field_decisions_are_bounded_and_decided_alike(name: str) -> None:
    """How a field is written is remembered per name (``EntryPlan.field``) for at most
    ``FIELDS_MEMO`` names; past the bound it is decided each time, with the same rendering as
    a renderer that never saw the earlier names."""
    from converter.events import render_plan

    renderer = EventRenderer.routed(load_table(name))
    base = {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
            "Image": "C:\\a.exe", "CommandLine": "a&b"}
    for n in range(render_plan.FIELDS_MEMO + 20):
        renderer.render({**base, f"Extra{n}": "v"})
    plans = [plan for plan in renderer._plans.values() if plan.fields]
    assert plans and all(len(plan.fields) == render_plan.FIELDS_MEMO for plan in plans)
    late = {**base, f"Extra{render_plan.FIELDS_MEMO + 5}": "v", "Extra3": "w"}
    assert renderer.render(late) == EventRenderer.routed(load_table(name)).render(late)
