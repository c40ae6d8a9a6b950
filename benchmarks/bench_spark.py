"""Spark (local[2]) against DuckDB on the same synthetic leaks: wall time and peak memory.

Each run is a child process (``ariane run``). Its peak memory is the highest sum of the
resident memory of the child and all its descendants (Spark's JVM, its Python workers),
sampled every 0.2 s from /proc (Linux): ``ru_maxrss`` of children gives only the largest
single process, and misses a JVM its parent does not wait for. Sizes are rows of
``ariane synth``; 2,000 rows checks the benchmark end to end in a few minutes.

    python benchmarks/bench_spark.py 100000 500000 2000000
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENGINES = {"duckdb": [], "spark": ["--engine", "spark", "--spark-master", "local[2]"]}
PAGE = os.sysconf("SC_PAGE_SIZE")


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


def _run(args: list[str]) -> tuple[float, int]:
    """Wall seconds and peak resident bytes of the child and its descendants together."""
    start = time.perf_counter()
    child = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while child.poll() is None:
        peak = max(peak, _tree_rss(child.pid))
        time.sleep(0.2)
    elapsed = time.perf_counter() - start
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(args[:2])} failed with code {child.returncode}")
    return elapsed, peak


def main(sizes: list[int]) -> None:
    """Print one line per size and engine, and Spark's time as a multiple of DuckDB's."""
    ariane = str(Path(sys.executable).with_name("ariane"))
    os.environ.setdefault("ARIANE_KEY", "benchmark passphrase, synthetic data only")
    print(f"{'rows':>10} {'engine':>7} {'wall s':>8} {'peak MiB':>9} {'x duckdb':>9}")
    for rows in sizes:
        with tempfile.TemporaryDirectory() as folder:
            leak = Path(folder, "leak")
            subprocess.run(
                [ariane, "synth", "--out", str(leak), "--rows", str(rows)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            base = None
            for engine, extra in ENGINES.items():
                case = Path(folder, f"case-{engine}")
                args = [ariane, "run", str(leak / "leak.csv"), "--case", str(case), "-q"]
                args += ["--registry", str(leak / "registry.csv"), *extra]
                wall, peak = _run(args)
                base = base or wall
                print(
                    f"{rows:>10} {engine:>7} {wall:>8.1f} {peak / 2**20:>9.0f} {wall / base:>9.1f}"
                )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100_000, 500_000, 2_000_000])
