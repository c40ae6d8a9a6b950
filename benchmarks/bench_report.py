"""Benchmark: assess + reports for 28 controllers of a 491,840-row leak (the 2021 case's size).

The input tables of the earlier stages (read, classify, resolve, attribute) are built
synthetically in code, then ``assess`` and ``write_reports`` are timed apart, in one run.
Goal: both together under 10 s after the other stages.

    .venv/bin/python benchmarks/bench_report.py [--rows 491840] [--controllers 28]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from ariane import assess, report  # noqa: E402
from ariane.case import Case  # noqa: E402
from ariane.report.pdf import default_workers  # noqa: E402
from test_assess_inputs import add_aware_at, build  # noqa: E402


def _cpu() -> tuple[float, float]:
    """CPU seconds of this process and of its finished children (the PDF workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def _timed(action: Callable[[], object]) -> tuple[object, float, float, float]:
    """Run ``action``; return its result, wall seconds, own and children's CPU seconds."""
    cpu_before, children_before = _cpu()
    started = time.perf_counter()
    result = action()
    wall = time.perf_counter() - started
    cpu_after, children_after = _cpu()
    return result, wall, cpu_after - cpu_before, children_after - children_before


def main() -> None:
    """Build the inputs, time each stage, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=491_840)
    parser.add_argument("--controllers", type=int, default=28)
    args = parser.parse_args()
    workers = default_workers()
    with Case.ephemeral() as case, tempfile.TemporaryDirectory() as out:
        engine = case.engine()
        started = time.perf_counter()
        leak = build(engine, records=args.rows, controllers=args.controllers, keep_secrets=False)
        add_aware_at(engine, "2021-02-23T10:00:00+01:00")
        built = time.perf_counter() - started
        runs = {
            "assess": _timed(lambda: assess.assess(engine)),
            "reports, HTML + JSON only": _timed(
                lambda: report.write_reports(engine, Path(out) / "a", pdf=False)
            ),
            "reports, PDFs in-process": _timed(
                lambda: report.write_reports(engine, Path(out) / "b", pdf_workers=1)
            ),
            f"reports, PDFs in {workers} workers": _timed(
                lambda: report.write_reports(engine, Path(out) / "c", pdf_workers=workers)
            ),
        }
        summary = assess.summarise(engine)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f}, CPython {platform.python_version()}"
    )
    print(
        f"inputs: {leak.records:,} records, {leak.persons:,} persons, "
        f"{len(leak.controllers)} controllers (built in {built:.1f} s, not timed)"
    )
    print(f"{'step':36} {'wall s':>7} {'cpu s':>7} {'workers cpu s':>14} files")
    for name, (result, wall, cpu, children) in runs.items():
        files = len(result) if isinstance(result, list) else ""
        print(f"{name:36} {wall:7.2f} {cpu:7.2f} {children:14.2f} {files}")
    total = runs["assess"][1] + runs[f"reports, PDFs in {workers} workers"][1]
    print(f"assess + reports ({workers} workers): {total:.2f} s wall (goal < 10 s)")
    print(f"severity: {summary['severity']}")


if __name__ == "__main__":
    main()
