"""Spark (local[2]) against DuckDB on the same synthetic leaks: wall time and peak memory.

Each run is a child process (``ariane run``), so that its peak resident memory (the
child's and its JVM's, from ``wait4``) is its own. Sizes are rows of ``ariane synth``.

    python benchmarks/bench_spark.py 100000 500000 2000000
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENGINES = {"duckdb": [], "spark": ["--engine", "spark", "--spark-master", "local[2]"]}


def _run(args: list[str]) -> tuple[float, int]:
    """Wall seconds and peak resident bytes of all the child's descendants."""
    start = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    return elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


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
                # ru_maxrss of children is a high-water mark over all of them: each engine
                # runs in a fresh Python that measures only its own child.
                wall, peak = _measured(args)
                base = base or wall
                print(
                    f"{rows:>10} {engine:>7} {wall:>8.1f} {peak / 2**20:>9.0f} {wall / base:>9.1f}"
                )


def _measured(args: list[str]) -> tuple[float, int]:
    here = str(Path(__file__).parent)
    code = (
        f"import sys; sys.path.insert(0, {here!r}); from bench_spark import _run; "
        f"w, p = _run({args!r}); print(w, p)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    wall, peak = out.stdout.split()
    return float(wall), int(peak)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100_000, 500_000, 2_000_000])
