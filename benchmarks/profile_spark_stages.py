"""Where a Spark run spends its time: each stage, each engine call, and a cProfile.

    PYTHONPATH=src python benchmarks/profile_spark_stages.py LEAK_DIR CASE_DIR MASTER OUT.prof

LEAK_DIR holds ``leak.csv`` and ``registry.csv`` (``ariane synth --out LEAK_DIR``). Prints
the wall time of each stage and of the report, the count and seconds of each Spark engine
call and the summary (to compare two runs); writes the cProfile to OUT.prof. Nothing of
the leak is printed but counts.
"""

from __future__ import annotations

import cProfile
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from ariane import pipeline
from ariane.engine import spark as spark_engine

CALLS = ("_store", "_append_frame", "fetch", "fetch_arrow", "register", "execute", "materialise")


def _timed_calls(calls: dict[str, list[float]]) -> None:
    for name in CALLS:
        original = getattr(spark_engine.SparkEngine, name)

        def timed(
            self: Any, *args: Any, _original: Any = original, _name: str = name, **kwargs: Any
        ) -> Any:
            start = time.perf_counter()
            try:
                return _original(self, *args, **kwargs)
            finally:
                calls[_name][0] += 1
                calls[_name][1] += time.perf_counter() - start

        setattr(spark_engine.SparkEngine, name, timed)


def _timed_stages(stages: dict[str, float]) -> None:
    for stage, runner in list(pipeline.STAGES.items()):

        def timed(*args: Any, _runner: Any = runner, _stage: str = stage) -> Any:
            start = time.perf_counter()
            try:
                return _runner(*args)
            finally:
                stages[_stage] = round(time.perf_counter() - start, 1)

        pipeline.STAGES[stage] = timed
    write_version = pipeline._write_version

    def report(*args: Any) -> Any:
        start = time.perf_counter()
        try:
            return write_version(*args)
        finally:
            stages["report"] = round(time.perf_counter() - start, 1)

    pipeline._write_version = report


def main() -> None:
    """Run one profiled Spark case and print where its time went."""
    leak, case, master, out = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
    calls: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    stages: dict[str, float] = {}
    _timed_calls(calls)
    _timed_stages(stages)
    os.environ.setdefault("ARIANE_KEY", "profile passphrase")
    options = pipeline.RunOptions(
        [leak / "leak.csv"], registry=leak / "registry.csv", engine="spark", spark_master=master
    )
    start = time.perf_counter()
    profile = cProfile.Profile()
    profile.enable()
    result = pipeline.run(case, options)
    profile.disable()
    print(json.dumps({"total": round(time.perf_counter() - start, 1), "stages": stages}))
    print(json.dumps({k: [int(v[0]), round(v[1], 1)] for k, v in calls.items()}))
    summary = result.summary
    kept = ("rows", "persons", "persons_interval", "unattributed_records", "severity")
    print(json.dumps({k: summary[k] for k in kept}))
    print(json.dumps(sorted((c["controller_id"], c["records"]) for c in summary["controllers"])))
    profile.dump_stats(out)


if __name__ == "__main__":
    main()
