"""The outcome of converting one rule for one target (``Conversion``) and its statuses.

Kept apart from ``convert.py`` (the converters, which need pySigma): what a batch reads back from
its cache, writes and summarises is only these values, so a run whose every rule is cached imports
no pySigma, lark or backend (``converter.conversion.batch``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["CONVERTED", "ERROR", "UNSUPPORTED", "Conversion"]

CONVERTED = "converted"
UNSUPPORTED = "unsupported"
ERROR = "error"


@dataclass
class Conversion:
    """The outcome of converting one rule for one target.

    Attributes:
        path: the rule's file.
        id: the rule's id ("" when it failed to load).
        title: the rule's title.
        target: the target name.
        status: ``converted``, ``unsupported`` or ``error``.
        reason: why it is not converted (None when converted).
        queries: the emitted queries (a rule with several conditions gives several).
        warnings: where the output is not exactly the rule, said by the emitter, and the
            facts of the data source the query relies on (``exact_warnings``).
        exact_warnings: the warnings that state what the data source never records (partial
            evaluation, ``converter/mapping/partial.py``): the query is exact on that data source.
        rule: the parsed rule (not serialised).
        pipeline: the pipeline identifiers that applied, for tests and ``--verbose``.
        alternatives: for a rule refused on the data source in force, the other data sources
            on which it converts, when the batch path tried them (``convert_paths(...,
            alternatives=True)``); None when nobody tried (``converter.conversion.datasource``).
        dropped: the Sigma fields whose test the shipper's deleted values make approximate
            (``DroppedValueCheck``), each with those values; its warnings are among ``warnings``.
        trimmed: the Sigma fields whose values the shipper trims, where a test on them was
            converted as a declared approximation (``functions/trim.py``).
    """

    path: str
    id: str
    title: str
    target: str
    status: str
    reason: str | None = None
    queries: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    exact_warnings: list[str] = field(default_factory=list)
    rule: Any = None
    pipeline: list[str] = field(default_factory=list)
    alternatives: tuple[str, ...] | None = None
    dropped: dict[str, list[str]] = field(default_factory=dict)
    trimmed: list[str] = field(default_factory=list)

    @property
    def output(self) -> str | None:
        """The queries as one text (one per line), or None."""
        return "\n".join(self.queries) if self.queries else None

    def to_report(self) -> dict[str, Any]:
        """The report entry (``{"path", "id", "target", "status", "reason", "output"}``)."""
        return {
            "path": self.path,
            "id": self.id,
            "title": self.title,
            "target": self.target,
            "status": self.status,
            "reason": self.reason,
            "output": self.output,
            "warnings": list(self.warnings),
        }
