"""One pipeline pass per schema: targets whose pipelines apply the same items share the work.

EQL, KQL, kql-es and Lucene all convert with ``ecs-windows`` on the same data source: their
pipelines hold the same items (field renames, value functions, source variants, unmapped-field
checks) and differ in a few (EQL's event category, each target's ``.caseless`` forms). Applying
each pipeline separately did the common work once per target. ``SharedPass`` applies the items
the targets' pipelines have in common once to one rule object, in the order each pipeline would
apply them, and splits off a copy of the rule for each group of targets where their next items
differ; each target's routed pipeline (``converter.conversion.routing._RoutedApply``) then
resumes from there (``PassState``), so its backend converts exactly the rule a whole separate
pass would have made.

Two items count as the same only when they are of the same class and every attribute, down
through the objects they hold, is equal (``_same``): a dataclass's ``==`` alone would ignore
attributes that are not fields. Items without an identifier, placeholder transformations (they
read pipeline variables, which name the backend) and nested pipelines (they extend the pipeline's
own records) are never shared. Pipelines share nothing unless their variables agree apart from
the backend's name and output format.

When anything but a pySigma error escapes a shared item, or the rule's log source stops having
a key, or a copy cannot be made, the pass gives up and each target converts on its own, as
before: sharing changes how much work is done, never what comes out (tests compare the two).
"""

from __future__ import annotations

import bisect
import enum
import functools
import pickle
import re
import types
from typing import Any, Sequence

from sigma.exceptions import SigmaError

from converter.conversion.routing import PassState, Tracking, _RoutedApply

#: Pipeline variables that differ between backends and that no shareable item reads.
_PER_BACKEND_VARS = frozenset({"backend", "output_format"})
#: Attributes that link an object to its pipeline or item, or memoize a method; not compared.
_LINKS = frozenset({"_pipeline", "_processing_item", "match_rule_conditions", "apply"})
#: Transformation modules whose items are never shared (see the module docstring).
_UNSHARED_MODULES = ("sigma.processing.transformations.placeholder",
                     "sigma.processing.transformations.meta")
_ATOMS = (str, bytes, int, float, complex, bool, type(None))
#: What is the same only as itself: code may differ whatever its attributes.
_BY_IDENTITY = (types.FunctionType, types.BuiltinFunctionType, types.MethodType,
                types.MethodWrapperType, types.ModuleType, functools.partial, type, enum.Enum)


def _same(a: Any, b: Any, seen: set[tuple[int, int]]) -> bool:
    """Whether ``a`` and ``b`` are the same value: same class, equal atoms, and the same
    attributes and items all the way down (a pair met again while comparing counts as same)."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, _ATOMS) or isinstance(a, (re.Pattern, frozenset, set)):
        return bool(a == b)
    if isinstance(a, _BY_IDENTITY):
        return False  # a function, class or enum member is the same only when it is itself
    pair = (id(a), id(b))
    if pair in seen:
        return True
    seen.add(pair)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y, seen) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], seen) for k in a)
    slots = [name for cls in type(a).__mro__ for name in getattr(cls, "__slots__", ())]
    attributes = getattr(a, "__dict__", None)
    if attributes is None and not slots:
        return bool(a == b)
    for name in slots:
        if name not in _LINKS and not _same(getattr(a, name, _MISSING),
                                            getattr(b, name, _MISSING), seen):
            return False
    if attributes is not None:
        other = b.__dict__
        names = attributes.keys() - _LINKS
        if names != other.keys() - _LINKS:
            return False
        return all(_same(attributes[name], other[name], seen) for name in names)
    return True


_MISSING = object()


def _shareable(item: Any) -> bool:
    """Whether an item may be applied once for several pipelines (see the module docstring)."""
    transformation = getattr(item, "transformation", None)
    return bool(item.identifier) and not type(transformation).__module__.startswith(
        _UNSHARED_MODULES)


def _counterparts(a: _RoutedApply, b: _RoutedApply) -> dict[int, int]:
    """For each position of ``a``'s items, the position of the same item in ``b``, if any."""
    by_name: dict[str | None, list[int]] = {}
    for j, item in enumerate(b.items):
        if _shareable(item):
            by_name.setdefault(item.identifier, []).append(j)
    out: dict[int, int] = {}
    for i, item in enumerate(a.items):
        if not _shareable(item):
            continue
        for j in by_name.get(item.identifier, ()):
            if _same(item, b.items[j], set()):
                out[i] = j
                break
    return out


def _compatible(a: _RoutedApply, b: _RoutedApply) -> bool:
    """Whether two pipelines may share items: their variables agree but for the backend's."""
    def own(route: _RoutedApply) -> dict[str, Any]:
        return {k: v for k, v in route.pipeline.vars.items() if k not in _PER_BACKEND_VARS}

    return _same(own(a), own(b), set())


