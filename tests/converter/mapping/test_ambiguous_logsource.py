"""A rule whose logsource two entries of a pipeline select is refused naming both entries.

Before, every selecting entry applied its renames and refusals, so the rule was refused by one
entry for a field the other maps ("field 'message' is not mapped", "'Image' is not mapped") or
converted with both entries' conditions. No corpus rule selects two entries
(``converter/mapping/refusals.py`` ``AmbiguousLogsourceFailure``). When one entry's records
are provably among the other's, that entry converts the rule (``converter/mapping/precedence.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sigma.exceptions import SigmaTransformationError

from converter.checking.run import CheckOptions, check_rules
from converter.conversion.convert import Converter
from converter.mapping.items import TargetTraits
from converter.mapping.loader import load_table
from converter.mapping.pipeline import build_pipeline
from converter.mapping.precedence import narrower, preferred
from converter.rules.load import load_text


def rule(logsource: str, detection: str) -> object:
    """The one rule of a logsource and a detection."""
    text = (
        "title: ambiguous\nid: 92111111-2222-3333-4444-555555555560\n"
        f"logsource: {logsource}\ndetection:\n{detection}"
    )
    return load_text(text, "rule.yml")[0]


KEYWORD = "    keywords: ['segfault']\n    condition: keywords\n"
IMAGE = "    selection:\n        Image|endswith: '\\\\x.exe'\n    condition: selection\n"


@pytest.mark.parametrize(("target", "logsource", "detection", "entries"), [
    ("eql", "{category: webserver, service: apache}", KEYWORD, ["apache-error of ecs-lines", "webserver-access of ecs-lines"]),
    ("eql", "{category: webserver, service: nginx}", KEYWORD, ["nginx-error of ecs-lines", "webserver-access of ecs-lines"]),
    ("splunk", "{category: webserver, service: apache}", KEYWORD, ["apache-error of splunk-lines", "webserver of splunk-stream"]),
    ("eql", "{category: process_creation, product: windows, service: security}", IMAGE,
     ["windows-process-creation of ecs-windows", "windows-security-defend of ecs-windows"]),
])
def test_a_logsource_two_entries_select_is_refused_naming_them(
    target: str, logsource: str, detection: str, entries: list[str]
) -> None:
    result = Converter(target).convert(rule(logsource, detection))
    assert result.status == "unsupported"
    reason = result.reason or ""
    assert "is ambiguous: it selects 2 entries" in reason, reason
    assert all(entry in reason for entry in entries), reason
    assert "is not mapped" not in reason


@pytest.mark.parametrize(("target", "logsource", "detection"), [
    ("splunk", "{service: apache}", KEYWORD),
    ("splunk", "{category: process_creation, product: windows}", IMAGE),
    ("eql", "{category: process_creation, product: windows}", IMAGE),
])
def test_a_logsource_one_entry_selects_is_not_called_ambiguous(target: str, logsource: str, detection: str) -> None:
    result = Converter(target).convert(rule(logsource, detection))
    assert "ambiguous" not in (result.reason or ""), result.reason


SYSMON_PROCESS = "{category: process_creation, product: windows, service: sysmon}"
PROCESS_RULE = IMAGE.replace("condition: selection", "filter:\n        CommandLine|contains: 'abc'\n"
                             "    condition: selection and not filter")


def test_the_narrower_entry_converts_a_rule_both_select() -> None:
    """Splunk: Sysmon event 1 (the process-creation entry's first kind of event) lies in the
    Sysmon channel entry; its Security 4688 kind lies outside it. The rule's records are Sysmon
    event 1: converted with that branch alone, not refused as ambiguous (it was since 64ddc8d)."""
    result = Converter("splunk").convert(rule(SYSMON_PROCESS, PROCESS_RULE))
    assert result.status == "converted", result.reason
    query = " ".join(result.queries)
    assert "EventCode=1" in query and "Sysmon" in query, query
    assert "4688" not in query and "Security" not in query and "NewProcessName" not in query, query


@pytest.mark.parametrize("target", ["kusto"])
def test_entries_of_other_tables_stay_ambiguous(target: str) -> None:
    """Kusto: ASIM's imProcessCreate and Sentinel's WindowsEvent are other records: no entry is
    narrower, the rule is refused naming both (on defender the WindowsEvent entries do not
    apply: tests/converter/mapping/test_companion_not_with.py)."""
    result = Converter(target, options={"data_source": "sentinel-asim"}).convert(
        rule(SYSMON_PROCESS, PROCESS_RULE))
    assert result.status == "unsupported"
    assert "is ambiguous" in (result.reason or ""), result.reason


def test_check_proves_the_narrower_entry_on_generated_events(tmp_path: Path) -> None:
    """Proven on splunk with generated events (the renderer routes to the same entry); every other
    target still refuses or, as before, differs."""
    path = tmp_path / "sysmon_process.yml"
    path.write_text(
        "title: ambiguous\nid: 92111111-2222-3333-4444-555555555561\nstatus: test\n"
        f"logsource: {SYSMON_PROCESS}\ndetection:\n{PROCESS_RULE}level: low\n", encoding="utf-8")
    report = check_rules([path], CheckOptions(targets=("splunk", "kusto", "eql"), generate=0))
    targets = report.results[0].targets
    assert targets["splunk"].equivalent is True, targets["splunk"].reason
    assert targets["kusto"].query is None and targets["eql"].query is None


def test_a_rule_of_the_wider_entry_alone_keeps_its_conversion() -> None:
    """The Sysmon channel entry still converts a rule of its own logsource, and the process
    entry a rule of its own, with both kinds of event."""
    channel = Converter("splunk").convert(rule("{product: windows, service: sysmon}", PROCESS_RULE))
    assert channel.status == "converted" and "EventCode" not in " ".join(channel.queries), channel.queries
    process = Converter("splunk").convert(
        rule("{category: process_creation, product: windows}", PROCESS_RULE))
    text = " ".join(process.queries)
    assert "4688" in text and "EventCode=1" in text, text


def test_the_renderer_routes_to_the_narrower_entry_whatever_the_table_order() -> None:
    """``check`` renders a rule's events with the entry the pipeline converts it with, whichever
    table comes first."""
    sysmon, channels = load_table("splunk-sysmon"), load_table("splunk-windows-channels")
    process = sysmon.for_logsource("windows", "process_creation", None, "splunk_ta_sysmon")
    channel = channels.for_logsource("windows", None, "sysmon", "splunk_ta_windows")
    assert process is not None and channel is not None
    owned = [(channels, "splunk_ta_windows", channel), (sysmon, "splunk_ta_sysmon", process)]
    assert preferred(owned) == 1 and preferred(owned[::-1]) == 0
    assert not narrower(owned[0], owned[1])


SECURITY_PROCESS = "{category: process_creation, product: windows, service: security}"


@pytest.mark.parametrize("data_source", ["defender", "sentinel-asim"])
def test_one_entry_covering_events_outside_the_logsource_refuses(data_source: str) -> None:
    """Kusto: ``service: security`` asks for Security 4688 records; the one entry that selects
    the rule (Defender XDR's DeviceProcessEvents, ASIM's imProcessCreate) holds Sysmon 1 too and
    no column it maps tells them apart. Refused naming the entry and the events outside (it was
    converted to the whole table and differed on the generated Sysmon events)."""
    result = Converter("kusto", options={"data_source": data_source}).convert(
        rule(SECURITY_PROCESS, PROCESS_RULE))
    assert result.status == "unsupported", result.queries
    reason = result.reason or ""
    assert "also covers events outside it" in reason, reason
    assert "Channel Microsoft-Windows-Sysmon/Operational, EventID 1" in reason, reason
    assert f"data_source={data_source}" in reason and "process-creation of kusto-windows" in reason


def test_one_entry_within_the_logsource_still_converts(tmp_path: Path) -> None:
    """Where the entry's events all lie in the rule's logsource the rule converts and is proven:
    Sentinel's WindowsEvent 4688 entry (sentinel-wef) beside its Security entry (the narrower),
    and a logsource naming only the entry's own parts."""
    path = tmp_path / "security_process.yml"
    path.write_text(
        "title: within\nid: 92111111-2222-3333-4444-555555555562\nstatus: test\n"
        f"logsource: {SECURITY_PROCESS}\ndetection:\n{PROCESS_RULE}level: low\n", encoding="utf-8")
    report = check_rules([path], CheckOptions(targets=("kusto",), generate=0,
                                              data_source="sentinel-wef"))
    outcome = report.results[0].targets["kusto"]
    assert outcome.equivalent is True, outcome.reason
    plain = Converter("kusto", options={"data_source": "defender"}).convert(
        rule("{category: process_creation, product: windows}", PROCESS_RULE))
    assert plain.status == "converted", plain.reason


@pytest.mark.parametrize("category", ["file_event", "process_creation", "registry_set"])
def test_a_channel_entry_alone_does_not_convert_a_category_of_its_channel(category: str) -> None:
    """winlog: ``{<category>, service: sysmon}`` selects only the Sysmon channel entry, whose
    query (the channel) holds every Sysmon event: it was converted without the category's event
    id and differed on generated events; it is refused naming the entry."""
    result = Converter("eql", options={"data_source": "winlog"}).convert(
        rule(f"{{category: {category}, product: windows, service: sysmon}}", PROCESS_RULE))
    assert result.status == "unsupported", result.queries
    reason = result.reason or ""
    assert "windows-sysmon of ecs-windows-channels (data_source=winlog)" in reason, reason
    assert "also covers events outside it" in reason, reason


@pytest.mark.parametrize(("target", "data_source", "kept", "dropped"), [
    ("splunk", None, ["EventCode=4688", "NewProcessName", "XmlW*nEventLog:Secur*ty"],
     ["Sysmon", "EventCode=1 "]),
    ("kusto", "sentinel", ["SecurityEvent", "EventID == 4688"], ["WindowsEvent", "Sysmon"]),
])
def test_the_4688_variant_converts_process_creation_of_the_security_service(
    tmp_path: Path, target: str, data_source: str | None, kept: list[str], dropped: list[str]
) -> None:
    """``{process_creation, service: security}``: Splunk's process-creation entry has a Security
    4688 variant whose conditions hold the Security channel entry's and whose Sysmon 1 kind lies
    outside it, so the rule converts with the 4688 branch alone; Sentinel's SecurityEvent 4688
    entry is narrower than the Security entry (which has no condition, so case does not
    matter). Both were refused as ambiguous; both are proven on generated events."""
    options = {"data_source": data_source} if data_source else None
    result = Converter(target, options=options).convert(rule(SECURITY_PROCESS, PROCESS_RULE))
    assert result.status == "converted", result.reason
    query = " ".join(result.queries)
    assert all(part in query for part in kept), query
    assert not any(part in query for part in dropped), query
    path = tmp_path / "security_process.yml"
    path.write_text(
        "title: variant\nid: 92111111-2222-3333-4444-555555555563\nstatus: test\n"
        f"logsource: {SECURITY_PROCESS}\ndetection:\n{PROCESS_RULE}level: low\n", encoding="utf-8")
    report = check_rules([path], CheckOptions(targets=(target,), generate=0,
                                              data_source=data_source))
    outcome = report.results[0].targets[target]
    assert outcome.equivalent is True, (outcome.reason, outcome.disagreements[:2])


@pytest.mark.parametrize("data_source", ["windows", "winlogbeat"])
def test_elastic_process_creation_of_the_security_service_stays_refused(data_source: str) -> None:
    """Elastic's process-creation entry has no variant: Sysmon 1 and Security 4688 documents meet
    the same conditions (no channel), so no part of it is shown narrower than the Security entry."""
    result = Converter("eql", options={"data_source": data_source}).convert(
        rule(SECURITY_PROCESS, PROCESS_RULE))
    assert result.status == "unsupported"
    assert "is ambiguous" in (result.reason or ""), result.reason


ONE_ENTRY_TABLE = """\
name: one-entry
schema: ecs
options:
  data_source: {default: defend, choices: [defend]}
logsources:
  - id: every-process-start
    match: {product: windows, category: process_creation}
    eql_category: process
    conditions: {host.os.type: windows, event.type: start}
    events:
      - {Channel: Microsoft-Windows-Sysmon/Operational, EventID: 1}
      - {Channel: Security, EventID: 4688}
    fields:
      Image: process.executable
      CommandLine: process.command_line
"""


def test_a_one_entry_user_table_refuses_a_logsource_its_entry_covers_partly(tmp_path: Path) -> None:
    """A user's table of one entry: ``service: security`` asks for Security 4688 records, the
    entry's events hold Sysmon 1 too. Refused naming the entry, as with a built-in table of
    several entries (the check was added only to pipelines of two entries or more, so this
    rule was converted to the entry's whole query)."""
    path = tmp_path / "one-entry.yml"
    path.write_text(ONE_ENTRY_TABLE, encoding="utf-8")
    pipeline = build_pipeline(str(path), TargetTraits(eql_category=True))
    with pytest.raises(SigmaTransformationError, match="also covers events outside it") as caught:
        pipeline.apply(rule(SECURITY_PROCESS, PROCESS_RULE).rule)  # type: ignore[attr-defined]
    assert "every-process-start of one-entry" in str(caught.value)
    assert "Channel Microsoft-Windows-Sysmon/Operational, EventID 1" in str(caught.value)
    # The entry's own logsource names no part the entry lacks: not refused.
    plain = build_pipeline(str(path), TargetTraits(eql_category=True))
    plain.apply(rule("{category: process_creation, product: windows}", PROCESS_RULE).rule)  # type: ignore[attr-defined]
