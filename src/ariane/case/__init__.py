"""A case: one leak under investigation, kept in one directory that reveals nothing alone.

Layout of a case directory::

    case.json       identity and where the key comes from (never the key)
    store.duckdb    every table of every stage, encrypted with AES-GCM
    store/          (a case run with ``--engine spark``) the same tables as Parquet
                    folders, encrypted with Parquet modular encryption
    audit.jsonl     hash-chained log of every command run on the case
    report/         written reports (counts and categories only)

The store's key comes from ``ARIANE_KEY`` or a key file outside the directory
(:mod:`ariane.case.keys`). ``Case.ephemeral()`` gives the same store in a scratch folder
(:mod:`ariane.case.scratch`) with a key that never leaves memory, for commands that keep no
case (``scan``).

Only :meth:`Case.create` makes a store; opening a case whose store is gone is an error. The
directory is 0700 and its files 0600: they are encrypted, but their names, sizes and times
are nobody else's business either.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ariane.case import audit
from ariane.case.keys import KeySpec, derive_key, new_key_spec
from ariane.case.scratch import scratch_folder
from ariane.engine.duckdb import DuckDBEngine
from ariane.errors import AuditError, CaseError, ConfigError

FORMAT = 1
MANIFEST = "case.json"
STORE = "store.duckdb"
SPARK_STORE = "store"
ENGINES = ("duckdb", "spark")
AUDIT_LOG = "audit.jsonl"
SPILL = ".tmp"


class Case:
    """An open case: its directory, its key and its engine."""

    def __init__(
        self,
        directory: Path,
        key: str,
        *,
        audited: bool = True,
        new: bool = False,
        memory_limit: str | None = None,
        in_memory: bool = False,
        engine: str = "duckdb",
        spark_master: str | None = None,
    ) -> None:
        """A case over ``directory``; ``new`` lets the engine create the store.

        ``in_memory`` keeps the tables in memory rather than in a store file: what does not
        fit spills to the case's folder, encrypted like the store (a throw-away case).
        """
        self.directory = directory
        self._key = key
        self._audited = audited
        self._new = new
        self._memory_limit = memory_limit
        self._in_memory = in_memory
        self.engine_name = engine
        self._spark_master = spark_master
        self._engine: Any = None
        self._tail: audit.Tail | None = None

    # -- life cycle ----------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        directory: Path,
        *,
        memory_limit: str | None = None,
        engine: str = "duckdb",
        spark_master: str | None = None,
    ) -> Case:
        """Create a new case in ``directory`` (which must be absent or empty) on ``engine``."""
        directory = Path(directory)
        if engine not in ENGINES:
            raise ConfigError(f"--engine {engine!r}: expected one of {', '.join(ENGINES)}")
        if engine == "spark":
            # Before any folder is made: a missing extra, Java or master leaves nothing.
            from ariane.engine.sparksession import check_master, java_executable, require_pyspark

            require_pyspark()
            java_executable()
            check_master(spark_master or "local[*]")
        existed = directory.exists()
        if existed and not directory.is_dir():
            raise CaseError(f"{directory}: not a folder; give a new folder for the case")
        if existed and any(directory.iterdir()):
            if (directory / MANIFEST).exists():
                raise CaseError(f"{directory}: a case already exists here")
            raise CaseError(f"{directory}: folder is not empty; choose a new case folder")
        spec: KeySpec | None = None
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            directory.chmod(0o700)  # mkdir's mode does not apply to a folder already there
            case_id = uuid.uuid4().hex
            spec = new_key_spec(case_id, directory)
            manifest = {
                "format": FORMAT,
                "id": case_id,
                "created": datetime.now(UTC).isoformat(timespec="seconds"),
                "key": spec.as_dict(),
            }
            if engine != "duckdb":
                manifest["engine"] = engine
            _write_private(directory / MANIFEST, json.dumps(manifest, indent=2) + "\n")
            case = cls(
                directory,
                derive_key(spec),
                new=True,
                memory_limit=memory_limit,
                engine=engine,
                spark_master=spark_master,
            )
            case.engine()  # creates the encrypted store now, so a bad key setup fails early
        except BaseException as exc:
            # Leave the folder as found: an empty or half-made case blocks the next try.
            _undo_create(directory, existed)
            if spec is not None and spec.key_file:
                Path(spec.key_file).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise CaseError(f"{directory}: cannot create the case ({exc.strerror})") from None
            raise
        return case

    @classmethod
    def open(
        cls,
        directory: Path,
        *,
        memory_limit: str | None = None,
        spark_master: str | None = None,
    ) -> Case:
        """Open an existing case; fails clearly without the right key or without its store."""
        directory = Path(directory)
        manifest = read_manifest(directory)
        spec = KeySpec.from_dict(manifest.get("key", {}), source=directory / MANIFEST)
        case = cls(
            directory,
            derive_key(spec),
            memory_limit=memory_limit,
            engine=str(manifest.get("engine", "duckdb")),
            spark_master=spark_master,
        )
        case.engine()
        # Spill files of a process that was killed: nobody else holds the store (DuckDB
        # locks it), so nobody else is using them.
        shutil.rmtree(directory / SPILL, ignore_errors=True)
        return case

    @classmethod
    @contextmanager
    def ephemeral(
        cls, *, memory_limit: str | None = None, in_memory: bool = False
    ) -> Iterator[Case]:
        """A throw-away case: encrypted store in a scratch folder, key only in memory.

        ``in_memory``: no store file at all, only encrypted spill files in the scratch folder
        (``scan``: writing a store it throws away cost half of reading).
        """
        with scratch_folder() as folder:
            case = cls(
                folder,
                secrets.token_hex(32),
                audited=False,
                new=True,
                memory_limit=memory_limit,
                in_memory=in_memory,
            )
            try:
                yield case
            finally:
                case.close()

    def engine(self) -> Any:
        """The engine over this case's encrypted store (opened once)."""
        if self._engine is None and self.engine_name == "spark":
            from ariane.engine.spark import SparkEngine

            self._engine = SparkEngine(
                self.directory / SPARK_STORE,
                self._key,
                self.directory / SPILL,
                create=self._new,
                master=self._spark_master,
            )
            _make_private(self.directory)
        if self._engine is None:
            self._engine = DuckDBEngine(
                None if self._in_memory else self.store_path,
                self._key,
                create=self._new,
                temp_directory=self.directory / SPILL,
                memory_limit=self._memory_limit,
            )
            _make_private(self.directory)
        return self._engine

    def subkey(self, purpose: str) -> bytes:
        """A 256-bit key for one purpose, derived from the case key (HKDF-SHA256)."""
        # Each use gets its own key, so a key that leaks from one use opens nothing else.
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        hkdf = HKDF(hashes.SHA256(), length=32, salt=None, info=f"ariane {purpose}".encode())
        return hkdf.derive(bytes.fromhex(self._key))

    def close(self) -> None:
        """Flush and close the store."""
        if self._engine is not None:
            try:
                self._engine.close()
            finally:
                self._engine = None
                _make_private(self.directory)

    def discard(self) -> None:
        """Close and delete the case: its directory and, if it has one, its key file."""
        self.close()
        manifest = read_manifest(self.directory)
        key_file = KeySpec.from_dict(manifest.get("key", {})).key_file
        shutil.rmtree(self.directory, ignore_errors=True)
        if key_file:
            Path(key_file).unlink(missing_ok=True)

    def __enter__(self) -> Case:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- paths ---------------------------------------------------------------------------

    @property
    def store_path(self) -> Path:
        """The encrypted DuckDB file."""
        return self.directory / STORE

    @property
    def audit_path(self) -> Path:
        """The hash-chained audit log."""
        return self.directory / AUDIT_LOG

    @property
    def report_dir(self) -> Path:
        """Where reports are written."""
        return self.directory / "report"

    # -- audit ---------------------------------------------------------------------------

    def record(
        self,
        command: str,
        arguments: dict[str, Any] | None = None,
        inputs: Iterable[Path] = (),
        outcome: dict[str, Any] | None = None,
        *,
        checkpoint: bool = True,
    ) -> None:
        """Append a command to the audit log, and its hash to the encrypted store.

        ``checkpoint=False`` leaves the hash in the store's write-ahead log (encrypted and
        durable too) for the next checkpoint: a web server records every page of
        personal data shown, and a checkpoint per page would cost more than the page.
        """
        if not self._audited:
            return
        entry = audit.append(self.audit_path, command, arguments, inputs, outcome, self._tail)
        self._tail = audit.Tail(entry["seq"] + 1, entry["hash"], self.audit_path.stat().st_size)
        engine = self.engine()
        engine.execute(
            "CREATE TABLE IF NOT EXISTS audit_head (seq INTEGER, recorded_at VARCHAR, hash VARCHAR)"
        )
        engine.execute(
            "INSERT INTO audit_head VALUES (?, ?, ?)", [entry["seq"], entry["at"], entry["hash"]]
        )
        if checkpoint:
            engine.checkpoint()

    def verify_audit(self) -> audit.AuditReport:
        """Verify the chain, and that the store holds the same entries (no wholesale rewrite)."""
        report = audit.verify(self.audit_path)
        engine = self.engine()
        stored = (
            engine.fetch("SELECT seq, hash FROM audit_head ORDER BY seq")
            if engine.has_table("audit_head")
            else []
        )
        logged = [(e["seq"], e["hash"]) for e in _entries(self.audit_path)]
        if stored != logged:
            raise AuditError(
                f"{self.audit_path}: log differs from the copy sealed in the encrypted store "
                f"({len(logged)} entries in the log, {len(stored)} sealed)"
            )
        return report

    def verify_store(self) -> int:
        """Read every table of the store in full (a damaged block fails); rows read."""
        return self.engine().verify()


