"""Render Sigma-taxonomy events for each target with the mapping tables (sample events are read
by ``converter.events.samples``, whose names this module re-exports; the per-entry plan of a
rendering is ``converter.events.render_plan``).

Sample events are written once, in the rule's own field names (Sysmon-style flat JSON: ``EventID``,
``Channel``, ``Image``, ...). ``EventRenderer`` writes them in a target's schema (ECS, Splunk
Sysmon add-on, Splunk CIM) with the SAME mapping table the target's pipeline was built from, so the
query and the event it is evaluated on cannot drift apart. ``to_sigma`` goes the other way for
events that are already in ECS (``--schema ecs``), in ``inverse.py``.

An event whose ``EventID``/``Channel`` belongs to no logsource of a table is not rendered for that
target (``None``): the checker reports it as not evaluated rather than guessing a rendering.
"""

from __future__ import annotations

from typing import Any, Iterator
from xml.sax.saxutils import escape

from converter.events.record_xml import raw_xml, xml_escaped
from converter.events.spellings import (  # noqa: F401 - expand_alternatives: re-exported
    as_list, merge_write, first_spellings, expand_alternatives,
)
from converter.events.render_plan import EVENT_DATA, PLAIN, SKIP, EntryPlan, criteria_values
from converter.events.samples import (  # noqa: F401 - re-exported: read with the renderer
    EXPECT_KEY, NOTE_KEY, RENDER_KEY, SampleEvent, read_jsonl, sample_events_path,
)
from converter.events.text_lines import filestream_line, text_line
from converter.events.unnamed_data import unnamed_data_raw
from converter.mapping.precedence import preferred
from converter.mapping.table import (
    FieldTarget,
    LogsourceMapping,
    MappingTable,
    rewrite_line_endings,
)
from converter.events.normalise import array_fields, with_nested_fields

#: Routes and event-data targets an ``EventRenderer`` remembers (beyond: computed each time).
MEMO = 4096


def _event_matches(event: dict[str, Any], criteria: dict[str, Any]) -> bool:
    """True when the event's fields equal the criteria (compared as text; ``Channel`` ignoring
    case, as Windows channel names are: OTRF data has both ``Security`` and ``security``)."""
    for key, value in criteria.items():
        got = event.get(key)
        if got is None:
            return False
        if key == "Channel":
            if str(got).lower() != str(value).lower():
                return False
        elif str(got) != str(value):
            return False
    return True


