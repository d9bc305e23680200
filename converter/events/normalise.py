"""Normalise one raw event to the flat Sigma/Sysmon field names the checker works with.

Every reader in ``converter.events.inputs`` yields raw events in whatever shape the source wrote; this
module turns each of them, once, into the flat event that the reference evaluator
(``converter.reference.evaluator``) and the renderer (``converter.events.render.EventRenderer``) expect:
``EventID`` (an int), ``Channel``, ``Image``, ``CommandLine``, ... Three shapes are known:

* **Windows XML as JSON** (``Event.System`` / ``Event.EventData``), as the ``evtx`` package and
  ``evtx_dump`` write it (the SigmaHQ regression data), and as ``xmltodict`` writes it (``@Name``
  attributes, ``#text`` values). ``System`` gives ``EventID``, ``Channel``, ``Computer``,
  ``Provider_Name``, ``Level`` and ``Keywords``; every ``EventData`` (or ``UserData``) element
  becomes a field of its own name. Values are kept as the XML text would read, i.e. strings
  (``evtx`` writes typed values such as ``ProcessId: 15596`` as JSON numbers; they become
  ``"15596"``), except ``EventID``.
* **Flat Windows events** (a top-level ``EventID``: NXLog ``im_msvistalog`` JSON as in OTRF
  Security-Datasets, and hand-written samples): already named like Sigma. Only the NXLog System
  fields whose Sigma name differs are added (see ``_flat_windows``); every original field is kept.
* **Anything else** (not a Windows event log record) passes through unchanged.

On top of both Windows shapes, records named with Microsoft's Security-log names (event 4688) get
the Sigma taxonomy names from the ``source_aliases`` section of the ``ecs-windows`` mapping table,
with the value functions of ``converter.mapping.functions.registry.ALIAS_FUNCTIONS``; the Microsoft fields are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from converter.reference.fields import MISSING

if TYPE_CHECKING:
    from converter.mapping.table import FieldTarget

__all__ = [
    "array_fields", "normalise", "normalise_owned", "is_windows_record", "with_nested_fields",
]

#: Mask that turns NXLog's signed 64-bit ``Keywords`` into the unsigned bit field Windows shows.
_U64 = (1 << 64) - 1
#: Key under which the ``evtx`` package (and evtx_dump) put an element's XML attributes.
_ATTRS = "#attributes"
_TEXT = "#text"


def normalise(raw: dict[str, Any]) -> dict[str, Any]:
    """Return one event with flat Sigma/Sysmon field names (the input is not modified).

    Args:
        raw: one event as a reader produced it (any of the shapes in the module docstring).

    Returns:
        A new flat dict for a Windows event log record; ``raw`` itself for any other event.

    Raises:
        ValueError: a Security record holds a value that its Sigma field cannot represent (e.g. a
            backslash inside ``SubjectUserName``, which ``join_domain_user`` would make ambiguous).
    """
    return normalise_owned(raw, copy=True)


def normalise_owned(raw: dict[str, Any], copy: bool = False) -> dict[str, Any]:
    """``normalise`` for a caller that owns ``raw``: a flat record is updated in place.

    ``converter.events.inputs`` uses it on the dicts it has just decoded, which saves one copy of every
    flat event (a third of the normalisation time on the OTRF data).
    """
    event = _xml_record(raw)
    if event is not None:
        return _apply_aliases(event)
    if _is_flat_windows(raw):
        return _apply_aliases(_flat_windows(dict(raw) if copy else raw))
    return raw


def is_windows_record(raw: dict[str, Any]) -> bool:
    """True when ``raw`` is a Windows event log record in one of the shapes ``normalise`` knows."""
    return _system_of(raw) is not None or _is_flat_windows(raw)


# ---------------------------------------------------------------------------------------------
# Event.System / Event.EventData (Windows XML rendered as JSON)


def _system_of(raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(the Event element, its System element), or None when ``raw`` is not that shape."""
    event = raw.get("Event", raw)
    if not isinstance(event, dict):
        return None
    system = event.get("System")
    if isinstance(system, dict) and "EventID" in system:
        return event, system
    return None


