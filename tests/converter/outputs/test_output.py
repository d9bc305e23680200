"""Output files: never written through a symbolic link, always whole, never lost to a name
collision (issue 16, defects 3 and 4)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from converter.cli import main
from converter.cli.app import EXIT_INPUT
from converter.outputs.files import OutputError, write_file, write_named_file

RULE = """title: Rule {n}
id: 5f2b6a51-0000-4000-8000-00000000000{n}
logsource: {{product: windows, category: process_creation}}
detection:
    sel:
        Image|endswith: '\\\\tool{n}.exe'
    condition: sel
"""


def _rule(path: Path, n: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(RULE.format(n=n), encoding="utf-8")
    return path


def _leftovers(root: Path) -> list[Path]:
    """Temporary files a write left behind."""
    return [p for p in root.rglob(".*.tmp")]


# --- symbolic links (defect 3) --------------------------------------------------------------------


def test_a_linked_output_file_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n", encoding="utf-8")
    (tmp_path / "out" / "eql").mkdir(parents=True)
    (tmp_path / "out" / "eql" / "a.eql").symlink_to("../../victim")
    with pytest.raises(OutputError, match="symbolic link"):
        write_file(tmp_path / "out", Path("eql/a.eql"), "query\n")
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert (tmp_path / "out" / "eql" / "a.eql").is_symlink()
    assert not _leftovers(tmp_path)


def test_a_linked_directory_below_the_output_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "eql").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(OutputError, match="symbolic link"):
        write_file(tmp_path / "out", Path("eql/sub/a.eql"), "query\n")
    assert list(elsewhere.iterdir()) == []


def test_a_dangling_link_is_not_followed_either(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.eql").symlink_to(tmp_path / "created-by-following")
    with pytest.raises(OutputError):
        write_file(tmp_path / "out", Path("a.eql"), "query\n")
    assert not (tmp_path / "created-by-following").exists()


def test_the_named_output_directory_may_be_a_link(tmp_path: Path) -> None:
    """``-o DIR`` is the user's choice, link or not; only what lies below it is checked."""
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "named").symlink_to(real, target_is_directory=True)
    write_file(tmp_path / "named", Path("eql/a.eql"), "query\n")
    assert (real / "eql" / "a.eql").read_text(encoding="utf-8") == "query\n"


def test_paths_leaving_the_output_directory_are_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputError):
        write_file(tmp_path, Path("../x.eql"), "query\n")


def test_writes_replace_whole_files_and_leave_no_temporary_file(tmp_path: Path) -> None:
    write_file(tmp_path, Path("eql/a.eql"), "old, longer content\n")
    write_file(tmp_path, Path("eql/a.eql"), "new\n")
    assert (tmp_path / "eql" / "a.eql").read_text(encoding="utf-8") == "new\n"
    assert not _leftovers(tmp_path)


def test_an_unchanged_file_is_left_alone_and_a_changed_one_replaced(tmp_path: Path) -> None:
    """Rewriting the text a file already holds renames nothing over it (the same inode), so a
    rerun over unchanged rules costs no file replacement; other text of the same length, or a
    different length, replaces it."""
    target = tmp_path / "eql" / "a.eql"
    write_file(tmp_path, Path("eql/a.eql"), "same\n")
    before = os.stat(target).st_ino
    write_file(tmp_path, Path("eql/a.eql"), "same\n")
    assert os.stat(target).st_ino == before
    write_file(tmp_path, Path("eql/a.eql"), "sane\n")
    assert target.read_text(encoding="utf-8") == "sane\n"
    assert os.stat(target).st_ino != before
    write_file(tmp_path, Path("eql/a.eql"), "sane\nand more\n")
    assert target.read_text(encoding="utf-8") == "sane\nand more\n"
    assert not _leftovers(tmp_path)


