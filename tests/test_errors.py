"""sigport's one error root: every layer's error is a ``SigportError`` carrying its location and
printing as one line; the CLI prints any of them as one ``sigport: error:`` line and keeps
"internal error" for exceptions that are not (bugs)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from backends import TARGETS
from backends.errors import SigportError, UnsupportedError
from backends.query.errors import QueryParseError, UnsupportedQueryError
from converter.cli import main
from converter.errors import DEBUG_ENV, ConverterError, PipelineError, RuleLoadError, format_error
from converter.events.bounded import InputError
from converter.events.render import read_jsonl
from converter.generate.regex import RegexUnsupported
from converter.importer.lower import NotImportable
from converter.mapping.index_mapping import field_model_for
from converter.reference.logsources import LogsourceUnsupported
from converter.reference.values import Unsupported
from converter.rules.load import load_rules


def test_a_rule_input_error_has_file_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("title: x\ndetection: [a\n")
    (loaded,) = load_rules([str(bad)])
    error = loaded.error
    assert isinstance(error, RuleLoadError) and isinstance(error, SigportError)
    assert (error.path, error.line) == (str(bad), 3) and error.column is not None
    assert error.one_line().startswith(f"{bad}:3:{error.column}: ") and "\n" not in error.one_line()


def test_a_query_parse_error_has_line_column_and_caret() -> None:
    parse = TARGETS["eql"].parse_function()
    assert parse is not None
    with pytest.raises(QueryParseError) as info:
        parse('process where\n  process.name == "a" and (')
    error = info.value
    assert isinstance(error, SigportError)
    assert (error.line, error.column) == (2, error.column) and error.column > 1
    lines = str(error).split("\n")
    assert len(lines) == 3 and lines[2].strip().startswith("^")  # the caret stays in str()
    assert error.one_line() == lines[0] and lines[0].startswith("EQL parse error at line 2")
    error.path = "rules/a.yml"
    assert error.one_line() == f"rules/a.yml: {lines[0]}"
    assert format_error(error) == f"rules/a.yml: {lines[0]}"


def test_a_mapping_error_names_its_file(tmp_path: Path) -> None:
    bad = tmp_path / "mapping.json"
    bad.write_text("{not json")
    with pytest.raises(PipelineError) as info:
        field_model_for(None, bad)
    assert isinstance(info.value, SigportError) and info.value.path == str(bad)
    assert info.value.one_line().startswith(f"{bad}") and "\n" not in info.value.one_line()


def test_an_input_error_names_file_and_line(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"a": 1}\n{broken\n')
    with pytest.raises(InputError) as info:
        read_jsonl(events)
    error = info.value
    assert isinstance(error, ConverterError) and isinstance(error, SigportError)
    assert (error.path, error.line) == (str(events), 2)
    assert error.one_line().startswith(f"{events}:2") and "\n" not in error.one_line()


@pytest.mark.parametrize("cls", [Unsupported, LogsourceUnsupported, RegexUnsupported,
                                 UnsupportedQueryError])
def test_every_unsupported_is_one_class(cls: type[Exception]) -> None:
    error = cls("lookbehind")
    assert isinstance(error, UnsupportedError) and str(error) == "lookbehind"
    assert error.one_line() == "lookbehind"  # type: ignore[attr-defined]


def test_not_importable_is_unsupported_with_its_group() -> None:
    error = NotImportable("regex", "a lookahead")
    assert isinstance(error, UnsupportedError) and str(error) == "regex: a lookahead"


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def _raising(error: BaseException):  # type: ignore[no-untyped-def]
    def convert(*args: object, **kwargs: object) -> None:
        raise error
    return convert


def test_the_cli_prints_any_layer_error_as_one_line(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    rule = tmp_path / "r.yml"
    rule.write_text("title: x\n")
    error = QueryParseError("expected ')'", 'process where (', 15, language="eql")
    error.path = "r.yml"
    monkeypatch.setattr("converter.api.convert", _raising(error))
    result = runner.invoke(main, ["convert", str(rule), "-t", "eql"])
    assert result.exit_code == 2
    assert result.stderr == f"sigport: error: {error.one_line()}\n"
    assert "internal error" not in result.stderr


def test_an_unexpected_exception_is_still_an_internal_error_line(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    rule = tmp_path / "r.yml"
    rule.write_text("title: x\n")
    monkeypatch.setattr("converter.api.convert", _raising(KeyError("boom")))
    result = runner.invoke(main, ["convert", str(rule), "-t", "eql"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("sigport: internal error: KeyError: 'boom' (run with --debug")


def test_rule_limits_and_reference_refusals_are_sigport_errors() -> None:
    from converter.reference.evaluator import ReferenceEvaluationError
    from converter.rules.limits import LimitExceeded

    error = LimitExceeded("too many values", key="detection")
    assert isinstance(error, SigportError) and isinstance(error, ValueError)
    assert (str(error), error.key) == ("too many values", "detection")
    assert isinstance(ReferenceEvaluationError("not a rule"), SigportError)


GOOD_RULE = Path(__file__).parent.parent / "sigma_rules/windows/process_creation/proc_creation_win_zoom_suspicious_child_process.yml"


def _buggy(*_: object, **__: object) -> object:
    raise TypeError("a planted bug")


@pytest.mark.parametrize("command", ["convert", "check"])
def test_debug_shows_the_traceback_of_a_bug_caught_inside_a_batch(
    monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    # A bug in one rule's conversion (or check) is caught so the batch goes on; --debug showed
    # no traceback for it, only the one-line reason.
    from backends.eql.backend import SigportEqlBackend
    from converter.checking.checker import Checker

    if command == "convert":
        monkeypatch.setattr(SigportEqlBackend, "convert_rule", _buggy)
        args = ["convert", str(GOOD_RULE), "-t", "eql", "--no-cache", "--workers", "1"]
    else:
        monkeypatch.setattr(Checker, "check", _buggy)
        args = ["check", str(GOOD_RULE), "-t", "eql"]
    quiet = CliRunner().invoke(main, args)
    assert "internal error" in quiet.output and "Traceback" not in quiet.output
    loud = CliRunner().invoke(main, ["--debug", *args])
    assert "internal error" in loud.output, loud.output
    assert "Traceback (most recent call last)" in loud.stderr and "_buggy" in loud.stderr
    assert 'raise TypeError("a planted bug")' in loud.stderr
    assert os.environ.get(DEBUG_ENV) is None  # --debug lasts as long as its command


ZOOM = Path(__file__).resolve().parents[1] / (
    "sigma_rules/windows/process_creation/proc_creation_win_zoom_suspicious_child_process.yml")


@pytest.mark.parametrize("args", [
    ["convert", str(ZOOM), "-t", "eql", "-o", ""],
    ["convert", str(ZOOM), "-t", "eql", "--report", ""],
    ["check", str(ZOOM), "-t", "eql", "--markdown", ""],
    ["mapping", str(ZOOM), "-o", ""],
    ["import", "elastic", "RULE", "-o", ""],
    ["import", "elastic", "RULE", "-o", "OUT", "--report", ""],
    ["regress", "DIR", "--known-gaps", ""],
])
def test_an_empty_output_path_is_refused_before_anything_is_written(
        args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty output path names no file. It was read as the current directory: ``convert -o ''``
    and ``import -o ''`` wrote their trees there and exited 0, ``mapping -o ''`` was an internal
    error, ``--report ''`` and ``--markdown ''`` said '.: is not a path inside the output
    directory' after the run."""
    toml = tmp_path / "in" / "zoom_rule.toml"
    toml.parent.mkdir()
    toml.write_text(
        '[metadata]\ncreation_date = "2024/01/01"\n\n[rule]\nauthor = ["x"]\ndescription = "d"\n'
        'language = "kuery"\nname = "n"\nrisk_score = 1\nrule_id = "r1"\nseverity = "low"\n'
        'type = "query"\nquery = \'process.name : "cmd.exe"\'\n', encoding="utf-8")
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    args = [{"RULE": str(toml), "OUT": str(tmp_path / "out"), "DIR": str(tmp_path)}.get(a, a)
            for a in args]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "empty" in result.output and "internal error" not in result.output, result.output
    assert list(work.iterdir()) == [] and not (tmp_path / "out").exists()
