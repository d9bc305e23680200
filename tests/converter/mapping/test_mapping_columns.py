"""``value_columns`` and ``any_of``'s ``by`` (``converter/mapping/functions/columns.py``).

The ASIM Network Session parser for Sysmon drops ``Initiated`` and records it as the side whose
``*AppType`` is ``"Process"``, with the process columns filled on that side only. Each function
is checked as ``tests/converter/mapping/test_functions.py`` checks every function: the query
side, evaluated on what the render side writes, agrees with the Sigma item on the Sigma event.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_functions import check_exact, evaluate, item_of, raises_with, sigma_rule
from test_mapping_values import INITIATED, INITIATED_PATTERNS

from converter.errors import PipelineError
from converter.events.render import EventRenderer
from converter.mapping.functions.registry import QUERY_FUNCTIONS, RENDER_FUNCTIONS
from converter.mapping.loader import load_table
from converter.mapping.table import FieldTarget
from converter.mapping.function_checks import check_by, check_value_columns

MARKERS = {"true": {"DstAppType": "Process"}, "false": {"SrcAppType": "Process"}}
INITIATED_COLUMNS = FieldTarget(
    "Initiated", "DstAppType", "value_columns", ("DstAppType", "SrcAppType"), (("values", MARKERS),)
)
# The domain, as for value_map (INITIATED): Sysmon's "true"/"false", case variants, a missing field.


@pytest.mark.parametrize(("key", "pattern"), INITIATED_PATTERNS)
def test_value_columns_exact(key: str, pattern: Any) -> None:
    check_exact(INITIATED_COLUMNS, key, pattern, INITIATED)


def test_value_columns_render_one_side_and_query_its_marker() -> None:
    render = RENDER_FUNCTIONS["value_columns"]
    assert render("true", INITIATED_COLUMNS) == {"DstAppType": "Process"}
    assert render("FALSE", INITIATED_COLUMNS) == {"SrcAppType": "Process"}
    assert render("yes", INITIATED_COLUMNS) == {}
    query = QUERY_FUNCTIONS["value_columns"](item_of(sigma_rule("Initiated", "true")), INITIATED_COLUMNS, "")
    assert evaluate(query, {"DstAppType": "Process"})
    assert not evaluate(query, {"SrcAppType": "Process"})
    assert not evaluate(query, {"DstAppType": "process"})  # the parser's constant, compared as written


@pytest.mark.parametrize(
    ("key", "pattern", "words"),
    [("Initiated|cased", "true", "case-sensitive"), ("Initiated|gt", 1, "comparison")],
)
def test_value_columns_errors(key: str, pattern: Any, words: str) -> None:
    raises_with(INITIATED_COLUMNS, key, pattern, words)


@pytest.mark.parametrize(
    "spec",
    [
        {"to": ["A", "B"], "values": {"true": {"A": "x"}, "TRUE": {"B": "x"}}},  # keys fold alike
        {"to": ["A", "B"], "values": {"true": {"A": "x"}, "false": {"A": "x", "B": "y"}}},  # within
        {"to": ["A"], "values": {"true": {"C": "x"}}},  # a column outside `to`
        {"to": ["A"], "values": {True: {"A": "x"}}},  # an unquoted YAML boolean
    ],
)
def test_value_columns_tables_are_validated(spec: dict[str, Any]) -> None:
    with pytest.raises(PipelineError):
        check_value_columns({"function": "value_columns", **spec}, "entry", "t.yml")


@pytest.mark.parametrize(
    "spec",
    [
        {"function": "copy", "to": "A", "by": {"field": "F", "targets": {"x": "A"}}},
        {"function": "any_of", "to": ["A", "B"], "by": {"field": "F", "targets": {"x": "C"}}},
        {"function": "any_of", "to": ["A", "B"], "by": {"targets": {"x": "A"}}},
        {"function": "any_of", "to": ["A", "B"], "by": {"field": "F", "targets": {"x": "A", "X": "B"}}},
        {"function": "any_of", "to": ["A", "B"], "by": "F"},
    ],
)
def test_by_is_validated(spec: dict[str, Any]) -> None:
    with pytest.raises(PipelineError):
        check_by(spec, "entry", "t.yml")


SYSMON_3 = {"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 3,
            "Image": "C:\\x\\a.exe", "User": "CORP\\bob", "ProcessId": "42",
            "DestinationIp": "192.0.2.1", "DestinationPort": "443"}


@pytest.mark.parametrize(
    ("initiated", "side", "other"),
    [("true", "Dst", "Src"), ("false", "Src", "Dst"), ("True", "Dst", "Src"), (None, None, None)],
)
def test_asim_network_renders_the_process_on_the_side_initiated_names(
    initiated: str | None, side: str | None, other: str | None
) -> None:
    """As the Sysmon parser writes it: Dst* when Initiated, Src* when not, nowhere otherwise."""
    event = dict(SYSMON_3, **({"Initiated": initiated} if initiated is not None else {}))
    rendered = EventRenderer(load_table("kusto-windows"), "sentinel-asim").render(event)
    assert rendered is not None and rendered["$table"] == "imNetworkSession"
    assert rendered["DstPortNumber"] == 443 and rendered["DstIpAddr"] == "192.0.2.1"
    if side is None:
        assert not {k for k in rendered if k.endswith(("ProcessName", "Username", "AppType"))}
        return
    assert rendered[f"{side}ProcessName"] == "C:\\x\\a.exe"
    assert rendered[f"{side}Username"] == "CORP\\bob" and rendered[f"{side}ProcessId"] == "42"
    assert rendered[f"{side}AppType"] == "Process"
    assert not {k for k in rendered if k.startswith(other)} - {"DstIpAddr", "DstPortNumber"}
