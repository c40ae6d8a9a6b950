"""The encrypted case store and its audit log."""

import json
import os
import stat

import pyarrow as pa
import pytest

from ariane.case import SPILL, Case, audit
from ariane.errors import AuditError, CaseError, CaseKeyError

MARKER = "ZZMARKERNIR1850535238012"


def _fill(case: Case) -> None:
    case.engine().append("raw_1", pa.table({"nir": [MARKER] * 5_000, "n": list(range(5_000))}))
    case.record("test", {"k": 1})


def _files_contain(folder, needle: bytes) -> list[str]:
    hits = []
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as handle:
                if needle in handle.read():
                    hits.append(path)
    return hits


def test_store_is_encrypted_and_reopens_with_key_file(tmp_path):
    with Case.create(tmp_path / "case") as case:
        _fill(case)
    assert _files_contain(tmp_path / "case", MARKER.encode()) == []
    manifest = json.loads((tmp_path / "case" / "case.json").read_text())
    key_file = manifest["key"]["key_file"]
    assert not key_file.startswith(str(tmp_path / "case"))
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    with Case.open(tmp_path / "case") as case:
        assert case.engine().fetch("SELECT count(*) FROM raw_1") == [(5_000,)]


def test_missing_key_file_fails_clearly(tmp_path):
    with Case.create(tmp_path / "case") as case:
        _fill(case)
    manifest = json.loads((tmp_path / "case" / "case.json").read_text())
    os.unlink(manifest["key"]["key_file"])
    with pytest.raises(CaseKeyError, match="key file"):
        Case.open(tmp_path / "case")


def test_passphrase_case_needs_the_right_passphrase(tmp_path, monkeypatch):
    monkeypatch.setenv("ARIANE_KEY", "correct horse battery staple")
    with Case.create(tmp_path / "case") as case:
        _fill(case)
    manifest = json.loads((tmp_path / "case" / "case.json").read_text())
    assert manifest["key"]["source"] == "passphrase"
    assert "correct" not in (tmp_path / "case" / "case.json").read_text()
    monkeypatch.setenv("ARIANE_KEY", "wrong passphrase")
    with pytest.raises(CaseKeyError, match="wrong key"):
        Case.open(tmp_path / "case")
    monkeypatch.delenv("ARIANE_KEY")
    with pytest.raises(CaseKeyError, match="ARIANE_KEY"):
        Case.open(tmp_path / "case")
    monkeypatch.setenv("ARIANE_KEY", "correct horse battery staple")
    with Case.open(tmp_path / "case") as case:
        assert case.engine().fetch("SELECT count(*) FROM raw_1") == [(5_000,)]


def test_two_cases_with_one_passphrase_have_different_salts(tmp_path, monkeypatch):
    monkeypatch.setenv("ARIANE_KEY", "same")
    Case.create(tmp_path / "a").close()
    Case.create(tmp_path / "b").close()
    salts = {
        json.loads((tmp_path / n / "case.json").read_text())["key"]["salt"] for n in ("a", "b")
    }
    assert len(salts) == 2


def test_not_a_case_and_not_empty_folder(tmp_path):
    with pytest.raises(CaseError, match="not an Ariane case"):
        Case.open(tmp_path)
    (tmp_path / "stray.txt").write_text("x")
    with pytest.raises(CaseError, match="not empty"):
        Case.create(tmp_path)


def test_ephemeral_case_leaves_nothing(tmp_path):
    with Case.ephemeral() as case:
        folder = case.directory
        case.engine().append("t", pa.table({"a": [MARKER]}))
        assert _files_contain(folder, MARKER.encode()) == []
    assert not folder.exists()


def test_audit_chain_verifies_and_detects_tampering(tmp_path):
    with Case.create(tmp_path / "case") as case:
        _fill(case)
        case.record("second", {"k": 2}, inputs=[tmp_path / "case" / "case.json"])
        report = case.verify_audit()
        assert report.entries == 2
    log = tmp_path / "case" / "audit.jsonl"
    lines = log.read_text().splitlines()
    first = json.loads(lines[0])
    first["arguments"] = {"k": 99}
    log.write_text(json.dumps(first) + "\n" + lines[1] + "\n")
    with pytest.raises(AuditError, match="line 1"):
        audit.verify(log)


