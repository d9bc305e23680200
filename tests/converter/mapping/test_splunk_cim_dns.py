"""Splunk CIM: Sysmon 22 (``dns_query``) on ``Network_Resolution.DNS``.

security_content ``data_sources/sysmon_eventid_22.yml`` (version 4; Splunk Add-on for Sysmon
5.0.1) maps ``QueryName`` to ``DNS.query`` and ``Computer`` to ``DNS.src``, and lists no process
field among the add-on's output fields: ``Image`` is evaluated away. The dataset holds other
products' DNS rows, so the query selects the Sysmon rows by ``source``. Whether the model fills
a missing query is not documented, so ``QueryName`` is tested fill-aware (``cim_fillnull``): a
rule that could tell ``unknown`` from a missing value is refused.
"""

from __future__ import annotations

from converter.checking.checker import Checker
from converter.conversion.convert import CONVERTED, UNSUPPORTED
from converter.generate.generator import generate_events
from helpers import convert, load_one, rule_text

SYSMON_SOURCE = 'source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"'


def _dns(detection: dict) -> str:
    return rule_text(detection, category="dns_query")


def _proven(text: str) -> None:
    loaded = load_one(text)
    outcome = Checker(["splunk-cim"]).check(loaded, generate_events(loaded.rule, seed=0))
    result = outcome.targets["splunk-cim"]
    assert result.equivalent is True, (result.reason, result.disagreements)


def test_a_query_name_rule_searches_the_dns_dataset_of_the_sysmon_rows() -> None:
    text = _dns({"sel": {"QueryName|endswith": [".ngrok.io", ".onion"]}, "condition": "sel"})
    conversion = convert("splunk-cim", text)
    assert conversion.status == CONVERTED, conversion.reason
    query = conversion.queries[0]
    assert "from datamodel=Network_Resolution.DNS " in query
    assert f" {SYSMON_SOURCE} " in query
    assert "mvfind('DNS.query'" in query and "by DNS.query DNS.src" in query
    _proven(text)


def test_an_image_filter_drops_out_and_an_image_selection_is_refused() -> None:
    filtered = _dns({"sel": {"QueryName|endswith": ".ngrok.io"},
                     "filter": {"Image|endswith": "\\chrome.exe"}, "condition": "sel and not filter"})
    conversion = convert("splunk-cim", filtered)
    assert conversion.status == CONVERTED, conversion.reason
    assert "chrome" not in conversion.queries[0]
    assert any("never records Image" in w for w in conversion.exact_warnings)
    _proven(filtered)
    decided = _dns({"sel": {"QueryName|endswith": ".ngrok.io", "Image|endswith": "\\rundll32.exe"},
                    "condition": "sel"})
    refused = convert("splunk-cim", decided)
    assert refused.status == UNSUPPORTED and "whole condition is constant" in refused.reason


def test_a_rule_telling_the_fill_from_a_missing_query_is_refused() -> None:
    text = _dns({"sel": {"QueryName|endswith": "nown"}, "condition": "sel"})
    conversion = convert("splunk-cim", text)
    assert conversion.status == UNSUPPORTED
    assert "DNS.query" in conversion.reason and "'unknown'" in conversion.reason


def test_query_results_stay_refused() -> None:
    text = _dns({"sel": {"QueryResults|contains": "::ffff:10."}, "condition": "sel"})
    conversion = convert("splunk-cim", text)
    assert conversion.status == UNSUPPORTED and "QueryResults" in conversion.reason
