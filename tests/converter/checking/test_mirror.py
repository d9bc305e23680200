"""``check -p FILE``: a user pipeline's renames and added conditions are mirrored on the events.

Without the mirror a correct query that renames a field would be reported as differing (the events
would keep the built-in names), and a pipeline that rewrites values would be proven against events
it never saw. These tests pin both directions: mirrored items are equivalent, everything else is
"not proven" (or, when events show a difference, reported with the unmirrored item named).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from converter.checking.checker import Checker
from converter.events.render import SampleEvent, read_jsonl, sample_events_path
from converter.checking.user_pipeline import mirror_for, user_pipelines
from converter.mapping.pipeline import PipelineError
from converter.rules.load import load_rules

ROOT = Path(__file__).resolve().parents[3]
ZOOM = ROOT / "sigma_rules/windows/process_creation/proc_creation_win_zoom_suspicious_child_process.yml"


@pytest.fixture(scope="module")
def zoom() -> tuple[object, list[SampleEvent]]:
    return load_rules([ZOOM])[0], read_jsonl(sample_events_path(ZOOM))


def _pipeline(tmp_path: Path, body: str, name: str = "user.yml") -> str:
    path = tmp_path / name
    path.write_text("name: user pipeline\npriority: 100\ntransformations:\n" + body, encoding="utf-8")
    return str(path)


RENAME = """\
  - id: names
    type: field_name_mapping
    mapping:
      process.parent.name: parent.proc.name
      ParentImage: parent_path
  - id: index
    type: add_condition
    conditions:
      data_stream.namespace: prod
"""


def test_renames_and_added_conditions_are_equivalent(tmp_path: Path, zoom) -> None:
    loaded, events = zoom
    checker = Checker(["eql", "splunk"], [_pipeline(tmp_path, RENAME)])
    result = checker.check(loaded, events)
    eql, splunk = result.targets["eql"], result.targets["splunk"]
    assert "parent.proc.name" in eql.query and 'data_stream.namespace : "prod"' in eql.query
    assert "parent_path=" in splunk.query
    assert eql.equivalent is True, eql.reason
    assert splunk.equivalent is True, splunk.reason


def test_without_the_mirror_the_renamed_query_would_differ(tmp_path: Path, zoom) -> None:
    """The mirror is what makes the check above pass: the query really uses the new names."""
    loaded, events = zoom
    checker = Checker(["eql"], [_pipeline(tmp_path, RENAME)])
    checker.user_pipelines = []  # as before the mirror existed
    assert checker.check(loaded, events).targets["eql"].equivalent is False


def test_value_rewrite_that_changes_meaning_is_reported_with_its_name(tmp_path: Path, zoom) -> None:
    loaded, events = zoom
    body = "  - id: rewrite\n    type: replace_string\n    regex: cmd\n    replacement: xyz\n"
    target = Checker(["eql"], [_pipeline(tmp_path, body)]).check(loaded, events).targets["eql"]
    assert target.equivalent is False
    assert "ReplaceStringTransformation (rewrite)" in target.reason


def test_value_rewrite_that_events_do_not_expose_is_not_proven(tmp_path: Path, zoom) -> None:
    loaded, events = zoom
    body = "  - id: noop\n    type: replace_string\n    regex: qqqq\n    replacement: z\n"
    target = Checker(["eql"], [_pipeline(tmp_path, body)]).check(loaded, events).targets["eql"]
    assert target.equivalent is None
    assert target.reason.startswith("not proven: the user pipeline's user.yml: ReplaceStringTransformation")


def test_rule_conditions_decide_whether_an_item_applies(tmp_path: Path, zoom) -> None:
    loaded, _ = zoom
    body = """\
  - type: field_name_mapping
    mapping: {process.name: linux.name}
    rule_conditions: [{type: logsource, product: linux}]
  - type: field_name_mapping
    mapping: {process.name: win.name}
    rule_conditions: [{type: logsource, product: windows}]
"""
    mirror = mirror_for(user_pipelines([_pipeline(tmp_path, body)]), loaded.rule)
    assert mirror.unmirrored == ()
    assert mirror.apply({"process.name": "a", "other": 1}) == {"win.name": "a", "other": 1}


def test_field_name_conditions_guard_a_prefix(tmp_path: Path, zoom) -> None:
    loaded, _ = zoom
    body = """\
  - type: field_name_prefix
    prefix: "win."
    field_name_conditions: [{type: include_fields, fields: [process.name]}]
"""
    mirror = mirror_for(user_pipelines([_pipeline(tmp_path, body)]), loaded.rule)
    event = {"process.name": "a", "process.executable": "b"}
    assert mirror.apply(event) == {"win.process.name": "a", "process.executable": "b"}
    assert event == {"process.name": "a", "process.executable": "b"}  # the input is not touched


def test_prefix_mapping_and_one_to_many(tmp_path: Path, zoom) -> None:
    loaded, _ = zoom
    body = """\
  - type: field_name_prefix_mapping
    mapping: {"process.parent.": "parent."}
  - type: field_name_mapping
    mapping: {process.name: [proc.name, proc.alt_name]}
"""
    mirror = mirror_for(user_pipelines([_pipeline(tmp_path, body)]), loaded.rule)
    got = mirror.apply({"process.parent.name": "p", "process.name": "c"})
    assert got == {"parent.name": "p", "proc.name": "c"}


@pytest.mark.parametrize(
    "body, why",
    [
        ("  - type: add_condition\n    negated: true\n    conditions: {a: b}\n", "AddConditionTransformation"),
        ("  - type: add_condition\n    conditions: {a: 'x*'}\n", "AddConditionTransformation"),
        (
            "  - type: field_name_mapping\n    mapping: {a: b}\n"
            "    detection_item_conditions: [{type: match_string, cond: any, pattern: x}]\n",
            "with detection-item conditions",
        ),
    ],
)
def test_items_that_cannot_be_mirrored_are_named(tmp_path: Path, zoom, body: str, why: str) -> None:
    loaded, _ = zoom
    mirror = mirror_for(user_pipelines([_pipeline(tmp_path, body)]), loaded.rule)
    assert mirror.steps == ()
    assert len(mirror.unmirrored) == 1 and why in mirror.unmirrored[0]
    assert "user.yml" in (mirror.approximation() or "")


def test_items_without_event_effect_change_nothing(tmp_path: Path, zoom) -> None:
    loaded, _ = zoom
    body = """\
  - type: set_state
    key: index
    val: sysmon
  - type: change_logsource
    product: other
  - type: rule_failure
    message: never
    rule_conditions: [{type: logsource, product: linux}]
"""
    mirror = mirror_for(user_pipelines([_pipeline(tmp_path, body)]), loaded.rule)
    assert mirror.steps == () and mirror.unmirrored == ()


def test_builtin_names_are_not_user_pipelines_and_bad_files_fail(tmp_path: Path) -> None:
    assert user_pipelines(["ecs-windows", "ecs"]) == []
    bad = tmp_path / "bad.yml"
    bad.write_text("transformations: [{type: no_such_thing}]\n", encoding="utf-8")
    with pytest.raises(PipelineError):
        user_pipelines([str(bad)])
