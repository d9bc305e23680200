"""The leaves of the reference evaluator's compiled condition: one predicate per field test
(``field_predicate``: null, exists, field reference, folded strings, raw values) and one for OR-ed
unbound keywords (``keyword_predicate``), each taking ``(event, cache)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sigma.types import SigmaExists, SigmaFieldReference, SigmaNull, SigmaType

from converter.reference.fields import (
    MISSING,
    Event,
    FoldCache,
    event_scalars,
    field_getter,
    keyword_values,
    fold,
    folded_texts,
    scalars,
    text_of,
)
from converter.reference.values import (
    FoldedTest,
    ValueTest,
    folded_matcher,
    folded_specs,
    value_test,
)

#: A compiled condition: ``predicate(event, cache)`` with ``cache`` a per-event ``FoldCache``.
#: May raise ``Undecided`` when a bounded pattern runs past ``MATCH_TIME_LIMIT``.
Predicate = Callable[[Event, FoldCache], bool]


def folded_predicate(name: str, test: FoldedTest) -> Predicate:
    """Field predicate for case-insensitive string tests: the field's texts are folded once
    per event (``folded_texts``); true when some text passes ("multi_valued")."""

    def predicate(event: Event, cache: FoldCache) -> bool:
        try:
            texts = cache[name]
        except KeyError:
            texts = folded_texts(event, name, cache)
        if type(texts) is str:
            return test(texts)
        for text in texts:  # a list, a number or a boolean; empty when missing ("missing_field")
            if test(text):
                return True
        return False

    return predicate


def _raw_predicate(name: str, test: ValueTest) -> Predicate:
    """Field predicate on raw values: the field is present and some element passes."""
    get = field_getter(name)

    def predicate(event: Event, cache: FoldCache) -> bool:
        value = get(event)
        if value is MISSING or value is None:  # "missing_field"
            return False
        if isinstance(value, (list, tuple)):
            return any(test(item) for item in scalars(value))
        return test(value)

    return predicate


def _fieldref_predicate(name: str, ref: SigmaFieldReference) -> Predicate:
    """Compare two fields of the same event ("fieldref")."""
    get, other = field_getter(name), field_getter(ref.field)
    if ref.starts_with and ref.ends_with:
        relation: Callable[[str, str], bool] = lambda a, b: b in a
    elif ref.starts_with:
        relation = str.startswith
    elif ref.ends_with:
        relation = str.endswith
    else:
        relation = str.__eq__

    def predicate(event: Event, cache: FoldCache) -> bool:
        left = [fold(t) for t in map(text_of, scalars(get(event))) if t is not None]
        if not left:
            return False
        right = [fold(t) for t in map(text_of, scalars(other(event))) if t is not None]
        return any(relation(a, b) for a in left for b in right)

    return predicate


def field_predicate(field: str, value: SigmaType) -> Predicate:
    """Compile ``field <op> value`` (one leaf of the condition tree)."""
    if isinstance(value, SigmaNull):  # "null"
        get = field_getter(field)
        return lambda event, cache: next(scalars(get(event)), MISSING) is MISSING
    if isinstance(value, SigmaExists):  # "exists"
        get, wanted = field_getter(field), value.exists
        return lambda event, cache: (get(event) is not MISSING) is wanted
    if isinstance(value, SigmaFieldReference):
        return _fieldref_predicate(field, value)
    specs = folded_specs(value)
    if specs is not None:
        return folded_predicate(field, folded_matcher(specs))
    return _raw_predicate(field, value_test(value, keyword=False))


def keyword_predicate(values: list[SigmaType]) -> Predicate:
    """Compile OR-ed unbound values: some scalar of the event contains one ("keywords").

    OR-ed keywords share one pass over the event; top-level strings skip the generator.
    """
    tests = [value_test(value, keyword=True) for value in values]
    test = tests[0] if len(tests) == 1 else (lambda v: any(t(v) for t in tests))

    def predicate(event: Event, cache: FoldCache) -> bool:
        for value in keyword_values(event):
            if type(value) is str or not isinstance(value, (Mapping, list, tuple)):
                if value is not None and test(value):
                    return True
            elif any(test(v) for v in event_scalars(value)):
                return True
        return False

    return predicate