def _xml_record(raw: dict[str, Any]) -> dict[str, Any] | None:
    """Flatten an Event.System/EventData record; None when ``raw`` has another shape."""
    found = _system_of(raw)
    if found is None:
        return None
    event, system = found
    out: dict[str, Any] = {}
    # EventData first, System after: EventID and Channel decide logsource membership, so those
    # System values win over an EventData field of the same name.
    for section in ("EventData", "UserData"):
        body = event.get(section)
        if isinstance(body, dict):
            _flatten_data(body, out, user_data=section == "UserData")
    out["EventID"] = _event_id(_text(system.get("EventID")))
    channel = _text(system.get("Channel"))
    if channel is not None:
        out["Channel"] = _as_string(channel)
    provider = _attributes(system, "Provider")
    if provider.get("Name") is not None:
        out.setdefault("Provider_Name", _as_string(provider["Name"]))
    # The other System values keep an EventData field of the same name. Level and Keywords are
    # tested by some SigmaHQ rules (e.g. `Level: 2`, `Keywords: '0x8010000000000000'`).
    for name in ("Computer", "Level", "Keywords"):
        value = _text(system.get(name))
        if value is not None:
            out.setdefault(name, _as_string(value))
    return out


def _flatten_data(body: dict[str, Any], out: dict[str, Any], user_data: bool) -> None:
    """Copy the fields of an EventData (or UserData) element into ``out``.

    Shapes handled: ``evtx`` (``{"Name": value}``; unnamed ``<Data>`` as ``{"Data": {"#text":
    [..]}}``), xmltodict (``{"Data": [{"@Name": n, "#text": v}, ...]}``, one dict when there is a
    single element), and UserData, whose one child element holds the fields (``{"Operation": {
    "#attributes": .., "User": ..}}``).
    """
    if user_data:
        # UserData wraps the provider's own element; its children are the fields.
        for key, child in body.items():
            if key != _ATTRS and isinstance(child, dict):
                _flatten_data(child, out, user_data=False)
        return
    for key, value in body.items():
        if key == _ATTRS or key.startswith("@") or key.endswith("_attributes"):
            continue  # attributes of the EventData element itself, e.g. Name="TaskDisabled"
        if key == "Data":
            _flatten_data_elements(value, out)
        else:
            out[key] = _value(value)


def _flatten_data_elements(value: Any, out: dict[str, Any]) -> None:
    """``<Data>`` children: named ones become fields, unnamed ones collect under ``Data``."""
    unnamed: list[Any] = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, dict):
            name = item.get("@Name", item.get("Name"))
            if name is None and isinstance(item.get(_ATTRS), dict):
                name = item[_ATTRS].get("Name")
            text = item.get(_TEXT)
            if name is not None and (text is None or not isinstance(text, dict)):
                out[str(name)] = _value(text)
                continue
            if text is None:
                continue
            unnamed.extend(text if isinstance(text, list) else [text])
        elif item is not None:
            unnamed.append(item)
    if unnamed:
        values = [_value(v) for v in unnamed]
        out["Data"] = values if len(values) > 1 else values[0]


def _text(value: Any) -> Any:
    """The text of an element that may carry attributes: ``{"#text": 1, ..}``, ``{"Value": ..}``."""
    if isinstance(value, dict):
        for key in (_TEXT, "Value", "value"):
            if key in value:
                return value[key]
        return None
    return value


def _attributes(system: dict[str, Any], name: str) -> dict[str, Any]:
    """Attributes of a System child, in the evtx (``#attributes``, ``X_attributes``) or
    xmltodict (``@Name``) shape."""
    element = system.get(name)
    if isinstance(element, dict):
        if isinstance(element.get(_ATTRS), dict):
            return element[_ATTRS]
        at = {k[1:]: v for k, v in element.items() if k.startswith("@")}
        if at:
            return at
    separate = system.get(f"{name}_attributes")
    return separate if isinstance(separate, dict) else {}


