"""Plain-text log lines on Elastic (``ecs-lines``): the Custom Logs (Filestream) integration keeps
each line whole in ``message``, so a keyword of SigmaHQ's sshd, syslog, application, device and
web server error-log rules is the test "``message`` contains it" (``KeywordTextField``), exact only
on the caseless copy ``sigport mapping`` adds (``message`` is ``match_only_text``)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import yaml
from sigma.exceptions import SigmaTransformationError
from sigma.types import SigmaBool, SigmaCasedString, SigmaNumber, SigmaRegularExpression, SigmaString

from converter.checking.checker import Checker
from converter.conversion.convert import Converter
from converter.events.render import EventRenderer, SampleEvent
from converter.events.text_lines import FILESTREAM_MAX_BYTES
from converter.generate.generator import generate_events
from converter.mapping.loader import companion_tables, load_table
from converter.mapping.text_fields import _contained
from converter.outputs.index_template import propose, template_body
from converter.rules.load import LoadedRule, load_text
from test_mappings_corpus import ELASTIC_ETC, MAPPINGS, documented_functions, schema_problems

SSHD_RULE = """
title: sshd keywords
id: 91111111-2222-3333-4444-555555555551
logsource: {product: linux, service: sshd}
detection:
    keywords:
        - 'unexpected internal error'
        - 'Bad pro*col'
    condition: keywords
"""

CISCO_RULE = """
title: device keywords with a filter
id: 91111111-2222-3333-4444-555555555552
logsource: {product: cisco, service: aaa}
detection:
    keywords:
        - 'show ip route'
        - 4444
    filter:
        - 'Show IP interface brief'
    condition: keywords and not filter
"""

CASED_RULE = """
title: a cased keyword
id: 91111111-2222-3333-4444-555555555553
logsource: {service: apache}
detection:
    keywords:
        '|cased':
            - 'Segmentation Fault'
    condition: keywords