class EventRenderer:
    """Renders Sigma-taxonomy events in one table's target schema, for one data source."""

    def __init__(self, table: MappingTable, data_source: str | None = None,
                 covers: bool = True) -> None:
        """Prepare the renderer; ``data_source`` defaults to the table's default. ``covers``
        False: no logsource of the table is rendered (a data source a companion table takes
        over, ``routed``)."""
        self.table = table
        self.data_source = data_source or table.option_default("data_source")
        self.covers = covers
        dropped, self.drop_exempt = table.dropped(self.data_source)
        self.drop_values = set(dropped)
        #: The shipper writes every ``\r\n`` of an event-data value as ``\n`` (Winlogbeat and
        #: the winlog input, ``sources.<data source>.line_endings: lf``).
        self.crlf_to_lf = table.line_endings(self.data_source) == "lf"
        #: The shipper extracts values from the XML record with their entities kept (the Splunk
        #: Windows add-ons, ``sources.<data source>.value_encoding: xml_text``).
        self.xml_text = table.value_encoding(self.data_source) == "xml_text"
        self.prefix = str(table.datamodel.get("prefix", ""))
        self._entries = table.entries_for(self.data_source) if covers else ()
        self._targets = {e.id: e.field_targets(self.data_source) for e in self._entries}
        #: The dotted Sigma fields each entry renders (mapped or derived from): the ones a nested
        #: record may hold as a path (``with_nested_fields``); none for the Windows logsources.
        self._dotted = {
            e.id: [n for n in (*self._targets[e.id],
                               *(d.source for d in e.derived_for(self.data_source, render=True)))
                   if "." in n]
            for e in self._entries
        }
        #: Of those, the ones written from every element of an array on their path.
        self._arrays = {e.id: array_fields(self._targets[e.id]) for e in self._entries}
        self._companions: list[EventRenderer] = []
        #: ``(copy, source)`` fields an ingest pipeline writes into every document
        #: (``backends.query.ingest``; declared by the user's ``--mapping``).
        self.copies: list[tuple[str, str]] = []
        #: ``(copy, source)`` cased copies (only the swaps), likewise.
        self.cased: list[tuple[str, str]] = []
        #: The fields the entries' and variants' source-event criteria name: the entry (and
        #: variant) that renders an event depends on their values alone (``_route``).
        self._criteria_keys = tuple(sorted({key for e in self._entries for crit in (
            *e.events, *(c for v in e.variants for c in v.events)) for key in crit}))
        self._routes: dict[tuple[str | None, ...], tuple[Any, Any]] = {}
        #: The same for ``_resolve``, over this renderer's and its companions' criteria.
        self._all_keys = self._criteria_keys
        self._resolved: dict[tuple[str | None, ...], Any] = {}
        #: Entry id -> what rendering its events needs besides the event (``EntryPlan``).
        self._plans: dict[str, EntryPlan] = {}

    @property
    def companions(self) -> list["EventRenderer"]:
        """Renderers of the tables that extend this one (``converter.mapping.loader.companion_tables``)."""
        return self._companions

    @companions.setter
    def companions(self, renderers: list["EventRenderer"]) -> None:
        self._companions = renderers
        self._all_keys = tuple(sorted({*self._criteria_keys,
                                       *(k for r in renderers for k in r._criteria_keys)}))
        self._resolved = {}

    def set_copies(self, copies: list[tuple[str, str]],
                   cased: list[tuple[str, str]] | None = None) -> None:
        """Render events as the ingest pipeline leaves them: with these caseless-encoded copies
        and cased copies (this renderer and its companions)."""
        for renderer in (self, *self.companions):
            renderer.copies = list(copies)
            renderer.cased = list(cased or ())

    def _ingested(self, event: dict[str, Any] | None) -> dict[str, Any] | None:
        from backends.query.ingest import apply_copies

        if event is None or not (self.copies or self.cased):
            return event
        return apply_copies(event, self.copies, self.cased)

    @classmethod
    def routed(cls, table: MappingTable, data_source: str | None = None) -> "EventRenderer":
        """A renderer for ``table`` and the tables that extend it, the way a target's pipeline
        covers them: ``data_source`` (the user's choice) applies to each table that offers it;
        the others render for their default, except ``table`` itself when a companion takes
        the data source over (``offered_by_companion``): then it renders nothing, as its
        pipeline refuses its logsources."""
        from converter.mapping.loader import companion_tables, load_table, offered_by_companion

        def pick(t: MappingTable) -> str | None:
            choices = t.options.get("data_source", {}).get("choices") or []
            return data_source if data_source in choices else None

        if offered_by_companion(table.name, data_source):
            # Its own logsources render nothing; ``data_source`` names the documents that the
            # checker's field model describes (``converter.checking.checker``).
            out = cls(table, data_source, covers=False)
        else:
            out = cls(table, pick(table))
        out.companions = [cls(load_table(n), pick(load_table(n))) for n in companion_tables(table.name)]
        return out

    def route(self, product: str | None, category: str | None, service: str | None
              ) -> tuple["EventRenderer", LogsourceMapping] | None:
        """The renderer (this one or a companion) and entry that cover a rule's logsource: of
        several, the one the pipeline converts the rule with (``converter.mapping.precedence``)."""
        found = [(r, e) for r in (self, *self.companions) if r.covers
                 for e in r.table.entries_for(r.data_source) if e.matches_logsource(product, category, service)]
        return found[preferred([(r.table, r.data_source, e) for r, e in found])] if found else None

    def carries(self, event: dict[str, Any]) -> bool:
        """True when this table (or a companion table) has a logsource entry for the event."""
        return self.logsource_of(event) is not None or any(
            other.logsource_of(event) is not None for other in self.companions
        )

    def logsource_of(self, event: dict[str, Any]) -> LogsourceMapping | None:
        """The table's logsource entry whose source events (or variants' events) include this one."""
        return self._route(event)[0]

    def _route(self, event: dict[str, Any]) -> tuple[LogsourceMapping | None, Any]:
        """The entry that covers the event (or None) and its variant that does (or None),
        remembered per value of the criteria's fields (a scan of every entry otherwise)."""
        key = criteria_values(event, self._criteria_keys)
        found = self._routes.get(key)
        if found is None:
            found = self._scan(event)
            if len(self._routes) < MEMO:
                self._routes[key] = found
        return found

    def _scan(self, event: dict[str, Any]) -> tuple[LogsourceMapping | None, Any]:
        for entry in self._entries:
            kinds = [*entry.events, *(c for v in entry.variants for c in v.events)]
            if any(_event_matches(event, crit) for crit in kinds):
                for variant in entry.variants:
                    if any(_event_matches(event, crit) for crit in variant.events):
                        return entry, variant
                return entry, None
        return None, None

    def _render_variant(self, event: dict[str, Any], variant: Any) -> dict[str, Any]:
        """Render an event of a variant kind (e.g. Security 4688) with the variant's names."""
        from converter.mapping.functions.registry import RENDER_FUNCTIONS

        out = {self._strip(k): v for k, v in variant.render.items()}
        targets = variant.field_targets()
        source, event = event, self._as_extracted(
            with_nested_fields(event, targets, array_fields(targets)))
        for name, raw in event.items():
            target = targets.get(name)
            value = self._keep(raw, name)
            if target is None or value is None:
                continue
            for key, written in self._render_field(target, value, {}, RENDER_FUNCTIONS, event):
                merge_write(out, self._strip(key), written)
        if self.table.schema.startswith("splunk"):
            out.setdefault("_raw", raw_xml(source))
        return out

    def _as_extracted(self, event: dict[str, Any]) -> dict[str, Any]:
        """The event's values as the shipper extracts them: where it reads them off the XML
        record with their entities kept, ``&``, ``<`` and ``>`` of a string are ``&amp;``,
        ``&lt;`` and ``&gt;`` (the record's EventID and Channel, which select the logsource,
        never hold them)."""
        if not self.xml_text:
            return event
        out = {}
        for k, v in event.items():
            if k in ("EventID", "Channel"):
                out[k] = v
            elif type(v) is str:  # most values: ``xml_escaped``'s test inlined
                out[k] = escape(v) if "&" in v or "<" in v or ">" in v else v
            else:
                out[k] = xml_escaped(v)
        return out

    def _strip(self, name: str) -> str:
        # Data model fields are queried as `Processes.process_name` but read as `process_name`.
        return name[len(self.prefix):] if self.prefix and name.startswith(self.prefix) else name

    def _keep(self, value: Any, name: str | None = None) -> Any:
        """Drop the values the shipper removes (Windows integration: "", "-", zero GUID) from
        the event-data field ``name``, after writing its line endings as the shipper does
        (fields of the record's System section are kept)."""
        if name is not None and name in self.drop_exempt:
            return value
        if self.crlf_to_lf:
            value = rewrite_line_endings(value)
        if isinstance(value, list):
            kept = [v for v in value if not (isinstance(v, str) and v in self.drop_values)]
            return kept if kept else None
        if isinstance(value, str) and value in self.drop_values:
            return None
        return value

    def render_sample(self, sample: SampleEvent) -> dict[str, Any] | None:
        """Render a sample event, then apply its ``_render`` values for this table's schema
        (and the ingest pipeline's copies); values the shipper spells in several ways are
        written in their primary spelling (``render_sample_all`` writes each)."""
        events = self.render_sample_all(sample)
        return events[0] if events else None

    def render_sample_all(self, sample: SampleEvent) -> list[dict[str, Any]]:
        """The sample event in every spelling the data source may write it (one event unless a
        render function wrote ``Alternatives``); empty when no logsource covers it."""
        return [e for e in map(self._ingested, expand_alternatives(self._render_sample(sample)))
                if e is not None]

    def _render_sample(self, sample: SampleEvent) -> dict[str, Any] | None:
        if sample.native and self.table.schema in sample.native:
            return sample.native[self.table.schema]
        if self.companions and self.logsource_of(sample.fields) is None:
            for other in self.companions:
                if other.logsource_of(sample.fields) is not None:
                    return other._render_sample(sample)
        out = self._render(sample.fields)
        if out is not None and sample.render:
            out.update(sample.render.get(self.table.schema, {}))
        return out

    def render(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """The event in the target schema (with the ingest pipeline's copies), or None when no
        logsource of the table covers it; values spelled in several ways in their primary
        spelling."""
        found = self._resolve(event)
        if found is None:
            return None
        renderer, route = found
        return renderer._ingested(first_spellings(renderer._render(event, route)))

    def _resolve(self, event: dict[str, Any]) -> tuple["EventRenderer", tuple[Any, Any]] | None:
        """The renderer (this one, else the first companion that covers the event: a
        logsource of a table that extends this one, Okta, CloudTrail, ..., as ``render_sample``
        routes it) and its route for the event, or None when none covers it; remembered per
        value of the fields any of their criteria name (each route depends on those alone)."""
        key = criteria_values(event, self._all_keys)
        try:
            return self._resolved[key]
        except KeyError:
            pass
        route = self._route(event)
        found: tuple[EventRenderer, tuple[Any, Any]] | None = None
        if route[0] is not None:
            found = self, route
        else:
            for other in self.companions:
                if other.covers and (route := other._route(event))[0] is not None:
                    found = other, route
                    break
        if len(self._resolved) < MEMO:
            self._resolved[key] = found
        return found

    def _render(self, event: dict[str, Any], route: tuple[Any, Any] | None = None
                ) -> dict[str, Any] | None:
        from converter.mapping.functions.registry import RENDER_FUNCTIONS

        entry, variant = route if route is not None else self._route(event)
        if entry is None:
            return None
        if entry.state.get("text_record") or entry.text_field:
            constants = {self._strip(k): v for k, v in entry.render.items()}
            if entry.text_field:
                if entry.state.get("auditd_record"):  # audit.log lines (ecs-auditd filestream)
                    from converter.events.auditd_line import auditd_message

                    return {**constants, entry.text_field: auditd_message(event, entry)}
                if entry.state.get("fortios_record"):  # FortiGate log lines (ecs-lines)
                    from converter.events.fortios_line import fortios_message

                    return {**constants, entry.text_field: fortios_message(event, entry)}
                return {**constants, entry.text_field: filestream_line(event, entry)}
            return {**constants, "_raw": text_line(event, entry)}
        if variant is not None:
            return self._render_variant(event, variant)
        plan = self._plans.get(entry.id)
        if plan is None:
            plan = self._plans[entry.id] = EntryPlan(self, entry)
        source, event = event, self._as_extracted(
            with_nested_fields(event, plan.dotted, plan.arrays))
        if entry.event_render:
            constants = dict(entry.render)
            constants.update(entry.render_by_source.get(self.data_source or "", {}) or {})
            overrides: dict[str, str] = {}
            for special in entry.event_render:
                if _event_matches(event, special.get("match", {})):
                    per_source = special.get(self.data_source or "", {}) or {}
                    constants.update(per_source)
                    overrides.update(special.get("fields", {}) or {})
            out = {self._strip(key): value for key, value in constants.items()}
        else:
            out, overrides = dict(plan.constants), {}
        # ``_keep`` and ``merge_write`` inlined: this loop runs for every field of every event.
        exempt, drop, crlf = self.drop_exempt, self.drop_values, self.crlf_to_lf
        fields = plan.fields
        for name, raw in event.items():
            # What the field is written as, decided once per name (``EntryPlan.field``).
            try:
                kind, key, target = fields[name]
            except KeyError:
                kind, key, target = plan.field(name, entry, self)
            if kind is SKIP:  # no target and no event-data field: nothing is written
                continue
            value = raw
            if name not in exempt:
                if crlf:
                    value = rewrite_line_endings(value)
                if isinstance(value, list):
                    value = [v for v in value if not (isinstance(v, str) and v in drop)]
                    if not value:
                        continue
                elif isinstance(value, str) and value in drop:
                    continue
            if value is None:
                continue
            if kind is PLAIN:
                if key in out:
                    merge_write(out, key, value)
                else:
                    out[key] = value
            elif kind is EVENT_DATA:  # the record's other named data (event_data)
                if plan.template:
                    # A property read with tostring(): the row holds its text.
                    from converter.mapping.functions.render import event_data_text

                    value = event_data_text(name, value)
                if key in out:
                    merge_write(out, key, value)
                else:
                    out[key] = value
            else:
                for key, written in self._render_field(
                    target, value, overrides, RENDER_FUNCTIONS, event
                ):
                    merge_write(out, self._strip(key), written)
        for name, spec, missing in plan.missing:  # a field the data model calculates when missing
            if self._keep(event.get(name), name) is None:
                for key, written in missing(spec).items():  # (may refuse the event)
                    out.setdefault(self._strip(key), written)
        for derived, spec in plan.derived:
            value = self._keep(event.get(derived.source), derived.source)
            if value is None:
                continue
            for item in as_list(value):
                for key, written in RENDER_FUNCTIONS[derived.function](item, spec).items():
                    merge_write(out, self._strip(key), written)
        slots = plan.slots
        if slots:  # values of unnamed <Data> elements: the query reads them off _raw
            out["_raw"] = unnamed_data_raw(source, slots, {})
        elif entry.state.get("auditd_record"):  # keywords read the audit line's values
            from converter.events.auditd_line import auditd_line

            out["_raw"] = auditd_line(source, {crit.get("Channel") for crit in entry.events})
        elif entry.state.get("json_record"):  # keywords read the JSON object's string values
            from converter.events.json_line import json_line

            out["_raw"] = json_line(source, {crit.get("Channel") for crit in entry.events})
        elif self.table.schema.startswith("splunk"):
            encoding = entry.value_encoding or self.table.value_encoding(self.data_source)
            out.setdefault("_raw", raw_xml(source, libxml2=encoding == "xml_text_unknown"))
        return out

    def _render_field(
        self,
        target: FieldTarget,
        value: Any,
        overrides: dict[str, str],
        functions: dict[str, Any],
        event: dict[str, Any],
    ) -> Iterator[tuple[str, Any]]:
        """(target field, value) pairs one Sigma field writes (``event``: the whole source
        event, for targets chosen by another of its fields)."""
        if target.function is None:
            yield target.target, value
            return
        if target.function == "any_of":
            # The shipper fills exactly one of the targets, chosen by the kind of source event,
            # or (parameter `by`) by another field's value: then nothing for any other value.
            if target.param("by"):
                from converter.mapping.functions.columns import chosen_by

                chosen = chosen_by(target, event)
                if chosen is not None:
                    yield chosen, value
                return
            chosen = overrides.get(target.sigma, target.target)
            if chosen in (target.param("trimmed") or ()):
                from converter.mapping.functions.trim import java_trim

                value = [java_trim(str(v)) for v in value] if isinstance(value, list) else (
                    java_trim(str(value)))
            yield chosen, value
            return
        from converter.mapping.functions.registry import EVENT_RENDER_FUNCTIONS, WHOLE_RENDER_FUNCTIONS

        if target.function in WHOLE_RENDER_FUNCTIONS:
            yield from functions[target.function](value, target).items()
            return
        for item in as_list(value):
            if target.function in EVENT_RENDER_FUNCTIONS:
                yield from functions[target.function](item, target, event).items()
            else:
                yield from functions[target.function](item, target).items()
