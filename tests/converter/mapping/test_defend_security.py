"""Security rules on Elastic Defend (issue 12, Defend alone).

Defend does not ship the Security event log, but writes some Microsoft-Windows-Security-Auditing
records as its own security events (``logs-endpoint.events.security-*``). Those of 4697, 4698,
4702 and 4720 keep the record's ``ServiceName``, ``ServiceFileName``, ``TaskName``,
``TaskContent``, ``TaskContentNew`` and ``SamAccountName`` under ``winlog.event_data``, and are
told apart by ``event.action`` (two documented spellings each). Defend's other security events
(log_on, ...) are in the same index under actions the table does not map, so ``EventID`` is an
open ``value_map`` and the mapped fields are ``shared_rows``: whatever could also hold on one of
those events is refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from converter.cli import main
from converter.conversion.convert import Converter
from converter.mapping.functions.registry import QUERY_FUNCTIONS, RENDER_FUNCTIONS
from converter.mapping.loader import load_table
from converter.rules.load import load_text

from test_functions import item_of, sigma_rule  # noqa: E402  (tests/converter/mapping on sys.path)


def _rule(detection: str) -> str:
    return (
        "title: t\nid: 0b8f7a3e-0000-4000-8000-00000000d497\n"
        "logsource: {product: windows, service: security}\n"
        f"detection:\n{detection}"
    )


def _convert(detection: str, target: str = "eql") -> Any:
    rule = load_text(_rule(detection), "r.yml")[0]
    return Converter(target, options={"data_source": "defend"}).convert(rule)


def _event_id_spec() -> Any:
    entry = next(e for e in load_table("ecs-windows").logsources if e.id == "windows-security-defend")
    return entry.field_targets("defend")["EventID"]


def test_a_listed_event_id_is_its_actions_and_renders_the_first() -> None:
    spec = _event_id_spec()
    query = QUERY_FUNCTIONS["value_map"](item_of(sigma_rule("EventID", 4697)), spec, "")
    text = repr(query)
    assert "service_installed" in text and "service-installed" in text
    # The generator writes event ids as numbers.
    assert RENDER_FUNCTIONS["value_map"](4697, spec) == {"event.action": "service_installed"}
    assert RENDER_FUNCTIONS["value_map"]("4720", spec) == {"event.action": "user_account_created"}


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("EventID", 4624, "'4624'"),  # Defend writes it, under log_on
        ("EventID", [4697, 4625], "'4625'"),
        ("EventID|startswith", "469", "'469*'"),
        ("EventID", None, "null"),
    ],
)
def test_an_event_id_defend_may_write_unmapped_is_refused(key: str, value: Any, why: str) -> None:
    """On a closed vocabulary `EventID: 4624` would be the constant false; Defend's log_on events
    hold it, so the open map refuses it instead."""
    spec = _event_id_spec()
    with pytest.raises(Exception, match="not one of the listed values") as raised:
        QUERY_FUNCTIONS["value_map"](item_of(sigma_rule(key, value)), spec, "")
    assert why in str(raised.value) or why == "null"


def test_service_install_rule_converts_on_defend() -> None:
    conversion = _convert(
        "  sel:\n    EventID: 4697\n    ServiceFileName|contains: 'pcap'\n  condition: sel\n"
    )
    assert conversion.status == "converted", conversion.reason
    query = conversion.queries[0]
    assert 'event.dataset == "endpoint.events.security"' in query
    assert 'event.action == "service-installed"' in query and "winlog.event_data.ServiceFileName" in query


@pytest.mark.parametrize(
    "detection",
    [
        # matches every log_on event Defend writes: not exact
        "  sel:\n    ServiceName: x\n  condition: not sel\n",
        "  sel:\n    EventID: 4697\n  condition: not sel\n",
    ],
)
def test_a_rule_that_could_match_defends_other_security_events_is_refused(detection: str) -> None:
    conversion = _convert(detection)
    assert conversion.status != "converted"
    assert "could match such a row" in conversion.reason and "data_source=defend" in conversion.reason


def test_codes_defend_writes_by_name_are_refused_with_the_reason() -> None:
    conversion = _convert("  sel:\n    EventID: 4697\n    ServiceStartType: '3'\n  condition: sel\n")
    assert conversion.status != "converted"
    assert "ServiceStartType" in conversion.reason and "by name" in conversion.reason
    other = _convert("  sel:\n    EventID: 4624\n    LogonType: 3\n  condition: sel\n")
    assert other.status != "converted" and "data_source=defend" in other.reason


def test_windows_and_winlogbeat_keep_the_security_channel() -> None:
    rule = load_text(_rule("  sel:\n    EventID: 4624\n    LogonType: 3\n  condition: sel\n"), "r.yml")[0]
    for source in ("windows", "winlogbeat"):
        conversion = Converter("eql", options={"data_source": source}).convert(rule)
        assert conversion.status == "converted", conversion.reason
        assert 'winlog.channel == "Security"' in conversion.queries[0]


def test_proven_on_defend_events_with_the_template(tmp_path: Path) -> None:
    text = _rule(
        "  sel:\n    EventID: 4698\n    TaskContent|contains:\n      - '\\AppData\\Local\\Temp\\'\n"
        "      - 'powershell'\n  condition: sel\n"
    )
    (tmp_path / "r.yml").write_text(text, encoding="utf-8")
    template = tmp_path / "t.json"
    made = CliRunner().invoke(
        main, ["mapping", str(tmp_path / "r.yml"), "--data-source", "defend", "-o", str(template)]
    )
    assert made.exit_code == 0, made.output
    result = CliRunner().invoke(main, [
        "check", str(tmp_path / "r.yml"), "--generate", "-t", "eql", "-t", "esql", "-t", "lucene",
        "--data-source", "defend", "--mapping", str(template), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    targets = json.loads(result.stdout)["rules"][0]["targets"]
    for target, verdict in targets.items():
        assert verdict["equivalent"] is True, (target, verdict)
        assert "endpoint.events.security" in verdict["query"]