def _as_string(value: Any) -> Any:
    """A scalar as the XML text reads it; lists element-wise; None and dicts unchanged."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return [_as_string(v) for v in value]
    return value


def _value(value: Any) -> Any:
    """One EventData value: the text of an element, as a string."""
    return _as_string(_text(value) if isinstance(value, dict) and _TEXT in value else value)


def _event_id(value: Any) -> Any:
    """EventID as an int (decimal text is converted); anything else is kept as given."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


# ---------------------------------------------------------------------------------------------
# Flat Windows events (NXLog im_msvistalog JSON, hand-written samples)


def _is_flat_windows(raw: dict[str, Any]) -> bool:
    """A flat record of the Windows event log: it carries ``EventID`` at the top level.

    ``Channel`` is not required: hand-written samples often omit it (``converter.reference.logsources``
    accepts that too), and no non-Windows Sigma taxonomy uses an ``EventID`` field.
    """
    return "EventID" in raw and not isinstance(raw["EventID"], (dict, list))


def _flat_windows(out: dict[str, Any]) -> dict[str, Any]:
    """Add to a flat record (in place) the Sigma names of the NXLog System fields.

    NXLog im_msvistalog writes the System section under its own names
    (https://docs.nxlog.co/refman/v5.10/im/msvistalog.html, "Fields"); only those that a Sigma
    field needs are added, the originals stay:

    * ``Hostname`` -> ``Computer`` (checked on OTRF data: the FQDN that ``<Computer>`` holds);
    * ``SourceName`` -> ``Provider_Name`` (the provider, e.g. ``Service Control Manager``);
    * ``Keywords``: NXLog before version 6 writes a signed decimal (the page's
      "Backward-compatibility" section), Windows XML the hex bit field; -9214364837600034816
      becomes ``0x8020000000000000`` (Audit Success, the value of every OTRF AUDIT_SUCCESS
      record).

    Windows' ``Level`` is not derived from NXLog's ``SeverityValue``: that is NXLog's own scale.
    """
    out["EventID"] = _event_id(out["EventID"])
    if "Computer" not in out and isinstance(out.get("Hostname"), str):
        out["Computer"] = out["Hostname"]
    if "Provider_Name" not in out and isinstance(out.get("SourceName"), str):
        out["Provider_Name"] = out["SourceName"]
    keywords = out.get("Keywords")
    if isinstance(keywords, int) and not isinstance(keywords, bool):
        out["Keywords"] = f"0x{keywords & _U64:x}"
    return out


# ---------------------------------------------------------------------------------------------
# Security-log records with Microsoft names -> Sigma taxonomy (mapping table source_aliases)


class _Alias(NamedTuple):
    """One ``source_aliases`` entry: the record kind, its field specs (spec, source names,
    value function), the names only Microsoft uses, and every source name."""

    match: dict[str, Any]
    specs: tuple[tuple[dict[str, Any], tuple[str, ...], Callable[..., Any] | None], ...]
    microsoft_only: frozenset[str]
    sources: frozenset[str]


@lru_cache(maxsize=1)
def _aliases() -> tuple[_Alias, ...]:
    """The ``source_aliases`` entries of the ``ecs-windows`` table, prepared once."""
    # Imported here: the mapping table (YAML) is only needed once a record could be aliased.
    from converter.mapping.functions.registry import ALIAS_FUNCTIONS
    from converter.mapping.loader import load_table

    out = []
    for entry in load_table("ecs-windows").source_aliases.values():
        specs = tuple(
            (s, tuple(_names(s["from"])), _alias_function(s, ALIAS_FUNCTIONS))
            for s in entry.get("fields") or ()
            if s.get("to")
        )
        targets = {s["to"] for s, _, _ in specs}
        sources = frozenset(n for s in entry.get("fields") or () for n in _names(s["from"]))
        out.append(_Alias(dict(entry["match"]), specs, sources - targets, sources))
    return tuple(out)


