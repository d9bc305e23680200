"""``cim_fillnull``: a Splunk CIM data model field that the model calculates with a fill value.

The CIM data models do not hand every event field through unchanged: for many fields a dataset
*calculation* replaces a missing value (and the empty string, for some fields also ``-``) by the
text ``unknown``, so a tstats search over the model never sees those values. Examples, from the
models' definitions (Splunk_SA_CIM ``default/data/models/*.json``, the ``calculations`` of each
dataset; the CIM manual lists these fields with their expression):

* Web: ``http_user_agent``, ``http_method``, ``status``, ``http_referrer``, ``url``, ``dest``,
  ``src``: ``if(isnull(f) OR f="" OR f="-","unknown",f)`` (``Web_fillnull_http_user_agent``, ...);
* Endpoint.Processes: ``process``, ``parent_process``, ``user``, ``original_file_name``, ``dest``;
  Endpoint.Registry ``registry_path``, ``registry_value_data``, ``dest``; Endpoint.Filesystem
  ``file_path``, ``dest``: ``if(isnull(f) OR f="","unknown",f)``
  (``Endpoint_Processes_fillnull_process``, ...);
* Network_Traffic.All_Traffic: ``transport`` (``unknown``, and lowercased: parameter
  ``lowercase``), ``dest_port`` and ``src_port`` as ``if(isnum(f),f,0)`` (parameter ``numeric``:
  fill ``0``).

Render side: the value the dataset holds: the fill for a missing value (the renderer calls
``missing_cim_fillnull`` for the field when the event lacks it) and for each of the ``empty``
texts, else the value unchanged (lowercased with ``lowercase``).

Query side: the same test on the dataset field, exact only where the rule cannot tell the fill
from what it replaces: each item's verdict on a missing field and on each ``empty`` text is
compared with its verdict on the fill, and where they differ the rule's condition as a whole
decides (then every event gets the verdict it gets from Sigma: the dataset's value differs from
the event's only on those). Otherwise (``c-useragent: ''``, a ``null`` or ``exists`` test that
decides the rule, ``contains: 'kno'``, a field reference): error, naming the fill.
"""

from __future__ import annotations

import re
from typing import Any

from sigma.exceptions import SigmaTransformationError
from sigma.rule import SigmaDetectionItem
from sigma.types import SigmaFieldReference, SigmaType

from converter.mapping.functions.query import lowercase_test
from converter.mapping.functions.render import written
from converter.mapping.functions.tree import (
    Leaf,
    QueryResult,
    condition_tells_apart,
    guarded,
    item_verdict,
    rewrite,
)
from converter.mapping.table import FieldTarget


def _fill(spec: FieldTarget) -> str:
    """The text the dataset writes instead of a missing (or empty) value."""
    return str(spec.param("fill", "unknown"))


def _empty(spec: FieldTarget) -> tuple[str, ...]:
    """The texts the dataset replaces by the fill, beside a missing value."""
    return tuple(str(v) for v in spec.param("empty", [""]) or [])


def check_cim_fillnull(rule: Any, spec: FieldTarget, prefix: str) -> None:
    """Refuse the rule when its condition can tell the fill from a value the dataset replaces.

    Each detection item on the field is decided on a missing value, on each ``empty`` text and
    on the fill; where an item answers differently, the rule's condition as a whole decides
    (``condition_tells_apart``, every other test a free boolean): ``CommandLine: dllhost`` and
    ``not CommandLine: null`` never differ on ``unknown``, as the selection is false there either
    way. Run by the function transformation before it rewrites the items.

    Raises:
        SigmaTransformationError: the rule tells them apart (or an item has no verdict on a
            single value: a field reference, a placeholder).
    """
    fill, empty = _fill(spec), _empty(spec)
    every = _items(rule)
    for item in every:  # another field compared with this one: the fill would meet its value
        if any(isinstance(v, SigmaFieldReference) and v.field == spec.sigma for v in item.value):
            raise SigmaTransformationError(
                f"{spec.sigma} is mapped by function {spec.function} to "
                f"{prefix + spec.targets[0]}; no exact query exists: {item.field} is compared "
                f"with it, and the data model writes {fill!r} where it is missing",
                source=item.source,
            )
    items = [i for i in every if i.field == spec.sigma]
    for item in items:

        def differs(item: SigmaDetectionItem = item) -> list[str | None]:
            on_fill = item_verdict(item, fill)
            return [f for f in (None, *empty) if item_verdict(item, f) is not on_fill]

        forms = guarded(item, spec, prefix, differs)
        if not forms:
            continue
        if any(condition_tells_apart(rule, spec.sigma, v) for v in (fill, *empty)):
            shown = ", ".join("a missing value" if f is None else repr(f) for f in forms)
            replaced = ", ".join(["a missing value", *(repr(e) for e in empty)])
            raise SigmaTransformationError(
                f"{spec.sigma} is mapped by function {spec.function} to "
                f"{prefix + spec.targets[0]}; no exact query exists: the data model writes "
                f"{fill!r} for {replaced} (calculation "
                f"{spec.param('calculation', 'fillnull')}), and the rule tells {shown} from "
                f"{fill!r}",
                source=item.source,
            )


