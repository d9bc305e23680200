"""Pipelines built from the mapping tables: which items apply, what they emit, how they fail."""

from __future__ import annotations

from pathlib import Path

import pytest
from sigma.collection import SigmaCollection

from converter.conversion.convert import Converter
from converter.errors import PipelineError
from converter.mapping.pipeline import TargetTraits, build_pipeline, load_user_pipeline
from converter.rules.load import load_text
from converter.mapping.variants import rewrite_condition
from helpers import convert, rule_text


@pytest.mark.parametrize(
    "condition, expected",
    [
        ("sel", "p__sel"),
        ("sel and not _filter", "p__sel and not _p__filter"),
        ("1 of sel* and not 1 of filter_*", "1 of p__sel* and not 1 of p__filter_*"),
        ("all of them", "all of p__*"),
        ("(a or b) and c", "( p__a or p__b ) and p__c"),
    ],
)
def test_condition_rewrite_for_variants(condition: str, expected: str) -> None:
    assert rewrite_condition(condition, "p__") == expected


def test_applied_items_are_identified() -> None:
    conv = convert("eql", rule_text("sel:\n    Image|endswith: '\\\\cmd.exe'\ncondition: sel"))
    assert conv.status == "converted"
    assert {
        "ecs-windows-windows-process-creation-unmapped",
        "ecs-windows-windows-process-creation-derived-process.name",
        "ecs-windows-windows-process-creation-category",
        "ecs-windows-windows-process-creation-conditions",
    } <= set(conv.pipeline)


def test_unmapped_field_names_field_and_reason() -> None:
    conv = convert("eql", rule_text("sel:\n    NoSuchField: Microsoft\ncondition: sel"))
    assert conv.status == "unsupported"
    assert "field 'NoSuchField' is not mapped" in conv.reason
    # A field Defend never records: the rule is constant there, refused with the table's reason.
    conv = convert("eql", rule_text("sel:\n    Company: Microsoft\ncondition: sel"))
    assert conv.status == "unsupported"
    assert "never records Company" in conv.reason
    assert "process.pe.company" in conv.reason  # the table's reason for Defend


def test_data_source_changes_the_fields() -> None:
    detection = "sel:\n    Company: Microsoft\ncondition: sel"
    conv = convert("eql", rule_text(detection), "winlogbeat")
    assert conv.status == "converted", conv.reason
    assert 'process.pe.company regex "[mM][iIİ][cC][rR][oO][sS][oO][fF][tT]"' in conv.output


def test_user_is_split_exactly() -> None:
    conv = convert("eql", rule_text("sel:\n    User|endswith: '\\\\SYSTEM'\ncondition: sel"))
    assert conv.status == "converted", conv.reason
    assert 'user.name regex "[sS][yY][sS][tT][eE][mM]"' in conv.output


def test_hashes_are_mapped_to_lowercase_digest_fields() -> None:
    conv = convert("eql", rule_text("sel:\n    Hashes|contains: 'MD5=0123456789ABCDEF0123456789ABCDEF'\ncondition: sel"))
    assert conv.status == "converted", conv.reason
    assert "process.hash.md5" in conv.output and "0123456789abcdef" in conv.output


def test_kql_uses_caseless_only_for_case_insensitive_strings() -> None:
    conv = convert(
        "kql",
        rule_text("sel:\n    Image|endswith: '\\\\cmd.exe'\n    CommandLine|cased: 'AbC'\ncondition: sel"),
    )
    assert "process.name.caseless:cmd.exe" in conv.output
    assert "process.command_line:AbC" in conv.output


def test_lucene_avoids_lossy_caseless_command_line() -> None:
    conv = convert("lucene", rule_text("sel:\n    CommandLine|contains: 'whoami'\ncondition: sel"))
    # process.command_line.caseless stops at 1,024 characters: the exact regex is used instead.
    assert "process.command_line:/" in conv.output
    assert ".caseless" not in conv.output


def test_splunk_covers_sysmon_and_security_4688() -> None:
    conv = convert("splunk", rule_text("sel:\n    Image|endswith: '\\\\cmd.exe'\ncondition: sel"))
    assert conv.output == (
        '(source="XmlWinEventLog:Microsoft-Windows-Sysmon/Operational" EventCode=1 '
        'Image="*\\\\cmd.exe") OR (source="XmlWinEventLog:Security" EventCode=4688 '
        'NewProcessName="*\\\\cmd.exe")'
    )


def test_uncovered_logsource_is_unsupported() -> None:
    (loaded,) = load_text(
        "title: t\nlogsource: {product: windows, category: clipboard_capture}\n"
        "detection:\n  sel:\n    ImageLoaded: x\n  condition: sel\n",
        "inline.yml",
    )
    conv = Converter("eql").convert(loaded)
    assert conv.status == "unsupported"
    assert "no mapping for logsource product: windows, category: clipboard_capture" in conv.reason


