"""Loading Sigma rules from files, directories or standard input, losing none of them.

``load_rules`` returns one ``LoadedRule`` per rule found, and one per file (or YAML document)
that failed, so a batch can account for every input: a malformed file becomes an entry with an
error naming the file, line and column, never an exception that stops the batch.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaConditionError, SigmaError, SigmaModifierError, SigmaRuleLocation
from sigma.rule import SigmaRule

from .errors import RuleLoadError

#: libyaml's C parser when PyYAML was built with it (ten times faster on a rule corpus: the pure
#: Python scanner was ~80% of loading time), else the pure-Python one. Both use the same safe
#: constructor and resolver, so they build the same documents.
FAST_SAFE_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse_documents(text: str) -> list[object]:
    """Every YAML document in ``text``, parsed with the fast loader.

    Raises:
        yaml.YAMLError: from the pure-Python loader, so messages and positions are the ones it
            gives (libyaml words them differently and can place an end-of-stream error a line
            later); the slow parse only runs on malformed input.
    """
    try:
        return _load_bounded(text, FAST_SAFE_LOADER)
    except _AliasExpansionError:
        raise
    except yaml.YAMLError:
        if FAST_SAFE_LOADER is yaml.SafeLoader:
            raise
    return _load_bounded(text, yaml.SafeLoader)

#: File suffixes taken as Sigma rules when a directory is given.
RULE_SUFFIXES = (".yml", ".yaml")
STDIN = "-"

#: How many YAML nodes aliases may add to a document beyond the nodes written in the file. PyYAML
#: builds an alias as a shared reference (cheap), but everything that walks the rule afterwards
#: (pySigma, JSON output formats) expands it, so nine nested lists of ten aliases ("billion
#: laughs") turn a 400-byte file into 10^9 values. A file without aliases never hits this limit,
#: whatever its size; real rules use no aliases at all.
MAX_ALIAS_EXPANSION = 100_000
#: How deeply a parsed condition may nest. pySigma, the emitters and the reference evaluator all
#: recurse over the condition tree (and ``copy.deepcopy`` takes about five stack frames per level),
#: so a tree nested ~150 levels deep exhausts Python's default recursion limit somewhere later.
#: Refusing it at load time turns that into one clear error. Real rules nest fewer than ten levels;
#: parentheses alone do not count (``((sel))`` parses to ``sel``).
MAX_CONDITION_DEPTH = 64


@dataclass
class LoadedRule:
    """One rule (or one failure) from the input.

    Attributes:
        path: the file it came from (``<stdin>`` for standard input).
        rule: the parsed rule, or None when loading failed.
        error: why loading failed, or None.
        text: the file's text (kept for locating errors and for sample-event lookup).
    """

    path: str
    rule: SigmaRule | SigmaCorrelationRule | None
    error: RuleLoadError | None = None
    text: str = ""

    @property
    def id(self) -> str:
        """The rule's id, or an empty string."""
        return str(self.rule.id) if self.rule is not None and self.rule.id else ""

    @property
    def title(self) -> str:
        """The rule's title, or an empty string."""
        return self.rule.title if self.rule is not None and self.rule.title else ""


def expand_paths(paths: Iterable[str | Path]) -> Iterator[str]:
    """Files named, and rule files under directories (recursively, sorted); ``-`` is stdin.

    Raises:
        RuleLoadError: a named path does not exist.
    """
    for raw in paths:
        if str(raw) == STDIN:
            yield STDIN
            continue
        path = Path(raw)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix in RULE_SUFFIXES:
                    yield str(child)
        elif path.is_file():
            yield str(path)
        else:
            raise RuleLoadError("no such file or directory", path=path)


def _line_of(text: str, pattern: str) -> tuple[int, int] | None:
    """1-based (line, column) of the first regex match in text."""
    match = re.search(pattern, text, re.MULTILINE)
    if not match:
        return None
    before = text[: match.start()]
    return before.count("\n") + 1, match.start() - (before.rfind("\n") + 1) + 1


