"""OpenCanary on Elastic (``ecs-opencanary``) and ``value_map``'s ``unlisted: kept``: the
integration writes a listed logtype's name to ``log.logger`` and any other code as itself."""

from __future__ import annotations

import pytest

from converter.checking.checker import Checker
from converter.conversion.convert import Converter
from converter.errors import PipelineError
from converter.generate.generator import generate_events
from converter.mapping.function_checks import check_unlisted
from converter.mapping.functions.registry import RENDER_FUNCTIONS, invert_value_map
from converter.mapping.loader import load_table
from converter.rules.load import load_text

RULE = """
title: canary rule
id: c1111111-2222-3333-4444-555555555557
logsource: {product: opencanary, category: application}
detection:
    selection:
        logtype: 2000
    condition: selection
"""


def spec():
    """The table's logtype target."""
    entry = next(e for e in load_table("ecs-opencanary").logsources if e.id == "opencanary-application")
    return entry.field_targets("opencanary")["logtype"]


def check(text: str, targets: list[str]):
    loaded = load_text(text, "rule.yml")[0]
    return Checker(targets).check(loaded, generate_events(loaded.rule)).targets


@pytest.mark.parametrize("target", ["eql", "lucene", "kql-es"])
def test_listed_code_is_its_name_and_proven(target: str) -> None:
    outcome = check(RULE, [target])[target]
    assert outcome.equivalent, outcome.reason
    assert "LOG_FTP_LOGIN_ATTEMPT" in (outcome.query or "") and "opencanary.events" in outcome.query


@pytest.mark.parametrize("selection", [
    "logtype: [2000, 77, '4002']",   # an unlisted code (77) is its own text
    "logtype: ['0077', 2000]",      # '0077' is not canonical: no record holds it
    "logtype: [true, 5000]",
])
@pytest.mark.parametrize("condition", ["selection", "not selection"])
def test_unlisted_codes_and_negations_are_proven(selection: str, condition: str) -> None:
    text = RULE.replace("logtype: 2000", selection).replace("condition: selection",
                                                            f"condition: {condition}")
    for target, outcome in check(text, ["eql", "lucene"]).items():
        assert outcome.equivalent, (target, outcome.reason)


def test_unlisted_code_query_and_render() -> None:
    text = RULE.replace("logtype: 2000", "logtype: 77")
    query = " ".join(Converter("eql").convert(load_text(text, "rule.yml")[0]).queries)
    assert 'log.logger == "77"' in query and "LOG_" not in query
    render = RENDER_FUNCTIONS["value_map"]
    assert render(2000, spec()) == {"log.logger": "LOG_FTP_LOGIN_ATTEMPT"}
    assert render("77", spec()) == {"log.logger": "77"} and render(77, spec()) == {"log.logger": "77"}
    assert invert_value_map("LOG_VNC", spec()) == "12001" and invert_value_map("77", spec()) == "77"
    for impossible in ("077", "2000.0", " 2000", None, True):
        with pytest.raises(ValueError):
            render(impossible, spec())


@pytest.mark.parametrize("value", ["logtype|startswith: '20'", "logtype|re: '^20'", "logtype|gte: 2000"])
def test_a_pattern_on_unlisted_codes_is_refused(value: str) -> None:
    result = Converter("eql").convert(load_text(RULE.replace("logtype: 2000", value), "rule.yml")[0])
    assert result.status != "converted"
    assert "log.logger" in (result.reason or "") and "no exact query" in (result.reason or "")


def test_unlisted_kept_needs_decimal_keys_and_names() -> None:
    check_unlisted({"unlisted": "kept", "values": {"1": "ONE"}}, "x", "t.yml")
    for bad in ({"unlisted": "kept", "values": {"one": "ONE"}},
                {"unlisted": "kept", "values": {"1": "2"}},
                {"unlisted": "dropped", "values": {"1": "ONE"}}):
        with pytest.raises(PipelineError):
            check_unlisted(bad, "x", "t.yml")
