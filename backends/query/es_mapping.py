"""Read the JSON shapes Elasticsearch uses for mappings into ``properties`` trees per index.

A user's field model (``--mapping FILE``) comes in one of these shapes:

* a get-mapping response, ``GET <index>/_mapping``: ``{index: {"mappings": {...}}}``, or a get-index
  response ``GET <index>`` that adds ``settings`` (with the index's custom normalizers)
  (https://www.elastic.co/guide/en/elasticsearch/reference/current/indices-get-mapping.html);
* a bare ``{"mappings": {...}}`` or ``{"properties": {...}}``;
* a composable index template or a component template body, ``{"template": {"settings",
  "mappings"}, ...}``, or the responses of ``GET _index_template/<name>`` and
  ``GET _component_template/<name>``, which wrap bodies in ``index_templates`` /
  ``component_templates`` (https://www.elastic.co/guide/en/elasticsearch/reference/current/
  index-templates.html); a legacy template has ``mappings`` and ``settings`` at the top.

An index's mapping is the whole truth about its fields; a template is one part of the mapping of
the indices it builds (composed with the integration's own templates), so ``Root.partial`` says
that a field model from it completes a data source's model rather than replacing it.

Custom normalizers (``settings.analysis.normalizer``) are resolved: one whose only step is the
``lowercase`` token filter (no char filters, no ``language`` option) indexes exactly as the
built-in ``lowercase`` normalizer does, so its fields are modelled as ``lowercase``
(https://www.elastic.co/guide/en/elasticsearch/reference/current/analysis-normalizers.html,
https://www.elastic.co/guide/en/elasticsearch/reference/current/analysis-lowercase-tokenfilter.html).
Any other custom normalizer keeps its name, and the interpreters refuse to guess what it does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import QueryError

__all__ = ["Root", "mapping_roots"]


class _ShapeError(QueryError):
    """Raised through ``FieldModelError`` by ``fields.py`` (kept local to avoid an import cycle)."""


@dataclass(frozen=True)
class Root:
    """One index's (or template's) mapping.

    Attributes:
        name: the index or template name, for error messages.
        properties: the ``mappings.properties`` object.
        normalizers: custom normalizer name -> the normalizer it equals (``lowercase``), for the
            custom normalizers whose definition is known and is a plain lowercase.
        partial: True for a template (one part of an index's mapping), False for an index.
    """

    name: str
    properties: Mapping[str, Any]
    normalizers: Mapping[str, str] = field(default_factory=dict)
    partial: bool = False


def mapping_roots(obj: Any, error: type[QueryError] = _ShapeError) -> list[Root]:
    """The mapping roots of any accepted JSON shape (see the module docstring).

    Raises:
        ``error``: the JSON is none of the accepted shapes, or names no mapping.
    """
    if not isinstance(obj, Mapping):
        raise error("an Elasticsearch mapping must be a JSON object")
    for key, inner in (("index_templates", "index_template"),
                       ("component_templates", "component_template")):
        if key in obj:
            items = obj[key]
            if not isinstance(items, list) or not items:
                raise error(f"{key!r} must be a non-empty list")
            roots = []
            for item in items:
                if not isinstance(item, Mapping) or not isinstance(item.get(inner), Mapping):
                    raise error(f"every entry of {key!r} needs an {inner!r} object")
                roots.append(_template(item[inner], str(item.get("name", inner)), error))
            return roots
    if isinstance(obj.get("template"), Mapping):
        return [_template(obj, "template", error)]
    if "properties" in obj:
        return [Root("mapping", _object(obj["properties"], "properties", error))]
    if "mappings" in obj:
        # A bare mappings object, or a legacy template (index_patterns + settings + mappings).
        partial = "index_patterns" in obj
        return [Root("mapping", _properties_of(obj["mappings"], "mapping", error),
                     _normalizers(obj.get("settings"), "mapping", error), partial)]
    roots = []
    for index, body in obj.items():
        if not isinstance(body, Mapping) or "mappings" not in body:
            raise error(f"index {index!r} has no 'mappings' object")
        roots.append(Root(str(index), _properties_of(body["mappings"], str(index), error),
                          _normalizers(body.get("settings"), str(index), error)))
    if not roots:
        raise error("the mapping response lists no index")
    return roots


def _template(body: Mapping[str, Any], name: str, error: type[QueryError]) -> Root:
    """A composable index template or component template body."""
    template = body.get("template")
    if not isinstance(template, Mapping):
        raise error(f"template {name!r} has no 'template' object")
    mappings = template.get("mappings")
    mappings = {} if mappings is None else mappings  # a settings-only template maps nothing
    return Root(name, _properties_of(mappings, name, error),
                _normalizers(template.get("settings"), name, error), partial=True)


def _object(value: Any, where: str, error: type[QueryError]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise error(f"{where} must be an object")
    return value


def _properties_of(mappings: Any, index: str, error: type[QueryError]) -> Mapping[str, Any]:
    """``mappings.properties``, also through a pre-7.0 document type level (``{"_doc": ...}``)."""
    if not isinstance(mappings, Mapping):
        raise error(f"index {index!r}: 'mappings' must be an object")
    if "properties" in mappings:
        return _object(mappings["properties"], f"index {index!r}: 'properties'", error)
    typed = [v for v in mappings.values() if isinstance(v, Mapping) and "properties" in v]
    if len(typed) == 1:
        return _object(typed[0]["properties"], f"index {index!r}: 'properties'", error)
    return {}


def _nested(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings with dotted keys (``"index.analysis.normalizer.lc.filter"``, as
    ``flat_settings=true`` prints them) expanded into nested objects."""
    out: dict[str, Any] = {}
    for key, value in settings.items():
        node = out
        parts = str(key).split(".")
        for part in parts[:-1]:
            child = node.get(part)
            node = node.setdefault(part, {}) if not isinstance(child, dict) else child
        leaf = _nested(value) if isinstance(value, Mapping) else value
        if isinstance(node.get(parts[-1]), dict) and isinstance(leaf, dict):
            node[parts[-1]].update(leaf)
        else:
            node[parts[-1]] = leaf
    return out


def _normalizers(settings: Any, index: str, error: type[QueryError]) -> dict[str, str]:
    """Custom normalizers of ``settings`` that equal the built-in ``lowercase`` one."""
    if settings is None:
        return {}
    if not isinstance(settings, Mapping):
        raise error(f"index {index!r}: 'settings' must be an object")
    nested = _nested(settings)
    analysis = nested.get("analysis") or (nested.get("index") or {}).get("analysis") or {}
    if not isinstance(analysis, Mapping):
        return {}
    filters = analysis.get("filter") or {}
    out = {}
    for name, spec in (analysis.get("normalizer") or {}).items():
        if isinstance(spec, Mapping) and _is_plain_lowercase(spec, filters):
            out[str(name)] = "lowercase"
    return out


def _is_plain_lowercase(spec: Mapping[str, Any], filters: Any) -> bool:
    """A normalizer of type ``custom`` with no char filter and one filter: ``lowercase`` or a
    custom ``lowercase`` token filter without ``language`` (Greek, Irish and Turkish lowercase
    differently)."""
    if spec.get("type", "custom") != "custom" or spec.get("char_filter"):
        return False
    steps = spec.get("filter")
    steps = [steps] if isinstance(steps, str) else steps
    if not isinstance(steps, list) or len(steps) != 1:
        return False
    step = steps[0]
    if step == "lowercase":
        return not (isinstance(filters, Mapping) and "lowercase" in filters)
    custom = filters.get(step) if isinstance(filters, Mapping) else None
    if isinstance(step, Mapping):
        custom = step
    return (
        isinstance(custom, Mapping)
        and custom.get("type") == "lowercase"
        and set(custom) <= {"type"}
    )
