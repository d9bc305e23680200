"""Fields a data source keeps only on some of a logsource's events (``exact_only_when``).

ASIM's Sysmon network parser keeps Sysmon's ``DestinationHostname`` (in ``Hostname``) only on
outbound connections: ``Hostname = case(Initiated, DstHostname, not(Initiated), SrcHostname,
Dvc)``, and the ``DstHostname`` it writes for the other rows is split by ``_ASIM_ResolveDstFQDN``.
A query can test the field only where it is kept (``any_of`` with a ``when`` guard); on the other
rows it answers as for a missing field. That is exact for a rule exactly when, on every event
whose gate field holds another value (or none), the rule's verdict does not depend on the kept
fields: ``ConditionalFieldsTransformation`` refuses every other rule with the reason.

The check treats every test on another field as a free boolean (as ``condition_tells_apart``
does), so it never accepts a rule whose verdict could depend on the fields there; it may refuse
a rule whose other tests could not actually take every combination.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
)
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaTransformationError
from sigma.processing.transformations.base import PreprocessingTransformation
from sigma.rule import SigmaRule
from sigma.types import SigmaFieldReference

from converter.mapping.functions.tree import (
    MAX_FREE_TESTS,
    NotExact,
    evaluate_condition,
    value_verdict,
)


def depends_on(rule: SigmaRule, fields: frozenset[str], gate: str, value: str | None) -> bool:
    """Whether some event whose ``gate`` holds ``value`` (None: missing) gets a different
    verdict from ``rule`` with the ``fields`` present than with them missing.

    True (a possible dependence) also when it cannot be decided: a keyword, a field reference
    into or out of ``fields``, a test with no single-value verdict, or more than
    ``MAX_FREE_TESTS`` free tests.
    """
    for condition in rule.detection.parsed_condition:
        tree = condition.parsed
        free: dict[int, int] = {}  # id(leaf) -> position in an assignment
        kept: dict[int, bool] = {}  # id(leaf of `fields`) -> its verdict on a missing field
        stack = [tree]
        while stack:
            node = stack.pop()
            if isinstance(node, (ConditionAND, ConditionOR, ConditionNOT)):
                stack.extend(node.args)
                continue
            if not isinstance(node, ConditionFieldEqualsValueExpression):
                return True  # a keyword (any field) or a node of another kind
            if isinstance(node.value, SigmaFieldReference) and (
                node.value.field in fields or node.field in fields
            ):
                return True
            if node.field == gate:
                continue
            free.setdefault(id(node), len(free))
            if node.field in fields:
                try:
                    kept[id(node)] = value_verdict(node.value, None)
                except NotExact:
                    return True
        try:
            if not _still_reads(tree, fields, gate, value):
                continue  # the gate's verdicts alone cut every test of `fields` away
        except NotExact:
            return True
        if len(free) > MAX_FREE_TESTS:
            return True

        def verdict(bits: tuple[bool, ...], missing: bool) -> bool:
            def leaf(node: Any) -> bool:
                if node.field == gate:
                    return value_verdict(node.value, value)
                if missing and id(node) in kept:
                    return kept[id(node)]
                return bits[free[id(node)]]

            return evaluate_condition(tree, leaf)

        try:
            for bits in product((False, True), repeat=len(free)):
                if verdict(bits, False) != verdict(bits, True):
                    return True
        except NotExact:
            return True
    return False


def _still_reads(node: Any, fields: frozenset[str], gate: str, value: str | None) -> bool:
    """Whether a test of ``fields`` survives constant propagation of the gate's verdicts (an AND
    with a false member, an OR with a true one, is decided without its other members)."""

    def reduce(node: Any) -> tuple[bool | None, bool]:  # (constant or None, reads `fields`)
        if isinstance(node, ConditionNOT):
            constant, reads = reduce(node.args[0])
            return (None if constant is None else not constant), reads
        if isinstance(node, (ConditionAND, ConditionOR)):
            deciding = isinstance(node, ConditionOR)  # the member value that decides the node
            reads, open_members = False, 0
            for arg in node.args:
                constant, arg_reads = reduce(arg)
                if constant is deciding:
                    return deciding, False
                if constant is None:
                    open_members += 1
                    reads = reads or arg_reads
            return (None if open_members else not deciding), reads
        if node.field == gate:
            return value_verdict(node.value, value), False
        return None, node.field in fields

    constant, reads = reduce(node)
    return constant is None and reads


@dataclass
class ConditionalFieldsTransformation(PreprocessingTransformation):
    """Refuse a rule whose verdict could depend on ``fields`` on events where the data source
    does not keep them (``gate`` holding one of ``otherwise``, or missing).

    Attributes:
        logsource: the mapping table's logsource entry id.
        fields: the Sigma fields kept only where ``gate`` holds a kept value.
        gate: the Sigma field whose value decides it.
        otherwise: the other values the source writes in ``gate``.
        reason: where the data source keeps the fields (named in refusals).
    """

    logsource: str = ""
    fields: tuple[str, ...] = ()
    gate: str = ""
    otherwise: tuple[str, ...] = ()
    reason: str = ""

    def apply(self, rule: SigmaRule | SigmaCorrelationRule) -> None:
        """Let the rule through only when the fields cannot matter where they are not kept."""
        super().apply(rule)
        if not isinstance(rule, SigmaRule) or not self.fields:
            return
        fields = frozenset(self.fields)
        for value in (*self.otherwise, None):
            if depends_on(rule, fields, self.gate, value):
                where = f"{self.gate} is {value!r}" if value is not None else f"{self.gate} is missing"
                raise SigmaTransformationError(
                    f"logsource {self.logsource}: {self.reason}; this rule's verdict may depend on "
                    f"{', '.join(self.fields)} on events where {where} (add {self.gate} to the "
                    "selection that tests them)",
                    source=rule.source,
                )
