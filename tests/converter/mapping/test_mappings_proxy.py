"""Sigma's proxy category (no product) on Elastic: Cisco Umbrella's web logs (``ecs-proxy``).

The Cisco Umbrella integration splits each web log line with a ``csv`` processor into ECS fields
kept as written (``url.original``, ``user_agent.original``, ``http.request.method``, the
destination address converted to ``destination.ip``); the query string, path and extension exist
only percent-decoded (``uri_parts``) and Umbrella logs no Host or Cookie header, so those Sigma
names are refused with the reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from converter.checking.checker import Checker
from converter.conversion.convert import Converter
from converter.events.render import EventRenderer, SampleEvent
from converter.generate.generator import generate_events
from converter.mapping.loader import load_table
from converter.outputs.index_template import propose, template_body
from converter.rules.load import LoadedRule, load_text
from helpers import proven_but_for_length_limits

UA_RULE = """
title: powershell user agent
id: 81111111-2222-3333-4444-555555555555
logsource: {category: proxy}
detection:
    selection:
        c-useragent|contains: ' WindowsPowerShell/'
    condition: selection
"""

WEBDAV_RULE = """
title: webdav download of an executable from outside
id: 81111111-2222-3333-4444-555555555556
logsource: {category: proxy}
detection:
    selection_webdav:
        c-useragent|startswith: 'Microsoft-WebDAV-MiniRedir/'
        cs-method: 'GET'
    selection_execution:
        c-uri|endswith:
            - '.exe'
            - '.ps1'
    filter_main_local_ips:
        dst_ip|cidr:
            - '10.0.0.0/8'
            - '192.168.0.0/16'
    condition: all of selection_* and not 1 of filter_main_*
"""

EMPTY_UA_RULE = """
title: empty user agent
id: 81111111-2222-3333-4444-555555555557
logsource: {category: proxy}
detection:
    selection:
        c-useragent: ''
    condition: selection
"""


def rule(text: str) -> LoadedRule:
    """The one rule of a YAML text."""
    return load_text(text, "rule.yml")[0]


def test_proxy_rule_reads_the_umbrella_web_log_fields() -> None:
    result = Converter("eql").convert(rule(WEBDAV_RULE))
    assert result.status == "converted", result.reason
    query = "\n".join(result.queries)
    assert 'event.dataset == "cisco_umbrella.log"' in query and 'observer.type == "proxy"' in query
    for field in ("user_agent.original", "http.request.method", "url.original", "destination.ip"):
        assert field in query


def test_renderer_writes_the_values_as_the_csv_processor_keeps_them() -> None:
    renderer = EventRenderer.routed(load_table("ecs-windows"), None)
    event = {"Channel": "proxy", "c-useragent": " ", "cs-method": "GET",
             "c-uri": "http://a.example/x.exe?q=%41", "dst_ip": "203.0.113.7"}
    out = renderer.render_sample(SampleEvent(event))
    assert out["event.dataset"] == "cisco_umbrella.log" and out["observer.type"] == "proxy"
    # no trim, no decoding: a one-space user agent stays " ", the URL keeps its escapes
    assert out["user_agent.original"] == " " and out["url.original"] == "http://a.example/x.exe?q=%41"
    assert out["http.request.method"] == "GET" and out["destination.ip"] == "203.0.113.7"
    assert "proxy" not in (out.get("Channel"), out.get("event.category"))


def test_user_agent_length_limit_is_declared() -> None:
    """user_agent.original is an ECS keyword with ignore_above 1024: a longer user agent is not
    indexed there, so the query misses it where Sigma matches (declared, never equivalent)."""
    loaded = rule(UA_RULE)
    conversion = Converter("eql").convert(loaded)
    assert any("user_agent.original indexes values of at most 1024" in w for w in conversion.warnings)
    outcome = Checker(["eql"]).check(loaded, generate_events(loaded.rule)).targets["eql"]
    assert not outcome.equivalent and proven_but_for_length_limits(outcome), outcome.reason


@pytest.mark.parametrize("text", [UA_RULE, WEBDAV_RULE], ids=["user agent", "webdav"])
def test_rule_is_proven_on_generated_events_with_the_template(text: str, tmp_path: Path) -> None:
    """With `sigport mapping`'s template the case-insensitive tests move to the caseless copies
    (wildcard fields, no length limit): exact at any length."""
    loaded = rule(text)
    path = tmp_path / "t.json"
    path.write_text(json.dumps(template_body(propose([loaded], "windows"))), encoding="utf-8")
    result = Checker(["eql", "lucene"], data_source="windows", mapping=path).check(
        loaded, generate_events(loaded.rule)
    )
    for target, outcome in result.targets.items():
        assert outcome.equivalent, f"{target}: {outcome.reason}"


def test_empty_user_agent_is_decided_by_the_deleted_empty_column() -> None:
    """Umbrella writes "" for a missing value and the csv processor sets no field for it: a test
    for '' cannot be told from a missing user agent, so it is never called equivalent."""
    loaded = rule(EMPTY_UA_RULE)
    result = Checker(["eql"]).check(loaded, generate_events(loaded.rule)).targets["eql"]
    assert not result.equivalent
    assert "''" in " ".join(result.warnings) + (result.reason or "")


@pytest.mark.parametrize(
    "line,why",
    [
        ("cs-host|endswith: '.ru'", "Host header"),
        ("c-uri-query|contains: 'cmd='", "percent-decoded"),
        ("c-uri-extension: 'exe'", "url.extension"),
        ("cs-cookie|endswith: '=='", "Cookie header"),
    ],
)
def test_fields_umbrella_does_not_keep_as_written_are_refused_with_the_reason(line: str, why: str) -> None:
    text = UA_RULE.replace("c-useragent|contains: ' WindowsPowerShell/'", line)
    result = Converter("lucene").convert(rule(text))
    assert result.status != "converted"
    assert why in (result.reason or "")
