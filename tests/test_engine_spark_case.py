"""A case made with ``ariane run --engine spark``, used afterwards as any case.

One real CLI run on Spark (a child process, so that its stderr is the whole process's: the
JVM's included) makes a case on a small synthetic leak, and one on DuckDB beside it. Then:
``run`` printed nothing of Spark's own; ``summary``, ``facts show``, ``report`` and
``audit`` work on the Spark case and agree with the leak as built; a missing or wrong key
fails in one line with DuckDB's exit code; a second Spark master in one process is refused
in one line. Skips when PySpark or Java is absent, unless ARIANE_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ariane.cli import app
from ariane.errors import CaseKeyError, ConfigError
from spark_support import require_spark

PASSPHRASE = "spark case tests passphrase"
runner = CliRunner()


def _ariane(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``ariane ARGS`` in a child process, as a user runs it."""
    code = "import sys; from ariane.cli import main; sys.argv[0] = 'ariane'; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **(env or {})},
        timeout=3600,  # a guard: a run of 300 rows took over 1,200 s at load 20-28 here
    )


class Made:
    """The cases made once for the module."""

    def __init__(self, folder: Path) -> None:
        from ariane.synth import generate

        self.leak = folder / "leak"
        generate(self.leak, rows=300, seed=12)
        with open(self.leak / "leak.csv", encoding="utf-8") as handle:
            self.records = sum(1 for _ in csv.reader(handle)) - 1
        self.spark = folder / "case-spark"
        self.duckdb = folder / "case-duckdb"
        env = {"ARIANE_KEY": PASSPHRASE}
        common = ["--registry", str(self.leak / "registry.csv")]
        leak = str(self.leak / "leak.csv")
        self.spark_run = _ariane(
            "run", leak, "--case", str(self.spark), *common,
            "--engine", "spark", "--spark-master", "local[2]", env=env,
        )  # fmt: skip
        self.duckdb_run = _ariane("run", leak, "--case", str(self.duckdb), *common, env=env)


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Made:
    require_spark()
    return Made(tmp_path_factory.mktemp("spark-case"))


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv("ARIANE_KEY", PASSPHRASE)


def test_run_on_spark_prints_nothing_of_sparks_own(made):
    assert made.duckdb_run.returncode == 0, made.duckdb_run.stderr
    assert made.spark_run.returncode == 0, made.spark_run.stderr[-2000:]
    # Not a terminal: Ariane draws no progress, so its stderr is empty on DuckDB...
    assert made.duckdb_run.stderr == ""
    # ...and on Spark too: no JVM warning, no log4j line, no "Setting default log level".
    assert made.spark_run.stderr == ""
    assert "Case:" in made.spark_run.stdout
    assert json.loads((made.spark / "case.json").read_text())["engine"] == "spark"


def test_summary_facts_report_and_audit_work_on_a_spark_case(made, key):
    summary = runner.invoke(app, ["summary", str(made.spark), "--json"])
    assert summary.exit_code == 0, summary.output
    document = json.loads(summary.output)
    assert document["rows"] + document["quarantined"] == made.records
    attributed = sum(c["records"] for c in document["controllers"])
    assert attributed + document["unattributed_records"] == document["rows"]
    assert "assess" in document["stages"]

    facts = runner.invoke(app, ["facts", "show", str(made.spark), "--json"])
    assert facts.exit_code == 0, facts.output
    shown = json.loads(facts.output)
    assert shown, "facts show printed an empty document"

    report = runner.invoke(app, ["report", str(made.spark), "-q"])
    assert report.exit_code == 0, report.output
    assert (made.spark / "report" / "v2" / "index.html").is_file()  # v1 was run's

    audit = runner.invoke(app, ["audit", str(made.spark)])
    assert audit.exit_code == 0, audit.output
    assert "verifies" in audit.output
    # report's own entry joined run's: the log is read, and the store read in full.
    assert "rows read" in audit.output


def _failure(case: Path, command: list[str]) -> tuple[int, list[str]]:
    result = runner.invoke(app, [str(case) if word == "CASE" else word for word in command])
    lines = [line for line in result.output.splitlines() if line.strip()]
    return result.exit_code, [line.replace(str(case), "CASE") for line in lines]


COMMANDS = [
    ["summary", "CASE", "--json"],
    ["report", "CASE", "-q"],
    ["audit", "CASE"],
    ["facts", "show", "CASE"],  # a subcommand: the case comes after "show"
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_missing_key_is_the_duckdb_error(made, monkeypatch, command):
    monkeypatch.delenv("ARIANE_KEY", raising=False)
    spark = _failure(made.spark, command)
    duckdb = _failure(made.duckdb, command)
    assert spark[0] == CaseKeyError.exit_code
    assert len(spark[1]) == 1 and "ARIANE_KEY" in spark[1][0]
    assert spark == duckdb


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_another_cases_key_is_the_duckdb_error(made, monkeypatch, command):
    monkeypatch.setenv("ARIANE_KEY", "the passphrase of another case")
    spark = _failure(made.spark, command)
    duckdb = _failure(made.duckdb, command)
    assert spark[0] == CaseKeyError.exit_code
    assert len(spark[1]) == 1 and "wrong key" in spark[1][0]
    assert "Traceback" not in spark[1][0]
    # The same line but for the store's name (store/ on Spark, store.duckdb on DuckDB).
    assert spark[0] == duckdb[0]
    normalise = {"CASE/store.duckdb": "STORE", "CASE/store": "STORE"}
    for old, new in normalise.items():
        spark = (spark[0], [line.replace(old, new) for line in spark[1]])
        duckdb = (duckdb[0], [line.replace(old, new) for line in duckdb[1]])
    assert spark == duckdb


def test_a_second_spark_master_in_one_process_is_one_clear_line(made, key):
    from ariane.engine.sparksession import spark_session

    spark_session()  # this process's Spark, on the default master
    result = runner.invoke(app, ["summary", str(made.spark)])
    assert result.exit_code == 0, result.output  # the same master: shared
    other = made.spark.parent / "other"
    leak = str(made.leak / "leak.csv")
    refused = runner.invoke(
        app, ["run", leak, "--case", str(other), "--engine", "spark", "--spark-master", "local[1]"]
    )
    lines = [line for line in refused.output.splitlines() if line.strip()]
    assert refused.exit_code == ConfigError.exit_code
    assert len(lines) == 1 and "one Spark master a process" in lines[0]
    assert not other.exists()
