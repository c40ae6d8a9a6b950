"""Open the operational database: PostgreSQL for a deployment, else a SQLite file in the case.

``open_database(case, url)`` checks the URL, creates the SQLite file 0600 when it is the
embedded default, brings the schema up to date with the migrations shipped in this package
(Alembic, configured in code: no alembic.ini), and returns a :class:`Database`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ariane.errors import ConfigError

if TYPE_CHECKING:
    from ariane.case import Case

EMBEDDED = "ops.sqlite"
MIGRATIONS = Path(__file__).parent / "migrations"
# Waiting for another writer on SQLite (seconds) before giving up.
SQLITE_BUSY_TIMEOUT = 30
# Any fixed number: the PostgreSQL advisory lock taken while migrating.
MIGRATION_LOCK = 0x41524941
_MIGRATING = threading.Lock()


@dataclass
class Database:
    """The operational database of a case: an engine, its sessions, and the TOTP key."""

    engine: Engine
    sessions: sessionmaker[Session]
    totp_key: bytes

    @property
    def backend(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction holds the write lock from its start on SQLite.

        On SQLite a plain BEGIN takes the lock at the first write, so two readers that both
        mean to write deadlock; BEGIN IMMEDIATE queues them instead. PostgreSQL locks rows
        (``FOR UPDATE``), so a plain transaction is right there.
        """
        with self.engine.connect() as connection:
            connection.execution_options(ariane_begin_immediate=True)
            with Session(connection) as session, session.begin():
                yield session

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()


def open_database(case: Case, url: str | None = None) -> Database:
    """The case's operational database at ``url`` (default: DIR/ops.sqlite), migrated."""
    engine = create(resolve_url(case.directory, url))
    try:
        upgrade(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise ConfigError(f"{safe_url(engine)}: cannot open the database ({_first(exc)})") from None
    return Database(engine, sessionmaker(engine), case.subkey("ops totp"))


def resolve_url(case_dir: Path, url: str | None) -> str:
    """The SQLAlchemy URL to use: the given one (driver made explicit) or the embedded file."""
    if url is None:
        path = Path(case_dir) / EMBEDDED
        _create_sqlite(path)
        return f"sqlite:///{path}"
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError("--database: not a database URL (postgresql://... )") from None
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if parsed.drivername == "sqlite" and parsed.database:
        return url
    raise ConfigError(
        f"--database {parsed.drivername}://...: use postgresql://USER@HOST/DB or sqlite:///FILE"
    )


def _create_sqlite(path: Path) -> None:
    """Create the embedded file 0600 (never readable by others, even for a moment), in WAL."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)
    # WAL: readers (web pages) never wait for the writer (the sender), nor it for them. The
    # mode is kept in the file; set once here, as switching needs the file to itself.
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


def create(url: str) -> Engine:
    """An engine for ``url``; on SQLite, with transactions begun as the code says."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT})
    # pysqlite begins transactions on its own and never with IMMEDIATE; SQLAlchemy's
    # documented recipe hands BEGIN back to us.
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # In WAL mode, NORMAL syncs at checkpoints, not at every commit: a killed process loses
    # nothing committed; a power cut may lose the last commits, which the outbox survives
    # (an email recorded sent is resent with its Message-ID; a letter's file is found).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get("ariane_begin_immediate")
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with the migrations shipped in this package."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Two processes opening a new database at once must not both create the tables: the
    # second waits for the first (SQLite: the write lock; PostgreSQL: an advisory lock,
    # DDL being transactional there), then finds the schema at head and does nothing.
    # Alembic's context is module-global, hence also one migration at a time per process.
    with _MIGRATING, engine.connect() as connection:
        connection.execution_options(ariane_begin_immediate=True)
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            config.attributes["connection"] = connection
            command.upgrade(config, revision)


def safe_url(engine: Engine) -> str:
    """The engine's URL without its password, fit for a message."""
    return engine.url.render_as_string(hide_password=True)


def _first(exc: BaseException) -> str:
    """The first line of a driver's message (it names the host, never data)."""
    original = getattr(exc, "orig", None) or exc
    return (str(original).strip().splitlines() or [type(original).__name__])[0][:160]
