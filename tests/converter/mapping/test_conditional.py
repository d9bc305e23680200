"""``exact_only_when`` (``converter/mapping/conditional.py``): a rule is converted only when, on
events where the data source does not keep a field, its verdict cannot depend on that field."""

from __future__ import annotations

import pytest
from sigma.exceptions import SigmaTransformationError

from converter.mapping.conditional import ConditionalFieldsTransformation, depends_on
from converter.rules.load import load_text

GATED = frozenset({"DestinationHostname"})


def rule_of(detection: str):  # noqa: ANN201 - a pySigma rule
    text = (
        "title: t\nid: 0f5b8f2e-3c1d-4e6a-9b7c-2d4e6f8a0b2a\n"
        "logsource: {product: windows, category: network_connection}\n"
        f"detection:\n{detection}"
    )
    (loaded,) = load_text(text, "inline.yml")
    assert loaded.rule is not None, loaded.error
    return loaded.rule


@pytest.mark.parametrize(
    ("detection", "inbound", "missing"),
    [
        # Pinned to outbound: the host name cannot matter on inbound rows or without Initiated.
        ("  s: {Initiated: 'true', DestinationHostname|endswith: '.onion'}\n  condition: s\n", False, False),
        ("  s: {Initiated: 'true'}\n  h: {DestinationHostname|endswith: '.onion'}\n"
         "  f: {Image|endswith: '\\\\x.exe'}\n  condition: s and h and not f\n", False, False),
        # Not pinned: it matters everywhere.
        ("  s: {DestinationHostname|endswith: '.onion'}\n  condition: s\n", True, True),
        # A filter on the host name of any connection.
        ("  s: {Initiated: 'true'}\n  f: {DestinationHostname: 'x'}\n  condition: s or not f\n", True, True),
        # Pinned against inbound only: a missing Initiated still lets it matter.
        ("  s: {DestinationHostname: 'x'}\n  f: {Initiated: 'false'}\n  condition: s and not f\n", False, True),
        # Pinned, with more filters than the enumeration takes: the gate alone decides it.
        ("  s: {Initiated: 'true', DestinationHostname|endswith: '.net'}\n"
         + "".join(f"  f{i}: {{Image|endswith: '\\\\a{i}.exe'}}\n" for i in range(20))
         + "  condition: s and not 1 of f*\n", False, False),
        # No host name test at all.
        ("  s: {Image|endswith: '\\\\x.exe'}\n  condition: s\n", False, False),
        # A keyword cannot be decided.
        ("  k: ['onion']\n  condition: k\n", True, True),
    ],
)
def test_depends_on(detection: str, inbound: bool, missing: bool) -> None:
    rule = rule_of(detection)
    assert depends_on(rule, GATED, "Initiated", "false") is inbound
    assert depends_on(rule, GATED, "Initiated", None) is missing


def test_the_transformation_refuses_with_the_reason() -> None:
    transformation = ConditionalFieldsTransformation(
        logsource="asim-network", fields=("DestinationHostname",), gate="Initiated",
        otherwise=("false",), reason="kept on outbound rows only",
    )
    transformation.apply(rule_of("  s: {Initiated: 'true', DestinationHostname: 'x'}\n  condition: s\n"))
    with pytest.raises(SigmaTransformationError, match="kept on outbound rows only.*'false'"):
        transformation.apply(rule_of("  s: {DestinationHostname: 'x'}\n  condition: s\n"))
