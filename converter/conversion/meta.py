"""What a batch conversion carries back from its worker processes instead of pySigma objects:
``RuleMeta`` (the metadata of a converted rule the output formats read) and ``RuleSummary`` (one
loaded rule or load failure), both small and picklable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, NamedTuple

from converter.errors import RuleLoadError

if TYPE_CHECKING:  # loading needs pySigma; a result read back from the cache does not
    from converter.rules.load import LoadedRule


class RuleTag(NamedTuple):
    """A rule tag (``attack.t1059`` is namespace ``attack``, name ``t1059``)."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}.{self.name}"


class LevelMeta(NamedTuple):
    """A rule's level by its name (``SigmaLevel.name``, e.g. ``HIGH``): the output formats read
    only ``level.name``, and unpickling pySigma's enum would import pySigma."""

    name: str


class LogsourceMeta(NamedTuple):
    """A rule's logsource (the ``SigmaLogSource`` attributes the output formats read)."""

    product: str | None = None
    category: str | None = None
    service: str | None = None


def detection_fields(rule: Any) -> list[str]:
    """The field names of a processed rule's detection items, in order (a ``RuleMeta`` gives the
    ones it carried across processes): the fields a Kibana rule declares as required."""
    known = getattr(rule, "query_fields", None)
    if known is not None:
        return list(known)
    detection = getattr(rule, "detection", None)
    out: list[str] = []

    def walk(items: Iterable[Any]) -> None:
        for item in items:
            if hasattr(item, "detection_items"):
                walk(item.detection_items)
            elif getattr(item, "field", None) and item.field not in out:
                out.append(item.field)

    if detection is not None:
        walk(detection.detections.values())
    return out


@dataclass(frozen=True)
class RuleMeta:
    """The metadata of a converted rule that the output formats read, in picklable form.

    The attribute names are the ``SigmaRule`` ones, so ``converter/outputs/formats.py`` renders a
    ``Conversion`` whose ``rule`` is a ``RuleMeta`` exactly as one whose ``rule`` is the rule.
    """

    id: str = ""
    title: str = ""
    description: str | None = None
    level: LevelMeta | None = None
    tags: tuple[RuleTag, ...] = ()
    custom_attributes: dict[str, Any] = field(default_factory=dict)
    author: str | None = None
    references: tuple[str, ...] = ()
    falsepositives: tuple[str, ...] = ()
    license: str | None = None
    #: The processed rule's detection fields (``detection_fields``).
    query_fields: tuple[str, ...] = ()
    #: Which mapping table's data source the Kibana rule reads (``converter.outputs.kibana``).
    logsource: LogsourceMeta = LogsourceMeta()

    @classmethod
    def of(cls, rule: Any) -> RuleMeta:
        """The metadata of a pySigma rule (after the pipeline ran: it may set attributes)."""
        return cls(
            id=str(rule.id) if getattr(rule, "id", None) else "",
            title=getattr(rule, "title", None) or "",
            description=getattr(rule, "description", None),
            level=_level(getattr(rule, "level", None)),
            tags=tuple(RuleTag(t.namespace, t.name) for t in getattr(rule, "tags", None) or ()),
            custom_attributes=dict(getattr(rule, "custom_attributes", None) or {}),
            author=getattr(rule, "author", None),
            references=tuple(getattr(rule, "references", None) or ()),
            falsepositives=tuple(getattr(rule, "falsepositives", None) or ()),
            license=getattr(rule, "license", None),
            query_fields=tuple(detection_fields(rule)),
            logsource=LogsourceMeta(
                *(getattr(getattr(rule, "logsource", None), k, None)
                  for k in ("product", "category", "service"))
            ),
        )


def _level(level: Any) -> LevelMeta | None:
    return None if level is None else LevelMeta(str(level.name))


@dataclass(frozen=True)
class RuleSummary:
    """One loaded rule (or load failure) without the parsed rule: what a batch reports."""

    path: str
    id: str
    title: str
    error: RuleLoadError | None = None

    @classmethod
    def of(cls, loaded: LoadedRule) -> RuleSummary:
        """The summary of a ``LoadedRule``."""
        return cls(loaded.path, loaded.id, loaded.title, loaded.error)
