"""The Spark engine: DuckDB SQL transpiled, refusals before any case is made, and the store
encrypted on disk.

The transpilation and refusal tests need no Spark. The store test starts one SparkSession
(shared by the module); it skips when PySpark or Java is absent, unless
ARIANE_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from ariane.cli import app
from ariane.engine import sparksql
from ariane.errors import ConfigError
from spark_support import require_spark

runner = CliRunner()


def _spark(sql: str, params: list | None = None) -> str:
    (statement,) = sparksql.parse(sql, params)
    return sparksql.to_spark(statement)


# -- transpilation (no Spark needed) ----------------------------------------------------------


def test_duckdb_unpivot_becomes_the_standard_form_over_the_named_columns():
    sql = _spark(
        'SELECT k, name, v FROM (UNPIVOT (SELECT k, "a b", c FROM t) '
        "ON COLUMNS(* EXCLUDE (k)) INTO NAME name VALUE v)"
    )
    assert "UNPIVOT(`v` FOR `name` IN (`a b`, `c`))" in sql.replace("UNPIVOT (", "UNPIVOT(")
    assert "COLUMNS" not in sql


def test_seeded_reservoir_sample_becomes_a_seeded_random_order():
    sql = _spark("SELECT a FROM t USING SAMPLE reservoir(2000 ROWS) REPEATABLE (7)")
    assert "RAND(7)" in sql.upper() and "LIMIT 2000" in sql.upper()
    assert "TABLESAMPLE" not in sql.upper()


def test_full_match_is_anchored_and_row_number_gets_an_order():
    assert "RLIKE '^(?:[0-9]{5})$'" in _spark("SELECT regexp_full_match(a, '[0-9]{5}') FROM t")
    assert "ORDER BY" in _spark("SELECT row_number() OVER () AS r FROM t").upper()


def test_a_full_match_inside_another_is_rewritten_too():
    sql = _spark(
        "SELECT regexp_full_match(CASE WHEN regexp_full_match(a, '[0-9]+') THEN a END, "
        "'[0-9]{2}') FROM t"
    )
    assert "REGEXP_FULL_MATCH" not in sql.upper()
    assert sql.count("RLIKE") == 2


def test_hugeint_becomes_a_whole_decimal_spark_has():
    sql = _spark("SELECT min(TRY_CAST(k AS HUGEINT)), CAST(n AS UHUGEINT) FROM t")
    assert "INT128" not in sql.upper() and "HUGEINT" not in sql.upper()
    assert sql.upper().count("DECIMAL(38, 0)") == 2


def test_list_index_counts_from_one_as_in_duckdb():
    sql = _spark("SELECT ['low', 'high'][rank + 1] FROM t")
    assert "TRY_ELEMENT_AT(ARRAY('LOW', 'HIGH'), RANK + 1)" in sql.upper()


def test_try_strptime_with_several_formats_tries_each_in_order():
    sql = _spark("SELECT try_strptime(d, ['%Y%m%d', '%d%m%Y']) FROM t")
    assert sql.upper().count("TRY_TO_TIMESTAMP") == 2
    assert sql.index("yyyyMMdd") < sql.index("ddMMyyyy")


def test_parameters_are_bound_as_literals_in_order():
    sql = _spark("INSERT INTO t VALUES (?, ?, ?)", ["it's", 3, None])
    assert "'it''s'" in sql or "'it\\'s'" in sql
    assert ", 3, NULL" in sql


# -- refusals before anything is made -----------------------------------------------------------


def _run(tmp_path: Path, *extra: str):
    leak = tmp_path / "leak.csv"
    leak.write_text("nom,prenom\nDUPONT,Jean\n")
    return runner.invoke(app, ["run", str(leak), "--case", str(tmp_path / "case"), *extra])


def test_without_the_extra_one_line_and_no_case(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark fails
    result = _run(tmp_path, "--engine", "spark")
    assert result.exit_code == ConfigError.exit_code
    assert "pip install 'ariane[spark]'" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "case").exists()


def test_without_java_one_line_and_no_case(tmp_path, monkeypatch):
    if importlib.util.find_spec("pyspark") is None:
        pytest.skip("PySpark is not installed: the Java check comes after it")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no java anywhere on it
    result = _run(tmp_path, "--engine", "spark")
    assert result.exit_code == ConfigError.exit_code
    assert "needs Java" in result.output
    assert not (tmp_path / "case").exists()


def test_unreachable_master_one_line_and_no_case(tmp_path):
    if importlib.util.find_spec("pyspark") is None or shutil.which("java") is None:
        pytest.skip("PySpark or Java is absent: the master check comes after them")
    # Port 9 (discard) on the loopback: nothing listens there.
    result = _run(tmp_path, "--engine", "spark", "--spark-master", "spark://127.0.0.1:9")
    assert result.exit_code == ConfigError.exit_code
    assert "no Spark master answers" in result.output
    assert not (tmp_path / "case").exists()


def test_a_malformed_local_master_one_line_and_no_case(tmp_path):
    if importlib.util.find_spec("pyspark") is None or shutil.which("java") is None:
        pytest.skip("PySpark or Java is absent: the master check comes after them")
    result = _run(tmp_path, "--engine", "spark", "--spark-master", "local[two]")
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == ConfigError.exit_code
    assert len(lines) == 1 and "expected local, local[N]" in lines[0]
    assert not (tmp_path / "case").exists()


def test_a_java_that_does_not_start_one_line_and_no_case(tmp_path):
    if importlib.util.find_spec("pyspark") is None:
        pytest.skip("PySpark is not installed: the Java check comes after it")
    # A JAVA_HOME whose java exits at once (a broken JRE): Spark cannot start. In a child
    # process: this one may run Spark already, and its stderr is the JVM's too.
    java = tmp_path / "jre" / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text("#!/bin/sh\necho 'Error: broken JRE' >&2\nexit 1\n")
    java.chmod(0o755)
    leak = tmp_path / "leak.csv"
    leak.write_text("nom,prenom\nDUPONT,Jean\n")
    code = "import sys; from ariane.cli import main; sys.argv[0] = 'ariane'; sys.exit(main())"
    args = ["run", str(leak), "--case", str(tmp_path / "case"), "--engine", "spark"]
    env = {**os.environ, "JAVA_HOME": str(java.parents[1]), "ARIANE_KEY": "a passphrase"}
    env["PYTHONPATH"] = os.pathsep.join(sys.path)
    result = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=600
    )
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert result.returncode == ConfigError.exit_code, lines
    assert len(lines) == 1 and "Spark did not start" in lines[0]
    assert not (tmp_path / "case").exists()


def test_spark_master_without_spark_engine_is_refused(tmp_path):
    result = _run(tmp_path, "--spark-master", "local[2]")
    assert result.exit_code == ConfigError.exit_code
    assert "--spark-master is for --engine spark" in result.output


# -- the encrypted Parquet store ---------------------------------------------------------------


@pytest.fixture(scope="module")
def spark():
    """The process's SparkSession (started once), or a skip with the reason."""
    require_spark()
    from ariane.engine.sparksession import spark_session

    return spark_session()  # the one the engine tests share: one SparkContext a process