def test_audit_detects_a_rewritten_chain(tmp_path):
    with Case.create(tmp_path / "case") as case:
        _fill(case)
    log = tmp_path / "case" / "audit.jsonl"
    log.unlink()
    audit.append(log, "forged")  # a new, self-consistent chain
    assert audit.verify(log).entries == 1
    with Case.open(tmp_path / "case") as case, pytest.raises(AuditError, match="sealed"):
        case.verify_audit()


def test_audit_records_input_digests(tmp_path):
    source = tmp_path / "input.csv"
    source.write_bytes(b"a,b\n1,2\n")
    log = tmp_path / "audit.jsonl"
    entry = audit.append(log, "run", inputs=[source])
    assert entry["inputs"][0]["sha256"] == audit.file_sha256(source)
    assert len(entry["inputs"][0]["sha256"]) == 64


# -- integrity: a damaged or missing store is a case problem (exit 3), never recreated --------


def _cli(*args: str):
    from typer.testing import CliRunner

    from ariane.cli import app

    return CliRunner().invoke(app, list(args))


def _error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), lines
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture
def filled_case(tmp_path):
    folder = tmp_path / "case"
    with Case.create(folder) as case:
        rows = 200_000
        case.engine().append(
            "raw_1", pa.table({"nir": [f"{MARKER}{i:08d}" for i in range(rows)], "n": range(rows)})
        )
        case.record("test")
    return folder


def test_audit_reads_the_store_in_full(filled_case):
    result = _cli("audit", str(filled_case))
    assert result.exit_code == 0, result.output
    assert (
        "1 entries" in result.output and "200,001 rows read" in result.output
    )  # + audit_head's one


@pytest.mark.parametrize("where", [0.25, 0.5, 0.75])
def test_audit_fails_on_4_kib_flipped_in_the_store(filled_case, where):
    store = filled_case / "store.duckdb"
    data = bytearray(store.read_bytes())
    start = int(len(data) * where) // 4096 * 4096
    data[start : start + 4096] = bytes(b ^ 0xFF for b in data[start : start + 4096])
    store.write_bytes(bytes(data))
    result = _cli("audit", str(filled_case))
    assert result.exit_code == 3, result.output
    assert "store" in _error_line(result)


