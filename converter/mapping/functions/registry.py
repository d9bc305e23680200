"""The mapping tables' value functions, each implemented in both directions: the registries.

A table entry ``{function: NAME, to: ..., ...params}`` (``converter/mapping/tables/README.md``, section
"Functions", is the specification) maps a Sigma field through a function instead of a rename:

* the QUERY side (``QUERY_FUNCTIONS``) rewrites a pySigma detection item on the Sigma field, with
  its modifiers already applied, into a detection item or nested detection on the target field(s)
  that matches exactly the events the original matches, on events written by the render side;
* the RENDER side (``RENDER_FUNCTIONS``) writes a Sigma field's event value as target fields;
* ``ALIAS_FUNCTIONS`` normalise non-Sysmon records (Security 4688) to Sigma field values.

The implementations are split by concern: ``function_tree`` (the boolean tree the query sides
build and Sigma's value semantics), ``function_query`` / ``function_render`` (the string-shaped
functions), ``function_values`` (closed vocabularies and IP addresses: ``integrity_level_name``,
``value_map``, ``to_ip``; ``unlisted``: ``value_map``'s ``unlisted: kept``), ``columns`` (``value_columns``: a vocabulary recorded as which
column is set; ``any_of``'s ``by``), ``registry_path`` / ``registry_hive`` (registry paths whose hives a
data source spells differently from Sysmon), ``registry_data`` (Sysmon's registry ``Details`` as
a data source's strings and type), ``trim`` (``trimmed``: a value the shipper trims),
``boolean`` (``to_boolean``: a JSON boolean kept in a ``boolean`` field), ``cim`` (``cim_fillnull``:
a CIM data model field the model fills with ``unknown``), ``rewritten`` (``rewritten_values``:
a value the shipper may replace by another on records the Sigma event does not tell apart),
``lowered`` (``lowercased_when``: a value moved to another field, lowercased, when it is one of a
few words), ``unnamed_params`` (Sigma's ``Data``, a record's unnamed ``<Data>`` values, as
``param1..N``). This module
only assembles the registries the pipeline, the renderer and the source normaliser look functions
up in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from converter.mapping.functions.auditd import (
    query_auditd_record_type,
    render_auditd_record_type,
)
from converter.mapping.functions.boolean import query_to_boolean, render_to_boolean
from converter.mapping.functions.cim import (
    check_cim_fillnull,
    missing_cim_fillnull,
    missing_cim_full_path,
    query_cim_fillnull,
    query_cim_full_path,
    render_cim_fillnull,
    render_cim_full_path,
)
from converter.mapping.functions.columns import query_value_columns, render_value_columns
from converter.mapping.functions.lowered import query_lowercased_when, render_lowercased_when
from converter.mapping.functions.path import query_path_basename, render_path_basename
from converter.mapping.functions.query import (
    query_any_of,
    query_copy,
    query_hashes,
    query_lowercase,
    query_split_domain_user,
    query_to_integer,
    query_to_string,
)
from converter.mapping.functions.render import (
    alias_hex_to_integer,
    alias_join_domain_user,
    render_any_of,
    render_basename,
    render_copy,
    render_hashes,
    render_lowercase,
    render_trimmed,
    render_split_domain_user,
    render_split_hashes,
    render_to_integer,
    render_to_string,
)
from converter.mapping.functions.registry_data import query_registry_data, render_registry_data
from converter.mapping.functions.registry_hive import query_registry_hive, render_registry_hive
from converter.mapping.functions.registry_path import (
    query_registry_key_path,
    query_registry_value_path,
    render_registry_key_path,
    render_registry_value_path,
)
from converter.mapping.functions.rewritten import (
    query_rewritten_values,
    render_rewritten_values,
)
from converter.mapping.functions.tree import QueryFunction
from converter.mapping.functions.trim import query_trimmed
from converter.mapping.functions.unlisted import (
    invert_value_map_any as invert_value_map,
)
from converter.mapping.functions.unlisted import (
    query_value_map_any,
    render_value_map_any,
)
from converter.mapping.functions.unnamed_data import query_xml_unnamed_data, render_xml_unnamed_data
from converter.mapping.functions.auditd_pair import query_auditd_pair, render_auditd_pair
from converter.mapping.functions.access_column import query_access_column, render_access_column
from converter.mapping.functions.unnamed_params import query_unnamed_params, render_unnamed_params
from converter.mapping.functions.ip import query_to_ip, render_to_ip
from converter.mapping.functions.values import (
    INTEGRITY_LEVELS,
    query_integrity_level_name,
    query_mandatory_label,
    render_integrity_level_name,
    render_mandatory_label,
)

__all__ = [
    "ALIAS_FUNCTIONS",
    "EVENT_RENDER_FUNCTIONS",
    "WHOLE_RENDER_FUNCTIONS",
    "INTEGRITY_LEVELS",
    "MISSING_RENDER_FUNCTIONS",
    "RULE_CHECKS",
    "QUERY_FUNCTIONS",
    "RENDER_FUNCTIONS",
    "invert_value_map",
]

QUERY_FUNCTIONS: dict[str, QueryFunction] = {
    "copy": query_copy,
    "to_integer": query_to_integer,
    "to_string": query_to_string,
    "lowercase": query_lowercase,
    "any_of": query_any_of,
    "split_domain_user": query_split_domain_user,
    "hashes": query_hashes,
    "integrity_level_name": query_integrity_level_name,
    "mandatory_label": query_mandatory_label,
    "value_map": query_value_map_any,
    "value_columns": query_value_columns,
    "to_ip": query_to_ip,
    "registry_value_path": query_registry_value_path,
    "registry_key_path": query_registry_key_path,
    "auditd_record_type": query_auditd_record_type,
    "path_basename": query_path_basename,
    "registry_hive": query_registry_hive,
    "registry_data": query_registry_data,
    "trimmed": query_trimmed,
    "to_boolean": query_to_boolean,
    "cim_fillnull": query_cim_fillnull,
    "cim_full_path": query_cim_full_path,
    "rewritten_values": query_rewritten_values,
    "lowercased_when": query_lowercased_when,
    "xml_unnamed_data": query_xml_unnamed_data,
    "unnamed_params": query_unnamed_params,
    "auditd_pair": query_auditd_pair,
    "access_column": query_access_column,
}

RENDER_FUNCTIONS: dict[str, Callable[..., dict[str, Any]]] = {
    "basename": render_basename,
    "copy": render_copy,
    "to_integer": render_to_integer,
    "to_string": render_to_string,
    "lowercase": render_lowercase,
    "any_of": render_any_of,
    "split_domain_user": render_split_domain_user,
    "hashes": render_hashes,
    "split_hashes": render_split_hashes,
    "integrity_level_name": render_integrity_level_name,
    "mandatory_label": render_mandatory_label,
    "value_map": render_value_map_any,
    "value_columns": render_value_columns,
    "to_ip": render_to_ip,
    "registry_value_path": render_registry_value_path,
    "registry_key_path": render_registry_key_path,
    "auditd_record_type": render_auditd_record_type,
    "path_basename": render_path_basename,
    "registry_hive": render_registry_hive,
    "registry_data": render_registry_data,
    "trimmed": render_trimmed,
    "to_boolean": render_to_boolean,
    "cim_fillnull": render_cim_fillnull,
    "cim_full_path": render_cim_full_path,
    "rewritten_values": render_rewritten_values,
    "lowercased_when": render_lowercased_when,
    "xml_unnamed_data": render_xml_unnamed_data,
    "unnamed_params": render_unnamed_params,
    "auditd_pair": render_auditd_pair,
    "access_column": render_access_column,
}

#: Checks of the whole rule that a function's query side relies on, run before its items are
#: rewritten (called ``f(rule, spec, prefix)``; they raise SigmaTransformationError).
RULE_CHECKS: dict[str, Callable[[Any, Any, str], None]] = {
    "cim_fillnull": check_cim_fillnull,
}

#: Render sides for a field the event lacks (called ``f(spec)``): a data model that calculates the
#: field writes a value even then (``cim_fillnull``: CIM's ``unknown``).
MISSING_RENDER_FUNCTIONS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "cim_fillnull": missing_cim_fillnull,
    "cim_full_path": missing_cim_full_path,
}

#: Render sides that also read other fields of the source event (called ``f(value, spec, event)``):
#: the shape of ``registry_key_path``'s output depends on the event's EventType.
EVENT_RENDER_FUNCTIONS = frozenset({"registry_key_path"})

#: Render sides that read a multi-valued field whole (called ``f(value, spec)`` once, not per
#: element): ``unnamed_params`` writes a list's values to its ``to`` fields in order.
WHOLE_RENDER_FUNCTIONS = frozenset({"unnamed_params"})

ALIAS_FUNCTIONS: dict[str, Callable[[list[Any], dict[str, Any]], Any]] = {
    "hex_to_integer": alias_hex_to_integer,
    "join_domain_user": alias_join_domain_user,
}
