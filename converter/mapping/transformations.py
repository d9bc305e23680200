"""sigport's own pySigma transformations, used by the pipelines built from mapping tables.

Each is a subclass of a pySigma transformation base class (extension by subclassing, not copying)
and works on pySigma's parsed detection items, whose values are typed (``SigmaString`` with its
wildcard parts, ``SigmaCasedString``, ``SigmaRegularExpression``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from backends.common import can_exceed
from backends.regex_globs import NotGlobs, sigma_regex_globs
from sigma.conditions import ConditionAND, ConditionOR
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaTransformationError
from sigma.processing.transformations.base import (
    DetectionItemTransformation,
    FieldMappingTransformationBase,
)
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import (
    SigmaCasedString,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaRegularExpression,
    SigmaString,
    SpecialChars,
)

from converter.mapping.declared import TRIMMED_FIELDS, warn_on_rule
from converter.mapping.functions.approximations import collecting
from converter.mapping.functions.registry import QUERY_FUNCTIONS, RULE_CHECKS
from converter.mapping.table import EVENT_DATA_IDENTIFIER, EVENT_DATA_NAME, FieldTarget


def whole_file_name(value: object, separator: str = "\\") -> str | None:
    """If ``value`` is Sigma's ``endswith '<separator><name>'`` of a whole file name, return
    ``<name>``.

    That is exactly the string ``*<separator>name`` where ``name`` holds no separator and no
    wildcard (``*\\cmd.exe`` on Windows, ``*/curl`` on Linux and macOS). Such a test on a path is
    the same as a whole-value test on the path's base name (the part after the last separator),
    which is what ECS ``process.name`` holds. A ``|cased`` value is the same test, case-sensitive
    on both sides.
    """
    # Plain and |cased strings only: other SigmaString kinds keep their own semantics.
    if not isinstance(value, SigmaString) or type(value) not in (SigmaString, SigmaCasedString):
        return None
    parts = value.s
    if len(parts) != 2 or parts[0] is not SpecialChars.WILDCARD_MULTI:
        return None
    tail = parts[1]
    if not isinstance(tail, str) or not tail.startswith(separator):
        return None
    name = tail[1:]
    if not name or separator in name:
        return None
    return name


@dataclass
class BasenameTransformation(DetectionItemTransformation):
    """Turn ``<source>|endswith: '\\name.exe'`` into ``<target>: 'name.exe'`` (e.g. process.name).

    ``separator`` is the path separator of the source field's paths (``\\`` for Windows, ``/``
    for Linux and macOS: the derived functions ``basename`` and ``path_basename``). Values that
    are not whole file names stay on the source field (and are renamed by the field mapping that
    follows). With mixed values the item becomes a small detection that keeps the item's own
    AND/OR linking between the two parts.
    """

    source: str = ""
    target: str = ""
    separator: str = "\\"

    def apply_detection_item(
        self, detection_item: SigmaDetectionItem
    ) -> SigmaDetection | SigmaDetectionItem | None:
        """Rewrite one detection item on the source field; None when nothing qualifies."""
        if detection_item.field != self.source:
            return None
        names = [whole_file_name(v, self.separator) for v in detection_item.value]
        if not any(n is not None for n in names):
            return None
        kept = [v for v, n in zip(detection_item.value, names) if n is None]
        moved = SigmaDetectionItem(
            self.target,
            [],
            [_literal(n, isinstance(v, SigmaCasedString))
             for v, n in zip(detection_item.value, names) if n is not None],
            value_linking=detection_item.value_linking,
        )
        if not kept:
            return moved
        rest = SigmaDetectionItem(
            detection_item.field, [], kept, value_linking=detection_item.value_linking
        )
        linking = ConditionAND if detection_item.value_linking is ConditionAND else ConditionOR
        return SigmaDetection([moved, rest], item_linking=linking)


@dataclass
class RegexGlobsTransformation(DetectionItemTransformation):
    """Write a ``|re`` test whose regex is a finite union of wildcard values as those values.

    For targets without regular expressions (KQL): ``backends.regex_globs`` gives the exactly
    equivalent Sigma values (case-sensitive unless the regex is ``|i``), so the later steps treat
    them as any string test (the caseless copies and multi-fields, ``sigport mapping``'s
    questions). A regex it refuses stays; the emitter refuses it with the reason. Runs before
    the field renames, which then apply to the new values as to any string.
    """

    def apply_detection_item(
        self, detection_item: SigmaDetectionItem
    ) -> SigmaDetection | SigmaDetectionItem | None:
        """The item with each regex replaced by its values; None when one does not translate."""
        values = detection_item.value
        if detection_item.field is None or not values or not all(
            isinstance(v, SigmaRegularExpression) for v in values
        ):
            return None
        try:
            globs = [list(sigma_regex_globs(v)) for v in values]  # type: ignore[arg-type]
        except NotGlobs:
            return None
        field, negated = detection_item.field, detection_item.negated
        if detection_item.value_linking is ConditionAND and len(globs) > 1:
            # |all: every regex must match, each one being the OR of its values.
            parts: list[SigmaDetectionItem | SigmaDetection] = [
                SigmaDetectionItem(field, [], list(g), negated=negated) for g in globs
            ]
            return SigmaDetection(parts, item_linking=ConditionAND)
        return SigmaDetectionItem(field, [], [v for g in globs for v in g], negated=negated)


@dataclass
class CaselessSubfieldTransformation(DetectionItemTransformation):
    """Move case-insensitive string matches to the field's lowercase-normalised multi-field.

    Elastic Defend maps ``.caseless`` sub-fields with a ``lowercase`` normalizer, which lowercases
    both the indexed value and the query's terms and wildcard patterns, so a term or wildcard query
    on it is case-insensitive: exactly Sigma's default; a user's mapping may name such a
    multi-field anything. ``|cased`` strings, regular expressions and non-strings stay on the base
    field. https://www.elastic.co/guide/en/elasticsearch/reference/current/normalizer.html
    """

    #: The field model (``backends.query.fields.FieldModel``): its ``caseless_form`` of a field
    #: is the multi-field queried instead; read per item, so dynamic fields count too.
    model: Any = None
    #: Skip forms that index fewer values than their parent field (``FieldModel.loses_values``):
    #: Lucene has an exact regex on the parent instead; KQL has no other exact form.
    lossless_only: bool = False
    #: Prefer the field's caseless-encoded copy (``FieldModel.caseless_copy``, written by an
    #: ingest pipeline, no length limit) and encode the values for it: the other forms stop at
    #: a keyword limit (KQL, Lucene, EQL; the emitter tests the copy case-sensitively).
    copies: bool = False
    #: Move to a lowercase-normalised multi-field where there is no copy (KQL, Lucene; not EQL,
    #: whose ``:`` is case-insensitive on the field itself).
    multi_fields: bool = True
    #: Move a case-sensitive pattern that a query_string would split (whitespace, a literal
    #: ``*``) off a field that is no ``keyword`` field to its cased copy (``FieldModel.cased_copy``,
    #: only the swaps): KQL, whose wildcard values on such fields go through query_string.
    cased_copies: bool = False

    def apply_detection_item(
        self, detection_item: SigmaDetectionItem
    ) -> SigmaDetection | SigmaDetectionItem | None:
        """Rename the item's field when every value is a plain case-insensitive string; with
        mixed values (``Details: [0, 'DWORD (0x00000000)']``), move the strings as their own
        item, linked to the rest as the values were (OR, or AND under ``|all``)."""
        if detection_item.field is None or not detection_item.value or self.model is None:
            return None
        if self.copies and (self._to_cased_copy(detection_item)
                            or self._regex_to_cased_copy(detection_item)):
            return None
        if self.copies:
            both = self._presence_on_both(detection_item)
            if both is not None:
                return both
        plain = [v for v in detection_item.value if _plain_string(v)]
        if not plain:
            return None
        if len(plain) < len(detection_item.value):
            if detection_item.negated:
                return None  # not(a or b) is no OR of two negated items
            moved, rest = (
                SigmaDetectionItem(
                    detection_item.field, list(detection_item.modifiers), values,
                    value_linking=detection_item.value_linking, source=detection_item.source,
                    auto_modifiers=False,  # the values carry the modifiers already
                )
                for values in (plain, [v for v in detection_item.value if not _plain_string(v)])
            )
            if self.apply_detection_item(moved) is not None or moved.field == rest.field:
                return None  # nothing to move the strings to
            linking = ConditionAND if detection_item.value_linking is ConditionAND else ConditionOR
            return SigmaDetection([moved, rest], item_linking=linking)
        twin = self.model.caseless_copy(detection_item.field) if self.copies else None
        if twin is not None:
            detection_item.field = twin.name
            detection_item.value = [_encoded(v) for v in detection_item.value]
            self.processing_item_applied(detection_item)
            return None
        if not self.multi_fields:
            return None
        # Asked only for case-insensitive string tests (`sigport mapping` records the questions).
        form = self.model.caseless_form(detection_item.field)
        if form is None or form.name == detection_item.field:
            return None
        if self.lossless_only and self.model.loses_values(form.name):
            return None
        detection_item.field = form.name
        self.processing_item_applied(detection_item)
        return None

    def _regex_to_cased_copy(self, item: SigmaDetectionItem) -> bool:
        """Move a regular expression test on a field that stops at an ``ignore_above``, or on an
        analysed text field (whose tokens no regex query reads as the value), to the field's
        cased copy, a ``wildcard`` field the ingest pipeline writes whole with no limit: the
        emitters write the regex through the copy's character swap
        (``backends.query.ingest.regex_swap``), so it is exact at any length. True when moved."""
        if not item.value or not all(isinstance(v, SigmaRegularExpression) for v in item.value):
            return False
        info = self.model.lookup(item.field)
        if info is None or info.source != item.field:
            return False  # a multi-field (its copy would be of another field)
        if info.ignore_above is None and not info.is_text:
            return False  # the field itself holds every value whole
        twin = self.model.cased_copy(item.field)
        if twin is None:
            return False
        item.field = twin.name
        self.processing_item_applied(item)
        return True

    def _presence_on_both(self, item: SigmaDetectionItem) -> SigmaDetection | None:
        """A ``null`` or ``|exists`` test on a length-limited field that has a caseless copy,
        made on the field and on its copy: the field indexes no value past its
        ``ignore_above`` and the copy (a ``wildcard`` field the ingest script writes for
        strings only) no number or boolean, so a value is missing only when neither has it
        (``null``: both null; ``|exists: true``: either exists). An exists query on one of
        them alone misses a value (https://www.elastic.co/docs/reference/query-languages/
        query-dsl/query-dsl-exists-query)."""
        if getattr(item, "negated", False) or len(item.value) != 1:
            return None
        (value,) = item.value
        if not isinstance(value, (SigmaNull, SigmaExists)):
            return None
        info = self.model.lookup(item.field)
        twin = self.model.caseless_copy(item.field)
        if info is None or info.ignore_above is None or twin is None:
            return None
        on_field, on_copy = (
            SigmaDetectionItem(name, list(item.modifiers), [value], source=item.source,
                               auto_modifiers=False)
            for name in (item.field, twin.name)
        )
        present = isinstance(value, SigmaExists) and value.exists
        self.processing_item_applied(on_copy)
        return SigmaDetection([on_field, on_copy],
                              item_linking=ConditionOR if present else ConditionAND)

    def _to_cased_copy(self, item: SigmaDetectionItem) -> bool:
        """Move a case-sensitive item to the field's cased copy (no length limit) where its
        patterns a query_string would split on a field that is no ``keyword`` field
        (``cased_copies``: KQL), or where the field stops at an ``ignore_above`` a value of
        the item can pass (every copy target); True when moved."""
        values = item.value
        if not values or not all(type(v) is SigmaCasedString for v in values):
            return False
        info = self.model.lookup(item.field)
        if info is None:
            return False
        limited = info.ignore_above is not None and any(
            can_exceed(v, info.ignore_above) for v in values
        )
        # A keyword field takes a pattern as one wildcard query: no split there.
        split = self.cased_copies and info.type != "keyword" and any(
            _split_by_query_string(v) for v in values
        )
        if not (limited or split):
            return False
        twin = self.model.cased_copy(item.field)
        if twin is None:
            return False
        item.field = twin.name
        item.value = [_encoded(v, cased=True) for v in values]
        self.processing_item_applied(item)
        return True


@dataclass
class FunctionFieldTransformation(DetectionItemTransformation):
    """Map a field through one of the mapping table's named value functions (query side).

    The functions live in ``converter/mapping/functions/registry.py`` with their render side, so both directions of
    each function sit next to each other; where a rewrite cannot be exact they raise
    ``SigmaTransformationError`` with the reason, and the rule is reported unsupported.
    """

    target: FieldTarget | None = None
    prefix: str = ""

    def apply(self, rule: SigmaRule | SigmaCorrelationRule) -> None:
        """Check the whole rule first where the function's exactness depends on it
        (``RULE_CHECKS``: ``cim_fillnull``), before any item is rewritten; then map the rule's
        items, each approximation a function declares (``functions.approximations``) becoming a
        warning on the rule."""
        check = RULE_CHECKS.get(self.target.function or "") if self.target else None
        if check is not None and isinstance(rule, SigmaRule):
            check(rule, self.target, self.prefix)
        with collecting() as declared:
            super().apply(rule)
        for reason, trims in declared:
            warn_on_rule(rule, reason)
            attributes = getattr(rule, "custom_attributes", None)
            if trims is not None and attributes is not None:
                # As data, for ``check``: an event that differs only by this field's trimmed
                # edges shows the declared difference (converter/checking/dropped.py).
                found = attributes.setdefault(TRIMMED_FIELDS, [])
                if trims not in found:
                    found.append(trims)

    def apply_detection_item(
        self, detection_item: SigmaDetectionItem
    ) -> SigmaDetection | SigmaDetectionItem | None:
        """Rewrite one item according to the function."""
        assert self.target is not None and self.target.function is not None
        try:
            rewrite = QUERY_FUNCTIONS[self.target.function]
        except KeyError:
            raise SigmaTransformationError(
                f"mapping function {self.target.function!r} has no query side",
                source=detection_item.source,
            ) from None
        return rewrite(detection_item, self.target, self.prefix)


@dataclass
class EventDataAccessorTransformation(FieldMappingTransformationBase):
    """Name each field (the record's named event data) by the table's ``event_data`` template:
    ``ScriptBlockText`` -> ``tostring(EventData.ScriptBlockText)``, the text of that property
    of the dynamic column (Kusto's WindowsEvent)."""

    template: str = ""

    def apply_field_name(self, field: str | None) -> str | None:
        """The template with the field's name; unbound keyword items keep no field."""
        from converter.mapping.table import EVENT_DATA_PLACEHOLDER

        if field is None:
            return None
        return self.template.replace(EVENT_DATA_PLACEHOLDER, field)


def _split_by_query_string(value: Any) -> bool:
    """A pattern query_string would not read as one pattern: a wildcard value holding
    whitespace it splits at, or a literal ``*`` (``backends.query.ingest.COPY_SWAP``)."""
    from backends.query.ingest import COPY_SWAP

    return value.contains_special() and any(
        isinstance(p, str) and any(c in COPY_SWAP for c in p) for p in value.s)


def _plain_string(value: Any) -> bool:
    """A case-insensitive string without placeholders or regex: a plain ``SigmaString``, or a
    ``SigmaExpansion`` (windash, base64offset variants) of them."""
    if isinstance(value, SigmaExpansion):
        return all(type(v) is SigmaString for v in value.values)
    return type(value) is SigmaString


def _encoded(value: Any, cased: bool = False) -> Any:
    """A plain Sigma string (or each of a ``SigmaExpansion``'s) with its literal parts
    caseless-encoded the way the ingest pipeline writes the copy (``backends.query.ingest``);
    wildcards stay wildcards. ``cased``: a ``|cased`` string encoded for the cased copy."""
    from backends.query.ingest import cased_encode, caseless_encode

    if isinstance(value, SigmaExpansion):
        return SigmaExpansion([_encoded(v, cased) for v in value.values])
    out = SigmaCasedString() if cased else SigmaString()
    encode = cased_encode if cased else caseless_encode
    out.s = [encode(p) if isinstance(p, str) else p for p in value.s]
    return out


def _literal(text: str, cased: bool = False) -> SigmaString:
    """A Sigma string holding ``text`` literally (no wildcards, no escape processing);
    ``cased``: a ``|cased`` one."""
    out = SigmaCasedString() if cased else SigmaString()
    out.s = [text] if text else []
    return out


@dataclass
class UnmappedFieldFailure(DetectionItemTransformation):
    """Fail on a detection item whose field the mapping table does not know, naming the field.

    pySigma's ``DetectionItemFailureTransformation`` has one fixed message; a user porting a rule
    needs to know *which* field to map.
    """

    pipeline: str = ""
    logsource: str = ""
    known: frozenset[str] = field(default_factory=frozenset)
    reasons: tuple[tuple[str, str], ...] = ()
    #: The logsource's other fields are the record's named event data (``event_data`` in the
    #: table): only the fields with a reason, and names no event data can have, fail.
    event_data: bool = False
    #: ``event_data`` is a template naming a property (``tostring(EventData.{name})``): the
    #: name must also be an identifier (no leading digit).
    event_data_template: bool = False

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> None:
        """Raise for a field outside ``known``, the item's own or one a ``fieldref`` value names
        (the query would compare with a field the data source never writes); unbound keyword
        items have no field to map."""
        for value in detection_item.value:
            if isinstance(value, SigmaFieldReference):
                self._check(value.field, detection_item)
        self._check(detection_item.field, detection_item)

    def _check(self, name: str | None, detection_item: SigmaDetectionItem) -> None:
        """Raise when ``name`` is a field outside ``known`` (see ``apply_detection_item``)."""
        if name is None or name in self.known:
            return None
        why = dict(self.reasons).get(name)
        if self.event_data and why is None:
            if self.event_data_template:
                if EVENT_DATA_IDENTIFIER.fullmatch(name):
                    return None
                why = (
                    "not an event-data property name the query can write (an identifier: "
                    "letters, digits and '_', not starting with a digit)"
                )
            elif EVENT_DATA_NAME.fullmatch(name):
                return None
            else:
                why = "not an event-data name (letters, digits and '_'), so no field of the record"
        raise SigmaTransformationError(
            f"field {name!r} is not mapped by pipeline {self.pipeline} for logsource "
            f"{self.logsource}"
            + (f": {why}" if why else "; add it to the mapping table or pass a pipeline that maps it"),
            source=detection_item.source,
        )