def test_truncated_store_is_a_case_problem(filled_case):
    store = filled_case / "store.duckdb"
    with open(store, "r+b") as handle:
        handle.truncate(store.stat().st_size // 2)
    for command in ("audit", "summary"):
        result = _cli(command, str(filled_case))
        assert result.exit_code == 3, result.output
        _error_line(result)


def test_deleted_store_is_an_error_and_is_not_recreated(filled_case):
    (filled_case / "store.duckdb").unlink()
    for command in ("audit", "summary", "report"):
        result = _cli(command, str(filled_case))
        assert result.exit_code == 3, result.output
        assert "case store not found" in _error_line(result)
        assert not (filled_case / "store.duckdb").exists()
    with pytest.raises(CaseError, match="store not found"):
        Case.open(filled_case)
    assert not (filled_case / "store.duckdb").exists()


def test_damaged_salt_is_a_case_problem(tmp_path, monkeypatch):
    monkeypatch.setenv("ARIANE_KEY", "a passphrase")
    Case.create(tmp_path / "case").close()
    manifest_path = tmp_path / "case" / "case.json"
    for salt in ("not hex at all", "abcd", ""):
        manifest = json.loads(manifest_path.read_text())
        manifest["key"]["salt"] = salt
        manifest_path.write_text(json.dumps(manifest))
        result = _cli("summary", str(tmp_path / "case"))
        assert result.exit_code == 3, result.output
        assert "salt" in _error_line(result)
    manifest["key"] = ["not", "a", "dict"]
    manifest_path.write_text(json.dumps(manifest))
    assert _cli("summary", str(tmp_path / "case")).exit_code == 3


def test_case_option_on_a_file(tmp_path):
    leak = tmp_path / "leak.csv"
    leak.write_text("a,b\n1,2\n")
    result = _cli("run", str(leak), "--case", str(leak))
    assert result.exit_code == 3, result.output
    assert "not a folder" in _error_line(result)
    assert leak.read_text() == "a,b\n1,2\n"
    assert _cli("summary", str(leak)).exit_code == 3


def test_unwritable_key_folder_is_a_case_problem(tmp_path, monkeypatch):
    # Under a regular file no one (root included) can make a folder.
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    monkeypatch.setenv("ARIANE_KEY_DIR", str(blocker / "keys"))
    leak = tmp_path / "leak.csv"
    leak.write_text("a,b\n1,2\n")
    result = _cli("run", str(leak), "--case", str(tmp_path / "case"))
    assert result.exit_code == 3, result.output
    assert "key file" in _error_line(result)
    assert not (tmp_path / "case").exists()  # nothing half-made left behind


# -- permissions ----------------------------------------------------------------------------


def _modes(folder):
    found = {}
    for root, folders, files in os.walk(folder):
        for name in folders + files:
            path = os.path.join(root, name)
            found[os.path.relpath(path, folder)] = stat.S_IMODE(os.lstat(path).st_mode)
    return found


def test_case_files_are_0600_and_folders_0700(tmp_path):
    folder = tmp_path / "case"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)  # a pre-existing, empty, world-readable folder
    with Case.create(folder) as case:
        _fill(case)
        (case.report_dir / "controllers").mkdir(parents=True)
        (case.report_dir / "index.html").write_text("counts only")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    modes = _modes(folder)
    assert {"case.json", "store.duckdb", "audit.jsonl", "report/index.html"} <= set(modes)
    for name, mode in modes.items():
        wanted = 0o700 if (folder / name).is_dir() else 0o600
        assert mode == wanted, (name, oct(mode))


# -- scratch folders: removed on every exit, swept after a kill --------------------------


def test_scratch_folder_is_private_and_removed_on_error(tmp_path):
    from ariane.case.scratch import scratch_folder

    with pytest.raises(RuntimeError), scratch_folder(tmp_path) as folder:
        assert stat.S_IMODE(folder.parent.stat().st_mode) == 0o700
        (folder / "spill").write_bytes(b"x")
        raise RuntimeError("boom")
    assert not folder.exists()


def test_stale_scratch_folders_of_dead_processes_are_swept(tmp_path):
    import subprocess
    import sys

    from ariane.case.scratch import scratch_folder, scratch_root

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    root = scratch_root(tmp_path)
    stale = root / f"{dead.pid}-abc"
    (stale / "sub").mkdir(parents=True)
    (stale / "sub" / "store.duckdb").write_bytes(b"encrypted")
    alive = root / f"{os.getpid()}-def"
    alive.mkdir()
    with scratch_folder(tmp_path):
        assert not stale.exists()
        assert alive.exists()  # a running owner keeps its folder


def test_scratch_root_taken_by_a_link_is_refused(tmp_path):
    from ariane.case.scratch import scratch_root

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / f"ariane-{os.getuid()}").symlink_to(elsewhere)
    with pytest.raises(CaseError, match="not a folder of this user"):
        scratch_root(tmp_path)


# -- the memory bound ---------------------------------------------------------------------


def test_memory_limit_reaches_duckdb(tmp_path):
    from ariane.engine.duckdb import DEFAULT_MEMORY_CAP, DEFAULT_MEMORY_SHARE, machine_memory

    with Case.ephemeral(memory_limit="1GiB") as case:
        engine = case.engine()
        assert engine.fetch("SELECT current_setting('memory_limit')") == [("1.0 GiB",)]
        assert engine.fetch("SELECT current_setting('temp_file_encryption')") == [(True,)]
    with Case.ephemeral() as case:
        default = min(int(machine_memory() * DEFAULT_MEMORY_SHARE), DEFAULT_MEMORY_CAP)
        assert case.engine().memory_limit == default
    with Case.ephemeral(memory_limit="50%") as case:
        assert case.engine().memory_limit == machine_memory() // 2


