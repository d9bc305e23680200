"""Held-out rules on the non-Windows tables (``tests/data/heldout_nonwindows``, written for these
tests, not from SigmaHQ): every modifier family on cloud, identity, network, Linux and macOS
fields, lists of objects (Okta ``target``, GCP ``authorizationInfo``), keyword rules over text
and audit lines, with hostile values (quotes, backslashes, ``*`` and ``?`` in values, case-special
letters ſ K İ ß, combining marks, CJK, ``%``).

On events generated from each rule, every target is proven, or refused / not proven with its
reason, never "differs", except where the stock Elasticsearch mapping drops a value past
``ignore_above`` (true of the stock mappings; ``sigport mapping``'s template lifts it) or where
Kibana KQL, whose case-sensitivity is a declared approximation, is shown wrong. No rule errs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from backends import TARGETS
from converter.checking.checker import Checker
from helpers import assert_held_out_rule_proven_or_refused, load_one

HELD_OUT = sorted((Path(__file__).parent / "data" / "heldout_nonwindows").glob("*.yml"))
CHECKER = Checker(list(TARGETS))


@pytest.mark.parametrize("path", HELD_OUT, ids=lambda p: p.stem)
def test_held_out_rule_is_proven_or_refused_never_differs(path: Path) -> None:
    assert_held_out_rule_proven_or_refused(path, CHECKER)


def test_every_non_windows_family_is_held_out() -> None:
    sources = {load_one(p.read_text("utf-8"), p.name).logsource for p in HELD_OUT}
    assert len(HELD_OUT) >= 12 and len(sources) == len(HELD_OUT)
