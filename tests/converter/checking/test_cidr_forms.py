"""Issue 11 (4a): ``|cidr`` on each target against the reference for address forms beyond
dotted IPv4: the IPv4-mapped IPv6 text (``::ffff:10.1.2.3``) and non-canonical IPv4 text
(``010.0.0.1``, leading zeros).

The reference reads a mapped address as the IPv4 address (``cidr`` in
``converter/reference/semantics.py``), as an Elasticsearch ``ip`` field stores it. Kusto's
``ipv4_is_in_range`` converts only IPv4 text (semantics ``ipv4_range_reads_mapped_ipv6``), so the
Kusto emitter writes ``ipv6_is_match``, which compares IPv4 as IPv6 (issue 15). Leading zeros are
no address to the reference (Python's ``ipaddress`` refuses them since 3.9.5) nor to any
interpreter; Microsoft does not say whether ipv6_is_match reads them, so the Kusto interpreter
leaves such an event undecided.
"""

from __future__ import annotations

from typing import Any

import pytest

from converter.checking.checker import Checker
from converter.events.render import SampleEvent
from converter.rules.load import load_text

RULE = """
title: cidr forms
id: 6a7b8c9d-0000-4000-8000-0000000000c1
status: test
logsource: {category: network_connection, product: windows}
detection:
  sel:
    DestinationIp|cidr: 10.0.0.0/8
  condition: sel
level: low
"""


def _check(target: str, addresses: list[str]) -> Any:
    (loaded,) = load_text(RULE, "cidr.yml")
    events = [
        SampleEvent({"EventID": 3, "Channel": "Microsoft-Windows-Sysmon/Operational",
                     "DestinationIp": address})
        for address in addresses
    ]
    return Checker([target]).check(loaded, events).targets[target]


def test_kusto_reads_the_mapped_form_as_the_reference() -> None:
    """Issue 15: ipv4_is_in_range missed ::ffff:10.1.2.3 (declared, not proven); ipv6_is_match
    compares IPv4 as IPv6 ('192.168.1.1' equals '::ffff:c0a8:0101' on its reference page)."""
    # No built-in Kusto table maps an address field yet: the emitter is driven directly.
    from sigma.collection import SigmaCollection
    from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
    from sigma.processing.transformations import SetStateTransformation

    from backends.kusto.backend import SigportKustoBackend
    from backends.kusto.parser import parse
    from backends.query.errors import AddressUndecided
    from backends.query.evaluate import matches
    from converter.reference.evaluator import compile_rule

    collection = SigmaCollection.from_yaml(RULE)
    pipeline = ProcessingPipeline(
        items=[ProcessingItem(SetStateTransformation("query_table", "T"), identifier="t")]
    )
    backend = SigportKustoBackend(pipeline)
    (query,) = backend.convert(collection)
    assert "ipv6_is_match(DestinationIp" in query, query
    assert not backend.warnings
    tree = parse(query)
    reference = compile_rule(collection.rules[0])
    sysmon = {"EventID": 3, "Channel": "Microsoft-Windows-Sysmon/Operational"}
    for address in ("10.1.2.3", "11.0.0.1", "::ffff:10.1.2.3", "::ffff:11.0.0.1", "fe80::1"):
        sigma = reference.evaluate({**sysmon, "DestinationIp": address}).matched
        assert matches(tree, {"$table": "T", "DestinationIp": address}) == bool(sigma), address
    with pytest.raises(AddressUndecided):
        matches(tree, {"$table": "T", "DestinationIp": "010.1.2.3"})


@pytest.mark.parametrize("target", ["eql", "kql", "lucene", "splunk"])
def test_no_target_reads_leading_zeros_otherwise_than_the_reference(target: str) -> None:
    outcome = _check(target, ["10.1.2.3", "010.1.2.3", "10.001.2.3"])
    assert not outcome.disagreements, (target, outcome.reason)


@pytest.mark.parametrize("target", ["eql", "kql", "lucene"])
def test_elasticsearch_targets_read_the_mapped_form_as_the_reference(target: str) -> None:
    # An ip field stores every address as IPv6, IPv4 as its mapped form
    # (https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/ip).
    outcome = _check(target, ["10.1.2.3", "::ffff:10.1.2.3", "::ffff:11.0.0.1", "fe80::1"])
    assert not outcome.disagreements, (target, outcome.reason)
    assert outcome.matched == [0, 1], (target, outcome.matched)


def test_splunk_leaves_the_mapped_form_undecided() -> None:
    # No Splunk page says whether search reads ::ffff:10.1.2.3 as inside 10.0.0.0/8 (semantics
    # search_cidr_ipv4_mapped): such an event must never count towards a proof.
    outcome = _check("splunk", ["10.1.2.3", "::ffff:10.1.2.3", "11.0.0.1"])
    assert outcome.equivalent is not True, outcome.reason
    assert not outcome.disagreements, outcome.reason
    assert "not documented" in outcome.reason, outcome.reason


def test_splunk_decides_what_both_readings_decide() -> None:
    # ::ffff:11.0.0.1 is outside 10.0.0.0/8 under both readings; fe80::1 is no IPv4 address.
    outcome = _check("splunk", ["10.1.2.3", "::ffff:11.0.0.1", "fe80::1", "11.0.0.1"])
    assert outcome.equivalent is True, outcome.reason


@pytest.mark.parametrize("target", ["eql", "kql", "lucene", "esql"])
@pytest.mark.parametrize(("test", "texts"), [
    ("DestinationIp|endswith: ''", ["", " 'q' ", "10.1.2.3"]),
    ("DestinationIp|startswith: '10.'", ["10.x", "10.1.2.3", "11.1.2.3"]),
    ("DestinationIp: null", ["host", "10.1.2.3"]),
])
def test_text_sysmon_never_writes_as_an_address_is_no_evidence(
    target: str, test: str, texts: list[str]
) -> None:
    """The shipper's ``convert`` to ``ip`` writes no destination.ip for text that is no address,
    where Sigma's test may still hold (``endswith ''`` on ``""``): the events were rendered
    without the field and reported as differences. Sysmon writes an address there
    (``canonical``): such an event is not one the data source writes, and the addresses prove
    the query."""
    (loaded,) = load_text(RULE.replace("DestinationIp|cidr: 10.0.0.0/8", test), "ip.yml")
    sysmon = {"EventID": 3, "Channel": "Microsoft-Windows-Sysmon/Operational"}
    events = [SampleEvent({**sysmon, "DestinationIp": text}) for text in texts]
    events.append(SampleEvent(dict(sysmon)))
    outcome = Checker([target]).check(loaded, events).targets[target]
    assert not outcome.disagreements, (target, outcome.reason)
    assert outcome.equivalent is True, outcome.reason
