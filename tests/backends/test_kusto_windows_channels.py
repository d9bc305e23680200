"""Windows event log channels beyond Security on Microsoft Sentinel's WindowsEvent table
(``converter/mapping/tables/kusto-windows-channels.yml``): the channel and event id are columns,
every other field is a property of the dynamic EventData read as text with
``tostring(EventData.<name>)``, and each rule is proven on its generated events."""

from __future__ import annotations

from pathlib import Path

import pytest

from converter.checking.checker import Checker, TargetResult
from converter.conversion.convert import Converter
from converter.errors import PipelineError
from converter.events.render import SampleEvent
from converter.generate.generator import generate_events
from converter.rules.load import load_rules, load_text

RULES = {
    # PowerShell script-block logging on either PowerShell channel, event 4104.
    "category: ps_script": (
        'WindowsEvent\n| where ((Channel in ("Microsoft-Windows-PowerShell/Operational", '
        '"PowerShellCore/Operational")) and EventID == 4104) and ',
        "  s: {ScriptBlockText|contains|all: ['Invoke-', 'Mimikatz']}\n"
        "  f: {Path|startswith: 'C:\\Program Files\\'}\n  condition: s and not f\n",
    ),
    "category: ps_module": (
        'WindowsEvent\n| where ((Channel in ("Microsoft-Windows-PowerShell/Operational", '
        '"PowerShellCore/Operational")) and EventID == 4103) and ',
        "  s: {Payload|contains: 'Set-MpPreference', ContextInfo|contains: 'Host Application'}\n"
        "  condition: s\n",
    ),
    # The provider is a column; ImagePath and ServiceName are event data.
    "service: system": (
        'WindowsEvent\n| where Channel == "System" and ',
        "  s: {Provider_Name: 'Service Control Manager', EventID: 7045,"
        " ImagePath|contains: '\\Temp\\'}\n  f: {ServiceName|startswith: 'Windows'}\n"
        "  condition: s and not f\n",
    ),
    "service: windefend": (
        'WindowsEvent\n| where Channel == "Microsoft-Windows-Windows Defender/Operational" and ',
        "  s: {EventID: [5001, 5010], Product_Version|startswith: '4.'}\n  condition: s\n",
    ),
}


def _rule(tmp_path: Path, kind: str, detection: str) -> object:
    path = tmp_path / "r.yml"
    path.write_text(
        "title: t\nid: 0f5b8f2e-3c1d-4e6a-9b7c-2d4e6f8a0c1c\nstatus: test\n"
        f"logsource: {{product: windows, {kind}}}\ndetection:\n{detection}",
        encoding="utf-8",
    )
    (loaded,) = load_rules([path])
    return loaded


def _assert_proven(target: TargetResult, events: list[SampleEvent]) -> None:
    """The query agrees with the rule on every event but the declared Kusto differences: its
    case-insensitive operators fold ASCII only (semantics), and an int column reads a
    number-like text ('05001') as a number (the generator's "partner" and "numeric-text" near
    misses, as in test_kusto_tables); and some event the rule matches was evaluated."""
    other = [d for d in target.disagreements
             if not any(k in events[d.event].note for k in ("partner", "numeric-text"))]
    assert not other, other
    assert target.equivalent is True or target.disagreements, target.reason
    assert target.matched


@pytest.mark.parametrize("kind", sorted(RULES))
def test_channel_rule_is_proven_on_windowsevent(kind: str, tmp_path: Path) -> None:
    """Each channel converts to WindowsEvent, its fields are EventData properties read with
    tostring(), and the query agrees with the rule on every generated event the table can hold."""
    prefix, detection = RULES[kind]
    loaded = _rule(tmp_path, kind, detection)
    events = generate_events(loaded.rule)
    target = Checker(["kusto"], data_source="sentinel").check(loaded, events).targets["kusto"]
    assert target.query.startswith(prefix), target.query
    assert "tostring(EventData." in target.query
    _assert_proven(target, events)


