"""``LiteralIndex``'s fast paths give the slots of the plain definition.

A slot is a candidate exactly when each clause of its condition has an alternative holding on a
text of its field (``settle`` decides the slots filed under several clauses with set
operations); ``candidates_of`` (one raw text per field, folded by the index's ``folding``) gives
what ``candidates`` gives on the same texts folded by the caller. Checked on generated
conditions and events, with a memo small enough to be cleared mid-stream.
"""

from __future__ import annotations

from typing import Any, Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from converter.reference.fields import fold
from converter.ruleindex.literals import LiteralIndex, MatchOptions
from converter.ruleindex.needs import KINDS, Alt

FIELDS = ("f", "g", "h")
LETTERS = "abAB\u0130\u0131k\u212a"
WORD = st.text(alphabet=LETTERS, min_size=0, max_size=3)
ALT = st.builds(Alt, st.sampled_from(FIELDS), st.sampled_from([k for k in KINDS if k != "number"]),
                WORD, st.booleans())
CONDITION = st.one_of(st.none(), st.lists(st.frozensets(ALT, min_size=1, max_size=3),
                                          min_size=1, max_size=3).map(tuple))
VALUE = st.one_of(st.none(), st.text(alphabet=LETTERS, max_size=5),
                  st.lists(st.text(alphabet=LETTERS, max_size=5), max_size=3))
EVENT = st.fixed_dictionaries({name: VALUE for name in FIELDS})
OPTIONS = st.builds(MatchOptions, st.sampled_from([None, False]), st.sampled_from([0, 40, 1 << 18]),
                    st.sampled_from([0, 1, 12]))


def _holds(alt: Alt, text: str) -> bool:
    literal = alt.literal
    return {"equals": text == literal, "startswith": text.startswith(literal),
            "endswith": text.endswith(literal), "contains": literal in text}[alt.kind]


def _texts_of(value: Any) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def _plain(conditions: list[Any], event: dict[str, Any], folding: Callable[[str], str]) -> set[int]:
    """The candidates by definition (literals are compared with the texts folded unless cased)."""
    out = set()
    for slot, condition in enumerate(conditions):
        if condition is None or all(
            any(_holds(alt, text if alt.cased else folding(text))
                for alt in clause for text in _texts_of(event[alt.field]))
            for clause in condition
        ):
            out.add(slot)
    return out


def _folded_literals(condition: Any, folding: Callable[[str], str]) -> Any:
    """Literals of folded alternatives are folded, as ``converter.ruleindex.needs`` files them."""
    if condition is None:
        return None
    return tuple(frozenset(a if a.cased else Alt(a.field, a.kind, folding(a.literal), a.cased)
                           for a in clause) for clause in condition)


@settings(max_examples=300, deadline=None)
@given(conditions=st.lists(CONDITION, min_size=1, max_size=6),
       events=st.lists(EVENT, min_size=1, max_size=6), options=OPTIONS,
       folding=st.sampled_from([fold, str.upper]))
def test_candidates_are_the_slots_whose_every_clause_holds(
        conditions: list[Any], events: list[dict[str, Any]], options: MatchOptions,
        folding: Callable[[str], str]) -> None:
    conditions = [_folded_literals(c, folding) for c in conditions]
    index = LiteralIndex(enumerate(conditions), options, folding=folding)
    for event in events:
        def texts(name: str, cased: bool) -> tuple[str, ...]:
            found = _texts_of(event[name])
            return tuple(found) if cased else tuple(folding(t) for t in found)

        def raw(name: str) -> Any:
            value = event[name]
            return value if isinstance(value, str) or value is None else list(value)

        expected = _plain(conditions, event, folding)
        assert index.candidates(texts) == expected, event
        assert index.candidates_of(raw) == expected, event
