"""Spark (local[2]) against DuckDB on the same synthetic leaks: wall time and peak memory.

Each run is a child process (``ariane run``). Its peak memory is the highest sum of the
resident memory of the child and all its descendants (Spark's JVM, its Python workers),
sampled every 0.2 s from /proc (Linux): ``ru_maxrss`` of children gives only the largest
single process, and misses a JVM its parent does not wait for. Sizes are rows of
``ariane synth``; 2,000 rows checks the benchmark end to end in a few minutes.

    python benchmarks/bench_spark.py 100000 500000 2000000
    python benchmarks/bench_spark.py --leak /tmp/b20m/leak --engine spark

``--leak DIR`` runs on a leak already made (``ariane synth --out DIR``: a 20 M-row leak
takes 15-25 min to write, worth doing once); ``--engine`` (repeatable) runs only those
engines. Each run's line is printed as soon as it ends.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENGINES = {"duckdb": [], "spark": ["--engine", "spark", "--spark-master", "local[2]"]}
PAGE = os.sysconf("SC_PAGE_SIZE")
ARIANE = str(Path(sys.executable).with_name("ariane"))


def _children() -> dict[int, list[int]]:
    """Every process's children, from /proc."""
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def _tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants."""
    tree, total, todo = _children(), 0, [root]
    while todo:
        pid = todo.pop()
        todo += tree.get(pid, [])
        try:
            with open(f"/proc/{pid}/statm", encoding="ascii") as handle:
                total += int(handle.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


def _run(args: list[str], errors: Path) -> tuple[float, int]:
    """Wall seconds and peak resident bytes of the child and its descendants together."""
    start = time.perf_counter()
    with open(errors, "wb") as stderr:
        child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=stderr)
        peak = 0
        while child.poll() is None:
            peak = max(peak, _tree_rss(child.pid))
            time.sleep(0.2)
    elapsed = time.perf_counter() - start
    if child.returncode != 0:
        said = errors.read_text(errors="replace").strip().splitlines()[-1:]  # Ariane's one line
        raise SystemExit(f"{' '.join(args[1:3])} failed with code {child.returncode}: {said}")
    return elapsed, peak


def _runs(leak: Path, folder: Path, engines: list[str]) -> None:
    rows = json.loads((leak / "truth.json").read_text())["rows"]
    base = None
    for engine in engines:
        case = folder / f"case-{engine}"
        args = [ARIANE, "run", str(leak / "leak.csv"), "--case", str(case), "-q"]
        args += ["--registry", str(leak / "registry.csv"), *ENGINES[engine]]
        wall, peak = _run(args, folder / f"stderr-{engine}.txt")
        base = base or wall
        line = f"{rows:>10} {engine:>7} {wall:>8.1f} {peak / 2**20:>9.0f} {wall / base:>9.1f}"
        print(line, flush=True)


def main(argv: list[str]) -> None:
    """Print one line per size and engine, and its time as a multiple of the first engine's."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("sizes", nargs="*", type=int, help="rows of each synthetic leak")
    parser.add_argument("--leak", type=Path, help="a leak made by `ariane synth --out DIR`")
    parser.add_argument("--engine", action="append", choices=list(ENGINES), dest="engines")
    options = parser.parse_args(argv)
    engines = options.engines or list(ENGINES)
    os.environ.setdefault("ARIANE_KEY", "benchmark passphrase, synthetic data only")
    print(f"{'rows':>10} {'engine':>7} {'wall s':>8} {'peak MiB':>9} {'x first':>9}", flush=True)
    if options.leak and not (options.leak / "truth.json").is_file():
        parser.error(f"{options.leak} holds no leak made by `ariane synth --out`")
    if options.leak:
        with tempfile.TemporaryDirectory(dir=options.leak.parent) as folder:
            _runs(options.leak, Path(folder), engines)
        return
    for rows in options.sizes or [100_000, 500_000, 2_000_000]:
        with tempfile.TemporaryDirectory() as folder:
            leak = Path(folder, "leak")
            subprocess.run(
                [ARIANE, "synth", "--out", str(leak), "--rows", str(rows)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            _runs(leak, Path(folder), engines)


if __name__ == "__main__":
    main(sys.argv[1:])