class _Member:
    """One target's walk through its own plan during a shared pass."""

    __slots__ = ("number", "route", "plan", "position", "last", "applied")

    def __init__(self, number: int, route: _RoutedApply, plan: tuple[int, ...]) -> None:
        self.number = number
        self.route = route
        self.plan = plan
        self.position = 0
        self.last = -1
        self.applied: list[int] = []

    def next_item(self) -> int | None:
        """The position of the next item to call, or None at the end of the plan."""
        return self.plan[self.position] if self.position < len(self.plan) else None


class _GiveUp(Exception):
    """The shared pass cannot go on: every target converts on its own."""


class SharedPass:
    """The shared passes of a list of routed pipelines (one per target, in target order).

    ``groups`` lists the positions of the pipelines that can share items (at least two each);
    ``run`` makes one pass of a group over a rule.
    """

    def __init__(self, routes: Sequence[_RoutedApply | None]) -> None:
        """Group the pipelines that may share items; ``None`` is a pipeline that is not routed."""
        self.routes = list(routes)
        self.groups: list[list[int]] = []
        placed: set[int] = set()
        for i, route in enumerate(self.routes):
            if route is None or i in placed:
                continue
            group = [i] + [j for j in range(i + 1, len(self.routes))
                           if j not in placed and self.routes[j] is not None
                           and _compatible(route, self.routes[j])]  # type: ignore[arg-type]
            if len(group) > 1:
                self.groups.append(group)
                placed.update(group)
        self._maps: dict[tuple[int, int], dict[int, int]] = {}

    def _same_next(self, a: _Member, b: _Member) -> bool:
        """Whether the next items of two members are the same item."""
        i, j = a.next_item(), b.next_item()
        if i is None or j is None:
            return False
        key = (a.number, b.number)
        mapping = self._maps.get(key)
        if mapping is None:
            mapping = self._maps[key] = _counterparts(a.route, b.route)
        return mapping.get(i) == j

    def run(self, group: Sequence[int], rule: Any) -> dict[int, PassState] | None:
        """One pass of the pipelines ``group`` over ``rule`` (consumed): for each, the state its
        own pass resumes from, on a rule object of its own; None when the targets must convert
        on their own (the rule is then left in any state)."""
        routes = [route for route in (self.routes[i] for i in group) if route is not None]
        if len(routes) != len(group) or not all(route.routable() for route in routes):
            return None
        key = routes[0].keys.of(rule)
        if key is None:
            return None
        members = [_Member(i, route, route.plan(key, rule)) for i, route in zip(group, routes)]
        out: dict[int, PassState] = {}
        try:
            self._walk(members, rule, Tracking(), key, out)
        except _GiveUp:
            return None
        return out

    def _walk(self, members: list[_Member], rule: Any, tracking: Tracking,
              key: tuple[Any, ...], out: dict[int, PassState]) -> None:
        """Apply the items ``members`` have next in common, then split (``_split``)."""
        while len(members) > 1:
            lead = members[0]
            if not all(self._same_next(lead, m) for m in members[1:]):
                break
            index = lead.next_item()
            assert index is not None
            item = lead.route.items[index]
            for member in members:
                member.last = member.plan[member.position]
                member.position += 1
            tracking.install(lead.route.pipeline)
            try:
                applied = item.apply(rule)
            except SigmaError as error:  # each target's own pass raises the same error here
                for member in members:
                    out[member.number] = PassState(rule, key, error=error)
                return
            except Exception as exc:  # noqa: BLE001 - converted on their own, error and all
                raise _GiveUp from exc
            if not applied:
                continue
            for member in members:
                member.applied.append(member.last)
            if item.identifier:
                tracking.applied_ids.add(item.identifier)
            now = lead.route.keys.of(rule)
            if now == key:
                continue
            if now is None:
                raise _GiveUp
            key = now
            for member in members:
                member.plan = member.route.plan(now, rule)
                member.position = bisect.bisect_right(member.plan, member.last)
        self._split(members, rule, tracking, key, out)

    def _split(self, members: list[_Member], rule: Any, tracking: Tracking,
               key: tuple[Any, ...], out: dict[int, PassState]) -> None:
        """Where the members' next items differ: one rule object per class of members whose
        next items are the same (the last class keeps ``rule``), each walked on."""
        classes: list[list[_Member]] = []
        for member in members:
            for found in classes:
                if self._same_next(found[0], member):
                    found.append(member)
                    break
            else:
                classes.append([member])
        blob = None
        if len(classes) > 1:
            try:
                blob = pickle.dumps(rule, pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # noqa: BLE001 - an unpicklable rule: no sharing
                raise _GiveUp from exc
        for number, found in enumerate(classes):
            last_class = number == len(classes) - 1
            own_rule = rule if last_class else pickle.loads(blob)  # type: ignore[arg-type]
            own_tracking = tracking if last_class else tracking.copy()
            if len(found) > 1:
                self._walk(found, own_rule, own_tracking, key, out)
                continue
            (member,) = found
            out[member.number] = PassState(own_rule, key, member.last, member.applied,
                                           own_tracking)
