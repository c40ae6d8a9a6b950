"""The same case on every engine: DuckDB and Spark give the same summary.

Each leak runs once per engine (module-scoped); every engine's summary is checked against
how the leak was built, and Spark's against DuckDB's: persons within 0.1%, the same
controllers with the same records, the same special categories and severity bands. The
leaks differ in shape: the synthetic CSV, two CSVs, a nested JSON export, per-lab SQL dumps
of two linked tables, a workbook whose results sheet hangs off its patients sheet, an HL7
v2 log whose ADT^A40 messages merge patients registered twice (each kept small: a Spark
run costs a minute here). Spark runs skip when PySpark or Java is absent, unless
ARIANE_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import layout_leaks
import witness_leaks
from ariane import pipeline
from ariane.synth import AWARE_AT, generate
from spark_support import require_spark


def _engine(name: str) -> str:
    if name == "spark":
        require_spark()
    return name


@dataclass(frozen=True)
class Built:
    """A leak as built: how to run it, its input rows, and its records once linked rows
    fold into their patient's (None where the build does not say)."""

    options: pipeline.RunOptions
    rows: int
    records: int | None


def _synthetic(folder: Path) -> Built:
    generate(folder, rows=2000, seed=2021)
    with open(folder / "leak.csv", encoding="utf-8") as handle:
        rows = sum(1 for _ in csv.reader(handle)) - 1
    options = pipeline.RunOptions(
        [folder / "leak.csv"], registry=folder / "registry.csv", aware_at=AWARE_AT
    )
    return Built(options, rows, rows)


def _two_csvs(folder: Path) -> Built:
    layout = layout_leaks.two_csvs(folder, rows=600)
    options = pipeline.RunOptions(layout.files, registry=layout.registry, aware_at=AWARE_AT)
    return Built(options, len(layout.truth), None)


def _nested_json(folder: Path) -> Built:
    folder.mkdir(parents=True)
    paths, truth = witness_leaks.json_nested(folder, rows=150, seed=31)
    return Built(pipeline.RunOptions(paths, aware_at=AWARE_AT), truth["records"], truth["records"])


def _sql_dumps(folder: Path) -> Built:
    # Two tables a dump (patients, and analyses keyed by the lab's own patient numbers).
    layout = layout_leaks.sql_dumps(folder, rows=300, seed=32)
    options = pipeline.RunOptions(layout.files, registry=layout.registry, aware_at=AWARE_AT)
    return Built(options, len(layout.truth), None)


def _linked_workbook(folder: Path) -> Built:
    from test_link import PATIENT_HEADER, RESULT_HEADER, _leak, _workbook

    folder.mkdir(parents=True)
    leak = _leak(80, seed=33)
    path = folder / "export.xlsx"
    sheets = {"Blatt1": [PATIENT_HEADER, *leak.patients], "Blatt2": [RESULT_HEADER, *leak.results]}
    _workbook(path, sheets)
    rows = len(leak.patients) + len(leak.results)
    # Results fold into their patient's record: one record a patient.
    return Built(pipeline.RunOptions([path], aware_at=AWARE_AT), rows, len(leak.patients))


def _hl7_merges(folder: Path) -> Built:
    """An HL7 v2 log of 40 patients, 4 of them registered twice under another number (no
    NIR, an old address) and merged back by ADT^A40 messages, two before the rest."""
    from hl7_messages import hl7_merge, hl7_message, people

    folder.mkdir(parents=True)
    persons = people(40)
    visits = [hl7_message(p, v, f"M{p.number}{v}") for p in persons for v in range(p.visits)]
    twice, merges = [], []
    for person in persons[3::10]:
        text = hl7_message(person, 0, f"D{person.number}")
        pid = next(s for s in text.split("\r") if s.startswith("PID"))
        old = (
            f"PID|1||P009{person.number:02d}^^^LAB^PI||{person.family}^{person.given}^^^^^L||"
            f"{person.birth}|{person.sex}|||12 rue Ancienne^^Brest^^29200^FRA"
        )
        twice.append(text.replace(pid, old))
        merges.append(
            hl7_merge(person, f"P009{person.number:02d}^^^LAB^PI", f"A40-{person.number}")
        )
    messages = merges[:2] + visits + twice + merges[2:]  # one PID (one record) each
    path = folder / "feed.hl7"
    path.write_text("\n".join(messages), encoding="utf-8")
    return Built(pipeline.RunOptions([path], aware_at=AWARE_AT), len(messages), len(messages))