def test_a_named_file_link_is_refused_but_a_device_is_written(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n", encoding="utf-8")
    (tmp_path / "report.json").symlink_to(victim)
    with pytest.raises(OutputError, match="symbolic link"):
        write_named_file(tmp_path / "report.json", "{}\n")
    assert victim.read_text(encoding="utf-8") == "precious\n"
    write_named_file(Path(os.devnull), "discarded\n")  # not replaced by a regular file
    assert not Path(os.devnull).is_file()


def test_convert_refuses_a_planted_link_with_one_line(tmp_path: Path) -> None:
    rule = _rule(tmp_path / "rules" / "a.yml", 1)
    victim = tmp_path / "victim"
    victim.write_text("precious\n", encoding="utf-8")
    (tmp_path / "out" / "eql").mkdir(parents=True)
    (tmp_path / "out" / "eql" / "a.eql").symlink_to(victim)
    result = CliRunner().invoke(main, ["convert", str(rule), "-t", "eql", "-o",
                                       str(tmp_path / "out") + "/"])
    assert result.exit_code == EXIT_INPUT, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "symbolic link" in lines[0] and "a.eql" in lines[0], lines
    assert victim.read_text(encoding="utf-8") == "precious\n"


def test_convert_refuses_a_linked_report(tmp_path: Path) -> None:
    rule = _rule(tmp_path / "a.yml", 1)
    victim = tmp_path / "victim"
    victim.write_text("precious\n", encoding="utf-8")
    (tmp_path / "report.json").symlink_to(victim)
    result = CliRunner().invoke(main, ["convert", str(rule), "-t", "eql", "--report",
                                       str(tmp_path / "report.json")])
    assert result.exit_code == EXIT_INPUT
    assert victim.read_text(encoding="utf-8") == "precious\n"


# --- name collisions (defect 4) -------------------------------------------------------------------


def test_two_inputs_with_one_name_give_two_files_and_say_so(tmp_path: Path) -> None:
    a1, a2 = _rule(tmp_path / "d1" / "a.yml", 1), _rule(tmp_path / "d2" / "a.yml", 2)
    out, report = tmp_path / "out", tmp_path / "report.json"
    result = CliRunner().invoke(main, ["convert", str(a1), str(a2), "-t", "eql", "-o",
                                       str(out) + "/", "--report", str(report)])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (out / "eql").iterdir())
    assert files == ["a.eql", "a~2.eql"]
    texts = {(out / "eql" / f).read_text(encoding="utf-8") for f in files}
    assert any("tool1.exe" in t for t in texts) and any("tool2.exe" in t for t in texts)
    assert "a~2.eql" in result.stderr and str(a2) in result.stderr
    collisions = json.loads(report.read_text(encoding="utf-8"))["collisions"]
    assert collisions == [{"path": str(a2), "target": "eql", "wanted": str(out / "eql" / "a.eql"),
                           "written": str(out / "eql" / "a~2.eql")}]


def test_collisions_between_input_directories_and_letter_case(tmp_path: Path) -> None:
    """``d1/`` and ``d2/`` holding the same relative path, and names differing only in case
    (one file on case-insensitive file systems), are kept apart too."""
    _rule(tmp_path / "d1" / "sub" / "x.yml", 1)
    _rule(tmp_path / "d2" / "sub" / "x.yml", 2)
    _rule(tmp_path / "d2" / "sub" / "X.yml", 3)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["convert", str(tmp_path / "d1"), str(tmp_path / "d2"),
                                       "-t", "eql", "-t", "kql", "-o", str(out) + "/"])
    assert result.exit_code == 0, result.output
    for target, suffix in (("eql", ".eql"), ("kql", ".kql")):
        names = sorted(p.name.casefold() for p in (out / target / "sub").iterdir())
        assert len(names) == 3 and len(set(names)) == 3, names
    assert result.stderr.count("is the output of another input file") == 4


def test_a_file_with_several_rules_keeps_every_query(tmp_path: Path) -> None:
    multi = tmp_path / "multi.yml"
    multi.write_text(RULE.format(n=1) + "---\n" + RULE.format(n=2), encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["convert", str(multi), "-t", "eql", "-o", str(out) + "/"])
    assert result.exit_code == 0, result.output
    text = (out / "eql" / "multi.eql").read_text(encoding="utf-8")
    assert "tool1.exe" in text and "tool2.exe" in text  # the second rule overwrote the first
