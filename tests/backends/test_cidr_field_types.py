"""``|cidr`` needs an ``ip`` field on every Elasticsearch target (issue 12).

Security's ``IpAddress`` is ``winlog.event_data.IpAddress``, a keyword: a Lucene or KQL term
``10.0.0.0/8`` there matches only that literal text, so a rule filtering private addresses out
matched ``10.1.2.3`` (a false positive, "differs" in ``check``); EQL's ``cidrMatch`` and ES|QL's
``CIDR_MATCH`` reject a non-ip field, so the whole query failed in Elasticsearch. Such a test is
now refused with the reason; on an ``ip`` field (``destination.ip``) it converts as before.
"""

from __future__ import annotations

import pytest

from backends.eql.parser import parse
from backends.query.errors import UnsupportedQueryError
from backends.query.fields import FieldModel
from converter.checking.checker import Checker
from converter.conversion.convert import Converter
from converter.events.render import SampleEvent
from converter.rules.load import load_text

SECURITY = """
title: t
id: 0b8f7a3e-0000-4000-8000-00000000c1d4
logsource: {product: windows, service: security}
detection:
  sel: {EventID: 4624}
  private:
    IpAddress|cidr: ['10.0.0.0/8', 'fe80::/10']
  condition: sel and not private
"""

NETWORK = """
title: t
id: 0b8f7a3e-0000-4000-8000-00000000c1d5
logsource: {product: windows, category: network_connection}
detection:
  sel:
    DestinationIp|cidr: 10.0.0.0/8
  condition: sel
"""

ELASTIC = ["eql", "lucene", "kql", "kql-es", "esql"]


@pytest.mark.parametrize("target", ELASTIC)
def test_cidr_on_a_keyword_field_is_refused(target: str) -> None:
    rule = load_text(SECURITY, "r.yml")[0]
    conversion = Converter(target, options={"data_source": "windows"}).convert(rule)
    assert conversion.status == "unsupported", conversion.output
    assert "winlog.event_data.IpAddress" in conversion.reason
    assert "keyword field" in conversion.reason


@pytest.mark.parametrize("target", ELASTIC)
def test_cidr_on_an_ip_field_still_converts(target: str) -> None:
    rule = load_text(NETWORK, "r.yml")[0]
    conversion = Converter(target, options={"data_source": "windows"}).convert(rule)
    assert conversion.status == "converted", conversion.reason
    assert "destination.ip" in conversion.output


def test_check_no_longer_differs_on_a_private_address() -> None:
    """Before: Lucene and KQL matched 10.1.2.3, which the rule filters out (a false positive)."""
    (loaded,) = load_text(SECURITY, "r.yml")
    events = [SampleEvent({"EventID": 4624, "Channel": "Security", "IpAddress": ip})
              for ip in ("10.1.2.3", "8.8.8.8")]
    outcome = Checker(["lucene", "kql"], data_source="windows").check(loaded, events)
    for target in ("lucene", "kql"):
        result = outcome.targets[target]
        assert result.equivalent is None and result.disagreements == [], (target, result.reason)
        assert "keyword field" in result.reason


def test_the_eql_interpreter_rejects_cidrmatch_on_a_keyword_field() -> None:
    windows = FieldModel.builtin("windows")
    query = 'any where cidrMatch(winlog.event_data.IpAddress, "10.0.0.0/8")'
    with pytest.raises(UnsupportedQueryError, match="cidr_field_types"):
        parse(query, windows)
    parse('any where cidrMatch(destination.ip, "10.0.0.0/8")', windows)  # an ip field
