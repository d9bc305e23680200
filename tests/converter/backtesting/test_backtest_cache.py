"""The backtest's persistent cache of prepared targets (``converter.conversion.cache``): a second
run reads what the first converted and parsed, and any change to what a conversion depends on
(the rule, a pipeline file, the mapping, sigport's code and tables) gives a fresh result."""

from __future__ import annotations

import json
import multiprocessing
import os
import pickle
from pathlib import Path
from typing import Any

import pytest

from converter.backtesting import prepare
from converter.backtesting.run import run_backtest
from converter.conversion import cache
from converter.conversion.cache import Store, code_fingerprint, tree_digest
from helpers import IMAGE_RULE, PREFIX_PIPELINE

SYSMON = "Microsoft-Windows-Sysmon/Operational"

TIMING = ("elapsed_s", "prepare_s", "events_per_s", "phases_s")


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "whoami.yml").write_text(IMAGE_RULE.format(n=0, name="whoami.exe"), encoding="utf-8")
    events = tmp_path / "events.jsonl"
    lines = [{"Channel": SYSMON, "EventID": 1, "Image": f"C:\\Windows\\System32\\{name}",
              "CommandLine": name} for name in ("whoami.exe", "hostname.exe", "whoami.exe")]
    events.write_text("".join(json.dumps(e) + "\n" for e in lines), encoding="utf-8")
    return rules, events


