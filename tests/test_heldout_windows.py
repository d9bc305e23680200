"""Held-out rules on the Windows logsources (``tests/data/heldout_windows``, written for these
tests, not from SigmaHQ): windash with contains|all and anchors, base64offset, wide, regex inline
flags and the re|i / re|m / re|s modifiers, IPv6 cidr, exists / null / empty values, neq and
cased, keyword lists, ``all of selection_*`` under nested not/or, escaped and plain wildcards,
values ending in a backslash, and hostile text (quotes, backslashes, control characters, NUL,
RTL marks, ß İ ı ſ K Σ/ς, combining marks, ligatures, CJK).

On events generated from each rule, every target is proven, or refused / not proven with its
reason, never "differs" (``assert_held_out_rule_proven_or_refused`` names the two declared
exceptions), on Elastic Defend and on the Windows integration's data.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from backends import TARGETS
from converter.checking.checker import Checker
from helpers import assert_held_out_rule_proven_or_refused, load_one

HELD_OUT = sorted((Path(__file__).parent / "data" / "heldout_windows").glob("*.yml"))
ELASTIC = ["eql", "kql", "kql-es", "lucene", "esql"]
CHECKERS = {"defend": Checker(list(TARGETS)), "windows": Checker(ELASTIC, data_source="windows")}


@pytest.mark.parametrize("source", sorted(CHECKERS))
@pytest.mark.parametrize("path", HELD_OUT, ids=lambda p: p.stem)
def test_held_out_windows_rule_is_proven_or_refused_never_differs(path: Path, source: str) -> None:
    assert_held_out_rule_proven_or_refused(path, CHECKERS[source])


def test_the_windows_held_out_rules_cover_the_main_logsources() -> None:
    sources = {load_one(p.read_text("utf-8"), p.name).logsource for p in HELD_OUT}
    assert len(HELD_OUT) >= 18 and len(sources) >= 6, sources
