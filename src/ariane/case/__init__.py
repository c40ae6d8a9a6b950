"""A case: one leak under investigation, kept in one directory that reveals nothing alone.

Layout of a case directory::

    case.json       identity and where the key comes from (never the key)
    store.duckdb    every table of every stage, encrypted with AES-GCM
    audit.jsonl     hash-chained log of every command run on the case
    report/         written reports (counts and categories only)

The store's key comes from ``ARIANE_KEY`` or a key file outside the directory
(:mod:`ariane.case.keys`). ``Case.ephemeral()`` gives the same store in a temporary
directory with a key that never leaves memory, for commands that keep no case (``scan``).
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ariane.case import audit
from ariane.case.keys import KeySpec, derive_key, new_key_spec
from ariane.engine.duckdb import DuckDBEngine
from ariane.errors import AuditError, CaseError

FORMAT = 1
MANIFEST = "case.json"
STORE = "store.duckdb"
AUDIT_LOG = "audit.jsonl"


class Case:
    """An open case: its directory, its key and its engine."""

    def __init__(self, directory: Path, key: str, *, audited: bool = True) -> None:
        self.directory = directory
        self._key = key
        self._audited = audited
        self._engine: DuckDBEngine | None = None

    # -- life cycle ----------------------------------------------------------------------

    @classmethod
    def create(cls, directory: Path) -> Case:
        """Create a new case in ``directory`` (which must be absent or empty)."""
        directory = Path(directory)
        if directory.exists() and any(directory.iterdir()):
            if (directory / MANIFEST).exists():
                raise CaseError(f"{directory}: a case already exists here")
            raise CaseError(f"{directory}: folder is not empty; choose a new case folder")
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        case_id = uuid.uuid4().hex
        spec = new_key_spec(case_id, directory)
        manifest = {
            "format": FORMAT,
            "id": case_id,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "key": spec.as_dict(),
        }
        (directory / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        case = cls(directory, derive_key(spec))
        case.engine()  # creates the encrypted store now, so a bad key setup fails early
        return case

    @classmethod
    def open(cls, directory: Path) -> Case:
        """Open an existing case; fails clearly without the right key."""
        directory = Path(directory)
        manifest = read_manifest(directory)
        spec = KeySpec.from_dict(manifest.get("key", {}))
        case = cls(directory, derive_key(spec))
        case.engine()
        return case

    @classmethod
    @contextmanager
    def ephemeral(cls) -> Iterator[Case]:
        """A throw-away case: encrypted store in a temporary folder, key only in memory."""
        folder = Path(tempfile.mkdtemp(prefix="ariane-"))
        case = cls(folder, secrets.token_hex(32), audited=False)
        try:
            yield case
        finally:
            case.close()
            shutil.rmtree(folder, ignore_errors=True)

    def engine(self) -> DuckDBEngine:
        """The engine over this case's encrypted store (opened once)."""
        if self._engine is None:
            self._engine = DuckDBEngine(
                self.store_path,
                self._key,
                create=True,
                temp_directory=self.directory / ".tmp",
            )
        return self._engine

    def close(self) -> None:
        """Flush and close the store."""
        if self._engine is not None:
            self._engine.close()
            self._engine = None

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
    ) -> None:
        """Append a command to the audit log, and its hash to the encrypted store."""
        if not self._audited:
            return
        entry = audit.append(self.audit_path, command, arguments, inputs, outcome)
        engine = self.engine()
        engine.execute(
            "CREATE TABLE IF NOT EXISTS audit_head (seq INTEGER, recorded_at VARCHAR, hash VARCHAR)"
        )
        engine.execute(
            "INSERT INTO audit_head VALUES (?, ?, ?)", [entry["seq"], entry["at"], entry["hash"]]
        )
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


def _entries(log: Path) -> Iterator[dict[str, Any]]:
    with open(log, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)
