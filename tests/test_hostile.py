"""Hostile inputs: a batch of malicious or broken rule files, and catastrophic regexes.

The batch runs ``sigport convert DIR -t eql --report`` in a subprocess with a wall-clock timeout
and an address-space cap (``RLIMIT_AS``), so a regression (an alias bomb expanded, a recursion
that hangs, a regex that backtracks for minutes) fails the test instead of hanging CI. There are
no timing assertions beyond those generous limits.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from backends.query import ast
from backends.query.errors import UnsupportedQueryError
from backends.query.evaluate import matches
from backends.query.matching import MatchTimeout, glob_to_regex, lucene_regex, pcre_regex
from converter.reference.evaluator import compile_rule
from converter.rules.load import MAX_ALIAS_EXPANSION, MAX_CONDITION_DEPTH, load_text

ROOT = Path(__file__).resolve().parent.parent
SYSMON = "Microsoft-Windows-Sysmon/Operational"
#: Address-space cap for the subprocesses: far above what the batch needs (~0.5 GiB), far below
#: what an expanded alias bomb would take.
MEMORY_CAP = 3 * 1024**3
#: Wall-clock cap for one subprocess; the batch takes well under a minute.
TIMEOUT = 600


def _rule(condition: str = "sel", selection: str = "    Image|endswith: '\\cmd.exe'", n: int = 1,
          extra: str = "") -> str:
    return (
        "title: Hostile test rule\n"
        f"id: 5f0c3c7e-1111-4a1a-9a9a-{n:012d}\n"
        "status: test\n"
        "logsource:\n  category: process_creation\n  product: windows\n"
        f"detection:\n  sel:\n{selection}\n  condition: {condition}\n"
        "level: low\n" + extra
    )


def _bomb(levels: int, anchor_value: str = "'x'") -> str:
    """Billion laughs: each level is a list of ten aliases of the previous one."""
    lines = [f"  l0: &l0 [{anchor_value}]"]
    for i in range(1, levels + 1):
        lines.append(f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
    return "\n".join(lines)


def _limit_memory() -> None:  # runs in the child, before exec
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def _run_python(args: list[str], code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        preexec_fn=_limit_memory,
        stdin=subprocess.DEVNULL,
    )


# --- item 6: a batch of hostile files --------------------------------------------------------


def _write_batch(folder: Path) -> dict[str, str]:
    """Write the hostile files; returns file name -> expected status."""
    files: dict[str, bytes | str] = {}
    expected: dict[str, str] = {}

    def add(name: str, content: bytes | str, status: str) -> None:
        files[name] = content
        expected[name] = status

    add("good.yml", _rule(n=1), "converted")
    add("nested/good2.yml", _rule(n=2, selection="    CommandLine|contains: 'whoami'"), "converted")
    add("parens_1000.yml", _rule("(" * 1000 + "sel" + ")" * 1000, n=3), "error")  # counted
    add("not_1000.yml", _rule("not " * 1000 + "sel", n=4), "error")
    add("not_parens_500.yml", _rule("(not " * 500 + "sel" + ")" * 500, n=5), "error")
    add("and_200.yml", _rule("(sel and " * 200 + "sel" + ")" * 200, n=6), "error")
    add("alias_bomb_detection.yml",
        _rule(n=7, selection="    Image|endswith: *l9").replace(
            "detection:\n", "detection:\n  defs:\n" + textwrap.indent(_bomb(9), "  ") + "\n"),
        "error")
    add("alias_bomb_custom.yml", "x_bomb:\n" + _bomb(9) + "\n" + _rule(n=8, extra="x: *l9\n"),
        "error")
    add("alias_cycle.yml", _rule(n=9, extra="x: &a [*a]\n"), "error")
    ten_mb = "A" * (10 * 2**20)
    # Over MAX_RULE_CHARS / MAX_DETECTION_VALUES: refused before they are parsed or built.
    add("ten_mb.yml", _rule(n=10, selection=f"    CommandLine|contains: '{ten_mb}'"), "error")
    values = "".join(f"      - 'v{i}'\n" for i in range(100_000))
    add("values_100k.yml", _rule(n=11, selection="    CommandLine|contains:\n" + values),
        "error")
    add("invalid_utf8.yml", b"title: \xff\xfe broken\n", "error")
    add("binary.yml", bytes(range(256)) * 64, "error")
    add("binary_utf8.yml", "\x00\x01\x02 title: x\x7f\n", "error")
    add("malformed.yml", "title: [unclosed\n  - : :\n", "error")
    add("not_a_rule.yml", "foo: bar\nbaz: [1, 2]\n", "error")
    add("a_list.yml", "- a\n- b\n", "error")
    add("a_scalar.yml", "just text\n", "error")
    add("empty.yml", "", "error")
    add("deep_yaml.yml", "a: " + "[" * 20_000 + "]" * 20_000 + "\n", "error")
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return expected


def test_hostile_batch_is_bounded_and_accounted_for(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    expected = _write_batch(rules)
    report = tmp_path / "report.json"
    out = tmp_path / "out"
    out.mkdir()
    result = _run_python(
        ["convert", str(rules), "-t", "eql", "--report", str(report), "-o", f"{out}/"],
        "from converter.cli import main; main()",
    )
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "internal error" not in result.stderr, result.stderr[-3000:]
    assert result.returncode == 2, result.stderr[-3000:]  # some rules failed to load
    entries = json.loads(report.read_text(encoding="utf-8"))["rules"]
    by_file = {str(Path(e["path"]).relative_to(rules)): e for e in entries}
    assert sorted(by_file) == sorted(expected)  # every file accounted for, once
    for name, status in expected.items():
        entry = by_file[name]
        assert entry["status"] == status, (name, entry["reason"])
        if status == "error":
            # One line naming the file in the report and on standard error.
            assert "\n" not in entry["reason"] and name in entry["reason"]
            lines = [ln for ln in result.stderr.splitlines() if ln.startswith(str(rules / name))]
            assert len(lines) == 1, (name, lines)
        else:
            assert entry["output"], name
    # The good rules' queries were written.
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == [f"eql/{Path(n).with_suffix('.eql')}" for n, s in sorted(expected.items())
                       if s == "converted"]


# --- item 6: the loader's limits, in process (cheap) --------------------------------------------


def test_alias_bomb_is_refused_before_expansion() -> None:
    loaded = load_text("x_bomb:\n" + _bomb(12) + "\n" + _rule(), "bomb.yml")
    assert len(loaded) == 1 and loaded[0].rule is None
    assert "refused YAML: YAML aliases expand" in loaded[0].error.one_line()


@pytest.mark.parametrize("number", ["99999999999999999999", "9007199254740993", "-18446744073709551617"])
def test_an_integer_no_float_holds_is_refused_with_its_location(number: str) -> None:
    """pySigma keeps a float where int(x) != float(x): the rule's 99999999999999999999 became
    1e+20 in every query and in the reference (which then matched '1e+20', not the rule's text)."""
    loaded = load_text(_rule(selection=f"    ProcessId: {number}"), "big.yml")
    assert loaded[0].rule is None
    line = loaded[0].error.one_line()
    assert "big.yml:9:" in line and f"the integer {number} has no exact floating-point form" in line


@pytest.mark.parametrize("number", ["9007199254740992", "100000000000000000000", "4294967295"])
def test_an_integer_a_float_holds_exactly_still_loads(number: str) -> None:
    assert load_text(_rule(selection=f"    ProcessId: {number}"), "ok.yml")[0].rule is not None


@pytest.mark.parametrize(("selection", "where"), [
    ("    CommandLine|re: 'a(b'", "big.yml:9:22:"),  # the pattern's text
    ("    CommandLine|cased|re: 'ab'", "big.yml:9:22:"),  # |re after another modifier
    ("    CommandLine|base64offset|contains: 'a*b'", "big.yml:9:16:"),  # pySigma's base64 refusal
])
def test_a_bad_regex_is_located(selection: str, where: str) -> None:
    """pySigma's regex errors carry no position: they were reported with the file alone."""
    line = load_text(_rule(selection=selection), "big.yml")[0].error.one_line()
    assert line.startswith(where), line


def test_alias_cycle_is_refused() -> None:
    loaded = load_text(_rule(extra="x: &a [1, *a]\n"), "cycle.yml")
    assert "contains it" in loaded[0].error.one_line()


def test_modest_alias_use_still_loads() -> None:
    # An anchor reused a few times is legitimate YAML; only the expansion is bounded.
    text = _rule(selection="    Image|endswith: &ends ['\\cmd.exe', '\\pwsh.exe']",
                 extra="x_copy: *ends\n")
    loaded = load_text(text, "alias.yml")
    assert loaded[0].error is None, loaded[0].error
    assert MAX_ALIAS_EXPANSION >= 1000


@pytest.mark.parametrize(
    "condition, ok",
    [
        ("not " * (MAX_CONDITION_DEPTH - 1) + "sel", True),
        ("not " * MAX_CONDITION_DEPTH + "sel", False),
        ("(" * MAX_CONDITION_DEPTH + "sel" + ")" * MAX_CONDITION_DEPTH, True),
        ("(" * (MAX_CONDITION_DEPTH + 1) + "sel" + ")" * (MAX_CONDITION_DEPTH + 1), False),
        ("(" * 10_000 + "sel" + ")" * 10_000, False),  # refused before pySigma parses it
        ("not " * 900 + "sel", False),  # longer ones: MAX_CONDITION_TOKENS
    ],
)
def test_condition_depth_limit(condition: str, ok: bool) -> None:
    loaded = load_text(_rule(condition), "deep.yml")[0]
    if ok:
        assert loaded.error is None, loaded.error
    else:
        assert loaded.rule is None and "levels" in loaded.error.one_line()
        assert loaded.error.line is not None  # points at the condition


def test_every_target_converts_a_rule_at_the_depth_limit() -> None:
    from converter.conversion.convert import convert_all

    condition = "(sel and " * (MAX_CONDITION_DEPTH - 2) + "sel" + ")" * (MAX_CONDITION_DEPTH - 2)
    loaded = load_text(_rule(condition), "deep.yml")
    assert loaded[0].error is None
    for conversion in convert_all(loaded, ["eql", "kql", "lucene", "splunk", "splunk-cim"]):
        assert conversion.status == "converted", (conversion.target, conversion.reason)


# --- item 7: catastrophic regexes ------------------------------------------------------------


def _catastrophic_rule(modifier: str = "re", value: str = "^(a+)+$") -> str:
    return _rule(selection=f"    CommandLine|{modifier}: '{value}'", n=99)


def test_reference_times_out_to_an_explicit_unsupported_verdict() -> None:
    compiled = compile_rule(load_text(_catastrophic_rule(), "re.yml")[0].rule)
    event = {"EventID": 1, "Channel": SYSMON, "CommandLine": "a" * 40_000 + "b"}
    verdict = compiled.evaluate(event)
    assert verdict.matched is None
    assert "5f0c3c7e-1111-4a1a-9a9a-000000000099" in verdict.unsupported  # names the rule
    assert "^(a+)+$" in verdict.unsupported and "40001-character" in verdict.unsupported
    # Values as long are refused at once (they would cost the limit again) and say so; shorter
    # ones are still decided, so one hostile value leaves ordinary events their verdicts.
    again = compiled.evaluate(dict(event, CommandLine="a" * 40_001 + "c"))
    assert again.matched is None and "40001-character" in again.unsupported
    assert compiled.evaluate(dict(event, CommandLine="aaa")).matched is True
    assert compiled.detection_matches(event) is None


def test_reference_regex_still_decides_ordinary_values() -> None:
    compiled = compile_rule(load_text(_catastrophic_rule(value="^(ab)+c$"), "re.yml")[0].rule)
    base = {"EventID": 1, "Channel": SYSMON}
    assert compiled.evaluate(dict(base, CommandLine="ababc")).matched is True
    assert compiled.evaluate(dict(base, CommandLine="ababx")).matched is False
    assert compiled.evaluate(dict(base, CommandLine="ababc\n")).matched is True  # $ before \n


def test_reference_glob_with_many_wildcards_is_bounded() -> None:
    # Sigma '*a*a*...*b' compiles to '.*a.*a...' which backtracks polynomially.
    value = "*a" * 9 + "*b?"
    text = _rule(selection=f"    CommandLine: '{value}'")
    compiled = compile_rule(load_text(text, "g.yml")[0].rule)
    verdict = compiled.evaluate({"EventID": 1, "Channel": SYSMON, "CommandLine": "a" * 6000})
    assert verdict.matched is None and "wildcard value" in verdict.unsupported


@pytest.mark.parametrize(
    "compile_pattern, subject",
    [
        (lambda: pcre_regex("^(a+)+$").search, "a" * 50_000 + "b"),
        (lambda: pcre_regex("(x+x+)+y").search, "x" * 6000),
        (lambda: lucene_regex("(a|aa)+").fullmatch, "a" * 6000 + "b"),
        (lambda: glob_to_regex(tuple([ast.Wildcard.ANY, "a"] * 9 + [ast.Wildcard.ANY, "b"]))
         .fullmatch, "a" * 6000),
    ],
    ids=["pcre-nested-plus", "pcre-xx", "lucene-alternation", "glob-stars"],
)
def test_matching_times_out_with_unsupported(compile_pattern, subject: str) -> None:
    match = compile_pattern()
    with pytest.raises(MatchTimeout) as info:
        match(subject)
    assert isinstance(info.value, UnsupportedQueryError)
    with pytest.raises(MatchTimeout, match="earlier value"):  # as long: refused at once
        match(subject + "x")
    match("short")  # shorter values are still decided


def test_evaluator_raises_unsupported_not_false() -> None:
    tree = ast.Regex(field="process.command_line", pattern="^(b+)+$", dialect=ast.RegexDialect.PCRE)
    with pytest.raises(UnsupportedQueryError):
        matches(tree, {"process.command_line": "b" * 40_000 + "c"})


def test_check_reports_a_catastrophic_rule_as_not_checked(tmp_path: Path) -> None:
    """End to end in a subprocess: ``sigport check`` finishes and says why nothing was proven."""
    rule = tmp_path / "rules" / "catastrophic.yml"
    rule.parent.mkdir()
    rule.write_text(_catastrophic_rule(value="^(c+)+$"), encoding="utf-8")
    events = tmp_path / "events.jsonl"
    events.write_text(
        json.dumps({"EventID": 1, "Channel": SYSMON, "Image": "C:\\x.exe",
                    "CommandLine": "c" * 40_000 + "d"}) + "\n",
        encoding="utf-8",
    )
    code = textwrap.dedent(
        """
        import json, sys
        from converter.rules.load import load_rules
        from converter.events.render import read_jsonl
        from converter.checking.checker import Checker
        loaded = load_rules([sys.argv[1]])[0]
        events = read_jsonl(sys.argv[2])
        result = Checker(["eql", "splunk"]).check(loaded, events)
        print(json.dumps(result.to_json()))
        """
    )
    result = _run_python([str(rule), str(events)], code)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert "catastrophic backtracking" in report["reference"]["unsupported"]
    for name, target in report["targets"].items():
        assert target["equivalent"] is not True, name
