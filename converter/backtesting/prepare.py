"""Backtest preparation: rules loaded once by the parent, each rule's targets prepared lazily.

The parent loads every rule (``load``) and nothing more (with the cache, a file an earlier run
read is not even parsed there: its header, the rules' ids, titles and logsources, is read back,
and the file is parsed by the process that prepares one of its rules); a rule costs its
logsource routing (``routing``) until an event of its logsource reaches it. Then the one evaluating process that
owns the rule (``converter.backtesting.engine``) prepares it once (``prepare_rule``): the reference
compiled, every target's query converted and parsed into a tree. Conversion and interpretation
follow ``converter.checking.checker.Checker._check_target`` exactly. What the parent needs for the
report (each target's query, reason, warnings) comes back with the evaluation results
(``PreparedRule.summary``).

The targets' conversions and trees are kept in the persistent cache (``backtest_store``,
``converter.conversion.cache``): a later run with the same rule file, options and sigport reads
them back instead of converting and parsing again; the entry holds what the engine needs of the
reference too (its necessary clauses, why it cannot evaluate the rule), which is then compiled
only for a rule an event makes a candidate (``compile_reference``), from the parsed pySigma rule
read back (namespace ``backtest-parsed``) rather than from the file.
"""

from __future__ import annotations

import multiprocessing
import pickle
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from converter.conversion.cache import Store, options_context
from converter.conversion.convert import CONVERTED, convert_each
from converter.checking.checker import Checker
from converter.reference.logsources import LogsourceUnsupported, membership
from converter.reference.evaluator import CompiledRule, compile_rule
from converter.rules.load import LoadedRule, load_rules, load_text

__all__ = ["BacktestOptions", "PreparedRule", "PreparedTarget", "backtest_store", "checker_for",
           "compile_reference", "load", "pool_context", "prepare_rule", "routing", "rules_store"]


@dataclass
class PreparedTarget:
    """One target's emitted query for a rule, its parsed tree, or why there is none."""

    query: str | None
    tree: Any = None
    reason: str | None = None
    parse_failed: bool = False
    warnings: list[str] = field(default_factory=list)
    #: Whether the query was parsed into a tree (kept when the tree is dropped by ``summary``).
    interpreted: bool = False
    #: ``Conversion.dropped``: the fields whose deleted values the emitter declared it cannot
    #: tell from a missing field (an event showing only that is no disagreement).
    dropped: dict[str, list[str]] = field(default_factory=dict)
    #: The tree pickled on its own, as the persistent cache keeps it: read back from the cache,
    #: a target holds only these bytes until its tree is first needed (``parsed``), so a run
    #: does not unpickle the trees that no event gets past the prefilter of.
    blob: bytes | None = None
    #: ``Conversion.trimmed``: the fields whose trimmed edges the emitter declared.
    trimmed: list[str] = field(default_factory=list)
    #: ``Conversion.exact_warnings``: warnings that state facts of the data source, which
    #: declare no approximation (``backends.common.declared_approximations``).
    exact_warnings: list[str] = field(default_factory=list)
    #: The regex translations parsing the query used (``backends.query.pattern_memo``; a
    #: parser that checks leaves as it lowers them compiles them, and the engine's compilation
    #: of the tree then finds those leaves compiled): seeded before the tree is compiled.
    translations: dict[Any, Any] = field(default_factory=dict)
    #: The necessary clauses of the tree on its own (``converter.ruleindex.needs.own_clauses``
    #: of ``converter.backtesting.needs.tree_form``), from which the engine chooses the literals
    #: the prefilter files the tree under: kept with the entry, so a warm run reads no tree for
    #: them; None when the tree needs no literal.
    clauses: tuple[Any, ...] | None = None

    def summary(self) -> PreparedTarget:
        """The same without the tree (what the report needs, cheap to send between processes)."""
        return PreparedTarget(self.query, None, self.reason, self.parse_failed, self.warnings,
                              self.interpreted, self.dropped, trimmed=self.trimmed,
                              exact_warnings=self.exact_warnings)

    def parsed(self) -> Any:
        """The parsed tree (unpickled from ``blob`` on first use), or None without one."""
        if self.tree is None and self.blob is not None:
            self.tree, self.blob = pickle.loads(self.blob), None
        return self.tree

    def stored(self) -> PreparedTarget:
        """The form kept in the persistent cache: the tree as ``blob`` bytes."""
        tree = self.parsed()
        blob = None if tree is None else pickle.dumps(tree, pickle.HIGHEST_PROTOCOL)
        return PreparedTarget(self.query, None, self.reason, self.parse_failed, self.warnings,
                              self.interpreted, self.dropped, blob, self.trimmed,
                              self.exact_warnings, self.translations, self.clauses)


