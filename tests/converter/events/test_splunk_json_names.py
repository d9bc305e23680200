"""Property: the Splunk `{}` fields the renderer writes from a nested record are the fields
Splunk's JSON extraction names (semantics ``json_array_fields``), for any record shape.

The oracle walks the record as spath names it, independently of the renderer: an object's key
adds ``.key``, an array adds ``{}`` and every element continues under that name, a scalar is a
value of the name it sits at. For each mapped ``{}`` field the renderer must write exactly the
oracle's values there; where the oracle meets a null, an object or an empty array at that name
(whose extraction Splunk does not document) the renderer refuses the event instead.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from converter.events.render import EventRenderer, SampleEvent
from converter.mapping.loader import load_table

RENDERER = EventRenderer.routed(load_table("splunk-sysmon"))

#: (logsource tag, path to the array holder, the table's {} fields below it)
RECORDS = [
    ("okta/okta", ("target",),
     ("target{}.type", "target{}.id", "target{}.displayName", "target{}.alternateId")),
    ("gcp/gcp.audit", ("data", "protoPayload", "authorizationInfo"),
     ("data.protoPayload.authorizationInfo{}.permission",
      "data.protoPayload.authorizationInfo{}.granted",
      "data.protoPayload.authorizationInfo{}.resource")),
]

KEYS = st.sampled_from(["type", "id", "displayName", "alternateId", "permission", "granted",
                        "resource", "x"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(["User", "a b", ""]))
SHAPES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)), max_leaves=12)


def spath(node: Any, name: str, values: dict[str, list[Any]], odd: set[str]) -> None:
    """Splunk's names for the leaves of ``node`` under ``name`` (``odd``: names holding a null,
    an object, or an empty array)."""
    if isinstance(node, dict):
        odd.add(name)
        for key, value in node.items():
            spath(value, f"{name}.{key}", values, odd)
    elif isinstance(node, list):
        if not node:
            odd.add(name + "{}")
        for item in node:
            spath(item, name + "{}", values, odd)
    elif node is None:
        odd.add(name)
    else:
        values.setdefault(name, []).append(node)


def nest(path: tuple[str, ...], value: Any) -> Any:
    for key in reversed(path):
        value = {key: value}
    return value


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=st.sampled_from(RECORDS), shape=SHAPES)
def test_rendered_array_fields_are_splunks_names(record: tuple, shape: Any) -> None:
    tag, path, fields = record
    event = {"Channel": tag, **nest(path, shape)}
    values: dict[str, list[Any]] = {}
    odd: set[str] = set()
    spath(shape, ".".join(path), values, odd)
    undocumented = [f for f in fields if f in odd]
    try:
        rendered = RENDERER.render_sample(SampleEvent(event))
    except ValueError:
        assert undocumented, f"refused, though Splunk names every value: {event}"
        return
    assert not undocumented, f"rendered {undocumented} though Splunk's value there is undocumented"
    assert rendered is not None
    for field in fields:
        found = values.get(field)
        expected = None if found is None else (found[0] if len(found) == 1 else found)
        assert rendered.get(field) == expected, (field, event, rendered.get(field))
