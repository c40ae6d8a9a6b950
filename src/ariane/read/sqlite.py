"""Read SQLite database files: one source per table, streamed, without writing a byte.

The file given is opened read-only in SQLite's ``immutable`` mode (no journal, no lock, no
write of any kind); a database inside an archive is loaded into memory with
``Connection.deserialize`` (up to :data:`MAX_IN_MEMORY_BYTES`), never extracted to disk.

Every ordinary table is a source (format ``sqlite``, ``table_name`` its name), its rows read
in batches in the table's own order. Views are not read (their rows are those of tables
already read), nor SQLite's own tables (``sqlite_sequence``...) nor the tables a virtual
table (full-text index) keeps behind it: their rows copy those of a table read.

A damaged page stops one table, not the file: the rows read before it stay, and what could
not be read is one quarantined record (its number of rows cannot be known) with the reason.
A file whose header or schema cannot be read is an :class:`~ariane.errors.InputError`.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from ariane.errors import InputError
from ariane.read.archive import Blob
from ariane.read.store import Origin, SourceWriter, Store
from ariane.read.xlsx import cell_text

#: A database inside an archive is read in memory up to this size.
MAX_IN_MEMORY_BYTES = 1024 * 1024 * 1024
#: Rows fetched from SQLite at a time.
FETCH_ROWS = 10_000
#: What a full-text (virtual) table keeps in ordinary tables beside it.
_SHADOW_SUFFIXES = ("_content", "_data", "_idx", "_docsize", "_config", "_segments",
                    "_segdir", "_stat")  # fmt: skip


def read_sqlite(blob: Blob, store: Store, origin: Origin) -> list[SourceWriter]:
    """Read every table of an SQLite database into its own source."""
    connection = _connect(blob)
    try:
        try:
            tables = _tables(connection)
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{blob.where}: damaged SQLite database ({_why(exc)})") from None
        return [_read_table(connection, name, store, origin) for name in tables]
    finally:
        connection.close()


def _connect(blob: Blob) -> sqlite3.Connection:
    if blob.inner_path is None:
        # immutable=1: SQLite neither locks nor looks for a journal; mode=ro: no writes.
        uri = f"file:{quote(str(Path(blob.path).resolve()))}?mode=ro&immutable=1"
        return sqlite3.connect(uri, uri=True, check_same_thread=False)
    with blob.open() as stream:
        data = stream.read(MAX_IN_MEMORY_BYTES + 1)
    if len(data) > MAX_IN_MEMORY_BYTES:
        raise InputError(
            f"{blob.where}: SQLite database larger than {MAX_IN_MEMORY_BYTES >> 20} MiB inside "
            "an archive; give the database file itself"
        )
    connection = sqlite3.connect(":memory:")
    try:
        connection.deserialize(data)
    except sqlite3.DatabaseError as exc:
        connection.close()
        raise InputError(f"{blob.where}: damaged SQLite database ({_why(exc)})") from None
    connection.execute("PRAGMA query_only = ON")
    return connection


def _tables(connection: sqlite3.Connection) -> list[str]:
    """Ordinary tables, in the order they were created."""
    rows = connection.execute(
        "SELECT name, type, coalesce(sql, '') FROM sqlite_master "
        "WHERE type IN ('table', 'view') ORDER BY rowid"
    ).fetchall()
    virtual = [name for name, _, sql in rows if sql.upper().startswith("CREATE VIRTUAL TABLE")]
    shadows = {f"{name}{suffix}" for name in virtual for suffix in _SHADOW_SUFFIXES}
    return [
        name
        for name, kind, _ in rows
        if kind == "table"
        and name not in virtual
        and name not in shadows
        and not name.startswith("sqlite_")
    ]


def _read_table(
    connection: sqlite3.Connection, name: str, store: Store, origin: Origin
) -> SourceWriter:
    quoted = '"' + name.replace('"', '""') + '"'
    record = 0
    writer: SourceWriter | None = None
    try:
        cursor = connection.execute(f"SELECT * FROM {quoted}")
        columns = [d[0] for d in cursor.description]
        writer = store.writer(origin, "sqlite", "utf-8", columns, table_name=name, has_header=True)
        while rows := cursor.fetchmany(FETCH_ROWS):
            for row in rows:
                record += 1
                writer.row([_text(v) for v in row], record)
    except sqlite3.DatabaseError as exc:
        if writer is None:
            writer = store.writer(origin, "sqlite", "utf-8", [], table_name=name, has_header=True)
        reason = f"table cannot be read from this record on ({_why(exc)})"
        writer.quarantine(record + 1, reason, b"")
    writer.close()
    return writer


def _text(value: object) -> str | None:
    """A stored value as text (:func:`~ariane.read.xlsx.cell_text`); NULL stays NULL."""
    return None if value is None else cell_text(value)


def _why(exc: sqlite3.DatabaseError) -> str:
    # SQLite's messages name no data ("database disk image is malformed"); kept short.
    return f"{type(exc).__name__}: {str(exc)[:80]}"
