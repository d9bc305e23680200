"""Conversion benchmarks for bench/bench.py: whole processes, rules/s per target, CPU per phase.

Three measurements of ``sigport convert`` on a rule corpus:

- ``conversion_section``: sigport (worker processes, and serial) against sigma-cli, each a whole
  process (start-up included), runs alternated, wall time, CPU time and peak RSS via ``wait4``;
- ``targets_section``: rules/s for every target, whole process;
- ``phases_section``: where the CPU time of one serial conversion goes (start-up, imports,
  pipeline and backend, reading files, YAML, pySigma rule objects and load checks, conversion,
  output files, summary), measured in a child process with ``time.process_time`` per phase.

Every timed command runs with a bytecode cache (``PYTHONPYCACHEPREFIX`` in the run's temporary
directory, filled by one untimed warm-up run of each command): an installed tool has its
``.pyc`` files, but this machine sets ``PYTHONDONTWRITEBYTECODE``, so sigport (installed in
editable mode) would otherwise compile its own modules in every run while sigma-cli's, compiled
by pip, load from bytecode. ``bytecode=False`` measures without the cache.

Running this file directly is the child side of the phase measurement (``--phases``) and
prints the whole-tree table (``--whole``).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from runs import ROOT, Run, alternate, bytecode_env, cached_env, median_range, run_process

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ALL_TARGETS = ("eql", "kql", "lucene", "esql", "splunk", "splunk-cim")


# --- sigport and sigma-cli, whole processes ----------------------------------------------------


def _sigport_command() -> list[str]:
    script = Path(sys.executable).parent / "sigport"
    return [str(script)] if script.exists() else [sys.executable, "-m", "converter.cli"]


def sigport_convert(
    corpus: Path, target: str, out: Path, workers: int, env: dict[str, str] | None = None,
) -> Run:
    """``sigport convert CORPUS -t TARGET -o OUT/ --workers N`` (1: the serial path), timed."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [*_sigport_command(), "convert", str(corpus), "-t", target, "-o", f"{out}/"]
    return run_process([*cmd, "--workers", str(workers)], env=env)


def _files(corpus: Path) -> int:
    from converter.rules.load import expand_paths

    return len(list(expand_paths([corpus])))


