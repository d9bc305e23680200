"""The backtest's renderings of an event per target schema, made once by the parent for every shard.

A schema is a ``(table name, data source)`` pair: targets with the same table and data source
render an event alike, so the parent renders each event once per schema the shards will read
(``render_schemas``) and a shard takes the rendering it was given (``rendered_for``), rendering
for itself only a schema it was not given. A renderer's refusal travels as ``Unrenderable``, so
the shard raises the same message it would have raised rendering the event itself.
"""

from __future__ import annotations

from typing import Any, Iterable, NamedTuple

from converter.events.record_xml import one_record


class Unrenderable(NamedTuple):
    """An event a renderer refused (``ValueError``), carried to the shards as its message."""

    message: str


#: A batch item's renderings: schema -> the rendered event, None (no logsource of the table
#: covers it) or ``Unrenderable``.
Renderings = dict[Any, Any]


def schema_renderers(checker: Any) -> tuple[dict[Any, Any], dict[str, Any]]:
    """One renderer per target schema (``(table name, data source)``: targets with the same
    table and data source render alike) and each target's schema."""
    renderers: dict[Any, Any] = {}
    schema_of: dict[str, Any] = {}
    for name, renderer in checker.renderers.items():
        key = (renderer.table.name, renderer.data_source)
        renderers.setdefault(key, renderer)
        schema_of[name] = key
    return renderers, schema_of


def render_schemas(renderers: dict[Any, Any], event: dict[str, Any],
                   only: Iterable[Any] | None = None) -> Renderings:
    """The event rendered for every schema (or those in ``only``), as ``Engine`` would render
    it for each, computed once by the parent for all shards; the record text several schemas
    hold (Splunk's ``_raw``) is written once and shared (``one_record``)."""
    out: Renderings = {}
    with one_record():
        for key, renderer in renderers.items():
            if only is not None and key not in only:
                continue
            try:
                out[key] = renderer.render(event)
            except ValueError as exc:
                out[key] = Unrenderable(str(exc))
    return out


def rendered_for(renderer: Any, event: dict[str, Any], given: Renderings | None, schema: Any) -> Any:
    """The event in ``schema`` (None: no logsource covers it), from ``given`` when the parent
    rendered it.

    Raises:
        ValueError: the renderer refuses the event (the same message either way).
    """
    if given is None or schema not in given:
        return renderer.render(event)
    found = given[schema]
    if isinstance(found, Unrenderable):
        raise ValueError(found.message)
    return found
