"""Where a Spark run spends its time: each stage, each engine call, and a cProfile.

    PYTHONPATH=src python benchmarks/profile_spark_stages.py LEAK_DIR CASE_DIR MASTER OUT.prof

LEAK_DIR holds ``leak.csv`` and ``registry.csv`` (``ariane synth --out LEAK_DIR``). Prints
the wall time of each stage and of the report, the count and seconds of each Spark engine
call, the statements that took longest (the head of Ariane's SQL, or the name of Splink's
table where it breaks lineage: where Spark's lazy work is done) and the summary (to compare
two runs); writes the cProfile to OUT.prof. Nothing of the leak is printed but counts.
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

#: Statements (Ariane's by the head of their SQL, Splink's by the table it computes).
TOP = 30
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


def _head(sql: Any) -> str:
    """The first words of a statement: what it is, never a value (parameters are apart)."""
    return " ".join(str(sql).split())[:90]


def _timed_statements(statements: dict[str, list[float]]) -> None:
    from splink.internals.spark.database_api import SparkAPI

    def wrap(owner: Any, name: str, label: Any) -> None:
        original = getattr(owner, name)

        def timed(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return _original(self, *args, **kwargs)
            finally:
                entry = statements[label(*args, **kwargs)]
                entry[0] += 1
                entry[1] += time.perf_counter() - start

        setattr(owner, name, timed)

    for call in ("execute", "fetch", "fetch_arrow"):
        wrap(spark_engine.SparkEngine, call, lambda sql, *_, **__: _head(sql))
    wrap(spark_engine.SparkEngine, "materialise", lambda name, sql: "materialise " + _head(sql))
    wrap(SparkAPI, "_break_lineage_and_repartition", lambda df, templated, physical: templated)


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
    statements: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    _timed_statements(statements)
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
    slowest = sorted(statements.items(), key=lambda item: -item[1][1])[:TOP]
    for label, (count, seconds) in slowest:
        print(f"{seconds:9.1f} s {int(count):4d}x  {label}")
    summary = result.summary
    kept = ("rows", "persons", "persons_interval", "unattributed_records", "severity")
    print(json.dumps({k: summary[k] for k in kept}))
    print(json.dumps(sorted((c["controller_id"], c["records"]) for c in summary["controllers"])))
    profile.dump_stats(out)


if __name__ == "__main__":
    main()
