"""The DuckDB engine: the laptop engine, over an encrypted or in-memory database.

Its memory is bounded (``memory_limit``: 60% of the machine's or container's memory, at
most 2 GiB, unless told otherwise); what does not fit spills to ``temp_directory``,
encrypted like the store. A statement that cannot fit under that default (a join's hash
table, Splink's pairs of a large leak: not everything spills) is run once more with the
60% share; a bound the user gave is kept, and running out of it is one clear error.
"""

from __future__ import annotations

import copy
import glob
import logging
import os
import re
import resource
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa
from duckdb.func import PythonUDFType

from ariane.display import printable
from ariane.errors import ArianeError, CaseError, CaseKeyError, ConfigError

#: Alias under which the case database is attached; every stage's SQL uses bare names.
CATALOG = "case_db"

#: Share of the memory DuckDB may use when no limit is given (DuckDB's own default is 80%,
#: which leaves too little to the readers and the PDF renderer running beside it).
DEFAULT_MEMORY_SHARE = 0.6
#: ...and at most this much: DuckDB fills whatever it is given with working tables it could
#: spill (a 5 M-row run peaked at 8.3 GiB under 60% of 24 GiB), while spilling them costs
#: little; the whole process (Python, Arrow batches, DuckDB's own) then stays under 4 GiB.
DEFAULT_MEMORY_CAP = 2 * 2**30
#: Share of a throw-away database's memory bound that Arrow rows may take as they came
#: (:meth:`DuckDBEngine.hold`), DuckDB's own bound shrinking by as much: ``scan`` queries
#: its tables a few times and drops them, DuckDB reads an Arrow table as fast as its own,
#: and inserting the rows of a CSV file cost as much as parsing it.
HELD_SHARE = 0.5
#: Statements that change a table, and the table they change (held rows are stored first).
_CHANGES = re.compile(
    r"\b(?:UPDATE|ALTER\s+TABLE|DELETE\s+FROM|INSERT\s+INTO|TRUNCATE(?:\s+TABLE)?"
    r"|DROP\s+TABLE(?:\s+IF\s+EXISTS)?|CREATE\s+(?:OR\s+REPLACE\s+)?TABLE)"
    r'\s+(?:"((?:[^"]|"")+)"|(\w+))',
    re.IGNORECASE,
)
#: Below this DuckDB cannot even open an encrypted store and load its extension.
MIN_MEMORY = 128 * 2**20
MEMORY_VARIABLE = "ARIANE_MEMORY_LIMIT"

_log = logging.getLogger(__name__)
_T = TypeVar("_T")


class OutOfMemory(ConfigError):
    """A statement did not fit in DuckDB's memory bound (nor in what it may spill)."""


_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