def _files_holding(folders: list[Path], needles: list[bytes]) -> list[str]:
    found = []
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                found += [f"{path.name}: {n!r}" for n in needles if n in data]
    return found


def test_store_is_encrypted_on_disk_and_reads_back(spark, tmp_path):
    from ariane.engine.spark import SparkEngine
    from ariane.engine.sparksession import local_dir

    key = "ab" * 32
    people = pa.table(
        {
            "nir": [f"18507751234{i:02d}" for i in range(50)],
            "last_name": [f"ZORGLUBIDON{i}" for i in range(50)],
        }
    )
    engine = SparkEngine(tmp_path / "store", key, tmp_path / ".tmp", create=True, session=spark)
    engine.append("people", people)
    engine.execute("CREATE TABLE notes (last_name VARCHAR, n INTEGER)")
    engine.execute("INSERT INTO notes VALUES (?, ?)", ["ZORGLUBIDON7", 7])
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE joined AS SELECT p.nir, n.n FROM people p "
        "JOIN notes n USING (last_name)"
    )
    assert engine.fetch("SELECT nir, n FROM joined") == [("18507751234" + "07", 7)]
    # Every file written (the store, the scratch folder, Spark's shuffle and spill
    # folder) holds no identifier in clear.
    needles = [b"ZORGLUBIDON", b"18507751234"]
    assert _files_holding([tmp_path, local_dir(spark)], needles) == []
    engine.close()

    reopened = SparkEngine(tmp_path / "store", key, tmp_path / ".tmp", session=spark)
    assert reopened.tables() == ["notes", "people"]
    assert reopened.fetch("SELECT count(*) FROM people") == [(50,)]
    reopened.close()