@pytest.fixture
def conversions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of the rules the backtest converts (``convert_each`` calls), in order."""
    seen: list[str] = []
    real = prepare.convert_each

    def counting(loaded: Any, converters: Any) -> Any:
        seen.append(loaded.path)
        return real(loaded, converters)

    monkeypatch.setattr(prepare, "convert_each", counting)
    return seen


def _report(rules: Path, events: Path, workers: int = 1, **options: Any) -> dict[str, Any]:
    data = run_backtest([rules], [events], workers=workers, **options).to_json()
    for key in TIMING:
        data.pop(key, None)
    return data


def _entries(namespace: str = "backtest") -> list[Path]:
    """The entries of the rules (``backtest``) or of what the engine derives from them
    (``backtest-index``)."""
    return sorted(p for p in Path(os.environ[cache.ENV_DIR]).rglob("*.pickle")
                  if p.parent.parent.name == namespace)


def _queries(report: dict[str, Any]) -> dict[str, Any]:
    return {name: t["query"] for name, t in report["rules"][0]["targets"].items()}


def test_a_second_run_reads_the_cache_and_reports_the_same(
    inputs: tuple[Path, Path], conversions: list[str]
) -> None:
    rules, events = inputs
    first = _report(rules, events)
    assert len(conversions) == 1 and len(_entries()) == 1
    second = _report(rules, events)
    assert len(conversions) == 1  # nothing converted again
    assert second == first
    assert first["rules"][0]["reference"]["hits"] == 2
    assert any(t["equivalent"] for t in first["rules"][0]["targets"].values())


def test_two_workers_share_the_cache(inputs: tuple[Path, Path]) -> None:
    rules, events = inputs
    first = run_backtest([rules], [events], workers=2).to_json()
    second = run_backtest([rules], [events], workers=2).to_json()
    assert "convert" in first["phases_s"] and "convert" not in second["phases_s"]
    assert {k: v for k, v in first.items() if k not in TIMING} == {
        k: v for k, v in second.items() if k not in TIMING}


def test_a_changed_rule_is_converted_again(inputs: tuple[Path, Path], conversions: list[str]) -> None:
    rules, events = inputs
    first = _report(rules, events)
    (rules / "whoami.yml").write_text(IMAGE_RULE.format(n=0, name="hostname.exe"), encoding="utf-8")
    second = _report(rules, events)
    assert len(conversions) == 2
    assert second["rules"][0]["reference"]["hits"] == 1
    before, after = _queries(first), _queries(second)
    assert before.keys() == after.keys() and all(before[t] != after[t] for t in before)


def test_a_changed_pipeline_file_is_converted_again(
    inputs: tuple[Path, Path], tmp_path: Path, conversions: list[str]
) -> None:
    rules, events = inputs
    extra = tmp_path / "extra.yml"
    extra.write_text(PREFIX_PIPELINE.format(prefix="a."), encoding="utf-8")
    first = _report(rules, events, targets=["eql"], pipelines=[str(extra)])
    assert "a.process" in _queries(first)["eql"]
    extra.write_text(PREFIX_PIPELINE.format(prefix="b."), encoding="utf-8")
    second = _report(rules, events, targets=["eql"], pipelines=[str(extra)])
    assert len(conversions) == 2
    assert "b.process" in _queries(second)["eql"] and "a.process" not in _queries(second)["eql"]


def test_other_options_do_not_share_entries(inputs: tuple[Path, Path], conversions: list[str]) -> None:
    rules, events = inputs
    _report(rules, events, targets=["eql"])
    _report(rules, events, targets=["kql"])
    _report(rules, events, targets=["eql"], data_source="windows")
    assert len(conversions) == 3 and len(_entries()) == 3


def test_a_change_to_sigport_starts_a_new_cache(
    inputs: tuple[Path, Path], conversions: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rules, events = inputs
    _report(rules, events, targets=["eql"])
    code_fingerprint.cache_clear()
    monkeypatch.setattr(cache, "_dependency_versions", lambda: ["sigport==999"])
    try:
        _report(rules, events, targets=["eql"])
    finally:
        code_fingerprint.cache_clear()
    assert len(conversions) == 2


def test_the_fingerprint_covers_every_file_of_the_packages(tmp_path: Path) -> None:
    tables = Path(cache.__file__).parents[1] / "mapping" / "tables"
    assert any(tables.is_relative_to(d) for d in cache._package_dirs())
    copy = tmp_path / "converter"
    (copy / "mapping" / "tables").mkdir(parents=True)
    table = copy / "mapping" / "tables" / "ecs.yml"
    table.write_text("fields: {Image: process.executable}\n", encoding="utf-8")
    before = tree_digest([copy])
    table.write_text("fields: {Image: process.name}\n", encoding="utf-8")
    assert tree_digest([copy]) != before
    (copy / "new.yml").write_text("", encoding="utf-8")
    assert tree_digest([copy]) not in (before,)


def test_no_cache_reads_and_writes_nothing(
    inputs: tuple[Path, Path], conversions: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rules, events = inputs
    _report(rules, events, targets=["eql"], cache=False)
    _report(rules, events, targets=["eql"], cache=False)
    assert not _entries() and not _entries("backtest-index") and len(conversions) == 2
    monkeypatch.setenv(cache.ENV_OFF, "1")
    _report(rules, events, targets=["eql"])
    assert not _entries() and not _entries("backtest-index") and len(conversions) == 3


def test_a_broken_entry_is_a_miss_and_is_rewritten(
    inputs: tuple[Path, Path], conversions: list[str]
) -> None:
    rules, events = inputs
    first = _report(rules, events)
    (entry,) = _entries()
    entry.write_bytes(entry.read_bytes()[:100])  # truncated, as by a crash mid-write elsewhere
    assert _report(rules, events) == first
    entry.write_bytes(b"not a pickle")
    assert _report(rules, events) == first
    assert len(conversions) == 3
    assert _report(rules, events) == first and len(conversions) == 3


def test_a_warm_run_reads_only_the_trees_an_event_gets_past_the_prefilter_of(
    inputs: tuple[Path, Path], conversions: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rules, events = inputs
    (rules / "net.yml").write_text(IMAGE_RULE.format(n=1, name="net.exe"), encoding="utf-8")
    # Targets whose trees of these rules give a required literal (not every target's does).
    targets = ["eql", "lucene"]
    first = _report(rules, events, targets=targets)
    # The rules' entries, which hold the necessary clauses of their trees and of the
    # reference too: the second run derives nothing again.
    assert len(_entries()) == 2 and not _entries("backtest-index")
    read: list[str | None] = []
    real = prepare.PreparedTarget.parsed

    def parsed(self: prepare.PreparedTarget) -> Any:
        if self.blob is not None:
            read.append(self.query)
        return real(self)

    monkeypatch.setattr(prepare.PreparedTarget, "parsed", parsed)
    assert _report(rules, events, targets=targets) == first and len(conversions) == 2
    # No event holds "net.exe": the trees of that rule stay pickled; whoami's are read.
    assert read and not any("net.exe" in (query or "") for query in read)
    assert any("whoami.exe" in (query or "") for query in read)


def test_a_warm_run_parses_only_the_rule_files_an_event_reaches(
    inputs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    rules, events = inputs
    registry = IMAGE_RULE.format(n=2, name="reg.exe").replace("process_creation", "registry_set")
    (rules / "registry.yml").write_text(registry, encoding="utf-8")
    first = _report(rules, events)
    assert len(_entries("backtest-rules")) == 2  # one header per file
    parsed: list[str] = []
    real = prepare.load_text

    def load_text(text: str, path: str) -> Any:
        parsed.append(Path(path).name)
        return real(text, path)

    real_load_rules = prepare.load_rules
    monkeypatch.setattr(prepare, "load_text", load_text)
    monkeypatch.setattr(prepare, "load_rules", lambda paths: pytest.fail("parsed in the parent"))
    for entry in _entries("backtest-parsed"):  # without the parsed rule, its owner parses it
        entry.unlink()
    phases = run_backtest([rules], [events], workers=1).phases_s
    assert parsed == ["whoami.yml"] and "load" in phases  # its own phase, not `evaluate`
    parsed.clear()
    second = _report(rules, events)
    # The rule an event reached is read back parsed (its targets were), the registry rule is
    # reported from its header alone: no file is parsed.
    assert parsed == [] and second == first
    assert len(_entries("backtest-parsed")) == 1
    assert [r["events"] for r in second["rules"]] == [0, 3]
    (rules / "registry.yml").write_text(registry.replace("reg.exe", "r.exe"), encoding="utf-8")
    monkeypatch.setattr(prepare, "load_rules", real_load_rules)
    changed = _report(rules, events)  # a changed file is parsed again, and its header stored
    assert parsed == ["registry.yml"]
    assert len(_entries("backtest-rules")) == 3
    assert changed["rules"][1] == first["rules"][1]


def test_a_warm_run_reads_the_parsed_rule_back_for_the_reference(
    inputs: tuple[Path, Path], conversions: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With its targets read back, a rule's reference is compiled from the pySigma rule the
    first run parsed (stored before any conversion changed it), with the same verdicts; a
    broken or foreign entry is parsed again and rewritten."""
    rules, events = inputs
    first = _report(rules, events)
    (entry,) = _entries("backtest-parsed")
    parsed: list[str] = []
    real = prepare.load_text
    monkeypatch.setattr(prepare, "load_text",
                        lambda text, path: parsed.append(path) or real(text, path))
    assert _report(rules, events) == first and parsed == [] and len(conversions) == 1
    stored = pickle.loads(entry.read_bytes())
    assert stored.rule is not None and stored.rule.title == first["rules"][0]["title"]
    # Conversion mutates the rule it converts last: the stored one is the rule as parsed.
    assert pickle.dumps(stored.rule) == pickle.dumps(real(stored.text, stored.path)[0].rule)
    for broken in (b"not a pickle", pickle.dumps("a foreign value")):
        entry.write_bytes(broken)
        parsed.clear()
        assert _report(rules, events) == first and len(parsed) == 1
        assert pickle.loads(entry.read_bytes()).rule is not None  # rewritten


