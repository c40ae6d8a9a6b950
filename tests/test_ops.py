"""The operational database, on the embedded SQLite file and on the local PostgreSQL server.

PostgreSQL tests run in a schema of their own, created and dropped around each test; they
skip when the server is absent, unless ARIANE_REQUIRE_SERVICES=1.
"""

import base64
import json
import os
import stat
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyotp
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, select, text
from typer.testing import CliRunner

from ariane.case import Case
from ariane.cli import app
from ariane.ops import db as ops_db
from ariane.ops import sessions
from ariane.ops.models import Base, LoginSession, Notice, User
from ariane.ops.outbox import claim
from ariane.ops.sealing import seal, unseal
from ariane.ops.users import create_user, verify_login

REQUIRE = os.environ.get("ARIANE_REQUIRE_SERVICES") == "1"
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TABLES = {"users", "sessions", "login_attempts", "approvals", "notices"}
CONTROLLERS = ["ctl-a", "ctl-b"]
runner = CliRunner()


def _postgres_schema():
    """A fresh schema on the local server and a URL whose search_path is it."""
    schema = f"ariane_ops_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    except Exception as exc:  # noqa: BLE001 - any failure to reach the server means absent
        admin.dispose()
        reason = f"PostgreSQL at 127.0.0.1:5432 not reachable ({type(exc).__name__})"
        if REQUIRE:
            pytest.fail(f"{reason}; ARIANE_REQUIRE_SERVICES=1 requires it")
        pytest.skip(reason)
    return admin, schema, f"{POSTGRES}?options=-csearch_path%3D{schema}"


@pytest.fixture()
def postgres_url():
    """The URL of a throw-away PostgreSQL schema, dropped after the test."""
    admin, schema, schema_url = _postgres_schema()
    yield schema_url
    with admin.begin() as connection:
        connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request):
    """None (the embedded default), or a throw-away PostgreSQL schema's URL."""
    yield None if request.param == "sqlite" else request.getfixturevalue("postgres_url")


@pytest.fixture()
def case_dir(tmp_path):
    """A case whose registry lists two controllers (as attribute writes it)."""
    with Case.create(tmp_path / "case") as case:
        case.engine().append("attribute_controllers", pa.table({"controller_id": CONTROLLERS}))
    return tmp_path / "case"


@pytest.fixture()
def database(case_dir, url):
    with Case.open(case_dir) as case:
        opened = ops_db.open_database(case, url)
    yield opened
    opened.close()


def _rows_as_text(database) -> str:
    """Every row of every operational table, as the backend writes it out."""
    with database.engine.connect() as connection:
        if database.backend == "postgresql":
            return "\n".join(
                str(row[0])
                for table in sorted(TABLES)
                for row in connection.execute(text(f"SELECT t::text FROM {table} t"))
            )
        return "\n".join(
            repr(row)
            for table in sorted(TABLES)
            for row in connection.execute(text(f"SELECT * FROM {table}"))
        )


# -- migrations ---------------------------------------------------------------------------


def test_migrations_build_every_table_from_empty_and_match_the_models(case_dir, url):
    engine = ops_db.create(ops_db.resolve_url(case_dir, url))
    try:
        assert not TABLES & set(inspect(engine).get_table_names())
        ops_db.upgrade(engine)
        assert TABLES | {"alembic_version"} == set(inspect(engine).get_table_names())
        head = ScriptDirectory(str(ops_db.MIGRATIONS)).get_current_head()
        with engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == head
            # What the migrations built is what the models describe: no drift to migrate.
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    finally:
        engine.dispose()


def test_migrations_are_idempotent_and_keep_the_data(database):
    create_user(database, "keep@example.org", "responder", None)
    ops_db.upgrade(database.engine)
    ops_db.upgrade(database.engine)
    with database.sessions() as session:
        assert session.scalars(select(User.email)).all() == ["keep@example.org"]


OPENER = """
import sys, time
from pathlib import Path
from ariane.ops import db
engine = db.create(sys.argv[1])
Path(sys.argv[3]).touch()
while not Path(sys.argv[2]).exists():
    time.sleep(0.005)
db.upgrade(engine)
"""


def test_two_processes_opening_a_new_database_at_once_both_get_it(case_dir, url, tmp_path):
    target = ops_db.resolve_url(case_dir, url)
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    openers = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER, target, str(go), str(tmp_path / f"ready{i}")],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready{i}").exists() for i in range(2)):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    go.touch()
    errors = [opener.communicate(timeout=120)[1] for opener in openers]
    assert [opener.returncode for opener in openers] == [0, 0], errors
    engine = ops_db.create(target)
    try:
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()