def conversion_section(
    corpus: Path, runs: int, workers: int, sigma: Path | None, bytecode: bool = True,
    scratch: Path | None = None,
) -> list[str]:
    """Whole-process conversion of the corpus to EQL: sigport (parallel, serial) vs sigma-cli,
    then the CPU time of the serial conversion per phase. Outputs go under ``scratch`` (default:
    the system's temporary directory)."""
    files = _files(corpus)
    tmp = Path(tempfile.mkdtemp(prefix="sigport-bench-", dir=scratch))
    env = bytecode_env(tmp, bytecode)
    commands: dict[str, Callable[[], Run]] = {
        f"sigport, {workers} workers": lambda: sigport_convert(
            corpus, "eql", tmp / "par", workers, env
        ),
        "sigport, serial": lambda: sigport_convert(corpus, "eql", tmp / "ser", 1, env),
    }
    if sigma is not None:
        commands["sigma-cli"] = lambda: run_process(
            [str(sigma), "convert", "-t", "eql", "-p", "ecs_windows", "-s", str(corpus),
             "-o", str(tmp / "sigma.txt")],
            env=env,
        )
    print("conversion: sigport vs sigma-cli", file=sys.stderr)
    results = alternate(commands, runs)
    lines = [
        f"Corpus: `{corpus}` ({files} rule files), target EQL, {runs} runs per command, "
        "alternated, after one untimed warm-up run of each. Wall and CPU seconds: median "
        "(min-max). CPU = user+sys of the process and its worker processes. Peak RSS: the "
        "largest single process (workers are counted separately, not summed). "
        f"Outputs written under `{tmp.parent}`. "
        + (
            "Every command ran with a bytecode cache (`PYTHONPYCACHEPREFIX`), as an installed "
            "tool has its `.pyc` files."
            if bytecode
            else "Without a bytecode cache: sigport compiled its own modules in every run."
        ),
        "",
        "sigport's parallel path ran as `sigport convert --workers N`.",
        "",
        "| command | wall s | CPU s | rules/s (wall) | peak RSS MiB | exit codes |",
        "|---|---|---|---|---|---|",
    ]
    for name, rs in results.items():
        walls = [r.wall for r in rs]
        lines.append(
            f"| {name} | {median_range(walls)} | {median_range([r.cpu for r in rs])} | "
            f"{files / statistics.median(walls):.0f} | {max(r.maxrss_mb for r in rs):.0f} | "
            f"{sorted({r.returncode for r in rs})} |"
        )
    if sigma is not None:
        cli_wall = statistics.median(r.wall for r in results["sigma-cli"])
        cli_cpu = statistics.median(r.cpu for r in results["sigma-cli"])
        lines += ["", "Ratios to sigma-cli (lower is faster; the goal is wall <= 0.3):", ""]
        for name, rs in results.items():
            if name == "sigma-cli":
                continue
            wall = statistics.median(r.wall for r in rs) / cli_wall
            cpu = statistics.median(r.cpu for r in rs) / cli_cpu
            lines.append(f"- {name}: wall {wall:.2f}, CPU {cpu:.2f}")
        lines += [
            "",
            "sigma-cli writes one file and checks nothing; sigport also validates every rule "
            "(conditions parsed at load), writes one file per rule and target, and prints a "
            "status summary. sigma-cli's exit code is 0 with `-s` (skip unsupported rules).",
        ]
    else:
        lines += ["", "sigma-cli not found: see bench/README.md to install it."]
    lines += ["", *phases_section(corpus, "eql", runs, env, scratch)]
    shutil.rmtree(tmp, ignore_errors=True)
    return lines


#: sigma-cli's pipeline for each target compared over a whole rule tree (``whole_section``).
SIGMA_CLI_PIPELINES = {"eql": "ecs_windows", "lucene": "ecs_windows", "splunk": "splunk_windows"}


