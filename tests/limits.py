"""Test helper: a check outcome that is proven except for a length-limited sub-field.

Defend's ``.caseless`` sub-fields stop indexing values over 1,024 characters; ``check`` calls a
KQL/Lucene query on them equivalent only when an event has a longer value and the target still
agrees (issue 11). Tests about other matters accept that limit, and nothing else.
"""

from __future__ import annotations

from typing import Any


def proven_but_for_length_limits(outcome: Any) -> bool:
    """Equivalent, or differing only where a value is over a field's ``ignore_above``."""
    if outcome.equivalent is True:
        return True
    if outcome.equivalent is None:
        return "ignore_above" in (outcome.reason or "")
    return bool(outcome.disagreements) and all(
        "not indexed" in d.why for d in outcome.disagreements
    )