def test_default_memory_limit_leaves_room_under_4_gib():
    # 5 M rows must run under 4 GiB of resident memory: DuckDB's share of it is bounded
    # whatever the machine, the rest is for Python, Arrow batches and DuckDB's own.
    from ariane.engine.duckdb import memory_limit_bytes

    assert memory_limit_bytes(None) <= 2 * 2**30
    assert memory_limit_bytes("6GB") == 6 * 10**9  # a user's word still counts


#: One aggregate of 30 M numbers into one text: it cannot spill, and needs ~250 MB.
_UNSPILLABLE = (
    "SELECT max(length(s)) FROM (SELECT string_agg(i::VARCHAR, ',') AS s FROM range(30000000) t(i))"
)


def test_a_statement_beyond_a_given_bound_is_one_clear_error():
    from ariane.engine.duckdb import DuckDBEngine, OutOfMemory

    engine = DuckDBEngine(None, memory_limit="150MB")
    with pytest.raises(OutOfMemory, match="out of memory within the limit of 0.1 GiB"):
        engine.fetch(_UNSPILLABLE)
    assert engine.memory_limit == 150 * 10**6  # a bound the user gave stays


def test_a_statement_beyond_the_default_bound_runs_again_with_more(monkeypatch, caplog):
    # The default bound keeps a 5 M-row run under 4 GiB; a step that cannot spill (a
    # 20 M-row leak's pairs in Splink) gets the default share of the machine instead of
    # failing.
    from ariane.engine import duckdb as duck

    monkeypatch.setattr(duck, "DEFAULT_MEMORY_CAP", 150 * 10**6)
    engine = duck.DuckDBEngine(None)
    assert engine.memory_limit == 150 * 10**6
    with caplog.at_level("WARNING", logger="ariane.engine.duckdb"):
        assert engine.fetch(_UNSPILLABLE) == [(len(",".join(map(str, range(30_000_000)))),)]
    assert engine.memory_limit == int(duck.machine_memory() * duck.DEFAULT_MEMORY_SHARE)
    assert "bound raised" in caplog.text
    setting = engine.fetch("SELECT current_setting('memory_limit')")[0][0]
    assert setting != "143.0 MiB"


def test_splink_out_of_memory_is_the_engine_error_not_an_internal_one():
    # Splink wraps every failed statement in a SplinkException: the engine's own error
    # must stay reachable (the CLI reports it; EM must not skip a session over it).
    pytest.importorskip("splink")
    from splink.internals.exceptions import SplinkException

    from ariane.engine.duckdb import DuckDBEngine, OutOfMemory
    from ariane.errors import wrapped

    api = DuckDBEngine(None, memory_limit="150MB").splink_api()
    with pytest.raises(SplinkException) as raised:
        api._log_and_run_sql_execution(f"CREATE TABLE t AS {_UNSPILLABLE}", "t", "t")
    assert isinstance(wrapped(raised.value), OutOfMemory)


@pytest.mark.parametrize(("in_memory", "kind"), [(False, "TEMP TABLE"), (True, "TABLE")])
def test_what_spills_beyond_the_limit_is_encrypted(in_memory, kind):
    # A table three times the limit (a stage's working table; any table of the in-memory
    # case of `scan`) goes to the spill folder; its values must not be readable there
    # (without temp_file_encryption the marker is found in clear).
    with Case.ephemeral(memory_limit="150MB", in_memory=in_memory) as case:
        engine = case.engine()
        engine.execute(
            f"CREATE {kind} big AS SELECT 'NIRMARKER' || (i * 7919 % 1000003)::VARCHAR "
            "|| repeat('x', 40) AS v FROM range(3000000) t(i)"
        )
        assert (case.directory / "store.duckdb").exists() is not in_memory
        spilled = [p for p in (case.directory / SPILL).rglob("*") if p.is_file()]
        assert sum(p.stat().st_size for p in spilled) > 10 * 2**20
        assert not any(b"NIRMARKER" in p.read_bytes() for p in spilled)
        assert engine.fetch("SELECT count(*) FROM big") == [(3_000_000,)]