def test_the_embedded_database_is_a_0600_file_in_the_case(case_dir):
    with Case.open(case_dir) as case:
        opened = ops_db.open_database(case)
    opened.close()
    path = case_dir / ops_db.EMBEDDED
    assert opened.backend == "sqlite"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# -- users ----------------------------------------------------------------------------------


def test_login_needs_the_right_password_and_a_fresh_code(database):
    user = create_user(database, "Dpo@Example.org", "controller", "ctl-a")
    totp = pyotp.TOTP(user.totp_secret)
    assert verify_login(database, "dpo@example.org", "wrong-" + user.password, totp.now()) is None
    assert verify_login(database, "nobody@example.org", user.password, totp.now()) is None
    stale = totp.at(time.time() - 600)
    assert verify_login(database, "dpo@example.org", user.password, stale) is None
    assert verify_login(database, "dpo@example.org", user.password, "12345x") is None

    code = totp.now()
    account = verify_login(database, " DPO@example.org ", user.password, code)
    assert account is not None
    assert (account.user_id, account.role, account.controller_id) == (
        user.user_id,
        "controller",
        "ctl-a",
    )
    # The same code a second time is a replay.
    assert verify_login(database, "dpo@example.org", user.password, code) is None


def test_a_disabled_user_cannot_log_in(database):
    user = create_user(database, "gone@example.org", "regulator", None)
    with database.write() as session:
        session.get(User, user.user_id).disabled = True
    code = pyotp.TOTP(user.totp_secret).now()
    assert verify_login(database, "gone@example.org", user.password, code) is None


def test_no_password_or_totp_secret_is_stored_in_clear(database, case_dir):
    users = [create_user(database, f"u{i}@example.org", "responder", None) for i in range(3)]
    secrets_ = []
    for user in users:
        raw_secret = base64.b32decode(user.totp_secret)
        secrets_ += [user.password, user.totp_secret, raw_secret.hex()]
    dumped = _rows_as_text(database)
    if database.backend == "sqlite":
        database.close()
        files = sorted(case_dir.glob(ops_db.EMBEDDED + "*"))
        dumped = b"".join(f.read_bytes() for f in files).decode("latin-1")
        raw_ok = all(base64.b32decode(u.totp_secret).decode("latin-1") not in dumped for u in users)
        assert raw_ok
    assert "u1@example.org" in dumped  # the search does see what is stored
    for secret in secrets_:
        assert secret not in dumped
    with database.sessions() as session:
        hashes = session.scalars(select(User.password_hash)).all()
    assert len(hashes) == 3 and all(h.startswith("$argon2id$") for h in hashes)


def test_a_sealed_secret_opens_only_with_its_key_and_for_its_user():
    key, other = os.urandom(32), os.urandom(32)
    sealed = seal(key, "JBSWY3DPEHPK3PXP", 7)
    assert unseal(key, sealed, 7) == "JBSWY3DPEHPK3PXP"
    assert unseal(other, sealed, 7) is None
    assert unseal(key, sealed, 8) is None


# -- sessions -------------------------------------------------------------------------------


def test_a_session_lives_until_logout_idle_time_or_expiry(database):
    user = create_user(database, "s@example.org", "regulator", None)
    live, idle, old, out = (sessions.start(database, user.user_id) for _ in range(4))
    assert sessions.resume(database, live).user_id == user.user_id
    assert sessions.resume(database, "not-a-token") is None
    sessions.revoke(database, out)
    assert sessions.resume(database, out) is None
    long_ago = datetime.now(UTC) - sessions.IDLE * 2
    with database.write() as session:
        session.get(LoginSession, sessions.token_hash(idle)).last_seen = long_ago
        session.get(LoginSession, sessions.token_hash(old)).expires_at = long_ago
    assert sessions.resume(database, idle) is None
    assert sessions.resume(database, old) is None
    assert sessions.resume(database, live) is not None
    dumped = _rows_as_text(database)
    assert sessions.token_hash(live) in dumped
    assert not any(token in dumped for token in (live, idle, old, out))
    with database.write() as session:
        session.get(User, user.user_id).disabled = True
    assert sessions.resume(database, live) is None


# -- outbox ---------------------------------------------------------------------------------


def _add_notices(database, approved: int, planned: int) -> set[str]:
    with database.write() as session:
        for i in range(approved + planned):
            session.add(
                Notice(
                    notice_id=f"n{i:05d}",
                    person_key_hash=f"{i:064x}",
                    controller_ids=CONTROLLERS[: 1 + i % 2],
                    channel="email" if i % 3 else "letter",
                    status="approved" if i < approved else "planned",
                )
            )
    return {f"n{i:05d}" for i in range(approved)}