@dataclass
class PreparedRule:
    """A loaded rule (or its load error); ``targets`` is filled when the rule is prepared."""

    id: str
    title: str
    path: str
    loaded: LoadedRule | None = None
    error: str | None = None
    unsupported: str | None = None
    prepared: bool = False
    targets: dict[str, PreparedTarget] = field(default_factory=dict)
    #: The rule's position among the rules of its file (a file may hold several).
    position: int = 0
    #: Its entry name in the persistent cache once prepared with one ("": none).
    key: str = ""
    #: Set when ``load`` read what the parent needs from the cache instead of parsing the file
    #: (``loaded`` is then None until ``prepare_rule`` parses ``text``): the file's text and the
    #: rule's logsource ``(product, category, service)``, None for a rule that has none.
    deferred: bool = False
    text: str = ""
    logsource: tuple[Any, Any, Any] | None = None
    #: The necessary clauses of the reference's detection on its own (``own_clauses``), set by
    #: ``prepare_rule`` and kept with the rule's entry; None when it needs no literal.
    clauses: tuple[Any, ...] | None = None

    @property
    def rule(self) -> Any:
        """The pySigma rule, or None when loading failed."""
        return None if self.loaded is None else self.loaded.rule


@dataclass(frozen=True)
class BacktestOptions:
    """What every backtest process needs to build the same converters and engine (picklable)."""

    #: Target names; None: every target with an interpreter (resolved before the workers start).
    targets: tuple[str, ...] | None = None
    #: Extra pipelines, as for ``convert``.
    pipelines: tuple[str, ...] = ()
    #: The shipper that wrote the events (a mapping-table option).
    data_source: str | None = None
    #: The user's Elasticsearch mapping or template JSON file.
    mapping: str | Path | None = None
    #: Disagreement examples kept per rule and target.
    max_examples: int = 5
    #: Skip evaluations a required literal rules out (never changes a count).
    prefilter: bool = True
    #: Read and write prepared targets in the persistent cache (``backtest_store``).
    cache: bool = True


def checker_for(options: BacktestOptions) -> Checker:
    """The ``Checker`` (converters, field models, renderers) the backtest's options describe."""
    return Checker(
        list(options.targets) if options.targets is not None else None, list(options.pipelines),
        options.data_source, options.mapping,
    )


def backtest_store(options: BacktestOptions, namespace: str = "backtest") -> Store | None:
    """The persistent cache of prepared targets for these options, or None when it is off.

    The context holds every option a conversion or a parse depends on: the targets (resolved),
    the extra pipelines (a pipeline file by its content), the data source and the mapping file's
    content; the rest (sigport's code and tables, its dependencies) is the cache's own
    fingerprint."""
    if not options.cache:
        return None
    context = options_context(options.targets or (), options.pipelines,
                              {"data_source": options.data_source, "mapping": options.mapping})
    store = Store(namespace, context)
    return store if store.enabled else None


