"""The parallel batch path gives exactly what the serial path gives (converter/conversion/batch.py)."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pytest

from backends import TARGETS
from converter.conversion import batch as parallel
from converter.conversion import worker
from converter.conversion.convert import ERROR, convert_all
from converter.outputs.formats import render_kibana_ndjson, render_savedsearches
from converter.conversion.batch import convert_paths
from converter.conversion.meta import RuleMeta, RuleSummary
from converter.rules.load import load_rules

ROOT = Path(__file__).resolve().parents[3]
BUNDLED = ROOT / "sigma_rules"
TARGET_NAMES = list(TARGETS)

GOOD = """\
title: Whoami
id: 11111111-1111-4111-8111-111111111111
description: whoami run
author: Alice, Bob
references: [https://example.com/whoami]
falsepositives: [admins]
level: high
tags: [attack.discovery, attack.t1033]
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image|endswith: '\\whoami.exe'
  filter:
    CommandLine|contains: '/all'
  condition: sel and not filter
elastic:
  risk_score: 55
  index: [logs-endpoint.events.process-*]
"""

TWO_DOCS = """\
title: Net use
id: 22222222-2222-4222-8222-222222222222
logsource: {product: windows, category: process_creation}
detection:
  sel:
    CommandLine|contains|all: [net, ' use ']
  condition: sel
---
title: Certutil decode
id: 33333333-3333-4333-8333-333333333333
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image|endswith: '\\certutil.exe'
    CommandLine|contains: [-decode, /decode]
  condition: sel
"""

UNSUPPORTED_FIELD = """\
title: Unmapped field
id: 44444444-4444-4444-8444-444444444444
logsource: {product: windows, category: process_creation}
detection:
  sel:
    NoSuchFieldAnywhere: x
  condition: sel
"""

BAD_YAML = "title: x\ndetection: [\n  a: b"
BAD_MODIFIER = (
    "title: t\nlogsource: {product: windows, category: process_creation}\n"
    "detection:\n  sel:\n    Image|nosuchmod: x\n  condition: sel\n"
)


@pytest.fixture()
def rules_dir(tmp_path: Path) -> Path:
    """The bundled rules plus inline good, multi-document, unsupported and bad rules."""
    root = tmp_path / "rules"
    shutil.copytree(BUNDLED, root / "bundled")
    inline = root / "inline"
    inline.mkdir()
    for name, text in {
        "a_good.yml": GOOD,
        "b_two_docs.yml": TWO_DOCS,
        "c_unsupported.yml": UNSUPPORTED_FIELD,
        "d_bad_yaml.yml": BAD_YAML,
        "e_bad_modifier.yml": BAD_MODIFIER,
    }.items():
        (inline / name).write_text(text, encoding="utf-8")
    return root


def _key(c: object) -> tuple[object, ...]:
    names = ("path", "id", "title", "target", "status", "reason", "queries", "warnings", "pipeline")
    return tuple(getattr(c, a) for a in names)


@pytest.fixture()
def small_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """Use the process pool even for a few files, with several chunks per worker."""
    monkeypatch.setattr(parallel, "MIN_FILES_FOR_POOL", 1)
    monkeypatch.setattr(parallel, "MAX_CHUNK", 2)


@pytest.mark.parametrize("workers", [1, 2])
def test_same_statuses_and_outputs_as_serial(
    rules_dir: Path, small_pool: None, workers: int
) -> None:
    serial = convert_all(load_rules([rules_dir]), TARGET_NAMES)
    progress: list[int] = []
    summaries, batch = convert_paths(
        [str(rules_dir)], TARGET_NAMES, workers=workers, progress=progress.append
    )
    assert [_key(c) for c in batch] == [_key(c) for c in serial]
    # The inline files exercise every status, and the bad ones name their file.
    statuses = {(Path(c.path).name, c.status) for c in batch}
    assert ("a_good.yml", "converted") in statuses
    assert ("c_unsupported.yml", "unsupported") in statuses
    assert ("d_bad_yaml.yml", ERROR) in statuses
    assert ("e_bad_modifier.yml", ERROR) in statuses
    files = len(list(rules_dir.rglob("*.yml")))
    assert sum(progress) == files


def test_summaries_match_loaded_rules(rules_dir: Path, small_pool: None) -> None:
    loaded = load_rules([rules_dir])
    summaries, _ = convert_paths([str(rules_dir)], ["eql"], workers=2)
    assert [(s.path, s.id, s.title) for s in summaries] == [(r.path, r.id, r.title) for r in loaded]
    assert [s.error.one_line() if s.error else None for s in summaries] == [
        r.error.one_line() if r.error else None for r in loaded
    ]
    assert len(summaries) == len(loaded)  # the two-document file gives two entries


def test_kibana_and_savedsearches_equal_serial(rules_dir: Path, small_pool: None) -> None:
    targets = ["eql", "kql", "lucene", "esql", "splunk"]
    serial = convert_all(load_rules([rules_dir]), targets)
    _, batch = convert_paths([str(rules_dir)], targets, workers=2)
    for target in ("eql", "kql", "lucene", "esql"):
        expected = render_kibana_ndjson([c for c in serial if c.target == target])
        assert render_kibana_ndjson([c for c in batch if c.target == target]) == expected
        assert '"risk_score": 55' in expected  # the elastic: custom attribute made it through
    expected = render_savedsearches([c for c in serial if c.target == "splunk"], splunk_es=True)
    assert render_savedsearches([c for c in batch if c.target == "splunk"], splunk_es=True) == expected
    assert "t1033" in expected.lower()


def test_results_are_picklable_metadata(rules_dir: Path, small_pool: None) -> None:
    summaries, batch = convert_paths([str(rules_dir)], ["eql"], workers=1)
    converted = [c for c in batch if c.status == "converted"]
    assert converted and all(isinstance(c.rule, RuleMeta) for c in converted)
    again = pickle.loads(pickle.dumps((summaries, batch)))
    assert [_key(c) for c in again[1]] == [_key(c) for c in batch]
    assert all(isinstance(s, RuleSummary) for s in again[0])
    good = next(c for c in converted if c.id == "11111111-1111-4111-8111-111111111111")
    assert good.rule.author == "Alice, Bob"
    assert [str(t) for t in good.rule.tags] == ["attack.discovery", "attack.t1033"]


def test_a_failing_file_does_not_stop_the_batch(
    rules_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_load = worker.load_input

    def flaky(path: str, text: str | None) -> list:
        if path.endswith("a_good.yml"):
            raise RuntimeError("boom")
        return real_load(path, text)

    monkeypatch.setattr(worker, "load_input", flaky)
    summaries, batch = convert_paths([str(rules_dir)], ["eql", "kql"], workers=1)
    broken = [c for c in batch if c.path.endswith("a_good.yml")]
    assert [c.status for c in broken] == [ERROR, ERROR]
    assert "internal error: RuntimeError: boom" in (broken[0].reason or "")
    assert any(c.status == "converted" for c in batch)


def test_unknown_target_fails_before_work(rules_dir: Path) -> None:
    from converter.errors import UnknownTargetError

    with pytest.raises(UnknownTargetError):
        convert_paths([str(rules_dir)], ["nosuch"], workers=2)


@pytest.mark.parametrize("workers", [1, 2])
def test_on_file_gets_every_file_in_input_order(
    rules_dir: Path, small_pool: None, workers: int
) -> None:
    handed: list[list[object]] = []
    _, batch = convert_paths(
        [str(rules_dir)], ["eql", "kql"], workers=workers, on_file=handed.append
    )
    files = sorted(str(p) for p in rules_dir.rglob("*.yml"))
    assert len(handed) == len(files)
    assert [c for chunk in handed for c in chunk] == batch  # the same objects, in order
    assert [chunk[0].path for chunk in handed] == files


def test_chunks_cover_the_input_and_shrink_at_the_end() -> None:
    items = [(f"f{i}.yml", None) for i in range(1000)]
    chunks = parallel._chunks(items, 2)
    assert [item for chunk in chunks for item in chunk] == items
    sizes = [len(c) for c in chunks]
    assert max(sizes) <= parallel.MAX_CHUNK and sizes == sorted(sizes, reverse=True)
    assert sizes[-1] == 1 and sizes[0] == parallel.MAX_CHUNK


def test_the_pool_leaves_no_object_frozen(rules_dir: Path, small_pool: None) -> None:
    import gc

    convert_paths([str(rules_dir)], ["eql"], workers=2)
    assert gc.get_freeze_count() == 0


@pytest.mark.parametrize("workers", [1, 2])
def test_the_batch_collects_less_often_and_restores_the_thresholds(
    rules_dir: Path, small_pool: None, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files are converted with the collector's first threshold at ``YOUNG_COLLECTIONS``
    (forked workers inherit it); the caller's thresholds come back afterwards, and a collector
    the caller turned off stays off."""
    import gc
    import multiprocessing

    seen = multiprocessing.get_context("fork").Queue()  # from the workers
    here: list[int] = []
    original = worker.convert_file

    def spy(path: str, text: str | None, state: worker.WorkerState) -> object:
        threshold = gc.get_threshold()[0]
        if multiprocessing.parent_process() is None:
            here.append(threshold)
        else:
            seen.put(threshold)
        return original(path, text, state)

    monkeypatch.setattr(worker, "convert_file", spy)
    saved = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        convert_paths([str(rules_dir)], ["eql"], workers=workers, cache=False)
        assert gc.get_threshold() == (700, 10, 10)
        while not seen.empty():
            here.append(seen.get())
        assert here and set(here) == {worker.YOUNG_COLLECTIONS}
        gc.set_threshold(0, 10, 10)
        here.clear()
        convert_paths([str(rules_dir)], ["eql"], workers=1, cache=False)
        assert set(here) == {0} and gc.get_threshold() == (0, 10, 10)
    finally:
        gc.set_threshold(*saved)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _write_each_rule(results: list, roots: list[Path], output: Path, output_format: str) -> None:
    """The CLI's one-file-per-rule writer as it was before ``TreeWriter`` (the reference)."""
    from backends import TARGETS
    from converter.outputs.formats import FORMATS, SUFFIXES

    for r in results:
        if not r.queries:
            continue
        relative = Path(Path(r.path).name)
        for root in roots:
            if root.is_dir():
                try:
                    relative = Path(r.path).resolve().relative_to(root.resolve())
                    break
                except ValueError:
                    continue
        suffix = SUFFIXES[output_format] or TARGETS[r.target].suffix
        target = output / r.target / relative.with_suffix(suffix)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(FORMATS[output_format]([r]), encoding="utf-8")


@pytest.mark.parametrize("output_format", ["default", "kibana-ndjson"])
def test_tree_writer_writes_what_the_cli_wrote(
    rules_dir: Path, tmp_path: Path, output_format: str
) -> None:
    from converter.outputs.formats import TreeWriter

    # A link to a rule elsewhere goes by its real path: outside every root, so by its name.
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "linked.yml").write_text(GOOD.replace("1111-4111", "5555-4555"), encoding="utf-8")
    (rules_dir / "inline" / "sub").mkdir()
    (rules_dir / "inline" / "sub" / "link.yml").symlink_to(outside / "linked.yml")
    single = tmp_path / "single.yml"
    single.write_text(TWO_DOCS, encoding="utf-8")
    roots = [rules_dir / "inline", rules_dir, single]
    _, results = convert_paths([str(r) for r in roots], ["eql", "esql"], workers=1)
    _write_each_rule(results, roots, tmp_path / "old", output_format)
    writer = TreeWriter(tmp_path / "new", roots, output_format)
    for conversion in results:  # one at a time, as on_file hands them over
        writer.write([conversion])
    expected = _tree(tmp_path / "old")
    assert _tree(tmp_path / "new") == expected
    # The link is outside every root once resolved: it goes by its own name, at the top.
    assert {"eql/link.eql", "eql/link.ndjson"} & set(expected)
    assert not any("sub/link" in name for name in expected)
    assert any(name.startswith("eql/bundled/") for name in expected)


def test_tree_writer_refuses_savedsearches(tmp_path: Path) -> None:
    from converter.outputs.formats import TreeWriter

    with pytest.raises(KeyError):
        TreeWriter(tmp_path, [], "savedsearches")
