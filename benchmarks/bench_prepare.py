"""Benchmark of ``ariane.classify.prepare()`` cold: the CPU labelling's reference data costs.

Every scan and run pays it once (``scan`` runs it in a thread beside the read, where on a
small machine it competes with pyarrow and DuckDB). Each round runs in a fresh interpreter
and times ``prepare()`` alone, after ``import ariane.classify``; ``--against DIR`` times
another tree's ``src`` too, round by round, so that both see the same load. ``--scan FILE``
times :func:`ariane.pipeline.scan` of a file instead, and the parts of it that ``prepare()``
runs beside (``read.load``) or before (``classify.classify``), by wrapping them.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_prepare.py [--rounds 7] [--against DIR]
        [--scan FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

_CHILD = (
    "import time; import ariane.classify as c; t = time.process_time(); w = time.perf_counter(); "
    "c.prepare(); print(time.process_time() - t, time.perf_counter() - w)"
)
_SCAN_CHILD = """
import json, sys, time
from pathlib import Path
from ariane import classify, pipeline, read
parts = {}
def timed(module, name, label):
    function = getattr(module, name)
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            parts[label] = time.perf_counter() - started
    setattr(module, name, wrapper)
timed(classify, "prepare", "prepare_s")
timed(read, "load", "read_s")
timed(classify, "classify", "classify_s")
wall, cpu = time.perf_counter(), time.process_time()
pipeline.scan([Path(sys.argv[1])])
parts["scan_s"] = time.perf_counter() - wall
parts["scan_cpu_s"] = time.process_time() - cpu
print(json.dumps(parts))
"""


def _round(src: Path) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD], capture_output=True, text=True, check=True, env=env
    ).stdout.split()
    return float(out[0]), float(out[1])


def _scan_round(src: Path, file: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, "-c", _SCAN_CHILD, str(file)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    parts: dict[str, float] = json.loads(out)
    return parts


def _scan(trees: dict[str, Path], file: Path, rounds: int) -> None:
    times: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    for _ in range(rounds):
        for name, src in trees.items():
            times[name].append(_scan_round(src, file))
    for name, runs in times.items():
        medians = {
            part: round(statistics.median(run[part] for run in runs), 2)
            for part in runs[0]
            if all(part in run for run in runs)
        }
        print(f"scan of {file}, {name}, medians of {rounds} rounds: {json.dumps(medians)}")


def main() -> None:
    """Print the CPU and wall time of a cold ``prepare()``, best and median of some rounds."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--against", type=Path, help="another tree's src directory")
    parser.add_argument("--scan", type=Path, help="time a whole scan of this file instead")
    args = parser.parse_args()
    trees = {"this tree": Path(__file__).resolve().parents[1] / "src"}
    if args.against:
        trees[str(args.against)] = args.against
    if args.scan:
        _scan(trees, args.scan, args.rounds)
        return
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    for _ in range(args.rounds):
        for name, src in trees.items():
            times[name].append(_round(src))
    for name, rounds in times.items():
        cpu, wall = [r[0] for r in rounds], [r[1] for r in rounds]
        print(
            f"prepare() cold, {name}: CPU best {min(cpu):.3f} s, median "
            f"{statistics.median(cpu):.3f} s; wall best {min(wall):.3f} s, median "
            f"{statistics.median(wall):.3f} s ({len(rounds)} rounds)"
        )


if __name__ == "__main__":
    main()
