"""What reading costs, as the tests of read measure it.

:func:`loading_seconds` is the measure behind every linear-time test: best of 3 per input,
the inputs taking turns and each run starting after a collection, in CPU time of the
process (every thread), so that a busy spell of a shared machine weighs on both sizes alike
and other processes' load is left out: the ratio of 2n to n stays near 2 when reading is
linear, near 4 when it is quadratic. :func:`in_child` runs a memory probe in a fresh process.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
from pathlib import Path

from ariane.case import Case
from ariane.read import ReadSummary, load


def loading_seconds(paths: list[Path]) -> tuple[list[float], list[ReadSummary]]:
    """Best CPU seconds of ``load`` for each path (a fresh case each run), and what it read."""
    best = [float("inf")] * len(paths)
    summaries: list[ReadSummary] = [ReadSummary([]) for _ in paths]
    for _ in range(3):
        for i, path in enumerate(paths):
            gc.collect()
            with Case.ephemeral() as case:
                engine = case.engine()
                start = time.process_time()
                summaries[i] = load(engine, [path])
                best[i] = min(best[i], time.process_time() - start)
    return best, summaries


def in_child(script: str, *args: str) -> list[str]:
    """The words a Python ``script`` prints, run in a fresh process on this checkout's
    sources: peak memory (``ru_maxrss``) measured there is the reading's alone."""
    src = Path(__file__).resolve().parents[1] / "src"
    probe = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(src)},
    )
    return probe.stdout.split()
