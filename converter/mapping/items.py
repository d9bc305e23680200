"""The processing items of one mapping-table logsource entry, in the order they apply.

``converter.mapping.pipeline`` assembles a whole pipeline from a table (every entry, the tables
that extend it, the refusals); this module says what one entry contributes: source variants,
partial evaluation of unrecorded fields, conditional exactness, shared rows, the unmapped-field
refusal, deleted values, event-data accessors, derived fields, value functions, renames, the
logsource's own conditions, backend state and value encodings. The step list with its
identifiers is in ``converter/mapping/pipeline.py``'s module docstring.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backends.common import CANONICAL_NUMBERS
from sigma.processing.conditions import (
    ExcludeFieldCondition,
    IncludeFieldCondition,
    LogsourceCondition,
)
from sigma.processing.pipeline import ProcessingItem
from sigma.processing.transformations import (
    AddConditionTransformation,
    AddFieldnamePrefixTransformation,
    FieldMappingTransformation,
    SetStateTransformation,
)

from converter.mapping.conditional import ConditionalFieldsTransformation
from converter.mapping.declared import DroppedValueCheck
from converter.mapping.line_endings import LineEndingCheck
from converter.mapping.partial import SharedRowsTransformation, UnrecordedFieldsTransformation
from converter.mapping.refusals import DataSourceStamp
from converter.mapping.table import DERIVED_SEPARATORS, LogsourceMapping, MappingTable
from converter.mapping.text_fields import KeywordTextField
from converter.mapping.transformations import (
    BasenameTransformation,
    CaselessSubfieldTransformation,
    EventDataAccessorTransformation,
    FunctionFieldTransformation,
    RegexGlobsTransformation,
    UnmappedFieldFailure,
)
from converter.mapping.variants import SourceVariantsTransformation


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


def regex_items(prefix: str, traits: TargetTraits) -> list[ProcessingItem]:
    """The item that writes translatable regexes as wildcard values, for targets without
    regular expressions (before every other item: renames then apply to the values)."""
    if not traits.regex_globs:
        return []
    return [ProcessingItem(identifier=f"{prefix}-regex-globs",
                           transformation=RegexGlobsTransformation())]


def caseless_transformation(model: Any, traits: TargetTraits) -> CaselessSubfieldTransformation:
    """The transformation that moves case-insensitive string tests to the forms ``traits`` use."""
    return CaselessSubfieldTransformation(
        model,
        lossless_only=traits.caseless_subfields == "lossless",
        copies=traits.caseless_copies,
        multi_fields=traits.caseless_subfields != "no",
        cased_copies=traits.cased_copies,
    )


def line_ending_items(
    table: MappingTable, entry: LogsourceMapping, data_source: str | None
) -> list[ProcessingItem]:
    """The item that declares the tests a shipper's line-ending rewriting may change
    (``sources.<data source>.line_endings``). It must see the rule's own values, so the
    pipeline puts it before every other item (the regex-to-wildcards step would otherwise hand
    it `\\s-c\\s` as globs spelling each whitespace character, line breaks among them)."""
    if not table.line_endings(data_source):
        return []
    _, exempt = table.dropped(data_source)
    prefix = f"{table.name}-{entry.id}"
    return [
        ProcessingItem(
            identifier=f"{prefix}-line-endings",
            transformation=LineEndingCheck(data_source=data_source or "", exempt=exempt),
            rule_conditions=[logsource_condition(entry)],
        )
    ]


def logsource_condition(entry: LogsourceMapping) -> LogsourceCondition:
    """The pySigma rule condition that selects the rules of one table entry's logsource
    (``exact``: only rules whose logsource names exactly the entry's ``match`` parts)."""
    if entry.exact:
        return ExactLogsourceCondition(**entry.match)
    return LogsourceCondition(**entry.match)


@dataclass
class ExactLogsourceCondition(LogsourceCondition):
    """A logsource condition whose unnamed parts must be absent from the rule too: ``product:
    linux`` alone (keyword rules over any Linux log), not every Linux category and service,
    which pySigma's condition, treating unnamed parts as wildcards, would also select."""

    def match(self, rule: Any) -> bool:
        """True for a rule whose logsource is exactly this one (correlations: never)."""
        source = getattr(rule, "logsource", None)
        return source is not None and (source.category, source.product, source.service) == (
            self.category, self.product, self.service
        )


def logsource_items(
    table: MappingTable, entry: LogsourceMapping, traits: TargetTraits, data_source: str | None
) -> list[ProcessingItem]:
    """The processing items of one logsource entry, in application order."""
    prefix = f"{table.name}-{entry.id}"
    targets = entry.field_targets(data_source)
    derived = [d for d in entry.derived_for(data_source) if d.query]
    known = set(targets) | {d.source for d in derived}
    items: list[ProcessingItem] = []
    if data_source:
        # Which data source a refusal of this rule holds for (converter/mapping/refusals.py).
        items.append(
            ProcessingItem(
                identifier=f"{prefix}-data-source",
                transformation=DataSourceStamp(data_source=str(data_source), table=table.name),
                rule_conditions=[logsource_condition(entry)],
            )
        )
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
                rule_conditions=[logsource_condition(entry)],
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
                rule_conditions=[logsource_condition(entry)],
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
                rule_conditions=[logsource_condition(entry)],
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
                rule_conditions=[logsource_condition(entry)],
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
            rule_conditions=[logsource_condition(entry)],
        )
    ]
    if entry.text_field:
        # After the unmapped check (the line's field is no Sigma field of the rule), before the
        # table's caseless and text-field steps, which then treat it as any other test.
        items.append(
            ProcessingItem(
                identifier=f"{prefix}-keywords",
                transformation=KeywordTextField(entry.field_prefix + entry.text_field,
                                                auditd=bool(entry.state.get("auditd_record")),
                                                no_keywords=_no_keywords(entry),
                                                columns=_access_columns(entry, data_source)),
                rule_conditions=[logsource_condition(entry)],
            )
        )
    dropped, exempt = table.dropped(data_source)
    if dropped:
        items.append(
            ProcessingItem(
                identifier=f"{prefix}-dropped-values",
                transformation=DroppedValueCheck(
                    data_source=data_source or "", values=dropped, exempt=exempt
                ),
                rule_conditions=[logsource_condition(entry)],
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
                rule_conditions=[logsource_condition(entry)],
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
                rule_conditions=[logsource_condition(entry)],
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
                rule_conditions=[logsource_condition(entry)],
                field_name_conditions=[IncludeFieldCondition(fields=[extra.source])],
            )
        )
    functions = {k: t for k, t in targets.items() if t.function is not None}
    for sigma_name, target in sorted(functions.items()):
        items.append(
            ProcessingItem(
                identifier=f"{prefix}-function-{sigma_name}",
                transformation=FunctionFieldTransformation(target, entry.field_prefix),
                rule_conditions=[logsource_condition(entry)],
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
                rule_conditions=[logsource_condition(entry)],
            )
        )
    conditions = dict(entry.conditions)
    if entry.eql_category:
        if traits.eql_category:
            items.append(
                ProcessingItem(
                    identifier=f"{prefix}-category",
                    transformation=SetStateTransformation("eql_category", entry.eql_category),
                    rule_conditions=[logsource_condition(entry)],
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
                f"{_condition_prefix(table, entry, k)}{k}|cased"
                if _all_strings(v) and entry.conditions_cased
                else f"{_condition_prefix(table, entry, k)}{k}"
            ): v
            for k, v in conditions.items()
        }
        items.append(
            ProcessingItem(
                identifier=f"{prefix}-conditions",
                transformation=AddConditionTransformation(cased),
                rule_conditions=[logsource_condition(entry)],
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
        # A bool column compares with the literals true / false only (`to_boolean` targets).
        boolean = {t for spec in targets.values() if spec.function == "to_boolean"
                   for t in spec.targets}
        if boolean:
            state.setdefault("boolean_columns", sorted(entry.field_prefix + t for t in boolean))
    else:
        # Numbers the source only writes as canonical decimal text (``canonical: true``): the
        # ingest `convert` reads them as Sigma does, and no string reaches Elasticsearch's
        # coercion, so the Elasticsearch emitters need not declare it.
        canonical = {t for spec in targets.values()
                     if spec.function == "to_integer" and spec.param("canonical")
                     for t in spec.targets}
        if canonical:
            state.setdefault(CANONICAL_NUMBERS, sorted(entry.field_prefix + t for t in canonical))
    for key, value in state.items():
        items.append(
            ProcessingItem(
                identifier=f"{prefix}-state-{key}",
                transformation=SetStateTransformation(key, value),
                rule_conditions=[logsource_condition(entry)],
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
                transformation=UnknownEntityCheck(
                    data_source=data_source or "", raw_data=table.schema == "splunk"
                ),
                rule_conditions=[logsource_condition(entry)],
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
                rule_conditions=[logsource_condition(entry)],
            )
        )
        items.append(
            ProcessingItem(
                identifier=f"{prefix}-value-encoding",
                transformation=SetStateTransformation("value_encoding", encoding),
                rule_conditions=[logsource_condition(entry)],
            )
        )
    return items


#: The fields every Splunk CIM dataset inherits from BaseEvent (CIM manual, "How to use these
#: reference tables"): tstats tests them unprefixed, whatever the dataset.
_CIM_BASE_FIELDS = frozenset({"_time", "host", "source", "sourcetype"})


def _condition_prefix(table: Any, entry: LogsourceMapping, name: str) -> str:
    """The prefix of the condition field ``name``: the entry's ``field_prefix`` (a CIM dataset's
    ``Registry.``), except for the CIM base fields, which belong to no dataset."""
    if table.schema == "splunk_cim" and name in _CIM_BASE_FIELDS:
        return ""
    return entry.field_prefix


def _all_strings(value: Any) -> bool:
    """A string, or a non-empty list of strings (a condition the ``cased`` modifier applies to)."""
    if isinstance(value, list):
        return bool(value) and all(isinstance(v, str) for v in value)
    return isinstance(value, str)


def _access_columns(entry: LogsourceMapping, data_source: str | None) -> tuple[str, ...]:
    """The Sigma fields of an access line's columns (state ``access_log``), else none."""
    if not entry.state.get("access_log"):
        return ()
    return tuple(name for name, spec in entry.field_targets(data_source).items()
                 if spec.function == "access_column")


def _no_keywords(entry: LogsourceMapping) -> str:
    """Why the entry's line cannot test a keyword as Sigma reads one, or "" when it can."""
    if entry.state.get("fortios_record"):
        return (f"keywords on {entry.id}: the FortiOS log line holds keys and header pairs "
                "besides the event's values, so 'the line contains it' is not 'some value "
                "contains it'")
    return ""
