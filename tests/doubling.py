"""The measure behind every linear-time test of read: CPU seconds to load each input.

Best of 3 per input, the inputs taking turns and each run starting after a collection, in
CPU time of the process (every thread): a busy spell of a shared machine weighs on both
sizes alike and other processes' load is left out, so the ratio of 2n to n stays near 2
when reading is linear, near 4 when it is quadratic.
"""

from __future__ import annotations

import gc
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
