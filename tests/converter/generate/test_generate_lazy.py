"""Near misses are made only as they are read (``generator._by_kind``): the events are those of
making every near miss at once, dropping those without an event and interleaving the rest by
kind, in the order of each kind's first event."""

from __future__ import annotations

from typing import Any

import pytest

from converter.generate import generator
from converter.generate.generator import generate_events
from converter.rules.load import load_text

RULE = """title: lazy
id: 5f0c4a52-8a7e-4a4b-9a53-0d6c2d2d7a12
logsource: {logsource}
detection:
{detection}
"""

SHAPES = [
    # A closed vocabulary (its long and case-partner mutations make no event) next to a glob:
    # the kinds' order comes from their first near miss that makes one.
    ("{product: windows, category: network_connection}",
     "  selection:\n    Initiated: 'true'\n    DestinationHostname|endswith: ['mega.co.nz', 'mega.nz']\n"
     "  condition: selection"),
    ("{product: windows, category: process_creation}",
     "  selection:\n    CommandLine|contains|all: [" + ", ".join(f"'v{i}x'" for i in range(60))
     + "]\n  condition: selection"),
    ("{product: windows, category: process_creation}",
     "  selection:\n    Image|endswith: '\\\\cmd.exe'\n    CommandLine|re: 'a[bc]+d'\n"
     "  filter:\n    ParentImage|startswith: 'C:\\\\Windows\\\\'\n    User|contains: 'SYSTEM'\n"
     "  condition: selection and not filter"),
    ("{product: windows, category: process_creation}",
     "  selection:\n    IntegrityLevel: High\n    OriginalFileName: ['a.exe', 'b?.exe']\n"
     "  optional:\n    ParentCommandLine: null\n  condition: selection and not optional"),
    ("{product: windows, service: security}",
     "  selection:\n    EventID: 4688\n    NewProcessName|endswith: '\\\\x.exe'\n  condition: selection"),
]


def _eager(pending: list[tuple[str, Any]]) -> Any:
    """Every near miss made at once, kept by kind where it made an event (the generator before
    ``_by_kind``)."""
    kinds: dict[str, list[Any]] = {}
    for kind, (produce, label, touched, ctx) in pending:
        event = produce()
        if event is not None:
            kinds.setdefault(kind, []).append((event, label, touched, ctx))
    rows = max((len(g) for g in kinds.values()), default=0)
    return iter([g[row] for row in range(rows) for g in kinds.values() if row < len(g)])


def _events(shape: tuple[str, str], count: int | None) -> list[tuple[Any, ...]]:
    (loaded,) = load_text(RULE.format(logsource=shape[0], detection=shape[1]), "lazy.yml")
    assert loaded.rule is not None, loaded.error
    return [(e.fields, e.expect, e.note) for e in generate_events(loaded.rule, count=count, seed=3)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("count", [None, 5, 400])
def test_lazy_near_misses_are_the_eager_ones(shape: tuple[str, str], count: int | None,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    lazy = _events(shape, count)
    monkeypatch.setattr(generator, "_by_kind", _eager)
    assert lazy == _events(shape, count)
    assert lazy


def test_only_the_near_misses_read_are_made(monkeypatch: pytest.MonkeyPatch) -> None:
    made = [0]
    realize = generator.realize

    def counting(*args: Any, **kwargs: Any) -> Any:
        made[0] += 1
        return realize(*args, **kwargs)

    monkeypatch.setattr(generator, "realize", counting)
    events = _events(SHAPES[1], None)
    # 60 values: about 20 near misses each, of which about 40 events are kept.
    assert len(events) <= 2 * generator.DEFAULT_COUNT
    assert made[0] < 200
