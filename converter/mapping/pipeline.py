"""Processing pipelines built from the mapping tables, plus users' own pySigma pipeline YAML.

A built-in pipeline (``ecs-windows``, ``splunk-sysmon``, ``splunk-cim``) is generated from its
mapping table (``converter/mapping/table.py``), one identified ``ProcessingItem`` per step, so tests can
assert which items applied:

1. ``<pipeline>-<logsource>-unrecorded``: tests on fields the data source never records are
   evaluated as on a missing field and the rule simplified (``converter/mapping/partial.py``);
   ``<pipeline>-<logsource>-shared-rows``: where the logsource's dataset also holds rows of other
   source events that never carry some fields, a rule that could match such a row is refused;
   ``<pipeline>-<logsource>-unmapped``: a rule field the table does not map is an error naming
   the field (never a silent pass-through);
2. ``<pipeline>-<logsource>-dropped-values``: on a data source whose shipper deletes some values
   (the Windows integration: ``""``, ``"-"``), a test that answers differently on them than on a
   missing field is refused with the reason;
3. ``<pipeline>-<logsource>-derived-<field>``: derived fields, e.g. ``Image|endswith: '\\cmd.exe'``
   (a whole file name) becomes a case-insensitive match on ``process.name``;
4. ``<pipeline>-<logsource>-fields``: plain renames and value functions;
5. ``<pipeline>-<logsource>-conditions`` / ``-category`` / ``-state``: the logsource's own
   conditions (``host.os.type == "windows"``, ``event.type == "start"``), EQL's event category
   (``process where``) and backend state (Splunk data model);
6. ``<pipeline>-caseless``: for KQL and Lucene, case-insensitive string matches move to the best
   lowercase-normalised keyword form of the field that the field model offers (Defend's
   ``.caseless``, or any such multi-field of the user's ``--mapping``); ``<pipeline>-text-fields``:
   a test left on an analysed ``text`` field is refused (``converter/mapping/text_fields.py``);
7. ``<pipeline>-unsupported-logsource``: rules whose logsource the table does not cover fail with a
   reason.

A table that ``extends`` another (``ecs-linux`` extends ``ecs-windows``) adds its logsource items to
that table's pipeline, built for its own data source (``converter.mapping.table.companion_tables``).

Users add pipelines with ``-p FILE.yml`` in pySigma's own YAML pipeline format.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sigma.exceptions import SigmaError, SigmaTransformationError
from sigma.processing.conditions import (
    ExcludeFieldCondition,
    IncludeFieldCondition,
    LogsourceCondition,
)
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import (
    AddConditionTransformation,
    AddFieldnamePrefixTransformation,
    FieldMappingTransformation,
    RuleFailureTransformation,
    SetStateTransformation,
)

from converter.errors import PipelineError
from converter.mapping.index_mapping import field_model_for, mapping_option
from converter.mapping.table import (
    DERIVED_SEPARATORS,
    LogsourceMapping,
    MappingTable,
    builtin_table_names,
    companion_tables,
    load_table,
)
from converter.mapping.conditional import ConditionalFieldsTransformation
from converter.mapping.partial import SharedRowsTransformation, UnrecordedFieldsTransformation
from converter.mapping.text_fields import TextFieldFailure
from converter.mapping.transformations import (
    BasenameTransformation,
    CaselessSubfieldTransformation,
    RegexGlobsTransformation,
    DroppedValueCheck,
    EventDataAccessorTransformation,
    FunctionFieldTransformation,
    SourceVariantsTransformation,
    UnmappedFieldFailure,
    UnsupportedLogsourceFailure,
)


@dataclass(frozen=True)
class TargetTraits:
    """What a pipeline needs to know about the target it feeds (from the target registry).

    Attributes:
        eql_category: the target has event categories (EQL ``process where``) instead of an
            ``event.category`` condition.
        caseless_subfields: whether Sigma's case-insensitive string matches move to a
            lowercase-normalised ``.caseless`` multi-field where the data source has one: ``"no"``
            (EQL: ``:`` is case-insensitive on its own), ``"all"`` (KQL, which has no other exact
            way), ``"lossless"`` (Lucene: only where the multi-field indexes every value the base
            field does; elsewhere the backend folds case with an exact regex instead).
        caseless_copies: whether those matches move, before any multi-field, to the
            caseless-encoded copy of the field that an ingest pipeline writes where the field
            model has one (``FieldModel.caseless_copy``: a ``wildcard`` field without a length
            limit, from a ``--mapping`` that ``sigport mapping`` wrote), values encoded alike.
    """

    eql_category: bool = False
    caseless_subfields: str = "no"
    caseless_copies: bool = False
    regex_globs: bool = False
    #: Whether a case-sensitive pattern a query_string would split moves to the field's cased
    #: copy (``FieldModel.cased_copy``): the KQL targets, whose wildcard values on fields that
    #: are no ``keyword`` fields go through query_string.
    cased_copies: bool = False


#: The pipeline for rules that already use ECS field names (e.g. imported Elastic rules).
PASSTHROUGH = "ecs"


def builtin_pipelines() -> dict[str, str]:
    """Built-in pipeline names with their one-line descriptions."""
    out = {name: load_table(name).description for name in builtin_table_names()}
    out[PASSTHROUGH] = (
        "rules whose fields are already ECS names: no renames and no added conditions; "
        "KQL/Lucene still use .caseless multi-fields where the data source has them"
    )
    return out


def passthrough_pipeline(
    traits: TargetTraits, data_source: str | None = None, field_model: Any = None
) -> ProcessingPipeline:
    """The ``ecs`` pipeline: keep the rule's ECS names, only move case-insensitive matches to
    lowercase-normalised multi-fields the way ``ecs-windows`` does."""
    items = _regex_items(PASSTHROUGH, traits)
    model = field_model or field_model_for(data_source)
    if traits.caseless_subfields != "no" or traits.caseless_copies or traits.cased_copies:
        items.append(
            ProcessingItem(
                identifier=f"{PASSTHROUGH}-caseless",
                transformation=_caseless_transformation(model, traits),
            )
        )
    return ProcessingPipeline(
        name="sigport ecs pass-through", priority=20, items=items,
        vars={"sigport_field_model": model},
    )


def _regex_items(prefix: str, traits: TargetTraits) -> list[ProcessingItem]:
    """The item that writes translatable regexes as wildcard values, for targets without
    regular expressions (before every other item: renames then apply to the values)."""
    if not traits.regex_globs:
        return []
    return [ProcessingItem(identifier=f"{prefix}-regex-globs",
                           transformation=RegexGlobsTransformation())]


def _caseless_transformation(model: Any, traits: TargetTraits) -> CaselessSubfieldTransformation:
    """The transformation that moves case-insensitive string tests to the forms ``traits`` use."""
    return CaselessSubfieldTransformation(
        model,
        lossless_only=traits.caseless_subfields == "lossless",
        copies=traits.caseless_copies,
        multi_fields=traits.caseless_subfields != "no",
        cased_copies=traits.cased_copies,
    )


def _logsource_condition(entry: LogsourceMapping) -> LogsourceCondition:
    return LogsourceCondition(**entry.match)


def _logsource_items(
    table: MappingTable, entry: LogsourceMapping, traits: TargetTraits, data_source: str | None
) -> list[ProcessingItem]:
    """The processing items of one logsource entry, in application order."""
    prefix = f"{table.name}-{entry.id}"
    targets = entry.field_targets(data_source)
    derived = [d for d in entry.derived_for(data_source) if d.query]
    known = set(targets) | {d.source for d in derived}
    items: list[ProcessingItem] = []
    if entry.variants:
        # One OR branch per kind of source event (Sysmon 1 / Security 4688), each guarded by its
        # own conditions; the variant branches are already in their final field names.
        known.update(entry.conditions)
        for variant in entry.variants:
            known.update(variant.conditions)
            for target in variant.field_targets().values():
                known.update(target.targets)
        items.append(
            ProcessingItem(
                identifier=f"{prefix}-variants",
                transformation=SourceVariantsTransformation(
                    primary_conditions=tuple(entry.conditions.items()),
                    variants=entry.variants,
                    cased=entry.conditions_cased,
                ),
                rule_conditions=[_logsource_condition(entry)],
            )
        )
    hidden = entry.unrecorded_fields(data_source)
    if hidden:
        items.append(
            ProcessingItem(
                identifier=f"{prefix}-unrecorded",
                transformation=UnrecordedFieldsTransformation(
                    data_source=data_source or "",
                    logsource=entry.id,
                    fields=tuple((name, entry.unmapped.get(name, "")) for name in hidden),
                ),
                rule_conditions=[_logsource_condition(entry)],
            )
        )
    for n, rule in enumerate(entry.exact_only_when):
        items.append(
            ProcessingItem(
                identifier=f"{prefix}-exact-only-when-{n}",
                transformation=ConditionalFieldsTransformation(
                    logsource=entry.id,
                    fields=tuple(rule["fields"]),
                    gate=rule["gate"],
                    otherwise=tuple(rule["otherwise"]),
                    reason=rule["reason"],
                ),
                rule_conditions=[_logsource_condition(entry)],
            )
        )
    if entry.shared_rows_fields:
        items.append(
            ProcessingItem(
                identifier=f"{prefix}-shared-rows",
                transformation=SharedRowsTransformation(
                    logsource=entry.id,
                    fields=entry.shared_rows_fields,
                    reason=entry.shared_rows_reason,
                ),
                rule_conditions=[_logsource_condition(entry)],
            )
        )
    items += [
        ProcessingItem(
            identifier=f"{prefix}-unmapped",
            transformation=UnmappedFieldFailure(
                pipeline=table.name + (f" (data_source={data_source})" if data_source else ""),
                logsource=entry.id,
                known=frozenset(known),
                reasons=tuple(sorted(entry.unmapped.items())),
                event_data=entry.event_data_prefix(data_source) is not None,
                event_data_template=entry.event_data_template(data_source) is not None,
            ),
            rule_conditions=[_logsource_condition(entry)],
        )
    ]
    dropped, exempt = table.dropped(data_source)
    if dropped:
        items.append(
            ProcessingItem(
                identifier=f"{prefix}-dropped-values",
                transformation=DroppedValueCheck(
                    data_source=data_source or "", values=dropped, exempt=exempt
                ),
                rule_conditions=[_logsource_condition(entry)],
            )
        )
    event_data = entry.event_data_prefix(data_source)
    template = entry.event_data_template(data_source)
    # After the deleted-value check, which names the Sigma field (the key ``check`` looks the
    # field up by in the events it swaps, converter/checking/dropped.py).
    if template:
        # Every other field is a property of the record's event-data object, read as its text
        # (Kusto WindowsEvent: tostring(EventData.X)).
        items.append(
            ProcessingItem(
                identifier=f"{prefix}-event-data",
                transformation=EventDataAccessorTransformation(template=template),
                rule_conditions=[_logsource_condition(entry)],
                field_name_conditions=[ExcludeFieldCondition(fields=sorted(known))],
            )
        )
    elif event_data:
        # Every other field is the record's named event data (<Data Name='X'>), which the
        # shipper writes unchanged under the prefix (winlog.event_data.X).
        items.append(
            ProcessingItem(
                identifier=f"{prefix}-event-data",
                transformation=AddFieldnamePrefixTransformation(event_data + "."),
                rule_conditions=[_logsource_condition(entry)],
                field_name_conditions=[ExcludeFieldCondition(fields=sorted(known))],
            )
        )
    for extra in derived:
        # Targets are named without the dataset prefix, like every other target of the entry.
        items.append(
            ProcessingItem(
                identifier=f"{prefix}-derived-{extra.target}",
                transformation=BasenameTransformation(
                    extra.source,
                    entry.field_prefix + extra.target,
                    separator=DERIVED_SEPARATORS[extra.function],
                ),
                rule_conditions=[_logsource_condition(entry)],
                field_name_conditions=[IncludeFieldCondition(fields=[extra.source])],
            )
        )
    functions = {k: t for k, t in targets.items() if t.function is not None}
    for sigma_name, target in sorted(functions.items()):
        items.append(
            ProcessingItem(
                identifier=f"{prefix}-function-{sigma_name}",
                transformation=FunctionFieldTransformation(target, entry.field_prefix),
                rule_conditions=[_logsource_condition(entry)],
                field_name_conditions=[IncludeFieldCondition(fields=[sigma_name])],
            )
        )
    renames: dict[str | None, str | list[str]] = {
        k: entry.field_prefix + t.target for k, t in targets.items() if t.function is None
    }
    if renames:
        items.append(
            ProcessingItem(
                identifier=f"{prefix}-fields",
                transformation=FieldMappingTransformation(renames),
                rule_conditions=[_logsource_condition(entry)],
            )
        )
    conditions = dict(entry.conditions)
    if entry.eql_category:
        if traits.eql_category:
            items.append(
                ProcessingItem(
                    identifier=f"{prefix}-category",
                    transformation=SetStateTransformation("eql_category", entry.eql_category),
                    rule_conditions=[_logsource_condition(entry)],
                )
            )
        else:
            # `process where` means event.category == "process" (case-sensitive term query):
            # https://www.elastic.co/guide/en/elasticsearch/reference/current/eql-syntax.html
            conditions = {"event.category": entry.eql_category, **conditions}
    if conditions and not entry.variants:
        # Conditions are exact values written by the shipper; the table says whether the target
        # compares them case-sensitively (ECS keyword terms) or not (Splunk search values).
        # A list is an OR of the shipper's values (one per data source's vocabulary): each is
        # exact too, so the whole list is cased.
        cased = {
            (
                f"{entry.field_prefix}{k}|cased"
                if _all_strings(v) and entry.conditions_cased
                else f"{entry.field_prefix}{k}"
            ): v
            for k, v in conditions.items()
        }
        items.append(
            ProcessingItem(
                identifier=f"{prefix}-conditions",
                transformation=AddConditionTransformation(cased),
                rule_conditions=[_logsource_condition(entry)],
            )
        )
    state = dict(entry.state)
    if table.datamodel:
        # Splunk CIM: the tstats backend reads the data model and its BY fields from the state.
        state.setdefault("data_model_set", table.datamodel["name"])
        state.setdefault("fields", list(table.datamodel.get("by", [])))
    if table.schema == "kusto":
        # Kusto compares a number only with a numeric column (`string == long` does not
        # type-check); the emitter writes a Sigma number on any other column as its text.
        numeric = {t for spec in targets.values() if spec.function == "to_integer"
                   for t in spec.targets}
        numeric |= {k for k, v in entry.conditions.items()
                    if isinstance(v, int) and not isinstance(v, bool)}
        state.setdefault("numeric_columns", sorted(entry.field_prefix + t for t in numeric))
    for key, value in state.items():
        items.append(
            ProcessingItem(
                identifier=f"{prefix}-state-{key}",
                transformation=SetStateTransformation(key, value),
                rule_conditions=[_logsource_condition(entry)],
            )
        )
    encoding = entry.value_encoding or table.value_encoding(data_source)
    if encoding == "xml_text_unknown":
        # The records' XML holds entities, but whether the add-on's extraction decodes them is
        # not known: values are rendered decoded, and each test whose verdict would differ on
        # the encoded text is flagged (``check`` then calls the query "not proven").
        from converter.mapping.entities import UnknownEntityCheck

        items.append(
            ProcessingItem(
                identifier=f"{prefix}-entities-unknown",
                transformation=UnknownEntityCheck(data_source=data_source or ""),
                rule_conditions=[_logsource_condition(entry)],
            )
        )
    elif encoding:
        # The add-on keeps XML entities in every extracted value: the rule's final values are
        # written so (last, after renames and functions), and the emitter learns it from the
        # state to test patterns that could match inside an entity token by token.
        from converter.mapping.entities import EntityEncodedValues

        items.append(
            ProcessingItem(
                identifier=f"{prefix}-entities",
                transformation=EntityEncodedValues(data_source=data_source or ""),
                rule_conditions=[_logsource_condition(entry)],
            )
        )
        items.append(
            ProcessingItem(
                identifier=f"{prefix}-value-encoding",
                transformation=SetStateTransformation("value_encoding", encoding),
                rule_conditions=[_logsource_condition(entry)],
            )
        )
    return items


def _all_strings(value: Any) -> bool:
    """A string, or a non-empty list of strings (a condition the ``cased`` modifier applies to)."""
    if isinstance(value, list):
        return bool(value) and all(isinstance(v, str) for v in value)
    return isinstance(value, str)


def build_pipeline(
    name: str,
    traits: TargetTraits,
    options: dict[str, Any] | None = None,
    all_options: dict[str, Any] | None = None,
    field_model: Any = None,
) -> ProcessingPipeline:
    """Build a built-in pipeline for a target.

    Args:
        name: a built-in table name (``ecs-windows``) or a mapping-table file path.
        traits: what the target needs (see ``TargetTraits``).
        options: table options, e.g. ``{"data_source": "winlogbeat"}``.
        all_options: the options as the user gave them, for the tables that extend this one
            (each takes the values it offers; default ``options``).
        field_model: the user's ``FieldModel`` (``--mapping``); default: the data source's
            built-in one. An ECS table moves case-insensitive matches to the lowercase-normalised
            forms it offers and records it as the pipeline variable ``sigport_field_model``.

    Raises:
        PipelineError: unknown pipeline, bad option, or an invalid table.
    """
    table = load_table(name)
    opts = {key: table.option_default(key) for key in table.options}
    for key, value in (options or {}).items():
        opts[key] = table.check_option(key, value)
    data_source = opts.get("data_source")
    items: list[ProcessingItem] = _regex_items(table.name, traits)
    entries = table.entries_for(data_source)
    for entry in entries:
        items.extend(_logsource_items(table, entry, traits, data_source))
    # Tables that extend this one (non-Windows logsources) add their entries, each built for
    # its own data source: the option value when the table lists it, else the table's default.
    refusals = [(table, item) for item in table.not_covered]
    plain: list[LogsourceMapping] = []  # entries whose documents lack the .caseless multi-fields
    for other_name in companion_tables(table.name) if not name.endswith((".yml", ".yaml")) else ():
        other = load_table(other_name)
        own = own_options(other, options if all_options is None else all_options)
        source = own.get("data_source", other.option_default("data_source"))
        for entry in other.entries_for(source):
            items.extend(_logsource_items(other, entry, traits, source))
            entries = (*entries, entry)
            if not other.has_caseless_subfields(source):
                plain.append(entry)
        refusals += [(other, item) for item in other.not_covered]
    model = None
    if table.schema == "ecs" and (data_source is not None or field_model is not None):
        model = field_model or field_model_for(data_source)
    if (traits.caseless_subfields != "no" or traits.caseless_copies or traits.cased_copies) \
            and model is not None:
        items.append(
            ProcessingItem(
                identifier=f"{table.name}-caseless",
                transformation=_caseless_transformation(model, traits),
                # not for the logsources whose index has no such multi-fields
                rule_conditions=[_logsource_condition(e) for e in plain],
                rule_condition_linking=any,
                rule_condition_negation=True,
            )
        )
    if model is not None:
        # After the caseless step: a test still on an analysed text field has no exact query.
        items.append(
            ProcessingItem(
                identifier=f"{table.name}-text-fields",
                transformation=TextFieldFailure(model, table.name, str(data_source or "")),
            )
        )
    # A logsource a table declares `not_covered` (and no entry of the chosen data sources maps)
    # is refused with the table's reason.
    for i, (owner, refusal) in enumerate(refusals):
        if any(e.match == refusal["match"] for e in entries):
            continue
        items.append(
            ProcessingItem(
                identifier=f"{owner.name}-not-covered-{i}",
                transformation=RuleFailureTransformation(
                    f"pipeline {table.name} does not cover this rule's logsource "
                    f"({owner.name}): {refusal['reason']}"
                ),
                rule_conditions=[LogsourceCondition(**refusal["match"])],
            )
        )
    items.append(
        ProcessingItem(
            identifier=f"{table.name}-unsupported-logsource",
            transformation=UnsupportedLogsourceFailure(table.name, len(entries)),
            rule_conditions=[_logsource_condition(e) for e in entries],
            rule_condition_linking=any,
            rule_condition_negation=True,
        )
    )
    return ProcessingPipeline(
        name=f"sigport {table.name}",
        priority=20,
        items=items,
        vars={"sigport_table": table.name, "sigport_options": opts, "sigport_field_model": model},
    )


def own_options(table: MappingTable, options: dict[str, Any] | None) -> dict[str, Any]:
    """The options that apply to ``table``: those whose value it offers (--data-source
    winlogbeat concerns the Elastic Windows table, not the Splunk ones or ``ecs-linux``)."""
    return {
        k: v
        for k, v in (options or {}).items()
        if v in (table.options.get(k, {}).get("choices") or [])
    }


def load_user_pipeline(path: str | Path) -> ProcessingPipeline:
    """Load a user's pySigma pipeline YAML file (``-p FILE``).

    Raises:
        PipelineError: the file cannot be read or is not a valid pySigma pipeline.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PipelineError(f"cannot read pipeline file: {exc.strerror}", path=path) from exc
    try:
        return ProcessingPipeline.from_yaml(text)
    except SigmaError as exc:
        raise PipelineError(f"invalid pipeline: {exc}", path=path) from exc
    except Exception as exc:  # yaml errors and pySigma's own ValueErrors/KeyErrors on bad shapes
        mark = getattr(exc, "problem_mark", None)
        raise PipelineError(
            f"invalid pipeline: {' '.join(str(exc).split())}",
            path=path,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
            hint="see pySigma's processing pipeline YAML format",
        ) from exc


