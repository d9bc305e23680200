"""EQL and Lucene on the caseless copies that ``sigport mapping`` adds (issues 12/13/14).

With the generated template as ``--mapping``, a case-insensitive string test moves to the copy
``sigport.caseless.<field>`` (a ``wildcard`` field, no length limit) with its value encoded as the
ingest pipeline writes the copy, and the emitter tests it case-sensitively: exact at any length.
Without the template the same tests stop at the keyword field's ``ignore_above`` (1,024).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from converter.cli import main
from converter.conversion.convert import Converter
from converter.rules.load import load_text

#: ParentImage is process.parent.executable: an ECS keyword field with ignore_above 1,024 on the
#: Windows integration; a `contains` can match a value past that limit. The list of file names
#: takes EQL's list form; the space and the mixed case need the copy's encoding.
RULE = """
title: t
id: 0b8f7a3e-0000-4000-8000-0000000000c1
logsource: {category: process_creation, product: windows}
detection:
  sel:
    ParentImage|contains: '\\Temp Dir\\'
    Image|endswith:
      - '\\Rundll32.exe'
      - '\\RegSvr32.EXE'
  condition: sel
"""


def _template(tmp_path: Path, rule_text: str = RULE, data_source: str = "windows") -> Path:
    rule = tmp_path / "r.yml"
    rule.write_text(rule_text, encoding="utf-8")
    template = tmp_path / "t.json"
    result = CliRunner().invoke(main, [
        "mapping", str(rule), "--data-source", data_source, "-o", str(template)
    ])
    assert result.exit_code == 0, result.output
    return template


def _check(tmp_path: Path, *extra: str) -> dict[str, Any]:
    result = CliRunner().invoke(main, [
        "check", str(tmp_path / "r.yml"), "--generate", "-t", "eql", "-t", "lucene",
        "--data-source", "windows", "--format", "json", *extra,
    ])
    assert result.exit_code in (0, 1), result.output
    targets: dict[str, Any] = json.loads(result.stdout)["rules"][0]["targets"]
    return targets


@pytest.mark.parametrize("data_source", ["windows", "winlogbeat"])
def test_over_limit_test_not_proven_without_the_template_equivalent_with_it(
    tmp_path: Path, data_source: str
) -> None:
    template = _template(tmp_path, data_source=data_source)
    without = CliRunner().invoke(main, [
        "check", str(tmp_path / "r.yml"), "--generate", "-t", "eql", "-t", "lucene",
        "--data-source", data_source, "--format", "json",
    ])
    with_copies = CliRunner().invoke(main, [
        "check", str(tmp_path / "r.yml"), "--generate", "-t", "eql", "-t", "lucene",
        "--data-source", data_source, "--format", "json", "--mapping", str(template),
    ])
    for target in ("eql", "lucene"):
        plain = json.loads(without.stdout)["rules"][0]["targets"][target]
        assert plain["equivalent"] is not True
        assert any("ignore_above" in w for w in plain["warnings"])
        copied = json.loads(with_copies.stdout)["rules"][0]["targets"][target]
        assert copied["equivalent"] is True, copied
        assert copied["warnings"] == []
        assert "sigport.caseless.process.parent.executable" in copied["query"]


def test_the_queries_test_the_encoded_value_case_sensitively(tmp_path: Path) -> None:
    template = _template(tmp_path)
    rule = load_text(RULE, "r.yml")[0]
    options = {"data_source": "windows", "mapping": str(template)}
    eql = Converter("eql", options=options).convert(rule).output
    # `==`/`like`, never `:` (which would fold the lowercased value again); the list form
    # of `like` for several values; whitespace swapped as the pipeline writes it.
    assert 'sigport.caseless.process.parent.executable like "*\\\\temp\u2420dir\\\\*"' in eql
    assert 'sigport.caseless.process.name like ("rundll32.exe", "regsvr32.exe")' in eql
    assert " : " not in eql.partition(" where ")[2].replace("host.os.type", "")
    lucene = Converter("lucene", options=options).convert(rule).output
    assert "sigport.caseless.process.parent.executable:*\\\\temp\u2420dir\\\\*" in lucene
    assert "sigport.caseless.process.name:(rundll32.exe OR regsvr32.exe)" in lucene
    assert "[rR]" not in lucene  # no per-letter regex on the copy


def test_cased_and_regex_tests_read_the_cased_copy(tmp_path: Path) -> None:
    """|cased values and regexes do not go to the caseless copy (it is lowercased); on a field
    that stops at an ignore_above they go to its cased copy (swaps only, no limit), which the
    template maps: the regex written through the swap, the |cased value encoded with it, and no
    length limit left to declare."""
    text = RULE.replace("  condition: sel", (
        "  cased:\n    ParentImage|contains|cased: '\\\\Temp\\\\'\n"
        "  rx:\n    ParentImage|re: '\\\\Temp\\s'\n"
        "  condition: sel and not cased and not rx"
    ))
    template = _template(tmp_path, text)
    rule = load_text(text, "r.yml")[0]
    for target in ("eql", "lucene"):
        conversion = Converter(
            target, options={"data_source": "windows", "mapping": str(template)}
        ).convert(rule)
        assert "sigport.caseless.process.parent.executable" in conversion.output
        # the |cased and the regex test read the cased copy, never the keyword field
        rest = conversion.output.replace("sigport.caseless.process.parent.executable", "")
        assert "sigport.cased.process.parent.executable" in rest
        assert "process.parent.executable" not in rest.replace(
            "sigport.cased.process.parent.executable", "")
        assert "\u2420" in rest  # the regex's \s through the swap (a space is \u2420 there)
        assert not any("ignore_above" in w for w in conversion.warnings), conversion.warnings


def test_backtest_finds_long_mixed_case_values_on_the_copies(tmp_path: Path) -> None:
    """Events as the pipeline writes them: an over-limit parent path in upper case is found on
    the copy, exactly where Sigma finds it; without the template the keyword field misses it."""
    template = _template(tmp_path)
    base = {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
            "Image": "C:\\Windows\\System32\\RUNDLL32.EXE"}
    lines = [
        {**base, "ParentImage": "C:\\TEMP DIR\\x.exe"},
        {**base, "ParentImage": "C:\\" + "A" * 3000 + "\\temp dir\\y.exe"},
        {**base, "ParentImage": "C:\\Temp\tDir\\z.exe"},  # a tab is no space
        {**base, "ParentImage": "C:\\Temp\u2420Dir\\z.exe"},  # the swap symbol is no space
        {**base, "ParentImage": "C:\\Temp Dir\\w.exe", "Image": "C:\\rundll32.exe.bak"},
    ]
    events = tmp_path / "e.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in lines), encoding="utf-8")
    args = ["backtest", str(tmp_path / "r.yml"), "--events", str(events), "-t", "eql", "-t",
            "lucene", "--data-source", "windows", "--workers", "1", "--format", "json"]
    with_copies = CliRunner().invoke(main, [*args, "--mapping", str(template)])
    assert with_copies.exit_code == 0, with_copies.output
    targets = json.loads(with_copies.stdout)["rules"][0]["targets"]
    for target in ("eql", "lucene"):
        assert targets[target]["hits"] == 2 and not targets[target]["disagreements"], targets
    without = CliRunner().invoke(main, args)  # the 3,000-character path is not indexed
    assert without.exit_code == 1


#: An auditd rule on the Defend data source: its logsource is read from the Auditd Logs
#: integration's index, which has none of Defend's `.caseless` multi-fields
#: (`caseless_subfields: false`) but is one of the data streams the template's requests name.
AUDITD_RULE = """
title: t
id: 0b8f7a3e-0000-4000-8000-0000000000c2
logsource: {product: linux, service: auditd}
detection:
  sel:
    type: EXECVE
    a0|contains: [chmod, chown]
  condition: sel
