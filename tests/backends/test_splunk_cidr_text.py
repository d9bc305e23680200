"""A string value shaped like a CIDR block is no CIDR test in SPL search.

``field="10.0.0.0/8"`` in search matches the addresses inside the block (semantics
``search_cidr``), not the text ``10.0.0.0/8``: the emitter wrote a Sigma string equality that way,
so ``Image: '10.0.0.0/8'`` missed the image of that name and matched every address of the block
(check reported "differs"). Such a value now gets the exact regex test, and its search pre-filter
is a glob, never a block.
"""

from __future__ import annotations

import pytest

from backends.splunk.spl_text import needs_exact_test, widen
from converter.checking.checker import Checker
from converter.events.render import SampleEvent
from converter.rules.load import load_text
from sigma.types import SigmaString


@pytest.mark.parametrize("modifier", ["", "|neq"])
def test_cidr_shaped_text_is_compared_as_text(modifier: str) -> None:
    rule = (
        "title: t\nid: 0b8f7a3e-0000-4000-8000-00000000f601\n"
        "logsource: {product: windows, category: process_creation}\n"
        f"detection:\n  sel:\n    Image{modifier}: '10.0.0.0/8'\n  condition: sel\n"
    )
    (loaded,) = load_text(rule, "r.yml")
    events = [SampleEvent({"EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
                           "Image": v}) for v in ("10.0.0.0/8", "10.1.2.3", "x")]
    result = Checker(["splunk"]).check(loaded, events).targets["splunk"]
    assert result.equivalent is True, (result.reason, result.query)
    assert result.matched == ([0] if not modifier else [1, 2])


def test_the_prefilter_of_such_text_is_a_glob() -> None:
    assert needs_exact_test(SigmaString("fe80::/10")) and needs_exact_test(SigmaString("10.0.0.0/8"))
    assert not needs_exact_test(SigmaString("10.0.0.0/88")) and not needs_exact_test(SigmaString("a/8"))
    assert widen(SigmaString("10.0.0.0/8")).s == ("10.0.0.0", SigmaString("*").s[0], "8")
