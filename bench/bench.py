"""sigport benchmarks: corpus conversion against sigma-cli, EQL evaluation against the eql package.

Run from the project root with the project's virtualenv::

    python bench/bench.py [--runs N] [--corpus PATH] [--sigma-cli PATH] [--workers N] [--backtest]

It measures on this machine, in this one run, and writes BENCHMARKS.md (``--output`` to change):

- conversion, whole process: ``sigport convert DIR -t eql -o OUT/`` (parallel path) and the serial
  path against ``sigma convert -t eql -p ecs_windows -s DIR`` (sigma-cli from its own virtualenv),
  runs alternated, wall time, CPU time (user+sys of the process and its workers) and peak RSS,
  then the CPU time of the serial conversion per phase;
- conversion rate per target (rules/s) for every target;
(the conversion measurements live in bench/conversion.py);
- evaluation: events/s of sigport's EQL interpreter (parse + ``compile_query`` once, then one call
  per event) against the eql package's PythonEngine on the same queries and the same events,
  alternated in the same process.

Speed is reported here, never asserted in tests. Other processes on the machine skew wall times:
the load average before and after is recorded, and CPU times are reported beside wall times
because they are far less sensitive to it.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The conversion measurements, from this file's folder (``python bench/bench.py`` puts it first
# on sys.path; importing bench.bench from elsewhere needs it added).
if str(ROOT / "bench") not in sys.path:
    sys.path.insert(0, str(ROOT / "bench"))
from conversion import conversion_section, targets_section  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared/corpus/sigmahq/rules/windows/process_creation"
DEFAULT_SIGMA_CLI = Path("/work/bench-venv/bin/sigma")
ZOOM_RULE = ROOT / "sigma_rules/windows/process_creation" / (
    "proc_creation_win_zoom_suspicious_child_process.yml"
)
SIGPORT_PACKAGES = (
    "pySigma", "pySigma-backend-elasticsearch", "pysigma-backend-splunk", "PyYAML", "lark", "eql",
    "click", "rich",
)


# --- the machine -------------------------------------------------------------------------------


def machine() -> list[str]:
    """Lines describing the CPU, cores, memory, Python and package versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    import yaml

    versions = ", ".join(f"{p} {_version(p)}" for p in SIGPORT_PACKAGES)
    return [
        f"- CPU: {cpu}; {os.cpu_count()} logical cores, {usable} usable by this process",
        f"- RAM: {ram}",
        f"- OS: {platform.platform()}",
        f"- Python {platform.python_version()} ({sys.executable})",
        f"- sigport's packages: {versions}; libyaml: {'yes' if yaml.__with_libyaml__ else 'no'}",
    ]


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def sigma_cli_versions(sigma: Path) -> str:
    """Versions in sigma-cli's own virtualenv."""
    python = sigma.parent / "python"
    code = (
        "from importlib import metadata; import yaml\n"
        "names = ['sigma-cli', 'pySigma', 'pySigma-backend-elasticsearch', 'PyYAML']\n"
        "print(', '.join(f'{n} {metadata.version(n)}' for n in names) + "
        "'; libyaml: ' + ('yes' if yaml.__with_libyaml__ else 'no'))"
    )
    try:
        done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
        return done.stdout.strip()
    except (OSError, subprocess.CalledProcessError) as exc:
        return f"unknown ({exc})"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " / ".join(f"{v:.2f}" for v in os.getloadavg())


# --- evaluation --------------------------------------------------------------------------------



def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    """A dotted flat event as nested objects (the eql package reads only nested ones)."""
    out: dict[str, Any] = {}
    for key in sorted(flat, key=lambda k: k.count(".")):
        node = out
        *parents, last = key.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):  # a value and an object under one name: keep the value
                break
            node = child
        else:
            value = flat[key]
            # A one-element array as its element: the same to Elasticsearch and to sigport, but
            # the eql package compares an array with == as a whole, so `event.type == "start"`
            # would fail on ["start"] and end every evaluation at its first test.
            node[last] = value[0] if isinstance(value, list) and len(value) == 1 else value
    return out