def _alias_function(
    spec: dict[str, Any], functions: dict[str, Callable[..., Any]]
) -> Callable[..., Any] | None:
    """The value function a spec names (None: copy the value); an unknown name is an error."""
    name = spec.get("function")
    if not name:
        return None
    if name not in functions:
        from converter.errors import PipelineError

        raise PipelineError(
            f"source_aliases: unknown function {name!r}", path="converter/mapping/tables/ecs-windows.yml",
            hint=f"known: {', '.join(sorted(functions))}",
        )
    return functions[name]


def _names(value: Any) -> list[str]:
    return list(value) if isinstance(value, list) else [value]


def _alias_match(event: dict[str, Any], match: dict[str, Any]) -> bool:
    """The record kind test: Channel case-insensitively (as ``converter.reference.logsources`` compares
    channels; OTRF has both ``Security`` and ``security``), other fields as text."""
    for key, wanted in match.items():
        got = event.get(key)
        if got is None:
            return False
        if key == "Channel":
            if str(got).lower() != str(wanted).lower():
                return False
        elif str(got) != str(wanted):
            return False
    return True


def _apply_aliases(event: dict[str, Any]) -> dict[str, Any]:
    """Add the Sigma fields of a Security record named with Microsoft's names.

    Applied only when the record carries a Microsoft-only name (``NewProcessName``, ...), so a
    hand-written sample already in Sigma names (whose ``ProcessId`` means the new process) is
    not re-read as a 4688 record. Values come from the ORIGINAL record, because 4688's
    ``ProcessId`` (the creator, hex) feeds ``ParentProcessId`` while ``NewProcessId`` feeds
    ``ProcessId``. A Sigma field already present is kept unless its name is also a Microsoft
    source name (``ProcessId``), which makes normalising twice give the same event.
    """
    for alias in _aliases():
        if not _alias_match(event, alias.match) or alias.microsoft_only.isdisjoint(event):
            continue
        original = dict(event)
        for spec, names, function in alias.specs:
            target = spec["to"]
            if target in original and target not in alias.sources:
                continue
            values = [original.get(n) for n in names]
            if all(v is None for v in values):
                continue
            value = function(values, spec) if function else values[0]
            if value is not None:
                event[target] = _as_string(value)
    return event


def with_nested_fields(event: dict[str, Any], names: Iterable[str],
                       lists: Mapping[str, tuple[int, ...]] | None = None) -> dict[str, Any]:
    """``event`` with each dotted Sigma field of ``names`` that is no key of it but a path into
    its nested objects (``securityContext: {isProxy: true}`` for ``securityContext.isProxy``)
    added under the dotted name, read as the reference reads a field ("field_names": the exact
    key, then the path).

    A list on the path is read element by element ("object_lists") only for the names in
    ``lists``: the fields whose target the shipper writes from every element (a Splunk JSON
    field named with ``{}``, ``json_array_fields``), which get the flat list of the leaves
    found. For any other name a list on the path ends it: the target field names no array, so
    the value is not written where the query looks, as the engine would not find it there.
    Likewise a name of ``lists`` reads only the values at the array depth its target names
    (``lists[name]``, from ``array_fields``): Splunk names an object's key ``a.b`` and a nested
    array's ``a{}{}.b``, so an object where the target says ``a{}.b``, a list inside the list,
    or an array leaf where the target names a scalar holds no value of that field.

    Vendors write these records nested (Okta's System Log, CloudTrail, Kubernetes audit); the
    renderer (``converter.events.render``) then writes the value the reference tests, where it
    used to see only flat dotted keys and render nothing.

    Raises:
        ValueError: a name of ``lists`` meets a null, an object or an empty list as a leaf, whose
            extracted form the vendor does not document (the checker then does not ask the
            query about the event).
    """
    added: dict[str, Any] = {}
    lists = lists or {}
    for name in names:
        if name not in event and "." in name:
            if name in lists:
                value = _shaped_leaves(name, event, lists[name])
                if value is not MISSING:
                    added[name] = value
                continue
            value = _object_path(event, name.split("."))
            if value is not MISSING:
                added[name] = value
    return {**event, **added} if added else event


