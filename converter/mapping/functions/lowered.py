"""``lowercased_when``: a value the shipper moves to another field, lowercased, when it is one of
a few words (any case), and keeps as written otherwise.

Elastic's Azure Logs integration (elastic/integrations ``packages/azure/data_stream/auditlogs/
elasticsearch/ingest_pipeline/default.yml``) renames an Entra ID audit record's
``properties.result`` to ``event.outcome`` only when its lowercase is ``success`` or
``failure``; ``azure-shared-pipeline.yml`` then lowercases ``event.outcome`` (a ``lowercase``
processor). Any other result (``timeout``, ``unknownFutureValue``) stays in
``azure.auditlogs.properties.result`` as written. So exactly one of the two fields holds the
record's value: as written in the first (``to[0]``), lowercased in the second (``to[1]``).

Query side: the test as written on the first field, OR, where the first is missing, the same test
on lowercased values on the second (``lowercase``'s rewrite: exact for case-insensitive tests,
each ``i`` in both spellings of the lowercased ``I`` / ``İ``) — the query of
``auditd_record_type``, whose two shapes are the same (a field kept as written beside a lowercased
one); ``cased`` values with letters and ``re`` without ``i`` are refused, as there. The query is
exact whichever branch the pipeline takes, so it does not depend on the locale of the condition's
``toLowerCase()``. Render side: the value lowercased in the second field when its lowercase is one
of ``values`` (Java's ``toLowerCase(Locale.ROOT)``, which Python's ``str.lower`` equals), else the
value as written in the first.
"""

from __future__ import annotations

from typing import Any

from sigma.rule import SigmaDetectionItem

from converter.mapping.functions.auditd import query_auditd_record_type
from converter.mapping.functions.tree import QueryResult
from converter.mapping.table import FieldTarget


def query_lowercased_when(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """The test on the field kept as written, or lowercased on the other where none is kept."""
    # `actions` / `other_actions` name values the second field holds that are no lowercased
    # value of the first: none here (only this rename fills event.outcome in the data stream).
    return query_auditd_record_type(item, spec, prefix)


def render_lowercased_when(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """The value lowercased in ``to[1]`` when its lowercase is one of ``values``; else in ``to[0]``."""
    if value is None:
        return {}
    kept, lowered = spec.targets
    words = {str(w) for w in spec.param("values") or ()}
    if isinstance(value, str) and value.lower() in words:
        return {lowered: value.lower()}
    return {kept: value}
