"""Processing pipelines built from the mapping tables, plus users' own pySigma pipeline YAML.

A built-in pipeline (``ecs-windows``, ``splunk-sysmon``, ``splunk-cim``) is generated from its
mapping table (``converter/mapping/table.py``, read by ``converter/mapping/loader.py``), one identified ``ProcessingItem`` per step, so tests can
assert which items applied (one entry's items: ``converter/mapping/items.py``):

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
that table's pipeline, built for its own data source (``converter.mapping.loader.companion_tables``).

Users add pipelines with ``-p FILE.yml`` in pySigma's own YAML pipeline format.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from sigma.exceptions import SigmaError, SigmaTransformationError
from sigma.processing.conditions import LogsourceCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import RuleFailureTransformation

from converter.errors import PipelineError
from converter.mapping.index_mapping import TEMPLATE_SOURCES, field_model_for, mapping_option
from converter.mapping.items import (
    ExactLogsourceCondition,
    TargetTraits,
    caseless_transformation,
    line_ending_items,
    logsource_condition,
    logsource_items,
    regex_items,
)
from converter.mapping.loader import (
    builtin_table_names,
    companion_tables,
    left_out_on,
    load_table,
    offered_by_companion,
)
from converter.mapping.precedence import Owned, yield_to_narrower
from converter.mapping.refusals import AmbiguousLogsourceFailure, UnsupportedLogsourceFailure
from converter.mapping.table import LogsourceMapping, MappingTable
from converter.mapping.text_fields import TextFieldFailure


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
    items = regex_items(PASSTHROUGH, traits)
    model = field_model or field_model_for(data_source)
    if traits.caseless_subfields != "no" or traits.caseless_copies or traits.cased_copies:
        items.append(
            ProcessingItem(
                identifier=f"{PASSTHROUGH}-caseless",
                transformation=caseless_transformation(model, traits),
            )
        )
    return ProcessingPipeline(
        name="sigport ecs pass-through", priority=20, items=items,
        vars={"sigport_field_model": model},
    )


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
    items: list[ProcessingItem] = regex_items(table.name, traits)
    chosen = ((options if all_options is None else all_options) or {}).get("data_source")
    # A data source a companion table takes over (winlog): this table's logsources map nothing.
    foreign = chosen if offered_by_companion(name, chosen) else None
    entries: tuple[LogsourceMapping, ...] = () if foreign else table.entries_for(data_source)
    # Run first, on the rule's own values (``line_ending_items``).
    first: list[ProcessingItem] = []
    # (table, data source, entry) of each entry, for the refusal of a rule two of them select.
    owned: list[Owned] = [(table, data_source, entry) for entry in entries]
    # Each entry's items (its logsource guard yields to a narrower entry: converter.mapping.precedence).
    guarded: list[list[ProcessingItem]] = []
    for entry in entries:
        guarded.append(_entry_items(table, entry, traits, data_source, items, first))
    # Tables that extend this one (non-Windows logsources) add their entries, each built for
    # its own data source: the option value when the table lists it, else the table's default.
    refusals = [] if foreign else [(table, item, data_source) for item in table.not_covered]
    plain: list[LogsourceMapping] = []  # entries whose documents lack the .caseless multi-fields
    templated: list[LogsourceMapping] = []  # those of them whose streams get the user's template
    for other_name in companion_tables(table.name) if not name.endswith((".yml", ".yaml")) else ():
        other = load_table(other_name)
        own = own_options(other, options if all_options is None else all_options)
        source = own.get("data_source", other.option_default("data_source"))
        left_out = left_out_on(other_name, foreign or data_source)
        if left_out is not None:
            # Its default's records are not in the data source in force: each logsource it
            # maps is refused with the reason, not converted for that other data source.
            refusals += [(other, {"match": entry.match, "reason": left_out, "exact": False},
                          foreign or data_source) for entry in other.entries_for(source)]
            continue
        for entry in other.entries_for(source):
            guarded.append(_entry_items(other, entry, traits, source, items, first))
            entries = (*entries, entry)
            owned.append((other, source, entry))
            if not other.has_caseless_subfields(source):
                plain.append(entry)
                if source == other.option_default("data_source") or (
                    source == own.get("data_source") and source in TEMPLATE_SOURCES
                ):
                    # sigport mapping converts with each table's default data source, or the
                    # one it is given, so only those streams are named in the requests that
                    # install the copies.
                    templated.append(entry)
        refusals += [(other, item, source) for item in other.not_covered]
    items[0:0] = first
    if owned:
        # A rule two entries select is converted with the narrower one when one is (its items
        # yield), else refused naming them, before every entry's renames and refusals (each
        # would refuse the fields only the other maps). With one entry too (a user's table of
        # one logsource): a rule it selects whose logsource names a part the entry does not,
        # while the entry's events lie partly outside it, is refused the same way.
        selects = [logsource_condition(entry) for _, _, entry in owned]
        pairs = yield_to_narrower(owned, selects, guarded, items)
        items.insert(0, ProcessingItem(
            identifier=f"{table.name}-ambiguous-logsource",
            transformation=AmbiguousLogsourceFailure(table.name, tuple(
                (owner.name, entry.id, str(source or ""), logsource_condition(entry))
                for owner, source, entry in owned
            ), pairs, tuple(tuple(tuple(sorted(criterion.items())) for criterion in entry.events)
                            for _, _, entry in owned), tuple(
                _refusal_condition(refusal) for _, refusal, _ in refusals
                if not any(e.match == refusal["match"] for e in entries))),
        ))
    model = None
    if table.schema == "ecs" and (data_source is not None or field_model is not None):
        # On a data source a companion takes over, its documents are the only ones queried.
        model = field_model or field_model_for(foreign or data_source)
    if (traits.caseless_subfields != "no" or traits.caseless_copies or traits.cased_copies) \
            and model is not None:
        # The data source's model: not for the logsources whose index has no such multi-fields.
        steps: list[tuple[str, Any, list[LogsourceMapping], bool]] = [
            ("caseless", model, plain, True)
        ]
        if templated and field_model is not None:
            # The user's template is composed into those indices too (sigport mapping's requests
            # name their data streams): its copies and multi-fields are there, the data
            # source's own (Defend's .caseless) are not.
            steps.append(("caseless-integrations",
                          model.without_multi_fields_of(field_model_for(data_source)), templated,
                          False))
        for suffix, step_model, scope, negated in steps:
            items.append(
                ProcessingItem(
                    identifier=f"{table.name}-{suffix}",
                    transformation=caseless_transformation(step_model, traits),
                    rule_conditions=[logsource_condition(e) for e in scope],
                    rule_condition_linking=any,
                    rule_condition_negation=negated,
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
    for i, (owner, refusal, source) in enumerate(refusals):
        if any(e.match == refusal["match"] for e in entries):
            continue
        where = f" (data_source={source})" if source else ""
        items.append(
            ProcessingItem(
                identifier=f"{owner.name}-not-covered-{i}",
                transformation=RuleFailureTransformation(
                    f"pipeline {table.name}{where} does not cover this rule's logsource "
                    f"({owner.name}): {refusal['reason']}"
                ),
                # `exact`: the rule's logsource is this match and names nothing more.
                rule_conditions=[_refusal_condition(refusal)],
            )
        )
    items.append(
        ProcessingItem(
            identifier=f"{table.name}-unsupported-logsource",
            transformation=UnsupportedLogsourceFailure(
                table.name, len(entries), str(foreign or data_source or ""),
                mapped_elsewhere(table, foreign or data_source, entries),
            ),
            rule_conditions=[logsource_condition(e) for e in entries],
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


def _refusal_condition(refusal: dict[str, Any]) -> LogsourceCondition:
    """The rule condition of a ``not_covered`` refusal (``exact``: the rule's logsource is its
    match and names nothing more)."""
    return (ExactLogsourceCondition if refusal.get("exact") else LogsourceCondition)(
        **refusal["match"])


def _entry_items(
    table: MappingTable, entry: LogsourceMapping, traits: TargetTraits, data_source: Any,
    items: list[ProcessingItem], first: list[ProcessingItem],
) -> list[ProcessingItem]:
    """Add one entry's items to ``items`` (its line-ending check to ``first``: it must see the
    rule's own values) and return them all."""
    own = logsource_items(table, entry, traits, data_source)
    early = line_ending_items(table, entry, data_source)
    items.extend(own)
    first.extend(early)
    return own + early


def mapped_elsewhere(
    table: MappingTable, data_source: str | None, entries: Sequence[LogsourceMapping]
) -> tuple[tuple[tuple[tuple[str, str], ...], str], ...]:
    """The logsources (as ``match`` items) that ``entries`` lack and another data source of
    ``table`` maps (in its own entries or a companion table's that lists that data source), each
    with that data source, for the refusal of an uncovered logsource."""
    have = [e.match for e in entries]
    out: list[tuple[tuple[tuple[str, str], ...], str]] = []
    companions = [load_table(n) for n in companion_tables(table.name)]
    for other in table.options.get("data_source", {}).get("choices") or []:
        if other == data_source:
            continue
        theirs = list(table.entries_for(other))
        for companion in companions:
            if other in (companion.options.get("data_source", {}).get("choices") or []):
                theirs += companion.entries_for(other)
        out += [(tuple(sorted(e.match.items())), str(other)) for e in theirs if e.match not in have]
    return tuple(dict.fromkeys(out))


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
    except UnicodeDecodeError as exc:  # was an internal error
        raise PipelineError(f"pipeline file is not UTF-8 ({exc.reason})", path=path) from None
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
