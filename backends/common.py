"""Pieces every sigport emitter shares: per-rule conversion warnings.

A warning is how an emitter says "this output is not exactly the rule" (a widened wildcard, a
case-sensitive match where Sigma's is not): never silently. Warnings live on the backend
instance, not the class, and are reset at the start of each rule.
"""

from __future__ import annotations

from typing import Any


class WarningsMixin:
    """Collects conversion warnings for the rule being converted.

    Put it first in the bases of a pySigma backend subclass; ``convert_rule`` clears the list, and
    ``warn`` appends (once per distinct message).
    """

    warnings: list[str]

    def warn(self, message: str) -> None:
        """Record a warning for the current rule (duplicates are dropped)."""
        if not hasattr(self, "warnings"):
            self.warnings = []
        if message not in self.warnings:
            self.warnings.append(message)

    def convert_rule(self, rule: Any, output_format: str | None = None, *args: Any, **kwargs: Any) -> Any:
        """Reset the warnings, then convert as the pySigma base class does."""
        self.warnings = []
        return super().convert_rule(rule, output_format, *args, **kwargs)  # type: ignore[misc]