def load(rule_paths: list[str], store: Store | None = None) -> list[PreparedRule]:
    """Every rule under ``rule_paths``, not yet prepared: loaded (YAML and pySigma), or, for a
    file ``store`` holds the header of (``rules_store``: id, title, load error and logsource of
    each of its rules, written by an earlier run), deferred: its text is parsed by the process
    that prepares it (``prepare_rule``), and a rule no event reaches is never parsed."""
    if store is None:
        return _items(load_rules(rule_paths))
    from converter.conversion.filecache import file_key
    from converter.rules.paths import STDIN, expand_paths

    out = []
    for path in expand_paths(rule_paths):
        entry = None if path == STDIN else file_key(path, None, store)
        if entry is None:  # stdin, or a file the loader reads and reports itself
            out.extend(_items(load_rules([path])))
            continue
        key, text = entry
        header = store.get(key)
        if not _is_header(header):
            items = _items(load_text(text, path))
            store.put(key, [(i.id, i.title, i.error, _logsource(i)) for i in items])
            out.extend(items)
            continue
        for position, (rule_id, title, error, logsource) in enumerate(header):
            out.append(PreparedRule(rule_id, title, path, None, error, position=position,
                                    deferred=error is None, text=text, logsource=logsource))
    return out


def rules_store(options: BacktestOptions) -> Store | None:
    """The persistent cache of rule files' headers (``load``), or None when it is off."""
    if not options.cache:
        return None
    store = Store("backtest-rules", [])
    return store if store.enabled else None


def _items(loaded_rules: list[LoadedRule]) -> list[PreparedRule]:
    """``PreparedRule`` of each loaded rule (its position counted per file)."""
    out = []
    seen: dict[str, int] = defaultdict(int)
    for loaded in loaded_rules:
        item = PreparedRule(loaded.id, loaded.title, loaded.path, loaded, position=seen[loaded.path])
        seen[loaded.path] += 1
        if loaded.error is not None or loaded.rule is None:
            item.error = loaded.error.one_line() if loaded.error else "rule did not load"
            item.loaded = None
        out.append(item)
    return out


def _logsource(item: PreparedRule) -> tuple[Any, Any, Any] | None:
    """``(product, category, service)`` of a loaded Sigma rule; None for any other."""
    from sigma.rule import SigmaRule

    if item.error is not None or not isinstance(item.rule, SigmaRule):
        return None
    source = item.rule.logsource
    return (source.product, source.category, source.service)


def _is_header(value: Any) -> bool:
    """Whether ``value`` (read from the cache) has the shape ``load`` stores per file."""
    return (isinstance(value, list) and bool(value) and all(
        isinstance(v, tuple) and len(v) == 4 and isinstance(v[0], str) and isinstance(v[1], str)
        and (v[2] is None or isinstance(v[2], str))
        and (v[3] is None or (isinstance(v[3], tuple) and len(v[3]) == 3)) for v in value))


def routing(item: PreparedRule) -> tuple[Callable[[dict[str, Any]], bool] | None, str | None]:
    """The rule's logsource membership predicate (``compile_rule``'s), or None when no event
    can reach the rule, with the reason when it is its logsource (as ``compile_rule`` says)."""
    # compile_rule gives a correlation rule (no logsource of its own) no membership either.
    source = item.logsource if item.deferred else _logsource(item)
    if source is None:
        return None, None
    try:
        return membership(*source), None
    except LogsourceUnsupported as error:
        return None, str(error)


def _cached(store: Store, key: str, names: list[str]
            ) -> tuple[dict[str, PreparedTarget], tuple[Any, ...] | None, str | None] | None:
    """The prepared targets, the reference's clauses and why the reference cannot evaluate the
    rule (None: it can) stored under ``key``, when they are what this run would make (each
    interpreted target with its tree's bytes, still pickled)."""
    value = store.get(key)
    if not (isinstance(value, tuple) and len(value) == 3):
        return None
    targets, clauses, unsupported = value
    if (isinstance(targets, dict) and list(targets) == names
            and all(isinstance(target, PreparedTarget)
                    and (target.blob is not None) == target.interpreted
                    and _is_clauses(target.clauses)
                    for target in targets.values())
            and _is_clauses(clauses) and (unsupported is None or isinstance(unsupported, str))):
        return targets, clauses, unsupported
    return None


