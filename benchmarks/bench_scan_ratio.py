"""`ariane scan --json` against DuckDB's in-memory parse of the same file, file by file.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_scan_ratio.py FILE [FILE ...] [--rounds 3]

For each file, two commands alternate ``--rounds`` times, each in a fresh process timed
from outside (wall clock, interpreter start-up included on both sides):

* DuckDB's parse into memory: ``read_csv(all_varchar=true)`` (delimiter and encoding
  sniffed by DuckDB, told when the file is not UTF-8) or ``read_json`` for NDJSON, into a
  table of an in-memory database: the real limit of reading the file;
* the whole ``ariane scan --json FILE`` command (read into an encrypted store, classify).

Prints the medians and their ratio per file (wall clock, and CPU time of all threads:
on a machine shared with other work the CPU ratio is the steadier), then the worst wall
ratio (target: <= 3x).
Build the files with ``ariane synth`` (``--seed``, ``--delimiter ';' --encoding latin-1``)
and, for NDJSON, ``--ndjson OUT CSV`` (one JSON object per CSV row).
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

DUCKDB = """
import sys, duckdb
path, kind, encoding = sys.argv[1], sys.argv[2], sys.argv[3]
con = duckdb.connect()
if kind == "ndjson":
    con.execute("CREATE TABLE t AS SELECT * FROM read_json(?, format='newline_delimited')", [path])
elif encoding == "utf-8":
    con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?, all_varchar=true)", [path])
else:
    con.execute(
        "CREATE TABLE t AS SELECT * FROM read_csv(?, all_varchar=true, encoding=?)",
        [path, encoding],
    )
assert con.execute("SELECT count(*) FROM t").fetchone()[0] > 0
"""
ARIANE = "import sys; from ariane.cli import main; sys.argv[0] = 'ariane'; main()"


def _kind(path: Path) -> tuple[str, str]:
    """('ndjson' or 'csv', encoding DuckDB should be told) from the file's first bytes."""
    head = path.open("rb").read(1 << 16)
    kind = "ndjson" if head.lstrip().startswith(b"{") else "csv"
    try:
        head[: head.rfind(b"\n")].decode("utf-8")
    except UnicodeDecodeError:
        return kind, "latin-1"
    return kind, "utf-8"


def _timed(command: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (all threads, user + system) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(path: Path, rounds: int) -> dict[str, object]:
    """Medians of both sides for one file, alternating them."""
    kind, encoding = _kind(path)
    runs: dict[str, list[tuple[float, float]]] = {"duckdb": [], "ariane": []}
    for _ in range(rounds):
        runs["duckdb"].append(_timed([sys.executable, "-c", DUCKDB, str(path), kind, encoding]))
        runs["ariane"].append(_timed([sys.executable, "-c", ARIANE, "scan", "--json", str(path)]))
    wall = {side: statistics.median(t[0] for t in times) for side, times in runs.items()}
    cpu = {side: statistics.median(t[1] for t in times) for side, times in runs.items()}
    return {
        "file": str(path),
        "kind": kind,
        "encoding": encoding,
        "mib": round(path.stat().st_size / 2**20, 1),
        "duckdb_wall_s": [round(t[0], 2) for t in runs["duckdb"]],
        "ariane_wall_s": [round(t[0], 2) for t in runs["ariane"]],
        "duckdb_cpu_s": [round(t[1], 2) for t in runs["duckdb"]],
        "ariane_cpu_s": [round(t[1], 2) for t in runs["ariane"]],
        "ratio": round(wall["ariane"] / wall["duckdb"], 2),
        "cpu_ratio": round(cpu["ariane"] / cpu["duckdb"], 2),
    }


def to_ndjson(out: Path, source: Path) -> None:
    """Write one JSON object per row of a UTF-8 CSV (empty cells left out, as JSON does)."""
    with source.open(newline="", encoding="utf-8") as rows, out.open("w") as sink:
        for row in csv.DictReader(rows):
            sink.write(json.dumps({k: v for k, v in row.items() if v}, ensure_ascii=False))
            sink.write("\n")


def main() -> None:
    """Measure every file given; print one line per file and the worst ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", type=Path, nargs="*")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ndjson", type=Path, nargs=2, metavar=("OUT", "CSV"))
    args = parser.parse_args()
    if args.ndjson:
        to_ndjson(*args.ndjson)
    print(
        f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
        f"Python {platform.python_version()}, {args.rounds} rounds",
        flush=True,
    )
    ratios = []
    for path in args.files:
        result = measure(path, args.rounds)
        ratios.append(result["ratio"])
        print(json.dumps(result), flush=True)
    if ratios:
        print(f"worst ratio: {max(ratios):.2f}x (target <= 3x)")


if __name__ == "__main__":
    main()