"""


def test_integration_logsources_read_the_template_copies(tmp_path: Path) -> None:
    """The template's copies are written into the integration's documents too, so an auditd
    test moves to them (exact past the 1,024-character limit), never to Defend's `.caseless`
    multi-fields, which that index lacks. The caseless step used to skip these logsources, so
    the template proposed no copy for `auditd.log.a0` and the rule differed on long values."""
    template = _template(tmp_path, AUDITD_RULE, data_source="defend")
    copies = json.loads(template.read_text(encoding="utf-8"))["template"]["mappings"]
    assert "a0" in copies["properties"]["sigport"]["properties"]["caseless"]["properties"][
        "auditd"]["properties"]["log"]["properties"]
    result = CliRunner().invoke(main, [
        "check", str(tmp_path / "r.yml"), "--generate", "-t", "eql", "-t", "lucene", "-t", "kql",
        "--data-source", "defend", "--format", "json", "--mapping", f"defend={template}",
    ])
    assert result.exit_code == 0, result.output
    for target, outcome in json.loads(result.stdout)["rules"][0]["targets"].items():
        assert outcome["equivalent"] is True, (target, outcome)
        assert "sigport.caseless.auditd.log.a0" in outcome["query"]
        assert ".caseless " not in outcome["query"] and ".caseless:" not in outcome["query"]


def test_integration_logsources_get_no_defend_multi_fields_without_copies(tmp_path: Path) -> None:
    """A template that maps no copy of a field leaves the integration's test on the field
    itself: Defend's `process.executable.caseless` is not in the auditd index."""
    rule = load_text(AUDITD_RULE.replace("a0|contains: [chmod, chown]",
                                         "a0|endswith: /chmod"), "r.yml")[0]
    template = tmp_path / "t.json"
    template.write_text(json.dumps({"template": {"mappings": {"properties": {
        "auditd": {"properties": {"log": {"properties": {"record_type": {
            "type": "keyword", "fields": {"lc": {"type": "keyword",
                                                 "normalizer": "lowercase"}}}}}}}}}}}),
        encoding="utf-8")
    lucene = Converter("lucene", options={"data_source": "defend", "mapping": str(template)})
    output = lucene.convert(rule).output
    assert "auditd.log.record_type.lc:EXECVE" in output.replace("execve", "EXECVE"), output
    assert "process.executable.caseless" not in output


LINUX_RULE = """
title: t
id: 0b8f7a3e-0000-4000-8000-0000000000c3
logsource: {category: process_creation, product: linux}
detection:
  sel:
    CommandLine|contains: ' -Enc '
  condition: sel
"""


def test_a_data_source_sigport_mapping_does_not_serve_reads_no_copy(tmp_path: Path) -> None:
    """sigport mapping converts each companion table on its default data source, so its requests
    install the copies on Defend's Linux streams, never on the Sysmon for Linux integration's:
    on --data-source sysmon_linux the template's copies are not read there."""
    text = LINUX_RULE
    template = _template(tmp_path, text, data_source="defend")
    assert '"sigport_caseless_of": "process.command_line"' in template.read_text(encoding="utf-8")
    rule = load_text(text, "r.yml")[0]
    for source, copied in (("defend", True), ("sysmon_linux", False)):
        for target in ("eql", "lucene"):
            output = Converter(
                target, options={"data_source": source, "mapping": str(template)}
            ).convert(rule).output
            assert ("sigport.caseless.process.command_line" in output) is copied, (source, output)