def _is_clauses(value: Any) -> bool:
    """Whether ``value`` has the shape of ``own_clauses``' result."""
    from converter.ruleindex.needs import Alt

    return value is None or (isinstance(value, tuple) and all(
        isinstance(need, frozenset) and all(isinstance(alt, Alt) for alt in need)
        for need in value))


def _stored_rule(store: Store, key: str, item: PreparedRule) -> LoadedRule | None:
    """The parsed rule ``store`` keeps under ``key`` when it is the rule ``item`` names (its
    file, text and id), else None (parsed again)."""
    value = store.get(key)
    if (isinstance(value, LoadedRule) and value.rule is not None and value.error is None
            and value.path == item.path and value.text == item.text and value.id == item.id):
        return value
    return None


def prepare_rule(item: PreparedRule, checker: Checker, phases: defaultdict[str, float] | None = None,
                 store: Store | None = None, parsed: Store | None = None) -> CompiledRule | None:
    """Compile the reference and convert and interpret every target of one loaded rule, as
    ``Checker._check_target`` does; fills ``item.targets`` and returns the compiled rule, or None
    when ``store`` gave the rule's entry back: the targets, the reference's clauses and
    ``unsupported`` are read from it, and the reference is compiled only if an event makes it a
    candidate (``compile_reference``; most rules an event reaches never are).

    ``phases`` accumulates the CPU seconds of ``load`` (parsing the rule's file when ``load``
    deferred it), ``reference``, ``convert``, ``parse``, ``index`` (the reference's and each
    tree's own necessary clauses: ``PreparedRule.clauses``, ``PreparedTarget.clauses``, kept
    in the rule's entry) and ``cache`` (reading and writing
    ``store``, the persistent cache, when given). With a store,
    ``item.key`` is the rule's entry name (what the engine's own entries are keyed by).
    ``parsed`` (namespace ``backtest-parsed``) keeps the parsed rule under the same name, for
    ``compile_reference`` in a later run: the file is then not parsed."""
    clock: defaultdict[str, float] = defaultdict(float) if phases is None else phases
    started = time.process_time()
    key = ""
    if store is not None:
        # A deferred rule's text is the file's, as a loaded rule's is.
        text = item.text if item.loaded is None else item.loaded.text
        key = item.key = store.key(item.path, text, str(item.position))
        cached = _cached(store, key, list(checker.targets))
        clock["cache"] += time.process_time() - started
        started = time.process_time()
        if cached is not None:
            item.targets, item.clauses, item.unsupported = cached
            item.prepared = True
            return None
    if item.loaded is None and item.deferred:  # parsed here, once, by its owner
        item.loaded, item.deferred = load_text(item.text, item.path)[item.position], False
        parsed_at = time.process_time()
        clock["load"] += parsed_at - started
        started = parsed_at
    if store is not None and parsed is not None:
        # Kept for the next run's reference, before a conversion may change the rule.
        parsed.put(key, item.loaded)
        clock["cache"] += time.process_time() - started
        started = time.process_time()
    loaded = item.loaded
    assert loaded is not None and loaded.rule is not None  # routing() never reaches the others
    compiled = compile_rule(loaded.rule)
    item.unsupported = compiled.unsupported
    item.prepared = True
    clock["reference"] += time.process_time() - started
    started = time.process_time()
    item.clauses = _reference_clauses(compiled)
    clock["index"] += time.process_time() - started
    _prepare_targets(item, loaded, checker, clock)
    if store is not None:
        started = time.process_time()
        store.put(key, ({name: target.stored() for name, target in item.targets.items()},
                        item.clauses, item.unsupported))
        clock["cache"] += time.process_time() - started
    return compiled


