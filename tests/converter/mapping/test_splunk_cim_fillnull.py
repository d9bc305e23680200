"""CIM fields the data model calculates (``cim_fillnull``): the dataset writes ``unknown`` for a
missing or empty value (Web also for ``-``), so a tstats search never sees those values.

Splunk_SA_CIM's model definitions: Web ``http_user_agent`` / ``http_method`` / ``status`` are
``if(isnull(f) OR f="" OR f="-","unknown",f)``; Endpoint.Processes ``process`` /
``parent_process`` / ``user`` are ``if(isnull(f) OR f="","unknown",f)``.

* a rule that tells ``unknown`` from what it replaces (``c-useragent: ''``, a ``null`` test that
  decides the rule) is refused with the reason; before, ``c-useragent: ''`` was "equivalent"
  while the data model never holds an empty user agent;
* a rule whose condition cannot tell them apart (``not CommandLine: null`` beside a selection on
  the command line) still converts, and is proven on events rendered with the fill;
* rendering writes ``unknown`` for a missing, empty or ``-`` value.
"""

from __future__ import annotations

import pytest

from converter.checking.checker import Checker
from converter.events.render import EventRenderer, SampleEvent
from converter.generate.generator import generate_events
from converter.mapping.loader import companion_tables, load_table
from helpers import load_one

EMPTY_UA = """
title: empty user agent
id: 8e1c0e72-1111-4222-8333-944455556601
logsource: {category: proxy}
detection:
    selection:
        c-useragent: ''
    condition: selection
"""

POST_WITHOUT_UA = """
title: post without a user agent header
id: 8e1c0e72-1111-4222-8333-944455556602
logsource: {category: proxy}
detection:
    selection:
        cs-method: POST
    filter:
        c-useragent: null
    condition: selection and not filter
"""

CURL_NOT_NULL = """
title: curl user agent
id: 8e1c0e72-1111-4222-8333-944455556603
logsource: {category: proxy}
detection:
    selection:
        c-useragent|startswith: 'curl/'
        cs-method: GET
    filter:
        c-useragent: null
    condition: selection and not filter
"""

UNKNOWN_METHOD = """
title: method spelled unknown
id: 8e1c0e72-1111-4222-8333-944455556604
logsource: {category: proxy}
detection:
    selection:
        cs-method|contains: 'know'
    condition: selection
"""

DLLHOST_NO_CLI = """
title: dllhost without arguments
id: 8e1c0e72-1111-4222-8333-944455556605
logsource: {category: process_creation, product: windows}
detection:
    selection:
        Image|endswith: '\\dllhost.exe'
        CommandLine: ['dllhost.exe', 'dllhost']
    filter_main_null:
        CommandLine: null
    condition: selection and not 1 of filter_main_*
"""

EMPTY_CLI = """
title: process with an empty command line
id: 8e1c0e72-1111-4222-8333-944455556606
logsource: {category: process_creation, product: windows}
detection:
    selection:
        Image|endswith: '\\rundll32.exe'
        CommandLine: ''
    condition: selection
"""


PORT_ZERO = """
title: connection to port zero
id: 8e1c0e72-1111-4222-8333-944455556607
logsource: {category: network_connection, product: windows}
detection:
    selection:
        Image|endswith: '\\svchost.exe'
        DestinationPort: 0
    condition: selection
"""

EMPTY_REGISTRY_DATA = """
title: run key set to an empty value
id: 8e1c0e72-1111-4222-8333-944455556608
logsource: {category: registry_set, product: windows}
detection:
    selection:
        TargetObject|contains: '\\CurrentVersion\\Run\\'
        Details: ''
    condition: selection
"""


@pytest.mark.parametrize(("text", "field", "calculation"), [
    (EMPTY_UA, "c-useragent", "Web_fillnull_http_user_agent"),
    (POST_WITHOUT_UA, "c-useragent", "Web_fillnull_http_user_agent"),
    (UNKNOWN_METHOD, "cs-method", "Web_fillnull_http_method"),
    (EMPTY_CLI, "CommandLine", "Endpoint_Processes_fillnull_process"),
    (PORT_ZERO, "DestinationPort", "All_Traffic_fillnull_dest_port"),
    (EMPTY_REGISTRY_DATA, "Details", "Endpoint_Registry_fillnull_registry_value_data"),
])
def test_a_rule_that_tells_the_fill_apart_is_refused(text: str, field: str, calculation: str) -> None:
    result = Checker(["splunk-cim"]).check(load_one(text), []).targets["splunk-cim"]
    reason = result.reason or ""
    assert result.query is None and reason.startswith("not converted"), reason
    assert field in reason and calculation in reason, reason
    assert ("'0'" if field == "DestinationPort" else "'unknown'") in reason, reason


@pytest.mark.parametrize("text", [CURL_NOT_NULL, DLLHOST_NO_CLI])
def test_a_rule_whose_condition_masks_the_fill_is_proven(text: str) -> None:
    loaded = load_one(text)
    result = Checker(["splunk-cim"]).check(loaded, generate_events(loaded.rule)).targets["splunk-cim"]
    assert result.equivalent, result.reason
    assert result.matched


def _render(event: dict[str, object]) -> dict[str, object] | None:
    renderer = EventRenderer(load_table("splunk-cim"))
    renderer.companions = [EventRenderer(load_table(n)) for n in companion_tables("splunk-cim")]
    return renderer.render_sample(SampleEvent(event))


@pytest.mark.parametrize(("value", "written"), [
    (None, "unknown"), ("", "unknown"), ("-", "unknown"), ("curl/8.0", "curl/8.0"),
])
def test_the_web_row_holds_the_fill(value: str | None, written: str) -> None:
    event: dict[str, object] = {"Channel": "proxy", "cs-method": "GET"}
    if value is not None:
        event["c-useragent"] = value
    row = _render(event)
    assert row is not None
    user_agent = {k: v for k, v in row.items() if k.endswith("http_user_agent")}
    assert list(user_agent.values()) == [written], row
    # a field the model hands through unchanged is not filled
    assert not any(k.endswith("uri_path") for k in row), row