def _items(rule: Any) -> list[SigmaDetectionItem]:
    """Every detection item of the rule, nested detections included."""
    out: list[SigmaDetectionItem] = []
    stack: list[Any] = list(rule.detection.detections.values())
    while stack:
        node = stack.pop()
        if isinstance(node, SigmaDetectionItem):
            out.append(node)
        else:
            stack.extend(getattr(node, "detection_items", []))
    return out


def query_cim_fillnull(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """The item unchanged on the dataset field (``check_cim_fillnull`` has decided the rule);
    with ``lowercase``, the test of the lowercased value (``lowercase_test``: a ``cased`` value
    with letters or a regex without ``i`` is an error)."""
    target = prefix + spec.targets[0]
    if spec.param("lowercase"):
        return rewrite(item, spec, prefix, lambda value: lowercase_test(target, value))

    def same(value: SigmaType) -> Leaf:
        return Leaf(target, value)

    return rewrite(item, spec, prefix, same)


#: A number as the numeric fills read it (``isnum``): a JSON number or decimal text.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def render_cim_fillnull(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """The value the dataset holds: the fill for an ``empty`` text, else the value itself.

    Raises:
        ValueError: a ``numeric`` field (``if(isnum(f),f,0)``: ports) given a value that is no
            number: the source writes numbers there, so no record holds it (not rendered).
    """
    if value is None or (isinstance(value, str) and value in _empty(spec)):
        return written(spec.target, _fill(spec))
    if spec.param("lowercase") and isinstance(value, str):
        value = value.lower()
    if spec.param("numeric") and not (
        (isinstance(value, (int, float)) and not isinstance(value, bool))
        or (isinstance(value, str) and _NUMBER.fullmatch(value))
    ):
        raise ValueError(
            f"{spec.sigma}={value!r}: the data model keeps {spec.target} only as a number "
            f"(else {_fill(spec)!r}), and the source writes numbers there"
        )
    return written(spec.target, value)


def missing_cim_fillnull(spec: FieldTarget) -> dict[str, Any]:
    """What the dataset holds when the event lacks the field: the fill."""
    return written(spec.target, _fill(spec))


# --- cim_full_path -----------------------------------------------------------------------------
#
# Endpoint.Processes ``process_name`` is the base name of the image path, which the add-on
# extracts; where it is empty the data model derives one from the command line (Splunk_SA_CIM
# Endpoint.json, the Processes calculation of process_name). Sysmon writes the full image path on
# every process creation (Sysmon's event 1 schema: Image), so the derivation never runs on the
# source's rows; an event without such a path is no record of the source, and is not rendered
# (a rendered row without process_name would be false on a process_name test the data model's
# derived value could make true).


def _base_name(value: Any) -> str:
    """The part after the last backslash ('' when there is none, or nothing after it)."""
    text = str(value)
    return text.rsplit("\\", 1)[1] if "\\" in text else ""


def query_cim_full_path(item: SigmaDetectionItem, spec: FieldTarget, prefix: str) -> QueryResult:
    """The item unchanged on the dataset field (a rename: the source writes the path as is)."""
    target = prefix + spec.targets[0]
    return rewrite(item, spec, prefix, lambda value: Leaf(target, value))


def render_cim_full_path(value: Any, spec: FieldTarget) -> dict[str, Any]:
    """The path unchanged.

    Raises:
        ValueError: a value without a base name after its last backslash: the source writes
            full paths, and on a row without a base name the data model would derive one.
    """
    if not isinstance(value, str) or not _base_name(value):
        raise ValueError(
            f"{spec.sigma}={value!r}: the source writes a full path here, and where its base "
            f"name is empty the data model derives {spec.param('derives', 'the name')} from "
            f"another field ({spec.param('calculation', 'a calculation')})"
        )
    return written(spec.target, value)


def missing_cim_full_path(spec: FieldTarget) -> dict[str, Any]:
    """No record of the source lacks the path.

    Raises:
        ValueError: always (the event is not rendered).
    """
    raise ValueError(
        f"{spec.sigma} is missing: the source writes it on every event, and without it the data "
        f"model derives {spec.param('derives', 'the name')} from another field"
    )