def test_a_case_opens_on_the_running_spark_and_another_master_is_refused(spark):
    from ariane.engine.sparksession import EngineUnavailableError, spark_session

    # Without a master (opening a case), and with the running one's: the same session.
    assert spark_session() is spark
    assert spark_session(spark.sparkContext.master) is spark
    other = "local[3]" if spark.sparkContext.master != "local[3]" else "local[1]"
    with pytest.raises(EngineUnavailableError, match="one Spark master a process"):
        spark_session(other)
    assert spark_session() is spark  # the refusal stopped nothing


def test_columns_parquet_cannot_name_are_encrypted_and_read_back(spark, tmp_path):
    from ariane.engine.spark import SparkEngine

    # Flattened JSON keys hold dots; CSV headers may hold commas, colons or edge spaces:
    # Parquet's list of column keys cannot name them.
    names = ["patient.ssn", "nom, prenom", "a:b", " ville", "id"]
    values = [[f"18507751234{i:02d}" for i in range(5)], *[[f"ZORGLUB{i}" for i in range(5)]] * 3]
    people = pa.table([*[pa.array(v) for v in values], pa.array(range(5))], names=names)
    engine = SparkEngine(
        tmp_path / "store", "cd" * 32, tmp_path / ".tmp", create=True, session=spark
    )
    engine.append("people", people)
    engine.close()
    reopened = SparkEngine(tmp_path / "store", "cd" * 32, tmp_path / ".tmp", session=spark)
    assert (
        reopened.fetch_arrow("SELECT * FROM people ORDER BY id").to_pylist() == people.to_pylist()
    )
    reopened.close()
    assert _files_holding([tmp_path], [b"ZORGLUB", b"18507751234"]) == []


def test_add_column_adds_it_and_if_not_exists_keeps_the_table_as_it_is(spark, tmp_path):
    from ariane.engine.spark import SparkEngine

    engine = SparkEngine(
        tmp_path / "store", "ef" * 32, tmp_path / ".tmp", create=True, session=spark
    )
    engine.execute("CREATE TABLE sources (source_id INTEGER, path VARCHAR)")
    engine.execute("INSERT INTO sources VALUES (?, ?)", [1, "a.csv"])
    generations = sorted(p.name for p in (tmp_path / "store" / "sources").iterdir())
    engine.execute("ALTER TABLE sources ADD COLUMN IF NOT EXISTS path VARCHAR")
    # Nothing to add: the table is not rewritten (a Spark job and a Parquet write saved).
    assert sorted(p.name for p in (tmp_path / "store" / "sources").iterdir()) == generations
    engine.execute("ALTER TABLE sources ADD COLUMN IF NOT EXISTS note VARCHAR")
    engine.execute("INSERT INTO sources VALUES (?, ?, ?)", [2, "b.csv", "late"])
    assert engine.fetch("SELECT source_id, path, note FROM sources ORDER BY source_id") == [
        (1, "a.csv", None),
        (2, "b.csv", "late"),
    ]
    engine.close()