"""


def rule(text: str) -> LoadedRule:
    """The one rule of a YAML text."""
    return load_text(text, "rule.yml")[0]


def template(loaded: LoadedRule, tmp_path: Path) -> Path:
    """The template ``sigport mapping`` writes for one rule (default data source)."""
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template_body(propose([loaded], "defend"))), encoding="utf-8")
    return path


@pytest.mark.parametrize("text", [SSHD_RULE, CISCO_RULE], ids=["sshd", "cisco-aaa"])
def test_keyword_rule_is_proven_on_the_caseless_copy_of_message(text: str, tmp_path: Path) -> None:
    loaded = rule(text)
    events = generate_events(loaded.rule)
    result = Checker(["eql", "lucene", "kql-es", "esql"], mapping=template(loaded, tmp_path)).check(loaded, events)
    for target, outcome in result.targets.items():
        assert outcome.equivalent, f"{target}: {outcome.reason}"
        assert "sigport.caseless.message" in (outcome.query or ""), target


def test_keyword_becomes_a_contains_test_of_message(tmp_path: Path) -> None:
    loaded = rule(SSHD_RULE)
    result = Converter("eql", options={"mapping": str(template(loaded, tmp_path))}).convert(loaded)
    assert result.status == "converted", result.reason
    query = "\n".join(result.queries)
    # Lowercased and wrapped in '*' as the copy holds it; the keyword's own wildcard is kept.
    assert '"*unexpected␠internal␠error*"' in query and '"*bad␠pro*col*"' in query
    assert query.startswith("any where")


def test_without_the_template_the_keyword_is_refused_naming_the_text_field() -> None:
    # message is match_only_text: a term or wildcard query tests its analysed words.
    for target in ("eql", "lucene"):
        result = Converter(target).convert(rule(SSHD_RULE))
        assert result.status != "converted"
        assert "field message" in (result.reason or "") and "match_only_text" in (result.reason or "")
        assert "sigport mapping" in (result.reason or "")
        # The entry's own table and data source (a companion of ecs-windows), not the base
        # pipeline's: was "(ecs-windows, data_source=defend)" and "--data-source defend".
        assert "(ecs-lines, data_source=filestream)" in (result.reason or ""), result.reason
        assert "--data-source filestream" in (result.reason or ""), result.reason


def test_a_cased_keyword_stays_on_message_and_is_refused(tmp_path: Path) -> None:
    # The caseless copy is lowercased: a case-sensitive substring has no exact test there.
    loaded = rule(CASED_RULE)
    result = Converter("lucene", options={"mapping": str(template(loaded, tmp_path))}).convert(loaded)
    assert result.status != "converted" and "field message" in (result.reason or "")


def test_a_field_of_a_line_logsource_is_refused_as_unmapped() -> None:
    text = SSHD_RULE.replace("    condition: keywords", "    sel: {user: root}\n    condition: keywords and sel")
    result = Converter("eql").convert(rule(text))
    assert result.status != "converted" and "'user' is not mapped" in (result.reason or "")


def test_contained_values_keep_case_wildcards_and_number_text() -> None:
    cased = _contained(SigmaCasedString.from_sigma_string(SigmaString("a*b")))
    assert isinstance(cased, SigmaCasedString) and cased == SigmaCasedString.from_sigma_string(SigmaString("*a*b*"))
    assert _contained(SigmaString("*x")) == SigmaString("*x*")
    assert _contained(SigmaString("")) == SigmaString("*")
    assert _contained(SigmaNumber(4444)) == SigmaString("*4444*")
    regex = SigmaRegularExpression("a.c")
    assert _contained(regex) is regex
    with pytest.raises(SigmaTransformationError, match="SigmaBool"):
        _contained(SigmaBool(True))


def test_renderer_writes_the_line_as_message_and_nothing_else_of_the_event() -> None:
    renderer = EventRenderer.routed(load_table("ecs-windows"))
    out = renderer.render_sample(SampleEvent({"Channel": "linux/sshd", "line": "sshd[1]: Bad protocol version"}))
    assert out is not None
    assert out["message"] == "sshd[1]: Bad protocol version"
    assert out["data_stream.dataset"] == "filestream.generic" and "Channel" not in out


@pytest.mark.parametrize("line", ["two\nlines", "cr\rinside", "x" * (FILESTREAM_MAX_BYTES + 1), "lone \ud800", ""],
                         ids=["lf", "cr", "too long", "surrogate", "empty"])
def test_no_record_holds_a_line_the_input_splits_cuts_or_cannot_read(line: str) -> None:
    renderer = EventRenderer.routed(load_table("ecs-windows"))
    with pytest.raises(ValueError):
        renderer.render_sample(SampleEvent({"Channel": "linux/sshd", "line": line}))


def test_table_schema_is_valid() -> None:
    raw = yaml.safe_load((MAPPINGS / "ecs-lines.yml").read_text("utf-8"))
    assert schema_problems(raw, documented_functions()) == []
    assert "ecs-lines" in companion_tables("ecs-windows")


@pytest.mark.skipif(not (ELASTIC_ETC / "ecs_flat.json.gz").is_file(), reason="../shared/corpus/elastic/etc is absent")
def test_every_text_field_is_the_ecs_field_the_table_says() -> None:
    # The integration declares message `external: ecs` (packages/filestream/fields/ecs.yml): its
    # ECS type is what makes the caseless copy necessary.
    with gzip.open(ELASTIC_ETC / "ecs_flat.json.gz", "rt", encoding="utf-8") as handle:
        ecs = json.load(handle)
    entries = load_table("ecs-lines").logsources
    assert entries and all(e.text_field == "message" for e in entries)
    assert ecs["message"]["type"] == "match_only_text"


CORPUS_RULES = MAPPINGS.parents[2].parent / "shared" / "corpus" / "sigmahq" / "rules"
LINE_FOLDERS = ("linux/builtin/sshd", "linux/builtin/syslog", "linux/builtin/cron", "application/jvm",
                "application/python", "network/cisco/aaa", "network/juniper", "web/product/apache",
                "web/product/nginx", "category/database")


@pytest.mark.skipif(not CORPUS_RULES.is_dir(), reason="../shared/corpus (SigmaHQ rules) is absent")
def test_sigmahq_keyword_rules_of_plain_text_logs_are_proven_with_the_template(tmp_path: Path) -> None:
    loaded = [item for folder in LINE_FOLDERS for path in sorted((CORPUS_RULES / folder).rglob("*.yml"))
              for item in load_text(path.read_text("utf-8"), str(path))]
    assert len(loaded) >= 20
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template_body(propose(loaded, "defend"))), encoding="utf-8")
    checker = Checker(["eql", "lucene"], mapping=path)
    failed = []
    for item in loaded:
        for target, outcome in checker.check(item, generate_events(item.rule)).targets.items():
            if not outcome.equivalent:
                failed.append(f"{Path(item.path).name} {target}: {outcome.reason}")
    assert failed == []
