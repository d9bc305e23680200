"""Loading Sigma rules from files, directories or standard input, losing none of them.

``load_rules`` returns one ``LoadedRule`` per rule found, and one per file (or YAML document)
that failed, so a batch can account for every input: a malformed file becomes an entry with an
error naming the file, line and column, never an exception that stops the batch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, cast

import yaml
from sigma.collection import NestedDict, SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaConditionError, SigmaError, SigmaModifierError, SigmaRuleLocation
from sigma.rule import SigmaRule

from converter.errors import RuleLoadError
from converter.rules.conditions import use_fast_conditions
from converter.rules.limits import MAX_CONDITION_DEPTH, LimitExceeded, check_document, check_size
from converter.rules.shape import (
    ShapeError,
    check_shape,
    flatten_expansions,
    lower_logsource,
    rule_error,
)
from converter.rules.bounded_yaml import (  # noqa: F401 - MAX_ALIAS_EXPANSION re-exported for callers
    MAX_ALIAS_EXPANSION,
    RefusedYAML,
    parse_documents,
)
# Re-exported: the callers that load rules also list them.
from converter.rules.paths import RULE_SUFFIXES, STDIN, decode, expand_paths, read_stdin  # noqa: F401

#: A byte that is no UTF-8, as ``paths.decode`` escapes it (no decoded text holds a lone surrogate).
_UNDECODED = re.compile("[\udc80-\udcff]")


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

    @property
    def logsource(self) -> str:
        """The rule's logsource as ``product/category/service`` (the parts it names), ``""`` for a
        rule that did not load or a correlation rule (which has none of its own)."""
        if not isinstance(self.rule, SigmaRule):
            return ""
        source = self.rule.logsource
        parts = (source.product, source.category, source.service)
        return "/".join(str(part) for part in parts if part)


def _line_of(text: str, pattern: str, from_line: int = 1) -> tuple[int, int] | None:
    """1-based (line, column) of the first regex match in text at or after ``from_line``."""
    start = 0
    for _ in range(from_line - 1):
        start = text.find("\n", start) + 1
        if start == 0:
            return None
    match = re.compile(pattern, re.MULTILINE).search(text, start)
    if not match:
        return None
    before = text[: match.start()]
    return before.count("\n") + 1, match.start() - (before.rfind("\n") + 1) + 1


def _locate(error: SigmaError, text: str, start: int = 1) -> tuple[int | None, int | None]:
    """Best-effort position of a pySigma error in the rule's text (pySigma gives none), looked
    for from line ``start`` (the first line of the rule's YAML document)."""
    message = str(error.args[0]) if error.args else ""
    if isinstance(error, SigmaModifierError):
        match = re.search(r"'([^']+)'", message)
        if match:
            pos = _line_of(text, r"\|" + re.escape(match.group(1)) + r"\b", start)
            if pos:
                return pos[0], pos[1] + 1
    if isinstance(error, SigmaConditionError):
        pos = _line_of(text, r"^\s*condition\s*:", start)
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
        pos = _line_of(text, key, start)
        if pos:
            return pos
    if message.startswith("Base64 encoding of strings with wildcards"):
        pos = _line_of(text, r"\|base64", start)
        if pos:
            return pos
    if message.startswith("Regular expression"):
        # pySigma's SigmaRegularExpressionError / the |re modifier on a modified value: at the
        # pattern's text when the YAML holds it as written, else at the first |re.
        pattern = re.match(r"Regular expression '(.*)' is invalid", message)
        pos = (_line_of(text, re.escape(pattern.group(1)), start) if pattern else None) or \
            _line_of(text, r"\|re\b", start)
        if pos:
            return pos
    named = re.match(r"search identifier '([^']+)'", message)  # the messages of rules.shape
    if named:
        return _line_of(text, rf"^\s*{re.escape(named.group(1))}\s*:", start) or (None, None)
    if start > 1:  # a later document: its first line rather than no line at all
        return start, None
    return None, None


#: pySigma's message for a modifier given a value type it does not take: it names the modifier's
#: class and prints the value with ``str``, which for a ``SigmaNull`` (and other types without
#: ``__str__``) is a repr holding a memory address.
_INCOMPATIBLE = re.compile(r"Modifier (\w+) incompatible to value type of '(.*)'\Z", re.DOTALL)
#: The default repr of a pySigma value object (holding a memory address).
_OBJECT_REPR = re.compile(r"<sigma\.types\.(\w+) object at 0x[0-9a-fA-F]+>")
#: The repr of a pySigma value object: the default one, or a dataclass's.
_SIGMA_REPR = re.compile(_OBJECT_REPR.pattern + r"|(Sigma\w+)\(.*\)", re.DOTALL)
#: pySigma's value types in Sigma's words.
_SIGMA_KINDS = {
    "SigmaNull": "null", "SigmaRegularExpression": "a regular expression (|re)",
    "SigmaExpansion": "the variants of |windash or |base64offset",
    "SigmaCIDRExpression": "a network (|cidr)", "SigmaFieldReference": "a field reference",
    "SigmaCompareExpression": "a comparison (|lt, |gt, ...)", "SigmaBool": "a boolean",
    "SigmaNumber": "a number", "SigmaString": "a string", "SigmaExists": "an |exists test",
}
#: pySigma's message for a YAML value that is no Sigma value (a mapping, ...).
_UNSUPPORTED = re.compile(r"Unsupported (?:detection definition )?type: <class '(?:[\w.]+\.)?(\w+)'>")
_YAML_KINDS = {"dict": "a mapping", "list": "a list", "datetime": "a timestamp", "date": "a date",
               "bytes": "binary data (!!binary)"}


def _value_words(shown: str) -> str:
    """How a value printed in a pySigma message reads: ``null``, a number, a value."""
    sigma = _SIGMA_REPR.fullmatch(shown)
    if sigma is not None:
        kind = sigma.group(1) or sigma.group(2)
        return _SIGMA_KINDS.get(kind, f"a {kind.removeprefix('Sigma')} value")
    try:
        float(shown)
    except ValueError:
        return f"the value {shown!r}"
    return f"the number {shown}"


def _readable(message: str, text: str, start: int = 1) -> tuple[str, tuple[int, int] | None]:
    """pySigma's message with its class names and object reprs in Sigma's words, and the
    position of the modifier it names (``None`` when it names none)."""
    from sigma.modifiers import reverse_modifier_mapping

    incompatible = _INCOMPATIBLE.match(message)
    if incompatible is not None:
        name = reverse_modifier_mapping.get(incompatible.group(1), incompatible.group(1))
        words = f"the modifier {name!r} cannot apply to {_value_words(incompatible.group(2))}"
        return words, _line_of(text, r"\|" + re.escape(name) + r"\b", start)
    unsupported = _UNSUPPORTED.search(message)
    if unsupported is not None:
        kind = _YAML_KINDS.get(unsupported.group(1), f"a {unsupported.group(1)}")
        return (f"{kind} is no value: a field's value is a string, a number, a boolean, null or a "
                "list of them"), None
    return _OBJECT_REPR.sub(lambda m: _value_words(m.group(0)), message), None


def _error(path: str, error: SigmaError, text: str, start: int = 1) -> RuleLoadError:
    line, column = _locate(error, text, start)
    message = str(error.args[0]) if error.args else type(error).__name__
    message, found = _readable(message, text, start)
    if found is not None and line is None:
        line, column = found[0], found[1] + 1  # the modifier's name, after its '|'
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
            problem = rule_error(rule)
            if problem is not None:
                return problem
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
                setattr(obj, "parent", parent)  # a detection or a detection item
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


def _failed(path: str, text: str, message: str, line: int | None = None,
            column: int | None = None, hint: str | None = None) -> list[LoadedRule]:
    return [LoadedRule(path, None, RuleLoadError(message, path=path, line=line, column=column,
                                                 hint=hint), text)]


def load_text(text: str, path: str) -> list[LoadedRule]:
    """Parse one file's text into rules (a file may hold several YAML documents)."""
    lines: list[int] = []
    undecoded = _UNDECODED.search(text)
    if undecoded is not None:
        at = undecoded.start()
        return _failed(path, "", f"not UTF-8 text (byte 0x{ord(undecoded.group()) - 0xDC00:02x})",
                       text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at),
                       "save the rule as UTF-8")
    try:
        check_size(text)
        documents = parse_documents(text, lines)
    except LimitExceeded as exc:
        return _failed(path, text, str(exc), hint="split the rule, or check where it came from")
    except RecursionError:  # PyYAML composes nested collections recursively
        return _failed(path, text, "malformed YAML: collections nested too deeply",
                       hint="a Sigma rule nests a few levels deep")
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (NUL, C0 controls)
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - text.rfind("\n", 0, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        return _failed(path, text, f"malformed YAML: character U+{code:04X} is not allowed in "
                       "YAML text", line, column, "remove it, or write it as an escape in a "
                       "double-quoted string")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        refused = isinstance(exc, RefusedYAML)
        return _failed(path, text, f"{'refused' if refused else 'malformed'} YAML: {problem}",
                       mark.line + 1 if mark else None, mark.column + 1 if mark else None,
                       "fix the rule" if refused else "fix the YAML syntax")
    if not documents or all(d is None for d in documents):
        return _failed(path, text, "empty file: no Sigma rule")
    for number, (doc, line) in enumerate(zip(documents, lines), start=1):
        which = f"YAML document {number} of {len(documents)}" if len(documents) > 1 else \
            "the YAML document"
        if doc is not None and not isinstance(doc, dict):
            return _failed(path, text, f"not a Sigma rule: {which} is a {type(doc).__name__}, "
                           "not a mapping", line,
                           hint="a Sigma rule is a mapping with title, logsource and detection")
        if doc is not None:
            try:
                check_document(doc)
                check_shape(doc)
            except (LimitExceeded, ShapeError) as exc:
                key = rf"^[\s-]*{re.escape(exc.key)}\s*:" if exc.key else None
                within = getattr(exc, "within", None)
                start = line
                if key and within:  # the key under its search identifier, not an earlier one
                    found = _line_of(text, rf"^[\s-]*{re.escape(within)}\s*:", line)
                    start = found[0] if found else line
                at_line, column = (_line_of(text, key, start) if key else None) or (line, None)
                return _failed(path, text, str(exc), at_line, column,
                               hint="see Limits in the README" if isinstance(exc, LimitExceeded)
                               else "fix the rule")
    try:
        # The documents parsed above, not the text: from_yaml would parse it again, with
        # PyYAML's pure-Python loader. from_dicts may mutate the dicts; nothing else holds them.
        # Every document is a mapping (checked above) or None, as from_yaml passes them.
        collection = SigmaCollection.from_dicts(
            cast("list[NestedDict]", documents), collect_errors=True, source=SigmaRuleLocation(Path(path))
        )
    except SigmaError as exc:
        return [LoadedRule(path, None, _error(path, exc, text), text)]
    except (TypeError, ValueError, AttributeError, LookupError, RecursionError) as exc:
        # pySigma raises plain Python errors on some malformed shapes (a list where a mapping
        # belongs; an IndexError for an empty |re under |contains); report them as rule errors
        # rather than crash the batch.
        detail = str(exc) if isinstance(exc, (TypeError, ValueError)) else \
            f"pySigma fails on it ({type(exc).__name__}: {exc})"
        return [LoadedRule(path, None, RuleLoadError(f"not a valid Sigma rule: {detail}",
                                                     path=path), text)]
    # The first line of each rule's document: pySigma makes one rule of each document that is no
    # collection action (``action: global`` ...), in order; positions are looked for from there.
    starts = [line for doc, line in zip(documents, lines)
              if isinstance(doc, dict) and doc.get("action") in (None, "repeat")]
    if len(starts) != len(collection.rules):
        starts = [1] * len(collection.rules)
    out = []
    for rule, start in zip(collection.rules, starts):
        if isinstance(rule, SigmaRule):
            flatten_expansions(rule)
            lower_logsource(rule)
            use_fast_conditions(rule)  # the same trees, without pyparsing (rules/conditions.py)
        problem = _check_rule(rule)
        if problem is not None:
            out.append(LoadedRule(path, None, _error(path, problem, text, start), text))
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
            out.extend(load_text(read_stdin(), "<stdin>"))
            continue
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            out.append(LoadedRule(path, None, RuleLoadError(f"cannot read: {exc.strerror}", path=path)))
            continue
        out.extend(load_text(decode(data), path))
    return out
