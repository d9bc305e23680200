"""Logsources Elastic Defend never records are refused on ``--data-source defend`` by every
Elastic target, whatever the rule tests.

Defend writes its own events only (the endpoint package's data streams): no Windows event log
channel (PowerShell script blocks, the System log) and none of Sysmon's pipe, process-access,
remote-thread, stream-hash or raw-read events. Their entries once applied to Defend too, with each
field refused or evaluated away: a rule testing no field (keywords) then became a KQL query of
records Defend never writes (``winlog.channel:(...) and *kw*``), which differed on the events
instead of being refused like the same rule on the other Elastic targets.
"""

from __future__ import annotations

import pytest
import yaml

from converter.mapping.loader import builtin_table_names, load_table
from helpers import convert

#: The Elastic targets (every one reads the ecs-windows table).
ELASTIC = ["eql", "kql", "kql-es", "lucene", "esql"]

#: The logsources Defend records no event of, with a field their entries map elsewhere.
UNCOVERED_ON_DEFEND = {
    "ps_script": ({"category": "ps_script"}, "ScriptBlockText"),
    "system": ({"service": "system"}, "ServiceName"),
    "pipe_created": ({"category": "pipe_created"}, "PipeName"),
    "process_access": ({"category": "process_access"}, "TargetImage"),
    "create_remote_thread": ({"category": "create_remote_thread"}, "StartAddress"),
    "create_stream_hash": ({"category": "create_stream_hash"}, "Contents"),
    "raw_access_thread": ({"category": "raw_access_thread"}, "Device"),
}


def rule_text(logsource: dict[str, str], detection: dict[str, object]) -> str:
    """A one-rule Sigma document for ``logsource`` (Windows) with ``detection``."""
    return yaml.safe_dump({
        "title": "defend uncovered test",
        "id": "0b8e2f36-4c1d-4f7a-9d25-6e3a1c7b5f90",
        "logsource": {"product": "windows", **logsource},
        "detection": detection,
    })


def test_no_entry_applies_to_a_data_source_it_maps_no_field_of() -> None:
    """An entry that maps none of its fields on a data source describes records that source does
    not write: it must leave that source out (``sources``) so its rules are refused with the
    table's reason, not converted to the entry's conditions alone."""
    empty = []
    for name in builtin_table_names():
        table = load_table(name)
        choices = (table.options.get("data_source") or {}).get("choices") or [None]
        for entry in table.logsources:
            if not entry.fields:
                continue
            for source in choices:
                if not entry.applies_to(source):
                    continue
                live = set(entry.field_targets(source)) - set(entry.unrecorded_fields(source))
                if not live and not entry.derived_for(source) \
                        and entry.event_data_prefix(source) is None:
                    empty.append((name, entry.id, source))
    assert not empty, empty


@pytest.mark.parametrize("logsource", sorted(UNCOVERED_ON_DEFEND))
@pytest.mark.parametrize("detection", ["keywords", "field", "keywords or field"])
def test_uncovered_logsources_are_refused_alike_on_defend(logsource: str, detection: str) -> None:
    """Keywords, a field test or both: every Elastic target refuses with the same reason, which
    names Defend and the data sources that do record the logsource."""
    parts, field = UNCOVERED_ON_DEFEND[logsource]
    text = rule_text(parts, {
        "keywords": ["mimikatz"], "field": {f"{field}|contains": "mimikatz"},
        "condition": detection,
    })
    reasons = set()
    for target in ELASTIC:
        conversion = convert(target, text, "defend")
        assert conversion.status == "unsupported", (target, conversion.queries)
        reasons.add(conversion.reason)
    (reason,) = reasons
    assert "does not cover this rule's logsource" in reason and "defend:" in reason
    assert "--data-source windows or winlogbeat" in reason


@pytest.mark.parametrize("logsource", sorted(UNCOVERED_ON_DEFEND))
@pytest.mark.parametrize("data_source", ["windows", "winlogbeat"])
def test_uncovered_logsources_still_convert_where_recorded(logsource: str, data_source: str) -> None:
    """The sources that record them keep converting (an event id test: ``ScriptBlockText`` is
    an analysed text field there, refused for its own reason)."""
    parts, _ = UNCOVERED_ON_DEFEND[logsource]
    text = rule_text(parts, {"sel": {"EventID": 4104}, "condition": "sel"})
    conversion = convert("eql", text, data_source)
    assert conversion.status == "converted", conversion.reason


@pytest.mark.parametrize("data_source", ["defend", "windows", "winlogbeat"])
def test_powershell_module_logging_is_refused_naming_the_data_source(data_source: str) -> None:
    """``ps_module`` is refused on every Elastic source but winlog; the reason says why for each
    (Defend collects no PowerShell log; the integrations delete Payload and ContextInfo), so a
    Defend user is not told about a pipeline Defend does not run."""
    text = rule_text({"category": "ps_module"}, {"keywords": ["mimikatz"], "condition": "keywords"})
    reasons = {convert(target, text, data_source).reason for target in ELASTIC}
    (reason,) = reasons
    assert reason is not None and "does not cover this rule's logsource" in reason
    assert "defend: Elastic Defend collects no PowerShell logs" in reason
    assert "windows, winlogbeat: the Windows integration's powershell_operational" in reason