LEAKS: dict[str, Callable[[Path], Built]] = {
    "synthetic": _synthetic,
    "two_csvs": _two_csvs,
    "nested_json": _nested_json,
    "sql_dumps": _sql_dumps,
    "linked_workbook": _linked_workbook,
    "hl7_merges": _hl7_merges,
}


@pytest.fixture(scope="module")
def summaries(tmp_path_factory):
    """summary --json of each (engine, leak), computed once."""
    done: dict[tuple[str, str], tuple[dict, Built]] = {}

    def summary(engine: str, leak: str) -> tuple[dict, Built]:
        if (engine, leak) not in done:
            folder = tmp_path_factory.mktemp(f"{leak}-{engine}")
            built = LEAKS[leak](folder / "leak")
            # Spark on local[2], not the default master: the Spark cases opened later in
            # this process (without a master) must open on it.
            master = "local[2]" if engine == "spark" else None
            options = pipeline.RunOptions(
                **{**built.options.__dict__, "engine": engine, "spark_master": master}
            )
            os.environ["ARIANE_KEY"] = "parity tests passphrase"
            try:
                result = pipeline.run(folder / "case", options)
            finally:
                del os.environ["ARIANE_KEY"]
            done[(engine, leak)] = (result.summary, built)
        return done[(engine, leak)]

    return summary


@pytest.mark.parametrize("leak", list(LEAKS))
@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_every_record_counted_and_attributed_on_each_engine(summaries, engine, leak):
    summary, built = summaries(_engine(engine), leak)
    assert summary["rows"] + summary["quarantined"] == built.rows
    assert "assess" in summary["stages"]
    records = sum(c["records"] for c in summary["controllers"]) + summary["unattributed_records"]
    assert records <= summary["rows"]
    if built.records is not None:
        assert records == built.records
    assert 0 < summary["persons"] <= records


def _per_controller(summary: dict) -> dict[str, tuple[int, str]]:
    return {c["controller_id"]: (c["records"], c["severity"]) for c in summary["controllers"]}


@pytest.mark.parametrize("leak", list(LEAKS))
def test_spark_gives_the_duckdb_summary(summaries, leak):
    spark, _ = summaries(_engine("spark"), leak)
    duckdb, _ = summaries("duckdb", leak)
    assert abs(spark["persons"] - duckdb["persons"]) <= 0.001 * duckdb["persons"]
    for count in ("rows", "quarantined", "linked", "unattributed_records"):
        assert spark[count] == duckdb[count], count
    assert _per_controller(spark) == _per_controller(duckdb)
    assert spark["unattributed_records"] == duckdb["unattributed_records"]
    assert spark["special_categories"] == duckdb["special_categories"]
    assert spark["departements"] == duckdb["departements"]
    for band, count in duckdb["severity"].items():
        assert abs(spark["severity"][band] - count) <= max(1, 0.001 * duckdb["persons"])


def test_spark_computes_the_candidate_pairs_once(tmp_path, monkeypatch):
    """The union of the blocked pairs is kept (read back from its Parquet), not a view:
    as a view, Spark ran every rule's join again to count the pairs, and again for each
    slice scored (fifteen slices at 20 M rows)."""
    from ariane.resolve import persons

    require_spark()
    plans: list[str] = []
    scored = persons._predict_in_slices

    def spied(engine, linker, pairs, threshold):
        plan = engine.spark.table(pairs.physical_name)._jdf.queryExecution().optimizedPlan()
        plans.append(plan.toString())
        return scored(engine, linker, pairs, threshold)

    monkeypatch.setattr(persons, "_predict_in_slices", spied)
    built = _synthetic(tmp_path / "leak")
    options = pipeline.RunOptions(
        **{**built.options.__dict__, "engine": "spark", "spark_master": "local[2]"}
    )
    monkeypatch.setenv("ARIANE_KEY", "parity tests passphrase")
    pipeline.run(tmp_path / "case", options)
    assert len(plans) == 1
    assert "Relation" in plans[0] and "parquet" in plans[0].lower()
    assert "Join" not in plans[0]
