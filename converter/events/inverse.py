"""Events already in a target's schema read back into Sigma taxonomy names (``to_sigma``), with the
same mapping table that renders Sigma events into that schema (``render.py``): ``check --events
--schema ecs`` proves rules on real ECS documents this way.
"""

from __future__ import annotations

from typing import Any

from converter.mapping.table import MappingTable


def to_sigma(event: dict[str, Any], table: MappingTable, data_source: str | None = None) -> dict[str, Any]:
    """Map an event already in the table's target schema back to Sigma taxonomy names.

    Plain renames are inverted; ``EventID``/``Channel`` come from the logsource whose rendered
    constants the event carries (e.g. event.category ``process`` and event.type ``start`` mean a
    process-creation event). Function-mapped fields are inverted where the function is one-to-one
    (``to_integer``, ``to_string``, ``split_domain_user``, ``any_of``, ``to_ip``, ``value_map``,
    ``registry_hive``, ``registry_data``; ``trimmed`` as the trimmed text); others are left out of
    the Sigma view.
    """
    from backends.query.matching import lookup

    from converter.mapping.functions.registry import invert_value_map
    from converter.mapping.functions.registry_data import invert_registry_data
    from converter.mapping.functions.registry_hive import invert_registry_hive

    source = data_source or table.option_default("data_source")
    out: dict[str, Any] = {}
    for entry in table.entries_for(source):
        # Membership is what the query itself tests: the logsource's conditions and category.
        wanted = dict(entry.conditions)
        if entry.eql_category:
            wanted["event.category"] = entry.eql_category
        if wanted and all(_constant_matches(lookup(event, k), v) for k, v in wanted.items()):
            out.update(dict(entry.events[0]) if entry.events else {})
            break
    else:
        return out
    for name, target in entry.field_targets(source).items():
        if target.function is None:
            values = lookup(event, target.target)
            if values is not None:
                out[name] = values if len(values) > 1 else values[0]
        elif target.function in {"to_integer", "to_string"}:
            values = lookup(event, target.target)
            if values is not None:
                out[name] = str(values[0])
        elif target.function == "split_domain_user":
            domain, user = (lookup(event, t) for t in target.targets[:2])
            if user is not None:
                out[name] = f"{domain[0]}\\{user[0]}" if domain else user[0]
        elif target.function == "any_of":
            for candidate in target.targets:
                values = lookup(event, candidate)
                if values is not None:
                    out[name] = values[0]
                    break
        elif target.function in {"to_ip", "trimmed"}:
            # to_ip keeps the address text as the shipper got it; trimmed loses only the outer
            # whitespace, on which no test its query side accepts depends.
            values = lookup(event, target.target)
            if values is not None:
                out[name] = values if len(values) > 1 else values[0]
        elif target.function == "value_map":
            values = lookup(event, target.target)
            sigma = invert_value_map(values[0], target) if values is not None else None
            if sigma is not None:
                out[name] = sigma
        elif target.function == "registry_hive":
            values = lookup(event, target.target)
            path = invert_registry_hive(values[0], target) if values is not None else None
            if path is not None:
                out[name] = path
        elif target.function == "registry_data":
            strings, kind = (lookup(event, t) for t in target.targets[:2])
            details = (invert_registry_data(strings if len(strings) > 1 else strings[0], kind[0])
                       if strings is not None and kind is not None else None)
            if details is not None:
                out[name] = details
    return out


def _constant_matches(values: list[Any] | None, expected: Any) -> bool:
    """Every expected constant is among the document's values (compared as text)."""
    if values is None:
        return False
    wanted = expected if isinstance(expected, list) else [expected]
    return all(any(str(v) == str(w) for v in values) for w in wanted)