def test_user_pipeline_file_runs_after_the_default(tmp_path: Path) -> None:
    extra = tmp_path / "extra.yml"
    extra.write_text(
        "name: extra\npriority: 100\ntransformations:\n"
        "  - id: prefix\n    type: field_name_prefix\n    prefix: 'x.'\n",
        encoding="utf-8",
    )
    (loaded,) = load_text(rule_text("sel:\n    Image|endswith: '\\\\cmd.exe'\ncondition: sel"), "r.yml")
    conv = Converter("eql", pipelines=[str(extra)]).convert(loaded)
    assert conv.status == "converted", conv.reason
    assert 'x.process.name : "cmd.exe"' in conv.output


def test_invalid_user_pipeline_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("transformations: [\n", encoding="utf-8")
    with pytest.raises(PipelineError) as info:
        load_user_pipeline(bad)
    assert str(bad) in info.value.one_line()


def test_table_options_are_validated() -> None:
    with pytest.raises(PipelineError, match="is not one of"):
        build_pipeline("ecs-windows", TargetTraits(), {"data_source": "nosuch"})


def test_sigma_collection_is_not_mutated_across_targets() -> None:
    (loaded,) = load_text(rule_text("sel:\n    Image|endswith: '\\\\cmd.exe'\ncondition: sel"), "r.yml")
    first = Converter("eql").convert(loaded).output
    Converter("splunk").convert(loaded)
    assert Converter("eql").convert(loaded).output == first
    assert isinstance(loaded.rule, type(SigmaCollection.from_yaml(loaded.text).rules[0]))


@pytest.mark.parametrize("target", ["kql", "splunk", "esql", "lucene", "eql"])
def test_negated_windash_expansion_stays_grouped(target: str) -> None:
    """A windash expansion is an OR of variants: under NOT it must stay one group (in KQL and
    SPL, `not a or b` negates only `a`)."""
    from converter.checking.checker import Checker
    from converter.events.render import SampleEvent

    (loaded,) = load_text(
        rule_text(
            "sel:\n    Image|endswith: '\\\\regsvr32.exe'\nfilter:\n"
            "    CommandLine|windash|contains: ' -n '\ncondition: sel and not filter"
        ),
        "r.yml",
    )
    conv = Converter(target).convert(loaded)
    assert conv.status == "converted", conv.reason
    if target == "esql":
        return  # no interpreter: the text check above is all there is
    base = {"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
            "Image": "C:\\Windows\\System32\\regsvr32.exe"}
    events = [SampleEvent({**base, "CommandLine": f"regsvr32 {flag}n x.dll"}) for flag in "-/–—―"]
    events.append(SampleEvent({**base, "CommandLine": "regsvr32 x.dll"}))
    result = Checker([target]).check(loaded, events).targets[target]
    assert result.matched == [5], result


def test_variant_decides_absent_fields_like_the_reference() -> None:
    """Security 4688 has no CurrentDirectory: `CurrentDirectory: null` is TRUE there (found by the
    OTRF backtest: the SPL 4688 branch treated it as never matching)."""
    from converter.checking.checker import Checker
    from converter.events.render import SampleEvent

    (loaded,) = load_text(
        rule_text(
            "sel:\n    Image|endswith: '\\\\calc.exe'\nfilter_null:\n    CurrentDirectory: null\n"
            "filter_c:\n    CurrentDirectory|contains: 'C:\\\\'\ncondition: sel and not 1 of filter_*"
        ),
        "r.yml",
    )
    image = "D:\\calc.exe"
    events = [
        SampleEvent({"EventID": 4688, "Channel": "Security", "Image": image}),
        SampleEvent({"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational", "Image": image,
                     "CurrentDirectory": "D:\\x\\"}),
    ]
    result = Checker(["splunk"]).check(loaded, events)
    assert result.reference_matched == [1]
    assert result.targets["splunk"].matched == [1]
    assert result.targets["splunk"].disagreements == []


def test_list_conditions_compare_case_sensitively() -> None:
    """A list of shipper values (one per source's vocabulary) is exact terms, like a single one:
    KQL needs no case warning on windows data, EQL compares with ``==``."""
    (loaded,) = load_text(
        rule_text("sel:\n    Image|endswith: '\\\\reg.exe'\ncondition: sel", "registry_set"),
        "inline.yml",
    )
    eql = Converter("eql", options={"data_source": "windows"}).convert(loaded)
    assert eql.status == "converted", eql.reason
    assert 'event.action == "RegistryEvent (Value Set)"' in eql.output
    assert 'event.action : "modification"' not in eql.output
    kql = Converter("kql", options={"data_source": "windows"}).convert(loaded)
    assert not any("event.action" in w for w in kql.warnings), kql.warnings


def test_dropped_values_item_applies_only_where_values_are_dropped() -> None:
    detection = "sel:\n    CommandLine|endswith: '.exe'\ncondition: sel"
    windows = convert("eql", rule_text(detection), "windows")
    assert "ecs-windows-windows-process-creation-dropped-values" in windows.pipeline
    defend = convert("eql", rule_text(detection))
    assert not any(p.endswith("-dropped-values") for p in defend.pipeline)
