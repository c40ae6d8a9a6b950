"""What reading costs, as the tests of read measure it.

:func:`loading_seconds` is the measure behind every linear-time test: best of 3 per input,
the inputs taking turns and each run starting after a collection, in CPU time of the
process (every thread), so that a busy spell of a shared machine weighs on both sizes alike
and other processes' load is left out. The two sizes are four times apart
(:func:`linear_sizes`): the ratio is near 4 when reading is linear, near 16 when it is
quadratic, and :func:`assert_linear` draws the line at 8, their geometric middle, so that
noise of up to 2x either way is told from a change of order (with sizes only twice apart,
CI saw 2.6-3.0 for linear readers against a line at 2.5). :func:`in_child` runs a memory
probe in a fresh process.
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

LINEAR_BOUND = 8.0


def linear_sizes(n: int) -> tuple[int, int]:
    """The two input sizes of a linear-time test whose larger input is ``2 n``."""
    return n // 2, 2 * n


def assert_linear(times: list[float]) -> None:
    """The larger input (4x) took under 8x the time of the smaller: linear, not quadratic."""
    assert times[1] / times[0] <= LINEAR_BOUND, times


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
