"""Splunk CIM for proxy and webserver rules: the Web data model, rows of Splunk Stream's HTTP.

Splunk Stream writes its HTTP fields under the CIM Web names (``http_user_agent``,
``http_method``, ``site``, ``status``, ``uri_path``; security_content
``data_sources/splunk_stream_http.yml``), and security_content searches those events through
``datamodel=Web``. So the SigmaHQ proxy / webserver rules on those fields convert for
``splunk-cim`` (``splunk-cim-web.yml``); the request target (Stream's own ``uri``) has no
documented CIM Web field and is refused with that reason.
"""

from __future__ import annotations

import pytest

from converter.checking.checker import Checker
from converter.generate.generator import generate_events
from helpers import load_one, to_query

PROXY_RULE = """
title: scripted client posting through the proxy
id: 7d1c0e72-1111-4222-8333-944455556666
logsource: {category: proxy}
detection:
    selection:
        c-useragent|startswith: 'python-requests/'
        cs-method: POST
    filter:
        cs-host|endswith: '.example.com'
    condition: selection and not filter
"""

WEBSERVER_RULE = """
title: server error on an admin path
id: 7d1c0e72-1111-4222-8333-944455556667
logsource: {category: webserver}
detection:
    selection:
        cs-uri-stem|startswith: '/admin/'
        sc-status: 500
    condition: selection
"""


@pytest.mark.parametrize("text", [PROXY_RULE, WEBSERVER_RULE])
def test_proxy_and_webserver_rules_are_a_tstats_on_the_web_data_model(text: str) -> None:
    query = to_query("splunk-cim", text)
    assert "from datamodel=Web.Web where " in query
    assert 'sourcetype="stream:http"' in query
    loaded = load_one(text)
    events = generate_events(loaded.rule)
    result = Checker(["splunk-cim"]).check(loaded, events).targets["splunk-cim"]
    assert result.equivalent, result.reason
    assert result.matched
    # Only the near misses from another logsource may go unrendered: they are Sysmon process
    # records without an image path, which the Endpoint model never holds (cim_full_path).
    assert all(events[i].note == "near miss: wrong logsource" for i in result.not_rendered)


def test_the_user_agent_test_reads_the_web_field() -> None:
    query = to_query("splunk-cim", PROXY_RULE)
    assert 'Web.http_user_agent="python-requests/*"' in query
    assert 'Web.http_method="POST"' in query and "Web.site" in query


@pytest.mark.parametrize("field,why", [
    ("c-uri", "which CIM Web field"),
    ("c-uri-extension", "no field for the extension"),
    ("dst_ip", "CIM Web `dest`"),
])
def test_fields_without_a_documented_web_field_are_refused(field: str, why: str) -> None:
    text = PROXY_RULE.replace("cs-host|endswith", f"{field}|endswith")
    with pytest.raises(Exception, match=why):
        to_query("splunk-cim", text)


KEYWORD_RULE = """
title: script tag anywhere in the request
id: 7d1c0e72-1111-4222-8333-944455556668
logsource: {category: webserver}
detection:
    keywords:
        - '=<script>'
    selection:
        cs-method: GET
    condition: selection and keywords
"""


def test_keywords_are_refused_on_a_data_model() -> None:
    """tstats reads the data model's fields; there is no raw text for a keyword to search."""
    with pytest.raises(Exception, match="keyword .* tstats on a data model"):
        to_query("splunk-cim", KEYWORD_RULE)
    assert '"=<script>"' in to_query("splunk", KEYWORD_RULE)
