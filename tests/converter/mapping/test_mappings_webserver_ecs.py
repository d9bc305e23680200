"""Web server access logs (``category: webserver``) on Elastic: the access-log line read whole by
the Custom Logs (Filestream) integration (``ecs-lines`` entry ``webserver-access``).

The line is the Sigma event's one value, so a keyword is "``message`` contains it", exact on the
caseless copy ``sigport mapping`` adds; the columns of nginx's combined format that the web
taxonomy names (cs-method, cs-uri-query, sc-status, cs-referer, cs-user-agent) are regexes of the
whole line on its cased copy (``access_column``), and the renderer writes the line of an event
holding them; other columns are refused naming the field and the data source, and so is a rule
testing keywords and columns (a keyword is found in the whole line, the reference looks in each
column). The Nginx / Apache integrations and Network Packet Capture keep no raw request
target (the table's comments), so no other Elastic data source maps this logsource.
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


STEM_RULE = """
title: a column the entry does not read
id: 92111111-2222-3333-4444-555555555553
logsource: {category: webserver}
detection:
    selection:
        cs-uri-stem|endswith: '.php'
    condition: selection
"""

COLUMNS_RULE = """
title: columns of the combined line
id: 92111111-2222-3333-4444-555555555554
logsource: {category: webserver}
detection:
    selection:
        cs-method: POST
        cs-uri-query|contains: 'cmd='
        cs-user-agent|contains: 'sqlmap/'
        cs-referer: null
    filter:
        sc-status: 404
    condition: selection and not filter
"""


def rule(text: str) -> LoadedRule:
    """The one rule of a YAML text."""
    return load_text(text, "rule.yml")[0]


def template(loaded: list[LoadedRule], tmp_path: Path) -> Path:
    """The template ``sigport mapping`` writes for these rules (data source defend)."""
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template_body(propose(loaded, "defend"))), encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "copy"), [
    # Before this entry, ecs-uncovered refused every webserver rule on Elastic.
    (KEYWORD_RULE, "sigport.caseless.message"),
    # Before access_column, every column was refused ("parses no column"); a column test is a
    # regex of the whole line, on the cased copy.
    (COLUMNS_RULE, "sigport.cased.message"),
])
def test_webserver_keywords_and_columns_are_proven_on_a_copy_of_the_line(text: str, copy: str, tmp_path: Path) -> None:
    loaded = rule(text)
    result = Checker(["eql", "lucene", "esql"], mapping=template([loaded], tmp_path)).check(
        loaded, generate_events(loaded.rule))
    for target, outcome in result.targets.items():
        assert outcome.equivalent, f"{target}: {outcome.reason}"
        assert copy in (outcome.query or ""), target


def test_the_line_is_message_and_nothing_else_of_the_event() -> None:
    renderer = EventRenderer.routed(load_table("ecs-windows"))
    line = '10.0.0.1 - - [07/Dec/2026:10:00:00 +0000] "GET /?a=${@java HTTP/1.1" 200 5 "-" "curl/8"'
    out = renderer.render_sample(SampleEvent({"Channel": "webserver", "line": line}))
    assert out is not None and out["message"] == line and "Channel" not in out
    assert out["data_stream.dataset"] == "filestream.generic"


def test_the_line_of_an_event_holding_columns() -> None:
    renderer = EventRenderer.routed(load_table("ecs-windows"))
    out = renderer.render_sample(SampleEvent({
        "Channel": "webserver", "cs-method": "GET", "cs-uri-query": "a=1 b", "sc-status": 200,
        "cs-user-agent": "curl/8", "cs-referer": None,
    }))
    assert out is not None
    assert out["message"] == ('192.0.2.1 - - [07/Dec/2026:10:00:00 +0000] "GET /?a=1 b HTTP/1.1" 200 0 '
                              '"-" "curl/8"')


@pytest.mark.parametrize("target", ["eql", "lucene", "esql"])
def test_a_column_the_entry_does_not_read_is_refused_naming_field_and_data_source(target: str, tmp_path: Path) -> None:
    loaded = rule(STEM_RULE)
    result = Converter(target, options={"mapping": str(template([loaded], tmp_path))}).convert(loaded)
    assert result.status != "converted"
    reason = result.reason or ""
    assert "'cs-uri-stem' is not mapped by pipeline ecs-lines (data_source=filestream)" in reason
    assert "webserver-access" in reason and "no other column" in reason


NOT_METHOD_RULE = """
title: a keyword and a negated column
id: 92111111-2222-3333-4444-555555555561
logsource: {category: webserver}
detection:
    keywords: ['GET /']
    filter:
        cs-method: POST
    condition: keywords and not filter
"""


@pytest.mark.parametrize("text", [METHOD_RULE, NOT_METHOD_RULE])
def test_keywords_with_columns_are_refused(text: str, tmp_path: Path) -> None:
    # NOT_METHOD_RULE's events that render hold the keyword alone (a line without columns), on
    # which "the line contains 'GET /'" agrees; without the refusal it was proven, while on the
    # line '"GET / HTTP/1.1" ...' the query matches and the event (cs-method GET, no column
    # holding 'GET /') does not.
    loaded = rule(text)
    for target in ("eql", "lucene", "esql"):
        result = Converter(target, options={"mapping": str(template([loaded], tmp_path))}).convert(loaded)
        assert result.status == "unsupported", target
        assert "keywords next to tests of the access line's columns" in (result.reason or ""), target


def test_no_refusal_entry_is_left_for_the_logsource_the_line_entry_maps() -> None:
    text = (MAPPINGS / "ecs-uncovered.yml").read_text("utf-8")
    assert "category: webserver" not in text


CORPUS_RULES = MAPPINGS.parents[2].parent / "shared" / "corpus" / "sigmahq" / "rules"
KEYWORD_ONLY = {"web_java_payload_in_access_logs.yml", "web_jndi_exploit.yml", "web_source_code_enumeration.yml"}
COLUMNS_ONLY = {"web_f5_tm_utility_bash_api_request.yml", "web_iis_tilt_shortname_scan.yml",
                "web_path_traversal_exploitation_attempt.yml", "web_susp_useragents.yml",
                "web_susp_windows_path_uri.yml", "web_webshell_regeorg.yml"}


@pytest.mark.skipif(not (CORPUS_RULES / "web" / "webserver_generic").is_dir(),
                    reason="../shared/corpus (SigmaHQ rules) is absent")
def test_sigmahq_webserver_rules_are_proven_or_not_proven(tmp_path: Path) -> None:
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
                reason = outcome.reason or ""
                assert "data_source=filestream" in reason, f"{name} {target}: {reason}"
                refused.add(name)
    # Every keyword-only and column-only rule present at the corpus commit is proven; the rest
    # (keywords with columns) are refused.
    assert (KEYWORD_ONLY | COLUMNS_ONLY) & {p.name for p in paths} <= proven
    assert not proven & refused
