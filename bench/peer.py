"""A Zircolite-style peer for the backtest benchmark: Sigma rules as SQL over one SQLite table.

Zircolite (https://github.com/wagga40/Zircolite) flattens every event into one row of an
in-memory SQLite table whose columns are declared ``COLLATE NOCASE``, converts every Sigma rule
with pySigma's SQLite backend and runs each rule's SQL over the whole table, with a Python
``REGEXP`` function. This script does the same, with pySigma 2 and pySigma-backend-sqlite, so
that ``bench/versus.py`` can time sigport's backtest and reference evaluator against it.

It runs in its own virtualenv (see bench/README.md), never in sigport's: pySigma 2 is not
sigport's pySigma. It imports nothing from sigport. Input: the rules directory and a JSON-lines
file of events already normalised by sigport (``bench/versus.py`` writes it), so both sides see
the same field names and values. No processing pipeline is applied (the events carry the Sigma
field names) and, as in Zircolite, a rule's log source does not restrict its rows.

Prints one JSON line: the CPU seconds of each phase (imports, rule conversion, loading the
table, evaluation), the rules converted and refused, and the hits (rows matched, summed over
rules).
"""

from __future__ import annotations

import time

_START_CPU = time.process_time()

import argparse  # noqa: E402 - the imports are a timed phase
import json  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import sqlite3  # noqa: E402
import sys  # noqa: E402
from functools import lru_cache  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from sigma.backends.sqlite import sqliteBackend  # noqa: E402
from sigma.collection import SigmaCollection  # noqa: E402

_IMPORTS_CPU = time.process_time()


def flatten(event: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """One row: nested objects joined with dots, lists as JSON text, scalars kept (as Zircolite)."""
    row: dict[str, Any] = {}
    for key, value in event.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            row.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            row[name] = json.dumps(value)
        elif isinstance(value, bool):
            row[name] = str(value).lower()
        else:
            row[name] = value
    return row


def convert(rules_dir: Path) -> tuple[list[str], int]:
    """Every rule file under ``rules_dir`` as SQL; the queries and how many rules were refused."""
    backend = sqliteBackend()
    queries: list[str] = []
    refused = 0
    for path in sorted(rules_dir.rglob("*.yml")):
        try:
            collection = SigmaCollection.from_yaml(path.read_text(encoding="utf-8"))
            queries.extend(backend.convert(collection))
        except Exception:  # noqa: BLE001 - a rule pySigma 2 cannot load or convert is refused
            refused += 1
    return queries, refused


@lru_cache(maxsize=4096)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _regexp(pattern: str, value: Any) -> bool:
    """SQLite's ``REGEXP`` operator (``value REGEXP pattern`` calls ``regexp(pattern, value)``)."""
    if value is None:
        return False
    return _regex(pattern).search(str(value)) is not None


def load(events_path: Path) -> sqlite3.Connection:
    """The in-memory table ``logs``: one row per event, every column ``TEXT COLLATE NOCASE``."""
    rows = []
    with events_path.open(encoding="utf-8") as handle:
        for line in handle:
            rows.append(flatten(json.loads(line)))
    # SQLite's column names are case-insensitive: ProcessId and ProcessID are one column.
    columns: dict[str, str] = {}
    for i, row in enumerate(rows):
        folded = {}
        for name, value in row.items():
            columns.setdefault(name.lower(), name)
            folded.setdefault(name.lower(), value)
        rows[i] = folded
    keys = list(columns)
    names = [columns[k] for k in keys]
    db = sqlite3.connect(":memory:")
    db.create_function("regexp", 2, _regexp, deterministic=True)
    quoted = ", ".join('"' + n.replace('"', '""') + '" TEXT COLLATE NOCASE' for n in names)
    db.execute(f"CREATE TABLE logs (row_id INTEGER PRIMARY KEY, {quoted})")
    marks = ", ".join("?" for _ in names)
    db.executemany(
        f"INSERT INTO logs VALUES (NULL, {marks})", ([row.get(k) for k in keys] for row in rows)
    )
    db.commit()
    return db


def evaluate(db: sqlite3.Connection, queries: list[str]) -> tuple[int, int, int]:
    """Run every query over the table: (hits summed over queries, rules that hit, failed)."""
    hits = rules_hit = failed = 0
    for query in queries:
        try:
            found = len(db.execute(query).fetchall())
        except sqlite3.Error:
            failed += 1
            continue
        hits += found
        rules_hit += found > 0
    return hits, rules_hit, failed


def main(argv: list[str] | None = None) -> int:
    """Convert, load, evaluate; print the phases as one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rules", type=Path, help="directory of Sigma rules")
    parser.add_argument("events", type=Path, help="JSON lines of normalised events")
    args = parser.parse_args(argv)
    t0 = time.process_time()
    queries, refused = convert(args.rules)
    t1 = time.process_time()
    db = load(args.events)
    t2 = time.process_time()
    hits, rules_hit, failed = evaluate(db, queries)
    t3 = time.process_time()
    events = db.execute("SELECT COUNT(*) FROM logs").fetchone()[0]
    print(json.dumps({
        "events": events, "queries": len(queries), "refused": refused, "failed": failed,
        "hits": hits, "rules_hit": rules_hit,
        "cpu": {"start-up": _START_CPU, "imports": _IMPORTS_CPU - _START_CPU, "convert": t1 - t0,
                "load": t2 - t1, "evaluate": t3 - t2},
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