def test_two_concurrent_claimers_never_take_the_same_notice(database):
    approved = _add_notices(database, approved=300, planned=40)
    claims: dict[str, list[str]] = {"w1": [], "w2": []}
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def worker(owner: str) -> None:
        try:
            start.wait()
            while batch := claim(database, batch_size=5, owner=owner, lease_seconds=600):
                claims[owner] += batch
                time.sleep(0.002)  # let the other claimer in, as a sender's I/O would
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(owner,)) for owner in claims]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures
    taken = claims["w1"] + claims["w2"]
    assert len(taken) == len(set(taken)) == 300
    assert set(taken) == approved
    assert claims["w1"] and claims["w2"]  # both really ran against each other
    with database.sessions() as session:
        owners = dict(session.execute(select(Notice.notice_id, Notice.lease_owner)).all())
        attempts = set(session.scalars(select(Notice.attempts).where(Notice.status == "approved")))
    for owner, ids in claims.items():
        assert all(owners[i] == owner for i in ids)
    assert attempts == {1}
    assert all(owners[f"n{i:05d}"] is None for i in range(300, 340))


def test_an_expired_lease_is_claimed_again_and_counted(database):
    approved = _add_notices(database, approved=12, planned=3)
    assert set(claim(database, 100, "crashed", lease_seconds=-1)) == approved
    assert set(claim(database, 100, "next", lease_seconds=600)) == approved
    assert claim(database, 100, "third", lease_seconds=600) == []
    with database.sessions() as session:
        rows = session.execute(
            select(Notice.lease_owner, Notice.attempts).where(Notice.status == "approved")
        ).all()
    assert set(rows) == {("next", 2)}


def test_postgres_claim_skips_rows_another_claimer_holds(case_dir, postgres_url):
    with Case.open(case_dir) as case:
        database = ops_db.open_database(case, postgres_url)
    try:
        approved = _add_notices(database, approved=10, planned=0)
        with database.engine.connect() as holder, holder.begin():
            held = (
                holder.execute(
                    text("SELECT notice_id FROM notices ORDER BY notice_id LIMIT 4 FOR UPDATE")
                )
                .scalars()
                .all()
            )
            got = claim(database, 100, "other", lease_seconds=600)
        assert set(got) == approved - set(held)
    finally:
        database.close()


# -- the command ------------------------------------------------------------------------------


def _database_args(url):
    return [] if url is None else ["--database", url]


def test_users_add_json_prints_credentials_that_log_in(case_dir, url):
    result = runner.invoke(
        app,
        [
            "users",
            "add",
            str(case_dir),
            "lab@example.org",
            "--role",
            "controller",
            "--controller",
            "ctl-b",
            "--json",
            *_database_args(url),
        ],
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert set(printed) == {"email", "password", "totp_secret"}
    with Case.open(case_dir) as case:
        database = ops_db.open_database(case, url)
    try:
        code = pyotp.TOTP(printed["totp_secret"]).now()
        account = verify_login(database, printed["email"], printed["password"], code)
    finally:
        database.close()
    assert account is not None and account.controller_id == "ctl-b"
    log = (case_dir / "audit.jsonl").read_text()
    last = json.loads(log.splitlines()[-1])
    assert last["command"] == "users add" and last["outcome"] == {"user_id": account.user_id}
    assert printed["password"] not in log and printed["totp_secret"] not in log


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "boss"], "--role boss: choose one of"),
        (["--role", "controller"], "--role controller needs --controller"),
        (["--role", "controller", "--controller", "ctl-z"], "ctl-z: not a controller of this case"),
        (
            ["--role", "regulator", "--controller", "ctl-a"],
            "--controller applies to --role controller only",
        ),
        (["--role", "regulator", "--database", "mysql://root@127.0.0.1/test"], "use postgresql://"),
    ],
)
def test_users_add_refuses_bad_options_in_one_line(case_dir, args, message):
    result = runner.invoke(app, ["users", "add", str(case_dir), "x@example.org", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert not (case_dir / ops_db.EMBEDDED).exists()


def test_users_add_refuses_a_second_user_with_the_same_email(case_dir):
    first = runner.invoke(
        app, ["users", "add", str(case_dir), "a@example.org", "--role", "responder"]
    )
    assert first.exit_code == 0 and "otpauth://totp/" in first.stdout
    again = runner.invoke(
        app, ["users", "add", str(case_dir), "A@example.org", "--role", "regulator"]
    )
    assert again.exit_code == 2
    assert "already a user" in again.output


def test_importing_the_cli_does_not_import_sqlalchemy():
    code = "import sys, ariane.cli; print('sqlalchemy' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.strip() == "False"