def resolve_pipelines(
    specs: list[str],
    traits: TargetTraits,
    options: dict[str, Any] | None = None,
    field_model: Any = None,
) -> ProcessingPipeline:
    """Combine the pipelines a user named (built-in names or files), in the order given.

    ``options["mapping"]``, a JSON file path, is the user's Elasticsearch mapping: the ECS
    pipelines take their field model from it (``converter.mapping.index_mapping``), unless
    ``field_model`` gives one.
    """
    options, mapping = mapping_option(options)
    source = (options or {}).get("data_source")
    model = field_model
    if model is None and mapping is not None:
        model = field_model_for(source, mapping)
    pipeline = ProcessingPipeline()
    for spec in specs:
        if spec == PASSTHROUGH:
            pipeline = pipeline + passthrough_pipeline(traits, source, model)
        elif spec in builtin_table_names():
            own = own_options(load_table(spec), options)
            pipeline = pipeline + build_pipeline(
                spec, traits, own, all_options=options, field_model=model
            )
        elif Path(spec).suffix in {".yml", ".yaml"} or Path(spec).exists():
            pipeline = pipeline + load_user_pipeline(spec)
        else:
            raise PipelineError(
                f"unknown pipeline {spec!r}",
                hint=f"built-in: {', '.join(builtin_table_names())}, or a pySigma pipeline YAML file",
            )
    return pipeline


__all__ = [
    "TargetTraits",
    "build_pipeline",
    "builtin_pipelines",
    "load_user_pipeline",
    "resolve_pipelines",
    "SigmaTransformationError",
]
