"""The ``convert`` command's outputs: writing the rendered formats, and the summary tables.

Tables go to the console the CLI hands in (``converter/console.py``: full width when piped).
Reasons for rules not converted are grouped by kind and never cut; warnings are counted by kind
(``--verbose`` lists each in ``cli/convert.py``).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any


def tree_writer(
    raw_output: str | None, output_format: str, roots: list[Path], options: dict[str, Any]
) -> Any:
    """A ``TreeWriter`` when the output is a directory (not for savedsearches), else None."""
    from converter.outputs.formats import TreeWriter

    if raw_output is None or output_format == "savedsearches":
        return None
    output = Path(raw_output)
    if not (output.is_dir() or raw_output.endswith(("/", "\\"))):
        return None
    return TreeWriter(output, roots, output_format, options)


def write_output(
    results: list[Any],
    names: list[str],
    output_format: str,
    raw_output: str | None,
    roots: list[Path],
    options: dict[str, Any],
) -> str | None:
    """Render and write conversions to one file or a mirrored directory tree; without an output
    path, return the text for standard output (the CLI prints it).

    Nothing converted writes no file (an empty savedsearches.conf or NDJSON would look like a
    successful export); the report and the exit code say what happened.
    """
    import functools

    from converter.outputs.formats import FORMATS, TreeWriter
    from converter.outputs.files import write_file, write_named_file

    render = functools.partial(FORMATS[output_format], **options)
    by_target = {name: [r for r in results if r.target == name] for name in names}
    # A trailing separator asks for a directory even when it does not exist yet.
    output = Path(raw_output) if raw_output is not None else None
    directory = raw_output is not None and output is not None and (
        output.is_dir() or raw_output.endswith(("/", "\\")))
    if output is None or not directory:
        chunks = []
        for name in names:
            text = render(by_target[name])
            if not text:
                continue
            if output_format == "default" and len(names) > 1:
                text = f"# {name}\n{text}"
            chunks.append(text)
        text = "".join(chunks) if output_format != "savedsearches" else "\n".join(chunks)
        if output is None:
            return text
        if text:
            write_named_file(output, text)
        return None
    assert output is not None
    if output_format == "savedsearches":
        for name in names:
            text = render(by_target[name])
            if not text:
                continue
            conf = Path(name, "savedsearches.conf") if len(names) > 1 else Path("savedsearches.conf")
            write_file(output, conf, text)
        return None
    TreeWriter(output, roots, output_format, options).write(results)
    return None


def summary(results: list[Any], names: list[str], console: Any) -> None:
    """A rich table of statuses per target, and the most common reasons."""
    from rich.table import Table

    table = Table(title="sigport convert", show_lines=False)
    table.add_column("target")
    for status in ("converted", "unsupported", "error"):
        table.add_column(status, justify="right")
    for name in names:
        counts = Counter(r.status for r in results if r.target == name)
        table.add_row(name, *(str(counts.get(s, 0)) for s in ("converted", "unsupported", "error")))
    console.print(table)
    reasons = Counter(
        (r.target, r.status, warning_kind(r.reason or "")) for r in results if r.status != "converted"
    )
    if reasons:
        why = Table(title="not converted, by reason")
        for col in ("target", "status", "count", "reason"):
            why.add_column(col, overflow="fold")
        for (target, status, reason), count in reasons.most_common(20):
            why.add_row(target, status, str(count), reason)
        if len(reasons) > 20:
            why.caption = f"{len(reasons) - 20} more reasons: see the lines above or --report"
        console.print(why)


def warning_kind(text: str) -> str:
    """A message with its particulars (quoted values, numbers) replaced, so that messages of one
    kind group together: ``field 'a' ...`` and ``field 'b' ...`` are one kind."""
    text = re.sub(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", "'…'", text)
    # A number joined to a word by '-' names something (UTF-8, UTF-16, ISO-8859-1, x86-64).
    return re.sub(r"(?<!\w-)\b\d+\b", "N", text)


def warning_summary(results: list[Any], console: Any) -> None:
    """Warnings counted by kind (``--verbose`` lists each one with its rule)."""
    from rich.table import Table

    kinds = Counter((r.target, warning_kind(w)) for r in results for w in r.warnings)
    if not kinds:
        return
    table = Table(title="warnings, by kind (--verbose lists each)")
    for col in ("target", "rules", "warning"):
        table.add_column(col, overflow="fold")
    for (target, kind), count in kinds.most_common():
        table.add_row(target, str(count), kind)
    console.print(table)


def interrupted_report(
    exc: Any, report: Path | None, done: list[Any], inputs: list[str], files_done: int,
    written: bool,
) -> None:
    """``convert`` stopped by a signal: say what was done on stderr (through the exception) and
    in the report: the entries of the input files finished, the files not done."""
    from converter.api import REPORT_SCHEMA_VERSION
    from converter.outputs.files import write_named_file

    exc.detail = (
        f"{files_done} of {len(inputs)} rule files converted"
        + (" and written" if written else ", no output written")
        + (f"; report: {report}" if report is not None else "")
    )
    if report is None:
        return
    document = {
        "schema_version": REPORT_SCHEMA_VERSION,
        "interrupted": {
            "signal": exc.name, "exit_code": exc.exit_code, "files_done": files_done,
            "files_total": len(inputs), "output_written": written,
        },
        "rules": [r.to_report() for r in done],
        "not_done": inputs[files_done:],
    }
    write_named_file(report, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
