"""The same case on every engine: DuckDB and Spark give the same summary.

Each leak runs once per engine (module-scoped); every engine's summary is checked against
how the leak was built, and Spark's against DuckDB's: persons within 0.1%, the same
controllers with the same records, the same special categories and severity bands. Spark
runs skip when PySpark or Java is absent, unless ARIANE_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import layout_leaks
from ariane import pipeline
from ariane.synth import AWARE_AT, generate

REQUIRE = os.environ.get("ARIANE_REQUIRE_SERVICES") == "1"


def _spark_missing() -> str | None:
    if importlib.util.find_spec("pyspark") is None:
        return "PySpark is not installed (pip install 'ariane[spark]')"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "Java is not installed"
    return None


def _engine(name: str) -> str:
    if name == "spark" and (missing := _spark_missing()):
        if REQUIRE:
            pytest.fail(f"{missing}; ARIANE_REQUIRE_SERVICES=1 requires it")
        pytest.skip(missing)
    return name


def _synthetic(folder: Path) -> tuple[pipeline.RunOptions, int]:
    generate(folder, rows=2000, seed=2021)
    with open(folder / "leak.csv", encoding="utf-8") as handle:
        records = sum(1 for _ in csv.reader(handle)) - 1
    options = pipeline.RunOptions(
        [folder / "leak.csv"], registry=folder / "registry.csv", aware_at=AWARE_AT
    )
    return options, records


def _two_csvs(folder: Path) -> tuple[pipeline.RunOptions, int]:
    layout = layout_leaks.two_csvs(folder, rows=600)
    options = pipeline.RunOptions(layout.files, registry=layout.registry, aware_at=AWARE_AT)
    return options, len(layout.truth)


LEAKS: dict[str, Callable[[Path], tuple[pipeline.RunOptions, int]]] = {
    "synthetic": _synthetic,
    "two_csvs": _two_csvs,
}


@pytest.fixture(scope="module")
def summaries(tmp_path_factory):
    """summary --json of each (engine, leak), computed once."""
    done: dict[tuple[str, str], tuple[dict, int]] = {}

    def summary(engine: str, leak: str) -> tuple[dict, int]:
        if (engine, leak) not in done:
            folder = tmp_path_factory.mktemp(f"{leak}-{engine}")
            options, records = LEAKS[leak](folder / "leak")
            options = pipeline.RunOptions(**{**options.__dict__, "engine": engine})
            os.environ["ARIANE_KEY"] = "parity tests passphrase"
            try:
                result = pipeline.run(folder / "case", options)
            finally:
                del os.environ["ARIANE_KEY"]
            done[(engine, leak)] = (result.summary, records)
        return done[(engine, leak)]

    return summary


@pytest.mark.parametrize("leak", list(LEAKS))
@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_every_record_counted_and_attributed_on_each_engine(summaries, engine, leak):
    summary, records = summaries(_engine(engine), leak)
    assert summary["rows"] + summary["quarantined"] == records
    assert "assess" in summary["stages"]
    attributed = sum(c["records"] for c in summary["controllers"])
    assert attributed + summary["unattributed_records"] == summary["rows"]
    assert 0 < summary["persons"] <= summary["rows"]


def _per_controller(summary: dict) -> dict[str, tuple[int, str]]:
    return {c["controller_id"]: (c["records"], c["severity"]) for c in summary["controllers"]}


@pytest.mark.parametrize("leak", list(LEAKS))
def test_spark_gives_the_duckdb_summary(summaries, leak):
    spark, _ = summaries(_engine("spark"), leak)
    duckdb, _ = summaries("duckdb", leak)
    assert abs(spark["persons"] - duckdb["persons"]) <= 0.001 * duckdb["persons"]
    assert _per_controller(spark) == _per_controller(duckdb)
    assert spark["unattributed_records"] == duckdb["unattributed_records"]
    assert spark["special_categories"] == duckdb["special_categories"]
    assert spark["departements"] == duckdb["departements"]
    for band, count in duckdb["severity"].items():
        assert abs(spark["severity"][band] - count) <= max(1, 0.001 * duckdb["persons"])