def compile_reference(item: PreparedRule, phases: defaultdict[str, float] | None = None,
                      parsed: Store | None = None) -> CompiledRule:
    """The reference compiled for a rule ``prepare_rule`` read back from the persistent cache:
    its pySigma rule read from ``parsed`` (an earlier run's parse), else its file's text parsed
    (and kept in ``parsed`` for the next run). CPU seconds into ``phases``' ``cache``, ``load``
    and ``reference``."""
    clock: defaultdict[str, float] = defaultdict(float) if phases is None else phases
    started = time.process_time()
    if item.loaded is None and item.deferred and parsed is not None and item.key:
        item.loaded = _stored_rule(parsed, item.key, item)
        item.deferred = item.loaded is None
        clock["cache"] += time.process_time() - started
        started = time.process_time()
    if item.loaded is None and item.deferred:
        item.loaded, item.deferred = load_text(item.text, item.path)[item.position], False
        parsed_at = time.process_time()
        clock["load"] += parsed_at - started
        if parsed is not None and item.key:
            parsed.put(item.key, item.loaded)
        started = time.process_time()
        clock["cache"] += started - parsed_at
    loaded = item.loaded
    assert loaded is not None and loaded.rule is not None  # routing() never reaches the others
    compiled = compile_rule(loaded.rule)
    clock["reference"] += time.process_time() - started
    return compiled


def _reference_clauses(compiled: CompiledRule) -> tuple[Any, ...] | None:
    """The reference's own necessary clauses (what ``RuleIndex.build`` derives its conditions
    from), None for a rule it cannot evaluate."""
    from converter.ruleindex.needs import own_clauses, rule_form

    if compiled.unsupported is not None or not compiled.conditions:
        return None
    return own_clauses(rule_form(compiled.conditions))


def _prepare_targets(item: PreparedRule, loaded: LoadedRule, checker: Checker,
                     clock: defaultdict[str, float]) -> None:
    """Convert and parse every target of ``loaded`` into ``item.targets`` (CPU seconds into
    ``clock``'s ``convert`` and ``parse``)."""
    from backends import TARGETS
    from backends.query.ast import Or
    from backends.query.errors import QueryError, QueryParseError, UnsupportedQueryError
    from backends.query.pattern_memo import recording
    from converter.backtesting.needs import tree_form
    from converter.ruleindex.needs import own_clauses

    # The last target may consume the loaded rule (its pipeline mutates it): the reference is
    # compiled and nothing reads the rule again, so it saves one copy per rule; the others
    # convert copies made from one pickle of the rule.
    started = time.process_time()
    conversions = convert_each(loaded, [checker.converters[name] for name in checker.targets])
    for name in checker.targets:
        converted = time.process_time()
        clock["parse"] += converted - started
        spec = TARGETS[name]
        conversion = next(conversions)
        started = time.process_time()
        clock["convert"] += started - converted
        target = PreparedTarget(conversion.output, warnings=list(conversion.warnings),
                                dropped=dict(conversion.dropped),
                                trimmed=list(conversion.trimmed),
                                exact_warnings=list(conversion.exact_warnings))
        item.targets[name] = target
        parse = spec.parse_function()
        if conversion.status != CONVERTED:
            target.reason = f"not converted ({conversion.status}): {conversion.reason}"
            continue
        if parse is None:
            target.reason = f"not checked: {spec.no_interpreter_reason}"
            continue
        try:
            with recording() as used:
                trees = [parse(q, fields=checker.models.get(name)) for q in conversion.queries]
        except QueryParseError as exc:
            target.parse_failed = True
            target.reason = (f"the emitted query does not parse: {exc.reason} "
                             f"(line {exc.line}, column {exc.column})")
            continue
        except UnsupportedQueryError as exc:
            target.reason = f"not checked: the interpreter cannot evaluate this query: {exc}"
            continue
        except QueryError as exc:
            target.reason = f"not checked: {exc}"
            continue
        # Compiled by the engine when an event first gets past its prefilter.
        target.tree = trees[0] if len(trees) == 1 else Or(tuple(trees))
        target.interpreted = True
        target.translations = used
        indexed = time.process_time()
        clock["parse"] += indexed - started
        target.clauses = own_clauses(tree_form(target.tree))
        started = time.process_time()
        clock["index"] += started - indexed
    clock["parse"] += time.process_time() - started


def pool_context() -> Any:
    """The multiprocessing context for the backtest's worker processes."""
    # fork shares the loaded rules with the workers without pickling them (Linux); elsewhere
    # the platform default (spawn) pickles them, which works too.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)
