"""Web server access logs (``category: webserver``) on Elastic: the access-log line read whole by
the Custom Logs (Filestream) integration (``ecs-lines`` entry ``webserver-access``).

The line is the Sigma event's one value, so a keyword is "``message`` contains it", exact on the
caseless copy ``sigport mapping`` adds; the line's columns (cs-method, sc-status, cs-uri-query,
...) are parsed by no step of that integration and are refused naming the field and the data
source. The Nginx / Apache integrations and Network Packet Capture keep no raw request target
(the table's comments), so no other Elastic data source maps this logsource.
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
from test_mappings_corpus import MAPPINGS

KEYWORD_RULE = """
title: java payload in an access log
id: 92111111-2222-3333-4444-555555555551
logsource: {category: webserver}
detection:
    keywords:
        - '%24%7B%40java'
        - '/${#'
        - 'getRuntime().exec('
    condition: keywords
"""

METHOD_RULE = """
title: keyword and method
id: 92111111-2222-3333-4444-555555555552
logsource: {category: webserver}
detection:
    select_method:
        cs-method: 'GET'
    keywords:
        - '=whoami'
    condition: select_method and keywords
"""


def rule(text: str) -> LoadedRule:
    """The one rule of a YAML text."""
    return load_text(text, "rule.yml")[0]


def template(loaded: list[LoadedRule], tmp_path: Path) -> Path:
    """The template ``sigport mapping`` writes for these rules (data source defend)."""
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template_body(propose(loaded, "defend"))), encoding="utf-8")
    return path


def test_webserver_keywords_are_proven_on_the_caseless_copy_of_the_line(tmp_path: Path) -> None:
    # Before this entry, ecs-uncovered refused every webserver rule on Elastic.
    loaded = rule(KEYWORD_RULE)
    result = Checker(["eql", "lucene", "esql"], mapping=template([loaded], tmp_path)).check(
        loaded, generate_events(loaded.rule))
    for target, outcome in result.targets.items():
        assert outcome.equivalent, f"{target}: {outcome.reason}"
        query = outcome.query or ""
        assert "sigport.caseless.message" in query, target
        assert "getruntime().exec(" in query.replace("\\", ""), target


def test_the_line_is_message_and_nothing_else_of_the_event() -> None:
    renderer = EventRenderer.routed(load_table("ecs-windows"))
    line = '10.0.0.1 - - [07/Dec/2026:10:00:00 +0000] "GET /?a=${@java HTTP/1.1" 200 5 "-" "curl/8"'
    out = renderer.render_sample(SampleEvent({"Channel": "webserver", "line": line}))
    assert out is not None and out["message"] == line and "Channel" not in out
    assert out["data_stream.dataset"] == "filestream.generic"


@pytest.mark.parametrize("target", ["eql", "lucene", "esql"])
def test_a_column_of_the_access_line_is_refused_naming_field_and_data_source(target: str, tmp_path: Path) -> None:
    loaded = rule(METHOD_RULE)
    result = Converter(target, options={"mapping": str(template([loaded], tmp_path))}).convert(loaded)
    assert result.status != "converted"
    reason = result.reason or ""
    assert "'cs-method' is not mapped by pipeline ecs-lines (data_source=filestream)" in reason
    assert "webserver-access" in reason and "parses no column" in reason


def test_no_refusal_entry_is_left_for_the_logsource_the_line_entry_maps() -> None:
    text = (MAPPINGS / "ecs-uncovered.yml").read_text("utf-8")
    assert "category: webserver" not in text


CORPUS_RULES = MAPPINGS.parents[2].parent / "shared" / "corpus" / "sigmahq" / "rules"
KEYWORD_ONLY = {"web_java_payload_in_access_logs.yml", "web_jndi_exploit.yml", "web_source_code_enumeration.yml"}


@pytest.mark.skipif(not (CORPUS_RULES / "web" / "webserver_generic").is_dir(),
                    reason="../shared/corpus (SigmaHQ rules) is absent")
def test_sigmahq_webserver_rules_are_proven_or_refused_naming_the_column(tmp_path: Path) -> None:
    paths = sorted((CORPUS_RULES / "web" / "webserver_generic").glob("*.yml"))
    loaded = [item for path in paths for item in load_text(path.read_text("utf-8"), str(path))]
    assert len(loaded) >= 10
    checker = Checker(["eql", "lucene"], mapping=template(loaded, tmp_path))
    proven, refused = set(), set()
    for item in loaded:
        name = Path(item.path).name
        for target, outcome in checker.check(item, generate_events(item.rule)).targets.items():
            assert not outcome.disagreements, f"{name} {target} differs"
            if outcome.equivalent:
                proven.add(name)
            else:
                assert "ecs-lines (data_source=filestream)" in (outcome.reason or ""), f"{name} {target}: {outcome.reason}"
                refused.add(name)
    # Every keyword-only rule present at the corpus commit is proven; the rest name a column.
    assert KEYWORD_ONLY & {p.name for p in paths} <= proven
    assert not proven & refused
