"""Non-Windows logsources no cited data source maps: refused with the reason, never silently.

``ecs-uncovered`` and ``splunk-uncovered`` map nothing; their ``not_covered`` entries join the
Elastic targets and `splunk`. A rule of such a logsource is refused with the table's reason; an
entry never shadows a logsource that another table of the same target maps; and every logsource
of SigmaHQ's non-Windows rules is either mapped or refused with a reason of its own, on every
Elastic target and on `splunk`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from converter.mapping.table import companion_tables, load_table
from helpers import convert
from test_mappings_beyond import raw
from test_mappings_corpus import documented_functions, schema_problems

ROOT = Path(__file__).resolve().parents[3]
CORPUS_RULES = ROOT.parent / "shared" / "corpus" / "sigmahq" / "rules"
#: refusal table -> (the table it extends, a target of that table)
TABLES = {"ecs-uncovered": ("ecs-windows", "eql"), "splunk-uncovered": ("splunk-sysmon", "splunk")}

OPENCANARY_RULE = """
title: ftp login attempt on a canary
id: c1111111-2222-3333-4444-555555555555
logsource: {product: opencanary, category: application}
detection:
    selection:
        logtype: 2000
    condition: selection
"""


@pytest.mark.parametrize("name", list(TABLES))
def test_table_schema_is_valid_and_maps_nothing(name: str) -> None:
    table = raw(name)
    assert schema_problems(table, documented_functions()) == []
    assert table["logsources"] == [] and table["not_covered"]
    assert all(str(item["reason"]).strip() for item in table["not_covered"])
    assert name in companion_tables(TABLES[name][0])


@pytest.mark.parametrize("name", list(TABLES))
def test_no_entry_shadows_a_mapped_logsource(name: str) -> None:
    base = TABLES[name][0]
    mapped = [
        entry.match
        for table in (base, *companion_tables(base))
        for entry in load_table(table).logsources
    ]
    assert [item["match"] for item in raw(name)["not_covered"] if item["match"] in mapped] == []


@pytest.mark.parametrize("target", ["eql", "lucene", "splunk"])
def test_uncovered_rule_is_refused_with_the_reason(target: str) -> None:
    result = convert(target, OPENCANARY_RULE)
    assert result.status != "converted"
    if target == "splunk":
        assert "(splunk-uncovered)" in result.reason and "no security_content data source" in result.reason
    else:
        assert "(ecs-uncovered)" in result.reason and "OpenCanary" in result.reason


def test_linux_keyword_logsource_names_why() -> None:
    text = OPENCANARY_RULE.replace("{product: opencanary, category: application}", "{product: linux, service: syslog}")
    reason = convert("eql", text).reason or ""
    assert "(ecs-uncovered)" in reason and "keywords" in reason


def _logsources() -> dict[str, Path]:
    """Every distinct logsource of SigmaHQ's non-Windows rules, with one rule file of it."""
    out: dict[str, Path] = {}
    for path in sorted(CORPUS_RULES.rglob("*.yml")):
        if "windows" in path.relative_to(CORPUS_RULES).parts[:1]:
            continue
        source = yaml.safe_load(path.read_text("utf-8"))["logsource"]
        key = "/".join(str(source.get(k)) for k in ("product", "category", "service") if source.get(k))
        out.setdefault(key, path)
    return out


@pytest.mark.skipif(not CORPUS_RULES.is_dir(), reason="../shared/corpus is absent")
@pytest.mark.parametrize("target", ["eql", "splunk"])
def test_every_non_windows_logsource_is_mapped_or_refused_with_a_reason(target: str) -> None:
    bare = []
    for key, path in _logsources().items():
        result = convert(target, path.read_text("utf-8"))
        if result.status != "converted" and "has no mapping for this rule's logsource" in (result.reason or ""):
            bare.append(key)
    # `product: linux` alone (keyword rules over any Linux log) cannot be matched without also
    # matching every Linux category: it keeps the list of covered logsources as its reason.
    assert sorted(bare) == ["linux"]
