"""Hostile regular expressions in the generator and in the regex engine of the reference and
the interpreters (session 10): each test fails on the code before its fix.

* ``check --generate`` picked event values with a plain ``re.search`` (``generate.values.
  satisfies``): a filter ``|re`` that backtracks hung it. It now runs the reference's bounded
  engine, which also reads ``\\d \\s \\w`` as ASCII like the reference.
* The generator's regex example wrote out every repeat count: ``a{4000000000}`` is a 4 GB string.
* The ``regex`` package (which runs every pattern, for its time limit) writes out repeat counts
  when it compiles: ``((ab{1000}){1000}){1000}`` exhausted the machine's memory.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from backends.query.errors import UnsupportedQueryError
from backends.query.patterns import MAX_EXPANSION, BoundedPattern
from converter.generate.plan import Rx
from converter.generate.regex import MAX_EXAMPLE_CHARS, RegexUnsupported, regex_example
from converter.generate.values import satisfies
from converter.reference import engine_gaps
from converter.reference.values import Unsupported, compiled_regex

ROOT = Path(__file__).resolve().parents[1]


def test_the_generator_decides_a_regex_as_the_reference_does() -> None:
    # PCRE's \d is ASCII (the reference's reading); Python's re matched Arabic-Indic digits.
    assert satisfies("3", Rx(r"^\d$", 0)) is True
    assert satisfies("\u0663", Rx(r"^\d$", 0)) is False
    # A pattern the reference cannot run is "cannot tell", never a guess.
    assert satisfies("x", Rx(r"[\D]", 0)) is None


def test_check_generate_does_not_hang_on_a_backtracking_filter(tmp_path: Path) -> None:
    """A value picked for the selection is tested against the filter's regex: 35 a's against
    ``(a+)+b`` backtracked for hours in ``re``."""
    rule = tmp_path / "redos_filter.yml"
    rule.write_text(
        "title: backtracking filter\nid: 6a0c3c7e-3333-4a1a-9a9a-000000000001\n"
        "logsource: {product: windows, category: process_creation}\n"
        "detection:\n  sel:\n    CommandLine|contains: '" + "a" * 35 + "'\n"
        "  filter:\n    CommandLine|re: '(a+)+b'\n  condition: sel and not filter\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "converter.cli", "check", str(rule), "--generate", "-t", "eql"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("pattern", [r"(ab{1000}){1000}", r"a{4000000000}", r"(?:a{60000}|b{60000})"])
def test_a_regex_example_is_bounded_in_size(pattern: str) -> None:
    with pytest.raises(RegexUnsupported, match=f"{MAX_EXAMPLE_CHARS:,} characters"):
        regex_example(pattern, 0, random.Random(0))


def test_ordinary_counts_still_give_examples() -> None:
    example = regex_example(r"^[0-9a-f]{32}\.{3}x{1000}$", 0, random.Random(0))
    assert len(example) == 1035 and re.fullmatch(r"[0-9a-f]{32}\.{3}x{1000}", example)


@pytest.mark.parametrize("pattern", [r"a{200000}", r"(ab{1000}){1000}", r"((ab{1000}){1000}){1000}",
                                     r"(?:x|(?:yz){500}){300}"])
def test_the_reference_refuses_counts_its_engine_would_write_out(pattern: str) -> None:
    with pytest.raises(Unsupported, match="repeat counts"):
        compiled_regex(pattern, 0)


@pytest.mark.parametrize("pattern", [r"a{200000}", r"((ab{1000}){1000}){1000}"])
def test_the_interpreters_refuse_counts_their_engine_would_write_out(pattern: str) -> None:
    with pytest.raises(UnsupportedQueryError, match="repeat counts"):
        BoundedPattern(re.compile(pattern), pattern)


@pytest.mark.parametrize("pattern", [r"a{100000}", r"[0-9a-f]{32}", r".{1000,}", r"(a|b){0,99999}x",
                                     r"(?=a{50})(?>b{70})c++"])
def test_counts_within_the_bound_still_run(pattern: str) -> None:
    assert engine_gaps.MAX_EXPANSION == MAX_EXPANSION  # one bound for both layers
    compiled_regex(pattern, 0).search("b")
    BoundedPattern(re.compile(pattern), pattern).search("b")


@pytest.mark.parametrize(("pattern", "words"), [
    (r"(a)\1x", "backreference"),
    (r"(?=ab)a", "group construct '(?=a'"),
    (r"(?<=a)b", "group construct '(?<='"),
])
def test_a_rule_without_generated_events_names_the_regex_not_its_logsource(
    tmp_path: Path, pattern: str, words: str
) -> None:
    """A regex the example generator does not model left ``check --generate`` with no event and
    the error "(see its logsource)", which pointed at a sound logsource; it now names the
    regular expression, its field and the construct."""
    from click.testing import CliRunner

    from converter.cli import main

    rule = tmp_path / "lookaround.yml"
    rule.write_text(
        "title: lookaround\nid: 6a0c3c7e-3333-4a1a-9a9a-000000000002\n"
        "logsource: {product: windows, category: process_creation}\n"
        "detection:\n  sel:\n    Image|endswith: '\\a.exe'\n"
        f"  re:\n    CommandLine|re: '{pattern}'\n  condition: sel and re\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["check", str(rule), "--generate", "-t", "eql",
                                       "--format", "json"])
    assert result.exit_code == 2, result.output
    (checked,) = json.loads(result.stdout)["rules"]
    assert "see its logsource" not in checked["error"], checked["error"]
    assert f"no example of the regular expression {pattern!r} of CommandLine" in checked["error"]
    assert words in checked["error"], checked["error"]
