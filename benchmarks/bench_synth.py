"""Benchmark of ``ariane.synth.generate``: wall time, rows/s and peak memory per size.

Each size runs in its own subprocess so that its peak resident memory (``ru_maxrss`` from
``os.wait4``) is its own. Output goes to a temporary folder, removed afterwards.

    .venv/bin/python benchmarks/bench_synth.py                 # 491,840 and 5,000,000 rows
    .venv/bin/python benchmarks/bench_synth.py --rows 100000   # other sizes
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_CHILD = (
    "import sys; from ariane.synth import generate; "
    "r = generate(sys.argv[1], rows=int(sys.argv[2]), seed=2021); print(r.persons)"
)


def run(rows: int) -> tuple[float, float, int, int, int]:
    """Generate ``rows`` rows in a subprocess: wall and CPU s, peak RSS KiB, persons, bytes."""
    with tempfile.TemporaryDirectory(prefix="ariane-bench-synth-") as out:
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, out, str(rows)], stdout=subprocess.PIPE, text=True
        )
        assert child.stdout is not None
        persons = int(child.stdout.read() or 0)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode:
            raise SystemExit(f"generate({rows}) failed with exit code {child.returncode}")
        size = (Path(out) / "leak.csv").stat().st_size
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, persons, size


def main() -> None:
    """Run the benchmark and print one line per size."""
    parser = argparse.ArgumentParser(description="Benchmark the synthetic leak generator.")
    parser.add_argument("--rows", type=int, nargs="+", default=[491_840, 5_000_000])
    args = parser.parse_args()
    print(f"# {platform.node()} {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")  # fmt: skip
    # CPU seconds are shown beside wall time: on a shared machine they vary less.
    print(f"{'rows':>10} {'persons':>10} {'seconds':>8} {'cpu s':>7} {'rows/s':>9} "
          f"{'peak MiB':>9} {'file MiB':>8}")  # fmt: skip
    for rows in args.rows:
        elapsed, cpu, peak_kib, persons, size = run(rows)
        print(
            f"{rows:>10,} {persons:>10,} {elapsed:>8.1f} {cpu:>7.1f} {rows / elapsed:>9,.0f} "
            f"{peak_kib / 1024:>9.1f} {size / 2**20:>8.0f}"
        )


if __name__ == "__main__":
    main()
