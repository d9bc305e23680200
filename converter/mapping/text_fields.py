"""Refuse a test left on an analysed (``text``) field: no Elasticsearch query matches its whole value.

A ``text`` or ``match_only_text`` field is indexed as the tokens its analyzer makes
(https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/text): a KQL or Lucene
term, wildcard or regexp query on it matches tokens, not the string a Sigma test reads, and EQL
cannot search it at all (``backends/eql/semantics.py``, ``text_fields_supported``). A table may
still map a Sigma field to such a field when it is the only copy of the value the data source
keeps (PowerShell's ``powershell.file.script_block_text``): then the only exact test is on the
caseless copy of it that ``sigport mapping``'s ingest pipeline writes (a ``wildcard`` field), to
which the ``-caseless`` step moves every case-insensitive string test. This step runs after it and
refuses what stayed on the text field (``|cased`` values, regular expressions, ``null``,
``exists``, or every test when no ``--mapping`` names the copy), naming the field and the data
source.

``KeywordTextField`` serves the logsources whose record is one line of a plain-text log kept
whole in one field (a table entry's ``text_field``: the Custom Logs integration's ``message``):
the Sigma event of such a log holds the line as its one value, so a keyword (a field-less value)
means "the line contains it" (the reference's "keywords" fact), which is the test "the field
contains it" with the same wildcards and case. The steps above then apply to that test as to any
other: on a ``match_only_text`` field only the caseless copy makes it exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from sigma.exceptions import SigmaTransformationError
from sigma.processing.transformations.base import DetectionItemTransformation
from sigma.correlations import SigmaCorrelationRule
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import (
    SigmaCasedString,
    SigmaExpansion,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
    SigmaType,
    SpecialChars,
)

from converter.mapping.refusals import stamped


@dataclass
class TextFieldFailure(DetectionItemTransformation):
    """Fail on a detection item whose field the field model types as analysed text."""

    #: The field model (``backends.query.fields.FieldModel``) the pipeline's other steps read.
    model: Any = None
    pipeline: str = ""
    data_source: str = ""
    #: The table and data source of the rule being converted's entry (``apply``).
    _where: tuple[str, str] = field(default=("", ""), init=False, repr=False, compare=False)

    def apply(self, rule: SigmaRule | SigmaCorrelationRule) -> None:
        """Check every detection item of ``rule``, whose refusal names the table and data source
        of the entry that maps the rule (a companion's: ``ecs-lines``, not ``ecs-windows``)."""
        self._where = stamped(rule, self.pipeline, self.data_source)
        super().apply(rule)

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> None:
        """Raise for an item on a ``text`` / ``match_only_text`` field; pass every other item."""
        name = detection_item.field
        info = self.model.lookup(name) if name is not None and self.model is not None else None
        if info is None or not info.is_text:
            return None
        table, source = self._where if self._where[0] else (self.pipeline, self.data_source)
        copy = self.model.caseless_copy(name)
        if copy is not None:
            how = (
                f"only a case-insensitive string test moves to its caseless copy {copy.name}, "
                "and a regular expression to its cased copy where it has one (|cased values, "
                "null and exists stay on it)"
            )
        else:
            how = (
                "a case-insensitive string test is exact on the caseless copy that "
                f"`sigport mapping RULES --data-source {source} -o FILE` adds, a "
                "regular expression on its cased copy (convert with --mapping FILE)"
            )
        raise SigmaTransformationError(
            f"field {name} ({table}, data_source={source}) is a {info.type} field: "
            f"Elasticsearch matches its analysed tokens, not the whole value; {how}",
            source=detection_item.source,
        )


def _contained(value: SigmaType) -> SigmaType:
    """The field value that tests "the line contains ``value``" as the keyword ``value`` does
    (converter/reference/values.py ``value_test`` with ``keyword=True``).

    Raises:
        SigmaTransformationError: a value a keyword search cannot hold (a boolean, null, a
            comparison, a field reference, ...).
    """
    if isinstance(value, SigmaExpansion):  # windash, base64offset: OR-ed variants
        return SigmaExpansion([_contained(v) for v in value.values])
    if isinstance(value, SigmaString):
        # The same class (a |cased keyword stays case-sensitive), a '*' on each side.
        star = SpecialChars.WILDCARD_MULTI
        parts = list(value.s)
        wrapped = value.__class__()
        wrapped.s = [star] if not parts else ([] if parts[:1] == [star] else [star]) + parts + (
            [] if parts[-1:] == [star] else [star])
        return wrapped
    if isinstance(value, SigmaRegularExpression):
        return value  # a regular expression searches the line as it searches a field's value
    if isinstance(value, SigmaNumber) and type(value) is SigmaNumber:
        # A number keyword is its decimal text found in the line ("numbers": str(), lowered).
        return SigmaString(f"*{str(value.number).lower()}*")
    raise SigmaTransformationError(
        f"keyword of type {type(value).__name__}: a keyword search finds text in the line, "
        "and no text stands for this value"
    )


def _in_audit_value(value: SigmaType) -> SigmaType:
    """The regex of the audit line that tests "some value of the line contains ``value``" as the
    keyword ``value`` does: the values of a Linux audit record are its pairs' values, not the
    header's stamp nor the keys (``backends/auditd_text.py``, the same reading as Splunk's
    ``auditd_keyword_regex``, spelled without look-arounds for a Lucene RegExp).

    Raises:
        SigmaTransformationError: a value no pair holds as written (a double quote: auditd
            writes such a string as hex), a regular expression (no regex of the line says "some
            value matches it" for every pattern), or a value a keyword cannot hold.
    """
    from backends.auditd_text import auditd_keyword_bodies, keyword_pattern, without_outer_stars

    from converter.mapping.functions.unnamed_data import RecordTextRegex

    if isinstance(value, SigmaExpansion):
        return SigmaExpansion([_in_audit_value(v) for v in value.values])
    if isinstance(value, SigmaNumber) and type(value) is SigmaNumber:
        value = SigmaString(str(value.number).lower())  # "numbers": its decimal text
    if not isinstance(value, SigmaString) or value.contains_placeholder():
        raise SigmaTransformationError(
            f"keyword of type {type(value).__name__} on an audit line: only a string or a "
            "number is found inside one of the line's values"
        )
    text = "".join(p for p in value.s if isinstance(p, str))
    if '"' in text:
        raise SigmaTransformationError(
            f"the keyword {value.original!r} holds a double quote: auditd writes a value holding "
            "one as hex, so no value of the audit line contains it as written"
        )
    bodies = auditd_keyword_bodies(without_outer_stars(value), isinstance(value, SigmaCasedString), text)
    return RecordTextRegex(keyword_pattern(*bodies, lookaround=False))


@dataclass
class KeywordTextField(DetectionItemTransformation):
    """Turn each keyword (a detection item without a field) into a test of ``field``, the field
    that holds the record's whole line: "``field`` contains the keyword"; with ``auditd``, the
    line is a Linux audit record's and the test "some value of the line contains it"."""

    field: str = "message"
    auditd: bool = False
    #: The Sigma fields of a web server access line's columns that the entry maps (state
    #: ``access_log``): a rule testing keywords and any of them is refused. Its event holds the
    #: columns, in each of which the reference looks for a keyword, where "the line contains it"
    #: also reads the line's fixed parts and across columns ('GET /' is in the line, in no column).
    columns: tuple[str, ...] = ()
    #: Why a keyword is refused on this line (empty: keywords are tests of the line): a
    #: FortiOS log line holds keys and a header besides the Sigma event's values.
    no_keywords: str = ""

    def apply(self, rule: SigmaRule | SigmaCorrelationRule) -> None:
        """Refuse keywords next to column tests (``columns``), then wrap each keyword."""
        if self.columns and isinstance(rule, SigmaRule):
            items = list(_detection_items(rule.detection.detections.values()))
            if any(i.field is None for i in items) and any(i.field in self.columns for i in items):
                raise SigmaTransformationError(
                    "keywords next to tests of the access line's columns: a keyword is found in "
                    "the whole line, while the event of such a line holds its columns, in each of "
                    "which the rule's keyword reading looks (the line's fixed parts and a text "
                    "across two columns are in no column)",
                    source=rule.source,
                )
        super().apply(rule)

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> None:
        """Give a field-less item the line's field and wrap each value as a substring."""
        if detection_item.field is not None:
            return None
        if self.no_keywords:
            raise SigmaTransformationError(self.no_keywords, source=detection_item.source)
        wrap = _in_audit_value if self.auditd else _contained
        try:
            values = [wrap(v) for v in detection_item.value]
        except SigmaTransformationError as exc:
            raise SigmaTransformationError(str(exc), source=detection_item.source) from None
        detection_item.field = self.field
        detection_item.value = values


def _detection_items(detections: Iterable[SigmaDetection | SigmaDetectionItem]) -> Iterator[SigmaDetectionItem]:
    """Every detection item under ``detections`` (nested detections walked)."""
    for detection in detections:
        if isinstance(detection, SigmaDetectionItem):
            yield detection
        else:
            yield from _detection_items(detection.detection_items)