def _locate(error: SigmaError, text: str) -> tuple[int | None, int | None]:
    """Best-effort position of a pySigma error in the rule's text (pySigma gives none)."""
    message = str(error.args[0]) if error.args else ""
    if isinstance(error, SigmaModifierError):
        match = re.search(r"'([^']+)'", message)
        if match:
            pos = _line_of(text, r"\|" + re.escape(match.group(1)) + r"\b")
            if pos:
                return pos[0], pos[1] + 1
    if isinstance(error, SigmaConditionError):
        pos = _line_of(text, r"^\s*condition\s*:")
        if pos:
            line = text.split("\n")[pos[0] - 1]
            value_col = line.index(":") + 2
            char = re.search(r"\(at char (\d+)\)", message)
            offset = int(char.group(1)) if char else 0
            return pos[0], value_col + offset + 1
        return None, None
    key = {
        "SigmaTitleError": r"^title\s*:",
        "SigmaLogsourceError": r"^logsource\s*:",
        "SigmaDetectionError": r"^detection\s*:",
        "SigmaIdentifierError": r"^id\s*:",
        "SigmaLevelError": r"^level\s*:",
        "SigmaStatusError": r"^status\s*:",
        "SigmaDateError": r"^(date|modified)\s*:",
    }.get(type(error).__name__)
    if key:
        pos = _line_of(text, key)
        if pos:
            return pos
    return None, None


def _error(path: str, error: SigmaError, text: str) -> RuleLoadError:
    line, column = _locate(error, text)
    message = str(error.args[0]) if error.args else type(error).__name__
    hint = None
    if type(error).__name__ in {"SigmaTitleError", "SigmaLogsourceError", "SigmaDetectionError"}:
        hint = "is this a Sigma rule? see https://sigmahq.io/docs/basics/rules.html"
    elif isinstance(error, SigmaModifierError):
        hint = "see https://sigmahq.io/docs/basics/modifiers.html for the known modifiers"
    elif isinstance(error, SigmaConditionError):
        hint = "the condition must combine search identifiers with and/or/not/1 of/all of"
    return RuleLoadError(message, path=path, line=line, column=column, hint=hint)


def _condition_depth(root: object) -> int:
    """Nesting depth of a parsed condition tree (iterative: the tree may be too deep to recurse)."""
    deepest = 0
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in getattr(node, "args", None) or ())
    return deepest


def _check_rule(rule: SigmaRule | SigmaCorrelationRule) -> SigmaError | None:
    """First error pySigma collected for a rule, or one its condition raises when parsed."""
    if rule.errors:
        return rule.errors[0]
    if isinstance(rule, SigmaRule):
        parents = _parents(rule)
        try:
            for condition in rule.detection.parsed_condition:
                depth = _condition_depth(condition.parse())
                if depth > MAX_CONDITION_DEPTH:
                    return SigmaConditionError(
                        f"condition nests {depth} levels deep; sigport accepts at most "
                        f"{MAX_CONDITION_DEPTH}"
                    )
        except SigmaError as exc:
            return exc
        except RecursionError:  # pySigma's condition parser recurses once per nesting level
            return SigmaConditionError(
                f"condition nests too deeply to parse; sigport accepts at most "
                f"{MAX_CONDITION_DEPTH} levels"
            )
        finally:
            # Parsing links the rule's detections to the parsed condition tree (``parent``);
            # every later parse, at conversion, sets the links again. Until then the checked
            # tree would hang off the rule, and every copy of the rule (one per extra target,
            # and the Splunk pipelines' per-branch copies) would copy it too.
            for obj, parent in parents:
                obj.parent = parent
    return None


def _parents(rule: SigmaRule) -> list[tuple[object, object]]:
    """Every detection and detection item of the rule, with its ``parent`` link."""
    out: list[tuple[object, object]] = []
    stack: list[object] = list(rule.detection.detections.values())
    while stack:
        node = stack.pop()
        out.append((node, getattr(node, "parent", None)))
        stack.extend(getattr(node, "detection_items", None) or ())
    return out


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


def _written_size(root: yaml.Node) -> int:
    """Number of distinct nodes in the document (each alias target counted once)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.extend(_children(node))
    return len(seen)


class _AliasExpansionError(yaml.YAMLError):
    """YAML aliases that would expand without bound (a cycle or an alias bomb)."""


def _load_bounded(text: str, loader_class: type) -> list[object]:
    """``yaml.load_all`` with alias expansion bounded (see ``MAX_ALIAS_EXPANSION``).

    Raises:
        yaml.YAMLError: malformed YAML.
        _AliasExpansionError: aliases that would expand past the limit.
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
            if aliases_possible:
                expanded = _expanded_size(node)
                if expanded is None:
                    raise _AliasExpansionError("a YAML alias refers to a node that contains it")
                if expanded - _written_size(node) > MAX_ALIAS_EXPANSION:
                    raise _AliasExpansionError(
                        f"YAML aliases expand this document to {expanded} values (limit: "
                        f"{MAX_ALIAS_EXPANSION} beyond the values written)"
                    )
                documents.append(loader.construct_document(node))
            else:
                documents.append(_construct(loader, node))
    finally:
        loader.dispose()
    return documents


