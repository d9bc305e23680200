"""Bounded YAML loading for rule files: libyaml's speed, PyYAML's documents, hostile input refused.

``parse_documents`` builds the same documents as ``yaml.safe_load_all`` but refuses, with the
position of the offending node, what would cost without bound or silently change a rule: alias
bombs, duplicate mapping keys, integers too long for Python to convert.
"""

from __future__ import annotations

import re
import sys
from typing import Callable, Iterator

import yaml

#: libyaml's C parser when PyYAML was built with it (ten times faster on a rule corpus: the pure
#: Python scanner was ~80% of loading time), else the pure-Python one. Both use the same safe
#: constructor and resolver, so they build the same documents.
FAST_SAFE_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: How many YAML nodes aliases may add to a document beyond the nodes written in the file. PyYAML
#: builds an alias as a shared reference (cheap), but everything that walks the rule afterwards
#: (pySigma, JSON output formats) expands it, so nine nested lists of ten aliases ("billion
#: laughs") turn a 400-byte file into 10^9 values. A file without aliases never hits this limit,
#: whatever its size; real rules use no aliases at all.
MAX_ALIAS_EXPANSION = 100_000
#: Decimal digits Python converts to an integer (CPython's ``sys.get_int_max_str_digits``
#: default, a guard against quadratic-time conversion); a longer YAML integer is refused.
MAX_INT_DIGITS = getattr(sys, "get_int_max_str_digits", lambda: 4300)() or 4300


class RefusedYAML(yaml.MarkedYAMLError):
    """Well-formed YAML that sigport refuses: an alias bomb, a duplicate key, a huge integer.

    ``problem`` says why; ``problem_mark`` (where known) is the position of the offending node.
    """

    def __init__(self, problem: str, mark: yaml.Mark | None = None) -> None:
        super().__init__(problem=problem, problem_mark=mark)


def parse_documents(text: str, lines: list[int] | None = None) -> list[object]:
    """Every YAML document in ``text``, parsed with the fast loader.

    Args:
        text: the file's text.
        lines: when given, receives the 1-based line where each document starts.

    Raises:
        RefusedYAML: a duplicate mapping key, an integer too long to convert, or aliases that
            expand past ``MAX_ALIAS_EXPANSION``.
        yaml.YAMLError: from the pure-Python loader, so messages and positions are the ones it
            gives (libyaml words them differently and can place an end-of-stream error a line
            later); the slow parse only runs on malformed input.
    """
    try:
        return _load_bounded(text, FAST_SAFE_LOADER, lines)
    except RefusedYAML:
        raise
    except yaml.YAMLError:
        if FAST_SAFE_LOADER is yaml.SafeLoader:
            raise
    if lines is not None:
        lines.clear()
    return _load_bounded(text, yaml.SafeLoader, lines)