def array_fields(targets: Mapping[str, "FieldTarget"]) -> dict[str, tuple[int, ...]]:
    """The dotted Sigma fields whose every target names an array element's leaf with ``{}``
    (Splunk's JSON naming, ``json_array_fields``): read across the lists of a nested record.

    Each maps to the number of array levels its target names after each part of the Sigma
    path (``target{}.type`` for ``target.type``: ``(1, 0)``), the parts aligned from the leaf
    (the target may add a prefix: ``properties.targetResources{}.type`` for ``targetResources.type``).
    """
    out: dict[str, tuple[int, ...]] = {}
    for name, spec in targets.items():
        named = spec.targets or (spec.target,)
        if "." in name and all("{}" in t for t in named):
            parts, target_parts = name.split("."), spec.target.split(".")
            depths = [0] * len(parts)
            for back in range(1, min(len(parts), len(target_parts)) + 1):
                depths[-back] = target_parts[-back].count("{}")
            out[name] = tuple(depths)
    return out


def _object_path(node: Any, path: list[str]) -> Any:
    """The value at ``path`` through objects only (a list on the way ends it), or ``MISSING``."""
    for part in path:
        if not isinstance(node, Mapping):
            return MISSING
        node = node.get(part, MISSING)
        if node is MISSING:
            return MISSING
    return node


def _shaped_leaves(name: str, event: Mapping[str, Any], depths: tuple[int, ...]) -> Any:
    """The leaves of ``name`` read as the target names them: the exact key as given (every
    element of a list value), else the path with ``depths[i]`` array levels after part ``i``
    (``array_fields``); ``MISSING`` when no value sits where the name points."""
    value = event.get(name, MISSING)
    if value is not MISSING:
        return _array_leaves(name, value)
    path = name.split(".")
    leaves: list[Any] = []

    def enter(node: Any, i: int) -> None:
        # A scalar or a list where the name has an object holds no key of it.
        if isinstance(node, Mapping) and (value := node.get(path[i], MISSING)) is not MISSING:
            unwrap(value, i, depths[i])

    def unwrap(node: Any, i: int, depth: int) -> None:
        if depth:
            if isinstance(node, list):  # not a list: named without {} here, another field
                if not node and depth == 1 and i == len(path) - 1:
                    raise ValueError(f"{name}: an empty array as a leaf")
                for item in node:
                    unwrap(item, i, depth - 1)
        elif isinstance(node, list):
            return  # one more array level: named with another {}, another field
        elif i < len(path) - 1:
            enter(node, i + 1)
        elif node is None or isinstance(node, Mapping):
            raise ValueError(f"{name}: a {'null' if node is None else 'JSON object'} as a leaf "
                             "of an array field, whose extraction is not documented")
        else:
            leaves.append(node)

    enter(event, 0)
    if not leaves:
        return MISSING
    return leaves[0] if len(leaves) == 1 else leaves


def _array_leaves(name: str, value: Any) -> Any:
    """The scalar leaves of a value read across arrays, in order: one value alone, else a list."""
    leaves: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            if not node:
                raise ValueError(f"{name}: an empty array as a leaf")
            for item in node:
                walk(item)
        elif node is None or isinstance(node, Mapping):
            raise ValueError(f"{name}: a {'null' if node is None else 'JSON object'} as a leaf "
                             "of an array field, whose extraction is not documented")
        else:
            leaves.append(node)

    walk(value)
    return leaves[0] if len(leaves) == 1 else leaves