def test_an_entry_with_foreign_clauses_is_a_miss(
    inputs: tuple[Path, Path], conversions: list[str]
) -> None:
    """The necessary clauses kept in a rule's entry (its trees' and the reference's) are checked
    before use: a value of another shape, or an entry of the shape before they were kept (the
    targets alone), is a miss and the entry is rewritten."""
    rules, events = inputs
    first = _report(rules, events)
    (entry,) = _entries()
    targets, clauses, unsupported = pickle.loads(entry.read_bytes())
    assert clauses and all(t.clauses for t in targets.values() if t.interpreted)
    assert unsupported is None
    broken_tree = {name: prepare.PreparedTarget(**{**vars(t), "clauses": ("not", "clauses")})
                   for name, t in targets.items()}
    for foreign in (targets, (targets, clauses), (targets, ["a list"], None),
                    (broken_tree, clauses, None), (targets, clauses, 3)):
        entry.write_bytes(pickle.dumps(foreign))
        converted = len(conversions)
        assert _report(rules, events) == first and len(conversions) == converted + 1
        assert pickle.loads(entry.read_bytes())[1] == clauses  # rewritten


def test_a_directory_others_may_write_is_not_used(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    store = Store("backtest", ["x"], root=shared)
    assert not store.enabled
    store.put(store.key("k"), {"a": 1})
    assert store.get(store.key("k")) is None and not list(shared.rglob("*.pickle"))
    private = Store("backtest", ["x"], root=tmp_path / "private")
    assert private.enabled and (tmp_path / "private").stat().st_mode & 0o077 == 0


def _writer(root: str, value: int, rounds: int) -> None:
    store = Store("race", ["x"], root=Path(root))
    for _ in range(rounds):
        store.put(store.key("same"), [value] * 50_000)


def test_concurrent_writers_never_leave_a_partial_entry(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork" if os.name == "posix" else None)
    writers = [context.Process(target=_writer, args=(str(tmp_path), v, 40)) for v in (1, 2)]
    for process in writers:
        process.start()
    reader = Store("race", ["x"], root=tmp_path)
    seen = set()
    while any(p.is_alive() for p in writers):
        value = reader.get(reader.key("same"))
        if value is not None:
            assert len(value) == 50_000 and len(set(value)) == 1
            seen.add(value[0])
    for process in writers:
        process.join()
        assert process.exitcode == 0
    assert reader.get(reader.key("same"))[0] in (1, 2)
    assert not [p for p in tmp_path.rglob(".part-*")]  # no temporary file left behind


def test_old_caches_are_deleted_beyond_keep(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "KEEP", 2)
    stores = []
    for n in range(4):
        store = Store("backtest", [f"context {n}"], root=tmp_path)
        store.put(store.key("k"), n)
        stores.append(store)
        os.utime(store.folder, (1000 + n, 1000 + n))  # opened in this order
    newest = Store("backtest", ["context 3"], root=tmp_path)  # reopened: the most recent
    kept = sorted(p.name for p in (tmp_path / "backtest").iterdir())
    assert len(kept) == 2 and newest.folder is not None and newest.folder.name in kept
    assert stores[2].folder is not None and stores[2].folder.name in kept
    assert newest.get(newest.key("k")) == 3
    assert stores[0].get(stores[0].key("k")) is None  # deleted: a miss, never an error
    stores[0].put(stores[0].key("k"), 0)  # writing into a deleted folder fails quietly


def test_a_warm_run_with_other_shards_derives_no_literals_anew(
    inputs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the prefilter files trees and rules under comes from each rule's own entry: a warm
    run with another number of workers (other routing groups, other rules prepared together)
    converts, parses and derives nothing, and reports the same."""
    from converter.ruleindex import needs

    rules, events = inputs
    for n, name in enumerate(("net.exe", "hostname.exe", "reg.exe"), start=1):
        (rules / f"r{n}.yml").write_text(IMAGE_RULE.format(n=n, name=name), encoding="utf-8")
    first = {**_report(rules, events, workers=2), "workers": 1}
    assert len(_entries()) == 4

    def derived(*args: Any) -> Any:
        raise AssertionError("derived anew")

    monkeypatch.setattr(needs, "clauses_of", derived)
    monkeypatch.setattr(prepare, "_prepare_targets", derived)
    assert _report(rules, events) == first


def test_a_warm_run_compiles_the_reference_only_of_candidate_rules(
    inputs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rule read back from its entry is compiled for the reference only when an event makes
    it a candidate (its required literals occur); an unsupported rule never is, its reason read
    from the entry. The reports are the same as the cold run's."""
    rules, events = inputs
    (rules / "net.yml").write_text(IMAGE_RULE.format(n=1, name="net.exe"), encoding="utf-8")
    unsupported = IMAGE_RULE.format(n=2, name="x.exe").replace(
        "Image|endswith: '\\\\x.exe'", "Image|expand: '%x%'")  # a placeholder: unsupported
    (rules / "old.yml").write_text(unsupported, encoding="utf-8")
    first = _report(rules, events)
    assert {r["reference"]["unsupported"] is not None for r in first["rules"]} == {True, False}
    compiled: list[str] = []
    real = prepare.compile_rule

    def counting(rule: Any) -> Any:
        compiled.append(str(rule.id))
        return real(rule)

    monkeypatch.setattr(prepare, "compile_rule", counting)
    assert _report(rules, events) == first
    # whoami.exe is in the events; net.exe in none; the placeholder rule cannot be evaluated.
    assert compiled == ["11111111-1111-4111-8111-111111111100"]