@pytest.mark.parametrize("value", ["lots", "4 parsecs", "0%", "150%", "1MB", "-2GB"])
def test_bad_memory_limit_is_refused_before_any_work(tmp_path, value):
    leak = tmp_path / "leak.csv"
    leak.write_text("a,b\n1,2\n")
    result = _cli("run", str(leak), "--case", str(tmp_path / "case"), "--memory-limit", value)
    assert result.exit_code == 2, result.output
    assert "--memory-limit" in _error_line(result)
    assert not (tmp_path / "case").exists()


def test_memory_limit_from_the_environment(tmp_path, monkeypatch):
    leak = tmp_path / "leak.csv"
    leak.write_text("a,b\n1,2\n")
    monkeypatch.setenv("ARIANE_MEMORY_LIMIT", "lots")
    result = _cli("scan", str(leak), "-q")
    assert result.exit_code == 2 and "lots" in result.output
    monkeypatch.setenv("ARIANE_MEMORY_LIMIT", "512MB")
    assert _cli("scan", str(leak), "-q").exit_code == 0


def test_spill_files_of_a_killed_run_neither_block_nor_stay(tmp_path):
    # DuckDB refuses temp_file_encryption when it sees spill files in its folder: a case
    # killed while spilling would no longer open.
    Case.create(tmp_path / "case").close()
    spill = tmp_path / "case" / ".tmp"
    spill.mkdir()
    (spill / "duckdb_temp_storage_S32K-0.tmp").write_bytes(os.urandom(4096))
    with Case.open(tmp_path / "case") as case:
        assert case.engine().fetch("SELECT current_setting('temp_file_encryption')") == [(True,)]
    assert not spill.exists()


# -- a second handle for another thread ----------------------------------------------------


@pytest.mark.parametrize("in_memory", [False, True])
def test_a_query_beside_sees_the_store_from_another_thread(tmp_path, in_memory):
    from concurrent.futures import ThreadPoolExecutor

    with Case.ephemeral(in_memory=in_memory) as case:
        engine = case.engine()
        _fill(case)  # 5,000 rows in raw_1, numbered 0 to 4,999
        with engine.beside() as twin, ThreadPoolExecutor(max_workers=1) as thread:
            counted = thread.submit(twin.fetch, "SELECT count(*), sum(n) FROM raw_1")
            assert engine.fetch("SELECT count(*) FROM raw_1") == [(5_000,)]
            assert counted.result() == [(5_000, 4_999 * 5_000 // 2)]
        # Closing the second handle leaves the engine open.
        assert engine.fetch("SELECT max(n) FROM raw_1") == [(4_999,)]


def test_small_appends_run_on_one_thread_and_land_as_on_all(monkeypatch):
    """Appends of at most ``ALONE_ROWS`` rows run on one thread (DuckDB's idle workers only
    spun), the threads setting is given back, and the rows land as they did on every
    thread: same order, same ``REPEATABLE`` sample (classify labels from it)."""
    from ariane.engine import duckdb as engine_module

    rows = 300_000  # more than two row groups
    table = pa.table({"n": list(range(rows)), "v": [f"value {i % 977}" for i in range(rows)]})
    found = []
    for alone, step in ((engine_module.ALONE_ROWS, 50_000), (0, 50_000)):  # 0: every thread
        monkeypatch.setattr(engine_module, "ALONE_ROWS", alone)
        engine = engine_module.DuckDBEngine(None, threads=4)
        for start in range(0, rows, step):
            engine.append("t", table.slice(start, step))
        assert engine.fetch("SELECT current_setting('threads')")[0][0] == 4
        found.append(
            (
                engine.fetch("SELECT sum(n * r) FROM (SELECT n, row_number() OVER () AS r FROM t)")[
                    0
                ][0],
                engine.fetch("SELECT n FROM t USING SAMPLE reservoir(500 ROWS) REPEATABLE (7)"),
            )
        )
        engine.close()
    assert found[0] == found[1]
    assert found[0][0] == sum(n * (n + 1) for n in range(rows))  # stored in the order given
