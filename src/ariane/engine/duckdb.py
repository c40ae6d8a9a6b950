"""The DuckDB engine: the laptop engine, over an encrypted or in-memory database."""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
from duckdb.func import PythonUDFType

from ariane.errors import ArianeError, CaseError, CaseKeyError

if TYPE_CHECKING:
    import pyarrow as pa

#: Alias under which the case database is attached; every stage's SQL uses bare names.
CATALOG = "case_db"


@cache
def httpfs_extension_path() -> str:
    """Path of the httpfs extension shipped by the ``duckdb-extension-httpfs`` wheel.

    DuckDB writes encrypted databases only with httpfs loaded (it brings the OpenSSL
    cipher); we load it from the installed package, never from the network.
    """
    import duckdb_extension_httpfs

    here = os.path.dirname(duckdb_extension_httpfs.__file__)
    wanted = f"v{duckdb.__version__}"
    found = sorted(glob.glob(os.path.join(here, "extensions", "*", "httpfs.duckdb_extension")))
    exact = [p for p in found if Path(p).parent.name == wanted]
    if not (exact or found):
        raise CaseError(
            "the httpfs extension is missing: pip install 'duckdb-extension-httpfs' "
            f"matching duckdb {duckdb.__version__}"
        )
    return (exact or found)[-1]


class DuckDBEngine:
    """An :class:`~ariane.engine.Engine` over one DuckDB connection."""

    def __init__(
        self,
        database: Path | None,
        key: str | None = None,
        *,
        create: bool = False,
        temp_directory: Path | None = None,
        memory_limit: str | None = None,
        threads: int | None = None,
    ) -> None:
        config: dict[str, Any] = {
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
        if memory_limit:
            config["memory_limit"] = memory_limit
        if threads:
            config["threads"] = threads
        self.con = duckdb.connect(":memory:", config=config)
        self.con.execute(f"LOAD '{httpfs_extension_path()}'")
        # DuckDB would draw its own progress bar on the user's terminal during long queries.
        self.con.execute("SET enable_progress_bar = false")
        if temp_directory is not None:
            self.con.execute(f"SET temp_directory = '{_quote(str(temp_directory))}'")
        # Spilled intermediate results hold personal data too: keep them encrypted.
        self.con.execute("SET temp_file_encryption = true")
        if database is None:
            return
        if not create and not database.exists():
            raise CaseError(f"{database}: case store not found")
        options = ""
        if key is not None:
            options = f" (ENCRYPTION_KEY '{_quote(key)}', ENCRYPTION_CIPHER 'GCM')"
        try:
            self.con.execute(f"ATTACH '{_quote(str(database))}' AS {CATALOG}{options}")
        except duckdb.InvalidInputException as exc:
            if "encryption key" in str(exc).lower():
                raise CaseKeyError(f"{database}: wrong key for this case") from None
            raise CaseError(f"{database}: cannot open the case store ({exc})") from None
        except duckdb.CatalogException as exc:
            if "without a key" in str(exc):
                raise CaseKeyError(f"{database}: this case is encrypted; a key is needed") from None
            raise CaseError(f"{database}: cannot open the case store ({exc})") from None
        except duckdb.IOException as exc:
            raise CaseError(f"{database}: cannot open the case store ({exc})") from None
        self.con.execute(f"USE {CATALOG}")

    # -- the Engine protocol -------------------------------------------------------------

    def register(self, name: str, table: pa.Table) -> None:
        """Expose an in-memory Arrow table under ``name``."""
        self.con.register(name, table)

    def unregister(self, name: str) -> None:
        """Forget a registered table."""
        self.con.unregister(name)

    def append(self, name: str, table: pa.Table) -> None:
        """Append Arrow rows to stored table ``name``, creating it on first use."""
        view = f"__append_{name}"
        self.con.register(view, table)
        try:
            if self.has_table(name):
                self.con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM "{view}"')
            else:
                self.con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM "{view}"')
        finally:
            self.con.unregister(view)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """Run a statement for its effect."""
        self.con.execute(sql, params)

    def fetch(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a query and return all its rows."""
        return self.con.execute(sql, params).fetchall()

    def fetch_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        """Run a query and return an Arrow table."""
        return self.con.execute(sql, params).to_arrow_table()

    def batches(self, sql: str, batch_rows: int = 100_000) -> Any:
        """Stream a query's result as Arrow record batches."""
        return self.con.execute(sql).fetch_record_batch(batch_rows)

    def materialise(self, name: str, sql: str) -> None:
        """Store the result of ``sql`` as table ``name``."""
        self.con.execute(f'CREATE OR REPLACE TABLE "{name}" AS {sql}')

    def register_function(
        self,
        name: str,
        fn: Callable[..., Any],
        parameters: Sequence[str],
        returns: str,
    ) -> None:
        """Register an Arrow-vectorised scalar function."""
        self.con.create_function(name, fn, list(parameters), returns, type=PythonUDFType.ARROW)

    def splink_api(self) -> Any:
        """Splink's DuckDB database API over this engine's connection (needs ``splink``)."""
        try:
            from splink import DuckDBAPI
        except ImportError:
            raise ArianeError("record linkage needs Splink: pip install 'splink>=5,<6'") from None
        return DuckDBAPI(self.con)

    def tables(self) -> list[str]:
        """Names of the stored tables of the case (or of memory)."""
        rows = self.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "ORDER BY table_name"
        ).fetchall()
        return [r[0] for r in rows]

    def has_table(self, name: str) -> bool:
        """Whether stored table ``name`` exists."""
        return name in self.tables()

    def checkpoint(self) -> None:
        """Flush the write-ahead log into the (encrypted) database file."""
        self.con.execute("CHECKPOINT")

    def close(self) -> None:
        """Checkpoint and close."""
        try:
            self.con.execute("USE memory")
            if CATALOG in {r[0] for r in self.con.execute("SHOW DATABASES").fetchall()}:
                self.con.execute(f"CHECKPOINT {CATALOG}")
                self.con.execute(f"DETACH {CATALOG}")
        finally:
            self.con.close()


def _quote(text: str) -> str:
    return text.replace("'", "''")
