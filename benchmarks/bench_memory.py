"""Peak memory and time of a whole run (read, classify, resolve, attribute) at scale.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_memory.py LEAK_DIR [LIMIT ...]``

``LEAK_DIR`` is the folder ``ariane synth --out LEAK_DIR --rows N`` wrote (``leak.csv``,
``registry.csv``, ``truth.json``); build it once and keep it (``/tmp/ariane-bench/``):
generating 5 M rows takes minutes. Each ``LIMIT`` (``2GB``, ``40%``; ``default`` for the
default) runs in a child process of its own, so that its peak resident memory (the
kernel's high-water mark of the child, threads included) is its own. Prints one JSON
line per limit: seconds per stage, persons against the truth, peak RSS.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

CHILD = """
import json, sys, time
from pathlib import Path
from ariane import classify, read
from ariane.attribute import attribute
from ariane.case import Case
from ariane.resolve import resolve, summarise

leak_dir, limit = Path(sys.argv[1]), (None if sys.argv[2] == "default" else sys.argv[2])


def high_water_gib():
    # The kernel's peak resident memory so far: read after each stage, it shows which
    # stage raised it.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 2**20, 2)
    return None


seconds, peak_after = {}, {}
with Case.ephemeral(memory_limit=limit) as case:
    engine = case.engine()
    for stage, run in (
        ("read", lambda: read.load(engine, [leak_dir / "leak.csv"])),
        ("classify", lambda: classify.classify(engine)),
        ("resolve", lambda: resolve(engine)),
        ("attribute", lambda: attribute(engine, leak_dir / "registry.csv")),
    ):
        started = time.perf_counter()
        run()
        seconds[stage] = round(time.perf_counter() - started, 1)
        peak_after[stage] = high_water_gib()
    found = summarise(engine)
    duckdb_limit = engine.fetch("SELECT current_setting('memory_limit')")[0][0]
print(json.dumps({"seconds": seconds, "peak_gib_after": peak_after, "persons": found["persons"],
                  "interval": found["persons_interval"], "duckdb_memory_limit": duckdb_limit}))
"""


def measure(leak_dir: Path, limit: str) -> dict:
    """One whole run in a child process: its figures and its peak resident memory."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(leak_dir), limit],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    # The kernel's high-water mark over waited children: one child per parent process.
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if done.returncode != 0:
        return {"limit": limit, "error": done.stderr.strip().splitlines()[-1:]}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    truth = json.loads((leak_dir / "truth.json").read_text())
    result.update(
        limit=limit,
        true_persons=truth.get("persons"),
        wall_seconds=round(wall, 1),
        peak_rss_gib=round(peak_kib / 2**20, 2),
    )
    return result


def main(argv: list[str]) -> None:
    """Measure each limit named (default: the default limit) in a process of its own."""
    leak_dir = Path(argv[0])
    limits = argv[1:] or ["default"]
    if len(limits) > 1:
        # RUSAGE_CHILDREN keeps the largest child's peak: one parent per limit.
        for limit in limits:
            subprocess.run([sys.executable, __file__, str(leak_dir), limit], check=False)
        return
    print(json.dumps(measure(leak_dir, limits[0])), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