#: What an anchor can start with: "&" and one character that is neither a YAML space or line
#: break nor a flow indicator. PyYAML and libyaml accept only [0-9A-Za-z_-] after "&"; YAML 1.2
#: allows more, and this pattern is the wider of the two, so it can only send a file to the
#: full check needlessly, never skip one that has an anchor.
_ANCHOR = re.compile(r"&[^ \t\r\n,\[\]{}]")

_STR_TAG = "tag:yaml.org,2002:str"
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


def load_text(text: str, path: str) -> list[LoadedRule]:
    """Parse one file's text into rules (a file may hold several YAML documents)."""
    try:
        documents = _parse_documents(text)
    except RecursionError:  # PyYAML composes nested collections recursively
        return [
            LoadedRule(
                path,
                None,
                RuleLoadError(
                    "malformed YAML: collections nested too deeply", path=path,
                    hint="a Sigma rule nests a few levels deep",
                ),
                text,
            )
        ]
    except _AliasExpansionError as exc:
        return [
            LoadedRule(
                path,
                None,
                RuleLoadError(
                    f"refused YAML: {exc}", path=path, hint="write the values out instead of "
                    "using YAML aliases",
                ),
                text,
            )
        ]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        return [
            LoadedRule(
                path,
                None,
                RuleLoadError(
                    f"malformed YAML: {problem}",
                    path=path,
                    line=mark.line + 1 if mark else None,
                    column=mark.column + 1 if mark else None,
                    hint="fix the YAML syntax",
                ),
                text,
            )
        ]
    if not documents or all(d is None for d in documents):
        return [LoadedRule(path, None, RuleLoadError("empty file: no Sigma rule", path=path), text)]
    for doc in documents:
        if doc is not None and not isinstance(doc, dict):
            return [
                LoadedRule(
                    path,
                    None,
                    RuleLoadError(
                        f"not a Sigma rule: the YAML document is a {type(doc).__name__}, "
                        "not a mapping",
                        path=path,
                        line=1,
                        hint="a Sigma rule is a mapping with title, logsource and detection",
                    ),
                    text,
                )
            ]
    try:
        # The documents parsed above, not the text: from_yaml would parse it again, with
        # PyYAML's pure-Python loader. from_dicts may mutate the dicts; nothing else holds them.
        collection = SigmaCollection.from_dicts(
            documents, collect_errors=True, source=SigmaRuleLocation(Path(path))
        )
    except SigmaError as exc:
        return [LoadedRule(path, None, _error(path, exc, text), text)]
    except (TypeError, ValueError, AttributeError, KeyError, RecursionError) as exc:
        # pySigma raises plain Python errors on some malformed shapes (e.g. a list where a
        # mapping belongs); report them as rule errors rather than crash the batch.
        return [
            LoadedRule(
                path,
                None,
                RuleLoadError(f"not a valid Sigma rule: {exc}", path=path),
                text,
            )
        ]
    out = []
    for rule in collection.rules:
        problem = _check_rule(rule)
        if problem is not None:
            out.append(LoadedRule(path, None, _error(path, problem, text), text))
        else:
            out.append(LoadedRule(path, rule, None, text))
    if not out:
        out.append(LoadedRule(path, None, RuleLoadError("no Sigma rule in file", path=path), text))
    return out


def load_rules(paths: Iterable[str | Path]) -> list[LoadedRule]:
    """Load every rule under the given paths; failures are entries, not exceptions.

    Raises:
        RuleLoadError: only when a named path does not exist at all.
    """
    out: list[LoadedRule] = []
    for path in expand_paths(paths):
        if path == STDIN:
            out.extend(load_text(sys.stdin.read(), "<stdin>"))
            continue
        try:
            text = Path(path).read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            out.append(
                LoadedRule(path, None, RuleLoadError(f"not UTF-8 text ({exc.reason})", path=path))
            )
            continue
        except OSError as exc:
            out.append(LoadedRule(path, None, RuleLoadError(f"cannot read: {exc.strerror}", path=path)))
            continue
        out.extend(load_text(text, path))
    return out
