"""``rewritten_values``: a value the shipper keeps as written except a few it may replace.

Some ingest pipelines replace a handful of whole values of a field under a condition on another
key of the record that the Sigma event does not carry. Elastic's Office 365 integration
(elastic/integrations ``packages/o365/data_stream/audit/elasticsearch/ingest_pipeline/
default.yml``) renames ``Operation`` to ``event.action`` and then, for Entra ID records
(``RecordType`` 8), sets it to ``added-user-account`` where it was exactly ``Add user.``, and
for Teams records to ``added-group-account-to`` where it was ``TeamCreated``: the indexed value
is the record's value or its replacement, and the field does not tell which the record held.

Query side: the table lists the replacements (``rewrites: {value as written: value indexed}``).
A detection item is exact when it gives the same verdict (Sigma's semantics, the reference's
case rule) on each value as written and on its replacement: then whichever of the two the
document holds, the same test on the target answers as the rule does on the record, and the query
is that test unchanged. An item that tells a pair apart (``Operation: 'Add user.'``,
``Operation|contains: 'user.'``) is refused, naming the pair. Render side: the value as written
(the shape of every record the condition does not select), which the query answers the same way.
"""

from __future__ import annotations

from typing import Any

from sigma.rule import SigmaDetectionItem

from converter.mapping.functions.render import written
from converter.mapping.functions.tree import (
    Leaf,
    NotExact,
    QueryResult,
    guarded,
    item_verdict,
    rewrite,
)
from converter.mapping.table import FieldTarget


def query_rewritten_values(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """The same test on the target, when it cannot tell a value from its replacement."""
    rewrites: dict[str, str] = spec.param("rewrites") or {}

    def check() -> None:
        for original, replacement in rewrites.items():
            before, after = item_verdict(item, original), item_verdict(item, replacement)
            if before != after:
                raise NotExact(
                    f"the shipper may index {original!r} as {replacement!r} (on records the Sigma "
                    f"event does not tell apart), and this test answers {before} on the one and "
                    f"{after} on the other"
                )

    guarded(item, spec, prefix, check)
    return rewrite(item, spec, prefix, lambda v: Leaf(prefix + spec.target, v))


def render_rewritten_values(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """The value as written, under the target name."""
    return written(spec.target, value)