def machine_memory() -> int:
    """Bytes of memory this process may use: the machine's, its container's or its own limit."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    address_space, _ = resource.getrlimit(resource.RLIMIT_AS)  # ulimit -v
    if address_space != resource.RLIM_INFINITY:
        total = min(total, address_space)
    for cgroup in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            bound = Path(cgroup).read_text().strip()
        except OSError:
            continue
        if bound.isdigit():
            total = min(total, int(bound))
    return total


def memory_limit_bytes(value: str | None) -> int:
    """DuckDB's memory bound from ``value`` ('4GB', '2GiB', '60%'), or the default: 60% of
    the memory, at most :data:`DEFAULT_MEMORY_CAP`."""
    if value is None or not value.strip():
        return min(_default_share(), DEFAULT_MEMORY_CAP)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(%|[a-zA-Z]*)\s*", value)
    unit = match[2].lower() if match else ""
    if match is None or (unit != "%" and unit not in _UNITS):
        raise ConfigError(
            f"--memory-limit {printable(value)!r}: expected a size such as 4GB, 2GiB or 60%"
        )
    number = float(match[1])
    if unit == "%":
        if not 0 < number <= 100:
            raise ConfigError(f"--memory-limit {value.strip()}: a share must be within 1-100%")
        limit = int(machine_memory() * number / 100)
    else:
        limit = int(number * _UNITS[unit])
    if limit < MIN_MEMORY:
        raise ConfigError(f"--memory-limit {value.strip()}: at least {MIN_MEMORY >> 20}MiB")
    return limit


def _default_share() -> int:
    return int(machine_memory() * DEFAULT_MEMORY_SHARE)


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


#: Rows an append inserts on one thread: DuckDB's idle workers spin through such an insert
#: (500,000 NDJSON rows in 10 appends: 1.5 s of CPU on two threads, 0.84 s on one).
ALONE_ROWS = 50_000
#: Every compression method DuckDB lets a database turn off (constant and uncompressed
#: storage stay): an in-memory database keeps its rows as they were inserted.
IN_MEMORY_UNCOMPRESSED = (
    "dict_fsst,fsst,dictionary,rle,bitpacking,roaring,alp,alprd,chimp,patas,zstd"
)


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
        """Open ``database`` (``create`` it if absent, else refuse) with memory bounded.

        ``memory_limit`` is what the user said ('4GB', '60%'); ``None`` means the default.
        """
        self.database = database
        self.memory_limit = memory_limit_bytes(memory_limit)
        #: Rows kept as Arrow tables (:meth:`hold`), by table name, and their bytes.
        self._held: dict[str, list[pa.Table]] = {}
        self._held_bytes = 0
        #: The default bound may grow once, to the default share; a bound given may not.
        self._may_grow = not (memory_limit and memory_limit.strip())
        config: dict[str, Any] = {
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "memory_limit": f"{self.memory_limit}B",
        }
        if threads:
            config["threads"] = threads
        self.con = duckdb.connect(":memory:", config=config)
        # DuckDB would draw its own progress bar on the user's terminal during long queries
        # (and into `scan --json`'s output): off before the first statement, however slow.
        self.con.execute("SET enable_progress_bar = false")
        self.con.execute(f"LOAD '{httpfs_extension_path()}'")
        # Spilled intermediate results hold personal data too: keep them encrypted. (Set before
        # the folder: DuckDB refuses the setting once it sees spill files a killed run left.)
        self.con.execute("SET temp_file_encryption = true")
        if temp_directory is not None:
            self.con.execute(f"SET temp_directory = '{_quote(str(temp_directory))}'")
        if database is None:
            # A throw-away database (``scan``) is read once: compressing its row groups at
            # each automatic checkpoint cost an eighth of reading NDJSON, for queries that
            # scan it a few times. Compression changes no row group, nor any row's place.
            self.con.execute(f"SET disabled_compression_methods = '{IN_MEMORY_UNCOMPRESSED}'")
            return
        if not create and not database.is_file():
            # Never create a store on open: a missing store is a case that lost its data.
            raise CaseError(f"{database}: case store not found")
        options = ""
        if key is not None:
            options = f" (ENCRYPTION_KEY '{_quote(key)}', ENCRYPTION_CIPHER 'GCM')"
        try:
            self.con.execute(f"ATTACH '{_quote(str(database))}' AS {CATALOG}{options}")
        except duckdb.InvalidInputException as exc:
            if "encryption key" in str(exc).lower():
                raise CaseKeyError(f"{database}: wrong key for this case") from None
            if "aes tag" in str(exc).lower():
                raise CaseKeyError(f"{database}: wrong key, or the store is damaged") from None
            raise CaseError(f"{database}: cannot open the case store ({_brief(exc)})") from None
        except duckdb.CatalogException as exc:
            if "without a key" in str(exc):
                raise CaseKeyError(f"{database}: this case is encrypted; a key is needed") from None
            raise CaseError(f"{database}: cannot open the case store ({_brief(exc)})") from None
        except duckdb.Error as exc:
            raise CaseError(f"{database}: cannot open the case store ({_brief(exc)})") from None
        self.con.execute(f"USE {CATALOG}")

    @contextmanager
    def _store_errors(self) -> Iterator[None]:
        """Say what a storage failure means for the user; other errors stay as they are."""
        try:
            yield
        except duckdb.InterruptException:
            raise KeyboardInterrupt from None
        except RuntimeError as exc:
            # A signal during a query: DuckDB stops and drops the handler's exception for its
            # own; give back an interruption, so that clean-up runs as for Ctrl-C.
            if "interrupted" in str(exc).lower():
                raise KeyboardInterrupt from None
            raise
        except duckdb.OutOfMemoryException:
            raise OutOfMemory(
                f"out of memory within the limit of {self.memory_limit / 2**30:.1f} GiB: "
                "raise --memory-limit (or ARIANE_MEMORY_LIMIT)"
            ) from None
        except (duckdb.Error, OSError) as exc:
            # (OSError: DuckDB's errors reach an Arrow reader's consumer as Arrow IO errors.)
            message = str(exc).lower()
            # A flipped or truncated block fails GCM's tag check or DuckDB's checksum.
            if any(sign in message for sign in ("aes tag", "checksum", "corrupt")):
                raise CaseError(f"{self.database}: the case store is damaged") from None
            if isinstance(exc, duckdb.IOException):
                raise CaseError(f"{self.database}: input/output error ({_brief(exc)})") from None
            raise

    def _roomy(self, action: Callable[[], _T]) -> _T:
        """``action()`` (one statement) with storage errors said plainly; if it did not fit
        under the default bound, once more under the default share of the machine."""
        try:
            with self._store_errors():
                return action()
        except OutOfMemory:
            share = _default_share()
            if not self._may_grow or share <= self.memory_limit:
                raise
        # A failed statement changed nothing (DuckDB rolls it back): run it again, roomier.
        _log.warning(
            "a step needed more than %.1f GiB of memory: bound raised to %.1f GiB",
            self.memory_limit / 2**30,
            share / 2**30,
        )
        self._may_grow = False
        self.memory_limit = share
        self._bound()
        with self._store_errors():
            return action()

    # -- the Engine protocol -------------------------------------------------------------

    def register(self, name: str, table: pa.Table) -> None:
        """Expose an in-memory Arrow table under ``name``."""
        self.con.register(name, table)

    def unregister(self, name: str) -> None:
        """Forget a registered table."""
        self.con.unregister(name)

    def hold(self, name: str, table: pa.Table) -> bool:
        """Keep ``table`` as more rows of ``name`` as it is, if this is a throw-away database
        (``scan``), ``name`` is not stored yet and the rows fit within :data:`HELD_SHARE`
        of the memory bound. Queries see them as a table. False: the caller appends them;
        the rows held so far are then stored first, in their order.
        """
        parts = self._held.get(name)
        if (
            self.database is None
            and (parts is not None or not self.has_table(name))
            and (parts is None or table.schema.equals(parts[0].schema))
            and self._held_bytes + table.nbytes <= HELD_SHARE * self.memory_limit
        ):
            self._held.setdefault(name, []).append(table)
            self._held_bytes += table.nbytes
            self._bound()
            self.con.register(name, self._held_table(name))
            return True
        self._store_held(name)
        return False

    def _held_table(self, name: str) -> pa.Table:
        parts = self._held[name]
        return parts[0] if len(parts) == 1 else pa.concat_tables(parts)

    def _store_held(self, name: str) -> None:
        """Store the rows held for ``name`` as a table of the database, in their order."""
        if name not in self._held:
            return
        view = f"__held_{name}"
        self.con.register(view, self._held_table(name))
        self.con.unregister(name)
        parts = self._held.pop(name)
        try:
            self._roomy(
                lambda: self.con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM "{view}"')
            )
        finally:
            self.con.unregister(view)
        self._held_bytes -= sum(p.nbytes for p in parts)
        self._bound()

    def _settle(self, sql: str) -> None:
        """Store every held table that ``sql`` changes, before it runs."""
        if self._held:
            for match in _CHANGES.finditer(sql):
                name = match[1].replace('""', '"') if match[1] is not None else match[2]
                self._store_held(name)

    def _bound(self) -> None:
        """DuckDB's own bound: the memory bound less what the held rows take."""
        bound = max(MIN_MEMORY, self.memory_limit - self._held_bytes)
        self.con.execute(f"SET memory_limit = '{bound}B'")

    def append(self, name: str, table: pa.Table) -> None:
        """Append Arrow rows to stored table ``name``, creating it on first use."""
        self._store_held(name)
        view = f"__append_{name}"
        self.con.register(view, table)
        threads = None
        try:
            with self._store_errors():
                if table.num_rows <= ALONE_ROWS:
                    # One thread inserts a batch this small; the others only spin meanwhile.
                    threads = self.con.execute("SELECT current_setting('threads')").fetchone()
                    self.con.execute("SET threads = 1")
                if self.has_table(name):
                    self.con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM "{view}"')
                else:
                    self.con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM "{view}"')
        finally:
            if threads is not None:
                self.con.execute(f"SET threads = {int(threads[0])}")
            self.con.unregister(view)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """Run a statement for its effect."""
        self._settle(sql)
        self._roomy(lambda: self.con.execute(sql, params))

    def fetch(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a query and return all its rows."""
        return self._roomy(lambda: self.con.execute(sql, params).fetchall())

    def fetch_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        """Run a query and return an Arrow table."""
        return self._roomy(lambda: self.con.execute(sql, params).to_arrow_table())

    def batches(self, sql: str, batch_rows: int = 100_000) -> Any:
        """Stream a query's result as Arrow record batches."""
        with self._store_errors():
            return self.con.execute(sql).to_arrow_reader(batch_rows)

    def materialise(self, name: str, sql: str) -> None:
        """Store the result of ``sql`` as table ``name``."""
        self._store_held(name)
        self._roomy(lambda: self.con.execute(f'CREATE OR REPLACE TABLE "{name}" AS {sql}'))

    def verify(self) -> int:
        """Read every stored table in full, so that a damaged block fails; rows read."""
        rows = 0
        for name in self.tables():
            with self._store_errors():
                reader = self.con.execute(f'SELECT * FROM "{name}"').to_arrow_reader(65_536)
                rows += sum(batch.num_rows for batch in reader)
        return rows

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
        engine = self

        class EngineDuckDBAPI(DuckDBAPI):
            """Splink's statements under the engine's memory bound and error messages."""

            def _execute_sql_against_backend(self, final_sql: str) -> Any:
                return engine._roomy(lambda: self._con.sql(final_sql))

        return EngineDuckDBAPI(self.con)

    def tables(self) -> list[str]:
        """Names of the stored tables of the case (or of memory), held ones included."""
        rows = self.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()
        return sorted({*(r[0] for r in rows), *self._held})

    def has_table(self, name: str) -> bool:
        """Whether stored table ``name`` exists."""
        return name in self.tables()

    def checkpoint(self) -> None:
        """Flush the write-ahead log into the (encrypted) database file."""
        with self._store_errors():
            self.con.execute("CHECKPOINT")

    @contextmanager
    def beside(self) -> Iterator[DuckDBEngine]:
        """A cursor on the same database, for queries run from another thread meanwhile."""
        twin = copy.copy(self)
        twin.con = self.con.cursor()  # its own connection: settings and catalogue are its own
        try:
            twin.con.execute("SET enable_progress_bar = false")
            if CATALOG in {r[0] for r in twin.con.execute("SHOW DATABASES").fetchall()}:
                twin.con.execute(f"USE {CATALOG}")
            for name in self._held:  # an Arrow table is seen by the connection given it
                twin.con.register(name, self._held_table(name))
            yield twin
        finally:
            twin.con.close()

    def close(self) -> None:
        """Checkpoint and close."""
        try:
            with self._store_errors():
                self.con.execute("USE memory")
                if CATALOG in {r[0] for r in self.con.execute("SHOW DATABASES").fetchall()}:
                    self.con.execute(f"CHECKPOINT {CATALOG}")
                    self.con.execute(f"DETACH {CATALOG}")
        finally:
            self.con.close()
            self._held.clear()


def _quote(text: str) -> str:
    return text.replace("'", "''")


def _brief(exc: BaseException) -> str:
    """DuckDB's first line about a file it could not open (it names files, not rows)."""
    return printable(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)[:300]
