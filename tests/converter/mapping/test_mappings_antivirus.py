"""Sigma's antivirus category (no product) on Elastic: Microsoft Defender Antivirus detections as
the Windows integration's windows_defender data stream indexes them (``ecs-antivirus``).

A detection's name (Sigma ``Signature``) is Defender's ``Threat Name`` data element of events
1116 / 1117, indexed as ``winlog.event_data.Threat_Name`` (a keyword of ``winlog.event_data.*``,
limited to 1,024 characters); the detected file is only inside Defender's ``Path`` resource list,
which the pipeline rewrites, so ``Filename`` is refused with the reason.
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
from test_mappings_beyond import uncovered_corpus_fields
from test_mappings_cloud import CORPUS_RULES, needs_corpus

HACKTOOL_RULE = """
title: antivirus hacktool detection
id: 81111111-2222-3333-4444-555555555561
logsource: {category: antivirus}
detection:
    selection:
        - Signature|startswith: 'HTOOL'
        - Signature|contains: ['Mimikatz', 'Kekeo']
    condition: selection
"""


def rule(text: str) -> LoadedRule:
    """The one rule of a YAML text."""
    return load_text(text, "rule.yml")[0]


def test_signature_is_the_defender_threat_name_of_a_detection() -> None:
    result = Converter("eql").convert(rule(HACKTOOL_RULE))
    assert result.status == "converted", result.reason
    query = "\n".join(result.queries)
    assert 'event.dataset == "windows.windows_defender"' in query
    assert "1116" in query and "1117" in query and "winlog.event_data.Threat_Name" in query


def test_renderer_writes_a_detection_event() -> None:
    renderer = EventRenderer.routed(load_table("ecs-windows"), None)
    out = renderer.render_sample(SampleEvent({"Channel": "antivirus", "Signature": "HackTool:Win32/Mimikatz"}))
    assert out["event.dataset"] == "windows.windows_defender" and out["event.code"] == "1116"
    assert out["winlog.event_data.Threat_Name"] == "HackTool:Win32/Mimikatz"


def test_threat_name_length_limit_is_declared_and_the_template_lifts_it(tmp_path: Path) -> None:
    """winlog.event_data.* keywords have ignore_above 1024: a longer name is not matched there
    (declared, never equivalent); `sigport mapping`'s template copy has no limit."""
    loaded = rule(HACKTOOL_RULE)
    events = generate_events(loaded.rule)
    outcome = Checker(["eql"]).check(loaded, events).targets["eql"]
    assert not outcome.equivalent and proven_but_for_length_limits(outcome), outcome.reason
    path = tmp_path / "t.json"
    path.write_text(json.dumps(template_body(propose([loaded], "windows"))), encoding="utf-8")
    result = Checker(["eql", "lucene"], data_source="windows", mapping=path).check(loaded, events)
    for target, checked in result.targets.items():
        assert checked.equivalent, f"{target}: {checked.reason}"


def test_filename_is_refused_with_the_reason() -> None:
    text = HACKTOOL_RULE.replace("- Signature|startswith: 'HTOOL'", "- Filename|endswith: '.aspx'")
    result = Converter("lucene").convert(rule(text))
    assert result.status != "converted" and "Path" in (result.reason or "")


@needs_corpus
def test_every_corpus_field_is_covered() -> None:
    assert (CORPUS_RULES / "category" / "antivirus").is_dir()
    assert uncovered_corpus_fields("category/antivirus", "ecs-antivirus", {"category": "antivirus"}) == []


@pytest.mark.parametrize("name", ["ecs-antivirus"])
def test_table_is_valid_and_its_targets_are_cited(name: str) -> None:
    from test_mappings_cloud import (
        test_every_integration_target_is_in_the_bundled_field_model as in_model,
        test_every_target_is_in_ecs_or_in_the_cited_integration_field_list as cited,
        test_table_schema_is_valid as schema,
    )

    from test_mappings_cloud import ELASTIC_ETC

    schema(name)
    in_model(name)
    if not (ELASTIC_ETC / "ecs_flat.json.gz").is_file():
        pytest.skip("../shared/corpus is absent: no ECS field list to check the citations against")
    cited(name)
