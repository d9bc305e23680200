"""``to_boolean``: a JSON boolean of the source record, indexed in an Elasticsearch ``boolean`` field.

Some records hold a flag as a JSON boolean (Okta's LogEvent ``securityContext.isProxy``, Zeek's
dns.log ``rejected`` in its JSON writer), and the integration keeps it in a field mapped as
``boolean`` (its fields.yml). Sigma reads such a value as its text, ``true`` or ``false`` (the
reference's "numbers" fact: booleans compare as their JSON spelling), so the field is a closed
vocabulary of two texts, decided like ``value_map`` (``converter.mapping.functions.values``): the
rule's whole test is evaluated with Sigma's semantics on ``true`` and on ``false``, and the query
keeps the boolean literals of the accepted ones (both: the field exists).

The record can hold nothing else: a Sigma event whose value is the text ``"true"`` or
``"false"`` stands for the same record (Sigma cannot tell the two apart), and any other value
(``"TRUE"``, ``"yes"``, ``""``, a number, a list) is no record of this source, so it is not
rendered. That is also why the query does not depend on how Elasticsearch would read other
strings on a boolean field (it accepts ``"true"``, ``"false"`` and ``""``, and rejects the
document for anything else: https://www.elastic.co/guide/en/elasticsearch/reference/current/boolean.html).
"""

from __future__ import annotations

from typing import Any

from sigma.rule import SigmaDetectionItem
from sigma.types import SigmaBool, SigmaExists, SigmaNull

from converter.mapping.functions.render import written
from converter.mapping.functions.tree import FALSE, Leaf, Node, QueryResult, emit, or_
from converter.mapping.functions.values import Entry, decide_vocabulary
from converter.mapping.table import FieldTarget

#: The two values as Sigma reads them; each entry's target is the same text, turned into the
#: boolean literal by the query side.
_BOOLEANS: list[Entry] = [(("true",), ("true",)), (("false",), ("false",))]


def query_to_boolean(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """The test decided on ``true`` and ``false``; the boolean literals of the accepted ones.

    A missing field stays missing (the item's verdict on it becomes a ``null`` test); when both
    values are accepted the test is "the field exists" (it holds nothing else).
    """
    target = prefix + spec.target
    chosen, on_missing = decide_vocabulary(item, spec, prefix, _BOOLEANS, noun="boolean")
    present: Node
    if len(chosen) == len(_BOOLEANS):
        present = Leaf(target, SigmaExists(True))
    else:
        present = or_(*[Leaf(target, SigmaBool(forms[0] == "true")) for _, forms in chosen])
    missing = Leaf(target, SigmaNull()) if on_missing else FALSE
    return emit(or_(present, missing), item, target)


def render_to_boolean(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """A JSON boolean (or its JSON text) as the boolean the record holds; nothing when missing.

    Raises:
        ValueError: any other value: the record holds a single JSON boolean, never this.
    """
    if value is None:
        return {}
    if isinstance(value, bool):
        return written(spec.target, value)
    if isinstance(value, str) and value in ("true", "false"):
        return written(spec.target, value == "true")
    raise ValueError(
        f"{spec.sigma}={value!r}: the record holds {spec.target} as one JSON boolean "
        "(true or false), never as this value"
    )