def read_manifest(directory: Path) -> dict[str, Any]:
    """The case.json of a case directory, or a clear :class:`CaseError`."""
    path = Path(directory) / MANIFEST
    if not path.exists():
        raise CaseError(f"{directory}: not an Ariane case (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        raise CaseError(f"{path}: unreadable case manifest") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CaseError(f"{path}: unknown case format")
    return manifest


def _write_private(path: Path, content: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content)


def _make_private(directory: Path) -> None:
    """Folders 0700, files 0600, whatever the umask gave what DuckDB or a writer made."""
    for root, folders, files in os.walk(directory):
        for name, mode in [(f, 0o700) for f in folders] + [(f, 0o600) for f in files]:
            path = os.path.join(root, name)
            try:
                info = os.lstat(path)
                if not stat.S_ISLNK(info.st_mode) and stat.S_IMODE(info.st_mode) & 0o077:
                    os.chmod(path, mode)
            except OSError:
                continue  # removed meanwhile (a WAL, a spill file): nothing to protect


def _undo_create(directory: Path, existed: bool) -> None:
    if not existed:
        shutil.rmtree(directory, ignore_errors=True)
        return
    for name in (MANIFEST, STORE, f"{STORE}.wal", AUDIT_LOG):
        (directory / name).unlink(missing_ok=True)
    for name in (SPARK_STORE, SPILL):
        shutil.rmtree(directory / name, ignore_errors=True)


def _entries(log: Path) -> Iterator[dict[str, Any]]:
    with open(log, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)
