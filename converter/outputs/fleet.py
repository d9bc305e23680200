"""Where Elastic lets users add mappings and ingest pipelines, and the requests that put them.

Fleet composes a ``<type>@custom`` and a ``<type>-<dataset>@custom`` component template into every
integration index template, and every integration pipeline calls the ``@custom`` pipelines of its
type, package and dataset (``FLEET_CUSTOM_DOC``). Winlogbeat composes none: sigport's mapping goes
into an index template of higher priority whose final pipeline writes the copies. ``sigport
mapping`` (``converter.outputs.index_template``) names its output after these and prints the
requests a user runs.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

from converter.mapping.loader import load_table

#: Winlogbeat 8 loads its own index template (priority 150) for its data stream ``winlogbeat-*``.
WINLOGBEAT_TEMPLATE = "winlogbeat-sigport"
WINLOGBEAT_PRIORITY = 200
#: The Winlogbeat index's final pipeline (an index setting: it runs after any other pipeline,
#: https://www.elastic.co/docs/reference/elasticsearch/index-settings/index-modules).
WINLOGBEAT_PIPELINE = "winlogbeat-sigport"
#: Fleet's ``@custom`` hooks: the component templates ``<type>@custom`` and
#: ``<type>-<dataset>@custom`` every integration index template composes, and the pipelines
#: ``global@custom``, ``<type>@custom``, ``<type>-<package>.integration@custom`` and
#: ``<type>-<dataset>@custom`` every integration pipeline calls (8.12+).
FLEET_CUSTOM_DOC = "https://www.elastic.co/docs/reference/fleet/data-streams"


def stream_parts(pattern: str) -> tuple[str, str | None]:
    """``(type, data stream)`` of a Fleet index pattern ``<type>-<dataset>-*``; the data
    stream is None when the dataset itself is a pattern (``logs-windows.*``: every dataset of
    the package)."""
    stream = pattern[:-2] if pattern.endswith("-*") else pattern
    kind = stream.split("-", 1)[0]
    return kind, (None if "*" in stream else stream)


def uncovered(streams: Iterable[str]) -> list[str]:
    """The patterns no other one of ``streams`` covers: a data stream of a package is dropped
    when the package's pattern (``logs-windows.*``) is there, whose hooks run for it too (the
    copies would be written twice, the mapping put twice)."""
    streams = list(dict.fromkeys(streams))
    wide = [p for p in streams if stream_parts(p)[1] is None]
    return [p for p in streams if p in wide or not any(
        fnmatch.fnmatchcase(p, w) for w in wide)]


def pipeline_names(data_source: str, streams: Iterable[str] = ()) -> list[str]:
    """The ingest pipelines the copies go into: each Fleet data stream's
    ``<type>-<dataset>@custom`` pipeline, which its integration pipeline calls, or for a
    pattern over a package's datasets its ``<type>-<package>.integration@custom`` pipeline
    (Fleet 8.12+; ``FLEET_CUSTOM_DOC``); Winlogbeat's final pipeline."""
    if data_source == "winlogbeat":
        return [WINLOGBEAT_PIPELINE]
    out: list[str] = []
    for pattern in uncovered(streams) or index_patterns(data_source):
        kind, stream = stream_parts(pattern)
        package = pattern[len(kind) + 1:].split(".", 1)[0]
        name = f"{stream}@custom" if stream else f"{kind}-{package}.integration@custom"
        if name not in out:
            out.append(name)
    return out


def component_names(data_source: str, streams: Iterable[str] = ()) -> list[str]:
    """The component templates the copies' mapping goes into: each data stream's
    ``<type>-<dataset>@custom``, or for a pattern over a package's datasets the type's
    ``<type>@custom``, which every integration index template of that type composes
    (``FLEET_CUSTOM_DOC``: there is no per-package component template)."""
    out: list[str] = []
    for pattern in uncovered(streams) or index_patterns(data_source):
        kind, stream = stream_parts(pattern)
        name = f"{stream or kind}@custom"
        if name not in out:
            out.append(name)
    return out


def index_patterns(data_source: str) -> list[str]:
    """The data streams a data source writes (``sources`` of the ``ecs-windows`` table, or of
    the first table extending it that offers the source: ``winlog``, the event log channels)."""
    from converter.mapping.loader import companion_tables

    for name in ("ecs-windows", *companion_tables("ecs-windows")):
        facts = load_table(name).sources.get(data_source) or {}
        if facts.get("index"):
            return [str(p) for p in facts["index"]]
    return []


def requests(data_source: str, body_name: str, pipeline_name: str | None = None,
             streams: Iterable[str] = ()) -> list[str]:
    """The requests a user runs: the PUT of the ingest pipeline (when the template has copies;
    ``pipeline_name`` says where its body is), of the template (``body_name``) and the rollover
    that gives each data stream a backing index built with it. ``streams``: the index patterns
    the rules read (``Proposal.streams``; default: the data source's)."""
    streams = uncovered(streams) or index_patterns(data_source)
    pipelines = [f"PUT _ingest/pipeline/{name}    (body: {pipeline_name})"
                 for name in pipeline_names(data_source, streams)] if pipeline_name else []
    if data_source == "winlogbeat":
        return [
            *pipelines,
            f"PUT _index_template/{WINLOGBEAT_TEMPLATE}    (body: {body_name})",
            "POST winlogbeat-<version>/_rollover    (the data stream Winlogbeat writes, e.g. "
            "winlogbeat-8.17.0)",
        ]
    out = list(pipelines)
    for name in component_names(data_source, streams):
        out.append(f"PUT _component_template/{name}    (body: {body_name})")
    for pattern in streams:
        _, stream = stream_parts(pattern)
        if stream:
            out.append(f"POST {stream}-default/_rollover    (once per namespace; default: default)")
        else:
            out.append(f"POST <each data stream of {pattern}>/_rollover    (GET _data_stream/"
                       f"{pattern} lists them)")
    return out
