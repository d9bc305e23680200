"""``auditd_record_type``: the record type of a Linux audit record as Elastic's Auditd Logs
integration indexes it, in both directions (``converter/mapping/tables/README.md``, "Functions").

The integration's ingest pipeline (elastic/integrations ``packages/auditd/data_stream/log/
elasticsearch/ingest_pipeline/default.yml``) parses ``type=X`` into ``auditd.log.record_type``,
then a script looks the type up in a table of record types (``params.types``, generated from
go-libaudit) and writes that entry's ``event.action`` (``SERVICE_STOP`` -> ``stopped-service``).
Later ``rename`` moves ``auditd.log.record_type`` to ``event.action`` and ``lowercase`` folds it;
a rename onto an existing field fails, and the processor's ``ignore_failure`` keeps the record
type where it was. So a record type of that table stays in ``auditd.log.record_type`` as written
(``event.action`` holds the table's action), and any other type is only ``event.action``,
lowercased (``EXECVE`` -> ``execve``), with ``auditd.log.record_type`` gone.

The query therefore tests the type as written where ``auditd.log.record_type`` exists and the
lowercased type in ``event.action`` where it does not: exact whatever the table holds, since the
presence of ``auditd.log.record_type`` tells the two shapes apart. A whole type (no wildcard)
that no action of the pipeline's tables spells (the ``actions`` values and ``other_actions``:
the syscall table's and ``AVC``'s) needs no presence test: ``event.action`` then equals its
lowercase only where it is the record's lowercased type. The render side needs the
table (the ``actions`` parameter: record type -> action, copied from the pipeline) to choose the
shape a record type takes. Types whose action depends on other keys of the record (``AVC``: on
``seresult`` / ``apparmor``; a record whose ``syscall`` key names a syscall of the pipeline's
syscall table) are not in ``actions`` and are rendered as the lowercased ``event.action``, the
shape of the kernel's numeric ``syscall`` values; the query is exact on both shapes.
"""

from __future__ import annotations

from typing import Any

from sigma.exceptions import SigmaTransformationError
from sigma.rule import SigmaDetectionItem
from sigma.types import SigmaCasedString, SigmaExists, SigmaNull, SigmaString, SigmaType

from converter.mapping.functions.query import lowercase_test, lowered_spellings
from converter.mapping.functions.tree import Leaf, Node, QueryResult, and_, or_, rewrite, to_tokens
from converter.mapping.table import FieldTarget


def _targets(spec: FieldTarget, prefix: str) -> tuple[str, str]:
    """(field of the type as written, field of the lowercased type)."""
    if len(spec.targets) != 2:
        raise SigmaTransformationError(
            f"{spec.sigma}: auditd_record_type needs two targets (record type, action)"
        )
    kept, action = spec.targets
    return prefix + kept, prefix + action


def query_auditd_record_type(
    item: SigmaDetectionItem, spec: FieldTarget, prefix: str
) -> QueryResult:
    """The test on the kept record type, or on the lowercased action where none is kept."""
    kept, action = _targets(spec, prefix)
    actions = set((spec.param("actions") or {}).values()) | set(spec.param("other_actions") or ())

    def handle(value: SigmaType) -> Node:
        if isinstance(value, SigmaNull) or (isinstance(value, SigmaExists) and not value.exists):
            return and_(Leaf(kept, value), Leaf(action, value))  # no type: neither field
        if isinstance(value, SigmaExists):
            return or_(Leaf(kept, value), Leaf(action, value))
        lowered = lowercase_test(action, value)
        if _no_action_equals(value, actions):
            # A whole type no action spells: event.action can hold it only as a lowercased type.
            return or_(Leaf(kept, value), lowered)
        return or_(Leaf(kept, value), and_(Leaf(kept, SigmaExists(False)), lowered))

    return rewrite(item, spec, prefix, handle)


def _no_action_equals(value: SigmaType, actions: set[str]) -> bool:
    """True for a wildcard-free string none of whose lowercased spellings is an action."""
    if not isinstance(value, SigmaString) or isinstance(value, SigmaCasedString):
        return False
    tokens = to_tokens(value)
    if not all(isinstance(t, str) for t in tokens):
        return False
    return not any("".join(map(str, s)) in actions for s in lowered_spellings(tokens))


def render_auditd_record_type(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """A type of the ``actions`` table (compared exactly, as the pipeline's lookup does): kept
    as written, with the table's action; any other type: ``event.action`` lowercased."""
    kept, action = _targets(spec, "")
    if value is None:
        return {}
    actions: dict[str, str] = spec.param("actions") or {}
    text = str(value)
    if text in actions:
        return {kept: text, action: [actions[text]]}
    return {action: text.lower()}
