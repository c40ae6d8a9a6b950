"""What reading costs, as the tests of read measure it: steps counted, and CPU time.

Two checks that a reader stays linear, on inputs four times apart (:func:`linear_sizes`):

- :func:`steps_of` counts the work itself (lines of Ariane's code run, built-ins called):
  exact, the same on a loaded machine as on an idle one, so its line sits close to 4
  (:data:`STEP_BOUND`). It sees a loop that goes back over what was read; it does not see
  work done inside a built-in (a ``bytes.find`` from the start of a buffer, a regular
  expression, DuckDB).
- :func:`loading_seconds` times the rest: best of 3 per input, the inputs taking turns and
  each run starting after a collection, in CPU time of the process (every thread), so that
  a busy spell of a shared machine weighs on both sizes alike. The ratio is near 4 when
  reading is linear, near 16 when it is quadratic; :func:`assert_linear` draws the line at
  8, their geometric middle, and when a ratio is over it measures again (up to 3 rounds,
  keeping each input's best): a busy spell passes, a quadratic reader stays near 16 in
  every round. Pure timing curves are in ``benchmarks/bench_read_scaling.py``.

:func:`in_child` runs a memory probe in a fresh process.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ariane.case import Case
from ariane.read import ReadSummary, load

LINEAR_BOUND = 8.0
T = TypeVar("T")


def linear_sizes(n: int) -> tuple[int, int]:
    """The two input sizes of a linear-time test whose larger input is ``2 n``."""
    return n // 2, 2 * n


def assert_linear(times: list[float], again: Callable[[], list[float]], rounds: int = 3) -> None:
    """The larger input (4x) took under 8x the time of the smaller: linear, not quadratic.

    ``times`` are a first measure; ``again()`` measures anew when the ratio is over the line
    (at most ``rounds`` in all), each input keeping its best time.
    """
    best, seen = list(times), [list(times)]
    while best[1] / best[0] > LINEAR_BOUND and len(seen) < rounds:
        seen.append(again())
        best = [min(old, new) for old, new in zip(best, seen[-1], strict=True)]
    assert best[1] / best[0] <= LINEAR_BOUND, seen


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


#: Steps of the larger input (4x) over the smaller's, at most: linear gives 4 or a little less
#: (fixed costs weigh more on the smaller), quadratic 16. Counts are exact, so the line can sit
#: close to 4.
STEP_BOUND = 4.5
#: Where the code of Python and of the installed packages lives: steps there are not counted.
LIBRARIES = tuple({sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix})


def steps_of(work: Callable[[], T]) -> tuple[int, T]:
    """The steps ``work()`` takes, and what it returns.

    A step is a line run of code outside Python's library and the installed packages
    (Ariane's, a test's), or a built-in called from there: a loop that goes back over what
    it already read counts that work again. The count is the work itself, not time: it
    does not move with the machine's load. A built-in counts one step whatever it does (a
    ``bytes.find`` from the start of a buffer, a regular expression), and DuckDB's work is
    not seen: the time test watches those.
    """
    count = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal count
        if event == "c_call" and not frame.f_code.co_filename.startswith(LIBRARIES):
            count += 1

    def trace(frame: Any, event: str, arg: Any) -> Any:
        return None if frame.f_code.co_filename.startswith(LIBRARIES) else lines

    def lines(frame: Any, event: str, arg: Any) -> Any:
        nonlocal count
        if event == "line":
            count += 1
        return lines

    threading.setprofile(profile)
    threading.settrace(trace)
    sys.setprofile(profile)
    sys.settrace(trace)
    try:
        result = work()
    finally:
        sys.settrace(None)
        sys.setprofile(None)
        threading.settrace(None)  # type: ignore[arg-type]
        threading.setprofile(None)  # type: ignore[arg-type]
    return count, result


def reading_steps(paths: list[Path]) -> tuple[list[int], list[ReadSummary]]:
    """The steps (:func:`steps_of`) ``load`` takes on each path, a fresh case each."""
    steps: list[int] = []
    summaries: list[ReadSummary] = []
    for path in paths:
        with Case.ephemeral() as case:
            engine = case.engine()
            count, summary = steps_of(lambda: load(engine, [path]))  # noqa: B023 - run now
        steps.append(count)
        summaries.append(summary)
    return steps, summaries


def assert_linear_steps(steps: list[int]) -> None:
    """The larger input (4x) took more than 2x and at most 4.5x the steps of the smaller.

    More than 2x: the count sees the work that grows with the input (else the test could
    not fail); at most 4.5x: that work is linear, not quadratic (16x).
    """
    assert 2 * steps[0] < steps[1] <= STEP_BOUND * steps[0], steps


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
