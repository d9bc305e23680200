"""sigport's own pySigma transformations, used by the pipelines built from mapping tables.

Each is a subclass of a pySigma transformation base class (extension by subclassing, not copying)
and works on pySigma's parsed detection items, whose values are typed (``SigmaString`` with its
wildcard parts, ``SigmaCasedString``, ``SigmaRegularExpression``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sigma.conditions import ConditionAND, ConditionOR
from sigma.exceptions import SigmaTransformationError
from sigma.processing.transformations.base import DetectionItemTransformation
from sigma.rule import SigmaDetection, SigmaDetectionItem
from sigma.types import SigmaCasedString, SigmaString, SpecialChars

from .mapping import FieldTarget


def whole_file_name(value: object) -> str | None:
    """If ``value`` is Sigma's ``endswith '\\<name>'`` of a whole file name, return ``<name>``.

    That is exactly the string ``*\\name`` where ``name`` holds no backslash and no wildcard. Such a
    test on a path is the same as a whole-value test on the path's base name (the part after the
    last backslash), which is what ECS ``process.name`` holds.
    """
    if type(value) is not SigmaString:  # cased strings and other types keep their own semantics
        return None
    parts = value.s
    if len(parts) != 2 or parts[0] is not SpecialChars.WILDCARD_MULTI:
        return None
    tail = parts[1]
    if not isinstance(tail, str) or not tail.startswith("\\"):
        return None
    name = tail[1:]
    if not name or "\\" in name:
        return None
    return name


@dataclass
class BasenameTransformation(DetectionItemTransformation):
    """Turn ``<source>|endswith: '\\name.exe'`` into ``<target>: 'name.exe'`` (e.g. process.name).

    Values that are not whole file names stay on the source field (and are renamed by the field
    mapping that follows). With mixed values the item becomes a small detection that keeps the
    item's own AND/OR linking between the two parts.
    """

    source: str = ""
    target: str = ""

    def apply_detection_item(
        self, detection_item: SigmaDetectionItem
    ) -> SigmaDetection | SigmaDetectionItem | None:
        """Rewrite one detection item on the source field; None when nothing qualifies."""
        if detection_item.field != self.source:
            return None
        names = [whole_file_name(v) for v in detection_item.value]
        if not any(n is not None for n in names):
            return None
        kept = [v for v, n in zip(detection_item.value, names) if n is None]
        moved = SigmaDetectionItem(
            self.target,
            [],
            [_literal(n) for n in names if n is not None],
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
class CaselessSubfieldTransformation(DetectionItemTransformation):
    """Move case-insensitive string matches to the ``<field>.caseless`` multi-field.

    Elastic Defend maps ``.caseless`` sub-fields with a ``lowercase`` normalizer, which lowercases
    both the indexed value and the query's terms and wildcard patterns, so a term or wildcard query
    on it is case-insensitive: exactly Sigma's default. ``|cased`` strings, regular expressions and
    non-strings stay on the base field.
    https://www.elastic.co/guide/en/elasticsearch/reference/current/normalizer.html
    """

    fields: frozenset[str] = field(default_factory=frozenset)

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> SigmaDetectionItem | None:
        """Rename the item's field when every value is a plain case-insensitive string."""
        if detection_item.field not in self.fields or not detection_item.value:
            return None
        if not all(type(v) is SigmaString for v in detection_item.value):
            return None
        detection_item.field = f"{detection_item.field}.caseless"
        self.processing_item_applied(detection_item)
        return None


@dataclass
class FunctionFieldTransformation(DetectionItemTransformation):
    """Apply a mapping table's value function while renaming a field.

    ``lowercase``: the shipper stores the value lowercased (e.g. hash digests), so the query value
    is lowercased too. Case-sensitive (``|cased``) values that are not already lowercase can never
    match such data: that is an error, not a silent rewrite.
    """

    target: FieldTarget | None = None
    prefix: str = ""

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> SigmaDetectionItem | None:
        """Rewrite one item according to the function."""
        assert self.target is not None
        function = self.target.function
        if function == "lowercase":
            values = []
            for value in detection_item.value:
                if isinstance(value, SigmaCasedString) and str(value) != str(value).lower():
                    raise SigmaTransformationError(
                        f"{self.target.sigma}: the data source stores lowercase values, so the "
                        f"case-sensitive value {str(value)!r} can never match",
                        source=detection_item.source,
                    )
                if type(value) is SigmaString:
                    value = _lower(value)
                values.append(value)
            return SigmaDetectionItem(
                self.prefix + self.target.target,
                detection_item.modifiers,
                values,
                value_linking=detection_item.value_linking,
            )
        raise SigmaTransformationError(
            f"mapping function {function!r} has no query-side implementation",
            source=detection_item.source,
        )


def _literal(text: str) -> SigmaString:
    """A Sigma string holding ``text`` literally (no wildcards, no escape processing)."""
    out = SigmaString()
    out.s = (text,) if text else ()
    return out


def _lower(value: SigmaString) -> SigmaString:
    """Lowercase the literal parts of a Sigma string, keeping its wildcards."""
    out = SigmaString()
    out.s = tuple(p.lower() if isinstance(p, str) else p for p in value.s)
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

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> None:
        """Raise for a field outside ``known``; unbound keyword items have no field to map."""
        name = detection_item.field
        if name is None or name in self.known:
            return None
        why = dict(self.reasons).get(name)
        raise SigmaTransformationError(
            f"field {name!r} is not mapped by pipeline {self.pipeline} for logsource "
            f"{self.logsource}"
            + (f": {why}" if why else "; add it to the mapping table or pass a pipeline that maps it"),
            source=detection_item.source,
        )