def _background_events(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """Ordinary process starts (Sigma taxonomy), deterministic, most matching no rule."""
    import random

    rng = random.Random(seed)
    images = [
        r"C:\Windows\System32\svchost.exe", r"C:\Windows\System32\cmd.exe",
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        r"C:\Program Files\Google\Chrome\Application\chrome.exe", r"C:\Windows\explorer.exe",
        r"C:\Windows\System32\conhost.exe", r"C:\Windows\System32\rundll32.exe",
        r"C:\Users\alice\AppData\Local\Microsoft\Teams\current\Teams.exe",
        r"C:\Windows\System32\reg.exe", r"C:\Windows\System32\schtasks.exe",
    ]
    args = ["", " /c dir", " -nop -c Get-Date", " --type=renderer", " /s", " query HKLM\\Software",
            " /create /tn update", " shell32.dll,Control_RunDLL", " -k netsvcs -p"]
    out = []
    for i in range(count):
        image, parent = rng.choice(images), rng.choice(images)
        name = image.rsplit("\\", 1)[-1]
        out.append({
            "EventID": 1, "Channel": "Microsoft-Windows-Sysmon/Operational",
            "Image": image, "ParentImage": parent, "OriginalFileName": name.upper(),
            "CommandLine": f'"{image}"{rng.choice(args)}', "ParentCommandLine": f'"{parent}"',
            "User": rng.choice([r"CORP\\alice", r"NT AUTHORITY\\SYSTEM"]), "ProcessId": 1000 + i,
            "ParentProcessId": 4, "IntegrityLevel": rng.choice(["Medium", "High", "System"]),
            "CurrentDirectory": r"C:\Windows\System32\\",
        })
    return out


def _eql_queries(corpus: Path, heavy: int) -> list[tuple[str, str, Any]]:
    """(name, EQL text, parsed rule): the Zoom rule and the heaviest rules both parsers take."""
    import eql

    from backends.eql.parser import parse
    from converter.conversion.convert import Converter
    from converter.rules.load import load_rules

    converter = Converter("eql")
    candidates = []
    for loaded in load_rules([ZOOM_RULE]) + load_rules([corpus]):
        if loaded.rule is None:
            continue
        conv = converter.convert(loaded)
        if len(conv.queries) != 1:
            continue
        text = conv.queries[0]
        try:
            parse(text)
            with eql.parser.elasticsearch_syntax, eql.parser.ignore_missing_functions:
                eql.parse_query(text)
        except Exception:  # a query either parser refuses is not comparable
            continue
        candidates.append((Path(loaded.path).stem, text, loaded.rule))
    zoom, rest = candidates[0], candidates[1:]
    rest.sort(key=lambda c: len(c[1]), reverse=True)
    chosen, families = [zoom], set()
    for candidate in rest:
        # One query per rule family: SigmaHQ splits long lists over rules named _1, _2, ...
        family = re.sub(r"_\d+$", "", candidate[0])
        if family not in families and len(chosen) <= heavy:
            families.add(family)
            chosen.append(candidate)
    return chosen


def _rate(count: int, times: list[float]) -> str:
    """Events/s as ``median (min-max)``."""
    return (
        f"{count / statistics.median(times):,.0f} "
        f"({count / max(times):,.0f}-{count / min(times):,.0f})"
    )


def evaluation_section(corpus: Path, runs: int, n_events: int) -> list[str]:
    """events/s of sigport's EQL interpreter and the eql PythonEngine on the same events."""
    import eql

    from backends.eql.parser import parse
    from backends.query.evaluate import compile_query
    from converter.events.render import EventRenderer, SampleEvent
    from converter.mapping.loader import load_table

    print("evaluation: sigport vs eql", file=sys.stderr)
    queries = _eql_queries(corpus, heavy=4)
    samples: list[SampleEvent] = []
    try:
        from converter.generate.generator import generate_events

        for _, _, rule in queries:
            samples.extend(generate_events(rule, count=40))
    except ImportError:  # the generator is optional here: background events alone still time
        pass
    generated = len(samples)
    samples += [SampleEvent(fields=e) for e in _background_events(max(0, n_events - generated))]
    renderer = EventRenderer(load_table("ecs-windows"))
    rendered = [r for r in (renderer.render_sample(s) for s in samples) if r is not None]
    events = [_nest(r) for r in rendered]
    eql_events = [eql.Event("process", 0, e) for e in events]
    rows, total_sig, total_eql = [], 0.0, 0.0
    for name, text, _ in queries:
        predicate = compile_query(parse(text))
        with eql.parser.elasticsearch_syntax, eql.parser.ignore_missing_functions:
            check = eql.PythonEngine().convert(eql.parse_query(text).first)
        sig_times, eql_times = [], []
        for round_ in range(runs):
            for which in (("sig", "eql") if round_ % 2 == 0 else ("eql", "sig")):
                start = time.perf_counter()
                if which == "sig":
                    for event in events:
                        predicate(event)
                    sig_times.append(time.perf_counter() - start)
                else:
                    for event in eql_events:
                        check(event)
                    eql_times.append(time.perf_counter() - start)
        sig_hits = sum(predicate(e) is True for e in events)
        eql_hits = sum(bool(check(e)) for e in eql_events)
        sig, eq = statistics.median(sig_times), statistics.median(eql_times)
        total_sig, total_eql = total_sig + sig, total_eql + eq
        rows.append(
            f"| {name} | {len(text)} | {_rate(len(events), sig_times)} | "
            f"{_rate(len(events), eql_times)} | {eq / sig:.2f} | {sig_hits} / {eql_hits} |"
        )
    n = len(events) * len(queries)
    return [
        f"{len(queries)} EQL queries (the Zoom rule's and the {len(queries) - 1} longest SigmaHQ "
        "process_creation conversions that both sigport's parser and `eql.parse_query` under "
        f"`elasticsearch_syntax` accept) on the same {len(events)} ECS events: {generated} "
        "generated from those rules by `converter.generate.generator` (positives and near misses), the "
        "rest ordinary process starts, rendered by the ecs-windows table and nested (the eql "
        "package reads only nested objects). Each side compiles once; the timed loop calls the "
        f"predicate once per event. {runs} runs alternated; events/s median (min-max).",
        "",
        "| query | chars | sigport events/s | eql events/s | sigport / eql "
        "| matches sigport / eql |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        f"All queries: sigport {n / total_sig:,.0f} events/s, eql {n / total_eql:,.0f} events/s, "
        f"ratio {total_eql / total_sig:.2f} (goal >= 3).",
        "",
        "One-element arrays (ECS `event.category`, `event.type`) are given as their element: the "
        "eql package compares an array with `==` as a whole, where Elasticsearch (and sigport) "
        "match any element, so with arrays every eql evaluation would stop at its first test. "
        "Match counts can still differ where the two engines' semantics differ; the comparison "
        "is of speed.",
    ]


def backtest_section(run_it: bool) -> list[str]:
    """The backtest / reference-at-scale numbers, from bench/backtest.py when asked and present."""
    script = ROOT / "bench" / "backtest.py"
    if not run_it:
        return [
            "Not measured in this run: `python bench/bench.py --backtest` runs "
            "`bench/backtest.py`."
        ]
    if not script.exists():
        return ["`bench/backtest.py` is not in this tree yet."]
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        failed = f"`bench/backtest.py` failed (exit {done.returncode}):"
        return [failed, "", "```", done.stderr[-2000:], "```"]
    return [done.stdout.strip()]


def versus_section(runs: int) -> list[str]:
    """Backtest and reference against the Zircolite-style SQLite peer (``bench/versus.py``)."""
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "versus.py"), "--runs", str(runs)],
                          capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        return [f"`bench/versus.py` did not run (exit {done.returncode}):", "", "```",
                done.stderr[-2000:], "```"]
    return [done.stdout.strip()]


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run every section, write the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (default 5)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="rule directory")
    parser.add_argument(
        "--sigma-cli", type=Path, default=DEFAULT_SIGMA_CLI, help="sigma-cli's `sigma`"
    )
    parser.add_argument("--workers", type=int, default=2, help="sigport worker processes")
    parser.add_argument("--events", type=int, default=500, help="events per evaluation query")
    parser.add_argument("--only", choices=["conversion", "targets", "evaluation"], action="append")
    parser.add_argument("--backtest", action="store_true", help="also run bench/backtest.py")
    parser.add_argument("--versus", action="store_true",
                        help="also run bench/versus.py (the SQLite peer, its own virtualenv)")
    parser.add_argument(
        "--scratch", type=Path, default=None,
        help="directory for the converted outputs (default: the system's temporary directory)",
    )
    parser.add_argument(
        "--no-bytecode-cache", dest="bytecode", action="store_false",
        help="time the commands without a bytecode cache (see bench/README.md)",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args(argv)
    # The timed commands run from the repository's root: a relative corpus must not change
    # meaning there (it is read relative to where the benchmark was started).
    args.corpus = args.corpus.resolve()
    if not args.corpus.is_dir():
        parser.error(f"corpus {args.corpus} is not a directory (pass --corpus)")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    sigma = args.sigma_cli if args.sigma_cli.exists() else None
    wanted = set(args.only or ["conversion", "targets", "evaluation"])
    before = load_average()
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    sections: list[tuple[str, list[str]]] = []
    if "conversion" in wanted:
        lines = conversion_section(
            args.corpus, args.runs, args.workers, sigma, args.bytecode, args.scratch
        )
        sections.append(("Conversion: sigport vs sigma-cli", lines))
    if "targets" in wanted:
        lines = targets_section(
            args.corpus, args.runs, args.workers, args.bytecode, args.scratch
        )
        sections.append(("Conversion rate per target", lines))
    if "evaluation" in wanted:
        lines = evaluation_section(args.corpus, args.runs, args.events)
        sections.append(("Evaluation: sigport's EQL interpreter vs the eql package", lines))
    lines = backtest_section(args.backtest)
    sections.append(("Backtest and the reference evaluator at scale", lines))
    if args.versus:
        sections.append(("Backtest and reference vs a Zircolite-style SQLite peer",
                         versus_section(args.runs)))
    head = [
        "# sigport benchmarks",
        "",
        f"Generated by `python bench/bench.py --runs {args.runs}` on {started}; every number below "
        "comes from that one run on this machine. See bench/README.md for the method.",
        "",
        "## Machine",
        "",
        *machine(),
        f"- sigma-cli's virtualenv: {sigma_cli_versions(sigma) if sigma else 'not found'}",
        f"- Load average (1/5/15 min) before: {before}; after: {load_average()}. A load above the "
        "core count means other processes competed for the CPU: wall times are then inflated, "
        "CPU times much less.",
    ]
    body: list[str] = []
    for title, lines in sections:
        body += ["", f"## {title}", "", *lines]
    args.output.write_text("\n".join(head + body) + "\n", encoding="utf-8")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
