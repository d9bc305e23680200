"""The product-independent ``dns`` category read from Zeek's dns.log (``splunk-zeek``, ``ecs-zeek``).

SigmaHQ's ``rules/network/dns`` rules name no product: ``query`` (the queried name) and
``record_type`` are Zeek's ``query`` and ``qtype_name``; ``answer`` (one answer) has no single
value in dns.log's list of answers and stays refused with that reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from converter.checking.checker import Checker
from converter.generate.generator import generate_events
from helpers import convert, load_one, to_query
from test_mappings_beyond import entry_of, raw
from test_mappings_corpus import coverage, rule_fields, sources_of

DNS_RULES = Path(__file__).resolve().parents[4] / "shared" / "corpus" / "sigmahq" / "rules" / "network" / "dns"

RULE = """
title: telegram bot api lookup of a text record
id: c2111111-2222-3333-4444-555555555555
logsource: {category: dns}
detection:
    selection:
        query: 'api.telegram.org'
        record_type: TXT
    condition: selection
"""

ANSWER_RULE = """
title: command in a text record
id: c2111111-2222-3333-4444-555555555556
logsource: {category: dns}
detection:
    selection:
        answer|contains: 'IEX'
    condition: selection
"""


@pytest.mark.parametrize(
    "target,expected",
    [
        ("splunk", ['sourcetype="bro:dns:json"', "query=", "qtype_name="]),
        ("eql", ['event.dataset == "zeek.dns"', "zeek.dns.query", "zeek.dns.qtype_name"]),
        ("lucene", ["event.dataset:zeek.dns", "zeek.dns.query", "zeek.dns.qtype_name"]),
    ],
)
def test_dns_category_is_read_from_zeek_dns_log(target: str, expected: list[str]) -> None:
    query = to_query(target, RULE)
    assert all(part in query for part in expected), query
    loaded = load_one(RULE)
    result = Checker([target]).check(loaded, generate_events(loaded.rule)).targets[target]
    assert result.equivalent, result.reason


@pytest.mark.parametrize("target", ["splunk", "eql", "lucene"])
def test_a_single_answer_is_refused_with_the_reason(target: str) -> None:
    conversion = convert(target, ANSWER_RULE)
    assert conversion.status != "converted"
    assert "answer" in (conversion.reason or "") and "list" in (conversion.reason or "")


@pytest.mark.skipif(not DNS_RULES.is_dir(), reason="../shared/corpus is absent")
@pytest.mark.parametrize("name", ["splunk-zeek", "ecs-zeek"])
def test_every_dns_corpus_field_is_covered(name: str) -> None:
    table = raw(name)
    (entry,) = entry_of(table, {"category": "dns"})
    missing = [
        f"{path.name}: {field} ({source})"
        for path in sorted(DNS_RULES.glob("*.yml"))
        for field in sorted(rule_fields(yaml.safe_load(path.read_text("utf-8"))["detection"]))
        for source in sources_of(table)
        if coverage(entry, table, field, source) is None
    ]
    assert missing == []