def _expanded_size(root: yaml.Node) -> int | None:
    """Number of nodes the document has once every alias is expanded; None for a cycle.

    Iterative post-order walk with a memo per node, so the cost is linear in the nodes written,
    not in the (possibly exponential) expanded size.
    """
    sizes: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            active.discard(key)
            children = _children(node)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            continue
        if key in sizes:
            continue
        if key in active:
            return None  # the node contains itself (``&a [*a]``)
        active.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in active:
                return None
            if id(child) not in sizes:
                stack.append((child, False))
    return sizes[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _distinct_nodes(root: yaml.Node) -> Iterator[yaml.Node]:
    """Every node of the document once (an alias target once), iteratively."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        stack.extend(_children(node))


def _tree_nodes(root: yaml.Node) -> Iterator[yaml.Node]:
    """Every node of a document without aliases, in ``_distinct_nodes``' order: no node is
    shared, so none needs remembering (the set of seen nodes and the child lists were most of
    the walk's cost, which every rule file pays)."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, yaml.MappingNode):
            for pair in node.value:
                stack.extend(pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def _written_size(root: yaml.Node) -> int:
    """Number of distinct nodes in the document (each alias target counted once)."""
    return sum(1 for _ in _distinct_nodes(root))


def _refused_node(root: yaml.Node, shared: bool = True) -> RefusedYAML | None:
    """The first node sigport refuses in a document (each node visited once, iteratively;
    ``shared``: the document may hold aliases, so a node may be reached twice).

    A duplicate key: YAML requires unique keys, PyYAML keeps the last one silently, and in a rule
    that changes the meaning (a second ``condition:`` replaces the first). An integer longer than
    ``MAX_INT_DIGITS``: Python refuses to convert it (a ``ValueError`` deep in the constructor).
    A decimal integer past 2**53 that no float holds: pySigma would round it.
    """
    for node in (_distinct_nodes(root) if shared else _tree_nodes(root)):
        if isinstance(node, yaml.MappingNode):
            keys: set[tuple[str, str]] = set()
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    key = (key_node.tag, key_node.value)
                    if key in keys:
                        return RefusedYAML(f"duplicate key {key_node.value!r} (YAML keys must be "
                                           "unique; only one of them would count)",
                                           key_node.start_mark)
                    keys.add(key)
        elif isinstance(node, yaml.ScalarNode) and node.style == '"' and \
                (found := _SURROGATE.search(node.value)) is not None:
            # Only a double-quoted escape ("\ud800") can make one: the file is UTF-8 text.
            return RefusedYAML(f"the escape of a UTF-16 surrogate (U+{ord(found.group()):04X}) "
                               "is not a character: no UTF-8 text, event or query can hold it, "
                               "and YAML does not pair escapes as JSON does (write the character "
                               "itself, or \\U0001F600)", node.start_mark)
        elif isinstance(node, yaml.ScalarNode) and node.tag == _INT_TAG:
            digits = node.value.lstrip("+-").replace("_", "")
            if len(digits) > MAX_INT_DIGITS and digits.isdigit():
                return RefusedYAML(f"an integer of {len(digits)} digits (at most "
                                   f"{MAX_INT_DIGITS}; quote it to make it a string)",
                                   node.start_mark)
            if digits.isdigit() and int(digits) > 2**53 and float(int(digits)) != int(digits):
                value = -int(digits) if node.value.startswith("-") else int(digits)
                # pySigma's SigmaNumber keeps a float where int and float differ: every query
                # and the reference would test 1e+20 for 99999999999999999999, not the rule's.
                return RefusedYAML(f"the integer {node.value} has no exact floating-point form "
                                   f"and pySigma reads it as {float(value)!r}; quote it "
                                   "to test its text", node.start_mark)
    return None


def _load_bounded(text: str, loader_class: type, lines: list[int] | None = None) -> list[object]:
    """``yaml.load_all`` with alias expansion bounded (see ``MAX_ALIAS_EXPANSION``) and the
    nodes of ``_refused_node`` refused.

    Raises:
        yaml.YAMLError: malformed YAML.
        RefusedYAML: aliases that would expand past the limit, or a refused node.
    """
    # An alias needs an anchor, and an anchor needs "&" followed by a name character in the
    # text: without one, no node is shared, so the expanded size is the written size and the
    # two walks (a sixth of loading time) are skipped. Nearly all rules take this path.
    aliases_possible = _ANCHOR.search(text) is not None
    loader = loader_class(text)
    documents = []
    try:
        while loader.check_node():
            node = loader.get_node()
            refused = _refused_node(node, aliases_possible)
            if refused is not None:
                raise refused
            if lines is not None:
                lines.append(node.start_mark.line + 1)
            if aliases_possible:
                expanded = _expanded_size(node)
                if expanded is None:
                    raise RefusedYAML("a YAML alias refers to a node that contains it")
                if expanded - _written_size(node) > MAX_ALIAS_EXPANSION:
                    raise RefusedYAML(
                        f"YAML aliases expand this document to {expanded} values (limit: "
                        f"{MAX_ALIAS_EXPANSION} beyond the values written)"
                    )
                documents.append(_checked(loader, node, loader.construct_document))
            else:
                documents.append(_checked(loader, node, lambda n: _construct(loader, n)))
    finally:
        loader.dispose()
    return documents


def _checked(loader: yaml.constructor.SafeConstructor, root: yaml.Node,
             construct: Callable[[yaml.Node], object]) -> object:
    """``construct(root)``, with a scalar PyYAML's constructors fail on turned into a positioned
    ``RefusedYAML``.

    PyYAML's resolver tags a scalar by its look, and its constructors then raise plain Python
    errors on values that look right but are not (``2020-13-45`` as a timestamp: ``ValueError``;
    an explicit ``!!int abc``, ``!!bool maybe``: ``ValueError``, ``KeyError``), with no position.
    """
    try:
        return construct(root)
    except yaml.YAMLError:
        raise
    except Exception as exc:  # noqa: BLE001 - any constructor failure: find the scalar
        for node in _distinct_nodes(root):
            if isinstance(node, yaml.ScalarNode) and node.tag != _STR_TAG:
                try:
                    _SCALARS.construct_object(node)
                except yaml.YAMLError:
                    raise
                except Exception as inner:  # noqa: BLE001 - as above
                    kind = node.tag.rsplit(":", 1)[-1]
                    raise RefusedYAML(f"{node.value!r} is not a valid {kind} "
                                      f"({type(inner).__name__}: {inner}; quote it to make it "
                                      "a string)", node.start_mark) from exc
                finally:
                    _SCALARS.constructed_objects = {}
                    _SCALARS.recursive_objects = {}
        raise RefusedYAML(f"the document cannot be built ({type(exc).__name__}: {exc})",
                          root.start_mark) from exc


#: A constructor with no input, to build single scalars again (``_checked``).
_SCALARS = yaml.SafeLoader("")

#: What an anchor can start with: "&" and one character that is neither a YAML space or line
#: break nor a flow indicator. PyYAML and libyaml accept only [0-9A-Za-z_-] after "&"; YAML 1.2
#: allows more, and this pattern is the wider of the two, so it can only send a file to the
#: full check needlessly, never skip one that has an anchor.
_ANCHOR = re.compile(r"&[^ \t\r\n,\[\]{}]")

#: A code point of the UTF-16 surrogate range, which no UTF-8 text can encode.
_SURROGATE = re.compile("[\ud800-\udfff]")

_STR_TAG = "tag:yaml.org,2002:str"
_INT_TAG = "tag:yaml.org,2002:int"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


class _NotPlain(Exception):
    """The document holds a node that ``_construct_plain`` leaves to PyYAML's constructor."""


def _construct(loader: yaml.constructor.SafeConstructor, node: yaml.Node) -> object:
    """``loader.construct_document(node)`` for a document without aliases, built directly.

    PyYAML's constructor builds every collection through a generator and a memo of constructed
    nodes (so that aliases can share objects and recursive structures can close); a document
    without anchors needs neither, and plain maps, sequences and strings (almost all of a Sigma
    rule) are built here in one walk. Any other scalar tag (int, bool, null, timestamp, ...)
    still goes through the loader's own constructor for that scalar; a document with merge keys,
    non-scalar keys or other collection tags is built entirely by PyYAML, so the result is
    always the one ``construct_document`` gives.
    """
    try:
        return _construct_plain(loader, node)
    except Exception:  # noqa: BLE001 - _NotPlain, RecursionError, or a scalar PyYAML refuses:
        # PyYAML builds the whole document again and raises its own first error, so an invalid
        # document fails exactly as before (scalar construction has no side effects to undo).
        pass
    finally:
        # What the loader's scalar constructors recorded (a failed one leaves its node marked
        # as "being built"): cleared, as construct_document clears it, before any rebuild.
        loader.constructed_objects = {}
        loader.recursive_objects = {}
    return loader.construct_document(node)


def _construct_plain(loader: yaml.constructor.SafeConstructor, node: yaml.Node) -> object:
    """One node of a plain document (see ``_construct``); raises ``_NotPlain`` otherwise."""
    kind = type(node)
    tag = node.tag
    if kind is yaml.ScalarNode:
        return node.value if tag == _STR_TAG else loader.construct_object(node)
    if kind is yaml.MappingNode and tag == _MAP_TAG:
        mapping = {}
        for key_node, value_node in node.value:
            # Merge ("<<") and value ("=") keys change the mapping; a collection key is refused
            # by PyYAML with its own error: both are PyYAML's to handle.
            if type(key_node) is not yaml.ScalarNode or key_node.tag not in _PLAIN_KEY_TAGS:
                raise _NotPlain
            mapping[_construct_plain(loader, key_node)] = _construct_plain(loader, value_node)
        return mapping
    if kind is yaml.SequenceNode and tag == _SEQ_TAG:
        return [_construct_plain(loader, child) for child in node.value]
    raise _NotPlain


#: Scalar key tags whose value is a plain hashable Python object, as PyYAML builds it.
_PLAIN_KEY_TAGS = frozenset(
    "tag:yaml.org,2002:" + name for name in ("str", "int", "float", "bool", "null", "timestamp")
)