def whole_section(
    corpus: Path, runs: int, sigma: Path, targets: tuple[str, ...] = tuple(SIGMA_CLI_PIPELINES),
    scratch: Path | None = None, warm_up: bool = True,
) -> list[str]:
    """Whole-tree conversion per target: ``sigport convert CORPUS -t T -o DIR/`` (its default
    workers) against ``sigma convert -t T -p PIPELINE -s CORPUS``, alternated; ratios pair by
    pair (run i of sigport over run i of sigma-cli), their medians reported."""
    files = _files(corpus)
    tmp = Path(tempfile.mkdtemp(prefix="sigport-whole-", dir=scratch))
    env = bytecode_env(tmp)
    lines = [
        f"Corpus: `{corpus}` ({files} rule files); {runs} runs per command, alternated"
        + (", after one untimed warm-up run of each" if warm_up else "")
        + "; medians (min-max); ratios pair by pair, their median.",
        "",
        "| target | sigma-cli pipeline | sigport wall s | sigma-cli wall s | wall ratio | "
        "sigport CPU s | sigma-cli CPU s | CPU ratio | peak RSS MiB sigport / sigma-cli |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for target in targets:
        pipeline = SIGMA_CLI_PIPELINES[target]

        def sigport(t: str = target, fresh: bool = True) -> Run:
            folder = tmp / ("cache-cold" if fresh else "cache-warm")
            return run_process(
                [*_sigport_command(), "convert", str(corpus), "-t", t, "-o", f"{tmp / t}/"],
                env=cached_env(env, folder, fresh))

        commands: dict[str, Callable[[], Run]] = {
            "sigport cold": sigport,
            "sigport warm": functools.partial(sigport, target, fresh=False),
            "sigma-cli": functools.partial(
                run_process,
                [str(sigma), "convert", "-t", target, "-p", pipeline, "-s", str(corpus),
                 "-o", str(tmp / f"sigma-{target}.txt")], env=env),
        }
        print(f"whole tree, {target}: sigport (cold, warm) vs sigma-cli", file=sys.stderr)
        shutil.rmtree(tmp / "cache-warm", ignore_errors=True)
        commands["sigport warm"]()  # untimed, always: fills the warm cache
        found = alternate(commands, runs, warm_up)
        theirs = found["sigma-cli"]
        for name in ("sigport cold", "sigport warm"):
            ours = found[name]
            wall = [a.wall / b.wall for a, b in zip(ours, theirs)]
            cpu = [a.cpu / b.cpu for a, b in zip(ours, theirs)]
            lines.append(
                f"| {target}, **{name.split()[1]}** | {pipeline} | "
                f"{median_range([r.wall for r in ours])} | "
                f"{median_range([r.wall for r in theirs])} | {median_range(wall)} | "
                f"{median_range([r.cpu for r in ours])} | {median_range([r.cpu for r in theirs])} | "
                f"{median_range(cpu)} | {max(r.maxrss_mb for r in ours):.0f} / "
                f"{max(r.maxrss_mb for r in theirs):.0f} |"
            )
    shutil.rmtree(tmp, ignore_errors=True)
    lines += ["", "**cold**: sigport's cache directory emptied before every run (every file "
              "loaded, converted and its entry written); **warm**: the cache one untimed run "
              "filled before the timed rounds (every file's results read back)."]
    return lines


def targets_section(
    corpus: Path, runs: int, workers: int, bytecode: bool = True, scratch: Path | None = None
) -> list[str]:
    """Rules/s for each target, whole process, parallel path."""
    files = _files(corpus)
    tmp = Path(tempfile.mkdtemp(prefix="sigport-bench-", dir=scratch))
    env = bytecode_env(tmp, bytecode)
    commands: dict[str, Callable[[], Run]] = {
        t: functools.partial(sigport_convert, corpus, t, tmp / t, workers, env)
        for t in ALL_TARGETS
    }
    print("conversion rate per target", file=sys.stderr)
    results = alternate(commands, runs)
    shutil.rmtree(tmp, ignore_errors=True)
    lines = [
        f"`sigport convert` of the same {files} files, {workers} workers, one target per "
        f"process, {runs} runs alternated (process start-up included).",
        "",
        "| target | wall s | CPU s | rules/s | peak RSS MiB |",
        "|---|---|---|---|---|",
    ]
    for name, rs in results.items():
        walls = [r.wall for r in rs]
        lines.append(
            f"| {name} | {median_range(walls)} | {median_range([r.cpu for r in rs])} | "
            f"{files / statistics.median(walls):.0f} | {max(r.maxrss_mb for r in rs):.0f} |"
        )
    return lines


# --- CPU time per phase ------------------------------------------------------------------------

#: The phases of a serial ``sigport convert DIR -t TARGET -o OUT/``, in order, with what each
#: covers (the table's second column).
PHASES = {
    "start-up": "the interpreter, up to the first line of the measuring script",
    "imports": "the modules `sigport convert` imports (click, pySigma, the backend)",
    "pipeline and backend": "the target's processing pipeline and backend, built once",
    "read files": "listing the corpus and reading every file",
    "YAML": "parsing the files (libyaml, then sigport's direct construction)",
    "rule objects and checks": "pySigma rules from the parsed YAML, and sigport's load checks "
    "(conditions parsed)",
    "conversion": "the pipeline and the emitter, per rule",
    "other data sources": "the rules refused on the data source in force, loaded again and "
    "converted with the table's other data sources (the summary's hint)",
    "output files": "one file per rule and target",
    "summary": "the status table and the reasons, the data source hint",
    "garbage collection": "Python's cyclic collector, whenever it ran (taken out of the phases "
    "above; parsed pySigma rules are reference cycles)",
}


def phase_times(corpus: str, target: str, out: str) -> dict[str, float]:
    """CPU seconds per phase of a serial conversion, measured in this (fresh) process.

    The files go one by one through the stages, as in the command. Each file's YAML is parsed
    twice: once alone (the YAML phase) and once inside ``load_text``, whose time less the YAML's
    is what pySigma and the load checks add.
    """
    import gc
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    times = dict.fromkeys(PHASES, 0.0)
    times["start-up"] = usage.ru_utime + usage.ru_stime
    collecting = [0.0, 0.0]  # start of the running collection, collector time since the last lap

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collecting[0] = time.process_time()
        else:
            collecting[1] += time.process_time() - collecting[0]

    gc.callbacks.append(on_gc)
    clock = time.process_time()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.process_time()
        times[name] += now - clock - collecting[1]
        times["garbage collection"] += collecting[1]
        collecting[1] = 0.0
        clock = now

    from converter.cli.common import stderr_console
    from converter.outputs import formats
    from converter.conversion import worker
    from converter.rules import load as rules

    lap("imports")
    state = worker.ensure_state([target], [], None, alternatives=True)
    writer = formats.TreeWriter(Path(out), [Path(corpus)], "default")
    lap("pipeline and backend")
    conversions = []
    collector = worker.fewer_collections()  # as in the command's batch
    collector.__enter__()
    for path in rules.expand_paths([corpus]):
        text = Path(path).read_text(encoding="utf-8")
        lap("read files")
        try:
            rules.parse_documents(text)
        except Exception:  # noqa: BLE001 - load_text reports it; only the time counts here
            pass
        lap("YAML")
        loaded = rules.load_text(text, path)
        lap("rule objects and checks")
        done = [
            worker.freeze(converter.convert(item, copy_rule=False))
            for item in loaded
            for converter in state.converters
        ]
        lap("conversion")
        if state.alternatives is not None:
            worker.try_alternatives(path, None, done, len(state.converters),
                                    state.alternatives)
        lap("other data sources")
        writer.write(done)
        lap("output files")
        conversions += done
    collector.__exit__(None, None, None)
    times["rule objects and checks"] -= times["YAML"]
    from converter.cli.output import summary
    from converter.conversion.datasource import other_data_sources

    summary(conversions, [target], stderr_console())
    other_data_sources(conversions, [target], None, None)
    lap("summary")
    return times


def phases_section(
    corpus: Path, target: str, runs: int, env: dict[str, str], scratch: Path | None = None
) -> list[str]:
    """The phase table: medians of ``runs`` fresh child processes."""
    tmp = Path(tempfile.mkdtemp(prefix="sigport-phases-", dir=scratch))
    samples: list[dict[str, float]] = []
    print("conversion: CPU time per phase", file=sys.stderr)
    for _ in range(runs + 1):  # the first run warms the caches and is dropped
        shutil.rmtree(tmp / "out", ignore_errors=True)
        done = subprocess.run(
            [sys.executable, str(Path(__file__)), "--phases", str(corpus), target, f"{tmp}/out/"],
            capture_output=True, text=True, cwd=ROOT, env=env,
        )
        if done.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            return [f"Phase measurement failed (exit {done.returncode}):", "", "```",
                    done.stderr[-2000:], "```"]
        samples.append(json.loads(done.stdout.strip().splitlines()[-1]))
    shutil.rmtree(tmp, ignore_errors=True)
    samples = samples[1:]
    medians = {name: statistics.median(s.get(name, 0.0) for s in samples) for name in PHASES}
    total = sum(medians.values())
    lines = [
        f"Where the CPU time of one serial `sigport convert -t {target} -o DIR/` goes: the same "
        f"stages in a fresh process ({runs} runs, median CPU seconds per phase, "
        "`time.process_time`). With worker processes, the phases from reading files to output "
        "files are what the workers share; the rest is the parent's.",
        "",
        "| phase | covers | CPU s | share |",
        "|---|---|---|---|",
    ]
    for name, covers in PHASES.items():
        lines.append(
            f"| {name} | {covers} | {medians[name]:.2f} | {100 * medians[name] / total:.0f}% |"
        )
    lines.append(f"| total | | {total:.2f} | 100% |")
    return lines


def split_times(corpus: str, target: str, out: str, workers: int = 2) -> dict[str, float]:
    """Who spends the CPU of one cold ``sigport convert CORPUS -t TARGET -o OUT/ -w WORKERS``
    (an empty cache directory, as the whole-tree table's cold rows), measured in this (fresh)
    process: the parent before the pool starts (imports, listing, building the converters:
    serial, no worker runs yet), the parent while the pool runs (results, output files), the
    workers, and the parent after (summary, hint). On an idle machine with as many cores as
    workers, wall time is at least ``before + (workers + parent during) / cores + after``."""
    import resource

    from converter.cli import main
    from converter.conversion import batch

    marks: list[tuple[float, float, float]] = []  # wall, parent CPU, waited-for children CPU

    def mark() -> None:
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        marks.append((time.perf_counter(), own.ru_utime + own.ru_stime,
                      children.ru_utime + children.ru_stime))

    pool = batch._run_pool

    def timed_pool(*args: object, **kwargs: object) -> None:
        mark()
        try:
            pool(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            mark()

    cache = tempfile.mkdtemp(prefix="sigport-split-cache-")
    os.environ["SIGPORT_CACHE_DIR"] = cache
    os.environ.pop("SIGPORT_NO_CACHE", None)
    batch._run_pool = timed_pool  # type: ignore[assignment]
    mark()
    try:
        main(["convert", corpus, "-t", target, "-o", out, "-w", str(workers)],
             standalone_mode=False)
    except SystemExit as exc:  # exit 3: some rule was not converted for some target
        if exc.code not in (0, 3, None):
            raise
    finally:
        batch._run_pool = pool
        shutil.rmtree(cache, ignore_errors=True)
    mark()
    if len(marks) != 4:
        raise RuntimeError("the conversion ran no worker pool (too few files, or all cached)")
    (w0, p0, _), (w1, p1, c1), (w2, p2, c2), (w3, p3, _) = marks
    return {"parent before pool": p1 - p0, "parent during pool": p2 - p1,
            "workers": c2 - c1, "parent after pool": p3 - p2, "wall": w3 - w0,
            "load": os.getloadavg()[0]}


def _child(argv: list[str]) -> int:
    """``--phases CORPUS TARGET OUT``, ``--split CORPUS TARGET OUT [WORKERS]`` or ``--whole
    CORPUS SIGMA_CLI RUNS [TARGET,...]``."""
    if argv[:1] == ["--phases"] and len(argv) == 4:
        _, corpus, target, out = argv
        sys.stderr = open(os.devnull, "w")  # the summary table: measured, not shown
        print(json.dumps(phase_times(corpus, target, out)))
        return 0
    if argv[:1] == ["--split"] and len(argv) in (4, 5):
        _, corpus, target, out, *count = argv
        sys.stderr = open(os.devnull, "w")  # the summary table: measured, not shown
        times = split_times(corpus, target, out, int(count[0]) if count else 2)
        print(json.dumps({k: round(v, 2) for k, v in times.items()}))
        return 0
    if argv[:1] == ["--whole"] and len(argv) in (4, 5):
        # --whole CORPUS SIGMA_CLI RUNS [TARGETS,...]: the whole-tree table, printed
        _, corpus, sigma, runs, *chosen = argv
        wanted = tuple(chosen[0].split(",")) if chosen else tuple(SIGMA_CLI_PIPELINES)
        print("\n".join(whole_section(Path(corpus), int(runs), Path(sigma), wanted)))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))


__all__ = [
    "ALL_TARGETS", "PHASES", "conversion_section", "phase_times", "phases_section",
    "sigport_convert", "split_times", "targets_section", "whole_section",
]
