"""Generated events in the shape of records that hold arrays of objects.

The generator writes a Sigma field as a flat key (``target.displayName``), which the reference
reads as the exact key. The vendors write some of these fields inside arrays of objects (Okta's
``target[]``, GCP's ``authorizationInfo[]``, Entra's ``targetResources[].modifiedProperties[]``),
where the reference reads every element (semantics ``object_lists``) and a target must too. So
for each generated event that sets such a field, ``array_variant`` writes the same values as the
record holds them: nested objects, a list at each array of ``RECORD_ARRAYS``, and every field in
an element of its own, the case where no single element satisfies a selection's tests together
(Sigma ties no two tests to one element). The generator evaluates the variant again for its
expected verdict.

``RECORD_ARRAYS`` names, per logsource, the Sigma paths that are arrays in the vendor's record,
each from the vendor's schema.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from converter.events.render import SampleEvent

#: (product, service) -> the Sigma paths the record holds as arrays, each with its source.
RECORD_ARRAYS: dict[tuple[str, str], tuple[str, ...]] = {
    # LogEvent.target: "array of Target" (https://developer.okta.com/docs/reference/api/
    # system-log/#logevent-object).
    ("okta", "okta"): ("target",),
    # AuditLog.authorizationInfo: "AuthorizationInfo[]" (https://cloud.google.com/logging/docs/
    # reference/audit/auditlog/rest/Shared.Types/AuditLog), under the Pub/Sub message's data.
    ("gcp", "gcp.audit"): ("data.protoPayload.authorizationInfo",),
    # directoryAudit.targetResources: targetResource collection, each with modifiedProperties, a
    # modifiedProperty collection (https://learn.microsoft.com/graph/api/resources/directoryaudit,
    # .../targetresource); Sentinel's AuditLogs keeps the array in TargetResources. SigmaHQ
    # spells the keys both ways.
    ("azure", "auditlogs"): (
        "TargetResources", "TargetResources.modifiedProperties",
        "TargetResources.ModifiedProperties", "targetResources", "properties.targetResources",
    ),
    # RegisterTaskDefinition's containerDefinitions: "Array of ContainerDefinition objects", whose
    # command is an "Array of strings" (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/
    # API_RegisterTaskDefinition.html), written by CloudTrail as requestParameters.
    ("aws", "cloudtrail"): (
        "requestParameters.containerDefinitions",
        "requestParameters.containerDefinitions.command",
    ),
}


def record_arrays(product: str | None, service: str | None) -> tuple[str, ...]:
    """The Sigma paths a logsource's record holds as arrays (none for most logsources)."""
    return RECORD_ARRAYS.get((product or "", service or ""), ())


def array_variant(event: dict[str, Any], arrays: tuple[str, ...]) -> dict[str, Any] | None:
    """``event`` with each field under an array of ``arrays`` written into that array, one
    element per field; None when the event sets no such field or one of them to null (whose
    extraction inside an array no vendor documents)."""
    tops = [a for a in arrays if not any(a.startswith(b + ".") for b in arrays)]
    out: dict[str, Any] = {}
    moved = False
    for key, value in event.items():
        top = next((t for t in tops if key.startswith(t + ".")), None)
        if top is None:
            out[key] = value
            continue
        if value is None:
            return None
        element = _nested(top, key[len(top) + 1:].split("."), value, arrays)
        out.setdefault(top, []).append(element)
        moved = True
    if not moved:
        return None
    for top in tops:  # a flat key that names the array itself would be spelled twice
        if top in event:
            return None
    return _nest_keys(out, tops)


def array_variants(samples: list[SampleEvent], product: str | None, service: str | None,
                   evaluate: Callable[[dict[str, Any]], Any]) -> list[SampleEvent]:
    """The ``array_variant`` of each sample that has one, with the reference verdict
    (``evaluate``: the compiled rule's) as its expectation; duplicates left out."""
    arrays = record_arrays(product, service)
    out: list[SampleEvent] = []
    seen: set[str] = set()
    for sample in samples if arrays else ():
        variant = array_variant(sample.fields, arrays)
        if variant is None:
            continue
        key = json.dumps(variant, sort_keys=True, default=str)
        verdict = evaluate(variant)
        if key in seen or verdict.unsupported is not None:
            continue
        seen.add(key)
        note = f"{sample.note} (fields of the record's arrays, each in an element of its own)"
        out.append(SampleEvent(variant, bool(verdict.matched), note, source="generated"))
    return out


def _nested(prefix: str, parts: list[str], value: Any, arrays: tuple[str, ...]) -> Any:
    """The element under ``prefix`` holding ``value`` at ``parts``, with a list at each array
    on the way (a leaf array holds the value as its one item, or the value's items)."""
    node = value
    for i in range(len(parts) - 1, -1, -1):
        if f"{prefix}.{'.'.join(parts[:i + 1])}" in arrays:
            node = node if i == len(parts) - 1 and isinstance(node, list) else [node]
        node = {parts[i]: node}
    return node


def _nest_keys(event: dict[str, Any], tops: list[str]) -> dict[str, Any] | None:
    """Write the dotted array keys (``data.protoPayload.authorizationInfo``) as nested objects,
    as the record holds them; None when a scalar of the event already holds a name on the way."""
    out = {k: v for k, v in event.items() if k not in tops}
    for top in tops:
        if top not in event:
            continue
        *parents, last = top.split(".")
        node = out
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                return None
            node = child
        node[last] = event[top]
    return out
