"""Benchmark of loading the geographic referential (``ariane.geo.referential``) cold.

Moved here from a unit test whose 0.3 s bound failed on a loaded machine: a timing is a
figure to watch, not a pass/fail test. Each round runs in a fresh interpreter.

    .venv/bin/python benchmarks/bench_geo.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

_CHILD = (
    "import time; t = time.perf_counter(); from ariane.geo import referential; "
    "referential(); print(time.perf_counter() - t)"
)


def main() -> None:
    """Print the cold load time of the referential, best and median of some rounds."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    times = [
        float(
            subprocess.run(
                [sys.executable, "-c", _CHILD], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(rounds)
    ]
    best, median = min(times), statistics.median(times)
    print(f"geo referential cold load: best {best:.3f} s, median {median:.3f} s")


if __name__ == "__main__":
    main()
