"""One event the target answers unlike the reference makes it "differs", whatever else happens.

An event the reference cannot decide (a pattern past its time limit, ``Verdict(None, ...)``) or
one the target's interpreter cannot evaluate used to turn the whole result into "not checked",
hiding a disagreement that another event had already shown.
"""

from __future__ import annotations

from converter.checking.checker import Checker
from converter.checking.user_pipeline import EventMirror
from converter.events.render import SampleEvent
from converter.reference.evaluator import Verdict
from converter.rules.load import load_text

RULE = """
title: t
id: 0b8f7a3e-0000-4000-8000-00000000e201
logsource: {product: windows, category: process_creation}
detection:
  sel:
    CommandLine|contains: whoami
  condition: sel
"""
SYSMON = "Microsoft-Windows-Sysmon/Operational"


def _target(verdicts: list[Verdict], unsupported: str | None) -> object:
    (loaded,) = load_text(RULE, "r.yml")
    checker = Checker(["eql"], data_source="windows")
    events = [SampleEvent({"EventID": 1, "Channel": SYSMON, "CommandLine": v})
              for v in ("whoami /all", "notepad")]
    conversion = checker.converters["eql"].convert(loaded)
    from converter.checking.checker import TARGETS

    return checker._check_target(TARGETS["eql"], conversion, events, verdicts, unsupported,
                                 EventMirror())


def test_a_disagreement_outranks_an_undecided_event() -> None:
    # The query matches event 0; a reference that said it does not is a disagreement there,
    # while event 1 is undecided.
    verdicts = [Verdict(False), Verdict(None, "rule 't': ran past the time limit")]
    result = _target(verdicts, "rule 't': ran past the time limit")
    assert result.equivalent is False, result.reason  # type: ignore[attr-defined]
    assert "1 of 2 events disagree" in result.reason  # type: ignore[attr-defined]


def test_undecided_alone_is_not_checked() -> None:
    verdicts = [Verdict(True), Verdict(None, "rule 't': ran past the time limit")]
    result = _target(verdicts, "rule 't': ran past the time limit")
    assert result.equivalent is None  # type: ignore[attr-defined]
    assert result.reason.startswith("not checked: the reference cannot evaluate")  # type: ignore[attr-defined]
