"""Numbers the non-Windows sources write as canonical decimal (``to_integer`` with ``canonical``).

Sysmon (for Linux too) writes its ports as ``win:UInt16`` (the event manifest, ``sysmon -s``),
which Elastic Defend for Linux indexes as ``long`` numbers, Zeek's JSON writer writes a port as a
JSON number, and Umbrella's web log holds the HTTP status code: a Sigma event whose number text is
not canonical decimal ("04444") is no record of these sources, so it is not rendered, and
Elasticsearch's coercion of such text never decides a verdict there (the Linux callback-port rule
used to "differ" on the generated "04444").
"""

from __future__ import annotations

from typing import Any

import pytest

from converter.checking.checker import Checker
from converter.events.render import SampleEvent
from converter.rules.load import load_text

LINUX_PORT_RULE = """
title: linux callback port
id: 61111111-2222-3333-4444-555555555555
logsource: {product: linux, category: network_connection}
detection:
    selection:
        Initiated: 'true'
        DestinationPort: 4444
    condition: selection
"""

ZEEK_PORT_RULE = """
title: zeek dns to an odd port
id: 61111111-2222-3333-4444-555555555556
logsource: {product: zeek, service: dns}
detection:
    selection:
        id.resp_p: 5353
    condition: selection
"""


def _check(text: str, events: list[dict[str, Any]], target: str) -> Any:
    (loaded,) = load_text(text, "r.yml")
    return Checker([target]).check(loaded, [SampleEvent(e) for e in events]).targets[target]


@pytest.mark.parametrize("target", ["eql", "lucene"])
def test_linux_ports_are_canonical(target: str) -> None:
    base = {"Channel": "Linux-Sysmon/Operational", "EventID": 3, "Initiated": "true"}
    events = [{**base, "DestinationPort": "4444"}, {**base, "DestinationPort": 4445},
              {**base, "DestinationPort": "04444"}]
    outcome = _check(LINUX_PORT_RULE, events, target)
    assert outcome.equivalent is True, (outcome.reason, outcome.disagreements)
    assert outcome.not_rendered == [2] and outcome.matched == [0], (outcome.not_rendered, outcome.matched)


@pytest.mark.parametrize("target", ["eql", "lucene"])
def test_zeek_ports_are_canonical(target: str) -> None:
    base = {"Channel": "zeek/dns", "query": "a.example"}
    events = [{**base, "id.resp_p": 5353}, {**base, "id.resp_p": "53"}, {**base, "id.resp_p": "5353.0"}]
    outcome = _check(ZEEK_PORT_RULE, events, target)
    assert outcome.equivalent is True, (outcome.reason, outcome.disagreements)
    assert outcome.not_rendered == [2] and outcome.matched == [0], (outcome.not_rendered, outcome.matched)


PROXY_STATUS_RULE = """
title: proxy request refused by the server
id: 61111111-2222-3333-4444-555555555557
logsource: {category: proxy}
detection:
    selection:
        sc-status: 403
    condition: selection
"""


@pytest.mark.parametrize("target", ["eql", "lucene"])
def test_umbrella_status_codes_are_canonical(target: str) -> None:
    base = {"Channel": "proxy", "cs-method": "GET"}
    events = [{**base, "sc-status": "403"}, {**base, "sc-status": 200}, {**base, "sc-status": "0403"}]
    outcome = _check(PROXY_STATUS_RULE, events, target)
    assert outcome.equivalent is True, (outcome.reason, outcome.disagreements)
    assert outcome.not_rendered == [2] and outcome.matched == [0], (outcome.not_rendered, outcome.matched)
