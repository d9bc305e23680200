"""``unnamed_params``: Sigma's ``Data`` (a record's unnamed ``<Data>`` values) as ``param1..N``.

Winlogbeat and Elastic Agent's winlog input (elastic/beats ``winlogbeat/sys/winevent/maputil.go``,
``AddPairs``) write an unnamed ``<Data>`` (or one named ``Data``) of a record's EventData as
``winlog.event_data.param<N>``, N its 1-based position among the record's ``<Data>`` elements, an
empty value not written. The reference reads the unnamed values as one list field ``Data``
("multi_valued": a test holds when some value passes). Where no ingest pipeline rewrites the
record afterwards (the Custom Windows Event Logs integration), the ``to`` fields name every
``param<N>`` a record of the logsource has (three for the classic PowerShell log's 400 / 600,
``converter/mapping/tables/ecs-windows-channels.yml``), so the OR over them is exact.

Render side: the values in order, one per ``to`` field (a single value to the first); more values
than fields is no record of the source (not rendered). The whole list is rendered at once
(``WHOLE_RENDER_FUNCTIONS``); the renderer has already applied the source's ``drop_values`` and
``line_endings`` to it.

Query side: the same test on each ``to`` field, OR-ed; ``null`` / ``exists: false``: missing from
every one. Values the shipper rewrites (``\\r\\n``, deleted values) are declared by the source's
checks before this function runs (``converter/mapping/line_endings.py``, ``declared.py``).
"""

from __future__ import annotations

from typing import Any

from sigma.rule import SigmaDetectionItem
from sigma.types import SigmaExists, SigmaNull, SigmaType

from converter.mapping.functions.tree import Leaf, Node, QueryResult, and_, or_, rewrite
from converter.mapping.table import FieldTarget


def query_unnamed_params(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """The same test on each ``to`` field, OR-ed (missing: from all of them)."""
    targets = [prefix + t for t in spec.targets]

    def handle(value: SigmaType) -> Node:
        if isinstance(value, SigmaNull) or (isinstance(value, SigmaExists) and not value.exists):
            return and_(*[Leaf(t, value) for t in targets])
        return or_(*[Leaf(t, value) for t in targets])

    return rewrite(item, spec, prefix, handle)


def render_unnamed_params(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """The value (or the list's values, in order) one per ``to`` field.

    Raises:
        ValueError: more values than fields (no record of the source has that many), or a value
            that is no text or integer.
    """
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if len(values) > len(spec.targets):
        raise ValueError(
            f"{spec.sigma}: {len(values)} values, and the source's records hold at most "
            f"{len(spec.targets)} ({', '.join(spec.targets)})"
        )
    out: dict[str, Any] = {}
    for target, item in zip(spec.targets, values, strict=False):
        if item is None:
            continue
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise ValueError(f"{spec.sigma}={item!r}: an event-log value is one text")
        out[target] = str(item)
    return out