@pytest.mark.parametrize("source", ["sentinel", "sentinel-asim", "sentinel-wef"])
def test_channel_rules_convert_on_every_kusto_source(source: str, tmp_path: Path) -> None:
    """The WindowsEvent entries are the channels' only Kusto table: they join the kusto target
    on every Sentinel data source (not beside defender, whose advanced hunting has no
    WindowsEvent table: tests/converter/mapping/test_companion_not_with.py)."""
    loaded = _rule(tmp_path, "category: ps_script",
                   "  s: {ScriptBlockText|contains: 'DownloadData'}\n  condition: s\n")
    result = Converter("kusto", options={"data_source": source}).convert(loaded)
    assert result.status == "converted", result.reason
    assert 'tostring(EventData.ScriptBlockText) contains "DownloadData"' in result.queries[0]


@pytest.mark.parametrize(
    ("kind", "field", "words"),
    [
        # Unnamed <Data> of the classic PowerShell log: no property name is documented.
        ("category: ps_classic_start", "Data", "unnamed <Data>"),
        ("service: application", "Data", "unnamed <Data>"),
        ("service: system", "Keywords", "bitmask"),
        # A name that is no identifier cannot be written as a property name after the dot.
        ("service: system", "1Name", "identifier"),
    ],
)
def test_fields_without_an_exact_property_are_refused(
        kind: str, field: str, words: str, tmp_path: Path) -> None:
    loaded = _rule(tmp_path, kind, f"  s: {{{field}|contains: 'x'}}\n  condition: s\n")
    result = Converter("kusto", options={"data_source": "sentinel"}).convert(loaded)
    assert result.status != "converted"
    assert field in (result.reason or "") and words in (result.reason or ""), result.reason


def test_event_data_is_rendered_as_the_text_tostring_reads() -> None:
    """A number becomes its text (tostring of a parsed number); a non-canonical numeric text,
    which the table may hold as a number with another text, or a list (one <Data> holds one
    value) is no WindowsEvent row and is not rendered; "" is the missing property (tostring of
    null)."""
    text = (
        "title: svc\nid: 5c8e0d8e-9d5e-4a4e-9c57-0f2f9a6b1c11\n"
        "logsource: {product: windows, service: system}\n"
        "detection:\n  sel:\n    EventID: 7045\n    StartType: 2\n  condition: sel\n"
    )
    (loaded,) = load_text(text, "inline.yml")
    base = {"Channel": "System", "EventID": 7045}
    events = [SampleEvent({**base, "StartType": 2}), SampleEvent({**base, "StartType": "2"}),
              SampleEvent({**base, "StartType": "02"}), SampleEvent({**base, "StartType": "2.0"}),
              SampleEvent({**base, "StartType": ["2", "3"]}), SampleEvent({**base, "StartType": "3"}),
              SampleEvent({**base, "StartType": ""})]
    result = Checker(["kusto"], data_source="sentinel").check(loaded, events).targets["kusto"]
    assert 'tostring(EventData.StartType) == "2"' in result.query
    assert result.disagreements == [] and result.equivalent is True, result.reason
    assert result.not_rendered == [2, 3, 4]
    assert result.matched == [0, 1]


def test_empty_value_test_is_declared_not_differing() -> None:
    """`NewValue: ''` is true on "" and false on a missing field, which tostring() reads alike:
    the conversion warns naming the Sigma field, and check calls the rule "not proven" on events
    that show only that difference, never "differs" (the declared field is looked up by its
    Sigma name in the events check swaps)."""
    text = (
        "title: iis\nid: 5c8e0d8e-9d5e-4a4e-9c57-0f2f9a6b1c12\n"
        "logsource: {product: windows, service: iis-configuration}\n"
        "detection:\n  sel:\n    EventID: 29\n    Configuration|contains: '/modules/add'\n"
        "  f_known:\n    NewValue: StaticFileModule\n  f_empty:\n    NewValue: ''\n"
        "  condition: sel and not 1 of f_*\n"
    )
    (loaded,) = load_text(text, "inline.yml")
    conversion = Converter("kusto", options={"data_source": "sentinel"}).convert(loaded)
    assert conversion.dropped == {"NewValue": [""]}
    base = {"Channel": "Microsoft-IIS-Configuration/Operational", "EventID": 29,
            "Configuration": "/system.webServer/modules/add"}
    events = [SampleEvent(dict(base)), SampleEvent({**base, "NewValue": "Evil"}),
              SampleEvent({**base, "NewValue": "StaticFileModule"})]
    result = Checker(["kusto"], data_source="sentinel").check(loaded, events).targets["kusto"]
    assert result.equivalent is None and "not proven" in (result.reason or ""), result.reason
    assert result.matched == [1]