def test_delete_keeps_the_rows_its_condition_does_not_hold_for(spark, tmp_path):
    from ariane.engine.spark import SparkEngine

    engine = SparkEngine(
        tmp_path / "store", "cd" * 32, tmp_path / ".tmp", create=True, session=spark
    )
    engine.execute("CREATE TABLE mentions (source_id INTEGER, term VARCHAR)")
    rows = [(1, "vih"), (2, "grossesse"), (None, "cancer"), (2, None), (3, "vih")]
    for row in rows:
        engine.execute("INSERT INTO mentions VALUES (?, ?)", list(row))
    engine.execute("DELETE FROM mentions WHERE source_id = ?", [2])
    # As in DuckDB: a NULL condition keeps its row.
    kept = [r for r in rows if r[0] != 2]
    assert sorted(engine.fetch("SELECT source_id, term FROM mentions"), key=str) == sorted(
        kept, key=str
    )
    engine.execute("DELETE FROM mentions")
    assert engine.fetch("SELECT count(*) FROM mentions") == [(0,)]
    engine.close()


def test_local_spark_gets_a_heap_for_millions_of_rows_unless_told(monkeypatch, tmp_path):
    if importlib.util.find_spec("pyspark") is None:
        pytest.skip("PySpark is not installed")
    from ariane.engine.sparksession import local_driver_memory, session_settings

    total_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    given = local_driver_memory()
    assert given.endswith("g") and 1 <= int(given[:-1]) <= max(1, min(16, total_gib / 3))
    monkeypatch.delenv("SPARK_DRIVER_MEMORY", raising=False)
    assert session_settings("local[2]", tmp_path)["spark.driver.memory"] == given
    # A cluster's driver memory is the cluster's business; the user's own setting wins.
    assert "spark.driver.memory" not in session_settings("spark://head:7077", tmp_path)
    monkeypatch.setenv("SPARK_DRIVER_MEMORY", "3g")
    assert "spark.driver.memory" not in session_settings("local[2]", tmp_path)


JVM_DIES = """
import sys
from pathlib import Path
import pyarrow as pa
from ariane.engine.spark import JVM_GONE, SparkEngine
from ariane.engine.sparksession import EngineUnavailableError, spark_session

folder = Path(sys.argv[1])
session = spark_session("local[1]")
engine = SparkEngine(folder / "store", "ab" * 32, folder / "tmp", create=True, session=session)
engine.append("people", pa.table({"last_name": ["DUPONT", "MARTIN"]}))
engine.execute("CREATE TEMP TABLE t AS SELECT * FROM people")
session.sparkContext._gateway.proc.kill()  # the JVM dies, as when its heap runs out
session.sparkContext._gateway.proc.wait()
try:
    engine.append("people", pa.table({"last_name": ["DURAND"]}))
except EngineUnavailableError as exc:
    print("refused:", str(exc) == JVM_GONE)
engine.close()  # no traceback from a case closing on a dead JVM
print("closed:", not (folder / "tmp" / "spark").exists())
"""


def test_a_dead_jvm_is_one_clear_line_and_the_case_still_closes(tmp_path):
    require_spark()
    # In a child process: killing this process's JVM would end the other Spark tests.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run(
        [sys.executable, "-c", JVM_DIES, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split("\n")[:2] == ["refused: True", "closed: True"]


def test_a_cluster_keeps_its_own_shuffle_partitions(tmp_path):
    if importlib.util.find_spec("pyspark") is None:
        pytest.skip("PySpark is not installed")
    from ariane.engine.sparksession import SHUFFLE_PARTITIONS, session_settings

    local = session_settings("local[2]", tmp_path)
    assert local["spark.sql.shuffle.partitions"] == str(SHUFFLE_PARTITIONS)
    for master in ("spark://head:7077", "yarn", "k8s://https://api:6443"):
        cluster = session_settings(master, tmp_path)
        assert "spark.sql.shuffle.partitions" not in cluster
        assert "spark.default.parallelism" not in cluster
