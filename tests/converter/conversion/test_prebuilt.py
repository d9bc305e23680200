"""Values sigport builds from its own files alone, kept in the persistent cache
(``converter.conversion.cache.prebuilt``): the built-in mapping tables in their typed form and the
backtest prefilter's case-folding table are read back by a later run, equal to what building
them gives, and built as before when the cache is off or holds no valid value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from converter.backtesting import needs, run
from converter.conversion.cache import Store, prebuilt
from converter.mapping import loader


def test_a_value_is_built_once_then_read_back(tmp_path: Path) -> None:
    store = Store("prebuilt", [], root=tmp_path)
    built: list[int] = []

    def build() -> dict[str, int]:
        built.append(1)
        return {"n": len(built)}

    def valid(value: Any) -> bool:
        return isinstance(value, dict)

    assert prebuilt(store, "x", build, valid) == {"n": 1}
    assert prebuilt(store, "x", build, valid) == {"n": 1}  # read back, not built
    assert len(built) == 1
    assert prebuilt(store, "x", build, lambda value: False) == {"n": 2}  # invalid: built again
    assert prebuilt(None, "x", build, valid) == {"n": 3}  # no cache: built every time
    assert prebuilt(Store("prebuilt", [], root=tmp_path / "file.txt"), "y", build, valid) == {"n": 4}


def test_builtin_tables_are_read_back_without_their_yaml(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store("prebuilt", [], root=tmp_path)
    monkeypatch.setattr(loader, "_PREBUILT", {})
    run.use_prebuilt_tables(store)  # loads every built-in table and stores them
    monkeypatch.setattr(loader, "_PREBUILT", {})

    def no_yaml(text: str) -> Any:
        raise AssertionError("a built-in table was parsed again")

    monkeypatch.setattr(loader, "_parse_yaml", no_yaml)
    run.use_prebuilt_tables(store)
    names = loader.builtin_table_names()
    assert sorted(loader._PREBUILT) == names
    load = loader.load_table.__wrapped__  # past the in-process memo
    for name in names:
        table = load(name)
        assert table is loader._PREBUILT[name]
        assert table == loader.load_table(name)  # the one loaded from its YAML
    with pytest.raises(AssertionError, match="parsed again"):  # a table file still is
        load(str(Path(loader.__file__).parent / "tables" / "ecs-windows.yml"))


def test_the_coarse_fold_table_is_read_back(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store("prebuilt", [], root=tmp_path)
    expected = needs._build_coarse_table()
    monkeypatch.setattr(needs, "_COARSE", [])
    needs.use_prebuilt_coarse_table(store)
    assert needs._coarse_table() == expected

    def never() -> dict[int, str]:
        raise AssertionError("built again")

    monkeypatch.setattr(needs, "_COARSE", [])
    monkeypatch.setattr(needs, "_build_coarse_table", never)
    needs.use_prebuilt_coarse_table(store)
    assert needs._coarse_table() == expected
    assert needs.coarse_fold("İſK") == "isk"
    monkeypatch.setattr(needs, "_COARSE", [])
    with pytest.raises(AssertionError, match="built again"):  # no cache: built
        needs.use_prebuilt_coarse_table(None)