def test_channel_is_a_closed_vocabulary() -> None:
    """The logsource takes an event's channel ignoring case and the rule's own Channel test is
    case-insensitive; Windows writes the channel's own name, so "sYSTEM" is that record
    (value_map) and the rule's test is decided on the entry's channel names: the query selects
    the channel case-sensitively and still agrees with the rule."""
    text = (
        "title: cleared\nid: 5c8e0d8e-9d5e-4a4e-9c57-0f2f9a6b1c13\n"
        "logsource: {product: windows, service: system}\n"
        "detection:\n  sel:\n    EventID: 104\n    Channel: System\n  condition: sel\n"
    )
    (loaded,) = load_text(text, "inline.yml")
    events = [SampleEvent({"Channel": "System", "EventID": 104}),
              SampleEvent({"Channel": "sYSTEM", "EventID": 104})]
    result = Checker(["kusto"], data_source="sentinel").check(loaded, events).targets["kusto"]
    assert 'Channel == "System"' in result.query and "=~" not in result.query
    assert result.equivalent is True, result.disagreements
    assert result.matched == [0, 1]


@pytest.mark.parametrize("template", ["tostring(EventData.{name}.{name})", "x{name}}", "EventData{"])
def test_event_data_template_is_validated(template: str) -> None:
    from converter.mapping.loader import _event_data

    with pytest.raises(PipelineError, match="event_data template"):
        _event_data(template, "entry x", "t.yml")


def test_security_channel_in_windowsevent_has_every_event_data_name(tmp_path: Path) -> None:
    """SecurityEvent has no AccessList column, so the rule is refused on sentinel; with the
    Security channel in WindowsEvent (sentinel-wef) AccessList is an EventData property like
    every other, and the rule is proven on its generated events."""
    detection = (
        "  s: {EventID: 5145, ShareName: '\\\\*\\IPC$', RelativeTargetName: 'lsarpc',"
        " AccessList|contains: '%%4416'}\n  f: {SubjectUserName|endswith: '$'}\n"
        "  condition: s and not f\n"
    )
    loaded = _rule(tmp_path, "service: security", detection)
    refused = Converter("kusto", options={"data_source": "sentinel"}).convert(loaded)
    assert refused.status != "converted" and "AccessList" in (refused.reason or "")
    events = generate_events(loaded.rule)
    target = Checker(["kusto"], data_source="sentinel-wef").check(loaded, events).targets["kusto"]
    assert target.query.startswith('WindowsEvent\n| where Channel == "Security" and '), target.query
    assert "tostring(EventData.AccessList) contains" in target.query
    _assert_proven(target, events)


def test_process_creation_4688_in_windowsevent(tmp_path: Path) -> None:
    """On sentinel-wef a process creation is the 4688 record in WindowsEvent: the Sysmon names
    map to its EventData properties (Image -> NewProcessName, the creator's User split into
    SubjectDomainName and SubjectUserName), and the rule is proven on its generated events."""
    detection = (
        "  s: {ParentImage|endswith: '\\winword.exe', Image|endswith: ['\\cmd.exe', '\\mshta.exe']}\n"
        "  u: {User|contains: 'AUTHORI'}\n  condition: s and not u\n"
    )
    loaded = _rule(tmp_path, "category: process_creation", detection)
    events = generate_events(loaded.rule)
    target = Checker(["kusto"], data_source="sentinel-wef").check(loaded, events).targets["kusto"]
    query = target.query
    assert query.startswith('WindowsEvent\n| where (Channel == "Security" and EventID == 4688)')
    assert "tostring(EventData.ParentProcessName)" in query
    assert "tostring(EventData.SubjectDomainName)" in query
    _assert_proven(target, events)
